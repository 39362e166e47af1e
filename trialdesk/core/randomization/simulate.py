"""Operating characteristics of an allocation scheme, by simulation (the pre-study report).

Balance: the final difference between arms (overall and within strata) when ``n`` participants
arrive with random strata. Predictability: the proportion of allocations a recruiter would
guess right with the convergence strategy (Blackwell & Hodges 1957) — guess the arm that is
behind (ratio-weighted) in the participant's stratum; ties score 1/number tied. 0.5 means
unpredictable for 1:1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trialdesk.core.randomization import blocks
from trialdesk.core.randomization.lists import ListSpec
from trialdesk.core.randomization.minimization import minimization_assign


@dataclass(frozen=True)
class BalanceResult:
    method: str
    n_participants: int
    n_simulations: int
    mean_abs_imbalance: float
    p95_abs_imbalance: float
    max_abs_imbalance: int
    p_imbalance_gt: dict[int, float]
    mean_abs_stratum_imbalance: float
    correct_guess_fraction: float
    #: (|imbalance|, share of simulated trials), for drawing the distribution
    distribution: tuple[tuple[int, float], ...] = ()

    def summary(self) -> str:
        tail = ", ".join(f"P(|Δ|>{k}) = {p:.4f}" for k, p in self.p_imbalance_gt.items())
        return (
            f"{self.method}: n = {self.n_participants}, {self.n_simulations} simulated trials; "
            f"mean |Δ| = {self.mean_abs_imbalance:.2f}, 95th pct {self.p95_abs_imbalance:.0f}, "
            f"max {self.max_abs_imbalance}; {tail}; mean |Δ| within strata "
            f"{self.mean_abs_stratum_imbalance:.2f}; convergence-guess success "
            f"{self.correct_guess_fraction:.3f}"
        )


def guess_success(arm_idx: np.ndarray, ratio: Sequence[int]) -> np.ndarray:
    """Per row of ``arm_idx`` (lists × positions, -1 = padding), the fraction of positions a
    convergence-strategy guesser gets right."""
    k = len(ratio)
    r = np.asarray(ratio, dtype=float)
    onehot = (arm_idx[..., None] == np.arange(k)).astype(np.int32)
    before = np.cumsum(onehot, axis=1) - onehot
    weighted = before / r
    behind = np.isclose(weighted, weighted.min(axis=2, keepdims=True))
    n_behind = behind.sum(axis=2)
    hit = (behind & onehot.astype(bool)).any(axis=2) / n_behind
    valid = arm_idx >= 0
    return (hit * valid).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)


def _sequences(spec: ListSpec, n: int, n_sims: int, rng: np.random.Generator) -> np.ndarray:
    if spec.method == "permuted_block":
        m = blocks.permuted_blocks(
            ratio=spec.ratio, block_sizes=spec.block_sizes, min_length=n, n_lists=n_sims, rng=rng
        )
        return m.arms[:, :n]
    return blocks.simple(ratio=spec.ratio, length=n, n_lists=n_sims, rng=rng)


def simulate_balance(
    *,
    spec: ListSpec,
    n_participants: int,
    n_simulations: int,
    rng: np.random.Generator,
    stratum_probabilities: Sequence[float] | None = None,
    thresholds: Sequence[int] = (2, 4, 6),
) -> BalanceResult:
    """Arm imbalance (first arm minus the rest, ratio-weighted) and predictability."""
    if spec.method == "minimization":
        return _simulate_minimization(spec, n_participants, n_simulations, rng, thresholds)
    n_strata = len(spec.strata)
    p = (
        np.full(n_strata, 1 / n_strata)
        if stratum_probabilities is None
        else np.asarray(stratum_probabilities, dtype=float)
    )
    arrivals = rng.multinomial(n_participants, p / p.sum(), size=n_simulations)
    total = np.zeros(n_simulations)
    within = np.zeros(n_simulations)
    guesses = np.zeros(n_simulations)
    r = np.asarray(spec.ratio, dtype=float)
    for s in range(n_strata):
        seq = _sequences(spec, n_participants, n_simulations, rng)
        used = np.arange(n_participants)[None, :] < arrivals[:, s : s + 1]
        seq = np.where(used, seq, -1)
        counts = np.stack([(seq == a).sum(axis=1) for a in range(len(r))], axis=1) / r * r.mean()
        diff = counts[:, 0] - counts[:, 1:].sum(axis=1) / max(len(r) - 1, 1)
        total += diff
        within += np.abs(diff)
        guesses += guess_success(seq, spec.ratio) * arrivals[:, s]
    return _result(
        spec.method, n_participants, total, within / n_strata, guesses / n_participants, thresholds
    )


def _result(method, n, total, within, guesses, thresholds) -> BalanceResult:
    a = np.abs(total)
    return BalanceResult(
        method=method,
        n_participants=n,
        n_simulations=len(total),
        mean_abs_imbalance=float(a.mean()),
        p95_abs_imbalance=float(np.quantile(a, 0.95)),
        max_abs_imbalance=int(round(a.max())),
        p_imbalance_gt={int(k): float((a > k).mean()) for k in thresholds},
        mean_abs_stratum_imbalance=float(np.mean(within)),
        correct_guess_fraction=float(np.mean(guesses)),
        distribution=tuple(
            (int(v), float(c) / len(a))
            for v, c in zip(*np.unique(np.rint(a).astype(int), return_counts=True), strict=True)
        ),
    )


def _simulate_minimization(spec, n, n_sims, rng, thresholds) -> BalanceResult:
    """Minimization is sequential: loop over participants, one small loop per trial."""
    levels_per_factor = {f: [f"{f}{i}" for i in range(2)] for f in spec.factors}
    total = np.zeros(n_sims)
    guesses = np.zeros(n_sims)
    for sim in range(n_sims):
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for _ in range(n):
            levels = {f: ls[rng.integers(len(ls))] for f, ls in levels_per_factor.items()}
            res = minimization_assign(
                arms=spec.arms,
                ratio=spec.ratio,
                levels=levels,
                counts=counts,
                probability=spec.minimization_probability or 1.0,
                draw=float(rng.random()),
                tie_draw=float(rng.random()),
            )
            guesses[sim] += (res.arm in res.preferred) / len(res.preferred)
            for f, lv in levels.items():
                counts.setdefault((f, lv), dict.fromkeys(spec.arms, 0))[res.arm] += 1
            total[sim] += 1 if res.arm == spec.arms[0] else -1
    return _result("minimization", n, total, np.abs(total), guesses / n, thresholds)
