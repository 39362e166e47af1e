"""Proportional-odds (cumulative logit) model for an ordered outcome, as ``MASS::polr``.

Model: for categories c_1 < ... < c_K and covariates x (arm dummies, baseline, strata dummies;
no intercept),

    logit P(Y <= c_k | x) = zeta_k - x' beta,   k = 1, ..., K - 1,

the parameterisation of ``MASS::polr`` and ``ordinal::clm``: a positive coefficient shifts
the distribution towards *higher* categories, and exp(beta) is the odds ratio of being in a
higher category (above any cut point) for the treatment arm against control. (statsmodels'
``OrderedModel`` uses the same sign, but stores the thresholds as increments on a log scale.)
The thresholds are named as polr names them, ``"0|1"``, ``"1|2"``, ...

Maximum likelihood by Newton-Raphson with the analytic gradient and Hessian (step halving keeps
the log-likelihood increasing and the thresholds ordered), to a gradient below 1e-10. Standard
errors come from the inverse observed information, the same as ``ordinal::clm`` (which also
uses the analytic Hessian). ``polr(..., Hess = TRUE)`` stops its BFGS search at a relative
change of 1e-8 in the log-likelihood and differentiates its gradient numerically for the
Hessian, so its estimates agree to about 1e-4 (1e-7 with ``control = list(reltol = 1e-14)``)
and its standard errors to about 1e-6 (see ``docs/analysis-models.md``). Inference is
Wald: z = beta / SE, two-sided normal p (``summary(clm)``), odds ratio exp(beta) with CI
exp(beta -/+ z_{1 - alpha/2} SE) (``exp(confint.default(fit))``; polr's own ``confint`` profiles
the likelihood instead).

Reference: ``tests/reference/analysis_models.R`` (``polr`` and ``clm`` on the edema grade).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from trialdesk.core.analysis import _frame as fr
from trialdesk.core.analysis._estimate import Estimate, check_level, critical_value, make_estimate
from trialdesk.core.analysis.ancova import ancova_rows
from trialdesk.core.design import _validate as v


@dataclass(frozen=True, kw_only=True)
class OddsRatio:
    """exp(coefficient) with its Wald CI and the coefficient's two-sided p-value."""

    name: str
    odds_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    level: float

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "odds_ratio": self.odds_ratio,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "p_value": self.p_value,
            "level": self.level,
        }


@dataclass(frozen=True, kw_only=True)
class ProportionalOddsResult:
    """The fitted cumulative logit model.

    Attributes
    ----------
    categories : tuple[str, ...]
        Outcome categories, lowest first.
    thresholds : tuple[Estimate, ...]
        zeta_k, named ``"<c_k>|<c_k+1>"``; Wald z inference.
    coefficients : tuple[Estimate, ...]
        beta with R's names (``armEXO``, baseline column, ``<stratum><level>``).
    odds_ratios : tuple[OddsRatio, ...]
        exp(beta) with Wald CIs, one per coefficient.
    log_likelihood, deviance, aic : float
        As ``logLik``, ``deviance`` (-2 logLik) and ``AIC`` of polr/clm.
    covariance : matrix
        Inverse observed information, thresholds first then coefficients (clm's ``vcov``
        order; polr's ``vcov`` puts the coefficients first).
    """

    outcome: str
    arm: str
    control: str
    arms: tuple[str, ...]
    categories: tuple[str, ...]
    category_counts: tuple[int, ...]
    baseline: str | None
    strata: tuple[str, ...]
    n: int
    n_excluded: int
    thresholds: tuple[Estimate, ...]
    coefficients: tuple[Estimate, ...]
    odds_ratios: tuple[OddsRatio, ...]
    covariance: tuple[tuple[float, ...], ...]
    log_likelihood: float
    deviance: float
    aic: float
    iterations: int
    gradient_norm: float
    level: float

    def coefficient(self, name: str) -> Estimate:
        for c in (*self.coefficients, *self.thresholds):
            if c.name == name:
                return c
        names = [c.name for c in (*self.coefficients, *self.thresholds)]
        raise v.reject("name", name, f"one of {names}")

    @property
    def treatment_odds_ratio(self) -> OddsRatio:
        """Odds ratio of a higher category, treatment against control (two arms)."""
        if len(self.arms) != 2:
            raise v.reject("arms", list(self.arms), "exactly two arms for a single odds ratio")
        return self.odds_ratios[0]

    def confidence_interval(self, level: float | None = None) -> tuple[float, float]:
        """Wald CI of the treatment odds ratio."""
        c = self.coefficients[0]
        lo, hi = c.confidence_interval(level)
        return math.exp(lo), math.exp(hi)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": "proportional_odds",
            "outcome": self.outcome,
            "arm": self.arm,
            "control": self.control,
            "arms": list(self.arms),
            "categories": list(self.categories),
            "category_counts": list(self.category_counts),
            "baseline": self.baseline,
            "strata": list(self.strata),
            "n": self.n,
            "n_excluded": self.n_excluded,
            "thresholds": [t.to_dict() for t in self.thresholds],
            "coefficients": [c.to_dict() for c in self.coefficients],
            "odds_ratios": [o.to_dict() for o in self.odds_ratios],
            "covariance": [list(r) for r in self.covariance],
            "log_likelihood": self.log_likelihood,
            "deviance": self.deviance,
            "aic": self.aic,
            "iterations": self.iterations,
            "gradient_norm": self.gradient_norm,
            "level": self.level,
        }

    def summary(self) -> str:
        counts = ", ".join(
            f"{c}: {k}" for c, k in zip(self.categories, self.category_counts, strict=True)
        )
        lines = [
            f"proportional odds (cumulative logit): {self.outcome}; n = {self.n} "
            f"({self.n_excluded} rows with a missing value left out); categories {counts}",
            f"log-likelihood {self.log_likelihood:.4f}, AIC {self.aic:.3f}",
            "coefficients (positive = towards higher categories):",
            *(f"  {c.line()}" for c in self.coefficients),
            "thresholds:",
            *(f"  {t.line()}" for t in self.thresholds),
            "odds ratios (higher category):",
            *(
                f"  {o.name}: {o.odds_ratio:.4g} ({o.level:.0%} CI {o.ci_lower:.4g} to "
                f"{o.ci_upper:.4g}), p = {o.p_value:.4g}"
                for o in self.odds_ratios
            ),
        ]
        return "\n".join(lines)


