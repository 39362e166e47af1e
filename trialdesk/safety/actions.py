"""What people do with an adverse event's reports (audited, durable transactions).

- ``do_close_clock``: "initial report sent to the sponsor" — closes one reporting clock with the
  date and time the report was sent and its reference; sent after the deadline, the clock is
  (and stays) late.
- ``do_record_follow_up``: a follow-up report until the AE resolves (each one kept, with the AE
  version it carried).

Who: the site's investigator (a safety-physician role, when the project adds one, joins
``REPORT_ROLES``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.core.text import TextTooLong, check_text
from trialdesk.safety.models import AdverseEvent, ReportClock, SafetyReport

REPORT_ROLES = (Role.INVESTIGATOR,)


class SafetyError(ValueError):
    """A safety action was refused; the message says why, for people."""


def _sent_at(value: dt.datetime, now: dt.datetime) -> dt.datetime:
    if value is None:
        raise SafetyError("give the date and time the report was sent")
    if timezone.is_naive(value):
        raise SafetyError("the time the report was sent needs its time zone")
    if value > now + dt.timedelta(minutes=1):
        raise SafetyError(
            f"the report cannot have been sent in the future ({value:%Y-%m-%d %H:%M})"
        )
    return value


def _reference(text: str) -> str:
    text = (text or "").strip()
    if len(text) > 120:
        raise SafetyError(f"the report reference is {len(text)} characters long; at most 120")
    return text


def _report_snapshot(report: SafetyReport) -> dict:
    return {
        "adverse_event": report.adverse_event_id,
        "kind": report.kind,
        "ae_version": report.ae_version,
        "sent_at": report.sent_at.isoformat(),
        "reference": report.reference,
    }


def do_close_clock(
    clock: ReportClock, acting_user, *, sent_at: dt.datetime, reference: str = "", note: str = ""
) -> ReportClock:
    participant = clock.adverse_event.participant
    role = require_at(acting_user, REPORT_ROLES, participant.site, "record safety reports")
    reference = _reference(reference)
    try:
        note = check_text("note", note)
    except TextTooLong as exc:
        raise SafetyError(str(exc)) from exc
    now = timezone.now()
    sent_at = _sent_at(sent_at, now)
    with transaction.atomic(durable=True):
        clock = ReportClock.objects.select_for_update().get(pk=clock.pk)
        if not clock.is_open:
            raise SafetyError(
                f"this {clock.get_kind_display()} clock was already closed on "
                f"{clock.closed_at:%Y-%m-%d %H:%M} UTC"
            )
        if sent_at < clock.started_at - dt.timedelta(days=1):
            raise SafetyError("the report cannot have been sent before the site knew of the event")
        ae = AdverseEvent.objects.get(pk=clock.adverse_event_id)
        old = clock.snapshot()
        clock.closed_at, clock.closed_by = now, acting_user
        clock.report_sent_at, clock.report_reference = sent_at, reference
        clock.late = clock.late or sent_at > clock.due_at
        clock.save()
        common = {"actor": acting_user, "role": role, "site": participant.site}
        common["participant"] = participant.subject_id
        record("status", obj=clock, old=old, new=clock.snapshot(), reason=note, **common)
        report = SafetyReport.objects.create(
            adverse_event=ae,
            kind=SafetyReport.Kind.INITIAL,
            ae_version=ae.version,
            sent_at=sent_at,
            reference=reference,
            recorded_at=now,
            recorded_by=acting_user,
        )
        record("create", obj=report, new=_report_snapshot(report), reason=note, **common)
    return clock


def do_record_follow_up(
    ae: AdverseEvent, acting_user, *, sent_at: dt.datetime, reference: str = ""
) -> SafetyReport:
    participant = ae.participant
    role = require_at(acting_user, REPORT_ROLES, participant.site, "record safety reports")
    reference = _reference(reference)
    now = timezone.now()
    sent_at = _sent_at(sent_at, now)
    with transaction.atomic(durable=True):
        ae = AdverseEvent.objects.select_for_update().get(pk=ae.pk)
        if not ae.reports.exists():
            raise SafetyError("record the initial report first; a follow-up report follows it")
        report = SafetyReport.objects.create(
            adverse_event=ae,
            kind=SafetyReport.Kind.FOLLOW_UP,
            ae_version=ae.version,
            sent_at=sent_at,
            reference=reference,
            recorded_at=now,
            recorded_by=acting_user,
        )
        record(
            "create",
            obj=report,
            new=_report_snapshot(report),
            actor=acting_user,
            role=role,
            site=participant.site,
            participant=participant.subject_id,
        )
    return report
