"""ANCOVA against R's lm + emmeans (tests/reference/analysis_models.R), and its input checks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trialdesk.core.analysis.ancova import ancova
from trialdesk.core.analysis.imputation import analysis_population, complete_case_ancova
from trialdesk.core.design import DesignInputError

REFERENCE_DIR = Path(__file__).parents[2] / "reference"
REFERENCE = json.loads((REFERENCE_DIR / "analysis_models.json").read_text())
WIDE = pd.read_csv(REFERENCE_DIR / "data" / "exo_pe_d7.csv")
LONG = pd.read_csv(REFERENCE_DIR / "data" / "exo_pe_long.csv")
STRATA = ["delivery_mode", "pe_severe"]
LEVELS = {"delivery_mode": ["CS", "VAGINAL"], "pe_severe": ["NOT_SEVERE", "SEVERE"]}

# Tolerances: estimates and standard errors 1e-6 relative; p-values and CI limits 1e-4.
EST = {"rel": 1e-6, "abs": 1e-12}
INF = {"rel": 1e-4, "abs": 1e-10}

CASES = {
    "primary_d7": lambda: ancova(
        WIDE,
        outcome="log2fc_d7",
        arm="arm",
        control="PBO",
        baseline="dct",
        strata=STRATA,
        levels=LEVELS,
    ),
    "m6_baseline_only": lambda: ancova(
        LONG[LONG["visit"] == "M6"], outcome="log2fc", arm="arm", control="PBO", baseline="dct"
    ),
    "d7_strata_no_baseline": lambda: ancova(
        WIDE,
        outcome="log2fc_d7",
        arm="arm",
        control="PBO",
        strata=["pe_severe", "delivery_mode"],
        levels=LEVELS,
    ),
}


def _reference(case: str) -> dict:
    return next(c for c in REFERENCE["ancova"] if c["case"] == case)


def _assert_estimate(got, ref: dict, df: float | None = None) -> None:
    assert got.estimate == pytest.approx(ref["estimate"], **EST)
    assert got.standard_error == pytest.approx(ref["standard_error"], **EST)
    assert got.statistic == pytest.approx(ref["statistic"], **EST)
    assert got.p_value == pytest.approx(ref["p_value"], **INF)
    assert (got.ci_lower, got.ci_upper) == pytest.approx((ref["ci_lower"], ref["ci_upper"]), **INF)
    if df is not None:
        assert got.df == pytest.approx(df, rel=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_coefficients_match_lm(case: str) -> None:
    ref = _reference(case)
    result = CASES[case]()
    assert result.n == ref["n"]
    assert result.residual_df == ref["residual_df"]
    assert result.sigma == pytest.approx(ref["sigma"], **EST)
    assert result.r_squared == pytest.approx(ref["r_squared"], **EST)
    assert [c.name for c in result.coefficients] == [c["name"] for c in ref["coefficients"]]
    for got, want in zip(result.coefficients, ref["coefficients"], strict=True):
        _assert_estimate(got, want, df=ref["residual_df"])
    np.testing.assert_allclose(np.array(result.covariance), np.array(ref["vcov"]), rtol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_adjusted_means_and_difference_match_emmeans(case: str) -> None:
    ref = _reference(case)
    result = CASES[case]()
    if ref["baseline_mean"] is not None:
        assert result.baseline_mean == pytest.approx(ref["baseline_mean"], rel=1e-12)
    assert [m.name for m in result.adjusted_means] == [m["name"] for m in ref["emmeans"]]
    for got, want in zip(result.adjusted_means, ref["emmeans"], strict=True):
        _assert_estimate(got, want, df=want["df"])
    (contrast,) = ref["contrast"]
    assert contrast["name"] == "EXO - PBO"
    _assert_estimate(result.difference, contrast, df=contrast["df"])
    # the additive model's difference is the arm coefficient, with the same inference
    arm = result.coefficient("armEXO")
    assert result.difference.estimate == pytest.approx(arm.estimate, rel=1e-12)
    assert result.difference.p_value == pytest.approx(arm.p_value, rel=1e-10)


def test_strata_are_averaged_with_equal_weights_not_observed_proportions() -> None:
    result = CASES["primary_d7"]()
    beta = {c.name: c.estimate for c in result.coefficients}
    assert result.baseline_mean is not None
    control = (
        beta["(Intercept)"]
        + beta["dct"] * result.baseline_mean
        + 0.5 * beta["delivery_modeVAGINAL"]
        + 0.5 * beta["pe_severeSEVERE"]
    )
    assert result.adjusted_means[0].estimate == pytest.approx(control, rel=1e-12)
    used = WIDE.dropna(subset=["log2fc_d7"])
    observed = beta["pe_severeSEVERE"] * (used["pe_severe"] == "SEVERE").mean()
    assert abs(observed - 0.5 * beta["pe_severeSEVERE"]) > 1e-3  # the two weightings differ


def test_complete_case_is_the_ancova_on_complete_rows() -> None:
    full = CASES["primary_d7"]()
    complete = WIDE.dropna(subset=["log2fc_d7"])
    cc = complete_case_ancova(
        complete,
        outcome="log2fc_d7",
        arm="arm",
        control="PBO",
        baseline="dct",
        strata=STRATA,
        levels=LEVELS,
    )
    assert full.n_excluded == int(WIDE["log2fc_d7"].isna().sum()) == 11
    assert cc.n_excluded == 0
    assert cc.difference.estimate == pytest.approx(full.difference.estimate, rel=1e-12)


def test_row_order_and_input_type_do_not_matter() -> None:
    base = CASES["primary_d7"]()
    shuffled = WIDE.sample(frac=1.0, random_state=3)
    as_mapping = {c: shuffled[c].tolist() for c in shuffled.columns}
    other = ancova(
        as_mapping,
        outcome="log2fc_d7",
        arm="arm",
        control="PBO",
        baseline="dct",
        strata=STRATA,
    )
    assert other.difference.estimate == pytest.approx(base.difference.estimate, rel=1e-12)
    assert other.difference.standard_error == pytest.approx(
        base.difference.standard_error, rel=1e-12
    )


def test_confidence_interval_at_another_level() -> None:
    result = CASES["primary_d7"]()
    d = result.difference
    q = stats.t.ppf(0.95, result.residual_df)
    lo, hi = result.confidence_interval(0.90)
    assert (lo, hi) == pytest.approx(
        (d.estimate - q * d.standard_error, d.estimate + q * d.standard_error)
    )
    assert result.confidence_interval() == (d.ci_lower, d.ci_upper)


def test_result_serialises_and_summarises() -> None:
    result = CASES["primary_d7"]()
    text = json.dumps(result.to_dict())
    assert "armEXO" in text
    summary = result.summary()
    assert "EXO - PBO" in summary and "11 rows with a missing value left out" in summary


def test_three_arms_give_one_difference_per_treatment_arm() -> None:
    rng = np.random.default_rng(5)
    n = 90
    arm = np.repeat(["A", "B", "C"], n // 3)
    base = rng.normal(size=n)
    y = base + (arm == "B") * 1.0 + (arm == "C") * 2.0 + rng.normal(scale=0.1, size=n)
    result = ancova(
        {"y": y, "arm": arm, "x": base}, outcome="y", arm="arm", control="A", baseline="x"
    )
    assert [d.name for d in result.differences] == ["B - A", "C - A"]
    assert [d.estimate for d in result.differences] == pytest.approx([1.0, 2.0], abs=0.1)
    with pytest.raises(DesignInputError, match="exactly two arms"):
        _ = result.difference


def _primary(**changes):
    args = {
        "outcome": "log2fc_d7",
        "arm": "arm",
        "control": "PBO",
        "baseline": "dct",
        "strata": STRATA,
    }
    data = changes.pop("data", WIDE)
    args.update(changes)
    return ancova(data, **args)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outcome": "log2fc_d8"}, "outcome = 'log2fc_d8' is not allowed: a column of data"),
        ({"control": "placebo"}, "reference level of arm = 'placebo' is not allowed: one of"),
        ({"strata": ["delivery_mode", "delivery_mode"]}, "strata = .* distinct columns"),
        ({"level": 1.5}, "level = 1.5 is not allowed"),
        (
            {"levels": {"pe_severe": ["SEVERE"]}},
            "strata \\(pe_severe\\) = 'NOT_SEVERE' .* one of the levels",
        ),
        ({"baseline": "sae"}, "baseline \\(sae\\) = 'no' is not allowed: a number or missing"),
    ],
)
def test_bad_input_names_the_field_value_and_what_is_allowed(changes, message) -> None:
    with pytest.raises(DesignInputError, match=message):
        _primary(**changes)


def test_a_single_arm_is_rejected() -> None:
    with pytest.raises(
        DesignInputError, match="arm \\(arm\\) = \\['PBO'\\] .* at least two levels"
    ):
        _primary(data=WIDE[WIDE["arm"] == "PBO"])


def test_confounded_stratum_is_rejected_naming_the_term() -> None:
    data = WIDE.assign(site=np.where(WIDE["arm"] == "EXO", "A", "B"))
    with pytest.raises(DesignInputError, match="ancova term = 'siteB'"):
        _primary(data=data, strata=["pe_severe", "site"])


def test_all_rows_missing_is_rejected() -> None:
    with pytest.raises(DesignInputError, match="at least one row complete"):
        _primary(data=WIDE.assign(log2fc_d7=math.nan))


def test_analysis_population_keeps_flagged_rows_and_rejects_unclear_flags() -> None:
    data = WIDE.assign(per_protocol=["yes" if i % 4 else "no" for i in range(len(WIDE))])
    pp = analysis_population(data, flag="per_protocol")
    assert len(pp) == 60
    assert (pp["per_protocol"] == "yes").all()
    flags = [True, False, 1, 0, "TRUE", "No"] + [True] * (len(WIDE) - 6)
    assert len(analysis_population(WIDE.assign(f=flags), flag="f")) == len(WIDE) - 3
    with pytest.raises(DesignInputError, match="flag \\(f\\) = 'maybe' is not allowed"):
        analysis_population(WIDE.assign(f=["maybe"] * len(WIDE)), flag="f")
    with pytest.raises(DesignInputError, match="flag = 'pp' is not allowed: a column of data"):
        analysis_population(WIDE, flag="pp")
