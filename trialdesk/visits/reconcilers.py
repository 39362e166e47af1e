"""What `trialdesk audit verify` compares for visits (registered in VisitsConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterator

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.reconcile import Reconciler, State, day, new_of, register
from trialdesk.visits.models import Visit

DATE_KEYS = ("target_date", "earliest_date", "latest_date", "actual_date")


def _visits() -> Iterator[tuple[int, State]]:
    rows = Visit.objects.values_list("pk", "code", *DATE_KEYS, "missed")
    for pk, code, *dates, missed in rows.iterator(chunk_size=2000):
        yield (
            pk,
            {
                "visit": code,
                **{k: day(v) for k, v in zip(DATE_KEYS, dates, strict=True)},
                "missed": missed,
            },
        )


def _visit_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    base = {"actual_date": None, "missed": False} if event.action == "create" else {}
    found = {k: day(new[k]) for k in DATE_KEYS if k in new}
    if "missed" in new:
        found["missed"] = bool(new["missed"])
    if "visit" in new:
        found["visit"] = new["visit"]
    return {**state, **base, **found}


def register_all() -> None:
    register("visits.visit", Reconciler(_visits, _visit_apply, ("create", "change", "status")))
