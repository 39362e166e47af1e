"""Form life cycle, signatures (Part 11), queries and role/site denial through the real URLs."""

from __future__ import annotations

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.models import FormInstance, ItemValue, Query, Signature
from trialdesk.crfs.tests.test_entry import items, url, vitals
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse


def _complete(login, participant):
    visit = visit_of(participant, "D7")
    assert (
        login("coord_a")
        .post(url(visit), with_revision(url(visit), {**vitals(), "complete": "1"}))
        .status_code
        == 302
    )
    return visit, FormInstance.objects.get(visit=visit, form_code="vitals")


def test_verify_sign_and_void_on_change(login, participant_a):
    visit, fi = _complete(login, participant_a)
    monitor = login("monitor")
    assert monitor.post(reverse("crfs:verify", args=[fi.pk])).status_code == 302
    fi.refresh_from_db()
    assert fi.status == "verified" and fi.verified_by.username == "monitor"

    inv = login("inv_a")
    page = inv.get(reverse("crfs:sign", args=[fi.pk])).content.decode()
    assert "Re-enter your password" in page and "Dr. Ayu Investigator" in page
    wrong = inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": "guess"})
    assert wrong.status_code == 422
    assert "the password is not correct" in wrong.content.decode()
    assert not Signature.objects.exists()
    assert AuditEvent.objects.filter(action="login_failed", actor_username="inv_a").exists()

    assert inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD}).status_code == 302
    sig = Signature.objects.get()
    assert sig.printed_name == "Dr. Ayu Investigator" and sig.valid and len(sig.content_hash) == 64
    fi.refresh_from_db()
    assert fi.status == "signed"
    page = login("coord_a").get(url(visit)).content.decode()
    assert "Signed by" in page and "Dr. Ayu Investigator" in page and "meaning" in page
    event = AuditEvent.objects.get(action="sign")
    assert event.new_value["printed_name"] == "Dr. Ayu Investigator"
    assert event.new_value["meaning"].startswith("I have reviewed")

    # A change after signing needs a reason and voids the signature (and the verification).
    response = login("coord_a").post(
        url(visit), with_revision(url(visit), {**vitals(rr="18"), "reason": "re-measured"})
    )
    assert response.status_code == 302
    sig.refresh_from_db()
    fi.refresh_from_db()
    assert not sig.valid and "changed after" in sig.void_reason
    assert fi.status == "complete" and fi.verified_by is None
    assert "Signature voided" in login("coord_a").get(url(visit)).content.decode()


def test_cannot_sign_an_incomplete_form_or_someone_elses_site(login, participant_a, personas):
    visit = visit_of(participant_a, "D7")
    login("coord_a").post(url(visit), with_revision(url(visit), vitals()))
    fi = FormInstance.objects.get(visit=visit)
    inv = login("inv_a")
    inv.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD})
    assert not Signature.objects.exists()
    other = login("inv_b")
    assert other.post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD}).status_code == 404
    assert login("coord_a").get(reverse("crfs:sign", args=[fi.pk])).status_code == 403


def test_lock_blocks_changes_until_unlocked(login, participant_a):
    visit, fi = _complete(login, participant_a)
    dm = login("dm")
    assert dm.post(reverse("crfs:lock", args=[fi.pk])).status_code == 302
    fi.refresh_from_db()
    assert fi.status == "locked"
    response = login("coord_a").post(
        url(visit), with_revision(url(visit), {**vitals(hr="99"), "reason": "late fix"})
    )
    assert response.status_code == 422
    assert "is locked by data management" in response.content.decode()
    assert ItemValue.objects.get(form=fi, item="hr").value == 80
    dm = login("dm")
    dm.post(reverse("crfs:unlock", args=[fi.pk]), {"reason": "query from monitor"})
    fi.refresh_from_db()
    assert fi.status == "complete"


def test_lock_refused_while_queries_are_open(login, participant_a):
    visit, fi = _complete(login, participant_a)
    login("monitor").post(
        reverse("crfs:new-query", args=[fi.pk]), {"item": "hr", "text": "Source says 86?"}
    )
    response = login("dm").post(reverse("crfs:lock", args=[fi.pk]), follow=True)
    assert "open queries" in response.content.decode()
    fi.refresh_from_db()
    assert fi.status == "complete"


