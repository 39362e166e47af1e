"""One estimate with its standard error, test statistic, p-value and confidence interval.

Shared by the final-analysis models. A finite ``df`` means t inference (R's ``summary.lm``,
``emmeans``); ``df = inf`` means Wald z inference (R's ``summary(clm)``, ``confint.default``).
P-values are two-sided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from trialdesk.core.design import _validate as v


def check_level(level: float) -> float:
    """A confidence level strictly between 0 and 1."""
    return v.probability("level", level)


def critical_value(level: float, df: float) -> float:
    """Two-sided quantile: t_{df, (1 + level)/2}, or the normal one when df is infinite."""
    q = 0.5 + 0.5 * level
    return float(stats.norm.ppf(q) if math.isinf(df) else stats.t.ppf(q, df))


def two_sided_p(statistic: float, df: float) -> float:
    a = abs(statistic)
    return float(2.0 * (stats.norm.sf(a) if math.isinf(df) else stats.t.sf(a, df)))


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """``estimate`` with standard error, statistic = estimate / SE, two-sided p and a CI.

    Attributes
    ----------
    name : str
        What is estimated (an R coefficient name such as ``armEXO``, or a contrast label such
        as ``EXO - PBO``).
    df : float
        Degrees of freedom of the t reference distribution; ``math.inf`` for a Wald z.
    ci_lower, ci_upper : float
        Two-sided ``level`` confidence interval, estimate -/+ quantile x SE.
    """

    name: str
    estimate: float
    standard_error: float
    df: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    level: float

    def confidence_interval(self, level: float | None = None) -> tuple[float, float]:
        """The two-sided CI at ``level`` (default: the level the estimate was made with)."""
        if level is None:
            return self.ci_lower, self.ci_upper
        q = critical_value(check_level(level), self.df)
        return self.estimate - q * self.standard_error, self.estimate + q * self.standard_error

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "estimate": self.estimate,
            "standard_error": self.standard_error,
            "df": None if math.isinf(self.df) else self.df,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "level": self.level,
        }

    def line(self) -> str:
        """One summary line: estimate (SE), CI, statistic and p."""
        kind = "z" if math.isinf(self.df) else f"t({self.df:.4g})"
        return (
            f"{self.name}: {self.estimate:.4g} (SE {self.standard_error:.4g}; "
            f"{self.level:.0%} CI {self.ci_lower:.4g} to {self.ci_upper:.4g}; "
            f"{kind} = {self.statistic:.3f}, p = {self.p_value:.4g})"
        )


def make_estimate(
    name: str, estimate: float, standard_error: float, df: float, level: float
) -> Estimate:
    """Build an :class:`Estimate` with t(df) (or z when df is infinite) inference."""
    est, se = float(estimate), float(standard_error)
    stat = est / se if se > 0.0 else math.nan
    q = critical_value(level, df)
    return Estimate(
        name=name,
        estimate=est,
        standard_error=se,
        df=float(df),
        statistic=stat,
        p_value=two_sided_p(stat, df) if se > 0.0 else math.nan,
        ci_lower=est - q * se,
        ci_upper=est + q * se,
        level=level,
    )


def linear_contrasts(
    names: Sequence[str],
    weights: np.ndarray,
    beta: np.ndarray,
    covariance: np.ndarray,
    df: float | Sequence[float],
    level: float,
) -> tuple[Estimate, ...]:
    """Estimates of L beta for each row of ``weights`` (one name per row)."""
    est = weights @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", weights, covariance, weights))
    dfs = [float(df)] * len(names) if isinstance(df, int | float) else [float(d) for d in df]
    return tuple(
        make_estimate(n, e, s, d, level) for n, e, s, d in zip(names, est, se, dfs, strict=True)
    )


def matrix_tuple(m: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """A matrix as nested tuples of floats (results stay immutable and comparable)."""
    return tuple(tuple(float(x) for x in row) for row in np.asarray(m))


class ArmComparisons:
    """Lookups shared by the results that carry ``coefficients`` and treatment-minus-control
    ``differences`` (the ANCOVA and its multiple-imputation pooling)."""

    arms: tuple[str, ...]
    coefficients: tuple
    differences: tuple

    def coefficient(self, name: str):
        for c in self.coefficients:
            if c.name == name:
                return c
        raise v.reject("name", name, f"one of {[c.name for c in self.coefficients]}")

    @property
    def difference(self):
        """The treatment - control difference (two arms; else see ``differences``)."""
        if len(self.differences) != 1:
            raise v.reject("arms", list(self.arms), "exactly two arms for a single difference")
        return self.differences[0]

    def confidence_interval(self, level: float | None = None) -> tuple[float, float]:
        """CI of the treatment - control difference (two arms)."""
        return self.difference.confidence_interval(level)
