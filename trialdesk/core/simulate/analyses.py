"""Draw the test statistic at every look for a block of simulated trials.

Each analysis returns the statistic, its degrees of freedom (None for z) and the naive effect
estimate in SD units, all shaped (replicates, looks). Where sufficient statistics have an exact
distribution they are drawn directly (z: stage sums are normal; t: stage means are normal and
the within-stage sum of squares is σ²χ²(m − 1), pooled exactly across stages); ANCOVA with a
baseline covariate and baseline-dependent dropout is simulated participant by participant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trialdesk.core.simulate.scenario import Scenario

__all__ = ["ANALYSES", "LookStatistics"]


@dataclass(frozen=True)
class LookStatistics:
    statistic: np.ndarray
    df: np.ndarray | None
    estimate: np.ndarray


def _observed(rng: np.random.Generator, m: np.ndarray, dropout: float, r: int) -> np.ndarray:
    """Participants per stage with an endpoint value, shape (r, looks)."""
    if dropout == 0:
        return np.broadcast_to(m, (r, m.size))
    return rng.binomial(m, 1.0 - dropout, size=(r, m.size))


def z_analysis(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, r: int
) -> LookStatistics:
    """Known-σ z-test on the difference in means (σ = 1 on the SD scale)."""
    delta = scenario.effect
    if scenario.dropout == 0:
        # One normal per stage: the stage sum of differences, N(δ m, 2 m).
        d = rng.standard_normal((r, stage_n.size))
        d *= np.sqrt(2.0 * stage_n)
        d += delta * stage_n
        s = np.cumsum(d, axis=1)
        big_m = np.cumsum(stage_n)
        est = s / big_m
        return LookStatistics(est * np.sqrt(big_m / 2.0), None, est)
    o_t = np.cumsum(_observed(rng, stage_n, scenario.dropout, r), axis=1)
    o_c = np.cumsum(_observed(rng, stage_n, scenario.dropout, r), axis=1)
    s_t = np.cumsum(_stage_sums(rng, np.diff(o_t, prepend=0), delta), axis=1)
    s_c = np.cumsum(_stage_sums(rng, np.diff(o_c, prepend=0), 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = s_t / o_t - s_c / o_c
        z = est / np.sqrt(1.0 / o_t + 1.0 / o_c)
    bad = (o_t == 0) | (o_c == 0)
    est[bad] = 0.0
    z[bad] = 0.0
    return LookStatistics(z, None, est)


def _stage_sums(rng: np.random.Generator, o: np.ndarray, mu: float) -> np.ndarray:
    return mu * o + np.sqrt(o) * rng.standard_normal(o.shape)


def _arm_stages(
    rng: np.random.Generator, o: np.ndarray, mu: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative (n, mean, within sum of squares) per look for one arm, drawn exactly."""
    r, k = o.shape
    of = o.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = mu + rng.standard_normal((r, k)) / np.sqrt(of)
    means[o == 0] = 0.0
    ss = 2.0 * rng.standard_gamma(np.maximum(of - 1.0, 0.0) / 2.0, size=(r, k))
    n_cum = np.cumsum(of, axis=1)
    mean_cum = np.empty_like(means)
    ss_cum = np.empty_like(ss)
    n_a, mean_a, ss_a = of[:, 0], means[:, 0], ss[:, 0]
    mean_cum[:, 0], ss_cum[:, 0] = mean_a, ss_a
    for j in range(1, k):
        n_b, mean_b = of[:, j], means[:, j]
        n = n_a + n_b
        diff = mean_b - mean_a
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(n > 0, n_b / n, 0.0)
            cross = np.where(n > 0, diff * diff * n_a * w, 0.0)
        mean_a = mean_a + diff * w
        ss_a = ss_a + ss[:, j] + cross
        n_a = n
        mean_cum[:, j], ss_cum[:, j] = mean_a, ss_a
    return n_cum, mean_cum, ss_cum


