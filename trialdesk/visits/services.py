"""Schedule generation. Not actions: these run inside the caller's action transaction."""

from __future__ import annotations

import datetime as dt

from trialdesk.audit.actions import record
from trialdesk.visits.deviations import record_deviation, window_facts, window_problem
from trialdesk.visits.models import Visit


def protocol_visits(study):
    """The visits of `study`'s protocol in schedule order (whatever collection type the model
    uses); `study` is a Study, its code or a row of it (a participant)."""
    from trialdesk.studies.registry import get_protocol

    visits = get_protocol(study).visits
    return list(visits.values()) if isinstance(visits, dict) else list(visits)


def _window(spec, anchor: dt.date | None) -> dict:
    if anchor is None or spec.day is None:
        return {"target_date": None, "earliest_date": None, "latest_date": None}
    return {
        "target_date": anchor + dt.timedelta(days=spec.day),
        "earliest_date": anchor + dt.timedelta(days=spec.day - spec.window_before),
        "latest_date": anchor + dt.timedelta(days=spec.day + spec.window_after),
    }


def _ensure(participant, spec, sequence: int, acting_user, deviation_actor=None) -> bool:
    """Create the visit if missing, else refresh its window dates; True if anything changed."""
    wanted = _window(spec, participant.anchor_date)
    visit = Visit.objects.filter(participant=participant, code=spec.code, repeat=1).first()
    if visit is None:
        visit = Visit.objects.create(
            participant=participant,
            code=spec.code,
            sequence=sequence,
            day=spec.day,
            created_by=acting_user,
            **wanted,
        )
        _audit("create", visit, acting_user, None, wanted)
        return True
    old = {k: getattr(visit, k) for k in wanted}
    if old == wanted:
        return False
    Visit.objects.filter(pk=visit.pk).update(**wanted)
    _audit("change", visit, acting_user, old, wanted)
    for k, v in wanted.items():
        setattr(visit, k, v)
    problem = window_problem(visit, visit.actual_date) if visit.actual_date else ""
    if problem:  # already dated, and the new window leaves it out (e.g. day 0 set later)
        record_deviation(
            visit,
            deviation_actor,
            what=f"visit date: {problem}",
            reason="the visit window moved when day 0 was set",
            facts=window_facts(visit, visit.actual_date),
        )
    return True


def _audit(action, visit, acting_user, old, new) -> None:
    record(
        action,
        actor=acting_user,
        site=visit.participant.site,
        obj=visit,
        participant=visit.participant.subject_id,
        old=old,
        new={"visit": visit.code, **new},
        reason="visit schedule",
    )


def create_initial_visits(participant, acting_user=None) -> int:
    """The visits that happen before day 0 is known (screening, baseline, dosing day)."""
    changed = 0
    for sequence, spec in enumerate(protocol_visits(participant)):
        if spec.scheduled and spec.day is not None and spec.day <= 0:
            changed += _ensure(participant, spec, sequence, acting_user)
    return changed


def schedule_visits(participant, acting_user=None, *, deviation_actor=None) -> int:
    """Create every scheduled visit with its target date and window (idempotent).

    Called inside another action's transaction once `participant.anchor_date` is set; a changed
    anchor moves the windows of all visits (each move audited); a visit already dated that the
    new window leaves out is recorded as a protocol deviation, by ``deviation_actor`` (the
    person whose action set day 0). Returns how many rows changed.
    """
    changed = 0
    for sequence, spec in enumerate(protocol_visits(participant)):
        if spec.scheduled and spec.day is not None:
            changed += _ensure(participant, spec, sequence, acting_user, deviation_actor)
    return changed


def schedule_on_anchor(participant, acting_user) -> None:
    """participants' ``on_anchor_set`` hook: the schedule follows day 0 (system-written, as the
    windows are derived from the protocol, not entered by the acting user)."""
    schedule_visits(participant, deviation_actor=acting_user)
