"""Two arms, a binary outcome: exact and asymptotic comparisons, as R computes them.

With x_1 of n_1 (treatment) and x_2 of n_2 (control), p_i = x_i / n_i:

* per arm: Clopper-Pearson (exact, ``binom.test``) and Wilson score (``prop.test(x, n,
  correct = FALSE)``) intervals;
* risk difference p_1 - p_2 with the Wald interval (``prop.test(c(x1, x2), c(n1, n2),
  correct = FALSE)$conf.int``; clipped to [-1, 1]) and Newcombe's hybrid score interval
  (Newcombe 1998, method 10: Wilson limits l_i, u_i per arm, then
  p_1 - p_2 -/+ sqrt((p_1 - l_1)^2 + (u_2 - p_2)^2) / sqrt((u_1 - p_1)^2 + (p_2 - l_2)^2));
* relative risk p_1 / p_2 and odds ratio x_1 (n_2 - x_2) / (x_2 (n_1 - x_1)) with Wald
  intervals on the log scale, SE sqrt(1/x_1 - 1/n_1 + 1/x_2 - 1/n_2) and
  sqrt(1/x_1 + 1/(n_1 - x_1) + 1/x_2 + 1/(n_2 - x_2)); with a zero cell they are undefined
  and reported as None (no continuity correction is added silently);
* Fisher's exact test as ``fisher.test`` on the table rows (treatment, control) x columns
  (event, no event): two-sided p = sum of the conditional (hypergeometric) probabilities of
  the tables no more probable than the observed one, with R's relative tolerance 1e-7; the
  conditional maximum-likelihood odds ratio and its exact interval (noncentral
  hypergeometric; ``scipy.stats.contingency.odds_ratio(kind="conditional")``, solved to
  1e-12 where R's ``uniroot`` stops at about 1e-4, see ``docs/analysis-models.md``);
* Pearson's chi-square without and with Yates' continuity correction, as ``prop.test``
  (the correction is min(0.5, |p_1 - p_2| / (1/n_1 + 1/n_2))).

References: Newcombe RG. Interval estimation for the difference between independent
proportions: comparison of eleven methods. *Stat Med* 1998;17:873-890. Agresti A.
*Categorical Data Analysis*, 3rd ed., 2013, §3.1 and §3.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio
from statsmodels.stats.proportion import proportion_confint

from trialdesk.core.analysis import _frame as fr
from trialdesk.core.analysis._estimate import check_level, critical_value
from trialdesk.core.design import _validate as v

Interval = tuple[float, float]

# fisher.test counts a table as "as extreme" when its probability is within this relative
# tolerance of the observed table's (R: relErr <- 1 + 10^(-7))
_FISHER_RELATIVE_TOLERANCE = 1.0 + 1e-7


@dataclass(frozen=True, kw_only=True)
class ArmProportion:
    """Events of n in one arm with exact and score intervals."""

    arm: str
    events: int
    n: int
    proportion: float
    clopper_pearson: Interval
    wilson: Interval

    def to_dict(self) -> dict[str, object]:
        return {
            "arm": self.arm,
            "events": self.events,
            "n": self.n,
            "proportion": self.proportion,
            "clopper_pearson": list(self.clopper_pearson),
            "wilson": list(self.wilson),
        }


@dataclass(frozen=True, kw_only=True)
class BinaryComparisonResult:
    """Treatment against control for a binary outcome (see the module docstring).

    Attributes
    ----------
    treatment, control : ArmProportion
    risk_difference : float
        p_treatment - p_control.
    relative_risk, odds_ratio : float or None
        Sample values; None where undefined (a zero denominator).
    relative_risk_ci, odds_ratio_ci : Interval or None
        Log-scale Wald intervals; None when a cell is zero.
    fisher_p_value : float
        Two-sided, as ``fisher.test``.
    fisher_odds_ratio : float
        Conditional maximum-likelihood estimate (0 or inf at the edges of the support).
    chi_square, chi_square_corrected : float
        Pearson statistics (1 df) without / with Yates' correction, and their p-values.
    """

    treatment: ArmProportion
    control: ArmProportion
    risk_difference: float
    risk_difference_wald_ci: Interval
    risk_difference_wald_corrected_ci: Interval
    risk_difference_newcombe_ci: Interval
    relative_risk: float | None
    relative_risk_ci: Interval | None
    odds_ratio: float | None
    odds_ratio_ci: Interval | None
    fisher_p_value: float
    fisher_odds_ratio: float
    fisher_odds_ratio_ci: Interval
    chi_square: float
    chi_square_p_value: float
    chi_square_corrected: float
    chi_square_corrected_p_value: float
    level: float

    def confidence_interval(self, level: float | None = None) -> Interval:
        """Newcombe's hybrid score interval of the risk difference."""
        if level is None:
            return self.risk_difference_newcombe_ci
        level = check_level(level)
        t, c = self.treatment, self.control
        return _newcombe(t.events, t.n, c.events, c.n, level)

    def to_dict(self) -> dict[str, object]:
        def iv(x: Interval | None) -> list[float] | None:
            return None if x is None else list(x)

        return {
            "method": "binary_comparison",
            "treatment": self.treatment.to_dict(),
            "control": self.control.to_dict(),
            "risk_difference": self.risk_difference,
            "risk_difference_wald_ci": iv(self.risk_difference_wald_ci),
            "risk_difference_wald_corrected_ci": iv(self.risk_difference_wald_corrected_ci),
            "risk_difference_newcombe_ci": iv(self.risk_difference_newcombe_ci),
            "relative_risk": self.relative_risk,
            "relative_risk_ci": iv(self.relative_risk_ci),
            "odds_ratio": self.odds_ratio,
            "odds_ratio_ci": iv(self.odds_ratio_ci),
            "fisher_p_value": self.fisher_p_value,
            "fisher_odds_ratio": _json_number(self.fisher_odds_ratio),
            "fisher_odds_ratio_ci": [_json_number(x) for x in self.fisher_odds_ratio_ci],
            "chi_square": self.chi_square,
            "chi_square_p_value": self.chi_square_p_value,
            "chi_square_corrected": self.chi_square_corrected,
            "chi_square_corrected_p_value": self.chi_square_corrected_p_value,
            "level": self.level,
        }

    def summary(self) -> str:
        t, c = self.treatment, self.control

        def fmt(x: Interval | None) -> str:
            return "undefined (a zero cell)" if x is None else f"{x[0]:.4g} to {x[1]:.4g}"

        pct = f"{self.level:.0%}"
        return "\n".join(
            [
                f"{t.arm}: {t.events}/{t.n} ({t.proportion:.1%}; exact {pct} CI "
                f"{fmt(t.clopper_pearson)})",
                f"{c.arm}: {c.events}/{c.n} ({c.proportion:.1%}; exact {pct} CI "
                f"{fmt(c.clopper_pearson)})",
                f"risk difference {self.risk_difference:.4g} (Newcombe {pct} CI "
                f"{fmt(self.risk_difference_newcombe_ci)}; Wald "
                f"{fmt(self.risk_difference_wald_ci)})",
                f"relative risk {_g(self.relative_risk)} ({fmt(self.relative_risk_ci)}); "
                f"odds ratio {_g(self.odds_ratio)} ({fmt(self.odds_ratio_ci)})",
                f"Fisher's exact test p = {self.fisher_p_value:.4g}; conditional MLE odds ratio "
                f"{self.fisher_odds_ratio:.4g} ({fmt(self.fisher_odds_ratio_ci)})",
                f"chi-square {self.chi_square:.4g} (p = {self.chi_square_p_value:.4g}); with "
                f"continuity correction {self.chi_square_corrected:.4g} "
                f"(p = {self.chi_square_corrected_p_value:.4g})",
            ]
        )


