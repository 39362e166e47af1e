"""Power and sample size of a two-group comparison of means under a group-sequential design,
computed as rpact's ``getPowerMeans`` and ``getSampleSizeMeans`` compute them.

rpact's conventions (read from rpact 3.3.4 ``R/f_design_sample_size_calculator.R`` and
``R/class_design_power_and_asn.R``; unchanged in 4.x ``R/f_design_plan_means.R``):

* Groups 1 and 2 with ``allocation_ratio`` r = n_1 / n_2 (rpact's ``allocationRatioPlanned``);
  ``alternative`` is the mean difference mu_1 - mu_2, ``theta_h0`` its null value, ``sd`` the
  common standard deviation. Sample sizes are **total** subjects and are not rounded.
* The standardized per-subject effect is theta = sqrt(r) / (1 + r) (alternative - theta_h0) /
  sd, so the z drift at N subjects is theta sqrt(N).
* ``normal_approximation=False`` (rpact's default) replaces the z drift by the **t-adjusted
  drift**: the drift of a z test at one-sided level alpha / sided with the same power as the
  fixed-sample t test with N - 2 degrees of freedom,

      drift = sign(theta) z_{1-alpha/sided} - Phi^-1( F_{t, N-2, theta sqrt(N)}(sign(theta)
              t_{1-alpha/sided, N-2}) ),

  and then uses the group-sequential boundaries of the design unchanged (the stages do not
  get their own degrees of freedom).
* Power (``getPowerMeans``): exact boundary-crossing probabilities at that drift. Futility
  bounds stop the trial whether binding or not; a two-sided design counts rejections in both
  tails. Expected N = N sum_k t_k P(stop at look k).
* Sample size (``getSampleSizeMeans``): the fixed-design N solves the one-tailed t power
  equation (``twoSidedPower = FALSE``) F_{t, df, ncp}(t_{1-alpha/sided, df}) = beta with
  df = N - 2 and ncp = sqrt(n_2 r / (1 + r)) |alternative - theta_h0| / sd; the maximum N is
  N_fixed times the design's inflation factor; expected numbers and stage-wise probabilities
  are the design characteristics (z scale) scaled by N_fixed. rpact finds the root with
  ``uniroot(tol = 1e-4)`` on n_2; here it is solved to ~1e-12 (rpact's value can differ by
  up to ~1e-4 subjects).
* Boundaries on the effect scale (``criticalValuesEffectScale``): with n_k = t_k N subjects at
  look k, c_k^t = t_{df_k}^-1(1 - stage level_k) (df_k = n_k - 2) or the z bound when
  ``normal_approximation``, and the mean difference theta_h0 ± c_k sd (1 + r) / sqrt(r n_k).
  Futility bounds go through t_{df_k}^-1(Phi(a_k)). rpact leaves out a t critical value above
  50 and a futility bound at or below -6 (its "no bound" placeholder): here they are None.

References
----------
Wassmer G, Brannath W. *Group Sequential and Confirmatory Adaptive Designs in Clinical
Trials*. Springer, 2016 (rpact's methods).
rpact 3.3.4, ``getPowerMeans``, ``getSampleSizeMeans``, ``getPowerAndAverageSampleNumber``,
``.getEffectScaleBoundaryDataMeans``.
Jennison C, Turnbull BW. *Group Sequential Methods*. Chapman & Hall/CRC, 2000, ch. 3
(group-sequential t tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import optimize, stats

from trialdesk.core.design import _validate as v
from trialdesk.core.sequential.design import GroupSequentialDesign

_NO_FUTILITY = -6.0  # rpact's C_FUTILITY_BOUNDS_DEFAULT ("no futility bound")
_MAX_T_CRITICAL = 50.0  # rpact leaves out t critical values above 50 ("too small df")


@dataclass(frozen=True, kw_only=True)
class EffectScaleBoundaries:
    """Boundaries as mean differences at each look (rpact ``criticalValuesEffectScale``).

    Attributes
    ----------
    upper : tuple[float or None, ...]
        The observed difference at or beyond which look k rejects (for ``direction_upper``;
        mirrored about theta_h0 otherwise). None where rpact gives NA.
    lower : tuple[float or None, ...] or None
        Two-sided designs: the lower rejection bound.
    futility : tuple[float or None, ...] or None
        Looks 1..K-1: the difference at or below which the trial stops for futility.
    """

    upper: tuple[float | None, ...]
    lower: tuple[float | None, ...] | None
    futility: tuple[float | None, ...] | None

    def to_dict(self) -> dict[str, object]:
        return {
            "upper": list(self.upper),
            "lower": None if self.lower is None else list(self.lower),
            "futility": None if self.futility is None else list(self.futility),
        }


@dataclass(frozen=True, kw_only=True)
class _Plan:
    """What the power and the sample-size results share."""

    design: GroupSequentialDesign = field(repr=False)
    alternative: float
    theta_h0: float
    sd: float
    allocation_ratio: float
    normal_approximation: bool
    direction_upper: bool
    max_n: float
    boundaries: EffectScaleBoundaries

    @property
    def n_cumulative(self) -> tuple[float, ...]:
        """Total subjects at each look, t_k N (not rounded)."""
        return tuple(t * self.max_n for t in self.design.information_fraction)

    @property
    def n_cumulative_per_group(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(group 1, group 2) subjects at each look: N r / (1 + r) and N / (1 + r)."""
        r = self.allocation_ratio
        n = self.n_cumulative
        return tuple(x * r / (1 + r) for x in n), tuple(x / (1 + r) for x in n)

    def _common_dict(self) -> dict[str, object]:
        g1, g2 = self.n_cumulative_per_group
        return {
            "alternative": self.alternative,
            "theta_h0": self.theta_h0,
            "sd": self.sd,
            "allocation_ratio": self.allocation_ratio,
            "normal_approximation": self.normal_approximation,
            "direction_upper": self.direction_upper,
            "design": {
                "k": self.design.k,
                "information_fraction": list(self.design.information_fraction),
                "alpha": self.design.alpha,
                "beta": self.design.beta,
                "sided": self.design.sided,
                "spending": self.design.spending,
                "futility": self.design.futility,
                "binding": self.design.binding,
                "critical_values": list(self.design.critical_values),
            },
            "max_n": self.max_n,
            "n_cumulative": list(self.n_cumulative),
            "n_cumulative_group1": list(g1),
            "n_cumulative_group2": list(g2),
            "boundaries_effect_scale": self.boundaries.to_dict(),
        }

    def _boundary_lines(self) -> list[str]:
        b = self.boundaries
        rows = [" look  n total  reject if difference >=  (<= two-sided)  futility if <="]
        for k, n in enumerate(self.n_cumulative):
            lo = "" if b.lower is None else _fmt(b.lower[k])
            fut = "" if b.futility is None or k == self.design.k - 1 else _fmt(b.futility[k])
            rows.append(f"{k + 1:5d}  {n:7.2f}  {_fmt(b.upper[k]):>24}  {lo:>15}  {fut:>14}")
        return rows


