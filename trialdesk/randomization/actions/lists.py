"""Randomization lists: generate (system seed), import, re-verify against the seed."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import require_at
from trialdesk.audit.actions import record
from trialdesk.core.randomization import (
    ListEntry,
    ListSpec,
    arms_from_seed_match,
    check_list,
    generate_list,
    list_hash,
    new_seed,
)
from trialdesk.randomization import services
from trialdesk.randomization.actions.common import LIST_OWNERS, RandomizationError
from trialdesk.randomization.models import (
    Allocation,
    RandomizationList,
    Slot,
)
from trialdesk.studies.registry import get_protocol, resolve_study


def _store_list(
    study: str, acting_user, role, spec: ListSpec, entries, digest: str, source: str, reason: str
) -> RandomizationList:
    if Allocation.objects.filter(participant__study_id=study).exists():
        raise RandomizationError(
            "participants are already randomized: the list cannot be replaced "
            "(that needs a protocol amendment and a new study database)"
        )
    RandomizationList.objects.filter(study_id=study, active=True).update(active=False)
    rlist = RandomizationList.objects.create(
        study_id=study,
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
    acting_user,
    *,
    slots_per_stratum: int,
    seed: int | None = None,
    reason: str = "",
    study=None,
) -> RandomizationList:
    """Generate the protocol's list. Without ``seed`` (the only way in a live study) the
    system draws a 128-bit seed from ``secrets`` and drops it after use; a typed ``seed``
    makes a reproducible test list, refused unless ``test_seed_problem`` finds nothing."""
    study = resolve_study(study)
    role = require_at(
        acting_user, LIST_OWNERS, None, "generate the randomization list", study=study
    )
    spec = services.spec_from_protocol(get_protocol(study), slots_per_stratum=slots_per_stratum)
    source = RandomizationList.Source.GENERATED
    if seed is not None:
        problem = test_seed_problem(seed)
        if problem:
            raise RandomizationError(problem)
        source = RandomizationList.Source.TEST_SEED
    generated = generate_list(spec, seed=new_seed() if seed is None else seed)
    with transaction.atomic(durable=True):
        return _store_list(
            study,
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


def do_import_list(
    acting_user, *, csv_text: str, reason: str = "", study=None
) -> RandomizationList:
    study = resolve_study(study)
    role = require_at(acting_user, LIST_OWNERS, None, "import the randomization list", study=study)
    p = get_protocol(study)
    spec = services.spec_from_protocol(p, slots_per_stratum=1)
    if spec.method == "minimization":
        raise RandomizationError("minimization allocates dynamically: there is no list to import")
    entries = parse_import(spec, csv_text)
    per = max(sum(1 for e in entries if e.stratum == s) for s in spec.strata)
    spec = services.spec_from_protocol(p, slots_per_stratum=per)
    with transaction.atomic(durable=True):
        return _store_list(
            study,
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


def do_verify_list(acting_user, *, seed: int | None = None, study=None) -> ListCheck:
    """Re-verify the active list without its seed: the stored slots still hash to the list's
    SHA-256 taken at generation, and the list is sound (``core.randomization.check_list``:
    every block balanced and of an allowed size, sequences complete, labels unique). A
    ``seed`` is accepted only for a test-seed list in the test mode; its arms must match."""
    study = resolve_study(study)
    role = require_at(acting_user, LIST_OWNERS, None, "verify the randomization list", study=study)
    with transaction.atomic(durable=True):
        rlist = RandomizationList.objects.select_for_update().get(study_id=study, active=True)
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
