"""An independent exact reference for tests: boundary-crossing probabilities of the canonical
joint distribution of (Z_1, …, Z_K), Cov(Z_i, Z_j) = √(n_i / n_j) for i ≤ j, by rectangle
probabilities of the multivariate normal (Genz's algorithm in scipy, absolute error ≲ 1e-7).

Only used where the design module is not importable, and to cross-check it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def _rect(mean: np.ndarray, cov: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    if mean.size == 1:
        sd = math.sqrt(cov[0, 0])
        return float(stats.norm.cdf(upper[0], mean[0], sd) - stats.norm.cdf(lower[0], mean[0], sd))
    mvn = stats.multivariate_normal(mean=mean, cov=cov, maxpts=2_000_000, abseps=1e-9, releps=1e-9)
    return float(mvn.cdf(upper, lower_limit=lower, rng=np.random.default_rng(0)))


def exact_reject_per_look(
    *,
    critical_values: tuple[float, ...],
    n_per_look: tuple[int, ...],
    effect: float,
    futility_bounds: tuple[float | None, ...] | None = None,
    sided: int = 1,
) -> list[float]:
    """P(stop for efficacy at look k), futility binding, σ = 1, 1:1 allocation."""
    n = np.asarray(n_per_look, dtype=float)
    mean = effect * np.sqrt(n / 4.0)
    cov = np.sqrt(np.minimum.outer(n, n) / np.maximum.outer(n, n))
    k_max = len(n)
    fut = [
        -math.inf if futility_bounds is None or f is None else f
        for f in (futility_bounds or [None] * k_max)
    ]
    out = []
    for k in range(k_max):
        lo = np.empty(k + 1)
        hi = np.empty(k + 1)
        for j in range(k):
            lo[j], hi[j] = (
                (fut[j], critical_values[j])
                if sided == 1
                else (
                    -critical_values[j],
                    critical_values[j],
                )
            )
        c = critical_values[k]
        sub_mean, sub_cov = mean[: k + 1], cov[: k + 1, : k + 1]
        lo[k], hi[k] = c, math.inf
        p = _rect(sub_mean, sub_cov, lo, hi)
        if sided == 2:
            lo[k], hi[k] = -math.inf, -c
            p += _rect(sub_mean, sub_cov, lo, hi)
        out.append(p)
    return out
