"""What `trialdesk audit verify` compares for participants (registered in ParticipantsConfig)."""

from __future__ import annotations

from collections.abc import Iterator

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.reconcile import Reconciler, State, day, new_of, register
from trialdesk.participants.models import Participant


def _participants() -> Iterator[tuple[int, State]]:
    rows = Participant.objects.values_list(
        "pk", "subject_id", "status", "site__code", "anchor_date"
    )
    for pk, subject_id, status, site, anchor in rows.iterator(chunk_size=2000):
        yield (
            pk,
            {"study_id": subject_id, "status": status, "site": site, "anchor_date": day(anchor)},
        )


def _participant_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    if event.action == "create":
        # The site is the one the participant was registered at (the event's own site).
        return {
            "study_id": new.get("study_id"),  # the audit payload has always named it so
            "status": new.get("status"),
            "site": event.site_code,
            "anchor_date": None,
        }
    if event.action == "status":
        return {**state, "status": new.get("status")}
    if "anchor_date" in new:
        return {**state, "anchor_date": day(new["anchor_date"])}
    return state


def register_all() -> None:
    register(
        "participants.participant",
        Reconciler(_participants, _participant_apply, ("create", "status", "change")),
    )
