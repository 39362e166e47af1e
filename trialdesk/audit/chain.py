"""Appending to and verifying the MAC chain.

Each event's ``hash`` column holds HMAC-SHA256 (64 hex) over the event's fields and the previous
event's MAC, keyed by ``settings.AUDIT_KEY``. The key lives outside the database (environment or
a 0600 file), so someone who can only write the database cannot forge or re-chain events.
The head row records the scheme and a fingerprint of the key (never the key) so that verifying
with another key reports "wrong key" instead of a tampered first event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

import trialdesk
from trialdesk.audit.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
SCHEME = "hmac-sha256"
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


def _key() -> bytes:
    key = settings.AUDIT_KEY
    return key.encode() if isinstance(key, str) else key


def key_fingerprint(key: bytes | None = None) -> str:
    """Names the key without revealing it (a MAC of a fixed label, 16 hex)."""
    return hmac.new(key or _key(), b"trialdesk audit key fingerprint", "sha256").hexdigest()[:16]


def legacy_mac(legacy_until_seq: int) -> str:
    """Binds the boundary of the pre-key events to the key (written by migration audit.0004)."""
    label = f"trialdesk audit legacy until {legacy_until_seq}".encode()
    return hmac.new(_key(), label, "sha256").hexdigest()


def single_study_mac(study: str, until_seq: int) -> str:
    """Binds "events #1-#N belong to the one study the deployment held" to the key (audit.0006)."""
    label = f"trialdesk audit single study {study} until {until_seq}".encode()
    return hmac.new(_key(), label, "sha256").hexdigest()


def canonical(fields: dict[str, Any]) -> bytes:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    # The study is covered by the MAC whenever an event has one. Events without one (written
    # before studies were scoped, or deployment-wide: logins, accounts) hash as they always
    # did, so the chain written before several studies per deployment still verifies.
    if fields.get("study_code"):
        payload["study_code"] = fields["study_code"]
    when = payload["occurred_at"]
    if isinstance(when, dt.datetime):
        payload["occurred_at"] = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return text.encode()


def event_hash(fields: dict[str, Any], *, legacy: bool = False) -> str:
    """HMAC-SHA256 of the event (plain SHA-256 only for events written before the key)."""
    if legacy:
        return hashlib.sha256(canonical(fields)).hexdigest()
    return hmac.new(_key(), canonical(fields), "sha256").hexdigest()


def digest(kind: str, object_id: Any, value: Any) -> str:
    """A keyed digest of a value that some readers of the trail must not see (an arm, a lot).

    Bound to one object, so equal values of two objects give different digests, and useless
    without the audit key; reconcilers compare it with the row without revealing the value.
    """
    message = json.dumps([kind, str(object_id), value], cls=DjangoJSONEncoder).encode()
    return hmac.new(_key(), b"value:" + message, "sha256").hexdigest()[:32]


def append(
    *,
    action: str,
    actor=None,
    role: str = "",
    site_code: str = "",
    study_code: str = "",
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
    _check_key(head)
    now = dt.datetime.now(dt.UTC)
    fields = {
        "seq": head.last_seq + 1,
        "occurred_at": now,
        "actor_id": getattr(actor, "pk", None),
        "actor_username": getattr(actor, "username", "") or "",
        "role": role,
        "site_code": site_code,
        "study_code": study_code,
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
    AuditChainHead.objects.filter(id=1).update(
        last_seq=event.seq, last_hash=event.hash, key_fingerprint=key_fingerprint(), scheme=SCHEME
    )
    return event


class WrongAuditKey(RuntimeError):
    """The configured audit key is not the one the chain was written with."""


def _check_key(head: AuditChainHead) -> None:
    """Refuse to fork the chain with another key (a mis-set TRIALDESK_AUDIT_KEY)."""
    ours = key_fingerprint()
    if head.key_fingerprint and head.key_fingerprint != ours:
        raise WrongAuditKey(
            f"the audit chain is keyed with key {head.key_fingerprint}, but TRIALDESK_AUDIT_KEY "
            f"is key {ours}: set the key the chain was written with"
        )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    key: str = ""
    legacy_until_seq: int = 0

    def summary(self) -> str:
        if self.ok:
            legacy = (
                f"; events #1-#{self.legacy_until_seq} predate the key (plain SHA-256)"
                if self.legacy_until_seq
                else ""
            )
            return (
                f"audit trail intact: {self.events_checked} events, chain verified "
                f"({SCHEME}, key {self.key}){legacy}"
            )
        if self.first_bad_seq is None:
            return f"audit trail NOT verified: {self.problem}"
        return f"audit trail BROKEN at event #{self.first_bad_seq}: {self.problem}"


def _stored_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in (*HASHED_FIELDS, "study_code")}


def iter_events(batch: int = 2000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _head_problem(head: AuditChainHead | None, ours: str) -> VerifyResult | None:
    if head is None:
        if AuditEvent.objects.exists():
            return VerifyResult(False, 0, 1, "the chain head row is missing (deleted)", ours)
        return None
    if head.scheme != SCHEME:
        return VerifyResult(
            False, 0, None, f"the chain head names scheme {head.scheme!r}, expected {SCHEME}", ours
        )
    if head.key_fingerprint and head.key_fingerprint != ours:
        return VerifyResult(
            False,
            0,
            None,
            f"wrong key: the chain was written with key {head.key_fingerprint}, "
            f"TRIALDESK_AUDIT_KEY is key {ours}; nothing was checked",
            ours,
        )
    if head.legacy_until_seq and not hmac.compare_digest(
        head.legacy_mac, legacy_mac(head.legacy_until_seq)
    ):
        return VerifyResult(
            False,
            0,
            None,
            f"the chain head says events #1-#{head.legacy_until_seq} predate the key, but that "
            "boundary was not set with the key (altered to pass off re-hashed events)",
            ours,
        )
    if head.single_study_until_seq and not hmac.compare_digest(
        head.single_study_mac, single_study_mac(head.single_study, head.single_study_until_seq)
    ):
        return VerifyResult(
            False,
            0,
            None,
            f"the chain head says events #1-#{head.single_study_until_seq} belong to study "
            f"{head.single_study!r}, but that was not set with the key (altered)",
            ours,
        )
    return None


def verify() -> VerifyResult:
    """Recompute the chain; report the first event that is altered, forged, missing or out of
    place, and a head that does not match the last event."""
    ours = key_fingerprint()
    head = AuditChainHead.objects.filter(id=1).first()
    refused = _head_problem(head, ours)
    if refused:
        return refused
    legacy_until = head.legacy_until_seq if head else 0
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for event in iter_events():
        if event.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                expected_seq,
                f"event #{expected_seq} is missing (next is #{event.seq})",
                ours,
            )
        if event.prev_hash != expected_prev:
            return VerifyResult(
                False, count, event.seq, "prev_hash does not match the previous event's MAC", ours
            )
        legacy = event.seq <= legacy_until
        if not hmac.compare_digest(event_hash(_stored_fields(event), legacy=legacy), event.hash):
            return VerifyResult(
                False,
                count,
                event.seq,
                "content does not match its MAC (altered, or forged without the audit key)",
                ours,
            )
        expected_prev, expected_seq, count = event.hash, expected_seq + 1, count + 1
    if head and head.last_seq != count:
        return VerifyResult(
            False,
            count,
            count + 1,
            f"chain head says {head.last_seq} events, found {count}",
            ours,
        )
    if head and head.last_hash != expected_prev:
        return VerifyResult(
            False,
            count,
            count,
            f"chain head's stored MAC does not match event #{count} (head altered)",
            ours,
        )
    return VerifyResult(True, count, key=ours, legacy_until_seq=legacy_until)
