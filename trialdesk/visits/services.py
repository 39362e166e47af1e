"""Schedule generation. Not actions: these run inside the caller's action transaction."""

from __future__ import annotations

import datetime as dt

from trialdesk.audit.actions import record
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


def _ensure(participant, spec, sequence: int, acting_user) -> bool:
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


def schedule_visits(participant, acting_user=None) -> int:
    """Create every scheduled visit with its target date and window (idempotent).

    Called inside another action's transaction once `participant.anchor_date` is set; a changed
    anchor moves the windows of all visits (each move audited). Returns how many rows changed.
    """
    changed = 0
    for sequence, spec in enumerate(protocol_visits(participant)):
        if spec.scheduled and spec.day is not None:
            changed += _ensure(participant, spec, sequence, acting_user)
    return changed


def schedule_on_anchor(participant, acting_user) -> None:
    """participants' ``on_anchor_set`` hook: the schedule follows day 0 (system-written, as the
    windows are derived from the protocol, not entered by the acting user)."""
    schedule_visits(participant)
