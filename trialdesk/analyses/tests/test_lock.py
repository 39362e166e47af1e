"""The database lock: refused while data are unfinished, signed, frozen in a hashed snapshot,
every data change refused while locked, and the signed unlock that makes a new snapshot."""

from __future__ import annotations

import gzip

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from trialdesk.accounts.access import Refused
from trialdesk.analyses import snapshot as snap
from trialdesk.analyses.actions import LockError, do_lock_database, do_unlock_database
from trialdesk.analyses.models import Snapshot
from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.actions import do_open_query, do_save_form
from trialdesk.crfs.models import FormInstance, Query
from trialdesk.dsmb.tests.helpers import dosed_participants, ready, setup_list
from trialdesk.randomization.actions import do_randomize_participant
from trialdesk.testing.participants import visit_of
from trialdesk.testing.personas import PASSWORD
from trialdesk.visits.actions import do_record_visit_date

pytestmark = pytest.mark.django_db
STUDY = "NCT07183384"
WHY = "all data entered, cleaned and signed for the final analysis"


def _vitals(personas, p, sbp: int):
    d7 = visit_of(p, "D7")
    if d7.actual_date is None:
        do_record_visit_date(d7, timezone.localdate(), personas["coord_a"])
    return do_save_form(
        d7,
        "vitals",
        personas["coord_a"],
        raw={"sbp": str(sbp), "dbp": "80"},
        repeat=1,
        reason="value corrected against the source",
    )


@pytest.fixture
def study(personas):
    setup_list(personas)
    groups = dosed_participants(personas, exo=1, other=1)
    people = groups["EXO"] + groups["other"]
    for i, p in enumerate(people):
        _vitals(personas, p, 120 + i)
    return people


def _finish_forms():
    """Tests stand in for the data manager's cleaning: forms left in progress are marked
    complete and automatic queries closed directly (the lock refuses them otherwise, which its
    own test checks)."""
    Query.objects.update(status=Query.Status.CLOSED)
    FormInstance.objects.filter(status=FormInstance.Status.IN_PROGRESS).update(
        status=FormInstance.Status.COMPLETE
    )


def test_the_lock_refuses_forms_in_progress_and_open_queries_by_name(study, personas):
    _finish_forms()
    FormInstance.objects.filter(participant=study[0], form_code="vitals").update(
        status=FormInstance.Status.IN_PROGRESS
    )
    with pytest.raises(
        LockError, match=rf"^1 form\(s\) are in progress: {study[0].subject_id} D7 vitals#1;"
    ):
        do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    _finish_forms()
    fi = FormInstance.objects.get(participant=study[1], form_code="vitals")
    q = do_open_query(fi, personas["monitor"], item="sbp", text="Please confirm the value.")
    with pytest.raises(LockError, match=rf"{study[1].subject_id} D7 vitals.sbp \(query {q.pk}"):
        do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    assert not Snapshot.objects.exists()
    assert FormInstance.objects.filter(status=FormInstance.Status.LOCKED).count() == 0


def test_only_the_data_manager_locks_with_her_password_and_a_reason(study, personas):
    _finish_forms()
    for who in ("monitor", "stat", "ustat", "coord_a", "admin"):
        with pytest.raises(PermissionDenied):
            do_lock_database(STUDY, personas[who], password=PASSWORD, reason=WHY)
    with pytest.raises(LockError, match="password"):
        do_lock_database(STUDY, personas["dm"], password="wrong", reason=WHY)
    with pytest.raises(LockError, match="reason = 'done' is too short"):
        do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason="done")
    assert not Snapshot.objects.exists()


