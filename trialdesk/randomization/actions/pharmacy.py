"""Pharmacy and dosing: preparation of the allocated kit, and the dose given (which sets day 0
and so the visit schedule)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import Access, require_at
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import blinded, record
from trialdesk.crfs.actions.sourced import fill_from_record
from trialdesk.enrolment import services as enrolment
from trialdesk.participants.actions import set_anchor_date
from trialdesk.participants.models import Participant
from trialdesk.randomization import hooks
from trialdesk.randomization.actions.common import RANDOMIZERS, RandomizationError
from trialdesk.randomization.models import (
    Allocation,
    Dosing,
    Preparation,
)
from trialdesk.studies.locking import refused_when_locked
from trialdesk.studies.registry import get_protocol
from trialdesk.visits.actions import record_visit_date


@refused_when_locked("record preparation")
def do_record_preparation(
    allocation: Allocation, acting_user, *, lot: str, volume_ml: Decimal, prepared_at: dt.datetime
) -> Preparation:
    """The unblinded pharmacist prepares the kit code's product (lot and volume)."""
    participant = allocation.participant
    role = require_at(acting_user, (Role.PHARMACIST,), participant.site, "prepare study product")
    enrolment.require_consent(participant, "dose")
    if not lot.strip():
        raise RandomizationError("lot: enter the product lot (GMP batch number)")
    if not Decimal("0") < Decimal(volume_ml) <= Decimal("500"):
        raise RandomizationError(f"volume_ml = {volume_ml} mL: allowed: over 0, up to 500 mL")
    with transaction.atomic(durable=True):
        # The allocation time as stored now, not as the caller's copy remembers it.
        allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
        stopped = hooks.refusal(participant, "prepare")
        if stopped:
            raise RandomizationError(stopped)
        _check_prepared_at(allocation, prepared_at)
        if Preparation.objects.filter(allocation=allocation).exists():
            raise RandomizationError(f"kit {allocation.kit_code} is already prepared")
        row = Preparation.objects.create(
            allocation=allocation,
            lot=lot.strip(),
            volume_ml=volume_ml,
            prepared_at=prepared_at,
            prepared_by=acting_user,
        )
        # The lot tells product from placebo, so the audit event (visible to monitors) omits it.
        record(
            "create",
            actor=acting_user,
            role=role,
            site=participant.site,
            obj=row,
            participant=participant.subject_id,
            new={
                "kit_code": allocation.kit_code,
                "volume_ml": str(volume_ml),
                "prepared_at": prepared_at,
                "lot": "recorded (unblinded)",
                "lot_digest": blinded("lot", row, row.lot),
            },
        )
        fill_from_record(
            participant,
            "preparation",
            {"volume_ml": row.volume_ml, "prepared_at": prepared_at},
            acting_user,
            role,
            reason=f"kit {allocation.kit_code} prepared",
        )
    return row


def _check_prepared_at(allocation: Allocation, prepared_at: dt.datetime) -> None:
    """The product is prepared for a kit after its allocation and not in the future (times
    are entered to the minute, so the allocation's minute counts)."""
    earliest = allocation.allocated_at.replace(second=0, microsecond=0)
    now = timezone.now()
    if earliest <= prepared_at <= now:
        return
    fmt = "%Y-%m-%d %H:%M %Z"
    raise RandomizationError(
        f"prepared_at = {timezone.localtime(prepared_at):{fmt}} is "
        f"{'before the allocation' if prepared_at < earliest else 'in the future'}; allowed: "
        f"from {timezone.localtime(earliest):{fmt}} (allocation) to "
        f"{timezone.localtime(now):{fmt}} (now)"
    )


