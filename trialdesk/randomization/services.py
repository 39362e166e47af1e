"""Read-side randomization rules: the list spec a protocol implies, a participant's stratum,
and the blinding gate every output goes through."""

from __future__ import annotations

import itertools

from trialdesk.accounts.access import Access
from trialdesk.core.randomization import ListSpec


class StratumUnknown(ValueError):
    pass


def factors(p) -> list[tuple[str, list[str]]]:
    """(factor, level codes) in protocol order; site first when the protocol stratifies by it."""
    out = []
    if p.allocation.stratify_by_site:
        out.append(("site", sorted(p.sites)))
    for code in p.allocation.strata:
        out.append((code, list(p.stratification[code].levels)))
    return out


def stratum_key(levels: dict[str, str]) -> str:
    return "|".join(f"{f}={lv}" for f, lv in levels.items()) or "all"


def spec_from_protocol(p, *, slots_per_stratum: int) -> ListSpec:
    arms = tuple(p.arms)
    ratio = tuple(a.ratio for a in p.arms.values())
    method = str(p.allocation.method)
    fs = factors(p)
    if method == "minimization":
        return ListSpec(
            method=method,
            arms=arms,
            ratio=ratio,
            strata=("all",),
            slots_per_stratum=slots_per_stratum,
            minimization_probability=p.allocation.minimization_probability,
            factors=tuple(f for f, _ in fs),
        )
    strata = tuple(
        stratum_key(dict(zip([f for f, _ in fs], combo, strict=True)))
        for combo in itertools.product(*[lv for _, lv in fs])
    ) or ("all",)
    return ListSpec(
        method=method,
        arms=arms,
        ratio=ratio,
        strata=strata,
        slots_per_stratum=slots_per_stratum,
        block_sizes=tuple(p.allocation.block_sizes),
    )


def factor_levels(p, participant, values: dict) -> dict[str, str]:
    """The participant's level of every stratification factor, or StratumUnknown naming the
    missing or unmapped value."""
    levels: dict[str, str] = {}
    if p.allocation.stratify_by_site:
        levels["site"] = participant.site.code
    for code in p.allocation.strata:
        factor = p.stratification[code]
        value = values.get(factor.source)
        if value is None or not isinstance(value, str | bool | int):
            raise StratumUnknown(
                f"stratification factor {code} needs {factor.source}, which is not entered"
            )
        match = [lv.code for lv in factor.levels.values() if value in lv.values]
        if not match:
            raise StratumUnknown(f"{factor.source} = {value!r} is not mapped to a level of {code}")
        levels[code] = match[0]
    return levels


def can_see_arm(access: Access) -> bool:
    """The single blinding gate: only unblinded roles see arms, lots and kit-to-arm maps."""
    return access.is_unblinded


def arm_label(p, code: str) -> str:
    arm = p.arms.get(code)
    return f"{code} — {arm.name.en}" if arm else code


def consort_by_arm(*, site_ids=None) -> dict[str, int]:
    """Randomized participants per arm for the CONSORT diagram. Unblinded: the caller must have
    checked ``can_see_arm`` first."""
    from collections import Counter

    from trialdesk.enrolment.services import screening_entries
    from trialdesk.randomization.models import Allocation

    entries = screening_entries(site_ids=site_ids)
    allocations = Allocation.objects.filter(participant__screening__in=entries)
    return dict(Counter(allocations.values_list("arm", flat=True)))