def _g(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.4g}"


def _json_number(x: float) -> float | str:
    return "Infinity" if math.isinf(x) else x


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise v.reject(name, value, f"{name} must be a whole number")
    return int(value)


def _counts(events: object, n: object, arm: str) -> tuple[int, int]:
    x = _count(f"events ({arm})", events)
    m = _count(f"n ({arm})", n)
    if m < 1:
        raise v.reject(f"n ({arm})", m, "at least 1 participant")
    if not 0 <= x <= m:
        raise v.reject(f"events ({arm})", x, f"between 0 and n = {m}")
    return x, m


def _arm(name: str, x: int, n: int, level: float) -> ArmProportion:
    alpha = 1.0 - level
    cp = proportion_confint(x, n, alpha=alpha, method="beta")
    wilson = proportion_confint(x, n, alpha=alpha, method="wilson")
    return ArmProportion(
        arm=name,
        events=x,
        n=n,
        proportion=x / n,
        clopper_pearson=(float(cp[0]), float(cp[1])),
        wilson=(float(wilson[0]), float(wilson[1])),
    )


def _wilson(x: int, n: int, level: float) -> Interval:
    lo, hi = proportion_confint(x, n, alpha=1.0 - level, method="wilson")
    return float(lo), float(hi)


def _newcombe(x1: int, n1: int, x2: int, n2: int, level: float) -> Interval:
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = _wilson(x1, n1, level)
    l2, u2 = _wilson(x2, n2, level)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def _wald_difference(x1: int, n1: int, x2: int, n2: int, level: float, correct: bool) -> Interval:
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    yates = min(0.5, abs(d) / (1 / n1 + 1 / n2)) if correct else 0.0
    width = critical_value(level, math.inf) * math.sqrt(
        p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    ) + yates * (1 / n1 + 1 / n2)
    return max(d - width, -1.0), min(d + width, 1.0)


