"""Who may do what is worked out once per request: a form save (page or API) reads the user's
memberships once, however many checks the view and the action make."""

from __future__ import annotations

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import visit_of, with_revision

#: One read of the acting user's memberships per request (accounts.access.Access).
MEMBERSHIP_READS_PER_SAVE = 1


def membership_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if "accounts_membership" in q["sql"]]


def test_a_form_save_on_the_page_reads_memberships_once(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    data = with_revision(url(visit), vitals(sbp="190", dbp="112"))  # a query and an alert too
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url(visit), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    reads = membership_reads(ctx.captured_queries)
    assert len(reads) == MEMBERSHIP_READS_PER_SAVE, "\n".join(reads)


def test_a_form_save_through_the_api_reads_memberships_once(login, participant_a):
    client = login("coord_a")
    api = f"/api/v1/NCT07183384/crfs/participants/{participant_a.subject_id}/visits/D7/forms/vitals"
    revision = client.get(api).json()["revision"]
    values = {k: v for k, v in vitals(sbp="190", dbp="112").items() if not k.endswith("__unit")}
    body = json.dumps({"revision": revision, "values": values})
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(api, body, content_type="application/json")
    assert response.status_code == 200, response.content
    reads = membership_reads(ctx.captured_queries)
    assert len(reads) == MEMBERSHIP_READS_PER_SAVE, "\n".join(reads)
