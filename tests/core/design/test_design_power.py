"""Power and sample size against R (pwr, base R) and the seed study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.core.design import (
    DesignInputError,
    enrolment_for_dropout,
    evaluable_per_group,
    power_two_means,
    power_two_proportions,
)

REFERENCE = Path(__file__).parents[2] / "reference" / "pwr_reference.json"
CASES = json.loads(REFERENCE.read_text())["cases"]
SOLVED_ATTRIBUTE = {"n_per_group": "n_per_group", "effect": "effect", "power": "power"}


def _run(case: dict) -> float:
    inputs = dict(case["inputs"])
    kind = case["kind"]
    if "alpha" not in inputs:
        inputs["alpha"] = None
    if kind.startswith("prop"):
        result = power_two_proportions(method=kind.removeprefix("prop_"), **inputs)
    else:
        result = power_two_means(test=kind.removeprefix("means_"), **inputs)
    return getattr(result, case["solved_for"])


@pytest.mark.parametrize("case", CASES, ids=[c["source"][:60] for c in CASES])
def test_matches_r_reference(case: dict) -> None:
    # Powers are closed-form in R and here (1e-10); roots are Brent's method at 1e-12 on
    # both sides, so 1e-8 leaves room for the noncentral-t implementations (boost vs R).
    tol = 1e-10 if case["solved_for"] == "power" else 1e-8
    assert _run(case) == pytest.approx(case["value"], abs=tol, rel=tol)


def test_reference_file_has_cases_for_every_family() -> None:
    kinds = {c["kind"] for c in CASES}
    assert kinds == {"means_t", "means_z", "prop_arcsine", "prop_normal"}
    assert {c["solved_for"] for c in CASES} == {"n_per_group", "effect", "power", "alpha"}


def test_seed_sample_size_is_40_per_group() -> None:
    # Seed NCT07183384: alpha 0.05 two-sided, 80 % power, 10 % dropout -> 40 per group.
    # The effect is not stated; d = 0.67 is the smallest round effect that gives 36 evaluable.
    result = power_two_means(effect=0.67, power=0.8, alpha=0.05, sided=2, dropout=0.1)
    assert result.n_evaluable == (36, 36)
    assert result.n_per_group_with_dropout == 40
    assert result.n_total == 80


def test_seed_implied_effect_for_36_evaluable_per_group() -> None:
    result = power_two_means(n_per_group=36, effect=None, power=0.8, alpha=0.05, dropout=0.1)
    # pwr.t.test(n = 36, power = 0.8)$d = 0.669572 (tightened root in pwr_reference.json)
    assert result.effect == pytest.approx(0.66957, abs=1e-5)
    assert result.n_per_group_with_dropout == 40
    assert evaluable_per_group(n_enrolled=40, dropout=0.1) == 36


@settings(max_examples=30, deadline=None)
@given(
    effect=st.floats(0.2, 1.5),
    target=st.floats(0.5, 0.95),
    sided=st.sampled_from([1, 2]),
    ratio=st.sampled_from([0.5, 1.0, 2.0]),
    test=st.sampled_from(["t", "z"]),
)
def test_solve_n_then_power_round_trip(
    effect: float, target: float, sided: int, ratio: float, test: str
) -> None:
    n = power_two_means(
        effect=effect, power=target, alpha=0.05, sided=sided, ratio=ratio, test=test
    )
    back = power_two_means(
        n_per_group=n.n_per_group, effect=effect, power=None, sided=sided, ratio=ratio, test=test
    )
    assert back.power == pytest.approx(target, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(n=st.floats(5, 500), target=st.floats(0.3, 0.95), sided=st.sampled_from([1, 2]))
def test_solve_effect_then_n_round_trip(n: float, target: float, sided: int) -> None:
    d = power_two_means(n_per_group=n, effect=None, power=target, sided=sided).effect
    back = power_two_means(effect=d, power=target, sided=sided).n_per_group
    assert back == pytest.approx(n, rel=1e-8)


def test_solve_alpha_round_trip() -> None:
    a = power_two_means(n_per_group=36, effect=0.67, power=0.8, alpha=None).alpha
    assert power_two_means(n_per_group=36, effect=0.67, alpha=a).power == pytest.approx(0.8)


def test_proportions_solve_p2_round_trip() -> None:
    res = power_two_proportions(p1=0.3, p2=None, n_per_group=50, power=0.8, method="normal")
    back = power_two_proportions(p1=0.3, p2=res.p2, n_per_group=None, power=0.8, method="normal")
    assert back.n_per_group == pytest.approx(50, rel=1e-8)


def test_ancova_reduces_sample_size_by_one_minus_rho_squared() -> None:
    plain = power_two_means(effect=0.5, power=0.9, test="z")
    adjusted = power_two_means(effect=0.5, power=0.9, test="z", correlation=0.6)
    assert adjusted.n_per_group == pytest.approx(plain.n_per_group * (1 - 0.36), rel=1e-10)


def test_raw_difference_and_sd_equal_standardized_effect() -> None:
    raw = power_two_means(difference=5.0, sd=10.0, power=0.8)
    std = power_two_means(effect=0.5, power=0.8)
    assert raw.n_per_group == pytest.approx(std.n_per_group)
    assert raw.difference == 5.0


def test_dropout_rounds_up_to_allocation_blocks() -> None:
    assert enrolment_for_dropout(
        n_evaluable=(36, 36), dropout=0.1, block_size=4, allocation=(1, 1)
    ) == (40, 40)
    assert enrolment_for_dropout(
        n_evaluable=(37, 37), dropout=0.1, block_size=4, allocation=(1, 1)
    ) == (42, 42)
    assert enrolment_for_dropout(
        n_evaluable=(20, 40), dropout=0.2, block_size=6, allocation=(1, 2)
    ) == (26, 52)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"effect": 0.5, "power": 0.8, "alpha": 1.0}, "alpha = 1.0"),
        ({"effect": 0.5, "power": 0.8, "alpha": -0.1}, "alpha = -0.1"),
        ({"effect": 0.5, "power": 0.04, "alpha": 0.05}, "power must exceed alpha"),
        ({"effect": 0.5, "power": 1.0}, "power = 1.0"),
        ({"effect": 0.5, "power": 0.8, "sided": 3}, "sided = 3"),
        ({"effect": 0.5, "power": 0.8, "dropout": 1.0}, "dropout = 1.0"),
        ({"effect": 0.5, "power": 0.8, "correlation": 1.0}, "correlation = 1.0"),
        ({"effect": 0.5, "power": 0.8, "test": "wilcoxon"}, "test = 'wilcoxon'"),
        ({"effect": 0.5, "power": 0.8, "n_per_group": 30}, "leave out exactly one"),
        ({"power": 0.8}, "leave out exactly one"),
        ({"effect": 0.5, "power": 0.8, "ratio": 0.0}, "ratio = 0.0"),
        ({"effect": 0.5, "power": 0.8, "block_size": 3}, "block_size = 3"),
        ({"effect": 0.5, "power": 0.8, "difference": 1.0, "sd": 2.0}, "not both"),
    ],
)
def test_impossible_inputs_are_rejected_with_the_argument_named(kwargs: dict, message: str) -> None:
    with pytest.raises(DesignInputError, match=message.replace("(", r"\(")):
        power_two_means(**kwargs)
