"""Missing outcomes in the primary ANCOVA: multiple imputation with Rubin's rules.

Imputation model (mice's ``"norm"``, Bayesian linear regression; Rubin 1987 p. 167, van
Buuren 2018 §3.2): regress the outcome on intercept + arm + baseline + strata in the rows where
it is observed (least squares: beta_hat, V = (X'X)^-1, residual sum of squares RSS on
df = n_obs - p). For each imputation j = 1..m draw

    sigma*^2 = RSS / chi^2_df,   beta* = beta_hat + sigma* L z   (L L' = V, z ~ N(0, I)),
    y_mis = X_mis beta* + sigma* e   (e ~ N(0, I)),

then fit the ANCOVA to the completed data. The imputation model contains every term of the
analysis model (it is congenial with it) and assumes the outcome is missing at random given
arm, baseline and strata. Rows missing the arm, baseline or a stratum are left out of both.
Random numbers come from the ``rng`` passed in; the same generator state gives the same result.
R's mice draws from the same distribution with R's generator, so the two agree within Monte
Carlo error, not digit for digit.

Rubin's rules, exactly as ``mice::pool`` (mice 3.15, ``rule = "rubin1987"``): for estimates
Q_j with variances U_j,

    Qbar = mean Q_j, Ubar = mean U_j, B = var(Q_j) (denominator m - 1),
    T = Ubar + (1 + 1/m) B, lambda = (1 + 1/m) B / T (floored at 1e-4 for the df),
    riv = (1 + 1/m) B / Ubar, df_old = (m - 1) / lambda^2,
    df_obs = (df_com + 1) / (df_com + 3) df_com (1 - lambda),
    df = df_old df_obs / (df_old + df_obs) (Barnard & Rubin 1999; df_old when df_com = inf),
    fmi = (riv + 2 / (df + 3)) / (riv + 1),

t = Qbar / sqrt(T) on df (p uses max(df, 0.001), as mice) and CI Qbar -/+ t_{df} sqrt(T).
df_com is the complete-data residual df n - p of the ANCOVA.

Complete-case analysis is the ANCOVA on the rows with every value observed
(:func:`complete_case_ancova`); an analysis population (per protocol, safety) is a subset of
rows, :func:`analysis_population`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from trialdesk.core.analysis import _frame as fr
from trialdesk.core.analysis._estimate import ArmComparisons, check_level
from trialdesk.core.analysis.ancova import AncovaResult, ancova, ancova_rows
from trialdesk.core.design import _validate as v

IMPUTATION_METHOD = "norm"


@dataclass(frozen=True, kw_only=True)
class PooledEstimate:
    """One quantity pooled over m imputations by Rubin's rules (see the module docstring)."""

    name: str
    m: int
    estimate: float
    within_variance: float
    between_variance: float
    total_variance: float
    df_complete: float
    df: float
    relative_increase_in_variance: float
    proportion_of_variance_due_to_missingness: float
    fraction_of_missing_information: float
    standard_error: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    level: float

    def confidence_interval(self, level: float | None = None) -> tuple[float, float]:
        if level is None:
            return self.ci_lower, self.ci_upper
        q = float(stats.t.ppf(0.5 + 0.5 * check_level(level), self.df))
        return self.estimate - q * self.standard_error, self.estimate + q * self.standard_error

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "m": self.m,
            "estimate": self.estimate,
            "within_variance": self.within_variance,
            "between_variance": self.between_variance,
            "total_variance": self.total_variance,
            "df_complete": None if math.isinf(self.df_complete) else self.df_complete,
            "df": self.df,
            "relative_increase_in_variance": self.relative_increase_in_variance,
            "lambda": self.proportion_of_variance_due_to_missingness,
            "fraction_of_missing_information": self.fraction_of_missing_information,
            "standard_error": self.standard_error,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "level": self.level,
        }

    def line(self) -> str:
        return (
            f"{self.name}: {self.estimate:.4g} (SE {self.standard_error:.4g}; "
            f"{self.level:.0%} CI {self.ci_lower:.4g} to {self.ci_upper:.4g}; "
            f"t({self.df:.4g}) = {self.statistic:.3f}, p = {self.p_value:.4g}; "
            f"FMI {self.fraction_of_missing_information:.3f})"
        )