@dataclass(frozen=True, kw_only=True)
class MeansPowerResult(_Plan):
    """Power of a group-sequential two-group t test at a given maximum N (``getPowerMeans``).

    Attributes
    ----------
    drift : float
        The drift used (t-adjusted unless ``normal_approximation``).
    power : float
        P(reject H0) [overallReject].
    rejection_probabilities : tuple[float, ...]
        P(reject at look k) [rejectPerStage] (both tails for a two-sided design).
    futility_probabilities : tuple[float, ...]
        P(stop for futility at look k), k < K [futilityPerStage] (zeros without futility).
    early_stop_per_stage : tuple[float, ...]
        P(stop at look k), k < K (their sum is rpact's earlyStop).
    expected_n : float
        Expected total subjects at the alternative [expectedNumberOfSubjects].
    expected_n_h0 : float
        Expected total subjects under H0 (getPowerMeans at alternative = theta_h0).
    """

    drift: float
    power: float
    rejection_probabilities: tuple[float, ...]
    futility_probabilities: tuple[float, ...]
    early_stop_per_stage: tuple[float, ...]
    expected_n: float
    expected_n_h0: float

    @property
    def futility_stop(self) -> float:
        """Overall P(stopping for futility) [futilityStop]."""
        return sum(self.futility_probabilities)

    @property
    def early_stop(self) -> float:
        """Overall P(stopping before the last look) [earlyStop]."""
        return sum(self.early_stop_per_stage)

    def to_dict(self) -> dict[str, object]:
        return {
            **self._common_dict(),
            "drift": self.drift,
            "power": self.power,
            "rejection_probabilities": list(self.rejection_probabilities),
            "futility_probabilities": list(self.futility_probabilities),
            "futility_stop": self.futility_stop,
            "early_stop_per_stage": list(self.early_stop_per_stage),
            "early_stop": self.early_stop,
            "expected_n": self.expected_n,
            "expected_n_h0": self.expected_n_h0,
        }

    def summary(self) -> str:
        test = "z (normal approximation)" if self.normal_approximation else "t (rpact)"
        head = [
            f"Power of the group-sequential {test} test, K = {self.design.k}, "
            f"{self.design.spending}{'/' + self.design.futility if self.design.futility else ''}",
            f"difference {self.alternative:g} (H0 {self.theta_h0:g}), SD {self.sd:g}, "
            f"allocation {self.allocation_ratio:g}:1, N max {self.max_n:g}",
            f"power {self.power:.4f} (drift {self.drift:.4f}); stage-wise "
            + ", ".join(f"{p:.4f}" for p in self.rejection_probabilities),
            f"futility stop {self.futility_stop:.4f}; expected N {self.expected_n:.2f} "
            f"(under H0 {self.expected_n_h0:.2f})",
        ]
        return "\n".join(head + self._boundary_lines())