def test_query_thread_open_answer_reopen_close(login, participant_a):
    visit, fi = _complete(login, participant_a)
    login("monitor").post(
        reverse("crfs:new-query", args=[fi.pk]), {"item": "hr", "text": "Source says 86?"}
    )
    q = Query.objects.get()
    assert (q.status, q.origin, q.opened_by.username) == ("open", "manual", "monitor")
    step = reverse("crfs:query-step", args=[q.pk])
    login("coord_a").post(step, {"step": "answer", "text": "Checked: 80 is right"})
    q.refresh_from_db()
    assert q.status == "answered"
    login("monitor").post(step, {"step": "reopen", "text": "Please attach the ECG strip"})
    q.refresh_from_db()
    assert q.status == "open"
    login("coord_a").post(step, {"step": "close", "text": "I close it"})  # not allowed
    q.refresh_from_db()
    assert q.status == "open"
    login("coord_a").post(step, {"step": "answer", "text": "Attached"})
    login("monitor").post(step, {"step": "close", "text": "Resolved"})
    q.refresh_from_db()
    assert q.status == "closed"
    kinds = list(q.messages.values_list("kind", "author__username"))
    assert kinds == [
        ("open", "monitor"),
        ("answer", "coord_a"),
        ("reopen", "monitor"),
        ("answer", "coord_a"),
        ("close", "monitor"),
    ]
    page = login("coord_a").get(url(visit)).content.decode()
    assert "Please attach the ECG strip" in page


def test_monitor_reads_but_cannot_enter(login, participant_a):
    visit = visit_of(participant_a, "D7")
    monitor = login("monitor")
    assert monitor.get(url(visit)).status_code == 200
    assert monitor.post(url(visit), with_revision(url(visit), vitals())).status_code == 403
    assert not ItemValue.objects.exists()


def test_roles_without_casebook_access_are_refused(login, participant_a):
    visit = visit_of(participant_a, "D7")
    for who in ("dsmb", "stat", "admin"):
        assert login(who).get(url(visit)).status_code == 403, who
        assert login(who).get(reverse("participants:list")).status_code == 403, who


def test_other_site_sees_nothing(login, participant_a):
    visit, fi = _complete(login, participant_a)
    login("monitor").post(reverse("crfs:new-query", args=[fi.pk]), {"item": "hr", "text": "?"})
    q = Query.objects.get()
    client = login("coord_b")
    for response in (
        client.get(url(visit)),
        client.post(url(visit), with_revision(url(visit), vitals(hr="99"))),
        client.post(reverse("crfs:validate", args=[visit.pk, "vitals", 1]), vitals()),
        client.get(reverse("crfs:history", args=[fi.pk, "hr"])),
        client.post(reverse("crfs:query-step", args=[q.pk]), {"step": "answer", "text": "x"}),
        client.get(reverse("participants:detail", args=[participant_a.subject_id])),
        client.post(reverse("visits:date", args=[visit.pk]), {"actual_date": "2026-01-01"}),
    ):
        assert response.status_code == 404
        assert b"01-001" not in response.content
    for page in ("visits:worklist", "crfs:queries", "participants:list"):
        assert b"01-001" not in client.get(reverse(page)).content
    assert ItemValue.objects.get(form=fi, item="hr").value == 80


def test_per_item_history_lists_every_value(login, participant_a):
    visit, fi = _complete(login, participant_a)
    client = login("coord_a")
    client.post(url(visit), with_revision(url(visit), {**vitals(hr="84"), "reason": "typo"}))
    client.post(
        url(visit), with_revision(url(visit), {**vitals(hr="86"), "reason": "re-read the monitor"})
    )
    page = client.get(reverse("crfs:history", args=[fi.pk, "hr"]), HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert "<html" not in body
    for text in ("80", "84", "86", "typo", "re-read the monitor", "coord_a"):
        assert text in body
    assert items(visit)["hr"].version == 3
