"""Does the clinical data still say what the audit trail says it was last set to?

The hash chain proves the trail itself is intact; this proves the clinical rows were not edited
or deleted behind the application's back. Each reconcilable object type is listed once in
`RECONCILERS` (an explicit registry): how to load the rows and what the trail recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trialdesk.audit.models import AuditEvent


@dataclass(frozen=True)
class Reconciler:
    load: Callable[[], dict[str, object]]  # object_id → current snapshot
    snapshot_keys: tuple[str, ...]
    audited_actions: tuple[str, ...] = ("create", "change", "delete")


def _item_values() -> dict[str, object]:
    from trialdesk.crfs.models import ItemValue

    return {str(row.pk): row.snapshot() for row in ItemValue.objects.all().iterator()}


def _form_status() -> dict[str, object]:
    from trialdesk.crfs.models import FormInstance

    return {
        str(pk): {"status": s}
        for pk, s in FormInstance.objects.values_list("pk", "status").iterator()
    }


RECONCILERS: dict[str, Reconciler] = {
    "crfs.itemvalue": Reconciler(
        _item_values, ("item", "entered", "entered_unit", "value", "unit", "status")
    ),
    "crfs.forminstance": Reconciler(_form_status, ("status",), ("status",)),
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


def _last_recorded(object_type: str, actions) -> dict[str, AuditEvent]:
    last: dict[str, AuditEvent] = {}
    qs = AuditEvent.objects.filter(object_type=object_type, action__in=actions).order_by("seq")
    for event in qs.iterator():
        last[event.object_id] = event
    return last


def reconcile() -> list[Mismatch]:
    problems: list[Mismatch] = []
    for object_type, rec in RECONCILERS.items():
        current = rec.load()
        recorded = _last_recorded(object_type, rec.audited_actions)
        for object_id, event in recorded.items():
            if object_id not in current:
                problems.append(
                    Mismatch(
                        object_type,
                        object_id,
                        event.seq,
                        "row is missing (deleted outside the application)",
                    )
                )
                continue
            want = {k: (event.new_value or {}).get(k) for k in rec.snapshot_keys}
            have = {k: current[object_id].get(k) for k in rec.snapshot_keys}
            if want != have:
                diff = ", ".join(
                    f"{k}: audited {want[k]!r}, found {have[k]!r}"
                    for k in rec.snapshot_keys
                    if want[k] != have[k]
                )
                problems.append(
                    Mismatch(
                        object_type,
                        object_id,
                        event.seq,
                        f"row differs from its last audited value ({diff})",
                    )
                )
        for object_id in current.keys() - recorded.keys():
            problems.append(
                Mismatch(
                    object_type,
                    object_id,
                    None,
                    "row has no audit event (written outside the application)",
                )
            )
    return problems
