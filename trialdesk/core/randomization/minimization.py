"""Pocock–Simon minimization with a random element.

For each candidate arm, the imbalance that assigning the newcomer there would cause is summed
over her factor levels (the range of ratio-weighted counts across arms). The arm with the
least total imbalance is chosen with probability ``probability``; otherwise one of the other
arms, uniformly. Ties between best arms are broken uniformly. Both uniforms are passed in, so
the allocation is reproducible from a pre-drawn list (see ``lists.ListSpec`` method
``minimization``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MinimizationResult:
    arm: str
    imbalance: Mapping[str, float]
    preferred: tuple[str, ...]
    random_element_used: bool

    def summary(self) -> str:
        scores = ", ".join(f"{a}: {v:g}" for a, v in self.imbalance.items())
        how = "random element" if self.random_element_used else "minimization"
        return f"→ {self.arm} by {how} (imbalance if assigned: {scores})"


def level_counts(
    history: Sequence[tuple[Mapping[str, str], str]], arms: Sequence[str]
) -> dict[tuple[str, str], dict[str, int]]:
    """(factor, level) → arm → count, from earlier (levels, arm) allocations."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for levels, arm in history:
        for factor, level in levels.items():
            counts.setdefault((factor, level), dict.fromkeys(arms, 0))[arm] += 1
    return counts


def minimization_assign(
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    levels: Mapping[str, str],
    counts: Mapping[tuple[str, str], Mapping[str, int]],
    probability: float,
    draw: float,
    tie_draw: float,
    weights: Mapping[str, float] | None = None,
) -> MinimizationResult:
    """The arm for a participant with factor ``levels`` given the ``counts`` so far."""
    if not 0 < probability <= 1:
        raise ValueError(f"probability = {probability}: must be in (0, 1]")
    scores = {}
    for arm in arms:
        total = 0.0
        for factor, level in levels.items():
            row = counts.get((factor, level), {})
            after = [(row.get(a, 0) + (a == arm)) / r for a, r in zip(arms, ratio, strict=True)]
            total += (weights or {}).get(factor, 1.0) * (max(after) - min(after))
        scores[arm] = total
    best = min(scores.values())
    preferred = tuple(a for a in arms if np.isclose(scores[a], best))
    if len(preferred) == len(arms):
        return MinimizationResult(_pick(arms, tie_draw), scores, preferred, False)
    if draw < probability:
        return MinimizationResult(_pick(preferred, tie_draw), scores, preferred, False)
    others = [a for a in arms if a not in preferred]
    return MinimizationResult(_pick(others, tie_draw), scores, preferred, True)


def _pick(options: Sequence[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]
