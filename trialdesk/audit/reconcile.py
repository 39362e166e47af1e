"""Does the clinical data still say what the audit trail says it was last set to?

The MAC chain proves the trail itself is intact; this proves the rows were not edited, added or
deleted behind the application's back. Each app lists its tables once, in its own
``reconcilers.py``, and registers them from its ``AppConfig.ready()`` with ``register``: how to
read the rows as they are now, and how the trail's events fold into what each row should be.
Tables that are deliberately not reconciled are named, with the reason, in ``UNRECONCILED``;
a test proves that every model of the trialdesk apps is in one list or the other.

One pass over the events (in sequence order, streamed) folds every registered type at once;
each table's rows are then streamed and compared. Memory grows with the number of objects, not
events; nothing is queried per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from trialdesk.audit.chain import digest
from trialdesk.audit.models import AuditEvent

State = dict[str, Any]
Rows = Mapping[str, State] | Iterable[tuple[str, State]]


@dataclass(frozen=True)
class Reconciler:
    """``load()`` gives the rows as they are now (object id → state, a mapping or an iterator
    of pairs); ``apply(state, event)`` folds one event into the expected state and returns it
    (``None`` or ``{}``: no row is expected); ``events_of`` names the events' object type when
    the rows are audited under another object's events (a signature under its assessment)."""

    load: Callable[[], Rows]
    apply: Callable[[State, AuditEvent], State | None]
    audited_actions: tuple[str, ...]
    events_of: str = ""


RECONCILERS: dict[str, Reconciler] = {}

# Concrete models of the trialdesk apps that no reconciler covers, and why. Everything else an
# action writes must be registered (trialdesk/audit/tests/test_reconcile_registry.py).
UNRECONCILED: dict[str, str] = {
    "studies.study": (
        "a study is named by its protocol: every study's protocol versions are reconciled "
        "(studies.protocolversion); the row adds only the code and title read from that file "
        "(databases migrated from one study have no create event for it)"
    ),
    "audit.auditevent": "the trail itself: checked event by event by the MAC chain",
    "audit.auditchainhead": "the chain's head: checked against the last event by chain.verify",
    "dsmb.rulestate": (
        "a cache of the stopping rules' evaluation, recomputed from the AE forms (reconciled "
        "item by item) at every AE change; each change of a rule's state is audited "
        "(dsmb.rule_state) and every pause it opens is reconciled (dsmb.pause)"
    ),
    "participants.identity": (
        "Fernet ciphertext, authenticated with the PII key (an edited row does not decrypt); "
        "its writes are audited on the participant without the data"
    ),
}


def exempt(object_type: str, reason: str) -> None:
    """Name a table that is deliberately not reconciled, with the reason (from the owning
    app's AppConfig.ready(), as ``register``)."""
    if not reason.strip():
        raise ValueError(f"say why {object_type} is not reconciled")
    if object_type in UNRECONCILED:
        raise ValueError(f"{object_type} is already exempt")
    UNRECONCILED[object_type] = reason


def register(object_type: str, reconciler: Reconciler) -> None:
    """Add one object type's reconciler; each app calls this from its AppConfig.ready()."""
    if object_type in RECONCILERS:
        raise ValueError(f"a reconciler for {object_type} is already registered")
    RECONCILERS[object_type] = reconciler


# ---------------------------------------------------------------- helpers for reconcilers
def new_of(event: AuditEvent) -> dict:
    return event.new_value if isinstance(event.new_value, dict) else {}


def keys(*names: str) -> Callable[[State, AuditEvent], State]:
    """Every event sets these keys from its new value (absent → None)."""

    def apply(state: State, event: AuditEvent) -> State:
        new = new_of(event)
        return {**state, **{k: new.get(k) for k in names}}

    return apply


def merge(*names: str, normalise: Callable[[str, Any], Any] | None = None):
    """Each event sets those of these keys that its new value carries (older events may carry
    fewer keys: what they do not say is not checked)."""

    def apply(state: State, event: AuditEvent) -> State:
        new = new_of(event)
        found = {k: new[k] for k in names if k in new}
        if normalise:
            found = {k: normalise(k, v) for k, v in found.items()}
        return {**state, **found}

    return apply


def instant(value: Any) -> str | None:
    """A point in time as the trail stores it (UTC, milliseconds), from a row or an event."""
    if value in (None, ""):
        return None
    when = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if when is None:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def day(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    parsed = parse_date(str(value))
    return parsed.isoformat() if parsed else str(value)


def number(value: Any) -> str | None:
    """Decimals compared by value: '10', '10.0' and Decimal('10.0') are the same volume."""
    if value in (None, ""):
        return None
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except InvalidOperation:
        return str(value)


def keyed(kind: str, object_id: Any, value: Any) -> str:
    """A blinded value (arm, lot) as the trail carries it: a keyed digest, never the value."""
    return digest(kind, object_id, value)


# ---------------------------------------------------------------------------- reconciling
@dataclass(frozen=True)
class Mismatch:
    object_type: str
    object_id: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        at = f"event #{self.seq}" if self.seq else "no event"
        return f"{self.object_type}:{self.object_id} ({at}): {self.problem}"


def _fold() -> dict[str, dict[str, tuple[State | None, int]]]:
    """One streamed pass over the events: per registered type, object id → (expected, seq)."""
    by_event_type: dict[str, list[tuple[str, Reconciler]]] = {}
    for name, rec in RECONCILERS.items():
        by_event_type.setdefault(rec.events_of or name, []).append((name, rec))
    expected: dict[str, dict[str, tuple[State | None, int]]] = {n: {} for n in RECONCILERS}
    events = AuditEvent.objects.filter(object_type__in=list(by_event_type)).order_by("seq")
    for event in events.iterator(chunk_size=2000):
        for name, rec in by_event_type[event.object_type]:
            if event.action not in rec.audited_actions:
                continue
            out = expected[name]
            state, _seq = out.get(event.object_id, ({}, 0))
            out[event.object_id] = (rec.apply(state or {}, event), event.seq)
    return expected


def _rows(rec: Reconciler) -> Iterable[tuple[str, State]]:
    loaded = rec.load()
    return loaded.items() if isinstance(loaded, Mapping) else loaded


def _compare(name: str, object_id: str, want: State, seq: int, have: State) -> Mismatch | None:
    found = {k: have.get(k) for k in want}
    if want == found:
        return None
    diff = ", ".join(
        f"{k}: audited {want[k]!r}, found {found[k]!r}" for k in want if want[k] != found[k]
    )
    return Mismatch(name, object_id, seq, f"row differs from its last audited value ({diff})")


def reconcile() -> list[Mismatch]:
    problems: list[Mismatch] = []
    expected = _fold()
    for name, rec in RECONCILERS.items():
        wanted = expected[name]
        for object_id, have in _rows(rec):
            object_id = str(object_id)
            want, seq = wanted.pop(object_id, (None, 0))
            if not want:
                problems.append(
                    Mismatch(
                        name,
                        object_id,
                        None,
                        "row has no audit event (written outside the application)",
                    )
                )
                continue
            mismatch = _compare(name, object_id, want, seq, have)
            if mismatch:
                problems.append(mismatch)
        for object_id, (want, seq) in wanted.items():
            if want:
                problems.append(
                    Mismatch(
                        name, object_id, seq, "row is missing (deleted outside the application)"
                    )
                )
    return problems