def test_lock_freezes_a_hashed_snapshot_and_refuses_every_change(study, personas):
    waiting = ready(personas)  # eligible, not yet randomized when the database is locked
    _finish_forms()
    lock = do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    shot = Snapshot.objects.get(pk=lock.snapshot_id)
    # the hash is the hash of the data as they are now, recomputed independently
    raw = snap.canonical_bytes(snap.collect(STUDY))
    assert shot.sha256 == snap.sha256(raw) == snap.sha256(gzip.decompress(bytes(shot.data)))
    tables = snap.load(shot)
    assert {r["subject_id"] for r in tables["allocations"]} == {p.subject_id for p in study}
    assert {r["value"] for r in tables["items"] if r["item"] == "sbp"} == {120, 121}
    assert shot.counts["participants"] == len(tables["participants"])
    # every complete form is locked; the signature and the hash are in the audit trail
    assert not FormInstance.objects.exclude(status__in=["locked", "not_started"]).exists()
    event = AuditEvent.objects.filter(action="sign", object_type="studies.databaselock").get()
    assert event.new_value["snapshot_sha256"] == shot.sha256
    assert event.new_value["printed_name"] and "database lock" in event.new_value["meaning"]
    assert AuditEvent.objects.filter(object_type="analyses.snapshot").get().new_value["sha256"] == (
        shot.sha256
    )
    # nothing changes while locked: a save, a visit date, a query, a randomization
    with pytest.raises(Refused, match=f"database of {STUDY} is locked .* change eCRF data"):
        _vitals(personas, study[0], 150)
    with pytest.raises(Refused, match="locked"):
        do_record_visit_date(visit_of(study[0], "M1"), timezone.localdate(), personas["coord_a"])
    fi = FormInstance.objects.get(participant=study[1], form_code="vitals")
    with pytest.raises(Refused, match="open queries"):
        do_open_query(fi, personas["monitor"], item="sbp", text="Please confirm.")
    with pytest.raises(Refused, match="randomize"):
        do_randomize_participant(waiting, personas["coord_a"])
    with pytest.raises(Refused, match="screen participants"):
        ready(personas)
    with pytest.raises(LockError, match="already locked"):
        do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    assert snap.sha256(snap.canonical_bytes(snap.collect(STUDY))) == shot.sha256


def test_unlock_is_signed_makes_a_snapshot_and_a_changed_value_changes_the_hash(study, personas):
    _finish_forms()
    first = do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    with pytest.raises(LockError, match="password"):
        do_unlock_database(STUDY, personas["dm"], password="nope", reason="correct one SBP value")
    lock = do_unlock_database(
        STUDY, personas["dm"], password=PASSWORD, reason="one SBP value was mistyped"
    )
    locked, unlocked = (
        Snapshot.objects.get(pk=i) for i in (first.snapshot_id, lock.unlock_snapshot_id)
    )
    assert (locked.kind, unlocked.kind) == ("lock", "unlock")
    # form statuses return, and their status is part of no snapshot table: same data, same hash
    assert unlocked.sha256 == locked.sha256 and unlocked.number == locked.number + 1
    assert not FormInstance.objects.filter(status="locked").exists()
    _vitals(personas, study[0], 131)
    _finish_forms()
    relock = do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    third = Snapshot.objects.get(pk=relock.snapshot_id)
    assert third.sha256 != locked.sha256 and third.number == 3
    from trialdesk.audit.reconcile import reconcile

    assert [str(m) for m in reconcile() if m.object_type.startswith(("analyses", "studies"))] == []
    with pytest.raises(LockError, match="not locked"):
        do_unlock_database(STUDY, personas["dm"], password=PASSWORD, reason="x" * 12)
        do_unlock_database(STUDY, personas["dm"], password=PASSWORD, reason="x" * 12)


def test_a_snapshot_whose_bytes_changed_is_refused(study, personas):
    _finish_forms()
    lock = do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    shot = Snapshot.objects.get(pk=lock.snapshot_id)
    tables = snap.load(shot)
    tables["items"][0]["value"] = 999
    Snapshot.objects.filter(pk=shot.pk).update(data=snap.compress(snap.canonical_bytes(tables)))
    shot.refresh_from_db()
    with pytest.raises(snap.SnapshotCorrupt, match="do not match its hash"):
        snap.load(shot)
    from trialdesk.audit.reconcile import reconcile

    problems = [m for m in reconcile() if m.object_type == "analyses.snapshot"]
    assert len(problems) == 1 and "sha256" in problems[0].problem
