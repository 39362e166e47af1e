"""At an interim look: recompute the bounds, decide, conditional power, RCI, adjusted p-value.

All quantities are on the z scale of the canonical joint distribution (see
:mod:`trialdesk.core.sequential._integration`). ``drift`` = theta sqrt(I_max), so the
observed trend corresponds to drift z_k / sqrt(t_k).

References
----------
Jennison C, Turnbull BW. *Group Sequential Methods with Applications to Clinical Trials*.
Chapman & Hall/CRC, 2000: §7.2 (error spending at observed information levels), ch. 9
(repeated confidence intervals), §8.4 (stage-wise ordering and adjusted p-values),
§10.6 (conditional power).
Lan KKG, Wittes J. The B-value: a tool for monitoring data. *Biometrics* 1988;44:579-585.
Fairbanks K, Madsen R. P values for tests using a repeated significance test design.
*Biometrika* 1982;69:69-74.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import optimize

from trialdesk.core.design import _validate as v
from trialdesk.core.sequential import _integration as ig
from trialdesk.core.sequential.design import GroupSequentialDesign

STOP_EFFICACY = "stop for efficacy"
STOP_FUTILITY = "stop for futility"
FUTILITY_NONBINDING = "futility bound crossed (non-binding): stopping is allowed"
CONTINUE = "continue"
REJECT = "reject H0 at the final analysis"
ACCEPT = "do not reject H0 at the final analysis"


@dataclass(frozen=True, kw_only=True)
class InterimResult:
    """The interim (or final) decision with the bounds recomputed at the observed information.

    Attributes
    ----------
    stage : int
        Look number k (1-based).
    z : float
        Observed standardized test statistic at look k.
    information_fraction : float
        Observed information fraction t_k.
    design : GroupSequentialDesign
        The design recomputed at the observed fractions (planned fractions after look k).
    critical_value, futility_bound : float, float or None
        Bounds in force at this look.
    decision : str
        One of the module constants (``STOP_EFFICACY``, ``CONTINUE``, ...).
    conditional_power_trend, conditional_power_design : float
        P(rejecting at a later look | Z_k = z) under the observed trend (drift z / sqrt(t_k))
        and under the design alternative (drift of the design); 0 or 1 after the last look.
    repeated_ci : tuple[float, float] or None
        Repeated confidence interval for the effect (coverage 1 - alpha two-sided designs,
        1 - 2 alpha one-sided), when an estimate and standard error were given.
    """

    stage: int
    z: float
    information_fraction: float
    design: GroupSequentialDesign
    critical_value: float
    futility_bound: float | None
    decision: str
    conditional_power_trend: float
    conditional_power_design: float
    repeated_ci: tuple[float, float] | None

    def to_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "z": self.z,
            "information_fraction": self.information_fraction,
            "critical_value": self.critical_value,
            "futility_bound": self.futility_bound,
            "decision": self.decision,
            "conditional_power_trend": self.conditional_power_trend,
            "conditional_power_design": self.conditional_power_design,
            "repeated_ci": None if self.repeated_ci is None else list(self.repeated_ci),
            "critical_values": list(self.design.critical_values),
            "information_fractions": list(self.design.information_fraction),
        }

    def summary(self) -> str:
        fut = "" if self.futility_bound is None else f", futility bound {self.futility_bound:.4f}"
        lines = [
            f"Look {self.stage} of {self.design.k} at information fraction "
            f"{self.information_fraction:.4f}: z = {self.z:.4f}",
            f"critical value {self.critical_value:.4f}{fut} -> {self.decision}",
            f"conditional power: {self.conditional_power_trend:.4f} under the current trend, "
            f"{self.conditional_power_design:.4f} under the design effect",
        ]
        if self.repeated_ci is not None:
            lines.append(f"repeated CI: ({self.repeated_ci[0]:.4g}, {self.repeated_ci[1]:.4g})")
        return "\n".join(lines)


def interim_analysis(
    *,
    design: GroupSequentialDesign,
    information_fraction: Sequence[float],
    z: float,
    estimate: float | None = None,
    standard_error: float | None = None,
) -> InterimResult:
    """Decide at look k = len(information_fraction), with bounds at the observed fractions.

    Parameters
    ----------
    design : GroupSequentialDesign
        The planned design.
    information_fraction : sequence of float
        Observed cumulative information fractions of looks 1..k (e.g. ``[37 / 80]`` when 37
        of the planned 80 are evaluable at the first look). The planned fractions of looks
        after k are kept; at the last look pass all k fractions ending with 1.
    z : float
        Standardized statistic at look k (positive favours treatment).
    estimate, standard_error : float, optional
        Effect estimate and its standard error at look k, for the repeated CI.

    Returns
    -------
    InterimResult

    References
    ----------
    Jennison & Turnbull (2000) §7.2, ch. 9, §10.6; Lan & Wittes (1988).
    """
    observed = [float(x) for x in information_fraction]
    k = len(observed)
    if not 1 <= k <= design.k:
        raise v.reject("information_fraction", observed, f"give 1 to {design.k} fractions")
    fractions = observed + list(design.information_fraction[k:])
    if k == design.k and abs(observed[-1] - 1.0) > 1e-12:
        raise v.reject("information_fraction", observed, "the last look has fraction 1")
    updated = design.with_information_fraction(fractions)
    z = _finite("z", z)
    c = updated.critical_values[k - 1]
    fut = _futility_at(updated, k)
    rci = None
    if estimate is not None or standard_error is not None:
        rci = repeated_confidence_interval(
            design=updated, stage=k, estimate=estimate, standard_error=standard_error
        )
    t_k = updated.information_fraction[k - 1]
    return InterimResult(
        stage=k,
        z=z,
        information_fraction=t_k,
        design=updated,
        critical_value=c,
        futility_bound=fut,
        decision=_decide(updated, k, z, c, fut),
        conditional_power_trend=conditional_power(
            design=updated, stage=k, z=z, drift=z / math.sqrt(t_k)
        ),
        conditional_power_design=conditional_power(
            design=updated, stage=k, z=z, drift=updated.drift
        ),
        repeated_ci=rci,
    )


def conditional_power(
    *, design: GroupSequentialDesign, stage: int, z: float, drift: float
) -> float:
    """P(Z_j >= c_j at some later look j > k | Z_k = z) at ``drift`` = theta sqrt(I_max).

    Futility bounds are ignored (treated as non-binding) so that the value is the chance of
    eventually rejecting if the trial continues; two-sided designs still stop at -c_j.

    References
    ----------
    Jennison & Turnbull (2000) §10.6; Lan & Wittes (1988).
    """
    k = _stage(design, stage)
    z = _finite("z", z)
    if k == design.k:
        return 1.0 if _rejects(design, k, z) else 0.0
    state = ig.start(z, design.information_fraction[k - 1])
    lower = design.inference_lower_bounds
    total = 0.0
    for j in range(k, design.k):
        t = design.information_fraction[j]
        total += ig.exit_upper(state, design.critical_values[j], t, drift)
        if j < design.k - 1:
            state = ig.advance(state, lower[j], design.critical_values[j], t, drift)
    return total


def repeated_confidence_interval(
    *,
    design: GroupSequentialDesign,
    stage: int,
    estimate: float | None,
    standard_error: float | None,
) -> tuple[float, float]:
    """Repeated confidence interval estimate -/+ c_k SE at look k (J&T 2000, ch. 9).

    Simultaneous coverage over all looks is 1 - alpha for a two-sided design and 1 - 2 alpha
    for a one-sided design (its one-sided bounds read as a symmetric two-sided design).
    """
    k = _stage(design, stage)
    est = _finite("estimate", estimate)
    se = v.positive("standard_error", _finite("standard_error", standard_error))
    c = design.critical_values[k - 1]
    return est - c * se, est + c * se


def stagewise_adjusted_p_value(*, design: GroupSequentialDesign, stage: int, z: float) -> float:
    """p-value under the stage-wise ordering for a trial that ended at look k with Z_k = z.

    One-sided designs: P_0(cross the upper bound at a look before k) + P_0(reach look k and
    Z_k >= z). Two-sided designs: the same with |Z| (two-sided p-value). Binding futility
    bounds are part of the continuation region; non-binding ones are ignored.

    References
    ----------
    Fairbanks & Madsen (1982); Jennison & Turnbull (2000) §8.4.
    """
    k = _stage(design, stage)
    z = _finite("z", z)
    lower = design.inference_lower_bounds
    state = ig.start()
    p = 0.0
    for j in range(k - 1):
        t = design.information_fraction[j]
        p += ig.exit_upper(state, design.critical_values[j], t, 0.0)
        if design.sided == 2:
            p += ig.exit_lower(state, lower[j], t, 0.0)
        state = ig.advance(state, lower[j], design.critical_values[j], t, 0.0)
    t = design.information_fraction[k - 1]
    if design.sided == 2:
        return min(
            1.0, p + ig.exit_upper(state, abs(z), t, 0.0) + ig.exit_lower(state, -abs(z), t, 0.0)
        )
    return min(1.0, p + ig.exit_upper(state, z, t, 0.0))


@dataclass(frozen=True, kw_only=True)
class FinalInference:
    """Inference at the end of a group-sequential trial under the stage-wise ordering.

    Attributes
    ----------
    stage, z : int, float
        Look at which the trial ended and its standardized statistic.
    p_value : float
        Stage-wise ordering adjusted p-value (one-sided; two-sided for two-sided designs).
    median_unbiased : float
        Median-unbiased estimate of the effect theta.
    confidence_interval : tuple[float, float]
        Stage-wise ordering confidence interval for theta at ``level``.
    level : float
    """

    stage: int
    z: float
    p_value: float
    median_unbiased: float
    confidence_interval: tuple[float, float]
    level: float

    def summary(self) -> str:
        lo, hi = self.confidence_interval
        return (
            f"ended at look {self.stage} with z = {self.z:.4f}: adjusted p = {self.p_value:.5f}, "
            f"median-unbiased estimate {self.median_unbiased:.4g}, "
            f"{self.level:.0%} CI ({lo:.4g}, {hi:.4g}) [stage-wise ordering]"
        )


def final_inference(
    *,
    design: GroupSequentialDesign,
    stage: int,
    z: float,
    standard_error: float,
    level: float | None = None,
) -> FinalInference:
    """Adjusted p-value, median-unbiased estimate and CI under the stage-wise ordering.

    The effect theta relates to the drift through the information at the final look,
    I_k = 1 / standard_error^2, so I_max = I_k / t_k and drift = theta sqrt(I_max). The
    ordering ranks stopping earlier above the upper bound as more extreme (for two-sided
    designs the signed statistic is ordered, continuation region (-c_j, c_j)).

    Parameters
    ----------
    level : float, optional
        Confidence level; default 1 - 2 alpha / sided (0.95 for one-sided 0.025).

    References
    ----------
    Tsiatis AA, Rosner GL, Mehta CR. Exact confidence intervals following a group sequential
    test. *Biometrics* 1984;40:797-803. Jennison & Turnbull (2000) §8.4-8.5.
    """
    k = _stage(design, stage)
    z = _finite("z", z)
    se = v.positive("standard_error", _finite("standard_error", standard_error))
    conf = 1.0 - 2.0 * design.alpha / design.sided if level is None else level
    conf = v.probability("level", conf)
    root_i_max = 1.0 / (se * math.sqrt(design.information_fraction[k - 1]))
    centre = z / math.sqrt(design.information_fraction[k - 1])

    def theta_at(p: float) -> float:
        def gap(drift: float) -> float:
            return _ordering_tail(design, k, z, drift) - p

        drift = optimize.brentq(gap, centre - 40.0, centre + 40.0, xtol=1e-12, rtol=1e-15)
        return float(drift) / root_i_max

    tail = (1.0 - conf) / 2.0
    return FinalInference(
        stage=k,
        z=z,
        p_value=stagewise_adjusted_p_value(design=design, stage=k, z=z),
        median_unbiased=theta_at(0.5),
        confidence_interval=(theta_at(tail), theta_at(1.0 - tail)),
        level=conf,
    )


def _ordering_tail(design: GroupSequentialDesign, k: int, z: float, drift: float) -> float:
    """P_drift(an outcome at least as extreme as (k, z) in the stage-wise ordering)."""
    lower = design.inference_lower_bounds
    state = ig.start()
    p = 0.0
    for j in range(k - 1):
        t = design.information_fraction[j]
        p += ig.exit_upper(state, design.critical_values[j], t, drift)
        state = ig.advance(state, lower[j], design.critical_values[j], t, drift)
    return p + ig.exit_upper(state, z, design.information_fraction[k - 1], drift)


def _decide(design: GroupSequentialDesign, k: int, z: float, c: float, fut: float | None) -> str:
    final = k == design.k
    if _rejects(design, k, z):
        return REJECT if final else STOP_EFFICACY
    if final:
        return ACCEPT
    if fut is not None and z <= fut:
        return STOP_FUTILITY if design.binding else FUTILITY_NONBINDING
    return CONTINUE


def _rejects(design: GroupSequentialDesign, k: int, z: float) -> bool:
    c = design.critical_values[k - 1]
    return abs(z) >= c if design.sided == 2 else z >= c


def _futility_at(design: GroupSequentialDesign, k: int) -> float | None:
    if design.futility_bounds is None or k == design.k:
        return None
    return design.futility_bounds[k - 1]


def _stage(design: GroupSequentialDesign, stage: int) -> int:
    if not isinstance(stage, int) or not 1 <= stage <= design.k:
        raise v.reject("stage", stage, f"stage must be an integer from 1 to {design.k}")
    return stage


def _finite(name: str, value: float | None) -> float:
    if value is None:
        raise v.reject(name, value, f"{name} is required")
    x = float(value)
    if not math.isfinite(x):
        raise v.reject(name, value, f"{name} must be a finite number")
    return x