def t_analysis(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, r: int
) -> LookStatistics:
    """Two-sample t-test with pooled variance at each look, from exact stage statistics."""
    o_t = np.array(_observed(rng, stage_n, scenario.dropout, r))
    o_c = np.array(_observed(rng, stage_n, scenario.dropout, r))
    n_t, m_t, ss_t = _arm_stages(rng, o_t, scenario.effect)
    n_c, m_c, ss_c = _arm_stages(rng, o_c, 0.0)
    df = n_t + n_c - 2.0
    est = m_t - m_c
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = (ss_t + ss_c) / df
        t = est / np.sqrt(s2 * (1.0 / n_t + 1.0 / n_c))
    bad = (n_t == 0) | (n_c == 0) | (df <= 0)
    t[bad] = 0.0
    return LookStatistics(t, np.maximum(df, 0).astype(np.int64), est)


def ancova_analysis(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, r: int
) -> LookStatistics:
    """Complete-case ANCOVA (endpoint ~ arm + baseline), participants simulated one by one.

    Baseline x ~ N(0, 1); endpoint y = ρ x + √(1 − ρ²) e + δ·treated; the endpoint is missing
    with probability logistic(logit(dropout) + β x), so missingness may depend on the baseline
    (MAR), under which complete-case ANCOVA stays unbiased and the t-test does not.
    """
    arm_stats = [_arm_sums(rng, stage_n, scenario, mu, r) for mu in (scenario.effect, 0.0)]
    (nt, xt, yt, xxt, xyt, yyt), (nc, xc, yc, xxc, xyc, yyc) = arm_stats
    with np.errstate(divide="ignore", invalid="ignore"):
        mxt, myt, mxc, myc = xt / nt, yt / nt, xc / nc, yc / nc
        cxx = (xxt - xt * mxt) + (xxc - xc * mxc)
        cxy = (xyt - xt * myt) + (xyc - xc * myc)
        cyy = (yyt - yt * myt) + (yyc - yc * myc)
        b = cxy / cxx
        dx = mxt - mxc
        est = (myt - myc) - b * dx
        df = nt + nc - 3.0
        s2 = (cyy - cxy * b) / df
        t = est / np.sqrt(s2 * (1.0 / nt + 1.0 / nc + dx * dx / cxx))
    bad = (nt < 1) | (nc < 1) | (df <= 0) | ~np.isfinite(t)
    t[bad] = 0.0
    est[bad] = 0.0
    return LookStatistics(t, np.maximum(df, 0).astype(np.int64), est)


def _arm_sums(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, mu: float, r: int
) -> tuple[np.ndarray, ...]:
    """Cumulative (n, Σx, Σy, Σx², Σxy, Σy²) over observed participants at each look."""
    rho = scenario.baseline_correlation
    n_arm = int(stage_n.sum())
    x = rng.standard_normal((r, n_arm))
    y = rng.standard_normal((r, n_arm))
    y *= np.sqrt(1.0 - rho * rho)
    y += rho * x
    y += mu
    if scenario.dropout > 0:
        logit = np.log(scenario.dropout / (1.0 - scenario.dropout))
        u = rng.random((r, n_arm))
        if scenario.dropout_baseline_log_odds:
            p_miss = 1.0 / (1.0 + np.exp(-(logit + scenario.dropout_baseline_log_odds * x)))
        else:
            p_miss = scenario.dropout
        obs = (u >= p_miss).astype(float)
        x *= obs
        y *= obs
    else:
        obs = np.ones((r, n_arm))
    starts = np.concatenate(([0], np.cumsum(stage_n)[:-1])).astype(np.intp)
    parts = (obs, x, y, x * x, x * y, y * y)
    return tuple(np.cumsum(np.add.reduceat(a, starts, axis=1), axis=1) for a in parts)


AnalysisFn = Callable[[np.random.Generator, np.ndarray, Scenario, int], LookStatistics]

ANALYSES: dict[str, AnalysisFn] = {
    "z": z_analysis,
    "t": t_analysis,
    "ancova": ancova_analysis,
}
