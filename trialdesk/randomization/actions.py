"""Every randomization write: list generation / import / re-verification, allocation,
emergency unblinding (with the protocol's approval step where it has one), preparation and
dosing.

Allocation: one durable transaction that locks the active list's row (so allocations are
serialised), refuses a second allocation for the same participant, and takes the first unused
slot of the participant's stratum in list order; the unique constraints on
Allocation.participant / Allocation.slot are the backstop. Audit events name the
randomization number and kit code (both random, drawn apart from the arms), never the arm,
the stratum's slot sequence or the list's hash: monitors and data managers read the trail.

Seeds (docs/security/randomization.md): a live list's seed is drawn by the system (128 bits,
``secrets``) and dropped; a typed seed is accepted only in the reproducible-test mode
(``settings.RANDOMIZATION_TEST_SEEDS``) and before anyone is randomized, and a list made from
one allocates nobody once that mode is off.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from trialdesk.accounts import reauth
from trialdesk.accounts.access import Access, require_at
from trialdesk.accounts.models import Membership, Role
from trialdesk.audit.actions import blinded, record
from trialdesk.core.randomization import (
    ListEntry,
    ListSpec,
    arms_from_seed_match,
    check_list,
    generate_list,
    level_counts,
    list_hash,
    minimization_assign,
    new_seed,
)
from trialdesk.enrolment import services as enrolment
from trialdesk.enrolment.models import ScreeningEntry
from trialdesk.participants.actions import set_anchor_date, set_status
from trialdesk.participants.models import Participant
from trialdesk.randomization import services
from trialdesk.randomization.models import (
    Allocation,
    Dosing,
    Preparation,
    RandomizationList,
    Slot,
    Unblinding,
)
from trialdesk.studies.registry import get_protocol

RANDOMIZERS = (Role.COORDINATOR, Role.INVESTIGATOR)
LIST_OWNERS = (Role.UNBLINDED_STATISTICIAN,)


class RandomizationError(ValueError):
    """A randomization write was refused; the message never names an arm."""


class AlreadyRandomized(RandomizationError):
    def __init__(self, allocation: Allocation):
        super().__init__(
            f"{allocation.participant.study_id} is already randomized: "
            f"{allocation.randomization_number}, kit {allocation.kit_code}, "
            f"{timezone.localtime(allocation.allocated_at):%Y-%m-%d %H:%M}"
        )
        self.allocation = allocation


# ----------------------------------------------------------------------------------- lists
def _store_list(
    acting_user, role, spec: ListSpec, entries, digest: str, source: str, reason: str
) -> RandomizationList:
    if Allocation.objects.exists():
        raise RandomizationError(
            "participants are already randomized: the list cannot be replaced "
            "(that needs a protocol amendment and a new study database)"
        )
    RandomizationList.objects.filter(active=True).update(active=False)
    rlist = RandomizationList.objects.create(
        method=spec.method,
        spec=_spec_json(spec),
        sha256=digest,
        source=source,
        created_by=acting_user,
    )
    Slot.objects.bulk_create(
        Slot(
            rlist=rlist,
            stratum=e.stratum,
            sequence=e.sequence,
            randomization_number=e.randomization_number,
            kit_code=e.kit_code,
            arm=e.arm,
            block=e.block,
            block_size=e.block_size,
            draw=e.draw,
            tie_draw=e.tie_draw,
        )
        for e in entries
    )
    record(
        "create",
        actor=acting_user,
        role=role,
        obj=rlist,
        new={
            "method": spec.method,
            "slots": len(entries),
            "strata": list(spec.strata),
            "source": source,
        },
        reason=reason,
    )
    return rlist


def _spec_json(spec: ListSpec) -> dict:
    return asdict(spec)


def spec_of(rlist: RandomizationList) -> ListSpec:
    raw = dict(rlist.spec)
    return ListSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def do_generate_list(
    acting_user, *, slots_per_stratum: int, seed: int | None = None, reason: str = ""
) -> RandomizationList:
    """Generate the protocol's list. Without ``seed`` (the only way in a live study) the
    system draws a 128-bit seed from ``secrets`` and drops it after use; a typed ``seed``
    makes a reproducible test list, refused unless ``test_seed_problem`` finds nothing."""
    role = require_at(acting_user, LIST_OWNERS, None, "generate the randomization list")
    spec = services.spec_from_protocol(get_protocol(), slots_per_stratum=slots_per_stratum)
    source = RandomizationList.Source.GENERATED
    if seed is not None:
        problem = test_seed_problem(seed)
        if problem:
            raise RandomizationError(problem)
        source = RandomizationList.Source.TEST_SEED
    generated = generate_list(spec, seed=new_seed() if seed is None else seed)
    with transaction.atomic(durable=True):
        return _store_list(
            acting_user,
            role,
            spec,
            generated.entries,
            generated.sha256,
            source,
            reason or "list generated",
        )


def test_seed_problem(seed) -> str:
    """Why a typed seed is refused ("" when it may be used): the reproducible-test mode must
    be on and the study must not be live (nobody randomized)."""
    if not settings.RANDOMIZATION_TEST_SEEDS:
        return (
            "seed: a typed seed is refused because the reproducible-test mode is off "
            "(TRIALDESK_RANDOMIZATION_TEST_SEEDS); allowed: no seed, the system draws a "
            "128-bit seed that nobody sees"
        )
    if Allocation.objects.exists():
        return (
            "seed: a typed seed is refused in a live study (participants are randomized); "
            "allowed: no seed"
        )
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        return f"seed = {seed!r}: allowed: a whole number ≥ 0 (test mode only)"
    return ""


IMPORT_COLUMNS = ("stratum", "sequence", "randomization_number", "kit_code", "arm")


def parse_import(spec: ListSpec, text: str) -> list[ListEntry]:
    """Entries from CSV (``IMPORT_COLUMNS``), checked against the protocol's arms and strata."""
    reader = csv.DictReader(io.StringIO(text))
    missing = set(IMPORT_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise RandomizationError(f"the CSV lacks column(s) {', '.join(sorted(missing))}")
    entries = []
    for n, row in enumerate(reader, start=2):
        if row["arm"] not in spec.arms:
            raise RandomizationError(f"line {n}: arm code is not one of the protocol's arms")
        if row["stratum"] not in spec.strata:
            raise RandomizationError(
                f"line {n}: stratum {row['stratum']!r} is not one of {', '.join(spec.strata)}"
            )
        try:
            seq = int(row["sequence"])
        except ValueError:
            raise RandomizationError(
                f"line {n}: sequence {row['sequence']!r} is not a number"
            ) from None
        entries.append(
            ListEntry(
                row["stratum"],
                seq,
                row["randomization_number"].strip(),
                row["kit_code"].strip(),
                row["arm"],
            )
        )
    for stratum in spec.strata:
        seqs = sorted(e.sequence for e in entries if e.stratum == stratum)
        if seqs != list(range(1, len(seqs) + 1)) or not seqs:
            raise RandomizationError(
                f"stratum {stratum}: sequences must run 1, 2, 3, … without gaps"
            )
    for attr in ("randomization_number", "kit_code"):
        values = [getattr(e, attr) for e in entries]
        if len(set(values)) != len(values) or not all(values):
            raise RandomizationError(f"every {attr.replace('_', ' ')} must be present and unique")
    return entries


def do_import_list(acting_user, *, csv_text: str, reason: str = "") -> RandomizationList:
    role = require_at(acting_user, LIST_OWNERS, None, "import the randomization list")
    p = get_protocol()
    spec = services.spec_from_protocol(p, slots_per_stratum=1)
    if spec.method == "minimization":
        raise RandomizationError("minimization allocates dynamically: there is no list to import")
    entries = parse_import(spec, csv_text)
    per = max(sum(1 for e in entries if e.stratum == s) for s in spec.strata)
    spec = services.spec_from_protocol(p, slots_per_stratum=per)
    with transaction.atomic(durable=True):
        return _store_list(
            acting_user,
            role,
            spec,
            entries,
            list_hash(spec, entries),
            RandomizationList.Source.IMPORTED,
            reason or "list imported",
        )


@dataclass(frozen=True)
class ListCheck:
    """The outcome of a re-verification: ``ok`` (also its truth value) and what failed."""

    ok: bool
    problems: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.ok


def do_verify_list(acting_user, *, seed: int | None = None) -> ListCheck:
    """Re-verify the active list without its seed: the stored slots still hash to the list's
    SHA-256 taken at generation, and the list is sound (``core.randomization.check_list``:
    every block balanced and of an allowed size, sequences complete, labels unique). A
    ``seed`` is accepted only for a test-seed list in the test mode; its arms must match."""
    role = require_at(acting_user, LIST_OWNERS, None, "verify the randomization list")
    with transaction.atomic(durable=True):
        rlist = RandomizationList.objects.select_for_update().get(active=True)
        spec, stored = spec_of(rlist), _stored_entries(rlist)
        problems = check_list(spec, stored)
        if list_hash(spec, stored) != rlist.sha256:
            problems.append("the stored slots no longer match the list's SHA-256 of generation")
        if seed is not None:
            problems.extend(_seed_problems(rlist, spec, stored, seed))
        ok = not problems
        if ok:
            RandomizationList.objects.filter(pk=rlist.pk).update(
                verified_at=timezone.now(), verified_by=acting_user
            )
        record(
            "change",
            actor=acting_user,
            role=role,
            obj=rlist,
            new={"verified": ok, "problems": len(problems)},
            reason="list re-verified" if ok else "re-verification FAILED",
        )
    return ListCheck(ok, tuple(problems))


def _stored_entries(rlist: RandomizationList) -> list[ListEntry]:
    # A minimization slot's arm is written at allocation; the list itself had none.
    blank_arm = rlist.method == "minimization"
    return [
        ListEntry(
            s.stratum,
            s.sequence,
            s.randomization_number,
            s.kit_code,
            "" if blank_arm else s.arm,
            s.block,
            s.block_size,
            s.draw,
            s.tie_draw,
        )
        for s in rlist.slots.order_by("pk")
    ]


def _seed_problems(rlist, spec: ListSpec, stored: list[ListEntry], seed: int) -> list[str]:
    if rlist.source != RandomizationList.Source.TEST_SEED:
        raise RandomizationError(
            "seed: this list's seed was drawn by the system and never kept; allowed: "
            "re-verify without a seed"
        )
    if not settings.RANDOMIZATION_TEST_SEEDS:
        raise RandomizationError(test_seed_problem(seed))
    if not isinstance(seed, int) or seed < 0:
        raise RandomizationError(f"seed = {seed!r}: allowed: a whole number ≥ 0")
    if arms_from_seed_match(spec, stored, seed=seed):
        return []
    return ["the seed does not regenerate the list's arms"]


# ------------------------------------------------------------------------------ allocation
def do_randomize_participant(
    participant: Participant, acting_user, *, reason: str = ""
) -> Allocation:
    """Allocate the next slot of the participant's stratum (see module docstring)."""
    role = require_at(acting_user, RANDOMIZERS, participant.site, "randomize participants")
    p = get_protocol()
    with transaction.atomic(durable=True):
        rlist = RandomizationList.objects.select_for_update().filter(active=True).first()
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
            participant=locked.study_id,
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


# ------------------------------------------------------------------------------ unblinding
UNBLINDERS = (Role.INVESTIGATOR,)
S = Unblinding.Status


def do_emergency_unblind(participant: Participant, acting_user, *, reason: str) -> Unblinding:
    """An investigator breaks the code for one participant. Without approval in the protocol
    only she sees the arm, at once; with it the request waits for ``do_decide_unblinding``."""
    role = require_at(acting_user, UNBLINDERS, participant.site, "break the blind")
    if len(reason.strip()) < 10:
        raise RandomizationError("give the medical reason for unblinding (at least 10 characters)")
    policy = get_protocol().unblinding
    with transaction.atomic(durable=True):
        allocation = Allocation.objects.select_for_update().filter(participant=participant).first()
        if allocation is None:
            raise RandomizationError(f"{participant.study_id} is not randomized")
        if allocation.unblindings.filter(status=S.PENDING).exists():
            raise RandomizationError(
                f"an unblinding request for {participant.study_id} already awaits approval"
            )
        now = timezone.now()
        pending = policy.approval_required
        row = Unblinding.objects.create(
            allocation=allocation,
            requested_by=acting_user,
            requested_at=now,
            reason=reason,
            approval_required=pending,
            status=S.PENDING if pending else S.REVEALED,
            approved_at=None if pending else now,
        )
        if not pending:
            _mark_unblinded(allocation, now)
        record(
            "create" if pending else "unblind",
            actor=acting_user,
            role=role,
            site=participant.site,
            obj=row,
            participant=participant.study_id,
            new={
                "randomization_number": allocation.randomization_number,
                "status": row.status,
                "approval_required": pending,
            },
            reason=reason,
        )
        transaction.on_commit(lambda: _notify_unblinding(row.pk))
    return row


def _mark_unblinded(allocation: Allocation, when: dt.datetime) -> None:
    """The participant counts as unblinded in every report from the first code break on."""
    if allocation.unblinded_at is None:
        Allocation.objects.filter(pk=allocation.pk).update(unblinded_at=when)


def can_decide_unblinding(row: Unblinding, user) -> bool:
    """A pending request may be decided by anyone but its requester holding one of the
    protocol's approver roles at the participant's site (site roles) or study-wide."""
    roles = get_protocol().unblinding.approver_roles
    site_id = row.allocation.participant.site_id
    return (
        row.status == S.PENDING
        and user.pk != row.requested_by_id
        and Access.for_user(user).can(roles, site_id)
    )


def do_decide_unblinding(
    row: Unblinding, acting_user, *, approve: bool, password: str, reason: str, request=None
) -> Unblinding:
    """Approve (the arm is then shown to the requester and the approver) or reject a pending
    request; the decision is signed by re-entering the password (with `request`, a wrong one
    counts toward the login lockout, which ends the session: accounts.reauth)."""
    participant = row.allocation.participant
    verb = "approve" if approve else "reject"
    roles = get_protocol().unblinding.approver_roles
    role = require_at(acting_user, roles, participant.site, f"{verb} unblinding requests")
    if acting_user.pk == row.requested_by_id:
        raise RandomizationError(
            f"you requested this unblinding: another person with an approver role "
            f"({', '.join(roles)}) must {verb} it"
        )
    if len(reason.strip()) < 5:
        raise RandomizationError(f"give the reason why you {verb} (at least 5 characters)")
    try:
        reauth.check_password(acting_user, password, request=request)
    except reauth.Refused as exc:
        _failed_decision(row, acting_user, role, verb)
        raise RandomizationError(f"{exc}: the request was not {verb}d") from None
    with transaction.atomic(durable=True):
        locked = Unblinding.objects.select_for_update().get(pk=row.pk)
        if locked.status != S.PENDING:
            raise RandomizationError(
                f"this request is already decided ({locked.get_status_display().lower()})"
            )
        now = timezone.now()
        if approve:
            locked.status, locked.approved_by, locked.approved_at = S.REVEALED, acting_user, now
            _mark_unblinded(locked.allocation, now)
        else:
            locked.status, locked.rejected_by, locked.rejected_at = S.REJECTED, acting_user, now
        locked.decision_reason = reason
        locked.save(
            update_fields=[
                "status",
                "approved_by",
                "approved_at",
                "rejected_by",
                "rejected_at",
                "decision_reason",
            ]
        )
        record(
            "unblind" if approve else "status",
            actor=acting_user,
            role=role,
            site=participant.site,
            obj=locked,
            participant=participant.study_id,
            old={"status": S.PENDING},
            new={
                "status": locked.status,
                "randomization_number": locked.allocation.randomization_number,
                "printed_name": acting_user.display_name(),
                "signed": True,
            },
            reason=reason,
        )
        transaction.on_commit(lambda: _notify_unblinding(locked.pk))
    return locked


def _failed_decision(row: Unblinding, user, role: str, verb: str) -> None:
    with transaction.atomic(durable=True):
        record(
            "sign",
            actor=user,
            role=role,
            site=row.allocation.participant.site,
            obj=row,
            participant=row.allocation.participant.study_id,
            new={"signed": False, "decision": verb},
            reason="signature attempt with a wrong password",
        )


def _notify_unblinding(pk: int) -> None:
    """Tell the protocol's contacts, the DSMB members and the administrators what happened to
    a code break (never the arm); a pending request also goes to those who may approve it."""
    row = Unblinding.objects.select_related(
        "allocation__participant__site", "requested_by", "approved_by", "rejected_by"
    ).get(pk=pk)
    p = row.allocation.participant
    subject, body = _unblinding_message(row)
    if row.status == S.PENDING:
        approvers = _approver_emails(row)
        if approvers:
            send_mail(
                f"[trialdesk] Unblinding request for {p.study_id} awaits your decision",
                body + f"\nDecide at /randomization/unblindings/{row.pk}/ (password required).",
                settings.DEFAULT_FROM_EMAIL,
                approvers,
            )
    emails = _oversight_emails()
    if emails:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)


