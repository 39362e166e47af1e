"""MMRM against nlme::gls + emmeans (tests/reference/analysis_models.R), and its input checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialdesk.core.analysis.mmrm import mmrm
from trialdesk.core.design import DesignInputError

REFERENCE_DIR = Path(__file__).parents[2] / "reference"
REF = json.loads((REFERENCE_DIR / "analysis_models.json").read_text())["mmrm"]
LONG = pd.read_csv(REFERENCE_DIR / "data" / "exo_pe_long.csv")
VISITS = ["D7", "M1", "M3", "M6", "M12", "M24"]

EST = {"rel": 1e-6, "abs": 1e-9}
INF = {"rel": 1e-4, "abs": 1e-10}


def _fit(data=LONG, **changes):
    args = {
        "outcome": "log2fc",
        "arm": "arm",
        "control": "PBO",
        "visit": "visit",
        "subject": "id",
        "visits": VISITS,
        "baseline": "dct",
        "strata": ["delivery_mode", "pe_severe"],
    }
    args.update(changes)
    return mmrm(data, **args)


@pytest.fixture(scope="module")
def satterthwaite():
    return _fit()


@pytest.fixture(scope="module")
def df_error():
    return _fit(df_method="df.error")


def _assert_estimate(got, ref: dict, df_rel: float = 1e-12) -> None:
    assert got.name == ref["name"]
    assert got.estimate == pytest.approx(ref["estimate"], **EST)
    assert got.standard_error == pytest.approx(ref["standard_error"], **EST)
    assert got.df == pytest.approx(ref["df"], rel=df_rel)
    assert got.p_value == pytest.approx(ref["p_value"], **INF)
    assert (got.ci_lower, got.ci_upper) == pytest.approx((ref["ci_lower"], ref["ci_upper"]), **INF)


def test_fixed_effects_match_gls(satterthwaite) -> None:
    fit = satterthwaite
    assert fit.n_observations == REF["n_observations"]
    assert fit.n_subjects == REF["n_subjects"]
    assert [e.name for e in fit.fixed_effects] == [e["name"] for e in REF["fixed_effects"]]
    n_minus_p = REF["n_observations"] - REF["p"]
    for got, want in zip(fit.fixed_effects, REF["fixed_effects"], strict=True):
        assert got.estimate == pytest.approx(want["estimate"], **EST)
        assert got.standard_error == pytest.approx(want["standard_error"], **EST)
        assert got.statistic == pytest.approx(want["statistic"], **EST)
        assert got.df == n_minus_p  # summary(gls) t tests use N - p
        assert got.p_value == pytest.approx(want["p_value"], **INF)
        assert (got.ci_lower, got.ci_upper) == pytest.approx(
            (want["ci_lower"], want["ci_upper"]), **INF
        )
    np.testing.assert_allclose(
        np.array(fit.fixed_effects_covariance), np.array(REF["vcov"]), rtol=1e-6, atol=1e-12
    )


def test_covariance_structure_and_reml_log_likelihood_match_gls(satterthwaite) -> None:
    fit = satterthwaite
    assert fit.log_likelihood == pytest.approx(REF["log_likelihood"], rel=1e-9)
    assert fit.sigma == pytest.approx(REF["sigma"], **EST)
    assert fit.sd_by_visit == pytest.approx(REF["sd_by_visit"], **EST)
    assert fit.variance_ratios == pytest.approx(REF["variance_ratios"], **EST)
    np.testing.assert_allclose(np.array(fit.correlation), np.array(REF["correlation"]), rtol=1e-6)
    # corSymm (15) + varIdent (5) + sigma
    assert fit.n_covariance_parameters == REF["n_covariance_parameters"] + 1 == 21
    assert fit.gradient_norm < 1e-8


def test_treatment_effects_df_error_match_emmeans(df_error) -> None:
    want = REF["df_error"]
    assert want["df"] == REF["n_observations"] - REF["p"] - REF["n_covariance_parameters"]
    assert [e.name for e in df_error.treatment_effects] == [c["name"] for c in want["contrasts"]]
    for got, ref in zip(df_error.treatment_effects, want["contrasts"], strict=True):
        _assert_estimate(got, ref)
    for got, ref in zip(df_error.adjusted_means, want["emmeans"], strict=True):
        _assert_estimate(got, ref)


def test_treatment_effects_satterthwaite_match_r(satterthwaite) -> None:
    # R: emmeans' gls_grad with the inverse of an accurate Hessian of nlme's REML likelihood;
    # the df come from two numerical derivatives, hence 1e-5 on the df
    want = REF["satterthwaite"]
    for got, ref in zip(satterthwaite.treatment_effects, want["contrasts"], strict=True):
        _assert_estimate(got, ref, df_rel=1e-5)
    for got, ref in zip(satterthwaite.adjusted_means, want["emmeans"], strict=True):
        _assert_estimate(got, ref, df_rel=1e-5)


def test_emmeans_default_df_are_approximate(satterthwaite) -> None:
    # emmeans' own default for this fit is "appx-satterthwaite" (it perturbs and refits the
    # model on top of nlme's finite-difference apVar): same estimates and SEs, df within 20 %
    # of the exact Satterthwaite df, and they move from one refit to the next
    default = REF["emmeans_default"]
    assert "appx-satterthwaite" in default["mode"]
    for got, ref in zip(satterthwaite.treatment_effects, default["contrasts"], strict=True):
        assert got.estimate == pytest.approx(ref["estimate"], **EST)
        assert got.standard_error == pytest.approx(ref["standard_error"], **EST)
        assert got.df == pytest.approx(ref["df"], rel=0.2)
    # nlme's apVar misstates even Var(log sigma) by several per cent
    accurate, ap_var = default["accurate_var_log_sigma"], default["apVar_var_log_sigma"]
    assert abs(ap_var / accurate - 1) > 0.02


def test_nlme_default_optimiser_stops_short_of_the_reml_maximum(satterthwaite) -> None:
    default = REF["nlme_default_control"]
    assert satterthwaite.log_likelihood > default["log_likelihood"]
    got = np.array([e.estimate for e in satterthwaite.fixed_effects])
    np.testing.assert_allclose(got, default["coefficients"], rtol=1e-5, atol=1e-6)


def test_missed_visits_are_paired_by_visit_not_by_position(satterthwaite) -> None:
    # corSymm(~ 1 | id) pairs rows by position: a different (wrong) fit with missed visits
    assert REF["by_position"]["log_likelihood"] != pytest.approx(REF["log_likelihood"], rel=1e-4)
    shuffled = _fit(data=LONG.sample(frac=1.0, random_state=11))
    for a, b in zip(shuffled.treatment_effects, satterthwaite.treatment_effects, strict=True):
        assert a.estimate == pytest.approx(b.estimate, rel=1e-8)
        assert a.standard_error == pytest.approx(b.standard_error, rel=1e-7)


def test_residual_df_method_and_result_helpers(satterthwaite) -> None:
    last = satterthwaite.treatment_effect("M24")
    assert satterthwaite.confidence_interval() == (last.ci_lower, last.ci_upper)
    lo, hi = satterthwaite.confidence_interval(0.5, visit="D7")
    d7 = satterthwaite.treatment_effect("D7")
    assert lo < d7.estimate < hi and hi - lo < d7.ci_upper - d7.ci_lower
    text = json.dumps(satterthwaite.to_dict())
    assert "EXO - PBO at M24" in text
    assert "satterthwaite df" in satterthwaite.summary()
    with pytest.raises(DesignInputError, match="visit = 'M36' is not allowed"):
        satterthwaite.treatment_effect("M36")


def test_balanced_complete_data_recovers_a_known_covariance() -> None:
    rng = np.random.default_rng(8)
    n, visits = 400, ["V1", "V2", "V3"]
    cov = np.array([[1.0, 0.6, 0.3], [0.6, 2.0, 0.9], [0.3, 0.9, 1.5]])
    arm = np.repeat(["C", "T"], n // 2)
    y = rng.multivariate_normal([0.0, 0.2, 0.4], cov, size=n) + (arm == "T")[:, None] * [
        0.5,
        1.0,
        1.5,
    ]
    rows = [
        {"id": f"s{i}", "arm": arm[i], "visit": v, "y": y[i, j]}
        for i in range(n)
        for j, v in enumerate(visits)
    ]
    fit = mmrm(
        pd.DataFrame(rows),
        outcome="y",
        arm="arm",
        control="C",
        visit="visit",
        subject="id",
        df_method="residual",
    )
    assert np.array(fit.covariance) == pytest.approx(cov, abs=0.3)
    effects = [e.estimate for e in fit.treatment_effects]
    assert effects == pytest.approx([0.5, 1.0, 1.5], abs=0.35)
    assert {e.df for e in fit.treatment_effects} == {3 * n - 6}
    # complete balanced data, no covariates: the visit-wise effect is the difference in means
    frame = pd.DataFrame(rows)
    means = frame.groupby(["visit", "arm"])["y"].mean().unstack()
    assert effects == pytest.approx(list(means["T"] - means["C"]), rel=1e-8)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"df_method": "kenward-roger"}, "df_method = 'kenward-roger' is not allowed: one of"),
        ({"visits": ["D7", "M1"]}, "visit \\(visit\\) = 'M12' is not allowed: one of the levels"),
        ({"subject": "arm"}, "columns = .* a different column for each role"),
        ({"control": "CTRL"}, "reference level of arm = 'CTRL'"),
    ],
)
def test_bad_input_names_the_field_value_and_what_is_allowed(changes, message) -> None:
    with pytest.raises(DesignInputError, match=message):
        _fit(**changes)


def test_duplicate_visit_and_changing_arm_are_rejected() -> None:
    dup = pd.concat([LONG, LONG.iloc[[0]]])
    with pytest.raises(DesignInputError, match="id = 'EXO-PE-001' .* visit D7 appears twice"):
        _fit(data=dup)
    switched = LONG.copy()
    switched.loc[1, "arm"] = "EXO" if switched.loc[1, "arm"] == "PBO" else "PBO"
    with pytest.raises(DesignInputError, match="id = 'EXO-PE-001' .* one arm per participant"):
        _fit(data=switched)


def test_units_of_the_outcome_do_not_change_the_fit(satterthwaite) -> None:
    scaled = _fit(data=LONG.assign(log2fc=LONG["log2fc"] * 1000.0))
    for a, b in zip(scaled.treatment_effects, satterthwaite.treatment_effects, strict=True):
        assert a.estimate == pytest.approx(1000.0 * b.estimate, rel=1e-7)
        assert a.standard_error == pytest.approx(1000.0 * b.standard_error, rel=1e-7)
        assert a.df == pytest.approx(b.df, rel=1e-5)
    np.testing.assert_allclose(scaled.correlation, satterthwaite.correlation, rtol=1e-6)


def test_a_pair_of_visits_nobody_attended_together_is_rejected() -> None:
    # participants seen at D7 never come back at M24: Sigma(D7, M24) cannot be estimated
    seen_d7 = set(LONG.loc[(LONG["visit"] == "D7") & LONG["log2fc"].notna(), "id"])
    data = LONG[~((LONG["visit"] == "M24") & LONG["id"].isin(seen_d7))]
    with pytest.raises(DesignInputError, match="visits = \\('D7', 'M24'\\) is not allowed"):
        _fit(data=data)
