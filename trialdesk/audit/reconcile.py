"""Does the clinical data still say what the audit trail says it was last set to?

The hash chain proves the trail itself is intact; this proves the clinical rows were not edited
or deleted behind the application's back. Each reconcilable object type is listed once in
`RECONCILERS` (an explicit registry): how to load the rows as they are now, and how the trail's
events for one object fold into what that object should be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trialdesk.audit.models import AuditEvent

State = dict[str, Any]


@dataclass(frozen=True)
class Reconciler:
    load: Callable[[], dict[str, State]]  # object_id → current state
    apply: Callable[[State, AuditEvent], State]  # fold one event into the expected state
    audited_actions: tuple[str, ...]


def _keys(*keys: str) -> Callable[[State, AuditEvent], State]:
    def apply(state: State, event: AuditEvent) -> State:
        new = event.new_value or {}
        return {**state, **{k: new.get(k) for k in keys}}

    return apply


def _item_values() -> dict[str, State]:
    from trialdesk.crfs.models import ItemValue

    return {str(row.pk): row.snapshot() for row in ItemValue.objects.all().iterator()}


def _form_status() -> dict[str, State]:
    from trialdesk.crfs.models import FormInstance

    rows = FormInstance.objects.values_list("pk", "status").iterator()
    return {str(pk): {"status": s} for pk, s in rows}


def _query_status() -> dict[str, State]:
    from trialdesk.crfs.models import Query

    return {
        str(pk): {"status": s} for pk, s in Query.objects.values_list("pk", "status").iterator()
    }


def _query_apply(state: State, event: AuditEvent) -> State:
    if event.action == "create":
        return {"status": "open"}
    return {"status": (event.new_value or {}).get("status")}


def _signatures() -> dict[str, State]:
    from trialdesk.crfs.models import Signature

    return {
        str(s.pk): {
            "valid": s.voided_at is None,
            "content_hash": s.content_hash,
            "printed_name": s.printed_name,
        }
        for s in Signature.objects.all().iterator()
    }


def _signature_apply(state: State, event: AuditEvent) -> State:
    new = event.new_value or {}
    if event.action == "sign":
        return {
            "valid": True,
            "content_hash": new.get("content_hash"),
            "printed_name": new.get("printed_name"),
        }
    return {**state, "valid": False}  # voided


def register(object_type: str, reconciler: Reconciler) -> None:
    """Add one object type's reconciler; each app calls this from its AppConfig.ready()."""
    if object_type in RECONCILERS:
        raise ValueError(f"a reconciler for {object_type} is already registered")
    RECONCILERS[object_type] = reconciler


ITEM_KEYS = ("item", "entered", "entered_unit", "value", "unit", "status")
RECONCILERS: dict[str, Reconciler] = {
    "crfs.itemvalue": Reconciler(_item_values, _keys(*ITEM_KEYS), ("create", "change", "delete")),
    "crfs.forminstance": Reconciler(_form_status, _keys("status"), ("status",)),
    "crfs.query": Reconciler(_query_status, _query_apply, ("create", "status")),
    "crfs.signature": Reconciler(_signatures, _signature_apply, ("sign", "status")),
}


@dataclass(frozen=True)
class Mismatch:
    object_type: str
    object_id: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        at = f"event #{self.seq}" if self.seq else "no event"
        return f"{self.object_type}:{self.object_id} ({at}): {self.problem}"


def _expected(object_type: str, rec: Reconciler) -> dict[str, tuple[State, int]]:
    """object_id → (state the trail says it has, seq of the last event that set it)."""
    out: dict[str, tuple[State, int]] = {}
    qs = AuditEvent.objects.filter(object_type=object_type, action__in=rec.audited_actions)
    for event in qs.order_by("seq").iterator():
        state, _seq = out.get(event.object_id, ({}, 0))
        out[event.object_id] = (rec.apply(state, event), event.seq)
    return out


def reconcile() -> list[Mismatch]:
    problems: list[Mismatch] = []
    for object_type, rec in RECONCILERS.items():
        current = rec.load()
        expected = _expected(object_type, rec)
        for object_id, (want, seq) in expected.items():
            if object_id not in current:
                problems.append(
                    Mismatch(
                        object_type,
                        object_id,
                        seq,
                        "row is missing (deleted outside the application)",
                    )
                )
                continue
            have = {k: current[object_id].get(k) for k in want}
            if want != have:
                diff = ", ".join(
                    f"{k}: audited {want[k]!r}, found {have[k]!r}"
                    for k in want
                    if want[k] != have[k]
                )
                problems.append(
                    Mismatch(
                        object_type,
                        object_id,
                        seq,
                        f"row differs from its last audited value ({diff})",
                    )
                )
        for object_id in current.keys() - expected.keys():
            problems.append(
                Mismatch(
                    object_type,
                    object_id,
                    None,
                    "row has no audit event (written outside the application)",
                )
            )
    return problems