def _density(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic density f and its derivative f' (zero at +-inf)."""
    cdf = special.expit(x)
    f = cdf * (1.0 - cdf)
    return f, f * (1.0 - 2.0 * cdf)


def _log_prob(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(F(a) - F(b)) without cancellation when both are near 1."""
    upper = special.expit(-b) - special.expit(-a)
    lower = special.expit(a) - special.expit(b)
    with np.errstate(divide="ignore"):
        return np.log(np.where(b > 0.0, upper, lower))


@dataclass(frozen=True)
class _Ordinal:
    codes: np.ndarray  # 0 .. K-1
    x: np.ndarray  # (n, p), no intercept
    k: int

    def bounds(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zeta = np.concatenate([[-np.inf], params[: self.k - 1], [np.inf]])
        eta = self.x @ params[self.k - 1 :]
        return zeta[self.codes + 1] - eta, zeta[self.codes] - eta

    def loglik(self, params: np.ndarray) -> float:
        a, b = self.bounds(params)
        return float(_log_prob(a, b).sum())

    def derivatives(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient and Hessian (analytic)."""
        a, b = self.bounds(params)
        n, q = len(self.codes), len(params)
        da = np.zeros((n, q))
        db = np.zeros((n, q))
        rows = np.arange(n)
        top = self.codes < self.k - 1
        da[rows[top], self.codes[top]] = 1.0
        bottom = self.codes > 0
        db[rows[bottom], self.codes[bottom] - 1] = 1.0
        da[:, self.k - 1 :] = -self.x
        db[:, self.k - 1 :] = -self.x
        fa, dfa = _density(a)
        fb, dfb = _density(b)
        log_p = _log_prob(a, b)
        prob = np.exp(log_p)
        dp = fa[:, None] * da - fb[:, None] * db
        grad = (dp / prob[:, None]).sum(axis=0)
        d2p = np.einsum("i,ij,ik->jk", dfa / prob, da, da) - np.einsum(
            "i,ij,ik->jk", dfb / prob, db, db
        )
        hess = d2p - np.einsum("ij,ik->jk", dp / prob[:, None], dp / prob[:, None])
        return float(log_p.sum()), grad, hess


def _ordered(params: np.ndarray, k: int) -> bool:
    return bool(np.all(np.diff(params[: k - 1]) > 0.0))


def _separated(params: np.ndarray, model: _Ordinal) -> bool:
    """An effect of more than 25 logits per SD of its covariate: the maximum is at infinity.

    Under (quasi-)complete separation the log-likelihood only approaches its supremum, and the
    Newton steps walk the coefficients away until the gradient underflows.
    """
    spread = model.x.std(axis=0)
    return bool(np.any(np.abs(params[model.k - 1 :] * spread) > 25.0))


def _newton(model: _Ordinal) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    counts = np.bincount(model.codes, minlength=model.k)
    cum = np.cumsum(counts)[:-1] / len(model.codes)
    params = np.concatenate([special.logit(cum), np.zeros(model.x.shape[1])])
    ll, grad, hess = model.derivatives(params)
    for it in range(1, 101):
        step = np.linalg.solve(hess, grad)
        shrink = 1.0
        while shrink > 1e-8:
            trial = params - shrink * step
            if _ordered(trial, model.k):
                new_ll = model.loglik(trial)
                if np.isfinite(new_ll) and new_ll >= ll - 1e-12:
                    break
            shrink *= 0.5
        else:
            break
        params = trial
        ll, grad, hess = model.derivatives(params)
        if np.max(np.abs(grad)) < 1e-10:
            if _separated(params, model):
                break
            return params, hess, it, ll, float(np.max(np.abs(grad)))
    raise v.reject(
        "outcome",
        "no maximum",
        "data in which the likelihood has a finite maximum (no category or arm perfectly "
        "separated by the covariates)",
    )


def proportional_odds(
    data: fr.Data,
    *,
    outcome: str,
    arm: str,
    control: str,
    baseline: str | None = None,
    strata: Sequence[str] = (),
    categories: Sequence[str] | None = None,
    levels: Mapping[str, Sequence[str]] | None = None,
    level: float = 0.95,
) -> ProportionalOddsResult:
    """Fit ``polr(factor(outcome, ordered) ~ arm + baseline + strata, Hess = TRUE)``.

    Parameters
    ----------
    outcome : str
        The ordered outcome column (numbers or labels, compared as strings).
    categories : sequence of str, optional
        The categories lowest first; default: the values present, sorted numerically when they
        are all numbers, else as strings. Every category must be observed.
    arm, control, baseline, strata, levels, level
        As for :func:`trialdesk.core.analysis.ancova.ancova`.
    """
    level = check_level(level)
    frame = fr.as_frame(data, {"outcome": outcome})
    values = fr.labels(frame, outcome)
    # the outcome is categorical: code it as numbers 0..K-1 for the shared row selection
    order = _categories(values, categories, outcome)
    codes = np.array([np.nan if x is None else order.index(x) for x in values], dtype=float)
    coded = frame.assign(**{outcome: codes})
    rows = ancova_rows(
        coded,
        outcome=outcome,
        arm=arm,
        control=control,
        baseline=baseline,
        strata=strata,
        levels=levels,
    )
    y = rows.y.astype(int)
    counts = np.bincount(y, minlength=len(order))
    if (counts == 0).any():
        empty = order[int(np.flatnonzero(counts == 0)[0])]
        raise v.reject(f"outcome ({outcome})", empty, "categories that each occur at least once")
    x = rows.x[:, 1:]
    names = rows.names[1:]
    fr.check_full_rank(rows.x, rows.names, role="proportional-odds term")
    model = _Ordinal(codes=y, x=x, k=len(order))
    params, hess, iterations, ll, grad_norm = _newton(model)
    vcov = np.linalg.inv(-hess)
    se = np.sqrt(np.diag(vcov))
    inf = math.inf
    k = len(order)
    thresholds = tuple(
        make_estimate(f"{order[j]}|{order[j + 1]}", params[j], se[j], inf, level)
        for j in range(k - 1)
    )
    coefs = tuple(
        make_estimate(name, params[k - 1 + j], se[k - 1 + j], inf, level)
        for j, name in enumerate(names)
    )
    q = critical_value(level, inf)
    ors = tuple(
        OddsRatio(
            name=c.name,
            odds_ratio=math.exp(c.estimate),
            ci_lower=math.exp(c.estimate - q * c.standard_error),
            ci_upper=math.exp(c.estimate + q * c.standard_error),
            p_value=c.p_value,
            level=level,
        )
        for c in coefs
    )
    return ProportionalOddsResult(
        outcome=outcome,
        arm=arm,
        control=rows.covariates.arm.levels[0],
        arms=rows.covariates.arm.levels,
        categories=tuple(order),
        category_counts=tuple(int(c) for c in counts),
        baseline=baseline,
        strata=tuple(strata),
        n=len(y),
        n_excluded=rows.n_excluded,
        thresholds=thresholds,
        coefficients=coefs,
        odds_ratios=ors,
        covariance=tuple(tuple(float(x) for x in r) for r in vcov),
        log_likelihood=ll,
        deviance=-2.0 * ll,
        aic=-2.0 * ll + 2.0 * len(params),
        iterations=iterations,
        gradient_norm=grad_norm,
        level=level,
    )


def _categories(values: np.ndarray, categories: Sequence[str] | None, column: str) -> list[str]:
    present = {x for x in values if x is not None}
    if categories is not None:
        order = [str(c) for c in categories]
        unknown = sorted(present - set(order))
        if unknown:
            raise v.reject(f"outcome ({column})", unknown[0], f"one of the categories {order}")
    else:
        try:
            order = sorted(present, key=float)
        except ValueError:
            order = sorted(present)
    if len(order) < 2 or len(set(order)) != len(order):
        raise v.reject(f"categories of {column}", order, "at least two distinct categories")
    return order