def _log_wald(estimate: float, se: float, level: float) -> Interval:
    q = critical_value(level, math.inf)
    return math.exp(math.log(estimate) - q * se), math.exp(math.log(estimate) + q * se)


def _chi_square(x1: int, n1: int, x2: int, n2: int, correct: bool) -> tuple[float, float]:
    """prop.test's statistic (1 df) and p-value; nan when every outcome is the same."""
    p = (x1 + x2) / (n1 + n2)
    if p in (0.0, 1.0):
        return math.nan, math.nan
    d = x1 / n1 - x2 / n2
    yates = min(0.5, abs(d) / (1 / n1 + 1 / n2)) if correct else 0.0
    observed = np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=float)
    expected = np.array([[n1 * p, n1 * (1 - p)], [n2 * p, n2 * (1 - p)]])
    stat = float(((np.abs(observed - expected) - yates) ** 2 / expected).sum())
    return stat, float(stats.chi2.sf(stat, 1))


def _fisher_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """fisher.test's two-sided p: tables with probability <= observed x (1 + 1e-7)."""
    m, total_n = x1 + x2, n1 + n2
    support = np.arange(max(0, m - n2), min(m, n1) + 1)
    log_d = stats.hypergeom.logpmf(support, total_n, m, n1)
    d = np.exp(log_d - log_d.max())
    observed = d[support == x1][0]
    return float(min(1.0, d[d <= observed * _FISHER_RELATIVE_TOLERANCE].sum() / d.sum()))


def _conditional_odds_ratio(
    x1: int, n1: int, x2: int, n2: int, level: float
) -> tuple[float, Interval]:
    """Conditional MLE and exact CI; 0 with CI (0, inf) when no other table is possible (R)."""
    if max(0, x1 + x2 - n2) == min(x1 + x2, n1):
        return 0.0, (0.0, math.inf)
    result = scipy_odds_ratio(np.array([[x1, n1 - x1], [x2, n2 - x2]]), kind="conditional")
    ci = result.confidence_interval(confidence_level=level)
    return float(result.statistic), (float(ci.low), float(ci.high))


