"""ROC analysis of a diagnostic marker, computed as R's pROC (1.18) computes it.

Conventions (each one is pROC's; ``docs/analysis-roc-qpcr-planning.md`` has the details):

* **Groups.** ``controls`` (condition absent) and ``cases`` (condition present) are given
  separately, as ``pROC::roc(controls=, cases=)``.
* **Direction.** ``"<"``: controls have lower values, a value at or above the threshold is
  positive. ``">"``: controls have higher values, a value at or below the threshold is
  positive. ``"auto"`` chooses ``"<"`` when median(controls) <= median(cases), else ``">"``
  (pROC's rule, which makes the AUC at least 0.5 in most data; an explicit direction keeps an
  AUC below 0.5 as it is).
* **Thresholds** are -inf, the midpoints between adjacent distinct observed values, and +inf
  (pROC ``roc.utils.thresholds``, including its repair of midpoints that round onto an
  observed value). The curve is ordered by increasing specificity, as pROC stores it.
* **AUC** is the Mann-Whitney probability P(case ranks above control) with ties counted 1/2;
  its variance is DeLong's (DeLong, DeLong & Clarke-Pearson 1988), computed from the
  mid-rank placements of Sun & Xu (2014) exactly as pROC's ``delongPlacementsCpp``.
  The CI is the normal interval AUC ± z SE clipped to [0, 1] (``ci.auc(method="delong")``).
* **Optimal cut-offs** (``coords(x="best")``): Youden maximises se + r·sp, closest-top-left
  minimises (1 - se)² + r·(1 - sp)², with r = (1 - prevalence) / (cost · prevalence) from
  ``best.weights = (cost, prevalence)`` = (1, 0.5) by default (r = 1). Every threshold that
  attains the optimum exactly is returned, in pROC's order (increasing specificity).
* **Sensitivity and specificity at a cut-off** use the direction's rule above; the Wilson
  interval is ``prop.test(x, n, correct = FALSE)``, the Clopper-Pearson one ``binom.test``.
* **DeLong tests** (``roc.test(method = "delong")``): paired, Z = (AUC1 - AUC2) / SE of the
  difference with the covariance of the placements, normal p-value and CI of the difference;
  unpaired, D = (AUC1 - AUC2) / sqrt(V1 + V2) referred to a t distribution with pROC's
  Welch-type degrees of freedom.

References
----------
DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated
receiver operating characteristic curves: a nonparametric approach. *Biometrics*
1988;44:837-845.
Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under
correlated receiver operating characteristic curves. *IEEE Signal Process Lett*
2014;21:1389-1393.
Robin X, Turck N, Hainard A, et al. pROC: an open-source package for R and S+ to analyze and
compare ROC curves. *BMC Bioinformatics* 2011;12:77.
Youden WJ. Index for rating diagnostic tests. *Cancer* 1950;3:32-35.
Wilson EB. *J Am Stat Assoc* 1927;22:209-212. Clopper CJ, Pearson ES. *Biometrika*
1934;26:404-413.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from trialdesk.core.design import _validate as v

DIRECTIONS = ("auto", "<", ">")
BEST_METHODS = ("youden", "closest.topleft")
CI_METHODS = ("wilson", "clopper-pearson")
ALTERNATIVES = ("two-sided", "greater", "less")


# --- the curve -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RocResult:
    """An empirical ROC curve with its AUC and DeLong variance (pROC's ``roc`` object).

    Attributes
    ----------
    controls, cases : tuple[float, ...]
        The marker values of each group, in the order given (the order matters for a paired
        DeLong test only).
    direction : str
        ``"<"`` or ``">"`` as used (after resolving ``"auto"``).
    direction_requested : str
        What the caller asked for (``"auto"``, ``"<"`` or ``">"``).
    thresholds, sensitivities, specificities : tuple[float, ...]
        The curve in pROC's order (increasing specificity).
    auc : float
        Area under the curve, ties counted 1/2.
    auc_variance : float or None
        DeLong variance of the AUC (None with fewer than 2 cases or 2 controls).
    """

    controls: tuple[float, ...]
    cases: tuple[float, ...]
    direction: str
    direction_requested: str
    thresholds: tuple[float, ...]
    sensitivities: tuple[float, ...]
    specificities: tuple[float, ...]
    auc: float
    auc_variance: float | None
    case_placements: tuple[float, ...] = field(repr=False)
    control_placements: tuple[float, ...] = field(repr=False)

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    @property
    def n_controls(self) -> int:
        return len(self.controls)

    @property
    def auc_se(self) -> float | None:
        return None if self.auc_variance is None else math.sqrt(self.auc_variance)

    def confidence_interval(self, level: float = 0.95) -> tuple[float, float]:
        """DeLong confidence interval for the AUC, clipped to [0, 1] (pROC ``ci.auc``)."""
        conf = v.probability("level", level)
        if self.auc_variance is None:
            raise v.reject(
                "cases/controls",
                (self.n_cases, self.n_controls),
                "the DeLong interval needs at least 2 cases and 2 controls",
            )
        z = float(stats.norm.isf((1.0 - conf) / 2.0))
        se = math.sqrt(self.auc_variance)
        return max(0.0, self.auc - z * se), min(1.0, self.auc + z * se)

    def to_dict(self) -> dict[str, object]:
        ci = None if self.auc_variance is None else list(self.confidence_interval(0.95))
        return {
            "n_controls": self.n_controls,
            "n_cases": self.n_cases,
            "direction": self.direction,
            "direction_requested": self.direction_requested,
            "auc": self.auc,
            "auc_variance": self.auc_variance,
            "auc_se": self.auc_se,
            "auc_ci_95": ci,
            "thresholds": [_json_float(t) for t in self.thresholds],
            "sensitivities": list(self.sensitivities),
            "specificities": list(self.specificities),
        }

    def summary(self) -> str:
        rule = "controls < cases" if self.direction == "<" else "controls > cases"
        lines = [
            f"ROC: {self.n_cases} cases, {self.n_controls} controls; direction {self.direction} "
            f"({rule}{', chosen by medians' if self.direction_requested == 'auto' else ''})",
        ]
        if self.auc_variance is None:
            lines.append(f"AUC {self.auc:.4f} (no DeLong CI: fewer than 2 per group)")
        else:
            lo, hi = self.confidence_interval(0.95)
            lines.append(
                f"AUC {self.auc:.4f}, DeLong SE {self.auc_se:.4f}, 95% CI {lo:.4f} to {hi:.4f}"
            )
        return "\n".join(lines)


def roc_curve(
    *,
    controls: Sequence[float],
    cases: Sequence[float],
    direction: str = "auto",
) -> RocResult:
    """The empirical ROC curve of a marker, as ``pROC::roc(controls=, cases=, direction=)``.

    Parameters
    ----------
    controls, cases : sequences of finite floats
        Marker values of participants without and with the condition (at least one each).
    direction : {"auto", "<", ">"}
        ``"<"``: controls lower than cases; ``">"``: controls higher; ``"auto"``: chosen by
        the medians as pROC does.

    Returns
    -------
    RocResult
    """
    ctrl = _values("controls", controls)
    case = _values("cases", cases)
    direction = _choice("direction", direction, DIRECTIONS)
    used = _resolve_direction(direction, ctrl, case)
    thresholds = _thresholds(np.concatenate([ctrl, case]), used)
    se, sp = _performance(thresholds, ctrl, case, used)
    if _is_unsorted(sp):  # pROC sort.roc: specificities increasing
        thresholds, se, sp = thresholds[::-1], se[::-1], sp[::-1]
    x, y, theta = _placements(ctrl, case, used)
    return RocResult(
        controls=tuple(float(c) for c in ctrl),
        cases=tuple(float(c) for c in case),
        direction=used,
        direction_requested=direction,
        thresholds=tuple(float(t) for t in thresholds),
        sensitivities=tuple(float(s) for s in se),
        specificities=tuple(float(s) for s in sp),
        auc=theta,
        auc_variance=_delong_variance(x, y, theta),
        case_placements=tuple(float(p) for p in x),
        control_placements=tuple(float(p) for p in y),
    )


def roc_from_response(
    *,
    response: Sequence[object],
    predictor: Sequence[float],
    levels: tuple[object, object],
    direction: str = "auto",
) -> RocResult:
    """The ROC curve from one outcome column and one marker column (``pROC::roc(response,
    predictor, levels = c(control, case))``).

    ``levels`` = (control value, case value) must be given: pROC's default (the sorted factor
    levels, first = control) silently depends on spelling. Rows whose response is neither
    level are left out, as pROC does. Curves built from the same ``response`` list their
    participants in the same order, as a paired DeLong test needs.
    """
    if len(response) != len(predictor):
        raise v.reject(
            "predictor", f"{len(predictor)} values", f"one per response ({len(response)})"
        )
    try:
        control, case = levels
    except (TypeError, ValueError):
        raise v.reject("levels", levels, "give (control value, case value)") from None
    if control == case:
        raise v.reject("levels", levels, "the control and case values must differ")
    present = set(response)
    for name, level in (("control", control), ("case", case)):
        if level not in present:
            raise v.reject("levels", levels, f"no response equals the {name} value {level!r}")
    return roc_curve(
        controls=[x for r, x in zip(response, predictor, strict=True) if r == control],
        cases=[x for r, x in zip(response, predictor, strict=True) if r == case],
        direction=direction,
    )


def _resolve_direction(direction: str, controls: np.ndarray, cases: np.ndarray) -> str:
    if direction != "auto":
        return direction
    return "<" if float(np.median(controls)) <= float(np.median(cases)) else ">"


def _thresholds(predictor: np.ndarray, direction: str) -> np.ndarray:
    """pROC ``roc.utils.thresholds``: -inf, midpoints of distinct values, +inf."""
    u = np.unique(predictor)
    lo = np.concatenate([[-np.inf], u])
    hi = np.concatenate([u, [np.inf]])
    with np.errstate(invalid="ignore", over="ignore"):
        t1 = (lo + hi) / 2.0
        t2 = lo / 2.0 + hi / 2.0
    t = np.where(np.abs(t1) > 1e100, t2, t1)
    observed = set(predictor.tolist())
    for j in range(1, len(u)):  # near ties: a midpoint that rounded onto an observed value
        if t[j] not in observed:
            continue
        below, above = u[j - 1], u[j]
        if direction == "<" and t[j] == below:
            t[j] = above
        elif direction == ">" and t[j] == above:
            t[j] = below
    return t


def _performance(
    thresholds: np.ndarray, controls: np.ndarray, cases: np.ndarray, direction: str
) -> tuple[np.ndarray, np.ndarray]:
    tp, tn = _counts(thresholds, controls, cases, direction)
    return tp / len(cases), tn / len(controls)


def _counts(
    thresholds: np.ndarray, controls: np.ndarray, cases: np.ndarray, direction: str
) -> tuple[np.ndarray, np.ndarray]:
    """True positives and true negatives at each threshold (pROC ``roc.utils.perfs``)."""
    t = thresholds[:, None]
    if direction == "<":
        return (cases[None, :] >= t).sum(axis=1), (controls[None, :] < t).sum(axis=1)
    return (cases[None, :] <= t).sum(axis=1), (controls[None, :] > t).sum(axis=1)


def _is_unsorted(x: np.ndarray) -> bool:
    return bool(np.any(np.diff(x) < 0))


def _placements(
    controls: np.ndarray, cases: np.ndarray, direction: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """DeLong placements with mid-ranks (pROC ``delongPlacementsCpp``).

    X_i = P(control < case_i) + P(control = case_i) / 2 for each case; Y_j = P(case >
    control_j) + P(case = control_j) / 2 for each control; AUC = mean of X.
    """
    if direction == ">":
        controls, cases = -controls, -cases
    sc, sx = np.sort(controls), np.sort(cases)
    n, m = len(controls), len(cases)
    below_c = np.searchsorted(sc, cases, side="left")
    equal_c = np.searchsorted(sc, cases, side="right") - below_c
    x = (below_c + equal_c / 2.0) / n
    below_x = np.searchsorted(sx, controls, side="left")
    equal_x = np.searchsorted(sx, controls, side="right") - below_x
    y = 1.0 - (below_x + equal_x / 2.0) / m
    theta = float((below_c + equal_c / 2.0).sum() / m / n)
    return x, y, theta


def _delong_variance(x: np.ndarray, y: np.ndarray, theta: float) -> float | None:
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        return None
    sx = float(np.sum((x - theta) ** 2)) / (m - 1)
    sy = float(np.sum((y - theta) ** 2)) / (n - 1)
    return sx / m + sy / n


# --- cut-offs --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Cutoff:
    """One optimal threshold (a row of pROC's ``coords(x = "best")``).

    ``criterion`` is the value pROC reports in its ``youden`` column (se + r·sp, which is the
    Youden index J + 1 when r = 1) or ``closest.topleft`` column ((1 - se)² + r·(1 - sp)²).
    """

    threshold: float
    sensitivity: float
    specificity: float
    method: str
    criterion: float

    @property
    def youden_index(self) -> float:
        """J = sensitivity + specificity - 1."""
        return self.sensitivity + self.specificity - 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": _json_float(self.threshold),
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "method": self.method,
            "criterion": self.criterion,
            "youden_index": self.youden_index,
        }


def optimal_cutoffs(
    *,
    roc: RocResult,
    method: str = "youden",
    weights: tuple[float, float] = (1.0, 0.5),
) -> tuple[Cutoff, ...]:
    """Every threshold attaining the optimum, as ``coords(roc, "best", best.method=method)``.

    Parameters
    ----------
    roc : RocResult
    method : {"youden", "closest.topleft"}
    weights : (cost, prevalence)
        pROC's ``best.weights``: the relative cost of a false negative and the prevalence;
        r = (1 - prevalence) / (cost · prevalence) weighs specificity (r = 1 by default).

    Returns
    -------
    tuple of Cutoff
        Ties (exactly equal criteria) all returned, in increasing specificity.
    """
    method = _choice("method", method, BEST_METHODS)
    r = _weight_ratio(weights)
    se = np.asarray(roc.sensitivities)
    sp = np.asarray(roc.specificities)
    crit = se + r * sp if method == "youden" else -((1.0 - se) ** 2 + r * (1.0 - sp) ** 2)
    best = np.flatnonzero(crit == crit.max())
    sign = 1.0 if method == "youden" else -1.0
    return tuple(
        Cutoff(
            threshold=roc.thresholds[i],
            sensitivity=roc.sensitivities[i],
            specificity=roc.specificities[i],
            method=method,
            criterion=float(sign * crit[i]),
        )
        for i in best
    )


def _weight_ratio(weights: tuple[float, float]) -> float:
    try:
        cost, prevalence = (float(w) for w in weights)
    except (TypeError, ValueError):
        raise v.reject("weights", weights, "give (cost, prevalence), e.g. (1, 0.5)") from None
    v.positive("weights[0] (cost)", cost)
    v.probability("weights[1] (prevalence)", prevalence)
    return (1.0 - prevalence) / (cost * prevalence)


# --- sensitivity and specificity at a cut-off -----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CutoffPerformance:
    """Sensitivity and specificity at one threshold, with their confidence intervals.

    Attributes
    ----------
    threshold, direction : float, str
        ``"<"``: positive when value >= threshold; ``">"``: positive when value <= threshold.
    true_positives, false_negatives, true_negatives, false_positives : int
    level : float
        Confidence level of the intervals.
    sensitivity_wilson, specificity_wilson : (float, float)
        Wilson score intervals (R ``prop.test(x, n, correct = FALSE)``).
    sensitivity_exact, specificity_exact : (float, float)
        Clopper-Pearson intervals (R ``binom.test``).
    """

    threshold: float
    direction: str
    true_positives: int
    false_negatives: int
    true_negatives: int
    false_positives: int
    level: float
    sensitivity_wilson: tuple[float, float]
    specificity_wilson: tuple[float, float]
    sensitivity_exact: tuple[float, float]
    specificity_exact: tuple[float, float]

    @property
    def sensitivity(self) -> float:
        return self.true_positives / (self.true_positives + self.false_negatives)

    @property
    def specificity(self) -> float:
        return self.true_negatives / (self.true_negatives + self.false_positives)

    def confidence_interval(self, quantity: str, method: str = "wilson") -> tuple[float, float]:
        """The interval of ``"sensitivity"`` or ``"specificity"`` by ``method``."""
        quantity = _choice("quantity", quantity, ("sensitivity", "specificity"))
        method = _choice("method", method, CI_METHODS)
        suffix = "wilson" if method == "wilson" else "exact"
        ci: tuple[float, float] = getattr(self, f"{quantity}_{suffix}")
        return ci

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": _json_float(self.threshold),
            "direction": self.direction,
            "true_positives": self.true_positives,
            "false_negatives": self.false_negatives,
            "true_negatives": self.true_negatives,
            "false_positives": self.false_positives,
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "level": self.level,
            "sensitivity_wilson": list(self.sensitivity_wilson),
            "specificity_wilson": list(self.specificity_wilson),
            "sensitivity_exact": list(self.sensitivity_exact),
            "specificity_exact": list(self.specificity_exact),
        }

    def summary(self) -> str:
        rule = ">=" if self.direction == "<" else "<="
        pct = f"{self.level:.0%}"
        sw, xw = self.sensitivity_wilson, self.specificity_wilson
        se_, sx_ = self.sensitivity_exact, self.specificity_exact
        n_case = self.true_positives + self.false_negatives
        n_ctrl = self.true_negatives + self.false_positives
        return "\n".join(
            [
                f"cut-off: positive when value {rule} {self.threshold:.4g}",
                f"sensitivity {self.true_positives}/{n_case} = {self.sensitivity:.4f} "
                f"({pct} Wilson {sw[0]:.4f}-{sw[1]:.4f}; exact {se_[0]:.4f}-{se_[1]:.4f})",
                f"specificity {self.true_negatives}/{n_ctrl} = {self.specificity:.4f} "
                f"({pct} Wilson {xw[0]:.4f}-{xw[1]:.4f}; exact {sx_[0]:.4f}-{sx_[1]:.4f})",
            ]
        )


def performance_at(*, roc: RocResult, threshold: float, level: float = 0.95) -> CutoffPerformance:
    """Sensitivity and specificity at ``threshold`` (pROC ``coords(x = threshold)``)."""
    t = float(threshold)
    if math.isnan(t):
        raise v.reject("threshold", threshold, "the threshold must be a number (±inf allowed)")
    conf = v.probability("level", level)
    ctrl, case = np.asarray(roc.controls), np.asarray(roc.cases)
    tp_a, tn_a = _counts(np.array([t]), ctrl, case, roc.direction)
    tp, tn = int(tp_a[0]), int(tn_a[0])
    return CutoffPerformance(
        threshold=t,
        direction=roc.direction,
        true_positives=tp,
        false_negatives=roc.n_cases - tp,
        true_negatives=tn,
        false_positives=roc.n_controls - tn,
        level=conf,
        sensitivity_wilson=wilson_interval(successes=tp, n=roc.n_cases, level=conf),
        specificity_wilson=wilson_interval(successes=tn, n=roc.n_controls, level=conf),
        sensitivity_exact=clopper_pearson_interval(successes=tp, n=roc.n_cases, level=conf),
        specificity_exact=clopper_pearson_interval(successes=tn, n=roc.n_controls, level=conf),
    )


def wilson_interval(*, successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval without continuity correction (R ``prop.test(correct=FALSE)``)."""
    x, n = _binomial(successes, n)
    z = float(stats.norm.isf((1.0 - v.probability("level", level)) / 2.0))
    p = x / n
    z22n = z * z / (2.0 * n)
    half = z * math.sqrt(p * (1.0 - p) / n + z22n / (2.0 * n))
    lo = (p + z22n - half) / (1.0 + 2.0 * z22n)
    hi = (p + z22n + half) / (1.0 + 2.0 * z22n)
    return max(0.0, lo), min(1.0, hi)


def clopper_pearson_interval(*, successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact Clopper-Pearson interval (R ``binom.test``)."""
    x, n = _binomial(successes, n)
    a = (1.0 - v.probability("level", level)) / 2.0
    lo = 0.0 if x == 0 else float(stats.beta.ppf(a, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.ppf(1.0 - a, x + 1, n - x))
    return lo, hi


def _binomial(successes: int, n: int) -> tuple[int, int]:
    if not isinstance(n, int | np.integer) or n < 1:
        raise v.reject("n", n, "the number of trials must be a positive integer")
    if not isinstance(successes, int | np.integer) or not 0 <= successes <= n:
        raise v.reject("successes", successes, f"an integer from 0 to n = {n}")
    return int(successes), int(n)


# --- DeLong tests ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DelongTestResult:
    """DeLong's comparison of two AUCs (pROC ``roc.test(method = "delong")``).

    Attributes
    ----------
    paired : bool
        Paired: both markers measured on the same participants (Z, normal reference).
        Unpaired: independent samples (D, t reference with ``df``).
    auc_first, auc_second, difference : float
        The two AUCs and AUC1 - AUC2.
    standard_error : float
        SE of the difference.
    statistic : float
        Z (paired) or D (unpaired).
    df : float or None
        Degrees of freedom of the unpaired test.
    p_value : float
    alternative : str
        ``"two-sided"``, ``"greater"`` (AUC1 > AUC2) or ``"less"``.
    confidence_interval : (float, float) or None
        CI of the difference (paired only, as pROC; normal, not clipped).
    level : float
    notes : tuple[str, ...]
    """

    paired: bool
    auc_first: float
    auc_second: float
    difference: float
    standard_error: float
    statistic: float
    df: float | None
    p_value: float
    alternative: str
    confidence_interval: tuple[float, float] | None
    level: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        ci = self.confidence_interval
        return {
            "paired": self.paired,
            "auc_first": self.auc_first,
            "auc_second": self.auc_second,
            "difference": self.difference,
            "standard_error": self.standard_error,
            "statistic": _json_float(self.statistic),
            "df": self.df,
            "p_value": self.p_value,
            "alternative": self.alternative,
            "confidence_interval": None if ci is None else list(ci),
            "level": self.level,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        kind = "paired (correlated)" if self.paired else "unpaired"
        name = "Z" if self.paired else f"D (df {self.df:.2f})"
        lines = [
            f"DeLong test, {kind}, {self.alternative}: AUC {self.auc_first:.4f} vs "
            f"{self.auc_second:.4f}, difference {self.difference:.4f} (SE "
            f"{self.standard_error:.4f})",
            f"{name} = {self.statistic:.4f}, p = {self.p_value:.4g}",
        ]
        if self.confidence_interval is not None:
            lo, hi = self.confidence_interval
            lines.append(f"{self.level:.0%} CI of the difference: {lo:.4f} to {hi:.4f}")
        return "\n".join(lines + list(self.notes))


def delong_test(
    *,
    first: RocResult,
    second: RocResult,
    paired: bool,
    alternative: str = "two-sided",
    level: float = 0.95,
) -> DelongTestResult:
    """Compare two AUCs by DeLong's method.

    Parameters
    ----------
    first, second : RocResult
        For ``paired=True`` both curves must come from the same participants, listed in the
        same order within controls and within cases (the i-th control of ``first`` is the
        i-th control of ``second``); each keeps its own direction, as in pROC.
    paired : bool
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: AUC of ``first`` above that of ``second``.
    level : float
        Level of the CI of the difference (paired test only).
    """
    alternative = _choice("alternative", alternative, ALTERNATIVES)
    conf = v.probability("level", level)
    for name, roc in (("first", first), ("second", second)):
        if roc.auc_variance is None:
            raise v.reject(name, (roc.n_cases, roc.n_controls), "need >= 2 cases and controls")
    notes: tuple[str, ...] = ()
    if first.direction != second.direction:
        notes = (
            f"The curves have different directions ({first.direction} and "
            f"{second.direction}); pROC warns that DeLong's test should not be used so.",
        )
    if paired:
        return _paired(first, second, alternative, conf, notes)
    return _unpaired(first, second, alternative, conf, notes)


def _paired(
    first: RocResult, second: RocResult, alternative: str, level: float, notes: tuple[str, ...]
) -> DelongTestResult:
    if (first.n_cases, first.n_controls) != (second.n_cases, second.n_controls):
        raise v.reject(
            "second",
            (second.n_cases, second.n_controls),
            f"a paired test needs the same cases and controls as first "
            f"({first.n_cases} cases, {first.n_controls} controls)",
        )
    x1, x2 = np.asarray(first.case_placements), np.asarray(second.case_placements)
    y1, y2 = np.asarray(first.control_placements), np.asarray(second.control_placements)
    m, n = len(x1), len(y1)
    dx1, dx2 = x1 - first.auc, x2 - second.auc
    dy1, dy2 = y1 - first.auc, y2 - second.auc
    sx = np.array([[dx1 @ dx1, dx1 @ dx2], [dx2 @ dx1, dx2 @ dx2]]) / (m - 1)
    sy = np.array([[dy1 @ dy1, dy1 @ dy2], [dy2 @ dy1, dy2 @ dy2]]) / (n - 1)
    s = sx / m + sy / n
    contrast = np.array([1.0, -1.0])
    sig = math.sqrt(max(float(contrast @ s @ contrast), 0.0))
    d = first.auc - second.auc
    z = _ratio(d, sig)
    zc = float(stats.norm.isf((1.0 - level) / 2.0))
    return DelongTestResult(
        paired=True,
        auc_first=first.auc,
        auc_second=second.auc,
        difference=d,
        standard_error=sig,
        statistic=z,
        df=None,
        p_value=_p_value(z, alternative, None),
        alternative=alternative,
        confidence_interval=(d - zc * sig, d + zc * sig),
        level=level,
        notes=notes,
    )


def _unpaired(
    first: RocResult, second: RocResult, alternative: str, level: float, notes: tuple[str, ...]
) -> DelongTestResult:
    assert first.auc_variance is not None and second.auc_variance is not None
    sr, ss = first.auc_variance, second.auc_variance
    se = math.sqrt(sr + ss)
    d = first.auc - second.auc
    stat = _ratio(d, se)
    n_r = first.n_cases + first.n_controls
    n_s = second.n_cases + second.n_controls
    df = (sr + ss) ** 2 / (sr**2 / (n_r - 1) + ss**2 / (n_s - 1)) if se > 0 else math.inf
    return DelongTestResult(
        paired=False,
        auc_first=first.auc,
        auc_second=second.auc,
        difference=d,
        standard_error=se,
        statistic=stat,
        df=float(df),
        p_value=_p_value(stat, alternative, df),
        alternative=alternative,
        confidence_interval=None,
        level=level,
        notes=notes,
    )


def _ratio(d: float, se: float) -> float:
    if se > 0.0:
        return d / se
    return 0.0 if d == 0.0 else math.copysign(math.inf, d)  # pROC: no difference -> Z = 0


def _p_value(stat: float, alternative: str, df: float | None) -> float:
    dist = stats.norm if df is None or math.isinf(df) else stats.t(df)
    if alternative == "two-sided":
        return float(2.0 * dist.cdf(-abs(stat)))
    if alternative == "greater":
        return float(dist.cdf(-stat))
    return float(dist.cdf(stat))


# --- the protocol's quoted performance -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class QuotedPerformance:
    """Diagnostic performance quoted by a protocol (proportions, not percentages)."""

    sensitivity: float
    specificity: float
    auc: float
    source: str


#: NCT07183384's quoted performance of plasma miR-126-3p (85.71 %, 81.82 %, AUC 0.792). The
#: source was not located (/work/shared/notes/clinical.md §0): a protocol-supplied assumption.
PROTOCOL_MIR126 = QuotedPerformance(
    sensitivity=0.8571,
    specificity=0.8182,
    auc=0.792,
    source="NCT07183384 protocol (original source not located)",
)


@dataclass(frozen=True, kw_only=True)
class QuotedCheck:
    """One quoted figure against the observed estimate and its confidence interval."""

    quantity: str
    quoted: float
    observed: float
    ci_lower: float
    ci_upper: float
    method: str

    @property
    def inside(self) -> bool:
        """Whether the quoted value lies in the observed CI (bounds included)."""
        return self.ci_lower <= self.quoted <= self.ci_upper

    def to_dict(self) -> dict[str, object]:
        return {
            "quantity": self.quantity,
            "quoted": self.quoted,
            "observed": self.observed,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "method": self.method,
            "inside": self.inside,
        }


@dataclass(frozen=True, kw_only=True)
class QuotedComparisonResult:
    """Observed diagnostic performance against the protocol's quoted figures."""

    quoted: QuotedPerformance
    threshold: float
    level: float
    checks: tuple[QuotedCheck, ...]
    performance: CutoffPerformance
    notes: tuple[str, ...]

    @property
    def consistent(self) -> bool:
        """True when every quoted figure lies inside its observed CI."""
        return all(c.inside for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {
            "quoted_source": self.quoted.source,
            "threshold": _json_float(self.threshold),
            "level": self.level,
            "consistent": self.consistent,
            "checks": [c.to_dict() for c in self.checks],
            "performance": self.performance.to_dict(),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        lines = [f"Observed vs quoted ({self.quoted.source}), {self.level:.0%} CIs:"]
        for c in self.checks:
            verdict = "inside" if c.inside else "OUTSIDE"
            lines.append(
                f"  {c.quantity}: quoted {c.quoted:.4f}, observed {c.observed:.4f} "
                f"({c.ci_lower:.4f}-{c.ci_upper:.4f}, {c.method}): {verdict}"
            )
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


def compare_with_quoted(
    *,
    roc: RocResult,
    threshold: float,
    quoted: QuotedPerformance = PROTOCOL_MIR126,
    level: float = 0.95,
    method: str = "wilson",
    threshold_from_data: bool = False,
) -> QuotedComparisonResult:
    """Whether each quoted figure (sensitivity, specificity, AUC) lies in the observed CI.

    Sensitivity and specificity are taken at ``threshold`` with Wilson or Clopper-Pearson
    intervals (``method``); the AUC with its DeLong interval. Set ``threshold_from_data`` when
    the cut-off was chosen on the same data (e.g. Youden): the observed sensitivity and
    specificity are then optimistic, and the result says so.
    """
    method = _choice("method", method, CI_METHODS)
    perf = performance_at(roc=roc, threshold=threshold, level=level)
    lo, hi = roc.confidence_interval(level)
    checks = (
        _check("sensitivity", quoted.sensitivity, perf, method),
        _check("specificity", quoted.specificity, perf, method),
        QuotedCheck(
            quantity="auc",
            quoted=quoted.auc,
            observed=roc.auc,
            ci_lower=lo,
            ci_upper=hi,
            method="delong",
        ),
    )
    notes = ["The quoted figures are a protocol-supplied assumption (source not located)."]
    if threshold_from_data:
        notes.append(
            "The cut-off was chosen on these data: the observed sensitivity and specificity "
            "are optimistic, and their intervals do not account for the choice."
        )
    return QuotedComparisonResult(
        quoted=quoted,
        threshold=perf.threshold,
        level=perf.level,
        checks=checks,
        performance=perf,
        notes=tuple(notes),
    )


def _check(quantity: str, quoted: float, perf: CutoffPerformance, method: str) -> QuotedCheck:
    lo, hi = perf.confidence_interval(quantity, method)
    return QuotedCheck(
        quantity=quantity,
        quoted=quoted,
        observed=getattr(perf, quantity),
        ci_lower=lo,
        ci_upper=hi,
        method=method,
    )


# --- helpers ---------------------------------------------------------------------------------


def _values(name: str, values: Sequence[float]) -> np.ndarray:
    try:
        arr = np.asarray([float(x) for x in values], dtype=float)
    except (TypeError, ValueError):
        raise v.reject(name, values, f"{name} must be a sequence of numbers") from None
    if arr.size == 0:
        raise v.reject(name, [], f"{name} needs at least one value")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise v.reject(f"{name}[{i}]", values[i], "marker values must be finite numbers")
    return arr


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise v.reject(name, value, "allowed: " + ", ".join(repr(a) for a in allowed))
    return value


def _json_float(x: float) -> float | str:
    """JSON has no infinity: ±inf as the strings "Inf" / "-Inf" (as jsonlite writes them)."""
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return x
