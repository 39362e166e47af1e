"""The database lock's refusal: while a study's database is locked (an open ``DatabaseLock``),
every action that changes clinical data refuses with the date and who may unlock.

The actions of the lower apps (visits, enrolment, participants, crfs, randomization) carry
``@refused_when_locked("…")``; their first argument is the object acted on (a participant, a
visit, a form, a query, an allocation, a site, an assessment), from which the study is read.
Emergency unblinding, identity views and the lock of single forms stay possible.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: Attribute paths tried, in order, to find the study of the object an action acts on.
_PATHS = (
    ("study_id",),
    ("participant", "study_id"),
    ("form", "participant", "study_id"),
    ("visit", "participant", "study_id"),
)


def study_of(obj: object) -> str | None:
    for path in _PATHS:
        value: Any = obj
        for name in path:
            value = getattr(value, name, None)
            if value is None:
                break
        if value is not None:
            return str(value)
    return None


def open_lock(study_id: str):
    from trialdesk.studies.models import DatabaseLock

    return DatabaseLock.objects.filter(study_id=study_id, unlocked_at__isnull=True).first()


def refuse_when_locked_now(study_id: str | None, doing: str) -> None:
    """Raise ``Refused`` when ``study_id``'s database is locked."""
    from trialdesk.accounts.access import Refused

    if not study_id:
        return
    lock = open_lock(study_id)
    if lock is not None:
        raise Refused(
            f"the database of {study_id} is locked since {lock.locked_at:%Y-%m-%d %H:%M} UTC "
            f"(snapshot {lock.snapshot_id}): no one may {doing}; the data manager unlocks it "
            "with a reason and a signature"
        )


def refused_when_locked(doing: str) -> Callable[[F], F]:
    """Decorate an action whose first argument is the object it changes."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(obj, *args, **kwargs):
            refuse_when_locked_now(study_of(obj), doing)
            return fn(obj, *args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap
