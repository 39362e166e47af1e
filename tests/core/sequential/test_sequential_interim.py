"""Interim decisions, conditional power, repeated CIs and adjusted p-values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy.stats import norm

from trialdesk.core.design import DesignInputError
from trialdesk.core.sequential import (
    conditional_power,
    final_inference,
    group_sequential_design,
    interim_analysis,
    repeated_confidence_interval,
    stagewise_adjusted_p_value,
)
from trialdesk.core.sequential import interim as im

REFERENCE = Path(__file__).parents[2] / "reference" / "rpact_interim.json"
CASES = json.loads(REFERENCE.read_text())["cases"]


def _design(case: dict):
    return group_sequential_design(
        information_fraction=case["information_fraction"],
        alpha=case["alpha"],
        sided=case["sided"],
        spending=case["spending"],
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{c['design']}-stage{c['stage']}" for c in CASES])
def test_against_rpact_analysis_results(case: dict) -> None:
    design = _design(case)
    # rpact's planned totals are proportional to the design fractions (n_max = 800 / 7), so
    # its theta sqrt(n / 4) / sd over the remaining looks is our drift theta sqrt(I_max).
    drift = case["theta"] / case["sd"] * math.sqrt(800 / 7 / 4)
    cp = conditional_power(design=design, stage=case["stage"], z=case["z"], drift=drift)
    assert cp == pytest.approx(case["conditional_power"], abs=1e-7)
    lo, hi = repeated_confidence_interval(
        design=design,
        stage=case["stage"],
        estimate=case["estimate"],
        standard_error=case["standard_error"],
    )
    assert (lo, hi) == pytest.approx((case["rci_lower"], case["rci_upper"]), abs=1e-7)
    if case["final_p_value"] is not None:
        p = stagewise_adjusted_p_value(design=design, stage=case["stage"], z=case["z"])
        assert p == pytest.approx(case["final_p_value"], abs=1e-8)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["median_unbiased"] is not None], ids=lambda c: c["design"]
)
def test_final_inference_against_rpact(case: dict) -> None:
    # rpact's final CI and median-unbiased estimate (stage-wise ordering) are found by its own
    # root search at ~1e-7, hence 1e-6.
    result = final_inference(
        design=_design(case),
        stage=case["stage"],
        z=case["z"],
        standard_error=case["standard_error"],
    )
    assert result.median_unbiased == pytest.approx(case["median_unbiased"], abs=1e-6)
    assert result.confidence_interval == pytest.approx(
        (case["final_ci_lower"], case["final_ci_upper"]), abs=1e-6
    )
    assert "stage-wise ordering" in result.summary()


def test_two_stage_conditional_power_closed_form() -> None:
    design = group_sequential_design(information_fraction=[0.5, 1], spending="asOF")
    z1, drift = 1.1, 2.8
    c2 = design.critical_values[1]
    expected = norm.sf((c2 - z1 * math.sqrt(0.5) - drift * 0.5) / math.sqrt(0.5))
    got = conditional_power(design=design, stage=1, z=z1, drift=drift)
    assert got == pytest.approx(expected, abs=1e-12)


def test_seed_interim_recomputes_at_37_of_80() -> None:
    planned = group_sequential_design(information_fraction=[0.5, 1], alpha=0.05, sided=2)
    result = interim_analysis(design=planned, information_fraction=[37 / 80], z=1.2)
    assert result.information_fraction == pytest.approx(0.4625)
    expected = group_sequential_design(information_fraction=[0.4625, 1], alpha=0.05, sided=2)
    assert result.design.critical_values == pytest.approx(expected.critical_values, abs=1e-12)
    # asOF at t = 0.4625 is stricter than at the planned 0.5
    assert result.critical_value > planned.critical_values[0]
    assert result.decision == im.CONTINUE
    assert 0 < result.conditional_power_trend < result.conditional_power_design < 1
    assert "Look 1 of 2" in result.summary()


def test_decisions() -> None:
    design = group_sequential_design(k=3, spending="asOF", futility="bsOF", binding=True)
    c1, f1 = design.critical_values[0], design.futility_bounds[0]
    t = list(design.information_fraction[:1])
    assert interim_analysis(design=design, information_fraction=t, z=c1 + 0.01).decision == (
        im.STOP_EFFICACY
    )
    assert interim_analysis(design=design, information_fraction=t, z=f1 - 0.01).decision == (
        im.STOP_FUTILITY
    )
    nb = group_sequential_design(k=3, spending="asOF", futility="bsOF", binding=False)
    assert interim_analysis(design=nb, information_fraction=t, z=f1 - 0.5).decision == (
        im.FUTILITY_NONBINDING
    )
    final = interim_analysis(design=nb, information_fraction=list(nb.information_fraction), z=2.5)
    assert final.decision == im.REJECT
    assert final.conditional_power_trend == 1.0


def test_adjusted_p_value_equals_alpha_on_the_final_bound() -> None:
    for sided, alpha in ((1, 0.025), (2, 0.05)):
        design = group_sequential_design(k=4, alpha=alpha, sided=sided, spending="asP")
        p = stagewise_adjusted_p_value(design=design, stage=4, z=design.critical_values[-1])
        assert p == pytest.approx(alpha, abs=1e-10)


def test_adjusted_p_value_at_first_look_is_the_naive_p_value() -> None:
    design = group_sequential_design(k=3, spending="asOF")
    assert stagewise_adjusted_p_value(design=design, stage=1, z=4.2) == pytest.approx(norm.sf(4.2))


def test_repeated_ci_excludes_zero_exactly_when_the_test_rejects() -> None:
    design = group_sequential_design(k=3, alpha=0.05, sided=2, spending="OF")
    c = design.critical_values[1]
    lo, _ = repeated_confidence_interval(
        design=design, stage=2, estimate=c * 0.5, standard_error=0.5
    )
    assert lo == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"information_fraction": [0.5, 0.6, 0.7, 1.0], "z": 1.0}, "give 1 to 3 fractions"),
        ({"information_fraction": [0.8], "z": 1.0}, "strictly increasing"),
        ({"information_fraction": [0.3, 0.6, 0.9], "z": 1.0}, "last look has fraction 1"),
        ({"information_fraction": [0.3], "z": math.nan}, "z must be a finite number"),
        (
            {"information_fraction": [0.3], "z": 1.0, "estimate": 1.0, "standard_error": 0},
            "standard_error = 0",
        ),
    ],
)
def test_interim_rejects_impossible_inputs(kwargs: dict, message: str) -> None:
    design = group_sequential_design(information_fraction=[1 / 3, 0.7, 1])
    with pytest.raises(DesignInputError, match=message):
        interim_analysis(design=design, **kwargs)


def test_stage_out_of_range_is_rejected() -> None:
    design = group_sequential_design(k=2)
    with pytest.raises(DesignInputError, match="stage = 3"):
        conditional_power(design=design, stage=3, z=1.0, drift=1.0)
