"""The group-sequential final look of a trial that passed its interim, on the trial's data.

The planned design's bounds are recomputed at the information actually reached: the interim
was at t_1 = n_interim / n_final (participants with the endpoint at the interim over those at
the final analysis), the final look at 1. At the final look the primary statistic ``z`` (the
ANCOVA's t statistic, read on the normal scale as the design engine does) is compared with the
recomputed final bound; the stage-wise ordering gives the adjusted p-value, the
median-unbiased estimate and its CI, and the repeated CI is reported beside them
(:mod:`trialdesk.core.sequential.interim`, checked against rpact).

Without an interim (the trial stopped nothing early and no look was taken), the final look is
the fixed-design test: the caller does not call this function.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialdesk.core.design import _validate as v
from trialdesk.core.sequential import GroupSequentialDesign, interim_analysis
from trialdesk.core.sequential.interim import final_inference


@dataclass(frozen=True, kw_only=True)
class FinalLook:
    information_fractions: tuple[float, ...]
    critical_values: tuple[float, ...]
    interim_z: float | None
    z: float
    estimate: float
    standard_error: float
    decision: str
    repeated_ci: tuple[float, float] | None
    adjusted_p_value: float
    median_unbiased: float
    confidence_interval: tuple[float, float]
    level: float

    def to_dict(self) -> dict[str, object]:
        return {
            "information_fractions": list(self.information_fractions),
            "critical_values": list(self.critical_values),
            "interim_z": self.interim_z,
            "z": self.z,
            "estimate": self.estimate,
            "standard_error": self.standard_error,
            "decision": self.decision,
            "repeated_ci": None if self.repeated_ci is None else list(self.repeated_ci),
            "adjusted_p_value": self.adjusted_p_value,
            "median_unbiased": self.median_unbiased,
            "confidence_interval": list(self.confidence_interval),
            "level": self.level,
        }

    def summary(self) -> str:
        lo, hi = self.confidence_interval
        return (
            f"final look at information fractions {self.information_fractions}: z = "
            f"{self.z:.4f} against the bound {self.critical_values[-1]:.4f} ({self.decision}); "
            f"stage-wise adjusted p = {self.adjusted_p_value:.5f}, median-unbiased estimate "
            f"{self.median_unbiased:.4g}, {self.level:.0%} CI ({lo:.4g}, {hi:.4g})"
        )


def final_look(
    *,
    design: GroupSequentialDesign,
    n_interim: int,
    n_final: int,
    z: float,
    estimate: float,
    standard_error: float,
    interim_z: float | None = None,
) -> FinalLook:
    """The final look after one interim with ``n_interim`` of ``n_final`` participants
    (``interim_z``, the statistic the interim saw, is kept with the result for the report)."""
    if design.k != 2:
        raise v.reject("design.k", design.k, "a design with one interim and a final look")
    n1 = int(v.positive("n_interim", n_interim))
    n2 = int(v.positive("n_final", n_final))
    if n1 >= n2:
        raise v.reject("n_interim", n1, f"fewer than the final analysis's {n2} participants")
    t1 = n1 / n2
    result = interim_analysis(
        design=design,
        information_fraction=[t1, 1.0],
        z=z,
        estimate=estimate,
        standard_error=standard_error,
    )
    inference = final_inference(design=result.design, stage=2, z=z, standard_error=standard_error)
    return FinalLook(
        information_fractions=tuple(result.design.information_fraction),
        critical_values=tuple(result.design.critical_values),
        interim_z=None if interim_z is None else float(interim_z),
        z=float(z),
        estimate=float(estimate),
        standard_error=float(standard_error),
        decision=result.decision,
        repeated_ci=result.repeated_ci,
        adjusted_p_value=inference.p_value,
        median_unbiased=inference.median_unbiased,
        confidence_interval=inference.confidence_interval,
        level=inference.level,
    )
