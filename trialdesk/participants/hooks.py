"""How higher apps complete what participants does, without participants importing them.

participants sits below visits, crfs, enrolment and randomization (docs/architecture.md). Two
things it does need their help for, and they plug in here from their ``AppConfig.ready()``:

- ``on_created`` / ``on_anchor_set``: called inside the action's transaction after a participant
  is created or day 0 is set (visits fills both: it creates and schedules the visits);
- ``withdrawal_source``: returns the participant's latest withdrawal of consent (enrolment fills
  it: the withdrawal is recorded against the consent it withdraws); ``participants.withdrawal``
  applies the rule data capture must respect.

Each hook is set once; setting it twice is an error (an app registered twice is a bug).
"""

from __future__ import annotations

from collections.abc import Callable

ParticipantHook = Callable[..., object]

on_created: list[ParticipantHook] = []
on_anchor_set: list[ParticipantHook] = []
_withdrawal_source: list[Callable] = []


def _add(hooks: list, fn: Callable) -> None:
    if fn in hooks:
        raise ValueError(f"{fn.__module__}.{fn.__qualname__} is already registered")
    hooks.append(fn)


def register_on_created(fn: ParticipantHook) -> None:
    """``fn(participant, acting_user)`` runs after a participant is created (same transaction)."""
    _add(on_created, fn)


def register_on_anchor_set(fn: ParticipantHook) -> None:
    """``fn(participant, acting_user)`` runs after day 0 is set or changed (same transaction)."""
    _add(on_anchor_set, fn)


def register_withdrawal_source(fn: Callable) -> None:
    """``fn(participant)`` returns the latest withdrawal (``.scope``, ``.withdrawn_at``,
    ``.get_scope_display()``) or None. Exactly one app provides it."""
    if _withdrawal_source:
        raise ValueError("a withdrawal source is already registered")
    _withdrawal_source.append(fn)


def latest_withdrawal(participant):
    if not _withdrawal_source:
        raise RuntimeError("no withdrawal source registered (is trialdesk.enrolment installed?)")
    return _withdrawal_source[0](participant)


def run(hooks: list[ParticipantHook], participant, acting_user) -> None:
    for fn in hooks:
        fn(participant, acting_user)
