"""Appending to and verifying the hash chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

import trialdesk
from trialdesk.audit.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_username",
    "role",
    "site_code",
    "action",
    "object_type",
    "object_id",
    "participant",
    "old_value",
    "new_value",
    "reason",
    "software_version",
    "prev_hash",
)


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so the stored value and the hashed value are the same thing."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))


def event_hash(fields: dict[str, Any]) -> str:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    when = payload["occurred_at"]
    if isinstance(when, dt.datetime):
        payload["occurred_at"] = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def append(
    *,
    action: str,
    actor=None,
    role: str = "",
    site_code: str = "",
    object_type: str = "",
    object_id: str | int = "",
    participant: str = "",
    old: Any = None,
    new: Any = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event. Must run inside the caller's transaction (the action's)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the action's transaction")
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    now = dt.datetime.now(dt.UTC)
    fields = {
        "seq": head.last_seq + 1,
        "occurred_at": now,
        "actor_id": getattr(actor, "pk", None),
        "actor_username": getattr(actor, "username", "") or "",
        "role": role,
        "site_code": site_code,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "participant": participant,
        "old_value": _jsonable(old),
        "new_value": _jsonable(new),
        "reason": reason,
        "software_version": trialdesk.__version__,
        "prev_hash": head.last_hash,
    }
    fields["hash"] = event_hash(fields)
    event = AuditEvent.objects.create(**fields)
    AuditChainHead.objects.filter(id=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_seq: int | None = None
    problem: str = ""

    def summary(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.events_checked} events, chain verified"
        return f"audit trail BROKEN at event #{self.first_bad_seq}: {self.problem}"


def _stored_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def iter_events(batch: int = 2000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify() -> VerifyResult:
    """Recompute the chain; report the first event that is altered, missing or out of place."""
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for event in iter_events():
        if event.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                expected_seq,
                f"event #{expected_seq} is missing (next is #{event.seq})",
            )
        if event.prev_hash != expected_prev:
            return VerifyResult(
                False, count, event.seq, "prev_hash does not match the previous event's hash"
            )
        if event_hash(_stored_fields(event)) != event.hash:
            return VerifyResult(
                False, count, event.seq, "content does not match its hash (altered)"
            )
        expected_prev, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head and head.last_seq != count:
        return VerifyResult(
            False, count, count + 1, f"chain head says {head.last_seq} events, found {count}"
        )
    return VerifyResult(True, count)
