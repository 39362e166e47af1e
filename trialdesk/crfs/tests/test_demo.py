"""`trialdesk demo load` enters synthetic data through the real actions."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from trialdesk.audit.chain import verify
from trialdesk.audit.reconcile import reconcile
from trialdesk.commands.demo import demo
from trialdesk.crfs.models import ItemValue
from trialdesk.participants.models import Participant


@pytest.mark.django_db(transaction=True)
def test_demo_load_small_study():
    result = CliRunner().invoke(demo, ["load", "--participants", "5", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "participants: 5" in result.output
    assert Participant.objects.count() == 5
    assert ItemValue.objects.count() > 100
    assert verify().ok and reconcile() == []
    # Blinding: no arm code reaches the clinical tables.
    values = {str(v) for v in ItemValue.objects.values_list("value", flat=True)}
    assert not values & {"EXO", "PBO"}


@pytest.mark.django_db(transaction=True)
def test_demo_load_refuses_a_study_with_participants():
    assert CliRunner().invoke(demo, ["load", "--participants", "1"]).exit_code == 0
    again = CliRunner().invoke(demo, ["load", "--participants", "1"])
    assert again.exit_code == 1 and "already holds 1 participant:" in again.output


@pytest.mark.django_db(transaction=True)
def test_demo_load_fills_every_study_and_keeps_them_apart():
    from trialdesk.paths import PROTOCOLS_DIR
    from trialdesk.studies.actions import do_load_protocol

    for name in ("nct07183384.yaml", "iron-pp.yaml"):
        do_load_protocol(PROTOCOLS_DIR / name, reason="test: two studies")
    refused = CliRunner().invoke(demo, ["load", "--participants", "2"])
    assert refused.exit_code == 2 and "NCT07183384, TD-IRON-PP" in refused.output
    result = CliRunner().invoke(demo, ["load", "--participants", "4", "--seed", "7", "--all"])
    assert result.exit_code == 0, result.output
    for study in ("NCT07183384", "TD-IRON-PP"):
        assert Participant.objects.filter(study_id=study).count() == 4
        assert ItemValue.objects.filter(participant__study_id=study).count() > 20
        # Each participant's site is a site of her own study.
        assert not Participant.objects.filter(study_id=study).exclude(site__study_id=study)
    assert verify().ok and reconcile() == []
    values = {str(v) for v in ItemValue.objects.values_list("value", flat=True)}
    assert not values & {"EXO", "PBO", "FCM1000", "FCM500"}


#: Post-randomization statuses: every participant in one has been through the whole path.
RANDOMIZED = ("enrolled", "withdrawn", "completed", "lost")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_demo_load_goes_the_real_path_and_the_counts_agree():
    """Issue 11, item 8: after `demo load`, every randomized participant has consent, a
    signed eligibility assessment, an allocation and a dose; the screening log and CONSORT
    counts equal direct counts; screen failures, withdrawals and deviations happen; nothing
    printed names an arm."""
    import re

    from django.utils import timezone

    from trialdesk.audit.models import AuditEvent
    from trialdesk.enrolment.models import EligibilitySignature, ScreeningEntry, Withdrawal
    from trialdesk.enrolment.services import consort_counts
    from trialdesk.paths import PROTOCOLS_DIR
    from trialdesk.randomization.models import Allocation, Dosing, Preparation, RandomizationList
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.studies.registry import get_protocol

    for name in ("nct07183384.yaml", "iron-pp.yaml"):
        do_load_protocol(PROTOCOLS_DIR / name, reason="test: two studies")
    # Seed 7 with 12 participants: screen failures, two withdrawals, a late visit.
    result = CliRunner().invoke(demo, ["load", "--participants", "12", "--seed", "7", "--all"])
    assert result.exit_code == 0, result.output
    for study in ("NCT07183384", "TD-IRON-PP"):
        people = Participant.objects.filter(study_id=study)
        rlist = RandomizationList.objects.get(study_id=study, active=True)
        assert rlist.created_by.username == "ustat" and rlist.verified_by.username == "ustat"
        randomized = people.filter(status__in=RANDOMIZED)
        assert randomized.count() >= 5
        for p in randomized:
            assert p.consents.exists(), p.subject_id
            assert EligibilitySignature.objects.filter(
                assessment__participant=p, signed_by__username__startswith="inv_"
            ).exists(), p.subject_id
            allocation = Allocation.objects.get(participant=p)
            assert allocation.slot.rlist_id == rlist.pk
            assert Preparation.objects.get(allocation=allocation).prepared_by.username.startswith(
                "pharm_"
            )
            dosing = Dosing.objects.get(participant=p)
            assert p.anchor_date == timezone.localtime(dosing.started_at).date()
            assert p.consents.get().consented_at < allocation.allocated_at < dosing.started_at
        # The screening log and CONSORT against the database.
        entries = ScreeningEntry.objects.filter(participant__study_id=study)
        assert entries.count() == people.count() == 12
        consort = consort_counts(site_ids=list(people.values_list("site_id", flat=True)))
        assert consort["screened"] == people.count()
        assert (
            consort["randomized"]
            == Allocation.objects.filter(participant__study_id=study).count()
            == randomized.count()
        )
        failed = people.filter(status="screen_failed")
        assert (
            consort["not_enrolled"].get("ineligible", 0)
            == failed.filter(screening__outcome="ineligible").count()
        )
        assert sum(consort["not_enrolled"].values()) + consort["in_screening"] == (
            people.count() - randomized.count()
        )
        assert all(e.failed_criteria for e in entries.filter(outcome="ineligible"))
        assert not Allocation.objects.filter(participant__in=failed).exists()
        withdrawn = people.filter(status="withdrawn")
        assert withdrawn.count() == Withdrawal.objects.filter(participant__study_id=study).count()
    # For this seed, the dedicated study has each kind of event.
    assert ScreeningEntry.objects.filter(
        participant__study_id="NCT07183384", outcome="ineligible"
    ).exists()
    assert Withdrawal.objects.filter(participant__study_id="NCT07183384").exists()
    assert AuditEvent.objects.filter(
        study_code="NCT07183384", object_type="visits.deviation"
    ).exists()
    assert "withdrawn: " in result.output and "protocol deviations" in result.output
    assert verify().ok and reconcile() == []
    # Blinding: no arm code or name in what the command printed.
    for study in ("NCT07183384", "TD-IRON-PP"):
        for code, arm in get_protocol(study).arms.items():
            assert not re.search(rf"\b{re.escape(code)}\b", result.output), code
            assert arm.name.en not in result.output and arm.name.id not in result.output