def compare_proportions(
    *,
    events_treatment: int,
    n_treatment: int,
    events_control: int,
    n_control: int,
    treatment: str = "treatment",
    control: str = "control",
    level: float = 0.95,
) -> BinaryComparisonResult:
    """Compare x_1/n_1 (treatment) with x_2/n_2 (control); see the module docstring."""
    level = check_level(level)
    x1, n1 = _counts(events_treatment, n_treatment, treatment)
    x2, n2 = _counts(events_control, n_control, control)
    p1, p2 = x1 / n1, x2 / n2
    rr = p1 / p2 if x2 > 0 else None
    rr_ci = None
    if x1 > 0 and x2 > 0 and rr is not None:
        rr_ci = _log_wald(rr, math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2), level)
    cells = (x1, n1 - x1, x2, n2 - x2)
    odds = x1 * (n2 - x2) / ((n1 - x1) * x2) if (n1 - x1) * x2 > 0 else None
    or_ci = None
    if min(cells) > 0 and odds is not None:
        or_ci = _log_wald(odds, math.sqrt(sum(1.0 / c for c in cells)), level)
    fisher_or, fisher_ci = _conditional_odds_ratio(x1, n1, x2, n2, level)
    chi, chi_p = _chi_square(x1, n1, x2, n2, correct=False)
    chi_c, chi_c_p = _chi_square(x1, n1, x2, n2, correct=True)
    return BinaryComparisonResult(
        treatment=_arm(treatment, x1, n1, level),
        control=_arm(control, x2, n2, level),
        risk_difference=p1 - p2,
        risk_difference_wald_ci=_wald_difference(x1, n1, x2, n2, level, correct=False),
        risk_difference_wald_corrected_ci=_wald_difference(x1, n1, x2, n2, level, correct=True),
        risk_difference_newcombe_ci=_newcombe(x1, n1, x2, n2, level),
        relative_risk=rr,
        relative_risk_ci=rr_ci,
        odds_ratio=odds,
        odds_ratio_ci=or_ci,
        fisher_p_value=_fisher_p(x1, n1, x2, n2),
        fisher_odds_ratio=fisher_or,
        fisher_odds_ratio_ci=fisher_ci,
        chi_square=chi,
        chi_square_p_value=chi_p,
        chi_square_corrected=chi_c,
        chi_square_corrected_p_value=chi_c_p,
        level=level,
    )


def binary_comparison(
    data: fr.Data,
    *,
    outcome: str,
    arm: str,
    control: str,
    event: str = "yes",
    non_event: str | None = None,
    level: float = 0.95,
) -> BinaryComparisonResult:
    """Count events by arm (two arms) and compare them with :func:`compare_proportions`.

    ``event`` is the outcome value that counts as an event; every other non-missing value
    must be ``non_event`` (default: any other value). Rows with a missing arm or outcome are
    left out.
    """
    frame = fr.as_frame(data, {"outcome": outcome, "arm": arm})
    y = fr.labels(frame, outcome)
    arms = fr.labels(frame, arm)
    keep = np.array([a is not None and b is not None for a, b in zip(y, arms, strict=True)])
    if not keep.any():
        raise v.reject("data", f"{len(frame)} rows", "at least one row with an arm and outcome")
    allowed = [str(event)] if non_event is None else [str(event), str(non_event)]
    if non_event is not None:
        bad = [x for x in y[keep] if x not in allowed]
        if bad:
            raise v.reject(f"outcome ({outcome})", bad[0], f"one of {allowed}")
    levels = fr.factor("arm", arm, arms[keep], reference=control).levels
    if len(levels) != 2:
        raise v.reject(f"arm ({arm})", list(levels), "exactly two arms")
    hit = np.array([x == str(event) for x in y])
    counts = [_tally(hit, arms, keep, a) for a in (levels[1], levels[0])]
    return compare_proportions(
        events_treatment=counts[0][0],
        n_treatment=counts[0][1],
        events_control=counts[1][0],
        n_control=counts[1][1],
        treatment=levels[1],
        control=levels[0],
        level=level,
    )


def _tally(hit: np.ndarray, arms: np.ndarray, keep: np.ndarray, arm: str) -> tuple[int, int]:
    rows = keep & np.array([a == arm for a in arms])
    return int(hit[rows].sum()), int(rows.sum())
