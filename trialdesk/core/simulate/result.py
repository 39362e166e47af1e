"""Operating characteristics with their Monte Carlo standard errors."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from trialdesk.core.simulate.boundary import SimulationBoundary
from trialdesk.core.simulate.engine import Tally
from trialdesk.core.simulate.scenario import Scenario

__all__ = ["OperatingCharacteristicsResult", "result_from_tally"]


def _p(count: int, r: int) -> tuple[float, float]:
    p = count / r
    return p, math.sqrt(p * (1.0 - p) / r)


@dataclass(frozen=True)
class OperatingCharacteristicsResult:
    """What a design does under one scenario, estimated from ``replicates`` simulated trials.

    Probabilities are over all replicates; every one has an ``mcse_*`` companion (the Monte
    Carlo standard error). ``bias`` is the mean of (naive estimate at stopping − true effect) in
    SD units over trials that reached an efficacy analysis (safety stops have none).
    """

    effect: float
    analysis: str
    replicates: int
    seed: int
    chunk_size: int
    n_per_look: tuple[int, ...]
    reject: float
    mcse_reject: float
    reject_per_look: tuple[float, ...]
    mcse_reject_per_look: tuple[float, ...]
    reject_ignoring_futility: float
    mcse_reject_ignoring_futility: float
    stop_interim: float
    mcse_stop_interim: float
    stop_efficacy_interim: float
    mcse_stop_efficacy_interim: float
    stop_futility_interim: float
    mcse_stop_futility_interim: float
    stop_safety: float
    mcse_stop_safety: float
    futility_per_look: tuple[float, ...]
    mcse_futility_per_look: tuple[float, ...]
    safety_per_look: tuple[float, ...]
    mcse_safety_per_look: tuple[float, ...]
    expected_n: float
    mcse_expected_n: float
    bias: float
    mcse_bias: float
    bias_given_reject: float
    mcse_bias_given_reject: float
    expected_duration_months: float | None
    scenario: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        looks = ", ".join(f"{p:.4f}" for p in self.reject_per_look)
        lines = [
            f"effect {self.effect:g} SD, {self.analysis} analysis, {self.replicates} replicates "
            f"(seed {self.seed})",
            f"  P(reject H0)         {self.reject:.4f} ± {self.mcse_reject:.4f}  per look: {looks}",
            f"  P(stop at interim)   {self.stop_interim:.4f} ± {self.mcse_stop_interim:.4f}  "
            f"(efficacy {self.stop_efficacy_interim:.4f}, futility "
            f"{self.stop_futility_interim:.4f}, safety {self.stop_safety:.4f})",
            f"  expected n           {self.expected_n:.2f} ± {self.mcse_expected_n:.2f}",
            f"  bias at stopping     {self.bias:+.4f} ± {self.mcse_bias:.4f} SD",
        ]
        return "\n".join(lines)


def _mean_se(s: float, s2: float, m: int) -> tuple[float, float]:
    if m == 0:
        return math.nan, math.nan
    mean = s / m
    if m < 2:
        return mean, math.nan
    var = max(s2 / m - mean * mean, 0.0) * m / (m - 1)
    return mean, math.sqrt(var / m)


def result_from_tally(
    tally: Tally,
    *,
    boundary: SimulationBoundary,
    scenario: Scenario,
    analysis: str,
    seed: int,
    chunk_size: int,
) -> OperatingCharacteristicsResult:
    r = tally.replicates
    eff, fut, saf = (tally.stops[i] for i in range(3))
    reject = _p(int(eff.sum()), r)
    per_look = [_p(int(c), r) for c in eff]
    e_int = _p(int(eff[:-1].sum()), r)
    f_int = _p(int(fut[:-1].sum()), r)
    s_all = _p(int(saf.sum()), r)
    # A safety stop is always before the final analysis, so it is an early stop.
    early = _p(int(eff[:-1].sum() + fut[:-1].sum() + saf.sum()), r)
    n_mean, n_se = _mean_se(float(tally.sum_n), float(tally.sum_n2), r)
    bias, bias_se = _mean_se(tally.sum_err, tally.sum_err2, tally.analysed)
    rej_n = int(eff.sum())
    bias_r, bias_r_se = _mean_se(tally.sum_err_reject, tally.sum_err2_reject, rej_n)
    nonbinding = _p(tally.reject_ignoring_futility, r)
    duration = None
    if scenario.recruitment_per_month is not None:
        duration = n_mean / scenario.recruitment_per_month + scenario.followup_days / 30.4375
    return OperatingCharacteristicsResult(
        effect=scenario.effect,
        analysis=analysis,
        replicates=r,
        seed=seed,
        chunk_size=chunk_size,
        n_per_look=tuple(boundary.n_per_look),
        reject=reject[0],
        mcse_reject=reject[1],
        reject_per_look=tuple(p for p, _ in per_look),
        mcse_reject_per_look=tuple(se for _, se in per_look),
        reject_ignoring_futility=nonbinding[0],
        mcse_reject_ignoring_futility=nonbinding[1],
        stop_interim=early[0],
        mcse_stop_interim=early[1],
        stop_efficacy_interim=e_int[0],
        mcse_stop_efficacy_interim=e_int[1],
        stop_futility_interim=f_int[0],
        mcse_stop_futility_interim=f_int[1],
        stop_safety=s_all[0],
        mcse_stop_safety=s_all[1],
        futility_per_look=tuple(_p(int(c), r)[0] for c in fut),
        mcse_futility_per_look=tuple(_p(int(c), r)[1] for c in fut),
        safety_per_look=tuple(_p(int(c), r)[0] for c in saf),
        mcse_safety_per_look=tuple(_p(int(c), r)[1] for c in saf),
        expected_n=n_mean,
        mcse_expected_n=n_se,
        bias=bias,
        mcse_bias=bias_se,
        bias_given_reject=bias_r,
        mcse_bias_given_reject=bias_r_se,
        expected_duration_months=duration,
        scenario=asdict(scenario),
    )
