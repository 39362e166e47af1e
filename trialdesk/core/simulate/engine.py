"""One chunk of simulated trials: statistics → decisions → a small tally.

A chunk is a pure function of (boundary, scenario, analysis, safety rule, seed, chunk index,
chunk size): its generator is seeded from ``SeedSequence(seed, spawn_key=(chunk_index,))``, so
chunks can run anywhere, in any order, and the combined tally is identical bit for bit.
Every effect size uses the same streams (common random numbers), which makes the differences
between scenarios less noisy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from trialdesk.core.simulate.analyses import ANALYSES, LookStatistics
from trialdesk.core.simulate.boundary import SafetyRule, SimulationBoundary
from trialdesk.core.simulate.scenario import Scenario

__all__ = [
    "REASONS",
    "Tally",
    "chunk_generator",
    "simulate_chunk",
    "simulate_replicates",
]

#: Row order of ``Tally.stops``.
REASONS = ("efficacy", "futility", "safety", "completed")


@dataclass
class Tally:
    """Integer counts and sums over replicates; adding tallies combines chunks exactly."""

    looks: int
    replicates: int = 0
    stops: np.ndarray = field(default=None)  # type: ignore[arg-type]  # (4, looks) int64
    reject_ignoring_futility: int = 0
    sum_n: int = 0
    sum_n2: int = 0
    analysed: int = 0
    sum_err: float = 0.0
    sum_err2: float = 0.0
    sum_err_reject: float = 0.0
    sum_err2_reject: float = 0.0

    def __post_init__(self) -> None:
        if self.stops is None:
            self.stops = np.zeros((len(REASONS), self.looks), dtype=np.int64)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            looks=self.looks,
            replicates=self.replicates + other.replicates,
            stops=self.stops + other.stops,
            reject_ignoring_futility=self.reject_ignoring_futility + other.reject_ignoring_futility,
            sum_n=self.sum_n + other.sum_n,
            sum_n2=self.sum_n2 + other.sum_n2,
            analysed=self.analysed + other.analysed,
            sum_err=self.sum_err + other.sum_err,
            sum_err2=self.sum_err2 + other.sum_err2,
            sum_err_reject=self.sum_err_reject + other.sum_err_reject,
            sum_err2_reject=self.sum_err2_reject + other.sum_err2_reject,
        )


def chunk_generator(seed: int, chunk_index: int) -> np.random.Generator:
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk_index,)))
    )


def simulate_chunk(
    *,
    boundary: SimulationBoundary,
    scenario: Scenario,
    analysis: str,
    seed: int,
    chunk_index: int,
    replicates: int,
    safety_rule: SafetyRule | None = None,
) -> Tally:
    """Simulate one chunk; a pure function of its arguments."""
    return simulate_replicates(
        boundary=boundary,
        scenario=scenario,
        analysis=analysis,
        replicates=replicates,
        safety_rule=safety_rule,
        rng=chunk_generator(seed, chunk_index),
    )


def simulate_replicates(
    *,
    boundary: SimulationBoundary,
    scenario: Scenario,
    analysis: str,
    replicates: int,
    rng: np.random.Generator,
    safety_rule: SafetyRule | None = None,
) -> Tally:
    """Simulate ``replicates`` trials with ``rng`` and return their tally."""
    if analysis not in ANALYSES:
        raise ValueError(f"analysis = {analysis!r}: allowed are {', '.join(ANALYSES)}")
    n = np.asarray(boundary.n_per_look, dtype=np.int64)
    stage_n = np.diff(n, prepend=0) // 2
    looks = ANALYSES[analysis](rng, stage_n, scenario, replicates)
    if safety_rule is None:
        return _fast_tally(looks, boundary, scenario)
    d = _decide(looks, boundary)
    n_stop = n[d.look]
    overrun = scenario.overrun()
    if overrun:
        interim = d.look < boundary.looks - 1
        n_stop[interim] = np.minimum(n_stop[interim] + overrun, boundary.n_max)
    safety_look, n_safety = _safety(rng, boundary, scenario, safety_rule, replicates)
    by_safety = n_safety <= n[d.look]
    by_safety &= n_safety < boundary.n_max
    n_stop[by_safety] = n_safety[by_safety]
    return _tally(boundary, scenario, d, n_stop, ~by_safety, safety_look)


def _fast_tally(looks: LookStatistics, b: SimulationBoundary, scenario: Scenario) -> Tally:
    """Decisions and tally in one pass over the looks, without per-replicate bookkeeping.

    Without a safety rule the stopping look fixes the sample size, so counts per look are
    enough; only the estimate at stopping is carried per replicate. Same numbers as
    ``_decide`` + ``_tally`` (up to the order of floating-point summation).
    """
    k_max = b.looks
    r = looks.statistic.shape[1]
    crit, fcrit = _thresholds(looks, b)
    has_futility = any(f is not None for f in fcrit)
    t = Tally(looks=k_max, replicates=r)
    alive = np.ones(r, dtype=bool)
    rejected = np.zeros(r, dtype=bool)
    any_eff = np.zeros(r, dtype=bool) if has_futility else rejected
    est = looks.estimate[k_max - 1].copy()
    for k in range(k_max):
        stat = np.abs(looks.statistic[k]) if b.sided == 2 else looks.statistic[k]
        eff = stat >= crit[k]
        if has_futility:
            any_eff |= eff
        if k:
            eff &= alive
        t.stops[0, k] = np.count_nonzero(eff)
        rejected |= eff
        stopped = eff
        if fcrit[k] is not None:
            fut = stat < fcrit[k]
            fut &= alive
            fut &= ~eff
            t.stops[1, k] = np.count_nonzero(fut)
            stopped = eff | fut
        if k < k_max - 1:
            np.copyto(est, looks.estimate[k], where=stopped)
        alive ^= stopped
    t.stops[3, k_max - 1] = np.count_nonzero(alive)
    t.reject_ignoring_futility = int(np.count_nonzero(any_eff))
    n_stop = np.asarray(b.n_per_look, dtype=np.int64)
    n_stop[:-1] = np.minimum(n_stop[:-1] + scenario.overrun(), b.n_max)
    per_look = t.stops.sum(axis=0)
    t.sum_n = int(per_look @ n_stop)
    t.sum_n2 = int(per_look @ (n_stop * n_stop))
    est -= scenario.effect
    t.analysed = r
    t.sum_err = float(est.sum())
    t.sum_err2 = float(np.dot(est, est))
    est[~rejected] = 0.0
    t.sum_err_reject = float(est.sum())
    t.sum_err2_reject = float(np.dot(est, est))
    return t


@dataclass
class _Decisions:
    look: np.ndarray  # index of the look at which the trial stopped (or the final look)
    rejected: np.ndarray
    futile: np.ndarray
    estimate: np.ndarray  # naive estimate at that look
    rejected_ignoring_futility: np.ndarray


def _decide(looks: LookStatistics, b: SimulationBoundary) -> _Decisions:
    k_max = b.looks
    r = looks.statistic.shape[1]
    crit, fcrit = _thresholds(looks, b)
    alive = np.ones(r, dtype=bool)
    rejected = np.zeros(r, dtype=bool)
    futile = np.zeros(r, dtype=bool)
    any_eff = np.zeros(r, dtype=bool)
    look = np.full(r, k_max - 1, dtype=np.int64)
    est = looks.estimate[k_max - 1].copy()
    for k in range(k_max):
        stat = looks.statistic[k]
        if b.sided == 2:
            stat = np.abs(stat)
        eff = stat >= crit[k]
        any_eff |= eff
        eff &= alive
        stopped = eff
        rejected |= eff
        if fcrit[k] is not None:
            fut = stat < fcrit[k]
            fut &= alive
            fut &= ~eff
            futile |= fut
            stopped = eff | fut
        if k < k_max - 1:
            np.copyto(est, looks.estimate[k], where=stopped)
            np.copyto(look, k, where=stopped)
        alive &= ~stopped
    return _Decisions(look, rejected, futile, est, any_eff)


def _thresholds(looks: LookStatistics, b: SimulationBoundary) -> tuple[list, list]:
    """Per look, the efficacy and futility thresholds on the scale of ``looks.statistic``.

    Futility entries are None where no futility stop applies.
    """
    crit, fcrit = b.efficacy_z(), b.futility_z()
    k_max = b.looks
    if looks.df is None:
        scale = looks.z_per_unit if looks.z_per_unit is not None else np.ones(k_max)
        c = [crit[k] / scale[k] for k in range(k_max)]
        f = [fcrit[k] / scale[k] if np.isfinite(fcrit[k]) else None for k in range(k_max)]
        return c, f
    if looks.df.ndim == 1:
        df = looks.df.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = [float(special.stdtrit(df[k], special.ndtr(crit[k]))) for k in range(k_max)]
            f = [
                float(special.stdtrit(df[k], special.ndtr(fcrit[k])))
                if np.isfinite(fcrit[k])
                else None
                for k in range(k_max)
            ]
        return c, f
    df_max = int(looks.df.max()) + 1
    df = np.arange(df_max, dtype=float)
    # Nominal levels carried over to the t distribution with the replicate's own df.
    with np.errstate(invalid="ignore", divide="ignore"):
        tc = special.stdtrit(df[:, None], special.ndtr(crit)[None, :])
        tf = special.stdtrit(df[:, None], special.ndtr(fcrit)[None, :])
    tc[0, :] = np.inf
    tf[0, :] = -np.inf
    c = [tc[looks.df[k], k] for k in range(k_max)]
    f = [tf[looks.df[k], k] if np.isfinite(fcrit[k]) else None for k in range(k_max)]
    return c, f


def _safety(
    rng: np.random.Generator,
    b: SimulationBoundary,
    scenario: Scenario,
    rule: SafetyRule | None,
    r: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Look index and total enrolled at the first safety stop (n_max + 1 when none)."""
    never = np.full(r, b.n_max + 1, dtype=np.int64)
    if rule is None:
        return np.full(r, b.looks, dtype=np.int64), never
    per_arm = 1 if rule.arm == "pooled" else 2  # checkpoints count one arm, or both
    cps = np.asarray([c for c in rule.checkpoints if per_arm * c <= b.n_max], dtype=np.int64)
    if cps.size == 0:
        return np.full(r, b.looks, dtype=np.int64), never
    need = np.asarray(rule.stop_counts[: cps.size], dtype=np.int64)
    cross = np.zeros((r, cps.size), dtype=bool)
    if rule.arm == "pooled":
        pooled = np.zeros((r, cps.size), dtype=np.int64)
        for arm, n_arm in ((1, (cps + 1) // 2), (0, cps // 2)):
            pooled += _events(rng, n_arm, scenario.sae_rate[arm], r)
        cross = pooled >= need
    else:
        arms = {"treatment": (1,), "control": (0,), "either": (0, 1)}[rule.arm]
        for arm in arms:
            cross |= _events(rng, cps, scenario.sae_rate[arm], r) >= need
    hit = cross.any(axis=1)
    first = np.argmax(cross, axis=1)
    n_s = np.where(hit, per_arm * cps[first], never)
    look = np.searchsorted(np.asarray(b.n_per_look), n_s, side="left")
    return np.minimum(look, b.looks - 1), n_s


def _events(rng: np.random.Generator, n: np.ndarray, p: float, r: int) -> np.ndarray:
    """Cumulative event counts at participant counts ``n`` (increasing), shape (r, n.size)."""
    if p <= 0:
        return np.zeros((r, n.size), dtype=np.int64)
    return np.cumsum(rng.binomial(np.diff(n, prepend=0), p, size=(r, n.size)), axis=1)


def _tally(
    b: SimulationBoundary,
    scenario: Scenario,
    d: _Decisions,
    n_stop: np.ndarray,
    ok: np.ndarray,
    safety_look: np.ndarray,
) -> Tally:
    """Counts and sums; ``ok`` marks replicates not stopped for safety."""
    k = b.looks
    t = Tally(looks=k, replicates=int(d.look.size))
    completed = ~(d.rejected | d.futile)
    t.stops[0] = np.bincount(d.look[d.rejected & ok], minlength=k)
    t.stops[1] = np.bincount(d.look[d.futile & ok], minlength=k)
    t.stops[2] = np.bincount(safety_look[~ok], minlength=k)
    t.stops[3] = np.bincount(d.look[completed & ok], minlength=k)
    err = d.estimate[ok] - scenario.effect
    rej = d.rejected[ok]
    t.reject_ignoring_futility = int(np.count_nonzero(d.rejected_ignoring_futility & ok))
    t.sum_n = int(n_stop.sum())
    t.sum_n2 = int(np.dot(n_stop, n_stop))
    t.analysed = int(err.size)
    t.sum_err = float(err.sum())
    t.sum_err2 = float(np.dot(err, err))
    err_r = err[rej]
    t.sum_err_reject = float(err_r.sum())
    t.sum_err2_reject = float(np.dot(err_r, err_r))
    return t
