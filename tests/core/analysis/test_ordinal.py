"""Proportional odds against ordinal::clm and MASS::polr (tests/reference/analysis_models.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialdesk.core.analysis.ordinal import proportional_odds
from trialdesk.core.design import DesignInputError

REFERENCE_DIR = Path(__file__).parents[2] / "reference"
REF = json.loads((REFERENCE_DIR / "analysis_models.json").read_text())["ordinal"]
WIDE = pd.read_csv(REFERENCE_DIR / "data" / "exo_pe_d7.csv")
ARGS = {
    "outcome": "edema_d7",
    "arm": "arm",
    "control": "PBO",
    "baseline": "dct",
    "strata": ["delivery_mode", "pe_severe"],
}
EST = {"rel": 1e-6, "abs": 1e-9}
INF = {"rel": 1e-4, "abs": 1e-10}


@pytest.fixture(scope="module")
def fit():
    return proportional_odds(WIDE, **ARGS)


def test_thresholds_and_coefficients_match_clm(fit) -> None:
    ours = [*fit.thresholds, *fit.coefficients]  # clm's order: thresholds, then beta
    assert [e.name for e in ours] == [r["name"] for r in REF["clm"]]
    for got, want in zip(ours, REF["clm"], strict=True):
        assert got.estimate == pytest.approx(want["estimate"], **EST), got.name
        assert got.standard_error == pytest.approx(want["standard_error"], **EST), got.name
        assert got.statistic == pytest.approx(want["statistic"], **EST), got.name
        assert got.p_value == pytest.approx(want["p_value"], **INF), got.name
        assert (got.ci_lower, got.ci_upper) == pytest.approx(
            (want["ci_lower"], want["ci_upper"]), **INF
        )
    np.testing.assert_allclose(np.array(fit.covariance), np.array(REF["clm_vcov"]), rtol=1e-6)
    assert fit.log_likelihood == pytest.approx(REF["log_likelihood"], rel=1e-10)
    assert fit.aic == pytest.approx(REF["aic"], rel=1e-10)
    assert fit.n == REF["n"] == 80


def test_odds_ratios_match_exp_of_wald_limits(fit) -> None:
    for got, want in zip(fit.odds_ratios, REF["odds_ratios"], strict=True):
        assert got.name == want["name"]
        assert got.odds_ratio == pytest.approx(want["odds_ratio"], **EST)
        assert (got.ci_lower, got.ci_upper) == pytest.approx(
            (want["ci_lower"], want["ci_upper"]), **INF
        )
    assert fit.treatment_odds_ratio.name == "armEXO"
    assert fit.confidence_interval() == pytest.approx(
        (fit.treatment_odds_ratio.ci_lower, fit.treatment_odds_ratio.ci_upper), rel=1e-12
    )


def test_polr_uses_the_same_sign_convention_and_agrees_to_its_optimiser_accuracy(fit) -> None:
    # polr (BFGS, reltol 1e-8, Hessian by differencing its gradient) agrees to ~1e-4; with
    # reltol 1e-14 the estimates agree to 1e-6 and the numerical-Hessian SEs to 1e-5
    ours = {e.name: e for e in (*fit.thresholds, *fit.coefficients)}
    for run, est_rel, se_rel in (("polr", 1e-3, 1e-4), ("polr_tight", 1e-6, 1e-5)):
        for want in REF[run]["coefficients"]:
            got = ours[want["name"]]
            assert got.estimate == pytest.approx(want["estimate"], rel=est_rel, abs=1e-6)
            assert got.standard_error == pytest.approx(want["standard_error"], rel=se_rel)
        assert fit.log_likelihood == pytest.approx(REF[run]["log_likelihood"], rel=1e-8)
    # EXO lowers the edema grade in these data: a negative coefficient, odds ratio below 1
    assert ours["armEXO"].estimate < 0 and fit.treatment_odds_ratio.odds_ratio < 1


def test_a_known_shift_is_recovered_with_the_right_sign() -> None:
    rng = np.random.default_rng(17)
    n = 4000
    arm = rng.choice(["C", "T"], size=n)
    latent = 0.8 * (arm == "T") + rng.logistic(size=n)
    grade = np.searchsorted([-0.5, 0.7, 1.8], latent)
    result = proportional_odds({"g": grade, "arm": arm}, outcome="g", arm="arm", control="C")
    for got, true in zip(
        (*result.coefficients, *result.thresholds), (0.8, -0.5, 0.7, 1.8), strict=True
    ):
        assert abs(got.estimate - true) < 4 * got.standard_error, got.name
    assert result.categories == ("0", "1", "2", "3")


def test_string_categories_in_a_stated_order() -> None:
    rng = np.random.default_rng(3)
    arm = np.repeat(["C", "T"], 100)
    grade = np.array(["none", "mild", "severe"])[rng.integers(0, 3, size=200)]
    result = proportional_odds(
        {"g": grade, "arm": arm},
        outcome="g",
        arm="arm",
        control="C",
        categories=["none", "mild", "severe"],
    )
    assert [t.name for t in result.thresholds] == ["none|mild", "mild|severe"]
    assert sum(result.category_counts) == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"categories": ["0", "1", "2"]}, "outcome \\(edema_d7\\) = '3' is not allowed: one of"),
        (
            {"categories": ["0", "1", "2", "3", "4"]},
            "outcome \\(edema_d7\\) = '4' is not allowed: categories that each occur",
        ),
        ({"control": "placebo"}, "reference level of arm = 'placebo'"),
        ({"outcome": "edema"}, "outcome = 'edema' is not allowed: a column of data"),
    ],
)
def test_bad_input_names_the_field_value_and_what_is_allowed(changes, message) -> None:
    with pytest.raises(DesignInputError, match=message):
        proportional_odds(WIDE, **{**ARGS, **changes})


def test_separated_data_have_no_maximum() -> None:
    arm = np.repeat(["C", "T"], 20)
    grade = np.where(arm == "T", 2, 0)
    grade[:5] = 1
    with pytest.raises(DesignInputError, match="outcome = 'no maximum' .* perfectly separated"):
        proportional_odds({"g": grade, "arm": arm}, outcome="g", arm="arm", control="C")


def test_missing_outcomes_are_left_out(fit) -> None:
    data = WIDE.astype({"edema_d7": object})
    data.loc[:4, "edema_d7"] = None
    result = proportional_odds(data, **ARGS)
    assert (result.n, result.n_excluded) == (75, 5)
    assert math.isfinite(result.log_likelihood)
    assert "5 rows with a missing value left out" in result.summary()
    assert json.loads(json.dumps(fit.to_dict()))["categories"] == ["0", "1", "2", "3"]
