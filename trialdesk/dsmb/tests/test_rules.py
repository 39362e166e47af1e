"""Stopping rules evaluated on every AE change; pauses; the blinded gate; e-mails."""

from __future__ import annotations

import json

import pytest

from trialdesk.audit.models import AuditEvent
from trialdesk.core.safety_monitoring.rules import bayesian_stop_at, count_stop_at
from trialdesk.dsmb.models import Pause, RuleState
from trialdesk.dsmb.tests.helpers import ae, dosed_participants, ready, setup_list
from trialdesk.randomization import actions as ra
from trialdesk.studies.registry import get_protocol

pytestmark = pytest.mark.django_db(transaction=False)

STUDY = "NCT07183384"


def _rule_mails(box):
    return [m for m in box if "safety rule" in m.subject]


def _open(code):
    return Pause.objects.filter(study_id=STUDY, rule_code=code, closed_at__isnull=True)


def test_related_sae_count_fires_at_the_core_count_and_pauses(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    setup_list(personas)
    groups = dosed_participants(personas, exo=2, other=1)
    rule = get_protocol(STUDY).safety_rules["related_sae_count"]
    stop = count_stop_at([(s.n_max, s.events) for s in rule.boundary], 2)
    assert stop == 2
    exo = groups["EXO"]
    # a related SAE in the other arm counts for nothing; an unrelated one in EXO neither
    with django_capture_on_commit_callbacks(execute=True):
        ae(personas, groups["other"][0], 1)
        ae(personas, exo[0], 1, relatedness="UNLIKELY")
        ae(personas, exo[0], 2)  # one participant: one event, however many AEs
        ae(personas, exo[0], 3)
    state = RuleState.objects.get(study_id=STUDY, rule_code="related_sae_count")
    assert state.events == stop - 1 and state.n == 2 and not state.fires
    assert not Pause.objects.exists() and not _rule_mails(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        ae(personas, exo[1], 1)
    state.refresh_from_db()
    assert state.fires and state.events == stop
    pause = _open("related_sae_count").get()
    assert pause.action == "pause_enrolment" and pause.counts["by_arm"]["EXO"]["events"] == 2
    # the Bayesian rule cannot fire below min_n = 3
    assert not _open("related_sae_bayes").exists()
    # e-mail to the DSMB chair and the sponsor, once, with no arm
    assert len(_rule_mails(mailoutbox)) == 1
    mail = _rule_mails(mailoutbox)[0]
    assert set(mail.to) == {"dsmb-chair@example.org", "sponsor-medical-monitor@example.org"}
    assert "EXO" not in mail.body + mail.subject and "PBO" not in mail.body + mail.subject
    assert "related_sae_count" in mail.subject
    # a further AE does not open a second pause nor send a second e-mail
    with django_capture_on_commit_callbacks(execute=True):
        ae(personas, exo[1], 2)
    assert _open("related_sae_count").count() == 1 and len(_rule_mails(mailoutbox)) == 1
    event = AuditEvent.objects.filter(action="dsmb.pause").get()
    assert "EXO" not in json.dumps(event.new_value)

    # randomization, preparation and dosing are refused, with the blinded message
    day = pause.fired_at.date().isoformat()
    expected = (
        f"enrolment paused by the safety rule 'related_sae_count' on {day} (UTC date); "
        "a DSMB decision is required"
    )
    with pytest.raises(ra.RandomizationError) as err:
        ra.do_randomize_participant(ready(personas), personas["coord_a"])
    assert str(err.value) == expected
    for arm_word in ("EXO", "PBO", "exosome", "placebo"):
        assert arm_word.lower() not in str(err.value).lower()


def test_regrading_below_the_boundary_keeps_the_pause(personas, django_capture_on_commit_callbacks):
    setup_list(personas)
    exo = dosed_participants(personas, exo=2)["EXO"]
    ae(personas, exo[0], 1)
    ae(personas, exo[1], 1)
    assert _open("related_sae_count").exists()
    ae(personas, exo[1], 1, relatedness="UNLIKELY")  # re-graded: no longer related
    state = RuleState.objects.get(study_id=STUDY, rule_code="related_sae_count")
    assert not state.fires and state.events == 1
    assert _open("related_sae_count").count() == 1
    assert AuditEvent.objects.filter(action="dsmb.rule_state").count() == 2


def test_related_sae_bayes_fires_at_the_core_count(personas):
    setup_list(personas)
    exo = dosed_participants(personas, exo=4)["EXO"]
    rule = get_protocol(STUDY).safety_rules["related_sae_bayes"]
    stop = bayesian_stop_at(
        n=4,
        prior_mean=rule.prior_mean,
        prior_n=rule.prior_n,
        threshold=rule.threshold,
        posterior_probability=rule.posterior_probability,
        min_n=rule.min_n,
    )
    assert stop == 4  # no count fires it at n = 3 (min_n; 3 of 3 is not enough)
    for i in range(stop - 1):
        ae(personas, exo[i], 1)
    assert not _open("related_sae_bayes").exists()
    assert not RuleState.objects.get(rule_code="related_sae_bayes").fires
    ae(personas, exo[stop - 1], 1)
    state = RuleState.objects.get(rule_code="related_sae_bayes")
    assert state.fires and state.events == stop and state.posterior > rule.posterior_probability
    assert _open("related_sae_bayes").get().action == "pause_enrolment"


def test_any_death_pauses_dosing_until_review(personas):
    setup_list(personas)
    groups = dosed_participants(personas, exo=0, other=1)
    waiting = ready(personas)
    a = ra.do_randomize_participant(waiting, personas["coord_a"])
    ae(personas, groups["other"][0], 1, serious=False, relatedness="UNRELATED", outcome="RECOVERED")
    assert not Pause.objects.exists()
    ae(personas, groups["other"][0], 2, relatedness="UNRELATED", outcome="FATAL")
    pause = _open("any_death").get()
    assert pause.action == "dsmb_review"
    day = pause.fired_at.date().isoformat()
    expected = (
        f"dosing paused by the safety rule 'any_death' on {day} (UTC date) "
        "until the DSMB has reviewed it"
    )
    with pytest.raises(ra.RandomizationError) as err:
        ra.do_randomize_participant(ready(personas), personas["coord_a"])
    assert str(err.value) == expected
    # the pharmacist may still prepare the kit allocated before the pause; dosing is refused
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from trialdesk.randomization.models import Allocation

    Allocation.objects.filter(pk=a.pk).update(allocated_at=timezone.now() - dt.timedelta(hours=1))
    a.refresh_from_db()
    ra.do_record_preparation(
        a,
        personas["pharm_a"],
        lot="L1",
        volume_ml=Decimal("100"),
        prepared_at=timezone.now() - dt.timedelta(minutes=5),
    )
    with pytest.raises(ra.RandomizationError) as err:
        ra.do_record_dosing(
            waiting,
            personas["coord_a"],
            route="IV",
            volume_ml=Decimal("100"),
            started_at=timezone.now() - dt.timedelta(minutes=4),
            stopped_at=timezone.now() - dt.timedelta(minutes=1),
            administered_by=personas["inv_a"],
        )
    assert str(err.value) == expected
