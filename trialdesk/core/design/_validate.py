"""Input checks shared by the design, sequential and safety-monitoring modules.

Every rejection names the argument, the value given and what is allowed, so that a statistician
reading a CLI error or a log line can correct the input without opening the source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class DesignInputError(ValueError):
    """An argument to a design calculation is outside what the method allows."""


def reject(name: str, value: object, allowed: str) -> DesignInputError:
    """Build the error for ``name = value``, stating what is ``allowed``."""
    return DesignInputError(f"{name} = {value!r} is not allowed: {allowed}")


def probability(name: str, value: float, *, upper: float = 1.0) -> float:
    """Check 0 < value < upper (open interval) and return it as float."""
    v = _finite(name, value)
    if not 0.0 < v < upper:
        raise reject(name, value, f"{name} must lie strictly between 0 and {upper:g}")
    return v


def fraction_0_1(name: str, value: float) -> float:
    """Check 0 <= value < 1 (used for dropout rates)."""
    v = _finite(name, value)
    if not 0.0 <= v < 1.0:
        raise reject(name, value, f"{name} must be at least 0 and below 1")
    return v


def positive(name: str, value: float) -> float:
    v = _finite(name, value)
    if v <= 0.0:
        raise reject(name, value, f"{name} must be a positive number")
    return v


def sided(value: int) -> int:
    if value not in (1, 2):
        raise reject("sided", value, "sided must be 1 (one-sided) or 2 (two-sided)")
    return int(value)


def information_fractions(values: Sequence[float], *, max_looks: int = 20) -> tuple[float, ...]:
    """Check a sequence of cumulative information fractions 0 < t_1 < ... < t_K = 1."""
    t = tuple(_finite("information_fraction", v) for v in values)
    if not 1 <= len(t) <= max_looks:
        raise reject("K", len(t), f"the number of looks must be between 1 and {max_looks}")
    if any(b <= a for a, b in zip(t, t[1:], strict=False)):
        raise reject("information_fraction", list(t), "fractions must be strictly increasing")
    if t[0] <= 0.0:
        raise reject("information_fraction", list(t), "the first fraction must be above 0")
    if abs(t[-1] - 1.0) > 1e-12:
        raise reject("information_fraction", list(t), "the last fraction must be 1")
    return t[:-1] + (1.0,)


def _finite(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise reject(name, value, f"{name} must be a number") from None
    if not math.isfinite(v):
        raise reject(name, value, f"{name} must be a finite number")
    return v
