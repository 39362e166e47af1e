"""Group-sequential designs: efficacy and futility boundaries and their characteristics.

Everything is computed by recursive numerical integration (:mod:`._integration`), never by
simulation. Boundaries are on the z scale (upper = efficacy for a positive effect). Bounds are
solved with Brent's method to 1e-12; with the r = 32 grid they agree with rpact to ~1e-8.

Conventions follow rpact (``getDesignGroupSequential`` / ``getDesignCharacteristics``):

* ``sided = 2`` is the symmetric two-sided design; the spending function at total level α is
  2 f(t; α/2) (so one-sided α/2 and two-sided α give the same 2-stage bounds); crossing
  probabilities are the exact two-sided ones; ``alpha_spent`` is the two-sided total and
  ``stage_levels`` are one-sided nominal levels 1 - Φ(c_k).
* Power counts rejections for a positive effect only (rpact ``twoSidedPower = FALSE``).
* β-spending futility (one-sided designs): under the alternative the drift is found so that
  the futility bound meets the efficacy bound at the last look (a_K = b_K), spending β(t_k)
  of type II error at look k. Non-binding: efficacy bounds ignore the futility bounds.
  Binding: efficacy bounds are computed with the futility region as a stopping region.
* ``inflation_factor`` = (drift / drift_fixed)^2 with drift_fixed = z_{1-α/sided} + z_{1-β};
  expected sample sizes are fractions of the fixed-design sample size.

References
----------
Jennison C, Turnbull BW. *Group Sequential Methods with Applications to Clinical Trials*.
Chapman & Hall/CRC, 2000: ch. 2 (Pocock, O'Brien-Fleming, Haybittle-Peto), ch. 4 (β-spending,
§4.2; two-sided tests), ch. 7 (error spending), ch. 19 (numerical computations).
Pampallona S, Tsiatis AA, Kim K. Interim monitoring of group sequential trials using
spending functions for the type I and type II error probabilities. *Drug Inf J*
2001;35:1113-1121 (β-spending, binding and non-binding).
Wassmer G, Brannath W. *Group Sequential and Confirmatory Adaptive Designs in Clinical
Trials*. Springer, 2016 (rpact's conventions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from scipy import optimize
from scipy.stats import norm

from trialdesk.core.design import _validate as v
from trialdesk.core.sequential import _integration as ig
from trialdesk.core.sequential.spending import Family, parse_family

MAX_LOOKS = 20
_INF = math.inf


@dataclass(frozen=True, kw_only=True)
class CrossingProbabilities:
    """Exact first-exit probabilities of a boundary at one drift theta sqrt(I_max).

    Attributes
    ----------
    drift : float
    upper, lower : tuple[float, ...]
        P(first exit above the upper / below the lower bound at look k). For one-sided
        designs with futility, ``lower`` holds futility stopping (the last entry is the
        probability of ending at the last look below its critical value); without futility
        the lower bound is -inf except at the last look.
    reach : tuple[float, ...]
        P(the trial is still running at look k) (reach[0] = 1).
    information_fraction : tuple[float, ...]
    """

    drift: float
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    reach: tuple[float, ...]
    information_fraction: tuple[float, ...]

    @property
    def cumulative_upper(self) -> tuple[float, ...]:
        return _cumsum(self.upper)

    @property
    def stop(self) -> tuple[float, ...]:
        """P(the trial stops at look k) for any reason (the last look always stops)."""
        nxt = self.reach[1:] + (0.0,)
        return tuple(r - n for r, n in zip(self.reach, nxt, strict=True))

    @property
    def expected_information(self) -> float:
        """Expected information as a fraction of the maximum: sum_k t_k P(stop at k)."""
        return sum(t * p for t, p in zip(self.information_fraction, self.stop, strict=True))


@dataclass(frozen=True, kw_only=True)
class GroupSequentialDesign:
    """A group-sequential design and its characteristics (rpact vocabulary in brackets).

    Attributes
    ----------
    information_fraction : tuple[float, ...]
        Cumulative information fractions t_1 < ... < t_K = 1 [informationRates].
    alpha, beta, sided : float, float, int
        Type I error (two-sided total when ``sided == 2``), type II error, sides.
    spending, futility : str, str or None
        Boundary family codes, e.g. ``"asOF"``, ``"P"``, ``"asKD:3"``; ``"bsOF"``.
    binding : bool
        Whether the futility bounds are binding.
    critical_values : tuple[float, ...]
        Efficacy bounds c_k on the z scale [criticalValues]; two-sided designs reject when
        |Z_k| >= c_k.
    futility_bounds : tuple[float, ...] or None
        Futility bounds a_1..a_{K-1} on the z scale [futilityBounds]; stop when Z_k <= a_k.
    alpha_spent : tuple[float, ...]
        Cumulative type I error [alphaSpent] (ignoring non-binding futility).
    stage_levels : tuple[float, ...]
        Nominal one-sided levels 1 - Φ(c_k) [stageLevels].
    beta_spent : tuple[float, ...] or None
        Cumulative type II error spent [betaSpent].
    drift, drift_fixed : float
        theta sqrt(I_max) giving power 1 - β, and the fixed-design equivalent
        z_{1-α/sided} + z_{1-β} [sqrt(shift), sqrt(nFixed)].
    inflation_factor : float
        I_max / I_fixed = (drift / drift_fixed)^2 [inflationFactor].
    power : tuple[float, ...]
        Cumulative power at ``drift`` [power].
    rejection_probabilities, futility_probabilities : tuple[float, ...]
        Stage-wise probabilities under the alternative [rejectionProbabilities,
        futilityProbabilities] (futility: looks 1..K-1).
    expected_sample_size_h0, expected_sample_size_h01, expected_sample_size_h1 : float
        Expected sample size as a fraction of the fixed design under theta = 0, drift / 2 and
        drift [averageSampleNumber0, averageSampleNumber01, averageSampleNumber1].
    """

    information_fraction: tuple[float, ...]
    alpha: float
    beta: float
    sided: int
    spending: str
    futility: str | None
    binding: bool
    critical_values: tuple[float, ...]
    futility_bounds: tuple[float, ...] | None
    alpha_spent: tuple[float, ...]
    stage_levels: tuple[float, ...]
    beta_spent: tuple[float, ...] | None
    drift: float
    drift_fixed: float
    inflation_factor: float
    power: tuple[float, ...]
    rejection_probabilities: tuple[float, ...]
    futility_probabilities: tuple[float, ...]
    expected_sample_size_h0: float
    expected_sample_size_h01: float
    expected_sample_size_h1: float
    _lower: tuple[float, ...] = field(repr=False)

    @property
    def k(self) -> int:
        """Number of looks K."""
        return len(self.information_fraction)

    @property
    def lower_bounds(self) -> tuple[float, ...]:
        """Lower continuation bound at each look as used for stopping (-inf when none).

        Two-sided: -c_k. One-sided with futility: a_k (and c_K at the last look).
        """
        return self._lower

    @property
    def inference_lower_bounds(self) -> tuple[float, ...]:
        """Lower bounds that count for inference (p-values, conditional power).

        -c_k for two-sided designs, binding futility bounds, otherwise -inf (non-binding
        futility bounds may be overruled, so the type I error is controlled without them).
        """
        if self.sided == 2:
            return self._lower
        if self.binding and self.futility_bounds is not None:
            return (*self.futility_bounds, -_INF)
        return (-_INF,) * self.k

    def crossing_probabilities(
        self, drift: float, *, with_futility: bool = True
    ) -> CrossingProbabilities:
        """Exact first-exit probabilities at ``drift`` = theta sqrt(I_max).

        ``with_futility=False`` ignores the futility bounds (the non-binding type I error).
        """
        lower = self._lower if with_futility else self._lower_without_futility()
        return crossing_probabilities(
            upper=self.critical_values,
            lower=lower,
            information_fraction=self.information_fraction,
            drift=drift,
        )

    def rejection_probability(self, drift: float) -> float:
        """Overall P(reject for a positive effect) at ``drift``, futility bounds applied."""
        return sum(self.crossing_probabilities(drift).upper)

    def _lower_without_futility(self) -> tuple[float, ...]:
        if self.sided == 2:
            return self._lower
        return (-_INF,) * (self.k - 1) + (self.critical_values[-1],)

    def with_information_fraction(
        self, information_fraction: Sequence[float]
    ) -> GroupSequentialDesign:
        """The same design family recomputed at other (e.g. observed) information fractions."""
        return group_sequential_design(
            information_fraction=information_fraction,
            alpha=self.alpha,
            beta=self.beta,
            sided=self.sided,
            spending=self.spending,
            futility=self.futility,
            binding=self.binding,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "k": self.k,
            "information_fraction": list(self.information_fraction),
            "alpha": self.alpha,
            "beta": self.beta,
            "sided": self.sided,
            "spending": self.spending,
            "futility": self.futility,
            "binding": self.binding,
            "critical_values": list(self.critical_values),
            "alpha_spent": list(self.alpha_spent),
            "stage_levels": list(self.stage_levels),
            "futility_bounds": None if self.futility_bounds is None else list(self.futility_bounds),
            "beta_spent": None if self.beta_spent is None else list(self.beta_spent),
            "inflation_factor": self.inflation_factor,
            "drift": self.drift,
            "drift_fixed": self.drift_fixed,
            "power": list(self.power),
            "rejection_probabilities": list(self.rejection_probabilities),
            "futility_probabilities": list(self.futility_probabilities),
            "expected_sample_size_h0": self.expected_sample_size_h0,
            "expected_sample_size_h01": self.expected_sample_size_h01,
            "expected_sample_size_h1": self.expected_sample_size_h1,
        }

    def summary(self) -> str:
        side = "two-sided (symmetric)" if self.sided == 2 else "one-sided"
        fut = ""
        if self.futility:
            fut = f", futility {self.futility} ({'binding' if self.binding else 'non-binding'})"
        head = [
            f"Group-sequential design: K = {self.k}, {side} alpha {self.alpha:g}, "
            f"{self.spending}{fut}",
            f"power {1 - self.beta:g}: drift {self.drift:.4f} vs fixed {self.drift_fixed:.4f}, "
            f"inflation factor {self.inflation_factor:.4f}",
            f"expected n / fixed n: H0 {self.expected_sample_size_h0:.4f}, "
            f"H1 {self.expected_sample_size_h1:.4f}",
            " look  fraction  critical z  futility z  alpha spent  nominal p  cum. power",
        ]
        rows = []
        for i in range(self.k):
            f = "" if not self.futility_bounds or i == self.k - 1 else self.futility_bounds[i]
            fz = f"{f:10.4f}" if f != "" else " " * 10
            rows.append(
                f"{i + 1:5d}  {self.information_fraction[i]:8.4f}  {self.critical_values[i]:10.4f}"
                f"  {fz}  {self.alpha_spent[i]:11.6f}  {self.stage_levels[i]:9.6f}"
                f"  {self.power[i]:10.4f}"
            )
        return "\n".join(head + rows)


def crossing_probabilities(
    *,
    upper: Sequence[float],
    lower: Sequence[float],
    information_fraction: Sequence[float],
    drift: float,
) -> CrossingProbabilities:
    """First-exit probabilities of the boundaries (``lower[k]``, ``upper[k]``) at ``drift``.

    Parameters
    ----------
    upper, lower : sequences of K floats (use ``math.inf`` / ``-math.inf`` for no bound)
    information_fraction : K increasing fractions ending at 1
    drift : float
        theta sqrt(I_max): Z_k ~ N(drift sqrt(t_k), 1).

    References
    ----------
    Jennison & Turnbull (2000), §19.2-19.3.
    """
    t = v.information_fractions(information_fraction, max_looks=MAX_LOOKS)
    if not len(upper) == len(lower) == len(t):
        raise v.reject("upper/lower", (len(upper), len(lower)), f"need {len(t)} bounds each")
    state = ig.start()
    up, lo, reach = [], [], []
    for k, tk in enumerate(t):
        reach.append(state.mass)
        up.append(ig.exit_upper(state, upper[k], tk, drift))
        lo.append(ig.exit_lower(state, lower[k], tk, drift))
        if k < len(t) - 1:
            state = ig.advance(state, lower[k], upper[k], tk, drift)
    return CrossingProbabilities(
        drift=float(drift),
        upper=tuple(up),
        lower=tuple(lo),
        reach=tuple(reach),
        information_fraction=t,
    )


def drift_for_means(*, effect: float, n_per_group: float, ratio: float = 1.0) -> float:
    """Drift theta sqrt(I_max) of a standardized mean difference at the last look.

    I_max = 1 / (1/n_1 + 1/n_2) per unit variance with n_1 = ``n_per_group`` and
    n_2 = ``ratio * n_per_group`` (z approximation, as in rpact's normal designs).
    """
    n1 = v.positive("n_per_group", n_per_group)
    n2 = v.positive("ratio", ratio) * n1
    return float(effect) * math.sqrt(n1 * n2 / (n1 + n2))


def group_sequential_design(
    *,
    information_fraction: Sequence[float] | None = None,
    k: int | None = None,
    alpha: float = 0.025,
    beta: float = 0.2,
    sided: int = 1,
    spending: str = "asOF",
    futility: str | None = None,
    binding: bool = False,
) -> GroupSequentialDesign:
    """Compute a group-sequential design by recursive numerical integration.

    Parameters
    ----------
    information_fraction : sequence of float, optional
        Cumulative information fractions of the K looks, increasing, ending at 1.
    k : int, optional
        Number of equally spaced looks (instead of ``information_fraction``).
    alpha : float
        Type I error; for ``sided = 2`` the two-sided total.
    beta : float
        Type II error for the power, drift and inflation factor (and β-spending).
    sided : {1, 2}
    spending : str
        ``OF``, ``P`` (classical O'Brien-Fleming / Pocock), ``WT:<delta>`` (Wang-Tsiatis),
        ``HP`` (Haybittle-Peto, z = 3 at interims), or an α-spending function ``asOF``,
        ``asP``, ``asKD:<rho>``, ``asHSD:<gamma>``.
    futility : str, optional
        β-spending futility bounds ``bsOF``, ``bsP``, ``bsKD:<rho>``, ``bsHSD:<gamma>``
        (one-sided designs with an α-spending function).
    binding : bool
        Binding futility: efficacy bounds take credit for futility stopping.

    Returns
    -------
    GroupSequentialDesign

    References
    ----------
    Jennison & Turnbull (2000) ch. 2, 4, 7, 19; Lan & DeMets (1983); Pampallona, Tsiatis &
    Kim (2001). See the module docstring.
    """
    t = _fractions(information_fraction, k)
    a = _alpha(alpha, sided)
    b = v.probability("beta", beta)
    if 1.0 - b <= a / v.sided(sided):
        raise v.reject("beta", beta, f"power 1 - beta must exceed alpha / sided = {a / sided:g}")
    family = parse_family(spending, prefix="as", argument="spending")
    fut = None if futility is None else parse_family(futility, prefix="bs", argument="futility")
    _check_futility(fut, family, sided, len(t))
    spec = _Spec(t=t, alpha=a, beta=b, sided=sided, family=family, futility=fut, binding=binding)
    return _build(spec)


@dataclass(frozen=True)
class _Spec:
    t: tuple[float, ...]
    alpha: float
    beta: float
    sided: int
    family: Family
    futility: Family | None
    binding: bool

    def cumulative_alpha(self) -> list[float]:
        if self.sided == 2:
            return [2.0 * self.family.spent(tk, self.alpha / 2.0) for tk in self.t]
        return [self.family.spent(tk, self.alpha) for tk in self.t]

    def cumulative_beta(self) -> list[float]:
        assert self.futility is not None
        return [self.futility.spent(tk, self.beta) for tk in self.t]


def _build(spec: _Spec) -> GroupSequentialDesign:
    futility_bounds: list[float] | None = None
    if spec.futility is None:
        upper = _efficacy_bounds(spec)
        lower = _lower_bounds(spec, upper, None)
        drift = _power_drift(spec, upper, lower)
    else:
        fixed = None if spec.binding else _efficacy_bounds(spec)
        drift, upper, futility_bounds = _futility_design(spec, fixed)
        lower = _lower_bounds(spec, upper, futility_bounds)
    return _characterize(spec, upper, lower, futility_bounds, drift)


def _characterize(
    spec: _Spec,
    upper: list[float],
    lower: list[float],
    futility_bounds: list[float] | None,
    drift: float,
) -> GroupSequentialDesign:
    h1 = crossing_probabilities(upper=upper, lower=lower, information_fraction=spec.t, drift=drift)
    h01 = crossing_probabilities(
        upper=upper, lower=lower, information_fraction=spec.t, drift=drift / 2
    )
    h0 = crossing_probabilities(upper=upper, lower=lower, information_fraction=spec.t, drift=0.0)
    type1_lower = lower if (spec.binding or spec.sided == 2) else _no_futility_lower(spec, upper)
    h0_type1 = crossing_probabilities(
        upper=upper, lower=type1_lower, information_fraction=spec.t, drift=0.0
    )
    per_stage_alpha = list(h0_type1.upper)
    if spec.sided == 2:
        per_stage_alpha = [u + lo for u, lo in zip(h0_type1.upper, h0_type1.lower, strict=True)]
    drift_fixed = float(norm.isf(spec.alpha / spec.sided) + norm.isf(spec.beta))
    inflation = float((drift / drift_fixed) ** 2)
    return GroupSequentialDesign(
        information_fraction=spec.t,
        alpha=spec.alpha,
        beta=spec.beta,
        sided=spec.sided,
        spending=spec.family.code,
        futility=None if spec.futility is None else spec.futility.code,
        binding=bool(spec.binding and spec.futility is not None),
        critical_values=tuple(upper),
        futility_bounds=None if futility_bounds is None else tuple(futility_bounds),
        alpha_spent=_cumsum(per_stage_alpha),
        stage_levels=tuple(float(norm.sf(c)) for c in upper),
        beta_spent=None if spec.futility is None else _cumsum(h1.lower),
        drift=drift,
        drift_fixed=drift_fixed,
        inflation_factor=inflation,
        power=h1.cumulative_upper,
        rejection_probabilities=h1.upper,
        futility_probabilities=h1.lower[:-1] if spec.futility else (0.0,) * (len(spec.t) - 1),
        expected_sample_size_h0=inflation * h0.expected_information,
        expected_sample_size_h01=inflation * h01.expected_information,
        expected_sample_size_h1=inflation * h1.expected_information,
        _lower=tuple(lower),
    )


# --- efficacy bounds without futility (or with non-binding futility) ----------------------


def _efficacy_bounds(spec: _Spec) -> list[float]:
    if spec.family.kind == "spending":
        return _spending_bounds(spec, spec.cumulative_alpha(), None)
    if spec.family.kind == "hp":
        return _haybittle_peto(spec)
    return _wang_tsiatis(spec)


def _spending_bounds(
    spec: _Spec, cumulative: list[float], futility: list[float] | None
) -> list[float]:
    """Bounds spending exactly ``cumulative`` type I error under H0 (Lan & DeMets 1983)."""
    state = ig.start()
    bounds: list[float] = []
    spent = 0.0
    for k, tk in enumerate(spec.t):
        target = cumulative[k] - spent
        spent = cumulative[k]
        c = _solve_upper(partial(_h0_excess, state, tk, spec.sided, target))
        bounds.append(c)
        if k < len(spec.t) - 1:
            lower = -c if spec.sided == 2 else (futility[k] if futility else -_INF)
            state = ig.advance(state, lower, c, tk, 0.0)
    return bounds


def _h0_excess(state: ig.State, t: float, sided: int, target: float, c: float) -> float:
    return _h0_exit(state, c, t, sided) - target


def _h0_exit(state: ig.State, c: float, t: float, sided: int) -> float:
    p = ig.exit_upper(state, c, t, 0.0)
    if sided == 2:
        p += ig.exit_lower(state, -c, t, 0.0)
    return p


def _wang_tsiatis(spec: _Spec) -> list[float]:
    """Classical Wang-Tsiatis bounds c t_k^(Δ - 1/2); c spends exactly α (J&T §2.7.1)."""
    assert spec.family.parameter is not None
    delta = spec.family.parameter
    shape = [tk ** (delta - 0.5) for tk in spec.t]

    def excess(c: float) -> float:
        return _total_h0([c * s for s in shape], spec) - spec.alpha

    c = optimize.brentq(excess, 1e-3, 40.0, xtol=1e-13, rtol=1e-15, maxiter=200)
    return [c * s for s in shape]


def _haybittle_peto(spec: _Spec) -> list[float]:
    """Interim bounds 3; the last bound spends what is left of α exactly."""
    assert spec.family.parameter is not None
    interim = [spec.family.parameter] * (len(spec.t) - 1)
    spent = _total_h0([*interim, _INF], spec)
    if spent >= spec.alpha:
        raise v.reject(
            "alpha", spec.alpha, f"Haybittle-Peto interims at z = 3 already spend {spent:.3g}"
        )
    state = ig.start()
    for k, tk in enumerate(spec.t[:-1]):
        lower = -interim[k] if spec.sided == 2 else -_INF
        state = ig.advance(state, lower, interim[k], tk, 0.0)
    target = spec.alpha - spent
    last = _solve_upper(lambda c: _h0_exit(state, c, 1.0, spec.sided) - target)
    return [*interim, last]


def _total_h0(upper: list[float], spec: _Spec) -> float:
    lower = [-c for c in upper] if spec.sided == 2 else [-_INF] * len(upper)
    p = crossing_probabilities(upper=upper, lower=lower, information_fraction=spec.t, drift=0.0)
    return sum(p.upper) + (sum(p.lower) if spec.sided == 2 else 0.0)


def _solve_upper(excess: Callable[[float], float], *, strict: bool = True) -> float:
    """Root of a decreasing exit probability minus its target (inf if nothing to spend).

    With ``strict=False`` a target larger than the remaining mass gives the bound -40 (used
    while bracketing the drift of binding designs, far from the solution).
    """
    hi = 40.0
    if excess(hi) >= 0.0:
        return _INF
    lo = -40.0
    if excess(lo) < 0.0:
        if not strict:
            return lo
        raise v.reject("alpha", "spending", "the error to spend exceeds what a bound can spend")
    return float(optimize.brentq(excess, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=300))


# --- power without futility ---------------------------------------------------------------


def _lower_bounds(spec: _Spec, upper: list[float], futility: list[float] | None) -> list[float]:
    if spec.sided == 2:
        return [-c for c in upper]
    if futility is None:
        return _no_futility_lower(spec, upper)
    return [*futility, upper[-1]]


def _no_futility_lower(spec: _Spec, upper: list[float]) -> list[float]:
    return [-_INF] * (len(spec.t) - 1) + [upper[-1]]


def _power_drift(spec: _Spec, upper: list[float], lower: list[float]) -> float:
    def shortfall(drift: float) -> float:
        p = crossing_probabilities(
            upper=upper, lower=lower, information_fraction=spec.t, drift=drift
        )
        return sum(p.upper) - (1.0 - spec.beta)

    return _bracketed_root(shortfall, spec)


def _bracketed_root(f: Callable[[float], float], spec: _Spec) -> float:
    """Root in drift of an increasing function, bracketed around the fixed-design drift."""
    fixed = norm.isf(spec.alpha / spec.sided) + norm.isf(spec.beta)
    lo, hi = 0.9 * fixed, 1.3 * fixed
    while f(lo) > 0.0:
        lo /= 2.0
    while f(hi) < 0.0:
        hi *= 1.5
        if hi > 1e3:
            raise v.reject("beta", spec.beta, "no drift reaches the requested power")
    return float(optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=300))


# --- β-spending futility -------------------------------------------------------------------


def _futility_design(
    spec: _Spec, upper_fixed: list[float] | None
) -> tuple[float, list[float], list[float]]:
    """Find the drift at which β-spending futility bounds meet the efficacy bound at look K.

    For a given drift one pass computes, look by look, the efficacy bound under H0 (binding:
    with the futility region as stopping region) and the futility bound spending β(t_k) under
    the alternative; the residual at look K is P_H1(Z_K < c_K, continued) - (β - β(t_{K-1})).
    """
    cum_alpha = spec.cumulative_alpha()
    cum_beta = spec.cumulative_beta()

    def residual(drift: float) -> float:
        return -_futility_pass(spec, drift, cum_alpha, cum_beta, upper_fixed)[0]

    drift = _bracketed_root(residual, spec)
    _, upper, fut = _futility_pass(spec, drift, cum_alpha, cum_beta, upper_fixed)
    return drift, upper, fut


def _futility_pass(
    spec: _Spec,
    drift: float,
    cum_alpha: list[float],
    cum_beta: list[float],
    upper_fixed: list[float] | None,
) -> tuple[float, list[float], list[float]]:
    h0, h1 = ig.start(), ig.start()
    upper: list[float] = []
    futility: list[float] = []
    last = len(spec.t) - 1
    for k, tk in enumerate(spec.t):
        if upper_fixed is None:
            target_a = cum_alpha[k] - (cum_alpha[k - 1] if k else 0.0)
            c = _solve_upper(partial(_h0_excess, h0, tk, 1, target_a), strict=False)
        else:
            c = upper_fixed[k]
        upper.append(c)
        target_b = cum_beta[k] - (cum_beta[k - 1] if k else 0.0)
        if k == last:
            return ig.exit_lower(h1, c, tk, drift) - target_b, upper, futility
        a = _solve_futility(h1, c, tk, drift, target_b)
        futility.append(a)
        h1 = ig.advance(h1, a, c, tk, drift)
        if upper_fixed is None:
            h0 = ig.advance(h0, a, c, tk, 0.0)
    raise AssertionError("unreachable")


def _solve_futility(state: ig.State, c: float, t: float, drift: float, target: float) -> float:
    """Futility bound a with P_H1(continuing, Z_t <= a) = target, capped at the efficacy bound."""

    def excess(a: float) -> float:
        return ig.exit_lower(state, a, t, drift) - target

    lo = min(-20.0, c - 1.0)
    if excess(c) <= 0.0:
        return c
    if excess(lo) >= 0.0:
        return lo
    return float(optimize.brentq(excess, lo, c, xtol=1e-13, rtol=1e-15, maxiter=300))


# --- validation -----------------------------------------------------------------------------


def _fractions(information_fraction: Sequence[float] | None, k: int | None) -> tuple[float, ...]:
    if information_fraction is None:
        if k is None:
            raise v.reject("information_fraction", None, "give information_fraction or k")
        if not isinstance(k, int) or not 1 <= k <= MAX_LOOKS:
            raise v.reject("k", k, f"K must be an integer from 1 to {MAX_LOOKS}")
        return tuple((i + 1) / k for i in range(k))
    t = v.information_fractions(information_fraction, max_looks=MAX_LOOKS)
    if k is not None and k != len(t):
        raise v.reject("k", k, f"k must equal the number of fractions ({len(t)})")
    return t


def _alpha(alpha: float, sided: int) -> float:
    s = v.sided(sided)
    a = v.probability("alpha", alpha)
    limit = 0.5 if s == 1 else 1.0
    if a >= limit:
        raise v.reject("alpha", alpha, f"a {s}-sided alpha must be below {limit:g}")
    return a


def _check_futility(fut: Family | None, family: Family, sided: int, k: int) -> None:
    if fut is None:
        return
    if sided != 1:
        raise v.reject("futility", fut.code, "β-spending futility is available for sided = 1 only")
    if family.kind != "spending":
        raise v.reject(
            "futility", fut.code, "β-spending futility needs an α-spending function (as*)"
        )
    if k < 2:
        raise v.reject("futility", fut.code, "futility bounds need at least 2 looks")


def _cumsum(values: Sequence[float]) -> tuple[float, ...]:
    out, total = [], 0.0
    for x in values:
        total += x
        out.append(total)
    return tuple(out)
