"""The plain look plan the simulator runs: critical values per look, cumulative sample sizes.

The simulator deliberately depends on nothing but this small frozen object, so that any source
of boundaries (the design module, a protocol file, a hand-written test case) can drive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["SafetyRule", "SimulationBoundary", "boundary_from_design", "count_rule"]


@dataclass(frozen=True)
class SimulationBoundary:
    """Efficacy (and optional futility) bounds on the z scale at each look.

    ``n_per_look`` is the cumulative number of participants enrolled (both arms, 1:1) at each
    analysis. ``sided=1`` rejects for Z >= c_k (treatment better); ``sided=2`` for |Z| >= c_k.
    ``futility_bounds[k]`` stops for futility when Z < f_k (``sided=2``: |Z| < f_k); ``None``
    or ``-inf`` means no futility stop at that look. The final look never stops for futility:
    it either rejects or does not.
    """

    critical_values: tuple[float, ...]
    n_per_look: tuple[int, ...]
    futility_bounds: tuple[float | None, ...] | None = None
    sided: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        k = len(self.critical_values)
        if k == 0:
            raise ValueError("critical_values: at least one look is needed")
        if len(self.n_per_look) != k:
            raise ValueError(
                f"n_per_look has {len(self.n_per_look)} entries but critical_values has {k}"
            )
        n = np.asarray(self.n_per_look)
        if np.any(n < 2) or np.any(np.diff(n) <= 0) or np.any(n % 2):
            raise ValueError(
                f"n_per_look = {self.n_per_look}: cumulative totals must be even (1:1), "
                "at least 2 and strictly increasing"
            )
        if self.futility_bounds is not None and len(self.futility_bounds) != k:
            raise ValueError(f"futility_bounds must have {k} entries (one per look)")
        if self.sided not in (1, 2):
            raise ValueError(f"sided = {self.sided}: allowed values are 1 and 2")

    @property
    def looks(self) -> int:
        return len(self.critical_values)

    @property
    def n_max(self) -> int:
        return int(self.n_per_look[-1])

    @property
    def information_fractions(self) -> tuple[float, ...]:
        return tuple(n / self.n_max for n in self.n_per_look)

    def efficacy_z(self) -> np.ndarray:
        return np.asarray(self.critical_values, dtype=float)

    def futility_z(self) -> np.ndarray:
        """Futility bounds as an array; -inf where none applies (always at the final look)."""
        out = np.full(self.looks, -np.inf)
        if self.futility_bounds is not None:
            for k, f in enumerate(self.futility_bounds[:-1]):
                if f is not None and math.isfinite(f):
                    out[k] = f
        return out

    def with_n_max(self, n_max: int) -> SimulationBoundary:
        """The same bounds at the same information fractions for another maximum sample size."""
        fr = self.information_fractions
        n = tuple(max(2, 2 * round(f * n_max / 2)) for f in fr)
        return SimulationBoundary(
            critical_values=self.critical_values,
            n_per_look=n,
            futility_bounds=self.futility_bounds,
            sided=self.sided,
            name=self.name,
        )


def _first(obj: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def boundary_from_design(
    design: Any, *, n_max: int | None = None, name: str = ""
) -> SimulationBoundary:
    """Adapt a group-sequential design/boundary object (duck-typed) to a SimulationBoundary.

    Made for :class:`trialdesk.core.sequential.GroupSequentialDesign` (``critical_values``,
    ``futility_bounds`` for looks 1..K-1, ``information_fraction``, ``sided``), and reads
    the usual alternative names too (``efficacy_z``, ``information_rates``, ``n_per_look``…).
    Cumulative totals come from ``n_per_look`` if present, else from ``n_max`` and the
    fractions, rounded to even numbers (1:1).
    """
    crit = _first(design, ("critical_values", "efficacy_z", "efficacy", "upper", "z"))
    if crit is None:
        raise TypeError(f"{type(design).__name__}: no efficacy bounds found")
    crit = tuple(float(c) for c in np.asarray(crit, dtype=float))
    fut = _first(design, ("futility_bounds", "futility_z", "futility", "lower"))
    if fut is not None:
        fut = [None if (f is None or not math.isfinite(float(f))) else float(f) for f in fut]
        # Designs list futility bounds for looks 1..K-1 only; the final look never has one.
        fut = tuple(fut + [None] * (len(crit) - len(fut)))
    n = _first(design, ("n_per_look", "cumulative_n"))
    if n is None:
        frac = _first(
            design, ("information_fractions", "information_fraction", "information_rates", "t")
        )
        total = n_max if n_max is not None else _first(design, ("n_max", "n_total"))
        if frac is None or total is None:
            raise TypeError("need cumulative n per look, or information fractions and n_max")
        n = tuple(max(2, 2 * round(float(f) * float(total) / 2)) for f in frac)
    sided = int(_first(design, ("sided", "sides")) or 1)
    return SimulationBoundary(
        critical_values=crit,
        n_per_look=tuple(int(x) for x in n),
        futility_bounds=fut,
        sided=sided,
        name=name or str(getattr(design, "name", "") or ""),
    )


SAFETY_ARMS = ("treatment", "control", "either", "pooled")


@dataclass(frozen=True)
class SafetyRule:
    """Stop for safety when the SAE count in ``arm`` reaches ``stop_counts[j]`` at checkpoint j.

    ``checkpoints`` are participant counts *in the monitored arm* at which the rule is looked
    at (cumulative, increasing). ``arm`` is "treatment", "control", "either" (each arm on its
    own) or "pooled" (both arms together; checkpoints then count participants of both arms).
    """

    checkpoints: tuple[int, ...]
    stop_counts: tuple[int, ...]
    arm: str = "treatment"
    description: str = ""

    def __post_init__(self) -> None:
        if len(self.checkpoints) != len(self.stop_counts) or not self.checkpoints:
            raise ValueError("checkpoints and stop_counts must be non-empty and of equal length")
        if np.any(np.diff(self.checkpoints) <= 0) or self.checkpoints[0] < 1:
            raise ValueError(f"checkpoints = {self.checkpoints}: must increase from >= 1")
        if self.arm not in SAFETY_ARMS:
            raise ValueError(f"arm = {self.arm!r}: allowed are {', '.join(SAFETY_ARMS)}")

    @classmethod
    def from_boundary(cls, boundary: Any, *, arm: str = "treatment") -> SafetyRule:
        """From a :class:`trialdesk.core.safety_monitoring.SafetyBoundary` (same fields)."""
        return cls(
            checkpoints=tuple(int(c) for c in boundary.checkpoints),
            stop_counts=tuple(int(c) for c in boundary.stop_counts),
            arm=arm,
            description=str(getattr(boundary, "description", "")),
        )

    @classmethod
    def beta_binomial(
        cls,
        *,
        threshold_rate: float,
        posterior_probability: float,
        every: int,
        n_max_per_arm: int,
        prior_a: float = 1.0,
        prior_b: float = 1.0,
        arm: str = "treatment",
        min_n: int = 1,
    ) -> SafetyRule:
        """Stop when P(rate > threshold_rate | x of n) > posterior_probability (Beta prior).

        Looked at after every ``every`` participants of the monitored arm, from ``min_n`` on.
        """
        checkpoints = tuple(c for c in range(every, n_max_per_arm + 1, every) if c >= min_n)
        if not checkpoints or checkpoints[-1] != n_max_per_arm:
            checkpoints = (*checkpoints, n_max_per_arm)
        counts = tuple(
            _min_count(n, threshold_rate, posterior_probability, prior_a, prior_b)
            for n in checkpoints
        )
        return cls(
            checkpoints=checkpoints,
            stop_counts=counts,
            arm=arm,
            description=(
                f"Beta({prior_a:g},{prior_b:g}) prior; stop if P(rate > {threshold_rate:g}) > "
                f"{posterior_probability:g}, every {every} in the {arm} arm"
            ),
        )


def _min_count(n: int, p0: float, gamma: float, a: float, b: float) -> int:
    x = np.arange(n + 1)
    post = stats.beta.sf(p0, a + x, b + n - x)
    hit = np.nonzero(post > gamma)[0]
    return int(hit[0]) if hit.size else n + 1


def count_rule(
    *, steps: list[tuple[int, int]], n_max: int, min_n: int = 1, arm: str = "treatment"
) -> SafetyRule:
    """Continuous monitoring from step boundaries: up to ``n`` treated, stop at ``events``.

    ``steps`` is a list of (n_max_of_step, events) in increasing n; the rule is looked at after
    every participant from ``min_n`` to ``n_max``.
    """
    cps, need = [], []
    for n in range(max(1, min_n), n_max + 1):
        step = next((ev for top, ev in steps if n <= top), steps[-1][1])
        cps.append(n)
        need.append(step)
    return SafetyRule(
        checkpoints=tuple(cps),
        stop_counts=tuple(need),
        arm=arm,
        description="count boundary " + ", ".join(f"n<={t}: >={e}" for t, e in steps),
    )
