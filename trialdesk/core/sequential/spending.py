"""Boundary families and spending functions, named in rpact's vocabulary.

``SPENDING_FUNCTIONS`` is the one registry of spending-function families (DESIGN.md §10):
each maps (t, total, parameter) to the cumulative error spent by information fraction t.
The same functions serve α-spending (``as*``) and β-spending (``bs*``).

Classical (non-spending) families are Wang-Tsiatis boundaries c t_k^(Δ - 1/2) with the constant
found numerically: ``OF`` (Δ = 0, O'Brien & Fleming), ``P`` (Δ = 0.5, Pocock), ``WT:<Δ>``;
and ``HP`` (Haybittle-Peto: z = 3 at interim looks, final bound keeps the level exact).

References
----------
Lan KKG, DeMets DL. Discrete sequential boundaries for clinical trials. *Biometrika*
1983;70:659-663 (``asOF``, ``asP``).
Kim K, DeMets DL. Design and analysis of group sequential tests based on the type I error
spending rate function. *Biometrika* 1987;74:149-154 (``asKD``, power family t^rho).
Hwang IK, Shih WJ, DeCani JS. Group sequential designs using a family of type I error
probability spending functions. *Stat Med* 1990;9:1439-1445 (``asHSD``).
O'Brien PC, Fleming TR. A multiple testing procedure for clinical trials. *Biometrics*
1979;35:549-556. Pocock SJ. Group sequential methods in the design and analysis of clinical
trials. *Biometrika* 1977;64:191-199. Wang SK, Tsiatis AA. *Biometrics* 1987;43:193-199.
Haybittle JL. *Br J Radiol* 1971;44:793-797. Peto R et al. *Br J Cancer* 1976;34:585-612.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scipy.stats import norm

from trialdesk.core.design._validate import reject

SpendingFunction = Callable[[float, float, float | None], float]


def _of(t: float, total: float, _p: float | None) -> float:
    return 2.0 * norm.sf(norm.isf(total / 2.0) / math.sqrt(t))


def _pocock(t: float, total: float, _p: float | None) -> float:
    return total * math.log(1.0 + (math.e - 1.0) * t)


def _kim_demets(t: float, total: float, rho: float | None) -> float:
    assert rho is not None
    return total * t**rho


def _hsd(t: float, total: float, gamma: float | None) -> float:
    assert gamma is not None
    g = gamma
    if abs(g) < 1e-12:
        return total * t
    return total * (1.0 - math.exp(-g * t)) / (1.0 - math.exp(-g))


# name -> (function, parameter name or None)
SPENDING_FUNCTIONS: dict[str, tuple[SpendingFunction, str | None]] = {
    "OF": (_of, None),
    "P": (_pocock, None),
    "KD": (_kim_demets, "rho"),
    "HSD": (_hsd, "gamma"),
}
CLASSICAL = {"OF": 0.0, "P": 0.5}  # Wang-Tsiatis Δ of the classical families
HAYBITTLE_PETO_BOUND = 3.0


@dataclass(frozen=True)
class Family:
    """A parsed boundary family: ``kind`` is 'spending', 'wt' (Wang-Tsiatis) or 'hp'."""

    code: str
    kind: str
    name: str
    parameter: float | None = None

    def spent(self, t: float, total: float) -> float:
        """Cumulative error spent by fraction t (spending families only)."""
        if t >= 1.0:
            return total
        fn, _ = SPENDING_FUNCTIONS[self.name]
        return min(total, fn(t, total, self.parameter))


def parse_family(code: str, *, prefix: str, argument: str) -> Family:
    """Parse rpact vocabulary: ``asOF``, ``asKD:3``, ``bsHSD:-4``, ``OF``, ``P``, ``HP``, ``WT:0.25``.

    ``prefix`` is ``"as"`` for α-spending or ``"bs"`` for β-spending; classical families are
    allowed only for α (``prefix == "as"``).
    """
    name, _, param = str(code).partition(":")
    if prefix == "as" and name in ("OF", "P", "HP", "WT"):
        return _classical(code, name, param, argument)
    if not name.startswith(prefix) or name[2:] not in SPENDING_FUNCTIONS:
        raise reject(argument, code, _allowed(prefix))
    fn_name = name[2:]
    needs = SPENDING_FUNCTIONS[fn_name][1]
    if needs is None:
        if param:
            raise reject(argument, code, f"{name} takes no parameter")
        return Family(code, "spending", fn_name)
    value = _number(argument, code, param, f"{name} needs {needs}, e.g. {name}:3")
    if fn_name == "KD" and value <= 0:
        raise reject(argument, code, "the Kim-DeMets rho must be positive")
    return Family(code, "spending", fn_name, value)


def _classical(code: str, name: str, param: str, argument: str) -> Family:
    if name == "WT":
        delta = _number(argument, code, param, "WT needs Δ, e.g. WT:0.25")
        return Family(code, "wt", "WT", delta)
    if param:
        raise reject(argument, code, f"{name} takes no parameter")
    if name == "HP":
        return Family(code, "hp", "HP", HAYBITTLE_PETO_BOUND)
    return Family(code, "wt", name, CLASSICAL[name])


def _number(argument: str, code: str, text: str, hint: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise reject(argument, code, hint) from None
    if not math.isfinite(value):
        raise reject(argument, code, hint)
    return value


def _allowed(prefix: str) -> str:
    spending = f"{prefix}OF, {prefix}P, {prefix}KD:<rho>, {prefix}HSD:<gamma>"
    if prefix == "as":
        return f"allowed: OF, P, HP, WT:<delta>, {spending}"
    return f"allowed: {spending}"
