"""The withdrawal rule every app that touches a participant respects.

A participant who withdraws consent chooses a scope; from the moment of withdrawal that scope
forbids activities: ``visit`` (procedures, samples, dosing), ``data`` (any new eCRF value),
``sample_use`` (analysing stored samples), ``randomize`` and ``dose``. The rule lives with the
participant because data capture (visits, crfs), enrolment and randomization all obey it; the
withdrawal record itself is kept by enrolment and read through ``hooks.latest_withdrawal``.
"""

from __future__ import annotations

from django.utils import timezone

from trialdesk.participants import hooks

#: What each withdrawal scope (enrolment's ``Withdrawal.Scope`` values) forbids from then on.
FORBIDDEN_AFTER = {
    "no_further_visits": {"visit", "randomize", "dose"},
    "no_further_data": {"visit", "randomize", "dose", "data"},
    "destroy_samples": {"visit", "randomize", "dose", "data", "sample_use"},
}
ACTIVITIES = frozenset().union(*FORBIDDEN_AFTER.values())


class ConsentError(PermissionError):
    """The participant's consent does not cover what was asked; the message says why."""


def check_activity(activity: str) -> None:
    if activity not in ACTIVITIES:
        raise ValueError(f"unknown activity {activity!r}; known: {', '.join(sorted(ACTIVITIES))}")


def refuse_after_withdrawal(participant, activity: str, on_date=None) -> None:
    """ConsentError if an active withdrawal forbids ``activity`` on ``on_date`` (default: now).

    Unlike enrolment's require_consent this does not demand a consent record (screening data
    may be entered while consent is being recorded); it only enforces withdrawal: what was
    collected before the withdrawal may still be entered, nothing after it.
    """
    check_activity(activity)
    withdrawal = hooks.latest_withdrawal(participant)
    if withdrawal is None or activity not in FORBIDDEN_AFTER[withdrawal.scope]:
        return
    withdrawn_on = timezone.localdate(withdrawal.withdrawn_at)
    if on_date is not None and on_date < withdrawn_on:
        return
    raise ConsentError(
        f"{participant.subject_id} withdrew consent on {withdrawn_on:%Y-%m-%d} "
        f"({withdrawal.get_scope_display()}): {activity.replace('_', ' ')} is not allowed"
    )
