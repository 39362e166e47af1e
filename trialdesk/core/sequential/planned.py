"""The protocol's planned interim design from plain numbers (shared by the design report and
the DSMB's closed report, so both show the same boundaries)."""

from __future__ import annotations

from collections.abc import Sequence

from trialdesk.core.sequential.design import GroupSequentialDesign, group_sequential_design


def monitoring_design(
    *,
    information_fractions: Sequence[float],
    alpha: float,
    sided: int,
    power: float,
    efficacy_spending: str,
    futility_spending: str | None,
    binding: bool,
) -> tuple[GroupSequentialDesign, bool]:
    """The group-sequential design monitored at the interim; True when a two-sided test was
    turned into one-sided alpha/2 towards benefit (so that β-spending futility applies)."""
    converted = False
    if futility_spending and sided == 2:
        alpha, sided, converted = alpha / 2.0, 1, True
    design = group_sequential_design(
        information_fraction=tuple(information_fractions),
        alpha=alpha,
        beta=1.0 - power,
        sided=sided,
        spending=efficacy_spending,
        futility=futility_spending,
        binding=binding,
    )
    return design, converted


def planned_design(
    *,
    alpha: float,
    sided: int,
    power: float,
    information_fractions: Sequence[float],
    efficacy_spending: str,
    futility_spending: str | None,
    binding_futility: bool,
) -> tuple[GroupSequentialDesign | None, str]:
    """The group-sequential design of a protocol's ``interim`` section and a note on it.

    None when the protocol plans no interim look at efficacy. A two-sided test with β-spending
    futility is monitored as one-sided alpha/2 towards benefit (rpact's convention).
    """
    if efficacy_spending == "none" or len(information_fractions) < 2:
        return None, "No interim analysis of efficacy."
    design, converted = monitoring_design(
        information_fractions=information_fractions,
        alpha=alpha,
        sided=sided,
        power=power,
        efficacy_spending=efficacy_spending,
        futility_spending=futility_spending,
        binding=binding_futility,
    )
    note = ""
    if converted:
        # β-spending futility is one-sided (stop when the effect is not in the hoped-for
        # direction): run the two-sided test as one-sided alpha/2 towards benefit.
        note = (
            f"The two-sided {alpha:g} test is monitored as one-sided {design.alpha:g} towards "
            "benefit so that β-spending futility bounds can be placed (rpact: for a 2-look "
            "design the efficacy bounds equal those of the symmetric two-sided design). "
        )
    note += (
        "Critical values follow rpact's conventions (a two-sided spending function at level α "
        "spends 2·f(t; α/2)); the original Lan–DeMets two-sided form f(t; α) gives a lower "
        "first bound for the O'Brien–Fleming type (2.772 instead of 2.963 at t = 0.5)."
    )
    return design, note