@refused_when_locked("record dosing")
def do_record_dosing(
    participant: Participant,
    acting_user,
    *,
    route: str,
    volume_ml: Decimal,
    started_at: dt.datetime,
    stopped_at: dt.datetime,
    administered_by,
    injection_site: str = "",
    interrupted: bool = False,
    infusion_reaction: bool = False,
    reaction_description: str = "",
    reaction_onset: dt.datetime | None = None,
    ae_reference: str = "",
) -> Dosing:
    """The single administration; its date becomes day 0 and the visit schedule follows."""
    role = require_at(acting_user, RANDOMIZERS, participant.site, "record dosing")
    p = get_protocol(participant)
    enrolment.require_consent(participant, "dose")
    errors = _dosing_errors(
        p,
        participant,
        route,
        volume_ml,
        started_at,
        stopped_at,
        administered_by,
        infusion_reaction,
        reaction_description,
        injection_site,
    )
    if errors:
        raise RandomizationError("; ".join(errors))
    with transaction.atomic(durable=True):
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        allocation = Allocation.objects.filter(participant=locked).first()
        prep = Preparation.objects.filter(allocation=allocation).first() if allocation else None
        if prep is None:
            raise RandomizationError(
                f"{locked.subject_id} has no prepared kit: randomize, then the pharmacist prepares"
            )
        if Dosing.objects.filter(participant=locked).exists():
            raise RandomizationError(f"{locked.subject_id} is already dosed (single-dose design)")
        stopped = hooks.refusal(locked, "dose")  # e.g. dosing paused by a safety rule
        if stopped:
            raise RandomizationError(stopped)
        if Decimal(volume_ml) > prep.volume_ml:
            raise RandomizationError(
                f"volume given {volume_ml} mL exceeds the prepared {prep.volume_ml} mL"
            )
        earliest = max(prep.prepared_at, allocation.allocated_at).replace(second=0, microsecond=0)
        if started_at < earliest:  # times are entered to the minute
            raise RandomizationError(
                "the dose cannot start before randomization and preparation "
                f"({timezone.localtime(earliest):%Y-%m-%d %H:%M})"
            )
        row = Dosing.objects.create(
            participant=locked,
            preparation=prep,
            route=route,
            injection_site=injection_site,
            volume_ml=volume_ml,
            started_at=started_at,
            stopped_at=stopped_at,
            interrupted=interrupted,
            administered_by=administered_by,
            infusion_reaction=infusion_reaction,
            reaction_description=reaction_description,
            reaction_onset=reaction_onset,
            ae_reference=ae_reference,
            recorded_by=acting_user,
        )
        record(
            "create",
            actor=acting_user,
            role=role,
            site=locked.site,
            obj=row,
            participant=locked.subject_id,
            new={
                "kit_code": allocation.kit_code,
                "route": route,
                "volume_ml": str(volume_ml),
                "started_at": started_at,
                "stopped_at": stopped_at,
                "administered_by": administered_by.display_name(),
                "infusion_reaction": infusion_reaction,
                "ae_reference": ae_reference,
            },
        )
        day0 = timezone.localtime(started_at).date()
        set_anchor_date(locked, day0, acting_user, reason="day 0 = dosing")
        _date_the_dosing_visit(locked, p, day0, acting_user)
        fill_from_record(
            locked,
            "dosing",
            {
                "route": route,
                "volume_ml": row.volume_ml,
                "started_at": started_at,
                "stopped_at": stopped_at,
                "interrupted": interrupted,
            },
            acting_user,
            role,
            reason=f"dose of kit {allocation.kit_code} recorded",
        )
    return row


def _date_the_dosing_visit(participant, protocol, day, acting_user) -> None:
    """The protocol's dosing visit took place on the day of the dose (it is not typed again)."""
    spec = next((v for v in protocol.visits.values() if v.dosing), None)
    visit = participant.visits.filter(code=spec.code, repeat=1).first() if spec else None
    if visit is not None and visit.actual_date is None:
        record_visit_date(visit, day, acting_user, reason="dated by the dosing record")


def _dosing_errors(
    p,
    participant,
    route,
    volume_ml,
    started_at,
    stopped_at,
    administered_by,
    reaction,
    description,
    injection_site="",
) -> list[str]:
    errors = []
    if route not in p.routes:
        errors.append(f"route {route!r} is not one of {', '.join(p.routes)}")
    if not Decimal("0") < Decimal(volume_ml) <= Decimal("500"):
        errors.append(f"volume {volume_ml} mL is outside 0–500 mL")
    if stopped_at <= started_at:
        errors.append("the stop time must be after the start time")
    if started_at > timezone.now():
        errors.append("the start time is in the future")
    if not Access.for_user(administered_by, participant.study_id).can(
        RANDOMIZERS, participant.site_id
    ):
        errors.append(
            f"{administered_by.display_name()} is not site staff at {participant.site.code}"
        )
    if route == "IM" and not injection_site.strip():
        errors.append("an intramuscular dose needs the injection site and side")
    if reaction and not description.strip():
        errors.append("describe the infusion reaction (and report it as an adverse event)")
    return errors