@dataclass(frozen=True, kw_only=True)
class MeansSampleSizeResult(_Plan):
    """Sample size of a group-sequential two-group t test (``getSampleSizeMeans``).

    Attributes
    ----------
    n_fixed : float
        Total subjects of the fixed design (t test unless ``normal_approximation``) [nFixed].
    max_n : float
        n_fixed times the inflation factor [maxNumberOfSubjects].
    inflation_factor : float
    power : tuple[float, ...]
        Cumulative power of the design at its alternative (1 - beta at the last look).
    rejection_probabilities, futility_probabilities : tuple[float, ...]
        Design characteristics [rejectPerStage, futilityPerStage].
    expected_n_h0, expected_n_h01, expected_n_h1 : float
        Expected total subjects under H0, at half the alternative and under H1
        [expectedNumberOfSubjectsH0 / H01 / H1].
    """

    n_fixed: float
    inflation_factor: float
    power: tuple[float, ...]
    rejection_probabilities: tuple[float, ...]
    futility_probabilities: tuple[float, ...]
    expected_n_h0: float
    expected_n_h01: float
    expected_n_h1: float

    @property
    def n_fixed_per_group(self) -> tuple[float, float]:
        r = self.allocation_ratio
        return self.n_fixed * r / (1 + r), self.n_fixed / (1 + r)

    def to_dict(self) -> dict[str, object]:
        return {
            **self._common_dict(),
            "n_fixed": self.n_fixed,
            "n_fixed_per_group": list(self.n_fixed_per_group),
            "inflation_factor": self.inflation_factor,
            "power": list(self.power),
            "rejection_probabilities": list(self.rejection_probabilities),
            "futility_probabilities": list(self.futility_probabilities),
            "expected_n_h0": self.expected_n_h0,
            "expected_n_h01": self.expected_n_h01,
            "expected_n_h1": self.expected_n_h1,
        }

    def summary(self) -> str:
        test = "z (normal approximation)" if self.normal_approximation else "t (rpact)"
        head = [
            f"Sample size of the group-sequential {test} test, K = {self.design.k}, "
            f"power {1 - self.design.beta:g}",
            f"difference {self.alternative:g} (H0 {self.theta_h0:g}), SD {self.sd:g}, "
            f"allocation {self.allocation_ratio:g}:1",
            f"fixed design N {self.n_fixed:.3f}; inflation factor {self.inflation_factor:.4f}; "
            f"maximum N {self.max_n:.3f}",
            f"expected N: H0 {self.expected_n_h0:.2f}, H1/2 {self.expected_n_h01:.2f}, "
            f"H1 {self.expected_n_h1:.2f}",
        ]
        return "\n".join(head + self._boundary_lines())


