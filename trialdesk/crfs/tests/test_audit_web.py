"""The audit trail on the web: export for inspectors, itself audited; others refused."""

from __future__ import annotations

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import visit_of, with_revision


def test_data_manager_exports_the_trail_as_csv_and_json(login, participant_a):
    login("coord_a").post(
        url(visit_of(participant_a, "D7")),
        with_revision(url(visit_of(participant_a, "D7")), vitals()),
    )
    client = login("dm")
    response = client.get("/staff/NCT07183384/audit/export/?format=csv&from=2000-01-01")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("seq,occurred_at,")
    assert "crfs.itemvalue" in body
    lines = b"".join(
        client.get("/staff/NCT07183384/audit/export/?format=json").streaming_content
    ).splitlines()
    # The study's own events, including this export's; none of the deployment's own (accounts).
    study_events = AuditEvent.objects.filter(study_code="NCT07183384")
    assert len(lines) == study_events.count()
    assert all(b'"study_code": "NCT07183384"' in line for line in lines)
    assert AuditEvent.objects.filter(study_code="").exists()  # user accounts: not exported here
    assert AuditEvent.objects.filter(action="export", actor_username="dm").count() == 2


def test_export_is_refused_to_site_staff_and_bad_input_is_a_400(login, participant_a):
    assert login("coord_a").get("/staff/NCT07183384/audit/export/").status_code == 403
    assert login("dm").get("/staff/NCT07183384/audit/export/?format=xml").status_code == 400
    assert login("dm").get("/staff/NCT07183384/audit/export/?from=yesterday").status_code == 400


def test_participant_trail_is_reviewable_and_site_scoped(login, participant_a):
    from trialdesk.testing.urls import reverse

    login("coord_a").post(
        url(visit_of(participant_a, "D7")),
        with_revision(url(visit_of(participant_a, "D7")), vitals()),
    )
    trail = reverse("audit:participant", args=[participant_a.subject_id])
    page = login("monitor").get(trail).content.decode()
    # In words: the action, the visit and form as the protocol names them, value with unit.
    assert "value entered" in page and "coord_a" in page and "crfs.itemvalue" not in page
    assert "Day 7" in page and "Vital signs" in page and "mmHg" in page
    assert "Ani Lestari" not in page and "RM-123456" not in page  # identity never in the trail
    assert "value entered" not in login("monitor").get(trail + "?action=status").content.decode()
    assert login("coord_b").get(trail).status_code == 404
    assert login("dsmb").get(trail).status_code == 403
