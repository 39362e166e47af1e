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
    stops: np.ndarray = field(default=None)  # type: ignore[assignment]  # (4, looks) int64
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
    eff, fut = _crossings(looks, boundary)
    stop = eff | fut
    stop[:, -1] = True
    look = np.argmax(stop, axis=1)
    rows = np.arange(replicates)
    rejected = eff[rows, look]
    futile = fut[rows, look] & ~rejected
    n_stop = n[look].copy()
    interim = look < boundary.looks - 1
    overrun = scenario.overrun()
    if overrun:
        n_stop[interim] = np.minimum(n_stop[interim] + overrun, boundary.n_max)
    safety_look, n_safety = _safety(rng, boundary, scenario, safety_rule, replicates)
    by_safety = n_safety <= n[look]
    by_safety &= n_safety < boundary.n_max
    n_stop[by_safety] = n_safety[by_safety]
    return _tally(
        boundary, scenario, looks, look, rejected, futile, by_safety, safety_look, n_stop, eff
    )


def _crossings(looks: LookStatistics, b: SimulationBoundary) -> tuple[np.ndarray, np.ndarray]:
    crit, fcrit = b.efficacy_z(), b.futility_z()
    stat = np.abs(looks.statistic) if b.sided == 2 else looks.statistic
    if looks.df is None:
        return stat >= crit, stat < fcrit
    n_max = int(looks.df.max()) + 1
    df = np.arange(n_max, dtype=float)
    # Nominal levels carried over to the t distribution with the replicate's own df.
    with np.errstate(invalid="ignore", divide="ignore"):
        tc = special.stdtrit(df[:, None], special.ndtr(crit)[None, :])
        tf = special.stdtrit(df[:, None], special.ndtr(fcrit)[None, :])
    tc[0, :] = np.inf
    tf[0, :] = -np.inf
    tf[:, ~np.isfinite(fcrit)] = -np.inf
    cols = np.arange(b.looks)
    return stat >= tc[looks.df, cols], stat < tf[looks.df, cols]


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
    cps = np.asarray([c for c in rule.checkpoints if 2 * c <= b.n_max], dtype=np.int64)
    if cps.size == 0:
        return np.full(r, b.looks, dtype=np.int64), never
    need = np.asarray(rule.stop_counts[: cps.size], dtype=np.int64)
    arms = {"treatment": (1,), "control": (0,), "either": (0, 1)}[rule.arm]
    cross = np.zeros((r, cps.size), dtype=bool)
    for arm in arms:
        p = scenario.sae_rate[arm]
        if p <= 0:
            continue
        events = np.cumsum(rng.binomial(np.diff(cps, prepend=0), p, size=(r, cps.size)), axis=1)
        cross |= events >= need
    hit = cross.any(axis=1)
    first = np.argmax(cross, axis=1)
    n_s = np.where(hit, 2 * cps[first], never)
    look = np.searchsorted(np.asarray(b.n_per_look), n_s, side="left")
    return np.minimum(look, b.looks - 1), n_s


def _tally(
    b: SimulationBoundary,
    scenario: Scenario,
    looks: LookStatistics,
    look: np.ndarray,
    rejected: np.ndarray,
    futile: np.ndarray,
    by_safety: np.ndarray,
    safety_look: np.ndarray,
    n_stop: np.ndarray,
    eff: np.ndarray,
) -> Tally:
    k = b.looks
    ok = ~by_safety
    t = Tally(looks=k, replicates=int(look.size))
    t.stops[0] = np.bincount(look[rejected & ok], minlength=k)
    t.stops[1] = np.bincount(look[futile & ok], minlength=k)
    t.stops[2] = np.bincount(safety_look[by_safety], minlength=k)
    t.stops[3] = np.bincount(look[~rejected & ~futile & ok], minlength=k)
    # Ignoring futility but honouring safety: the non-binding type I error / power.
    eff_any = eff.any(axis=1)
    t.reject_ignoring_futility = int(np.count_nonzero(eff_any & ok))
    t.sum_n = int(n_stop.sum())
    t.sum_n2 = int((n_stop * n_stop).sum())
    err = looks.estimate[np.arange(look.size), look][ok] - scenario.effect
    t.analysed = int(err.size)
    t.sum_err = float(err.sum())
    t.sum_err2 = float(err @ err)
    err_r = err[rejected[ok]]
    t.sum_err_reject = float(err_r.sum())
    t.sum_err2_reject = float(err_r @ err_r)
    return t