# --- power -----------------------------------------------------------------------------------


def power_means(
    *,
    design: GroupSequentialDesign,
    alternative: float,
    max_n: float,
    sd: float = 1.0,
    theta_h0: float = 0.0,
    allocation_ratio: float = 1.0,
    normal_approximation: bool = False,
    direction_upper: bool = True,
) -> MeansPowerResult:
    """Power, stopping probabilities and expected N at ``max_n`` subjects (rpact's
    ``getPowerMeans(design, alternative, stDev, maxNumberOfSubjects, ...)``).

    Parameters
    ----------
    design : GroupSequentialDesign
    alternative : float
        Assumed mean difference mu_1 - mu_2.
    max_n : float
        Maximum total subjects (both groups), above 2.
    sd : float
        Common standard deviation.
    theta_h0 : float
        Null difference (non-zero for one-sided non-inferiority or superiority margins).
    allocation_ratio : float
        n_1 / n_2 (rpact's ``allocationRatioPlanned``).
    normal_approximation : bool
        True: z drift theta sqrt(N); False (rpact's default): the t-adjusted drift.
    direction_upper : bool
        False tests for a decrease (the effect's sign is flipped, bounds mirrored).

    Returns
    -------
    MeansPowerResult
    """
    sd, r = _common(design, sd, allocation_ratio, theta_h0)
    n = v.positive("max_n", max_n)
    if n <= 2.0:
        raise v.reject("max_n", max_n, "need more than 2 subjects (the t test has N - 2 df)")
    theta = _standardized(alternative, theta_h0, sd, r, direction_upper)
    drift = _drift(theta, n, design, normal_approximation)
    probs = _probabilities(design, drift)
    h0 = _probabilities(design, 0.0)
    return MeansPowerResult(
        design=design,
        alternative=float(alternative),
        theta_h0=float(theta_h0),
        sd=sd,
        allocation_ratio=r,
        normal_approximation=bool(normal_approximation),
        direction_upper=bool(direction_upper),
        max_n=n,
        boundaries=_effect_scale(design, n, sd, r, theta_h0, normal_approximation, direction_upper),
        drift=drift,
        power=sum(probs.reject),
        rejection_probabilities=probs.reject,
        futility_probabilities=probs.futility,
        early_stop_per_stage=probs.early_stop,
        expected_n=n * probs.expected_fraction,
        expected_n_h0=n * h0.expected_fraction,
    )


def t_adjusted_drift(
    *, theta: float, n: float, alpha: float, sided: int, normal_approximation: bool = False
) -> float:
    """rpact's drift for a standardized per-subject effect ``theta`` at ``n`` total subjects.

    ``theta`` = sqrt(r) / (1 + r) (difference / sd). With ``normal_approximation`` it is
    theta sqrt(n); otherwise the drift of a one-sided level alpha / sided z test whose power
    equals that of the fixed-sample t test with n - 2 df (see the module docstring).
    """
    if normal_approximation:
        return theta * math.sqrt(n)
    df = n - 2.0
    s = float((theta > 0) - (theta < 0))
    a = alpha / sided
    tail = float(stats.nct.cdf(s * stats.t.ppf(1.0 - a, df), df, theta * math.sqrt(n)))
    return float(s * stats.norm.ppf(1.0 - a) - stats.norm.ppf(tail))


def _drift(theta: float, n: float, design: GroupSequentialDesign, normal: bool) -> float:
    return t_adjusted_drift(
        theta=theta, n=n, alpha=design.alpha, sided=design.sided, normal_approximation=normal
    )


