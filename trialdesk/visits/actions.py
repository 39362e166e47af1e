"""Every write to visits: the actual date, missed visits, unscheduled visits."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max

from trialdesk.accounts.access import role_at
from trialdesk.audit.actions import record
from trialdesk.participants.withdrawal import ConsentError, refuse_after_withdrawal
from trialdesk.studies.locking import refused_when_locked
from trialdesk.visits.deviations import record_deviation, window_facts, window_problem
from trialdesk.visits.models import Visit
from trialdesk.visits.services import protocol_visits

__all__ = ["VisitError", "record_deviation", "window_facts", "window_problem"]


class VisitError(ValueError):
    """A visit write was refused; the message says why."""


def _audit(action, visit, acting_user, old, new, reason) -> None:
    record(
        action,
        actor=acting_user,
        role=role_at(acting_user, visit.participant.site),
        site=visit.participant.site,
        obj=visit,
        participant=visit.participant.subject_id,
        old=old,
        new=new,
        reason=reason,
    )


def _refuse_if_withdrawn(participant, on_date) -> None:
    """No visits on or after a withdrawal whose scope forbids further visits."""
    try:
        refuse_after_withdrawal(participant, "visit", on_date)
    except ConsentError as exc:
        raise VisitError(str(exc)) from exc


@refused_when_locked("date visits")
def do_record_visit_date(
    visit: Visit, actual_date: dt.date, acting_user, *, reason: str = ""
) -> Visit:
    """Record when the visit took place. Changing a recorded date needs a reason. A date
    outside the visit's window is kept and recorded as a protocol deviation."""
    with transaction.atomic(durable=True):
        visit = record_visit_date(visit, actual_date, acting_user, reason=reason)
        problem = window_problem(visit, actual_date)
        if problem:
            record_deviation(
                visit,
                acting_user,
                what=f"visit date: {problem}",
                reason=reason or "visit dated",
                facts=window_facts(visit, actual_date),
            )
        return visit


def record_visit_date(
    visit: Visit, actual_date: dt.date, acting_user, *, reason: str = ""
) -> Visit:
    """The body of ``do_record_visit_date``, for callers already inside an action (a form save
    whose date field dates the visit)."""
    if actual_date > dt.date.today():
        raise VisitError(f"visit date {actual_date:%Y-%m-%d} is in the future")
    visit = Visit.objects.select_for_update().select_related("participant__site").get(pk=visit.pk)
    _refuse_if_withdrawn(visit.participant, actual_date)
    if visit.actual_date and visit.actual_date != actual_date and not reason.strip():
        raise VisitError("the visit date was already recorded: give a reason for the change")
    old = {"actual_date": visit.actual_date, "missed": visit.missed}
    visit.actual_date, visit.missed, visit.missed_reason = actual_date, False, ""
    visit.save(update_fields=["actual_date", "missed", "missed_reason"])
    _audit(
        "change",
        visit,
        acting_user,
        old,
        {"actual_date": actual_date, "missed": False},
        reason or "visit date recorded",
    )
    return visit


@refused_when_locked("mark visits missed")
def do_mark_visit_missed(visit: Visit, acting_user, *, reason: str) -> Visit:
    if not reason.strip():
        raise VisitError("say why the visit was missed")
    with transaction.atomic(durable=True):
        visit = (
            Visit.objects.select_for_update().select_related("participant__site").get(pk=visit.pk)
        )
        if visit.actual_date:
            raise VisitError("the visit has a date: it took place, it cannot be marked missed")
        visit.missed, visit.missed_reason = True, reason
        visit.save(update_fields=["missed", "missed_reason"])
        _audit("status", visit, acting_user, {"missed": False}, {"missed": True}, reason)
    return visit


@refused_when_locked("add visits")
def do_add_unscheduled_visit(
    participant, acting_user, *, code: str | None = None, actual_date=None, reason: str = ""
) -> Visit:
    """Add an unscheduled visit (the protocol's unscheduled visit type, numbered per participant)."""
    specs = [v for v in protocol_visits(participant) if not v.scheduled or v.day is None]
    if code:
        specs = [v for v in specs if v.code == code]
    if not specs:
        raise VisitError(
            "the protocol defines no unscheduled visit" + (f" {code!r}" if code else "")
        )
    spec = specs[0]
    with transaction.atomic(durable=True):
        _refuse_if_withdrawn(participant, actual_date)
        last = (
            Visit.objects.filter(participant=participant, code=spec.code).aggregate(
                m=Max("repeat")
            )["m"]
            or 0
        )
        visit = Visit.objects.create(
            participant=participant,
            code=spec.code,
            repeat=last + 1,
            sequence=10_000,
            unscheduled=True,
            actual_date=actual_date,
            created_by=acting_user,
        )
        _audit(
            "create",
            visit,
            acting_user,
            None,
            {"visit": spec.code, "repeat": visit.repeat, "actual_date": actual_date},
            reason or "unscheduled visit",
        )
    return visit
