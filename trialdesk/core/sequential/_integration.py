"""Recursive numerical integration for group-sequential boundary crossing probabilities.

The standardized statistics Z_1, ..., Z_K at information fractions t_1 < ... < t_K follow the
canonical joint distribution: the score S_k = Z_k sqrt(t_k) has independent increments
S_k - S_{k-1} ~ N(drift (t_k - t_{k-1}), t_k - t_{k-1}), where ``drift`` = theta sqrt(I_max).
The sub-density of Z_k on the continuation region (a_k, b_k) is propagated stage by stage
(Armitage, McPherson & Rowe 1969) and integrated with Simpson's rule on the grid of
Jennison & Turnbull (2000, ch. 19): 6r - 1 points concentrated around the mean, truncated to
the continuation region, plus interval mid-points.

A :class:`State` is the (weighted) sub-density at one look. The start is a point mass at
Z_0 = 0 with t_0 = 0, so stage 1 needs no special case, and conditional power is the same
recursion started from a point mass at the observed z.

References
----------
Armitage P, McPherson CK, Rowe BC. Repeated significance tests on accumulating data.
*J R Stat Soc A* 1969;132:235-244.
Jennison C, Turnbull BW. *Group Sequential Methods with Applications to Clinical Trials*.
Chapman & Hall/CRC, 2000, ch. 19 (grid, Simpson weights, recursion 19.4-19.6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

GRID_R = 32  # J&T recommend r >= 16 for ~1e-6; r = 32 gives critical values to ~1e-9.
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class State:
    """Sub-density of Z at information fraction ``t``: values ``z`` and weighted mass ``h``.

    ``h`` already includes the quadrature weight, so sum(h) is P(still continuing).
    """

    z: np.ndarray
    h: np.ndarray
    t: float

    @property
    def mass(self) -> float:
        return float(self.h.sum())


def start(z: float = 0.0, t: float = 0.0) -> State:
    """Point mass at Z = z with information fraction t (t = 0: before the first look)."""
    return State(np.array([float(z)]), np.array([1.0]), float(t))


def _increment(state: State, t: float, drift: float) -> tuple[np.ndarray, float, float]:
    """Mean of S_t given each grid point, the increment SD and sqrt(t)."""
    delta = t - state.t
    mean_score = state.z * math.sqrt(state.t) + drift * delta
    return mean_score, math.sqrt(delta), math.sqrt(t)


def exit_upper(state: State, bound: float, t: float, drift: float) -> float:
    """P(continuing to ``state`` and Z_t >= bound)."""
    if bound == math.inf:
        return 0.0
    mean, sd, rt = _increment(state, t, drift)
    return float(state.h @ ndtr((mean - bound * rt) / sd))


def exit_lower(state: State, bound: float, t: float, drift: float) -> float:
    """P(continuing to ``state`` and Z_t <= bound)."""
    if bound == -math.inf:
        return 0.0
    mean, sd, rt = _increment(state, t, drift)
    return float(state.h @ ndtr((bound * rt - mean) / sd))


def advance(state: State, lower: float, upper: float, t: float, drift: float) -> State:
    """Sub-density at fraction ``t`` of paths that continue, i.e. lower < Z_t < upper."""
    z, w = grid(drift * math.sqrt(t), lower, upper)
    mean, sd, rt = _increment(state, t, drift)
    u = (z[:, None] * rt - mean[None, :]) / sd
    dens = np.exp(-0.5 * u * u) @ state.h
    return State(z, w * dens * (rt / sd) * _INV_SQRT_2PI, t)


def grid(mean: float, lower: float, upper: float, r: int = GRID_R) -> tuple[np.ndarray, np.ndarray]:
    """Jennison & Turnbull (2000, §19.2) grid on (lower, upper) and its Simpson weights."""
    nodes = _nodes(mean, lower, upper, r)
    width = np.diff(nodes)
    points = np.empty(2 * len(nodes) - 1)
    points[0::2] = nodes
    points[1::2] = nodes[:-1] + width / 2.0
    weights = np.zeros_like(points)
    weights[1::2] = 4.0 * width / 6.0
    weights[0:-1:2] += width / 6.0
    weights[2::2] += width / 6.0
    return points, weights


def _nodes(mean: float, lower: float, upper: float, r: int) -> np.ndarray:
    i = np.arange(1, 6 * r, dtype=float)
    x = np.where(
        i < r,
        mean - 3.0 - 4.0 * np.log(r / i),
        np.where(
            i <= 5 * r,
            mean - 3.0 + 3.0 * (i - r) / (2.0 * r),
            mean + 3.0 + 4.0 * np.log(r / np.maximum(6 * r - i, 1e-300)),
        ),
    )
    lo = max(lower, x[0])
    hi = min(upper, x[-1])
    if hi <= lo:  # continuation region far in a tail: two nodes carry the (tiny) mass
        return np.array([lo, max(hi, lo + 1e-9)])
    return np.concatenate(([lo], x[(x > lo) & (x < hi)], [hi]))