@dataclass(frozen=True)
class _Probabilities:
    reject: tuple[float, ...]
    futility: tuple[float, ...]
    early_stop: tuple[float, ...]
    expected_fraction: float


def _probabilities(design: GroupSequentialDesign, drift: float) -> _Probabilities:
    """rpact ``getPowerAndAverageSampleNumber``: futility bounds stop the trial (binding or
    not); a two-sided design rejects in both tails."""
    p = design.crossing_probabilities(drift)
    k = design.k
    if design.sided == 2:
        reject = tuple(u + lo for u, lo in zip(p.upper, p.lower, strict=True))
        futility = (0.0,) * (k - 1)
    else:
        reject = p.upper
        futility = p.lower[:-1] if design.futility_bounds is not None else (0.0,) * (k - 1)
    return _Probabilities(
        reject=reject,
        futility=futility,
        early_stop=p.stop[:-1],
        expected_fraction=p.expected_information,
    )


# --- sample size -----------------------------------------------------------------------------


def sample_size_means(
    *,
    design: GroupSequentialDesign,
    alternative: float,
    sd: float = 1.0,
    theta_h0: float = 0.0,
    allocation_ratio: float = 1.0,
    normal_approximation: bool = False,
) -> MeansSampleSizeResult:
    """Maximum and expected N for the design's power 1 - beta (rpact's
    ``getSampleSizeMeans(design, alternative, stDev, ...)``).

    The fixed-design N solves the one-tailed t power equation at level alpha / sided (rpact's
    ``twoSidedPower = FALSE``); the maximum N is that times the inflation factor.
    """
    sd, r = _common(design, sd, allocation_ratio, theta_h0)
    delta = float(alternative) - float(theta_h0)
    if design.sided == 1 and delta <= 0.0:
        raise v.reject(
            "alternative",
            alternative,
            f"a one-sided design needs alternative > theta_h0 = {theta_h0:g}",
        )
    if delta == 0.0:
        raise v.reject("alternative", alternative, f"alternative must differ from {theta_h0:g}")
    n_fixed = _n_fixed(abs(delta) / sd, r, design, normal_approximation)
    n_max = n_fixed * design.inflation_factor
    return MeansSampleSizeResult(
        design=design,
        alternative=float(alternative),
        theta_h0=float(theta_h0),
        sd=sd,
        allocation_ratio=r,
        normal_approximation=bool(normal_approximation),
        direction_upper=True,
        max_n=n_max,
        boundaries=_effect_scale(design, n_max, sd, r, theta_h0, normal_approximation, True),
        n_fixed=n_fixed,
        inflation_factor=design.inflation_factor,
        power=design.power,
        rejection_probabilities=design.rejection_probabilities,
        futility_probabilities=design.futility_probabilities,
        expected_n_h0=design.expected_sample_size_h0 * n_fixed,
        expected_n_h01=design.expected_sample_size_h01 * n_fixed,
        expected_n_h1=design.expected_sample_size_h1 * n_fixed,
    )


def _n_fixed(d: float, r: float, design: GroupSequentialDesign, normal: bool) -> float:
    """Total N of the fixed design (rpact ``.getSampleSizeFixedMeans``, two groups)."""
    a = design.alpha / design.sided
    if normal:
        z = stats.norm.isf(a) + stats.norm.isf(design.beta)
        return float((1 + r) ** 2 / r * z * z / (d * d))

    def excess(n2: float) -> float:  # type II error minus beta, decreasing in n2
        df = max(0.001, n2 * (1 + r) - 2)
        ncp = math.sqrt(n2) * math.sqrt(r / (1 + r)) * d
        return float(stats.nct.cdf(stats.t.ppf(1.0 - a, df), df, ncp)) - design.beta

    hi = 2.0
    while excess(hi) > 0.0:
        hi *= 2.0
        if hi > 1e9:
            raise v.reject("alternative", d, "no sample size below 1e9 reaches the power")
    n2 = optimize.brentq(excess, 0.001, hi, xtol=1e-12, rtol=1e-15, maxiter=500)
    return float(n2 * (1 + r))


