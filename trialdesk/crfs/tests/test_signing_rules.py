"""Signing rules from the protocol (`signing:`): open queries and missing source verification
block a signature or only warn, on the page and through the API; the investigator's list of
what awaits her signature (issue 11, item 4)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from trialdesk.audit.models import AuditEvent
from trialdesk.core.protocol import ProtocolError, load_protocol_text
from trialdesk.crfs.models import FormInstance, Query, Signature
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.enrolment.models import EligibilityAssessment, EligibilitySignature
from trialdesk.paths import DEFAULT_PROTOCOL
from trialdesk.studies.actions import do_load_protocol
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse

ORIGINAL = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
SECTION = "signing:\n  open_queries: block\n  source_verification: warn\n"


def _signing(tmp_path, open_queries="block", source_verification="warn"):
    """Load the real protocol with its `signing` section changed (a new active version)."""
    assert SECTION in ORIGINAL
    text = ORIGINAL.replace(
        SECTION,
        f"signing:\n  open_queries: {open_queries}\n  source_verification: {source_verification}\n",
    )
    path = tmp_path / "protocol.yaml"
    path.write_text(text, encoding="utf-8")
    do_load_protocol(path, reason="test: signing rules")


def _complete(login, participant, code="D7"):
    visit = visit_of(participant, code)
    user = "coord_a" if participant.site.code == "01" else "coord_b"
    response = login(user).post(
        url(visit), with_revision(url(visit), {**vitals(), "complete": "1"})
    )
    assert response.status_code == 302
    return FormInstance.objects.get(visit=visit, form_code="vitals")


def _query(login, fi, text="Source says 86?"):
    login("monitor").post(reverse("crfs:new-query", args=[fi.pk]), {"item": "hr", "text": text})
    return Query.objects.get(form=fi, text=text)


def _close(login, query):
    step = reverse("crfs:query-step", args=[query.pk])
    login("coord_a").post(step, {"step": "answer", "text": "Checked: 80 is right"})
    login("monitor").post(step, {"step": "close", "text": "Resolved"})
    query.refresh_from_db()
    assert query.status == "closed"


def _api_sign(client, fi, password=PASSWORD):
    p = fi.participant
    path = f"/api/v1/NCT07183384/crfs/participants/{p.subject_id}/visits/{fi.visit.code}/forms/{fi.form_code}/sign"
    body = json.dumps({"password": password})
    return client.post(path, body, content_type="application/json")


def test_open_query_blocks_signing_on_the_page_until_closed(login, participant_a):
    fi = _complete(login, participant_a)
    query = _query(login, fi)
    inv = login("inv_a")
    page = inv.get(reverse("crfs:sign", args=[fi.pk])).content.decode()
    assert "This form cannot be signed yet." in page
    assert "1 open query on this form (hr: Source says 86?)" in page
    assert "Re-enter your password" not in page  # no password asked for a refused signature
    response = inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD})
    assert response.status_code == 422
    body = response.content.decode()
    assert "1 open query on this form (hr: Source says 86?)" in body
    assert "the form was not signed" in body
    assert not Signature.objects.exists()
    fi.refresh_from_db()
    assert fi.status == "complete"

    _close(login, query)
    inv = login("inv_a")
    assert inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD}).status_code == 302
    fi.refresh_from_db()
    assert fi.status == "signed" and Signature.objects.get().valid


def test_open_queries_block_signing_through_the_api(login, participant_a):
    fi = _complete(login, participant_a)
    first = _query(login, fi)
    _query(login, fi, text="And the rate?")
    response = _api_sign(login("inv_a"), fi)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert "2 open queries on this form" in detail
    assert "hr: Source says 86?" in detail and "hr: And the rate?" in detail
    assert not Signature.objects.exists()

    _close(login, first)
    response = _api_sign(login("inv_a"), fi)
    assert response.status_code == 422 and "1 open query on this form" in response.json()["detail"]

    _close(login, Query.objects.get(text="And the rate?"))
    response = _api_sign(login("inv_a"), fi)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "signed" and body["printed_name"] == "Dr. Ayu Investigator"
    assert body["warnings"] == ["this form has not been source-verified by a monitor"]


def test_api_signing_refuses_other_roles_and_sites(login, participant_a):
    fi = _complete(login, participant_a)
    assert _api_sign(login("coord_a"), fi).status_code == 403
    assert _api_sign(login("inv_b"), fi).status_code == 404
    assert _api_sign(login("inv_a"), fi, password="guess").status_code == 422
    assert not Signature.objects.exists()


def test_open_query_under_warn_is_signed_with_the_warning_recorded(login, participant_a, tmp_path):
    _signing(tmp_path, open_queries="warn")
    fi = _complete(login, participant_a)
    _query(login, fi)
    inv = login("inv_a")
    page = inv.get(reverse("crfs:sign", args=[fi.pk])).content.decode()
    assert page.index("1 open query on this form (hr: Source says 86?)") < page.index(
        "Re-enter your password"
    )
    assert inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD}).status_code == 302
    fi.refresh_from_db()
    assert fi.status == "signed"
    event = AuditEvent.objects.get(action="sign")
    assert event.new_value["warnings"] == [
        "1 open query on this form (hr: Source says 86?)",
        "this form has not been source-verified by a monitor",
    ]


def test_source_verification_required_blocks_until_verified(login, participant_a, tmp_path):
    _signing(tmp_path, source_verification="require")
    fi = _complete(login, participant_a)
    inv = login("inv_a")
    page = inv.get(reverse("crfs:sign", args=[fi.pk])).content.decode()
    assert "has not been source-verified by a monitor" in page
    assert "Re-enter your password" not in page
    response = inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD})
    assert response.status_code == 422
    assert "requires source verification before signing" in response.content.decode()
    response = _api_sign(login("inv_a"), fi)
    assert response.status_code == 422 and "source-verified" in response.json()["detail"]
    assert not Signature.objects.exists()

    assert login("monitor").post(reverse("crfs:verify", args=[fi.pk])).status_code == 302
    inv = login("inv_a")
    page = inv.get(reverse("crfs:sign", args=[fi.pk])).content.decode()
    assert "Re-enter your password" in page and "source-verified by a monitor" not in page
    assert inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD}).status_code == 302
    assert "warnings" not in AuditEvent.objects.get(action="sign").new_value


def test_source_verification_warn_signs_with_the_warning(login, participant_a):
    fi = _complete(login, participant_a)  # the shipped protocol: source_verification: warn
    inv = login("inv_a")
    page = inv.get(reverse("crfs:sign", args=[fi.pk])).content.decode()
    assert page.index("has not been source-verified by a monitor") < page.index(
        "Re-enter your password"
    )
    assert inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD}).status_code == 302
    event = AuditEvent.objects.get(action="sign")
    assert event.new_value["warnings"] == ["this form has not been source-verified by a monitor"]


def _assessment(participant, user, result="eligible", **extra):
    return EligibilityAssessment.objects.create(
        participant=participant, assessed_at=timezone.now(), assessed_by=user, result=result,
        criteria={}, values_sha256="0" * 64, protocol_sha256="0" * 64, **extra,
    )  # fmt: skip


def test_worklist_shows_exactly_what_awaits_signature_at_her_site(
    login, participant_a, participant_b, personas
):
    import datetime as dt

    from trialdesk.testing.participants import make_participant

    anchor = dt.date.today() - dt.timedelta(days=7)
    second, third, fourth = (make_participant(personas, "01", anchor=anchor) for _ in range(3))
    waiting = _complete(login, participant_a)
    blocked = _complete(login, second)
    _query(login, blocked)
    signed = _complete(login, third)
    assert (
        login("inv_a").post(reverse("crfs:sign", args=[signed.pk]), {"password": PASSWORD})
    ).status_code == 302
    in_progress_visit = visit_of(fourth, "D7")
    login("coord_a").post(url(in_progress_visit), with_revision(url(in_progress_visit), vitals()))
    assert FormInstance.objects.get(visit=in_progress_visit).status == "in_progress"
    elsewhere = _complete(login, participant_b)

    eligible = _assessment(participant_a, personas["coord_a"])
    _assessment(participant_b, personas["coord_b"])
    assert eligible and elsewhere.participant == participant_b

    inv = login("inv_a")
    home = inv.get(reverse("studies:home")).content.decode()
    assert reverse("visits:to-sign") in home
    page = inv.get(reverse("visits:to-sign")).content.decode()
    table = page[page.index('id="forms-to-sign"') : page.index('id="eligibility-to-sign"')]
    assert table.count("<tr>") == 3  # the header and exactly two forms
    assert reverse("crfs:sign", args=[waiting.pk]) in table
    assert reverse("crfs:form", args=[blocked.visit_id, "vitals", 1]) in table
    assert "Blocked: 1 open query" in table
    assert reverse("crfs:sign", args=[blocked.pk]) not in table
    assert participant_b.subject_id not in page
    for hidden in (third, fourth):
        assert hidden.subject_id not in table
    elig = page[page.index('id="eligibility-to-sign"') :]
    assert participant_a.subject_id in elig and participant_b.subject_id not in elig

    # Once confirmed (or superseded by an assessment that is not eligible), it leaves the list.
    EligibilitySignature.objects.create(
        assessment=eligible, signed_by=personas["inv_a"], printed_name="Dr. Ayu Investigator",
        signed_at=timezone.now(), meaning="eligible", role="investigator",
    )  # fmt: skip
    page = inv.get(reverse("visits:to-sign")).content.decode()
    assert participant_a.subject_id not in page[page.index('id="eligibility-to-sign"') :]

    other = login("inv_b").get(reverse("visits:to-sign")).content.decode()
    assert participant_b.subject_id in other and participant_a.subject_id not in other
    assert login("coord_a").get(reverse("visits:to-sign")).status_code == 403


def test_protocol_check_refuses_an_unknown_signing_value():
    text = ORIGINAL.replace(
        SECTION, "signing:\n  open_queries: ignore\n  source_verification: warn\n"
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, source="broken.yaml")
    line = text[: text.index("  open_queries: ignore")].count("\n") + 1
    problems = [(p.path, p.line) for p in info.value.problems]
    assert ("signing.open_queries", line) in problems
    message = next(p.message for p in info.value.problems if p.path == "signing.open_queries")
    assert "'block'" in message and "'warn'" in message

    text = ORIGINAL.replace(
        SECTION, "signing:\n  open_queries: block\n  source_verification: always\n"
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, source="broken.yaml")
    assert [p.path for p in info.value.problems] == ["signing.source_verification"]
