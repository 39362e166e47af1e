"""ANCOVA of a continuous endpoint: arm + baseline + stratification factors, as R's ``lm``.

Model (R): ``lm(y ~ arm + baseline + stratum_1 + ... , data, na.action = na.omit)`` with the
control arm as the reference level and treatment coding for every factor. Fitted by ordinary
least squares (statsmodels ``OLS``, QR); coefficient inference is t with the residual degrees
of freedom n - p, as ``summary.lm``; sigma is the residual standard error.

Adjusted means and the treatment difference follow ``emmeans(fit, "arm")`` with its defaults:
the reference grid puts the baseline at its mean over the rows used and averages each
stratification factor with equal weights over its levels (not over the observed proportions),
so an adjusted mean is L beta with L = (1, arm dummies, mean baseline, 1/k per stratum level)
and SE sqrt(L V L'), t with the residual df. The difference treatment - control is the arm
coefficient itself (the model is additive), with the same SE, t and p as in ``summary.lm``.

Reference: ``tests/reference/analysis_models.R`` (``lm``, ``emmeans``, ``contrast(...,
"trt.vs.ctrl")``), output in ``tests/reference/analysis_models.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

from trialdesk.core.analysis import _frame as fr
from trialdesk.core.analysis._estimate import (
    ArmComparisons,
    Estimate,
    check_level,
    linear_contrasts,
    matrix_tuple,
)
from trialdesk.core.design import _validate as v


@dataclass(frozen=True, kw_only=True)
class AncovaRows:
    """The rows an ANCOVA-type model can use, with the covariates coded (outcome may be NaN)."""

    covariates: fr.Covariates
    y: np.ndarray
    x: np.ndarray  # intercept + covariates
    names: tuple[str, ...]
    arm_values: np.ndarray
    baseline_values: np.ndarray | None
    n_excluded: int


def ancova_rows(
    data: fr.Data,
    *,
    outcome: str,
    arm: str,
    control: str,
    baseline: str | None,
    strata: Sequence[str],
    levels: Mapping[str, Sequence[str]] | None,
    keep_missing_outcome: bool = False,
) -> AncovaRows:
    """Select the complete rows and build the model matrix (shared with the imputation)."""
    strata = tuple(strata)
    if len(set(strata)) != len(strata) or arm in strata or baseline in strata:
        raise v.reject("strata", list(strata), "distinct columns other than the arm and baseline")
    roles: dict[str, str | None] = {"outcome": outcome, "arm": arm, "baseline": baseline}
    roles.update({f"strata[{i}]": s for i, s in enumerate(strata)})
    frame = fr.as_frame(data, roles)
    levels = dict(levels or {})
    y = fr.numeric(frame, "outcome", outcome)
    arms = fr.labels(frame, arm)
    base = None if baseline is None else fr.numeric(frame, "baseline", baseline)
    strat = [fr.labels(frame, s) for s in strata]
    complete = np.array([a is not None for a in arms])
    if base is not None:
        complete &= ~np.isnan(base)
    for s in strat:
        complete &= np.array([x is not None for x in s])
    keep = complete if keep_missing_outcome else complete & ~np.isnan(y)
    if not keep.any():
        raise v.reject("data", f"{len(frame)} rows", "at least one row complete in every column")
    arm_factor = fr.factor("arm", arm, arms[keep], levels=levels.get(arm), reference=control)
    factors = tuple(
        fr.factor("strata", s, x[keep], levels=levels.get(s))
        for s, x in zip(strata, strat, strict=True)
    )
    cov = fr.Covariates(arm=arm_factor, baseline=baseline, strata=factors)
    xb = None if base is None else base[keep]
    x = cov.matrix(arms[keep], xb, [s[keep] for s in strat])
    x = np.hstack([np.ones((x.shape[0], 1)), x])
    names = ("(Intercept)", *cov.names)
    return AncovaRows(
        covariates=cov,
        y=y[keep],
        x=x,
        names=names,
        arm_values=arms[keep],
        baseline_values=xb,
        n_excluded=int((~keep).sum()),
    )


@dataclass(frozen=True, kw_only=True)
class AncovaResult(ArmComparisons):
    """The fitted ANCOVA: coefficients, residual SD, adjusted means and arm differences.

    Attributes
    ----------
    arms : tuple[str, ...]
        Arm levels, control first.
    coefficients : tuple[Estimate, ...]
        In R's order and with R's names: ``(Intercept)``, ``arm<level>``..., the baseline
        column, ``<stratum><level>``...; t inference on ``residual_df``.
    covariance : matrix (tuple of rows)
        sigma^2 (X'X)^-1, R's ``vcov(fit)``.
    sigma : float
        Residual standard error sqrt(RSS / residual_df).
    baseline_mean : float or None
        The baseline value at which the adjusted means are evaluated (mean over rows used).
    adjusted_means : tuple[Estimate, ...]
        emmeans per arm (``name`` = the arm level).
    differences : tuple[Estimate, ...]
        Each treatment arm minus control (``name`` = ``"EXO - PBO"``).
    n, n_excluded : int
        Rows used, and rows left out for a missing value in a model column.
    """

    outcome: str
    arm: str
    control: str
    arms: tuple[str, ...]
    baseline: str | None
    strata: tuple[str, ...]
    factor_levels: Mapping[str, tuple[str, ...]]
    n: int
    n_excluded: int
    coefficients: tuple[Estimate, ...]
    covariance: tuple[tuple[float, ...], ...]
    residual_df: int
    sigma: float
    r_squared: float
    baseline_mean: float | None
    adjusted_means: tuple[Estimate, ...]
    differences: tuple[Estimate, ...]
    level: float

    def to_dict(self) -> dict[str, object]:
        return {
            "method": "ancova",
            "outcome": self.outcome,
            "arm": self.arm,
            "control": self.control,
            "arms": list(self.arms),
            "baseline": self.baseline,
            "strata": list(self.strata),
            "factor_levels": {k: list(x) for k, x in self.factor_levels.items()},
            "n": self.n,
            "n_excluded": self.n_excluded,
            "coefficients": [c.to_dict() for c in self.coefficients],
            "covariance": [list(r) for r in self.covariance],
            "residual_df": self.residual_df,
            "sigma": self.sigma,
            "r_squared": self.r_squared,
            "baseline_mean": self.baseline_mean,
            "adjusted_means": [m.to_dict() for m in self.adjusted_means],
            "differences": [d.to_dict() for d in self.differences],
            "level": self.level,
        }

    def summary(self) -> str:
        covs = " + ".join([self.arm, *([self.baseline] if self.baseline else []), *self.strata])
        lines = [
            f"ANCOVA: {self.outcome} ~ {covs} (control {self.control}); n = {self.n}"
            f" ({self.n_excluded} rows with a missing value left out)",
            f"residual SD {self.sigma:.4g} on {self.residual_df} df, R^2 {self.r_squared:.3f}",
            "coefficients:",
            *(f"  {c.line()}" for c in self.coefficients),
            "adjusted means (baseline at its mean, strata weighted equally):",
            *(f"  {m.line()}" for m in self.adjusted_means),
            *(d.line() for d in self.differences),
        ]
        return "\n".join(lines)


def ancova(
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
    """Fit ``outcome ~ arm + baseline + strata`` by least squares on the complete rows.

    Parameters
    ----------
    data : DataFrame or mapping of columns
        One row per participant.
    outcome, arm, baseline : str
        Column names: the continuous endpoint, the arm label and the numeric baseline
        (``baseline=None`` fits no baseline term).
    control : str
        The control arm's label: the reference level, so arm coefficients are differences from
        it.
    strata : sequence of str
        Categorical adjustment factors (the stratification factors).
    levels : mapping column -> levels, optional
        Level order of a factor (the first is the reference; default sorted, as R).
    level : float
        Confidence level of every interval.
    """
    level = check_level(level)
    rows = ancova_rows(
        data,
        outcome=outcome,
        arm=arm,
        control=control,
        baseline=baseline,
        strata=strata,
        levels=levels,
    )
    return fit_ancova(rows, outcome=outcome, level=level)


def fit_ancova(rows: AncovaRows, *, outcome: str, level: float) -> AncovaResult:
    """Least squares on prepared rows (also used for each completed dataset in MI)."""
    x, y, names = rows.x, rows.y, rows.names
    fr.check_full_rank(x, names, role="ancova term")
    df_resid = x.shape[0] - x.shape[1]
    if df_resid < 1:
        raise v.reject("n", x.shape[0], f"more rows than the {x.shape[1]} model coefficients")
    fit = sm.OLS(y, x).fit(method="qr")
    beta = np.asarray(fit.params, dtype=float)
    vcov = np.asarray(fit.cov_params(), dtype=float)
    coefs = linear_contrasts(names, np.eye(len(beta)), beta, vcov, df_resid, level)
    cov = rows.covariates
    base_mean = None if rows.baseline_values is None else float(np.mean(rows.baseline_values))
    grid = _reference_grid(cov, base_mean)
    means = linear_contrasts(cov.arm.levels, grid, beta, vcov, df_resid, level)
    diffs = linear_contrasts(
        [f"{a} - {cov.arm.levels[0]}" for a in cov.arm.levels[1:]],
        grid[1:] - grid[0],
        beta,
        vcov,
        df_resid,
        level,
    )
    return AncovaResult(
        outcome=outcome,
        arm=cov.arm.column,
        control=cov.arm.levels[0],
        arms=cov.arm.levels,
        baseline=cov.baseline,
        strata=tuple(f.column for f in cov.strata),
        factor_levels={f.column: f.levels for f in (cov.arm, *cov.strata)},
        n=int(x.shape[0]),
        n_excluded=rows.n_excluded,
        coefficients=coefs,
        covariance=matrix_tuple(vcov),
        residual_df=int(df_resid),
        sigma=math.sqrt(float(fit.scale)),
        r_squared=float(fit.rsquared),
        baseline_mean=base_mean,
        adjusted_means=means,
        differences=diffs,
        level=level,
    )


def _reference_grid(cov: fr.Covariates, baseline_mean: float | None) -> np.ndarray:
    """One row per arm: intercept, arm dummies, then the averaged adjustment part."""
    k = len(cov.arm.levels)
    arm_part = np.vstack([np.zeros(k - 1), np.eye(k - 1)])
    adjust = np.tile(cov.adjustment_row(baseline_mean), (k, 1))
    return np.hstack([np.ones((k, 1)), arm_part, adjust])