# --- effect scale ----------------------------------------------------------------------------


def _effect_scale(
    design: GroupSequentialDesign,
    n_max: float,
    sd: float,
    r: float,
    theta_h0: float,
    normal: bool,
    direction_upper: bool,
) -> EffectScaleBoundaries:
    """rpact ``.getEffectScaleBoundaryDataMeans`` for two groups (difference of means)."""
    t = design.information_fraction
    scale = [sd * (1 + r) / math.sqrt(r * tk * n_max) for tk in t]
    crit = [_critical_t(c, sl, tk * n_max - 2, normal) for c, sl, tk in _stages(design)]
    upper = [None if c is None else theta_h0 + c * s for c, s in zip(crit, scale, strict=True)]
    lower = [None if c is None else theta_h0 - c * s for c, s in zip(crit, scale, strict=True)]
    futility: list[float | None] | None = None
    if design.futility_bounds is not None:
        interim = t[:-1]
        fut = [
            _futility_t(a, tk * n_max - 2, normal)
            for a, tk in zip(design.futility_bounds, interim, strict=True)
        ]
        futility = [
            None if f is None else theta_h0 + f * s for f, s in zip(fut, scale[:-1], strict=True)
        ]
    if not direction_upper and design.sided == 1:  # two-sided bounds are symmetric already
        upper = _mirror(upper, theta_h0)
        futility = None if futility is None else _mirror(futility, theta_h0)
    return EffectScaleBoundaries(
        upper=tuple(upper),
        lower=tuple(lower) if design.sided == 2 else None,
        futility=None if futility is None else tuple(futility),
    )


def _stages(design: GroupSequentialDesign) -> list[tuple[float, float, float]]:
    return list(
        zip(design.critical_values, design.stage_levels, design.information_fraction, strict=True)
    )


def _critical_t(z: float, stage_level: float, df: float, normal: bool) -> float | None:
    if normal:
        return z if math.isfinite(z) else None
    if df <= 0.0:
        return None
    c = float(stats.t.ppf(1.0 - stage_level, df))  # as rpact: qt(1 - stageLevels, df)
    return c if math.isfinite(c) and c <= _MAX_T_CRITICAL else None


def _futility_t(a: float, df: float, normal: bool) -> float | None:
    if normal:
        f = a
    elif df <= 0.0:
        return None
    else:
        f = float(stats.t.ppf(stats.norm.cdf(a), df))
    return f if math.isfinite(f) and f > _NO_FUTILITY else None


def _mirror(values: Sequence[float | None], centre: float) -> list[float | None]:
    return [None if x is None else 2.0 * centre - x for x in values]


# --- validation ------------------------------------------------------------------------------


def _common(
    design: GroupSequentialDesign, sd: float, allocation_ratio: float, theta_h0: float
) -> tuple[float, float]:
    if not isinstance(design, GroupSequentialDesign):
        raise v.reject("design", type(design).__name__, "a GroupSequentialDesign")
    s = v.positive("sd", sd)
    r = v.positive("allocation_ratio", allocation_ratio)
    h0 = float(theta_h0)
    if not math.isfinite(h0):
        raise v.reject("theta_h0", theta_h0, "theta_h0 must be a finite number")
    if design.sided == 2 and h0 != 0.0:
        raise v.reject("theta_h0", theta_h0, "a two-sided design tests theta_h0 = 0 only (rpact)")
    return s, r


def _standardized(
    alternative: float, theta_h0: float, sd: float, r: float, direction_upper: bool
) -> float:
    alt = float(alternative)
    if not math.isfinite(alt):
        raise v.reject("alternative", alternative, "the alternative must be a finite number")
    theta = math.sqrt(r) / (1 + r) * (alt - theta_h0) / sd
    return theta if direction_upper else -theta


def _fmt(x: float | None) -> str:
    return "NA" if x is None else f"{x:.4f}"
