"""Protocol deviations of the schedule: data of a visit dated outside its window.

A deviation is kept, not refused: the data are saved and a ``visits.deviation`` audit event
records the visit, the date, the window and the days early or late (``window_facts``), with the
form and item when a form's date caused it. The deviation log (desk) lists them. Used inside
the caller's action: by a form save (crfs) and by a schedule move (``services``: day 0 set
after a visit was dated).
"""

from __future__ import annotations

import datetime as dt

from trialdesk.accounts.access import role_at
from trialdesk.audit.actions import record
from trialdesk.visits.models import Visit


def window_problem(visit: Visit, day: dt.date) -> str:
    """Why ``day`` is outside the visit's window ("" when inside, or the visit has none)."""
    if visit.earliest_date is None or visit.latest_date is None:
        return ""
    if visit.earliest_date <= day <= visit.latest_date:
        return ""
    return (
        f"{day:%Y-%m-%d} is outside visit {visit.code}'s window "
        f"({visit.earliest_date:%Y-%m-%d} to {visit.latest_date:%Y-%m-%d})"
    )


def window_facts(visit: Visit, day: dt.date) -> dict:
    """The structured part of an out-of-window deviation (read by the deviation log)."""
    return {
        "type": "out_of_window",
        "date": day,
        "earliest": visit.earliest_date,
        "latest": visit.latest_date,
        "days_early": max(0, (visit.earliest_date - day).days),
        "days_late": max(0, (day - visit.latest_date).days),
    }


def record_deviation(
    visit: Visit, acting_user, *, what: str, reason: str, facts: dict | None = None
) -> None:
    """A protocol deviation (e.g. data of a visit dated outside its window), in the audit
    trail under ``visits.deviation``, inside the caller's action. ``facts`` are its structured
    fields (``window_facts``: type, date, window, days early or late; the form and item)."""
    record(
        "create",
        actor=acting_user,
        role=role_at(acting_user, visit.participant.site),
        site=visit.participant.site,
        object_type="visits.deviation",
        object_id=f"visit:{visit.pk}",
        participant=visit.participant.subject_id,
        new={"visit": visit.code, "deviation": what, **(facts or {})},
        reason=reason or "recorded when the data were saved",
    )