def rubin_pool(
    estimates: Sequence[float] | np.ndarray,
    variances: Sequence[float] | np.ndarray,
    *,
    df_complete: float = math.inf,
    name: str = "estimate",
    level: float = 0.95,
) -> PooledEstimate:
    """Pool m >= 2 estimates and their squared standard errors as ``mice::pool``."""
    level = check_level(level)
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    if q.ndim != 1 or q.shape != u.shape:
        raise v.reject("variances", len(u), f"one variance per estimate ({len(q)})")
    if len(q) < 2:
        raise v.reject("m", len(q), "at least 2 imputations")
    if not (np.isfinite(q).all() and np.isfinite(u).all()) or (u < 0).any():
        raise v.reject("estimates/variances", None, "finite numbers, variances >= 0")
    if not (df_complete > 0):
        raise v.reject("df_complete", df_complete, "a positive number or inf")
    m = len(q)
    qbar, ubar, b = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    t = ubar + (1.0 + 1.0 / m) * b
    df = _barnard_rubin(m, b, t, float(df_complete))
    riv = (1.0 + 1.0 / m) * b / ubar if ubar > 0 else math.inf
    lam = (1.0 + 1.0 / m) * b / t if t > 0 else math.nan
    se = math.sqrt(t)
    stat = qbar / se if se > 0 else math.nan
    crit = float(stats.t.ppf(0.5 + 0.5 * level, df))
    return PooledEstimate(
        name=name,
        m=m,
        estimate=qbar,
        within_variance=ubar,
        between_variance=b,
        total_variance=t,
        df_complete=float(df_complete),
        df=df,
        relative_increase_in_variance=riv,
        proportion_of_variance_due_to_missingness=lam,
        fraction_of_missing_information=(riv + 2.0 / (df + 3.0)) / (riv + 1.0),
        standard_error=se,
        statistic=stat,
        p_value=float(2.0 * stats.t.sf(abs(stat), max(df, 0.001))),
        ci_lower=qbar - crit * se,
        ci_upper=qbar + crit * se,
        level=level,
    )


def _barnard_rubin(m: int, b: float, t: float, df_complete: float) -> float:
    lam = max((1.0 + 1.0 / m) * b / t, 1e-4)
    df_old = (m - 1) / lam**2
    if math.isinf(df_complete):
        return df_old
    df_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam)
    return df_old * df_obs / (df_old + df_obs)


@dataclass(frozen=True, kw_only=True)
class MultipleImputationResult(ArmComparisons):
    """The primary ANCOVA under multiple imputation of missing outcomes.

    Attributes
    ----------
    coefficients : tuple[PooledEstimate, ...]
        Every ANCOVA coefficient pooled (R's names); the arm coefficients are the treatment
        differences.
    differences : tuple[PooledEstimate, ...]
        Each treatment arm minus control, named ``"EXO - PBO"``.
    per_imputation : tuple[tuple[float, float], ...]
        (estimate, SE^2) of the first difference in each imputation.
    """

    outcome: str
    arm: str
    control: str
    arms: tuple[str, ...]
    baseline: str | None
    strata: tuple[str, ...]
    method: str
    m: int
    n: int
    n_imputed: int
    n_excluded: int
    coefficients: tuple[PooledEstimate, ...]
    differences: tuple[PooledEstimate, ...]
    per_imputation: tuple[tuple[float, float], ...]
    level: float

    def to_dict(self) -> dict[str, object]:
        return {
            "method": "multiple_imputation_ancova",
            "imputation_method": self.method,
            "outcome": self.outcome,
            "arm": self.arm,
            "control": self.control,
            "arms": list(self.arms),
            "baseline": self.baseline,
            "strata": list(self.strata),
            "m": self.m,
            "n": self.n,
            "n_imputed": self.n_imputed,
            "n_excluded": self.n_excluded,
            "coefficients": [c.to_dict() for c in self.coefficients],
            "differences": [d.to_dict() for d in self.differences],
            "level": self.level,
        }

    def summary(self) -> str:
        return "\n".join(
            [
                f"ANCOVA of {self.outcome} with {self.n_imputed} of {self.n} outcomes imputed "
                f"(Bayesian linear regression, '{self.method}', m = {self.m}); "
                f"{self.n_excluded} rows without covariates left out",
                *(d.line() for d in self.differences),
            ]
        )


