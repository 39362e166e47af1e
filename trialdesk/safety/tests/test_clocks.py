"""Reporting clocks in frozen time: due times, one reminder, late for good, on time leaves none."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from click.testing import CliRunner
from django.core import mail

from trialdesk.audit.chain import verify
from trialdesk.commands.tick import PERIODIC_TASKS, run_tasks
from trialdesk.safety.actions import SafetyError, do_close_clock, do_record_follow_up
from trialdesk.safety.clocks import tick
from trialdesk.safety.models import AdverseEvent, ReportClock, SafetyReport
from trialdesk.safety.tests.helpers import sae_raw, save_ae

pytestmark = pytest.mark.django_db

AWARE = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 08:00 WIB


@pytest.fixture
def sae(personas, participant_a):
    with time_machine.travel(AWARE + dt.timedelta(minutes=30), tick=False):
        save_ae(participant_a, personas["inv_a"], sae_raw(AWARE))
    return AdverseEvent.objects.get()


def _clock(ae, kind="sae_initial") -> ReportClock:
    return ae.clocks.get(kind=kind)


def _at(hours: float) -> str:
    with time_machine.travel(AWARE + dt.timedelta(hours=hours), tick=False):
        return tick()


def test_the_sae_clock_is_due_24_hours_after_awareness(sae):
    clock = _clock(sae)
    assert clock.started_at == AWARE and clock.due_at == AWARE + dt.timedelta(hours=24)
    assert not clock.late and clock.reminder_sent_at is None


def test_one_reminder_at_75_percent_of_the_interval_to_investigators_and_sponsor(sae):
    mail.outbox.clear()
    assert _at(17.9) == ""
    assert mail.outbox == []
    assert _at(18) == "1 reminder(s) sent"
    assert _at(18.5) == "" and _at(23) == ""
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["inv_a@example.org", "sponsor-medical-monitor@example.org"]
    assert "01-001" in message.subject and "due" in message.subject
    assert "2026-03-03 08:00" in message.body  # the deadline in the site's time
    assert _clock(sae).reminder_sent_at == AWARE + dt.timedelta(hours=18)


def test_a_clock_past_its_deadline_is_late_and_stays_late_after_closing(sae, personas):
    assert _at(24) == "1 reminder(s) sent"  # at the deadline itself: still on time
    assert _at(24.1) == "1 late"
    assert _at(30) == ""
    clock = _clock(sae)
    assert clock.late and clock.closed_at is None
    assert any("LATE" in m.subject for m in mail.outbox)
    with time_machine.travel(AWARE + dt.timedelta(hours=31), tick=False):
        sent = AWARE + dt.timedelta(hours=30)
        do_close_clock(clock, personas["inv_a"], sent_at=sent, reference="SAE-0001")
    clock.refresh_from_db()
    assert clock.late and clock.closed_at and clock.report_reference == "SAE-0001"
    assert clock.closed_by == personas["inv_a"] and clock.report_sent_at == sent
    assert SafetyReport.objects.get().kind == "initial"
    assert _at(40) == ""
    assert verify().ok


def test_closing_on_time_leaves_no_late_flag_and_no_reminder(sae, personas):
    clock = _clock(sae)
    with time_machine.travel(AWARE + dt.timedelta(hours=5), tick=False):
        do_close_clock(clock, personas["inv_a"], sent_at=AWARE + dt.timedelta(hours=4))
    mail.outbox.clear()
    assert _at(18) == "" and _at(30) == ""
    clock.refresh_from_db()
    assert not clock.late and clock.reminder_sent_at is None and mail.outbox == []


def test_a_report_sent_after_the_deadline_makes_the_clock_late_even_without_a_tick(sae, personas):
    clock = _clock(sae)
    with time_machine.travel(AWARE + dt.timedelta(hours=26), tick=False):
        do_close_clock(clock, personas["inv_a"], sent_at=AWARE + dt.timedelta(hours=25))
    clock.refresh_from_db()
    assert clock.late


def test_only_the_sites_investigator_records_a_report(sae, personas):
    from trialdesk.accounts.access import Refused

    for who in ("coord_a", "inv_b", "monitor"):
        with pytest.raises(Refused):
            do_close_clock(_clock(sae), personas[who], sent_at=AWARE + dt.timedelta(hours=1))
    with pytest.raises(SafetyError, match="already closed"):
        with time_machine.travel(AWARE + dt.timedelta(hours=2), tick=False):
            do_close_clock(_clock(sae), personas["inv_a"], sent_at=AWARE)
            do_close_clock(_clock(sae), personas["inv_a"], sent_at=AWARE)


def test_follow_up_reports_are_kept_with_the_ae_version_they_carried(sae, personas, participant_a):
    with time_machine.travel(AWARE + dt.timedelta(hours=2), tick=False):
        with pytest.raises(SafetyError, match="initial report first"):
            do_record_follow_up(sae, personas["inv_a"], sent_at=AWARE)
        do_close_clock(_clock(sae), personas["inv_a"], sent_at=AWARE + dt.timedelta(hours=1))
    with time_machine.travel(AWARE + dt.timedelta(days=3), tick=False):
        save_ae(
            participant_a,
            personas["inv_a"],
            sae_raw(AWARE, outcome="RECOVERED", ongoing="no", end_at="2026-03-04T08:00"),
        )
        do_record_follow_up(sae, personas["inv_a"], sent_at=AWARE + dt.timedelta(days=2))
    reports = list(SafetyReport.objects.order_by("pk").values_list("kind", "ae_version"))
    assert reports == [("initial", 1), ("follow_up", 2)]


def test_the_periodic_task_runs_from_trialdesk_tick_and_its_own_command(sae):
    assert PERIODIC_TASKS["safety-clocks"] == "trialdesk.safety.clocks:tick"
    with time_machine.travel(AWARE + dt.timedelta(hours=19), tick=False):
        results = dict((name, msg) for name, msg, ok in run_tasks())
    assert results["safety-clocks"] == "1 reminder(s) sent"
    from trialdesk.cli import main

    with time_machine.travel(AWARE + dt.timedelta(hours=25), tick=False):
        out = CliRunner().invoke(main, ["safety", "tick"])
    assert out.exit_code == 0, out.output
    assert "1 late" in out.output


def test_audit_verify_reconciles_every_safety_table_with_the_trail(sae, personas, participant_a):
    from trialdesk.audit.reconcile import reconcile
    from trialdesk.safety.models import LabFinding

    _at(18)
    with time_machine.travel(AWARE + dt.timedelta(hours=20), tick=False):
        do_close_clock(_clock(sae), personas["inv_a"], sent_at=AWARE + dt.timedelta(hours=19))
    with time_machine.travel(AWARE + dt.timedelta(hours=21), tick=False):
        save_ae(participant_a, personas["inv_a"], sae_raw(AWARE, relatedness="DEFINITE"))
    assert ReportClock.objects.count() == 2
    mismatches = [m for m in reconcile() if m.object_type.startswith("safety.")]
    assert mismatches == []
    ReportClock.objects.filter(kind="sae_initial").update(late=True)  # behind the app's back
    mismatches = [str(m) for m in reconcile() if m.object_type.startswith("safety.")]
    assert any("late" in m for m in mismatches), mismatches
    assert not LabFinding.objects.exists()
