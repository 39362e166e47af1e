"""Allocation: the next slot of the participant's stratum, under a row lock
(docs/security/randomization.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import require_at
from trialdesk.audit.actions import blinded, record
from trialdesk.core.randomization import (
    level_counts,
    minimization_assign,
)
from trialdesk.crfs.actions.sourced import fill_from_record
from trialdesk.enrolment import services as enrolment
from trialdesk.enrolment.models import ScreeningEntry
from trialdesk.participants.actions import set_status
from trialdesk.participants.models import Participant
from trialdesk.randomization import hooks, services
from trialdesk.randomization.actions.common import (
    RANDOMIZERS,
    AlreadyRandomized,
    RandomizationError,
)
from trialdesk.randomization.actions.lists import spec_of
from trialdesk.randomization.models import (
    Allocation,
    RandomizationList,
    Slot,
)
from trialdesk.studies.locking import refused_when_locked
from trialdesk.studies.registry import get_protocol


@refused_when_locked("randomize")
def do_randomize_participant(
    participant: Participant, acting_user, *, reason: str = ""
) -> Allocation:
    """Allocate the next slot of the participant's stratum (see module docstring)."""
    role = require_at(acting_user, RANDOMIZERS, participant.site, "randomize participants")
    p = get_protocol(participant)
    with transaction.atomic(durable=True):
        rlist = (
            RandomizationList.objects.select_for_update()
            .filter(study_id=participant.study_id, active=True)
            .first()
        )
        if rlist is None:
            raise RandomizationError(
                "no randomization list is active: ask the unblinded statistician"
            )
        if rlist.source == rlist.Source.TEST_SEED and not settings.RANDOMIZATION_TEST_SEEDS:
            raise RandomizationError(
                "the active list was made from a typed test seed and the reproducible-test "
                "mode is off: a live study needs a list whose seed the system drew"
            )
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        existing = Allocation.objects.filter(participant=locked).first()
        if existing:
            raise AlreadyRandomized(existing)
        stopped = hooks.refusal(locked, "randomize")  # e.g. paused by a safety rule
        if stopped:
            raise RandomizationError(stopped)
        # Eligibility and stratum come from the same snapshot the allocation is made in.
        values = enrolment.participant_values(locked)
        reasons = enrolment.readiness(locked, values=values)
        try:
            levels = services.factor_levels(p, locked, values)
        except services.StratumUnknown as exc:
            reasons.append(str(exc))
        if reasons:
            raise enrolment.NotReady(reasons)
        slot, arm = _next_slot(rlist, levels)
        allocation = Allocation.objects.create(
            participant=locked,
            slot=slot,
            stratum=slot.stratum,
            randomization_number=slot.randomization_number,
            kit_code=slot.kit_code,
            arm=arm,
            factor_levels=levels,
            allocated_at=timezone.now(),
            allocated_by=acting_user,
        )
        Slot.objects.filter(pk=slot.pk).update(used=True, arm=arm)
        record(
            "randomize",
            actor=acting_user,
            role=role,
            site=locked.site,
            obj=allocation,
            participant=locked.subject_id,
            # Nothing of the list's order (stratum slot sequence, list hash): blinded roles
            # read this event.
            new={
                "randomization_number": slot.randomization_number,
                "kit_code": slot.kit_code,
                "arm_digest": blinded("arm", allocation, arm),
            },
            reason=reason or "randomized",
        )
        set_status(locked, Participant.Status.ENROLLED, acting_user, reason="randomized")
        fill_from_record(
            locked,
            "allocation",
            {
                "randomization_number": allocation.randomization_number,
                "kit_code": allocation.kit_code,
                "allocated_at": allocation.allocated_at,
            },
            acting_user,
            role,
            reason=f"randomized as {allocation.randomization_number}",
        )
        ScreeningEntry.objects.filter(participant=locked).update(
            outcome=ScreeningEntry.Outcome.ENROLLED, closed_at=timezone.now()
        )
    participant.status = locked.status
    return allocation


def _next_slot(rlist: RandomizationList, levels: dict[str, str]) -> tuple[Slot, str]:
    if rlist.method == "minimization":
        slot = rlist.slots.filter(used=False).order_by("sequence").first()
        if slot is None:
            raise RandomizationError("the minimization list has no draws left")
        spec = spec_of(rlist)
        history = [(a.factor_levels, a.arm) for a in Allocation.objects.filter(slot__rlist=rlist)]
        result = minimization_assign(
            arms=spec.arms,
            ratio=spec.ratio,
            levels=levels,
            counts=level_counts(history, spec.arms),
            probability=spec.minimization_probability,
            draw=slot.draw,
            tie_draw=slot.tie_draw,
        )
        return slot, result.arm
    stratum = services.stratum_key(levels)
    slot = rlist.slots.filter(stratum=stratum, used=False).order_by("sequence").first()
    if slot is None:
        # Not the stratum key: site staff must not learn the list's layout from an error.
        raise RandomizationError(
            "the list has no free slot left for this participant's stratum: ask the "
            "unblinded statistician to extend it"
        )
    return slot, slot.arm
