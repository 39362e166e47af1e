"""Signed DSMB decisions: who signs, when a decision takes effect, what it does to pauses."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import PermissionDenied

from trialdesk.accounts.actions import do_create_user, do_grant_membership
from trialdesk.audit.models import AuditEvent
from trialdesk.dsmb import actions
from trialdesk.dsmb.models import Pause
from trialdesk.dsmb.tests.helpers import ae, dosed_participants, ready, setup_list
from trialdesk.randomization import actions as ra
from trialdesk.testing.personas import PASSWORD

STUDY = "NCT07183384"
PDF = b"%PDF-1.4\n% minutes of the DSMB meeting\n%%EOF\n"


@pytest.fixture
def second_member(personas):
    from django.contrib.auth.hashers import make_password

    user = do_create_user(
        username="dsmb2",
        email="dsmb2@example.org",
        printed_name="Dr. Second Member",
        acting_user=None,
        reason="second DSMB member for the quorum",
        password_hash=make_password(PASSWORD),
    )
    do_grant_membership(
        user,
        role="dsmb",
        site=None,
        acting_user=None,
        reason="second DSMB member for the quorum",
        study=STUDY,
    )
    return user


@pytest.fixture
def paused(personas):
    setup_list(personas)
    exo = dosed_participants(personas, exo=2)["EXO"]
    ae(personas, exo[0], 1)
    ae(personas, exo[1], 1)
    return Pause.objects.get(study_id=STUDY, closed_at__isnull=True)


def _decide(personas, pause, kind="continue"):
    return actions.do_create_decision(
        STUDY,
        personas["dsmb"],
        kind=kind,
        rationale="Reviewed the unblinded listings: events are not product-related in pattern.",
        pauses=[pause] if pause else [],
        minutes=PDF,
        minutes_name="minutes.pdf",
    )


def test_a_signed_continue_resumes_an_unsigned_one_does_not(personas, paused, second_member):
    decision = _decide(personas, paused)
    assert decision.minutes_sha256 == hashlib.sha256(PDF).hexdigest()
    actions.do_sign_decision(decision, personas["dsmb"], password=PASSWORD)
    paused.refresh_from_db()
    decision.refresh_from_db()
    assert paused.is_open and decision.decided_at is None  # one signature of two
    with pytest.raises(ra.RandomizationError, match="a DSMB decision is required"):
        ra.do_randomize_participant(ready(personas), personas["coord_a"])
    with pytest.raises(actions.DsmbError, match="already signed"):
        actions.do_sign_decision(decision, personas["dsmb"], password=PASSWORD)
    with pytest.raises(actions.DsmbError, match="password"):
        actions.do_sign_decision(decision, second_member, password="wrong")
    actions.do_sign_decision(decision, second_member, password=PASSWORD)
    paused.refresh_from_db()
    decision.refresh_from_db()
    assert not paused.is_open and paused.closed_by_decision == decision and decision.decided_at
    assert ra.do_randomize_participant(ready(personas), personas["coord_a"]).pk
    assert AuditEvent.objects.filter(action="dsmb.decision_effective").count() == 1
    assert AuditEvent.objects.filter(action="dsmb.sign").count() == 2
    assert AuditEvent.objects.filter(action="dsmb.sign_failed").count() == 1


def test_only_dsmb_members_record_and_sign(personas, paused):
    for who in ("ustat", "inv_a", "admin", "monitor"):
        with pytest.raises(PermissionDenied):
            _decide({"dsmb": personas[who]}, paused)
    decision = _decide(personas, paused)
    for who in ("ustat", "inv_a", "admin", "pharm_a"):
        with pytest.raises(PermissionDenied):
            actions.do_sign_decision(decision, personas[who], password=PASSWORD)
    assert not decision.signatures.exists()


def test_bad_input_is_refused_by_field(personas, paused):
    with pytest.raises(actions.DsmbError, match="^minutes: the file is not a PDF"):
        actions.do_create_decision(
            STUDY,
            personas["dsmb"],
            kind="continue",
            rationale="x",
            pauses=[paused],
            minutes=b"hello",
            minutes_name="m.txt",
        )
    with pytest.raises(actions.DsmbError, match="^rationale"):
        actions.do_create_decision(
            STUDY,
            personas["dsmb"],
            kind="continue",
            rationale=" ",
            pauses=[paused],
            minutes=PDF,
            minutes_name="m.pdf",
        )
    with pytest.raises(actions.DsmbError, match="^pauses"):
        _decide(personas, None)


def test_a_signed_stop_closes_the_study(personas, paused, second_member):
    decision = _decide(personas, None, kind="stop")
    actions.do_sign_decision(decision, personas["dsmb"], password=PASSWORD)
    actions.do_sign_decision(decision, second_member, password=PASSWORD)
    open_ = Pause.objects.get(study_id=STUDY, closed_at__isnull=True)
    assert open_.action == "stop"
    with pytest.raises(ra.RandomizationError, match="stopped by a DSMB decision"):
        ra.do_randomize_participant(ready(personas), personas["coord_a"])
    with pytest.raises(actions.DsmbError, match="cannot be resumed"):
        _decide(personas, open_)


def test_audit_verify_reconciles_pauses_decisions_and_signatures(personas, paused, second_member):
    """Every pause, decision and signature is in the trail; an edit behind the application's
    back (a pause closed, a signature's time moved) is found by `audit verify`'s reconcile."""
    from django.utils import timezone

    from trialdesk.audit.reconcile import reconcile
    from trialdesk.dsmb.models import DecisionSignature

    decision = _decide(personas, paused)
    actions.do_sign_decision(decision, personas["dsmb"], password=PASSWORD)
    actions.do_sign_decision(decision, second_member, password=PASSWORD)
    mine = lambda: [m for m in reconcile() if m.object_type.startswith("dsmb.")]  # noqa: E731
    assert mine() == []
    other = Pause.objects.create(study_id=STUDY, action="pause_enrolment", fired_at=timezone.now())
    Pause.objects.filter(pk=paused.pk).update(closed_at=None)
    sig = DecisionSignature.objects.filter(decision=decision).first()
    DecisionSignature.objects.filter(pk=sig.pk).update(signed_at=timezone.now())
    found = {(m.object_type, m.object_id): m.problem for m in mine()}
    assert "no audit event" in found[("dsmb.pause", str(other.pk))]
    assert "closed_at" in found[("dsmb.pause", str(paused.pk))]
    assert "signatures" in found[("dsmb.decisionsignature", str(decision.pk))]
