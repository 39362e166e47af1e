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
    """Per-look arrays shaped (looks, replicates), so that each look is contiguous.

    The test statistic is ``statistic * z_per_unit[k]`` at look k when ``z_per_unit`` is given
    (the z path keeps one array for estimate and statistic), else ``statistic`` itself. ``df``
    is None for a z statistic, else the t degrees of freedom per replicate and look.
    """

    statistic: np.ndarray
    df: np.ndarray | None
    estimate: np.ndarray
    z_per_unit: np.ndarray | None = None


def _observed(rng: np.random.Generator, m: np.ndarray, dropout: float, r: int) -> np.ndarray:
    """Participants per stage with an endpoint value, shape (looks, r)."""
    if dropout == 0:
        return np.broadcast_to(m[:, None], (m.size, r))
    return rng.binomial(m[:, None], 1.0 - dropout, size=(m.size, r))


def z_analysis(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, r: int
) -> LookStatistics:
    """Known-σ z-test on the difference in means (σ = 1 on the SD scale)."""
    delta = scenario.effect
    big_m = np.cumsum(stage_n).astype(float)
    if scenario.dropout == 0:
        # One normal per stage: the stage sum of differences, N(δ m, 2 m); cumulated in place
        # and divided by the cumulative n it is the estimate, and z = estimate · √(M/2).
        d = rng.standard_normal((stage_n.size, r))
        for k, m in enumerate(stage_n):
            d[k] *= np.sqrt(2.0 * m)
            d[k] += delta * m
            if k:
                d[k] += d[k - 1]
        for k in range(stage_n.size - 1, -1, -1):
            d[k] /= big_m[k]
        return LookStatistics(d, None, d, np.sqrt(big_m / 2.0))
    o_t = np.cumsum(_observed(rng, stage_n, scenario.dropout, r), axis=0)
    o_c = np.cumsum(_observed(rng, stage_n, scenario.dropout, r), axis=0)
    s_t = np.cumsum(_stage_sums(rng, np.diff(o_t, axis=0, prepend=0), delta), axis=0)
    s_c = np.cumsum(_stage_sums(rng, np.diff(o_c, axis=0, prepend=0), 0.0), axis=0)
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
    k, r = o.shape
    of = o.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = mu + rng.standard_normal((k, r)) / np.sqrt(of)
    means[o == 0] = 0.0
    ss = 2.0 * rng.standard_gamma(np.maximum(of - 1.0, 0.0) / 2.0, size=(k, r))
    n_cum = np.cumsum(of, axis=0)
    n_a, mean_a, ss_a = of[0], means[0], ss[0]
    for j in range(1, k):
        n_b, mean_b = of[j], means[j]
        n = n_a + n_b
        diff = mean_b - mean_a
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(n > 0, n_b / n, 0.0)
        cross = diff * diff
        cross *= n_a
        cross *= w
        mean_a = mean_a + diff * w
        ss_a = ss_a + ss[j] + cross
        n_a = n
        means[j], ss[j] = mean_a, ss_a
    return n_cum, means, ss


def t_analysis(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, r: int
) -> LookStatistics:
    """Two-sample t-test with pooled variance at each look, from exact stage statistics."""
    if scenario.dropout == 0:
        return _t_equal_stages(rng, stage_n, scenario.effect, r)
    return t_per_arm(rng, stage_n, scenario, r)


def t_per_arm(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, r: int
) -> LookStatistics:
    """t-test path from each arm's stage mean and sum of squares (any numbers observed)."""
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


def _t_equal_stages(
    rng: np.random.Generator, stage_n: np.ndarray, delta: float, r: int
) -> LookStatistics:
    """t-test path with m_k participants per arm in stage k, two draws per stage.

    Write each arm's pooled sum of squares at look k as the previous one plus the stage's
    within sum of squares (σ²χ²(m_k − 1) per arm) plus the between-stage term
    c (x̄_old − x̄_stage)², c = M_{k−1} m_k / M_k. Summed over the arms, the between terms are
    c/2 [(a + b)² + (a − b)²] with a, b the two arms' (old − stage) mean differences: a − b is
    (old − stage) difference *between arms*, a function of the path of the estimate, and
    c (a + b)²/2 is σ²χ²(1) independent of that path. So per stage one normal (the stage's
    mean difference) and one σ²χ²(2 m_k − 1) (σ²χ²(2 m_1 − 2) at the first stage) are exact.
    """
    k_max = stage_n.size
    m = stage_n.astype(float)
    big_m = np.cumsum(m)
    est = rng.standard_normal((k_max, r))
    ss = np.empty((k_max, r))
    for k in range(k_max):
        est[k] *= np.sqrt(2.0 / m[k])
        est[k] += delta
        shape = m[k] - 1.0 if k == 0 else m[k] - 0.5
        ss[k] = rng.standard_gamma(shape, size=r)
        ss[k] *= 2.0
        if k:
            c = big_m[k - 1] * m[k] / big_m[k]
            gap = est[k - 1] - est[k]
            gap *= gap
            gap *= c / 2.0
            ss[k] += ss[k - 1]
            ss[k] += gap
            est[k] *= m[k] / big_m[k]
            est[k] += est[k - 1] * (big_m[k - 1] / big_m[k])
    df = 2.0 * big_m - 2.0
    t = ss / df[:, None]
    t *= (2.0 / big_m)[:, None]
    np.sqrt(t, out=t)
    np.divide(est, t, out=t)
    return LookStatistics(t, df.astype(np.int64), est)


def ancova_analysis(
    rng: np.random.Generator, stage_n: np.ndarray, scenario: Scenario, r: int
) -> LookStatistics:
    """Complete-case ANCOVA (endpoint ~ arm + baseline), participants simulated one by one.

    Baseline x ~ N(0, 1); endpoint y = ρ x + √(1 − ρ²) e + δ·treated; the endpoint is missing
    with probability logistic(logit(dropout) + β x), so missingness may depend on the baseline
    (MAR), under which complete-case ANCOVA stays unbiased and the t-test does not.
    """
    treated = _arm_sums(rng, stage_n, scenario, scenario.effect, r)
    control = _arm_sums(rng, stage_n, scenario, 0.0, r)
    t, df, est = ancova_from_sums(treated, control)
    return LookStatistics(t, df, est)


def ancova_from_sums(
    treated: tuple[np.ndarray, ...], control: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """t statistic, df and treatment estimate of y ~ arm + x from per-arm sums.

    Each argument is (n, Σx, Σy, Σx², Σxy, Σy²); the common slope is the pooled within-arm
    regression, as in ordinary least squares with an arm indicator and the covariate.
    """
    nt, xt, yt, xxt, xyt, yyt = treated
    nc, xc, yc, xxc, xyc, yyc = control
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
    return t, np.maximum(df, 0).astype(np.int64), est


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
    return tuple(np.cumsum(np.add.reduceat(a, starts, axis=1), axis=1).T.copy() for a in parts)


AnalysisFn = Callable[[np.random.Generator, np.ndarray, Scenario, int], LookStatistics]

ANALYSES: dict[str, AnalysisFn] = {
    "z": z_analysis,
    "t": t_analysis,
    "ancova": ancova_analysis,
}
