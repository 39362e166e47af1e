"""The interim analysis of a two-arm continuous primary endpoint, from the observed values.

* Statistic: difference in means (treatment minus control), pooled-variance standard error
  SE = s_p sqrt(1/n_t + 1/n_c), z = estimate / SE read on the normal scale (rpact's
  ``normalApproximation = TRUE``, as in ``tests/reference/rpact_interim.R``).
* Observed information fraction t_1 = n_observed / n_planned_max (participants with the
  endpoint over the protocol's planned total, both arms).
* Bounds recomputed at t_1 by the design engine (:func:`trialdesk.core.sequential.
  interim_analysis`), the decision, conditional power under the observed trend, under the
  design alternative and at the protocol's planned standardized effect, and the repeated CI.

The monitoring design (:func:`monitoring_design`) is the one ``trialdesk design report``
shows: a two-sided test with β-spending futility is monitored as one-sided alpha/2 towards
benefit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trialdesk.core.design import _validate as v
from trialdesk.core.sequential import (
    GroupSequentialDesign,
    InterimResult,
    conditional_power,
    drift_for_means,
    interim_analysis,
)
from trialdesk.core.sequential.planned import monitoring_design  # noqa: F401 (re-exported)


@dataclass(frozen=True, kw_only=True)
class TwoSampleStatistic:
    """Difference in means (treatment - control) with its pooled-variance standard error."""

    n_treatment: int
    n_control: int
    mean_treatment: float
    mean_control: float
    estimate: float
    pooled_sd: float
    standard_error: float
    z: float


def two_sample_z(treatment: Sequence[float], control: Sequence[float]) -> TwoSampleStatistic:
    """Pooled-variance two-sample statistic; at least 2 per arm and a non-zero variance."""
    t = [float(x) for x in treatment]
    c = [float(x) for x in control]
    if len(t) < 2 or len(c) < 2:
        raise v.reject("n", (len(t), len(c)), "at least 2 values per arm are needed")
    if not all(math.isfinite(x) for x in (*t, *c)):
        raise v.reject("values", None, "values must be finite numbers")
    nt, nc = len(t), len(c)
    mt, mc = math.fsum(t) / nt, math.fsum(c) / nc
    ss = math.fsum((x - mt) ** 2 for x in t) + math.fsum((x - mc) ** 2 for x in c)
    sp = math.sqrt(ss / (nt + nc - 2))
    if sp == 0.0:
        raise v.reject("values", None, "every value is the same: the variance is zero")
    se = sp * math.sqrt(1.0 / nt + 1.0 / nc)
    return TwoSampleStatistic(
        n_treatment=nt,
        n_control=nc,
        mean_treatment=mt,
        mean_control=mc,
        estimate=mt - mc,
        pooled_sd=sp,
        standard_error=se,
        z=(mt - mc) / se,
    )


@dataclass(frozen=True, kw_only=True)
class InterimComputation:
    """Everything the interim reports, from the data and the design."""

    statistic: TwoSampleStatistic
    n_observed: int
    n_planned_max: int
    information_fraction: float
    result: InterimResult
    conditional_power_planned_effect: float
    planned_effect: float
    one_sided_from_two_sided: bool

    def to_dict(self) -> dict[str, object]:
        s = self.statistic
        r = self.result
        return {
            "n_treatment": s.n_treatment,
            "n_control": s.n_control,
            "mean_treatment": s.mean_treatment,
            "mean_control": s.mean_control,
            "estimate": s.estimate,
            "pooled_sd": s.pooled_sd,
            "standard_error": s.standard_error,
            "z": s.z,
            "n_observed": self.n_observed,
            "n_planned_max": self.n_planned_max,
            "information_fraction": self.information_fraction,
            "stage": r.stage,
            "critical_value": r.critical_value,
            "futility_bound": r.futility_bound,
            "critical_values": list(r.design.critical_values),
            "information_fractions": list(r.design.information_fraction),
            "alpha": r.design.alpha,
            "sided": r.design.sided,
            "decision": r.decision,
            "conditional_power_trend": r.conditional_power_trend,
            "conditional_power_design": r.conditional_power_design,
            "conditional_power_planned_effect": self.conditional_power_planned_effect,
            "planned_effect": self.planned_effect,
            "repeated_ci": None if r.repeated_ci is None else list(r.repeated_ci),
        }

    def summary(self) -> str:
        s = self.statistic
        return "\n".join(
            [
                f"n = {s.n_treatment} treatment, {s.n_control} control "
                f"({self.n_observed} of {self.n_planned_max} planned)",
                f"difference in means {s.estimate:.4g} (SE {s.standard_error:.4g}, "
                f"pooled SD {s.pooled_sd:.4g})",
                self.result.summary(),
                f"conditional power at the planned effect d = {self.planned_effect:g}: "
                f"{self.conditional_power_planned_effect:.4f}",
            ]
        )


def compute_interim(
    *,
    treatment: Sequence[float],
    control: Sequence[float],
    design: GroupSequentialDesign,
    n_planned_max: int,
    planned_effect: float,
    one_sided_from_two_sided: bool = False,
) -> InterimComputation:
    """The first interim look at t_1 = n_observed / n_planned_max.

    ``planned_effect`` is the protocol's standardized difference (Cohen's d); its drift is
    d sqrt(n_1 n_2 / (n_1 + n_2)) at the planned per-arm n (n_planned_max / 2 each).
    """
    stat = two_sample_z(treatment, control)
    n_max = int(v.positive("n_planned_max", n_planned_max))
    n_obs = stat.n_treatment + stat.n_control
    t1 = n_obs / n_max
    if design.k < 2 or not 0.0 < t1 < design.information_fraction[1]:
        raise v.reject(
            "information_fraction",
            t1,
            f"{n_obs} of {n_max} planned: the first look needs a fraction below the next look's",
        )
    result = interim_analysis(
        design=design,
        information_fraction=[t1],
        z=stat.z,
        estimate=stat.estimate,
        standard_error=stat.standard_error,
    )
    drift = drift_for_means(effect=planned_effect, n_per_group=n_max / 2.0)
    cp_planned = conditional_power(design=result.design, stage=1, z=stat.z, drift=drift)
    return InterimComputation(
        statistic=stat,
        n_observed=n_obs,
        n_planned_max=n_max,
        information_fraction=t1,
        result=result,
        conditional_power_planned_effect=cp_planned,
        planned_effect=float(planned_effect),
        one_sided_from_two_sided=one_sided_from_two_sided,
    )
