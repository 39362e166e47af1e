"""Multiple imputation and Rubin's rules against mice (tests/reference/analysis_models.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trialdesk.core.analysis.ancova import ancova
from trialdesk.core.analysis.imputation import (
    impute_outcomes,
    multiple_imputation_ancova,
    rubin_pool,
)
from trialdesk.core.design import DesignInputError

REFERENCE_DIR = Path(__file__).parents[2] / "reference"
REF = json.loads((REFERENCE_DIR / "analysis_models.json").read_text())["imputation"]
WIDE = pd.read_csv(REFERENCE_DIR / "data" / "exo_pe_d7.csv")
ARGS = {
    "outcome": "log2fc_d7",
    "arm": "arm",
    "control": "PBO",
    "baseline": "dct",
    "strata": ["delivery_mode", "pe_severe"],
}


@pytest.mark.parametrize("term", range(5))
def test_rubin_pool_equals_mice_pool_on_the_same_estimates(term: int) -> None:
    case = REF["pool_fixed_inputs"]
    estimates = [row[term] for row in case["estimates"]]
    variances = [row[term] for row in case["variances"]]
    want = case["pooled"][term]
    got = rubin_pool(
        estimates, variances, df_complete=case["dfcom"], name=case["terms"][term], level=0.95
    )
    assert got.m == case["m"] == 5
    pairs = {
        "estimate": got.estimate,
        "ubar": got.within_variance,
        "b": got.between_variance,
        "t": got.total_variance,
        "df": got.df,
        "riv": got.relative_increase_in_variance,
        "lambda": got.proportion_of_variance_due_to_missingness,
        "fmi": got.fraction_of_missing_information,
        "standard_error": got.standard_error,
        "statistic": got.statistic,
        "p_value": got.p_value,
        "ci_lower": got.ci_lower,
        "ci_upper": got.ci_upper,
    }
    for key, value in pairs.items():
        assert value == pytest.approx(want[key], rel=1e-10, abs=1e-14), key


def test_rubin_pool_by_hand_and_infinite_complete_df() -> None:
    q, u = [1.0, 1.2, 0.9, 1.1], [0.04, 0.05, 0.045, 0.05]
    got = rubin_pool(q, u)
    b = float(np.var(q, ddof=1))
    t = float(np.mean(u)) + 1.25 * b
    lam = 1.25 * b / t
    assert got.total_variance == pytest.approx(t, rel=1e-14)
    assert got.df == pytest.approx(3 / lam**2, rel=1e-14)  # Rubin's 1987 df when df_com = inf
    assert got.df_complete == math.inf
    # a tiny between-imputation variance: lambda is floored at 1e-4 as in mice
    flat = rubin_pool([1.0, 1.0 + 1e-9, 1.0], [0.04] * 3, df_complete=50)
    df_old = 2 / 1e-4**2
    df_obs = 51 / 53 * 50 * (1 - 1e-4)
    assert flat.df == pytest.approx(df_old * df_obs / (df_old + df_obs), rel=1e-12)


def test_pooled_result_agrees_with_mice_within_monte_carlo_error() -> None:
    mc = REF["monte_carlo"]
    m = mc["m"]
    result = multiple_imputation_ancova(WIDE, **ARGS, m=m, rng=np.random.default_rng(20260113))
    assert result.n_imputed == REF["n_missing"] == 11
    for got, want in zip(result.coefficients, mc["pooled"], strict=True):
        assert got.name == want["name"]
        assert got.df_complete == mc["dfcom"]
        # two independent runs: Var(Qbar_1 - Qbar_2) ~ (B_1 + B_2) / m
        se_diff = math.sqrt((got.between_variance + want["b"]) / m)
        assert abs(got.estimate - want["estimate"]) < 4 * se_diff, got.name
        # B is a variance estimate on m - 1 df: relative SE sqrt(2 / (m - 1))
        se_t = math.sqrt(2 / (m - 1)) * math.hypot(got.between_variance, want["b"]) * (1 + 1 / m)
        assert abs(got.total_variance - want["t"]) < 4 * se_t + 0.01 * want["ubar"], got.name
        assert got.within_variance == pytest.approx(want["ubar"], rel=0.02)
        assert got.fraction_of_missing_information == pytest.approx(want["fmi"], abs=0.03)
    assert result.difference.estimate == result.coefficient("armEXO").estimate


def test_each_imputation_is_the_ancova_of_a_completed_dataset() -> None:
    result = multiple_imputation_ancova(WIDE, **ARGS, m=3, rng=np.random.default_rng(4))
    # the same generator state reproduces the draws
    miss = WIDE["log2fc_d7"].isna().to_numpy()
    rows = _design(WIDE)
    draws = impute_outcomes(
        rows[~miss],
        WIDE["log2fc_d7"].to_numpy()[~miss],
        rows[miss],
        m=3,
        rng=np.random.default_rng(4),
    )
    for j in range(3):
        completed = WIDE.copy()
        completed.loc[miss, "log2fc_d7"] = draws[j]
        fit = ancova(completed, **ARGS)
        est, var = result.per_imputation[j]
        assert est == pytest.approx(fit.difference.estimate, rel=1e-10)
        assert var == pytest.approx(fit.difference.standard_error**2, rel=1e-10)
    again = multiple_imputation_ancova(WIDE, **ARGS, m=3, rng=np.random.default_rng(4))
    assert again.per_imputation == result.per_imputation
    other = multiple_imputation_ancova(WIDE, **ARGS, m=3, rng=np.random.default_rng(5))
    assert other.per_imputation != result.per_imputation


def _design(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [
            np.ones(len(frame)),
            (frame["arm"] == "EXO").to_numpy(float),
            frame["dct"].to_numpy(float),
            (frame["delivery_mode"] == "VAGINAL").to_numpy(float),
            (frame["pe_severe"] == "SEVERE").to_numpy(float),
        ]
    )


def test_norm_draws_follow_the_posterior_predictive_distribution() -> None:
    # Bayesian regression with a flat prior: y_new | y ~ t_df(x'beta_hat, s^2 (1 + x'(X'X)^-1 x))
    miss = WIDE["log2fc_d7"].isna().to_numpy()
    x = _design(WIDE)
    y = WIDE["log2fc_d7"].to_numpy()[~miss]
    xo, xm = x[~miss], x[miss][:3]
    draws = impute_outcomes(xo, y, xm, m=40_000, rng=np.random.default_rng(99))
    beta, rss = np.linalg.lstsq(xo, y, rcond=None)[:2]
    df = len(y) - xo.shape[1]
    s2 = float(rss[0]) / df
    scale = np.sqrt(s2 * (1 + np.einsum("ij,jk,ik->i", xm, np.linalg.inv(xo.T @ xo), xm)))
    for i in range(3):
        z = (draws[:, i] - xm[i] @ beta) / scale[i]
        assert stats.kstest(z, stats.t(df).cdf).pvalue > 1e-3
        assert np.var(z) == pytest.approx(df / (df - 2), rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"m": 1}, "m = 1 is not allowed: a whole number of imputations, at least 2"),
        ({"m": 2.5}, "m = 2.5 is not allowed"),
        ({"rng": 42}, "rng = 'int' is not allowed: a numpy.random.Generator"),
        ({"level": 0}, "level = 0 is not allowed"),
    ],
)
def test_bad_input_names_the_field_value_and_what_is_allowed(kwargs, message) -> None:
    args = {"m": 5, "rng": np.random.default_rng(1), **kwargs}
    with pytest.raises(DesignInputError, match=message):
        multiple_imputation_ancova(WIDE, **ARGS, **args)


def test_bad_pooling_input_is_rejected() -> None:
    with pytest.raises(DesignInputError, match="variances = 2 is not allowed: one variance per"):
        rubin_pool([1.0, 2.0, 3.0], [0.1, 0.1])
    with pytest.raises(DesignInputError, match="m = 1 is not allowed: at least 2 imputations"):
        rubin_pool([1.0], [0.1])
    with pytest.raises(DesignInputError, match="variances >= 0"):
        rubin_pool([1.0, 2.0], [0.1, -0.1])
    with pytest.raises(DesignInputError, match="df_complete = 0 is not allowed"):
        rubin_pool([1.0, 2.0], [0.1, 0.1], df_complete=0)


def test_result_serialises_and_summarises() -> None:
    result = multiple_imputation_ancova(WIDE, **ARGS, m=10, rng=np.random.default_rng(2))
    assert json.loads(json.dumps(result.to_dict()))["m"] == 10
    assert "11 of 80 outcomes imputed" in result.summary()
    lo, hi = result.confidence_interval(0.5)
    assert result.difference.ci_lower < lo < result.difference.estimate < hi
