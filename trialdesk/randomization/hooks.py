"""Gates that higher apps put before randomization and dosing (docs/architecture.md).

``register_gate(fn)``: ``fn(participant, what)`` with ``what`` one of ``"randomize"``,
``"prepare"``, ``"dose"`` returns None to let the action go on, or the message that refuses it
(e.g. the DSMB app: "enrolment paused by the safety rule …; a DSMB decision is required"). The
message is shown to blinded staff: it must not tell an arm. Gates run inside the action's
transaction, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable

Gate = Callable[..., "str | None"]

gates: list[Gate] = []


def register_gate(fn: Gate) -> None:
    if fn in gates:
        raise ValueError(f"{fn.__module__}.{fn.__qualname__} is already registered")
    gates.append(fn)


def refusal(participant, what: str) -> str | None:
    """The first gate's refusal, or None when every gate lets ``what`` go on."""
    for fn in gates:
        message = fn(participant, what)
        if message:
            return message
    return None
