"""What `trialdesk audit verify` compares for randomization (registered in its AppConfig).

The arm (of an allocation and of its slot) and a preparation's lot are blinded: the trail
carries them as keyed digests (``audit.actions.blinded``), and the rows are compared through the
same digest, so neither the trail nor this comparison shows them to a blinded reader.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.reconcile import (
    Reconciler,
    State,
    instant,
    keyed,
    merge,
    new_of,
    number,
    register,
)
from trialdesk.randomization.models import (
    Allocation,
    Dosing,
    Preparation,
    RandomizationList,
    Slot,
    Unblinding,
)


def _lists() -> Iterator[tuple[int, State]]:
    rows = RandomizationList.objects.annotate(n=Count("slots")).values_list(
        "pk", "method", "source", "n"
    )
    for pk, method, source, n in rows.iterator():
        yield pk, {"method": method, "source": source, "slots": n}


def _allocations() -> Iterator[tuple[int, State]]:
    rows = Allocation.objects.values_list(
        "pk",
        "randomization_number",
        "kit_code",
        "arm",
        "participant__subject_id",
        "allocated_by_id",
    )
    for pk, number_, kit, arm, subject_id, by in rows.iterator(chunk_size=2000):
        yield (
            pk,
            {
                "randomization_number": number_,
                "kit_code": kit,
                "arm": keyed("arm", pk, arm),
                "participant": subject_id,
                "allocated_by": by,
            },
        )


def _allocation_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    want = {
        "randomization_number": new.get("randomization_number"),
        "kit_code": new.get("kit_code"),
        "participant": event.participant,
        "allocated_by": event.actor_id,
    }
    if "arm_digest" in new:
        want["arm"] = new["arm_digest"]
    return want


def _slots() -> Iterator[tuple[str, State]]:
    """Used slots, keyed by their allocation (a used slot without one has no event)."""
    rows = Slot.objects.filter(Q(used=True) | Q(allocation__isnull=False)).values_list(
        "pk", "allocation__id", "arm", "used", "kit_code", "randomization_number"
    )
    for pk, allocation, arm, used, kit, number_ in rows.iterator(chunk_size=2000):
        key = str(allocation) if allocation else f"unallocated slot {pk}"
        yield (
            key,
            {
                "arm": keyed("arm", allocation, arm),
                "used": used,
                "kit_code": kit,
                "randomization_number": number_,
            },
        )


def _slot_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    want = {
        "used": True,
        "kit_code": new.get("kit_code"),
        "randomization_number": new.get("randomization_number"),
    }
    if "arm_digest" in new:
        want["arm"] = new["arm_digest"]
    return want


def _unblindings() -> Iterator[tuple[int, State]]:
    rows = Unblinding.objects.values_list(
        "pk",
        "status",
        "requested_by_id",
        "reason",
        "approved_by_id",
        "rejected_by_id",
        "allocation__randomization_number",
    )
    for pk, status, by, reason, approved, rejected, number_ in rows.iterator(chunk_size=2000):
        yield (
            pk,
            {
                "status": status,
                "requested_by": by,
                "reason": reason,
                "decided_by": approved or rejected,
                "randomization_number": number_,
            },
        )


def _unblinding_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    if not state:  # the request (revealed at once, or pending)
        return {
            "status": new.get("status"),
            "requested_by": event.actor_id,
            "reason": event.reason,
            "randomization_number": new.get("randomization_number"),
        }
    return {**state, "status": new.get("status"), "decided_by": event.actor_id}


def _preparations() -> Iterator[tuple[int, State]]:
    rows = Preparation.objects.values_list(
        "pk", "allocation__kit_code", "volume_ml", "prepared_at", "lot", "prepared_by_id"
    )
    for pk, kit, volume, at, lot, by in rows.iterator(chunk_size=2000):
        yield (
            pk,
            {
                "kit_code": kit,
                "volume_ml": number(volume),
                "prepared_at": instant(at),
                "lot": keyed("lot", pk, lot),
                "prepared_by": by,
            },
        )


def _preparation_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    want = {
        "kit_code": new.get("kit_code"),
        "volume_ml": number(new.get("volume_ml")),
        "prepared_at": instant(new.get("prepared_at")),
        "prepared_by": event.actor_id,
    }
    if "lot_digest" in new:
        want["lot"] = new["lot_digest"]
    return want


DOSING_FLAGS = ("infusion_reaction", "ae_reference")


def _dosings() -> Iterator[tuple[int, State]]:
    rows = Dosing.objects.values_list(
        "pk",
        "preparation__allocation__kit_code",
        "route",
        "volume_ml",
        "started_at",
        "stopped_at",
        "infusion_reaction",
        "ae_reference",
        "participant__subject_id",
    )
    for pk, kit, route, volume, start, stop, reaction, ae, subject_id in rows.iterator(
        chunk_size=2000
    ):
        yield (
            pk,
            {
                "kit_code": kit,
                "route": route,
                "volume_ml": number(volume),
                "started_at": instant(start),
                "stopped_at": instant(stop),
                "infusion_reaction": reaction,
                "ae_reference": ae,
                "participant": subject_id,
            },
        )


def _dosing_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    return {
        "kit_code": new.get("kit_code"),
        "route": new.get("route"),
        "volume_ml": number(new.get("volume_ml")),
        "started_at": instant(new.get("started_at")),
        "stopped_at": instant(new.get("stopped_at")),
        **{k: new[k] for k in DOSING_FLAGS if k in new},
        "participant": event.participant,
    }


def register_all() -> None:
    register(
        "randomization.randomizationlist",
        Reconciler(_lists, merge("method", "source", "slots"), ("create",)),
    )
    register(
        "randomization.allocation", Reconciler(_allocations, _allocation_apply, ("randomize",))
    )
    register(
        "randomization.slot",
        Reconciler(_slots, _slot_apply, ("randomize",), events_of="randomization.allocation"),
    )
    register(
        "randomization.unblinding",
        Reconciler(_unblindings, _unblinding_apply, ("create", "unblind", "status")),
    )
    register(
        "randomization.preparation", Reconciler(_preparations, _preparation_apply, ("create",))
    )
    register("randomization.dosing", Reconciler(_dosings, _dosing_apply, ("create",)))