def impute_outcomes(
    x_observed: np.ndarray,
    y_observed: np.ndarray,
    x_missing: np.ndarray,
    *,
    m: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """m draws of the missing outcomes, shape (m, n_missing), by mice's "norm" method."""
    n_obs, p = x_observed.shape
    xtx_inv = np.linalg.inv(x_observed.T @ x_observed)
    beta_hat = xtx_inv @ (x_observed.T @ y_observed)
    rss = float(((y_observed - x_observed @ beta_hat) ** 2).sum())
    df = max(n_obs - p, 1)
    chol = np.linalg.cholesky(xtx_inv)
    out = np.empty((m, x_missing.shape[0]))
    for j in range(m):
        sigma = math.sqrt(rss / rng.chisquare(df))
        beta = beta_hat + sigma * (chol @ rng.standard_normal(p))
        out[j] = x_missing @ beta + sigma * rng.standard_normal(x_missing.shape[0])
    return out


def multiple_imputation_ancova(
    data: fr.Data,
    *,
    outcome: str,
    arm: str,
    control: str,
    rng: np.random.Generator,
    m: int = 100,
    baseline: str | None = None,
    strata: Sequence[str] = (),
    levels: Mapping[str, Sequence[str]] | None = None,
    level: float = 0.95,
) -> MultipleImputationResult:
    """Impute missing outcomes m times ("norm") and pool the ANCOVA by Rubin's rules.

    Arguments as :func:`trialdesk.core.analysis.ancova.ancova`, plus ``m`` (number of
    imputations, at least 2) and ``rng`` (a ``numpy.random.Generator``).
    """
    level = check_level(level)
    if isinstance(m, bool) or not isinstance(m, int) or m < 2:
        raise v.reject("m", m, "a whole number of imputations, at least 2")
    if not isinstance(rng, np.random.Generator):
        raise v.reject("rng", type(rng).__name__, "a numpy.random.Generator")
    rows = ancova_rows(
        data,
        outcome=outcome,
        arm=arm,
        control=control,
        baseline=baseline,
        strata=strata,
        levels=levels,
        keep_missing_outcome=True,
    )
    miss = np.isnan(rows.y)
    fr.check_full_rank(rows.x[~miss], rows.names, role="imputation model term")
    n, p = rows.x.shape
    if (~miss).sum() <= p:
        raise v.reject("n", int((~miss).sum()), f"more observed outcomes than {p} coefficients")
    draws = impute_outcomes(rows.x[~miss], rows.y[~miss], rows.x[miss], m=m, rng=rng)
    completed = np.tile(rows.y, (m, 1))
    completed[:, miss] = draws
    beta, var = _ols_many(rows.x, completed)
    df_com = float(n - p)
    pooled = tuple(
        rubin_pool(beta[:, j], var[:, j], df_complete=df_com, name=name, level=level)
        for j, name in enumerate(rows.names)
    )
    arms = rows.covariates.arm.levels
    diffs = tuple(
        rubin_pool(
            beta[:, j + 1], var[:, j + 1], df_complete=df_com, name=f"{a} - {arms[0]}", level=level
        )
        for j, a in enumerate(arms[1:])
    )
    return MultipleImputationResult(
        outcome=outcome,
        arm=arm,
        control=arms[0],
        arms=arms,
        baseline=baseline,
        strata=tuple(strata),
        method=IMPUTATION_METHOD,
        m=m,
        n=n,
        n_imputed=int(miss.sum()),
        n_excluded=rows.n_excluded,
        coefficients=pooled,
        differences=diffs,
        per_imputation=tuple(
            (float(b), float(s)) for b, s in zip(beta[:, 1], var[:, 1], strict=True)
        ),
        level=level,
    )


def _ols_many(x: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of each row of ``ys`` on ``x``: coefficients and their variances."""
    n, p = x.shape
    q, r = np.linalg.qr(x)
    beta = np.linalg.solve(r, q.T @ ys.T).T  # (m, p)
    resid = ys - beta @ x.T
    s2 = (resid**2).sum(axis=1) / (n - p)
    r_inv = np.linalg.inv(r)
    diag = (r_inv**2).sum(axis=1)  # diag of (X'X)^-1 = R^-1 R^-T
    return beta, s2[:, None] * diag[None, :]


def complete_case_ancova(
    data: fr.Data,
    *,
    outcome: str,
    arm: str,
    control: str,
    baseline: str | None = None,
    strata: Sequence[str] = (),
    levels: Mapping[str, Sequence[str]] | None = None,
    level: float = 0.95,
) -> AncovaResult:
    """The ANCOVA on the rows where the outcome and every covariate are observed."""
    return ancova(
        data,
        outcome=outcome,
        arm=arm,
        control=control,
        baseline=baseline,
        strata=strata,
        levels=levels,
        level=level,
    )


def analysis_population(data: fr.Data, *, flag: str) -> pd.DataFrame:
    """The rows whose ``flag`` column is true (per-protocol, safety, ...).

    ``flag`` holds booleans, 0/1, or the strings true/false/yes/no (any case); anything else,
    including a missing value, is rejected so that a participant is never silently dropped or
    kept.
    """
    frame = fr.as_frame(data, {"flag": flag})
    truth = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    keep = []
    for value in frame[flag]:
        key = str(value).strip().lower() if not isinstance(value, bool) else str(value).lower()
        if isinstance(value, float) and value.is_integer():
            key = str(int(value))
        if key not in truth:
            raise v.reject(f"flag ({flag})", value, "true/false, yes/no or 1/0 in every row")
        keep.append(truth[key])
    return frame.loc[np.array(keep, dtype=bool)].reset_index(drop=True)
