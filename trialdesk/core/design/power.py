"""Power and sample size for two-group comparisons, solving for whichever quantity is missing.

Conventions (chosen to match R's ``pwr`` package, see ``/work/shared/notes/statistics.md``):

* Power counts **both** rejection tails for a two-sided test (``pwr.t.test``,
  ``statsmodels.TTestIndPower``), not only the tail in the direction of the effect.
* ``n_per_group`` is the number of *evaluable* participants in the control group; the other
  group has ``ratio * n_per_group``. Enrolment inflated for dropout is reported separately.
* A one-sided test rejects for a positive effect (``alternative = "greater"`` in R).

References
----------
Cohen J. *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed. Erlbaum, 1988
(standardized effect d and the arcsine effect h for proportions).
Champely S. *pwr: Basic Functions for Power Analysis*, R package (``pwr.t.test``,
``pwr.t2n.test``, ``pwr.2p2n.test``).
Borm GF, Fransen J, Lemmens WAJG. A simple sample size formula for analysis of covariance in
randomized clinical trials. *J Clin Epidemiol* 2007;60:1234-1238 (variance factor 1 - rho^2).
Fleiss JL, Levin B, Paik MC. *Statistical Methods for Rates and Proportions*, 3rd ed. Wiley,
2003, section 4.2 (normal approximation for two proportions, R ``power.prop.test``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from scipy import optimize, stats

from trialdesk.core.design import _validate as v

TESTS = ("t", "z")
PROPORTION_METHODS = ("arcsine", "normal")


@dataclass(frozen=True, kw_only=True)
class PowerResult:
    """Outcome of a power / sample-size calculation for two groups.

    Attributes
    ----------
    test : str
        ``"t"`` (exact noncentral t), ``"z"`` (normal), ``"arcsine"`` or ``"normal"``
        (two proportions).
    solved_for : str
        Which of ``n_per_group``, ``effect``, ``power``, ``alpha`` was computed.
    alpha, power, sided, ratio :
        Significance level, power, 1 or 2 sides, allocation ratio n_2 / n_1.
    effect : float
        Standardized effect: Cohen's d (means, before the ANCOVA adjustment) or Cohen's h
        (arcsine method) or the risk difference p2 - p1 (normal method).
    difference, sd : float or None
        Raw mean difference and SD, when the effect was given on the raw scale.
    correlation : float or None
        Baseline-outcome correlation rho for ANCOVA (variance multiplied by 1 - rho^2).
    n_per_group : float
        Evaluable participants in group 1 (continuous root when solving for n).
    n_evaluable : tuple[int, int]
        Evaluable participants per group after rounding up.
    n_enrolled : tuple[int, int]
        Participants to enrol per group after inflating for ``dropout`` and rounding the total
        up to a whole number of allocation blocks of ``block_size``.
    """

    test: str
    solved_for: str
    alpha: float
    power: float
    sided: int
    ratio: float
    effect: float
    difference: float | None
    sd: float | None
    correlation: float | None
    p1: float | None
    p2: float | None
    n_per_group: float
    n_evaluable: tuple[int, int]
    dropout: float
    block_size: int
    n_enrolled: tuple[int, int]

    @property
    def n_per_group_with_dropout(self) -> int:
        """Group 1 enrolment after dropout inflation (equal to group 2 for 1:1)."""
        return self.n_enrolled[0]

    @property
    def n_total(self) -> int:
        return sum(self.n_enrolled)

    def to_dict(self) -> dict[str, object]:
        return {
            "test": self.test,
            "solved_for": self.solved_for,
            "n_per_group": self.n_per_group,
            "n_evaluable": list(self.n_evaluable),
            "n_per_group_with_dropout": self.n_per_group_with_dropout,
            "n_enrolled": list(self.n_enrolled),
            "n_total": self.n_total,
            "effect": self.effect,
            "difference": self.difference,
            "sd": self.sd,
            "correlation": self.correlation,
            "p1": self.p1,
            "p2": self.p2,
            "power": self.power,
            "alpha": self.alpha,
            "sided": self.sided,
            "ratio": self.ratio,
            "dropout": self.dropout,
            "block_size": self.block_size,
        }

    def summary(self) -> str:
        side = "two-sided" if self.sided == 2 else "one-sided"
        eff = f"effect {self.effect:.4f}"
        if self.difference is not None:
            eff += f" (difference {self.difference:.4g}, SD {self.sd:.4g})"
        if self.correlation is not None:
            eff += f", ANCOVA rho {self.correlation:g}"
        lines = [
            f"{_TEST_NAMES[self.test]}, {side} alpha {self.alpha:.4g}, power {self.power:.4f}",
            f"{eff}; allocation 1:{self.ratio:g}; solved for {self.solved_for}",
            f"evaluable per group: {self.n_per_group:.3f} -> {self.n_evaluable[0]} + "
            f"{self.n_evaluable[1]}",
            f"with {self.dropout:.0%} dropout, blocks of {self.block_size}: enrol "
            f"{self.n_enrolled[0]} + {self.n_enrolled[1]} = {self.n_total}",
        ]
        return "\n".join(lines)


_TEST_NAMES = {
    "t": "two-sample t-test (exact noncentral t)",
    "z": "two-sample z-test",
    "arcsine": "two proportions, arcsine (Cohen's h)",
    "normal": "two proportions, normal approximation",
}


def power_two_means(
    *,
    n_per_group: float | None = None,
    effect: float | None = None,
    difference: float | None = None,
    sd: float | None = None,
    power: float | None = None,
    alpha: float | None = 0.05,
    sided: int = 2,
    ratio: float = 1.0,
    test: str = "t",
    correlation: float | None = None,
    dropout: float = 0.0,
    block_size: int | None = None,
) -> PowerResult:
    """Power or sample size for comparing two means; exactly one unknown is solved for.

    Give the effect either standardized (``effect`` = Cohen's d) or raw (``difference`` and
    ``sd``). Leave exactly one of ``n_per_group``, the effect, ``power`` and ``alpha`` as
    ``None``; it is found by Brent's method to 1e-12.

    Parameters
    ----------
    n_per_group : float, optional
        Evaluable participants in group 1; group 2 has ``ratio * n_per_group``.
    effect : float, optional
        Standardized difference d = (mu_2 - mu_1) / sigma.
    difference, sd : float, optional
        Raw difference and common SD (alternative to ``effect``).
    power, alpha : float, optional
        Target power and significance level (total over both tails if two-sided).
    sided : {1, 2}
    ratio : float
        Allocation ratio n_2 / n_1.
    test : {"t", "z"}
        ``"t"``: exact power from the noncentral t distribution with n_1 + n_2 - 2 degrees of
        freedom (minus one with ANCOVA), as ``pwr.t2n.test``. ``"z"``: normal approximation.
    correlation : float, optional
        Correlation rho between baseline and outcome; the ANCOVA residual variance is
        sigma^2 (1 - rho^2) (Borm et al. 2007), so the effective d is d / sqrt(1 - rho^2).
    dropout : float
        Expected fraction lost; enrolment is n / (1 - dropout).
    block_size : int, optional
        Randomization block size (total over arms); the enrolled total is rounded up to a
        multiple of it. Defaults to the smallest block holding the allocation ratio.

    Returns
    -------
    PowerResult

    References
    ----------
    Champely S. pwr R package, ``pwr.t.test`` / ``pwr.t2n.test``; Cohen (1988) ch. 2;
    Borm, Fransen & Lemmens (2007).
    """
    test = _choice("test", test, TESTS)
    side = v.sided(sided)
    rho = None if correlation is None else _correlation(correlation)
    scale, d = _standardize(effect, difference, sd)
    df_loss = 3 if rho is not None else 2
    shrink = 1.0 if rho is None else math.sqrt(1.0 - rho * rho)

    def power_at(n1: float, eff: float, a: float) -> float:
        n2 = ratio * n1
        ncp = eff / shrink * math.sqrt(n1 * n2 / (n1 + n2))
        if test == "z":
            return _z_power(ncp, a, side)
        return _t_power(ncp, n1 + n2 - df_loss, a, side)

    n_min = (df_loss + 1.0) / (1.0 + ratio) if test == "t" else 1e-6
    solved = _solve(power_at, n_per_group, d, power, alpha, side, ratio, n_min=n_min)
    n1, d, pw, a, which = solved
    return _result(
        test=test,
        solved_for=which,
        solution=(n1, d, pw, a),
        side=side,
        ratio=ratio,
        scale=scale,
        correlation=rho,
        dropout=dropout,
        block_size=block_size,
    )


def power_two_proportions(
    *,
    p1: float,
    p2: float | None = None,
    n_per_group: float | None = None,
    power: float | None = None,
    alpha: float | None = 0.05,
    sided: int = 2,
    ratio: float = 1.0,
    method: str = "arcsine",
    dropout: float = 0.0,
    block_size: int | None = None,
) -> PowerResult:
    """Power or sample size for comparing two proportions p1 (group 1) and p2 (group 2).

    Leave exactly one of ``p2``, ``n_per_group``, ``power``, ``alpha`` as ``None``. When
    ``p2`` is solved for, the root above ``p1`` is returned.

    Parameters
    ----------
    method : {"arcsine", "normal"}
        ``"arcsine"``: Cohen's h = 2 asin sqrt(p2) - 2 asin sqrt(p1) with the normal
        distribution, as ``pwr.2p2n.test``. ``"normal"``: pooled variance under H0 and
        unpooled under H1 (Fleiss et al. 2003 §4.2), as ``power.prop.test(strict = TRUE)``
        for equal groups.

    References
    ----------
    Cohen (1988) ch. 6; Fleiss, Levin & Paik (2003) §4.2; R ``pwr.2p2n.test``,
    ``power.prop.test``.
    """
    method = _choice("method", method, PROPORTION_METHODS)
    side = v.sided(sided)
    p1 = v.probability("p1", p1)

    def power_at(n1: float, q2: float, a: float) -> float:
        return _proportion_power(p1, q2, n1, ratio * n1, a, side, method)

    if p2 is not None:
        v.probability("p2", p2)
        if p2 == p1:
            raise v.reject("p2", p2, "p2 must differ from p1 (no difference has no power)")
    solved = _solve(
        power_at,
        n_per_group,
        p2,
        power,
        alpha,
        side,
        ratio,
        effect_name="p2",
        effect_bounds=(p1 + 1e-9, 1.0 - 1e-12),
    )
    n1, q2, pw, a, which = solved
    res = _result(
        test=method,
        solved_for=which,
        solution=(n1, q2, pw, a),
        side=side,
        ratio=ratio,
        scale=None,
        correlation=None,
        dropout=dropout,
        block_size=block_size,
    )
    effect = _proportion_effect(p1, q2, method)
    return _replace(res, effect=effect, p1=p1, p2=q2)


def evaluable_per_group(*, n_enrolled: int, dropout: float) -> int:
    """Participants expected to be evaluable out of ``n_enrolled``: floor(n (1 - dropout))."""
    r = v.fraction_0_1("dropout", dropout)
    return math.floor(n_enrolled * (1.0 - r) + 1e-9)


def enrolment_for_dropout(
    *, n_evaluable: tuple[int, int], dropout: float, block_size: int, allocation: tuple[int, int]
) -> tuple[int, int]:
    """Inflate per-group counts by 1 / (1 - dropout) and round up to whole blocks.

    Each block of ``block_size`` participants holds ``allocation`` in proportion, so the
    enrolled groups keep the exact allocation ratio.
    """
    r = v.fraction_0_1("dropout", dropout)
    a1, a2 = allocation
    if block_size % (a1 + a2) != 0:
        raise v.reject(
            "block_size",
            block_size,
            f"block_size must be a multiple of {a1 + a2} (ratio {a1}:{a2})",
        )
    per_block = block_size // (a1 + a2)
    need = [_ceil(n / (1.0 - r)) for n in n_evaluable]
    blocks = max(_ceil(need[0] / (a1 * per_block)), _ceil(need[1] / (a2 * per_block)))
    return blocks * per_block * a1, blocks * per_block * a2


# --- power functions ---------------------------------------------------------------------


def _t_power(ncp: float, df: float, alpha: float, side: int) -> float:
    crit = stats.t.isf(alpha / side, df)
    upper = stats.nct.sf(crit, df, ncp)
    if side == 1:
        return float(upper)
    # P(T < -c | ncp) = P(T > c | -ncp); boost's nct.cdf returns NaN far in the lower tail.
    return float(upper + stats.nct.sf(crit, df, -ncp))


def _z_power(ncp: float, alpha: float, side: int) -> float:
    crit = stats.norm.isf(alpha / side)
    upper = stats.norm.sf(crit - ncp)
    if side == 1:
        return float(upper)
    return float(upper + stats.norm.cdf(-crit - ncp))


def _proportion_power(
    p1: float, p2: float, n1: float, n2: float, alpha: float, side: int, method: str
) -> float:
    if method == "arcsine":
        h = _proportion_effect(p1, p2, "arcsine")
        return _z_power(h * math.sqrt(n1 * n2 / (n1 + n2)), alpha, side)
    crit = stats.norm.isf(alpha / side)
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    sd0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    sd1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    diff = abs(p2 - p1)
    upper = stats.norm.sf((crit * sd0 - diff) / sd1)
    if side == 1:
        upper = stats.norm.sf((crit * sd0 - (p2 - p1)) / sd1)
        return float(upper)
    return float(upper + stats.norm.cdf((-crit * sd0 - diff) / sd1))


def _proportion_effect(p1: float, p2: float, method: str) -> float:
    if method == "arcsine":
        return 2.0 * math.asin(math.sqrt(p2)) - 2.0 * math.asin(math.sqrt(p1))
    return p2 - p1


# --- solving for the missing argument ----------------------------------------------------


def _solve(
    power_at: Callable[[float, float, float], float],
    n: float | None,
    effect: float | None,
    power: float | None,
    alpha: float | None,
    side: int,
    ratio: float,
    *,
    n_min: float = 1e-6,
    effect_name: str = "effect",
    effect_bounds: tuple[float, float | None] = (1e-12, None),
) -> tuple[float, float, float, float, str]:
    v.positive("ratio", ratio)
    names = {"n_per_group": n, effect_name: effect, "power": power, "alpha": alpha}
    missing = [k for k, val in names.items() if val is None]
    if len(missing) != 1:
        raise v.reject(
            "missing arguments",
            missing,
            "leave out exactly one of n_per_group, " + f"{effect_name}, power, alpha",
        )
    a = None if alpha is None else v.probability("alpha", alpha)
    pw = None if power is None else v.probability("power", power)
    if n is not None:
        n = v.positive("n_per_group", n)
        if n <= n_min:
            raise v.reject("n_per_group", n, f"n_per_group must exceed {n_min:.4g}")
    if a is not None and pw is not None and pw <= a:
        raise v.reject("power", pw, f"power must exceed alpha = {a:g}")
    which = missing[0]
    args: list[float | None] = [n, effect, a]
    if which == "power":
        known = [_known(x) for x in args]
        return known[0], known[1], power_at(*known), known[2], which
    target = _known(pw)
    slot = {"n_per_group": 0, effect_name: 1, "alpha": 2}[which]
    lo, hi = {0: (n_min, None), 1: effect_bounds, 2: (1e-10, 1 - 1e-10)}[slot]

    def shortfall(x: float) -> float:
        full = [_known(y) if i != slot else x for i, y in enumerate(args)]
        return power_at(*full) - target

    args[slot] = _root(shortfall, lo, hi, which)
    known = [_known(x) for x in args]
    return known[0], known[1], target, known[2], which


def _known(x: float | None) -> float:
    assert x is not None
    return x


def _root(f: Callable[[float], float], lo: float, hi: float | None, name: str) -> float:
    if hi is None:
        hi = max(2.0 * lo, 1.0)
        while f(hi) < 0:
            hi *= 2.0
            if hi > 1e9:
                raise v.reject(name, "unbounded", f"no finite {name} reaches the target power")
    if f(lo) > 0 or f(hi) < 0:
        raise v.reject(name, "no solution", f"no {name} in ({lo:g}, {hi:g}) gives the target")
    return float(optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=500))


# --- assembling the result ---------------------------------------------------------------


def _result(
    *,
    test: str,
    solved_for: str,
    solution: tuple[float, float, float, float],
    side: int,
    ratio: float,
    scale: float | None,
    correlation: float | None,
    dropout: float,
    block_size: int | None,
) -> PowerResult:
    n1, eff, pw, a = solution
    r = v.fraction_0_1("dropout", dropout)
    allocation = _allocation(ratio)
    block = sum(allocation) if block_size is None else int(block_size)
    if block < 1:
        raise v.reject("block_size", block_size, "block_size must be a positive integer")
    evaluable = (_ceil(n1), _ceil(ratio * n1))
    enrolled = enrolment_for_dropout(
        n_evaluable=evaluable, dropout=r, block_size=block, allocation=allocation
    )
    return PowerResult(
        test=test,
        solved_for=solved_for,
        alpha=a,
        power=pw,
        sided=side,
        ratio=ratio,
        effect=eff,
        difference=None if scale is None else eff * scale,
        sd=scale,
        correlation=correlation,
        p1=None,
        p2=None,
        n_per_group=n1,
        n_evaluable=evaluable,
        dropout=r,
        block_size=block,
        n_enrolled=enrolled,
    )


def _replace(res: PowerResult, *, effect: float, p1: float, p2: float) -> PowerResult:
    from dataclasses import replace

    return replace(res, effect=effect, p1=p1, p2=p2)


def _standardize(
    effect: float | None, difference: float | None, sd: float | None
) -> tuple[float | None, float | None]:
    if difference is None and sd is None:
        return None, effect
    if effect is not None:
        raise v.reject("effect", effect, "give either effect or difference and sd, not both")
    sd = v.positive("sd", 1.0 if sd is None else sd)
    return sd, None if difference is None else float(difference) / sd


def _correlation(rho: float) -> float:
    r = float(rho)
    if not -1.0 < r < 1.0:
        raise v.reject("correlation", rho, "correlation must lie strictly between -1 and 1")
    return r


def _allocation(ratio: float) -> tuple[int, int]:
    frac = Fraction(ratio).limit_denominator(20)
    if abs(float(frac) - ratio) > 1e-9:
        raise v.reject("ratio", ratio, "ratio must be a fraction with denominator up to 20")
    return frac.denominator, frac.numerator


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise v.reject(name, value, f"{name} must be one of {', '.join(allowed)}")
    return value


def _ceil(x: float) -> int:
    """Round up, ignoring floating-point noise below 1e-9 (36 / 0.9 is 40, not 41)."""
    return math.ceil(x - 1e-9)