def _unblinding_message(row: Unblinding) -> tuple[str, str]:
    p, a = row.allocation.participant, row.allocation
    when = f"{timezone.localtime(row.requested_at):%Y-%m-%d %H:%M}"
    who = row.requested_by.display_name()
    if row.status == S.PENDING:
        head = f"{who} requested unblinding of {p.study_id} ({a.randomization_number}) at {when}."
        state, subject = "The request awaits approval.", "Unblinding requested"
    elif row.status == S.REJECTED:
        head = f"The unblinding of {p.study_id} ({a.randomization_number}) requested by {who}"
        state = f"was rejected by {row.rejected_by.display_name()}: {row.decision_reason}"
        subject = "Unblinding rejected"
    else:
        head = f"{who} broke the blind for {p.study_id} ({a.randomization_number}) at {when}."
        state = (
            f"Approved by {row.approved_by.display_name()}: {row.decision_reason}"
            if row.approved_by
            else "No approval is required by the protocol."
        )
        subject = "Emergency unblinding"
    body = f"{head}\nReason: {row.reason}\n{state}\nThe allocation is not included in this message."
    return f"[trialdesk] {subject} of {p.study_id}", body


def _oversight_emails() -> list[str]:
    policy, contacts = get_protocol().unblinding, get_protocol().contacts
    listed = [getattr(contacts, code) for code in policy.notify]
    users = (
        Membership.objects.filter(active=True, role__in=[Role.DSMB, Role.ADMIN])
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted({*users, *(c.email for c in listed if c is not None)})


def _approver_emails(row: Unblinding) -> list[str]:
    roles = get_protocol().unblinding.approver_roles
    site = row.allocation.participant.site_id
    rows = (
        Membership.objects.filter(active=True, role__in=roles, user__is_active=True)
        .filter(Q(site_id=site) | Q(site__isnull=True))
        .exclude(user_id=row.requested_by_id)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(rows))


# ------------------------------------------------------------------------- prepare and dose
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
            participant=participant.study_id,
            new={
                "kit_code": allocation.kit_code,
                "volume_ml": str(volume_ml),
                "prepared_at": prepared_at,
                "lot": "recorded (unblinded)",
                "lot_digest": blinded("lot", row, row.lot),
            },
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
    p = get_protocol()
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
                f"{locked.study_id} has no prepared kit: randomize, then the pharmacist prepares"
            )
        if Dosing.objects.filter(participant=locked).exists():
            raise RandomizationError(f"{locked.study_id} is already dosed (single-dose design)")
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
            participant=locked.study_id,
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
        set_anchor_date(
            locked, timezone.localtime(started_at).date(), acting_user, reason="day 0 = dosing"
        )
    return row


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
    if not Access.for_user(administered_by).can(RANDOMIZERS, participant.site_id):
        errors.append(
            f"{administered_by.display_name()} is not site staff at {participant.site.code}"
        )
    if route == "IM" and not injection_site.strip():
        errors.append("an intramuscular dose needs the injection site and side")
    if reaction and not description.strip():
        errors.append("describe the infusion reaction (and report it as an adverse event)")
    return errors
