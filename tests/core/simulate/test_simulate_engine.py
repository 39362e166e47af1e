"""Operating characteristics by simulation against exact values; reproducibility; scaling."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats
from simulate_exact_reference import exact_reject_per_look

from trialdesk.core.simulate import (
    SafetyRule,
    Scenario,
    SimulationBoundary,
    boundary_from_design,
    simulate_chunk,
    simulate_operating_characteristics,
    simulate_scenarios,
)
from trialdesk.core.simulate.boundary import count_rule

# Classical boundaries (one-sided α = 0.025 unless noted), values from the clinical notes §4.1
# and Jennison & Turnbull Table 2.1/2.3; the test compares with the exact crossing probabilities
# of these *given* bounds, so the bounds need not be optimal to many digits.
DESIGNS = {
    "obrien_fleming_2": SimulationBoundary(critical_values=(2.797, 1.977), n_per_look=(40, 80)),
    "pocock_3": SimulationBoundary(critical_values=(2.289, 2.289, 2.289), n_per_look=(30, 60, 90)),
    "of_binding_futility": SimulationBoundary(
        critical_values=(2.797, 1.977), n_per_look=(40, 80), futility_bounds=(0.0, None)
    ),
    "haybittle_peto_two_sided": SimulationBoundary(
        critical_values=(3.29, 1.962), n_per_look=(40, 80), sided=2
    ),
    "unequal_4": SimulationBoundary(
        critical_values=(3.5, 3.0, 2.5, 2.0), n_per_look=(20, 36, 60, 80)
    ),
}

REPS = 100_000


def _exact(b: SimulationBoundary, effect: float) -> list[float]:
    return exact_reject_per_look(
        critical_values=b.critical_values,
        n_per_look=b.n_per_look,
        effect=effect,
        futility_bounds=b.futility_bounds,
        sided=b.sided,
    )


@pytest.mark.parametrize("name", sorted(DESIGNS))
@pytest.mark.parametrize("effect", [0.0, 0.67])
def test_z_simulation_matches_exact_crossing_probabilities(name: str, effect: float) -> None:
    b = DESIGNS[name]
    res = simulate_operating_characteristics(
        boundary=b, scenario=Scenario(effect=effect), replicates=REPS, seed=20261124, workers=1
    )
    exact = _exact(b, effect)
    assert abs(res.reject - sum(exact)) < 3 * res.mcse_reject
    for sim, ex, se in zip(res.reject_per_look, exact, res.mcse_reject_per_look, strict=True):
        assert abs(sim - ex) < 3 * max(se, 1e-4)
    # Expected n from the exact stopping probabilities (no futility stops except binding ones).
    if b.futility_bounds is None:
        n = np.asarray(b.n_per_look, dtype=float)
        p_stop = np.asarray(exact[:-1])
        exact_n = n[-1] - float(np.sum(p_stop * (n[-1] - n[:-1])))
        assert abs(res.expected_n - exact_n) < 3 * res.mcse_expected_n + 1e-9


def test_t_analysis_fixed_design_matches_noncentral_t_power() -> None:
    # One look of 2 × 20: reject when T >= t_{0.975, 38}; exact power from the noncentral t.
    b = SimulationBoundary(critical_values=(stats.norm.ppf(0.975),), n_per_look=(40,))
    res = simulate_operating_characteristics(
        boundary=b, scenario=Scenario(effect=0.8), replicates=REPS, seed=3, analysis="t", workers=1
    )
    exact = stats.nct.sf(stats.t.ppf(0.975, 38), 38, 0.8 * math.sqrt(10))
    assert abs(res.reject - exact) < 3 * res.mcse_reject


def test_t_statistics_pool_exactly_across_stages() -> None:
    # An interim that can never stop leaves the final test a plain t-test on 2 × 40.
    b = SimulationBoundary(critical_values=(math.inf, stats.norm.ppf(0.975)), n_per_look=(30, 80))
    res = simulate_operating_characteristics(
        boundary=b, scenario=Scenario(effect=0.5), replicates=REPS, seed=4, analysis="t", workers=1
    )
    exact = stats.nct.sf(stats.t.ppf(0.975, 78), 78, 0.5 * math.sqrt(20))
    assert abs(res.reject - exact) < 3 * res.mcse_reject


@pytest.mark.parametrize("mar", [0.0, 1.0])
def test_ancova_type_one_error_is_exact_with_baseline_dependent_dropout(mar: float) -> None:
    b = SimulationBoundary(critical_values=(stats.norm.ppf(0.975),), n_per_look=(80,))
    scenario = Scenario(effect=0.0, dropout=0.15, dropout_baseline_log_odds=mar)
    res = simulate_operating_characteristics(
        boundary=b, scenario=scenario, replicates=20_000, seed=5, analysis="ancova", workers=1
    )
    assert abs(res.reject - 0.025) < 3 * res.mcse_reject
    assert abs(res.bias) < 3 * res.mcse_bias


def test_ancova_gains_power_over_t_from_the_baseline() -> None:
    b = SimulationBoundary(critical_values=(stats.norm.ppf(0.975),), n_per_look=(80,))
    sc = Scenario(effect=0.5, baseline_correlation=0.6)
    t = simulate_operating_characteristics(
        boundary=b, scenario=sc, replicates=20_000, seed=6, analysis="t", workers=1
    )
    a = simulate_operating_characteristics(
        boundary=b, scenario=sc, replicates=20_000, seed=6, analysis="ancova", workers=1
    )
    # ANCOVA ≈ t-test with σ² (1 − ρ²): noncentrality δ √(n/2) / √(1 − ρ²), df n − 3.
    approx = stats.nct.sf(stats.t.ppf(0.975, 77), 77, 0.5 * math.sqrt(20) / math.sqrt(0.64))
    assert a.reject > t.reject + 0.1
    assert abs(a.reject - approx) < 0.02


def test_ancova_estimate_equals_least_squares() -> None:
    from trialdesk.core.simulate.analyses import ancova_from_sums

    rng = np.random.default_rng(7)
    x = rng.normal(size=30)
    arm = np.repeat([1.0, 0.0], 15)
    y = 0.4 * arm + 0.6 * x + rng.normal(size=30)
    sums = [
        tuple(np.array([[v]]) for v in (m.sum(), (x * m).sum(), (y * m).sum(),
                                         (x * x * m).sum(), (x * y * m).sum(),
                                         (y * y * m).sum()))
        for m in (arm, 1 - arm)
    ]  # fmt: skip
    t, df, est = ancova_from_sums(*sums)
    design = np.column_stack([np.ones(30), arm, x])
    beta, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    cov = rss[0] / 27 * np.linalg.inv(design.T @ design)
    assert est[0, 0] == pytest.approx(beta[1], abs=1e-12)
    assert t[0, 0] == pytest.approx(beta[1] / math.sqrt(cov[1, 1]), abs=1e-10)
    assert df[0, 0] == 27


def test_results_are_bit_for_bit_reproducible_whatever_runs_the_chunks() -> None:
    b = DESIGNS["of_binding_futility"]
    kw = dict(
        boundary=b,
        scenarios=[Scenario(effect=0.0, dropout=0.1), Scenario(effect=0.5, dropout=0.1)],
        replicates=9_000,
        seed=11,
        analysis="t",
        chunk_size=2_000,
    )
    inline = simulate_scenarios(**kw, workers=1)
    threads = simulate_scenarios(**kw, workers=2, executor="thread")
    processes = simulate_scenarios(**kw, workers=2, executor="process")
    assert [r.to_dict() for r in inline] == [r.to_dict() for r in threads]
    assert [r.to_dict() for r in inline] == [r.to_dict() for r in processes]
    assert inline[0].replicates == 9_000


def test_a_chunk_is_a_pure_function_of_design_seed_and_index() -> None:
    kw = dict(
        boundary=DESIGNS["pocock_3"], scenario=Scenario(effect=0.3), analysis="z", replicates=500
    )
    a = simulate_chunk(**kw, seed=1, chunk_index=3)
    b = simulate_chunk(**kw, seed=1, chunk_index=3)
    c = simulate_chunk(**kw, seed=1, chunk_index=4)
    assert dataclasses.asdict(a).keys() == dataclasses.asdict(b).keys()
    assert np.array_equal(a.stops, b.stops) and a.sum_err == b.sum_err
    assert not (np.array_equal(a.stops, c.stops) and a.sum_err == c.sum_err)


def test_progress_reports_every_replicate() -> None:
    seen: list[int] = []
    simulate_operating_characteristics(
        boundary=DESIGNS["obrien_fleming_2"],
        scenario=Scenario(),
        replicates=2_500,
        seed=1,
        chunk_size=1_000,
        workers=1,
        progress=seen.append,
    )
    assert seen == [1_000, 1_000, 500]


def test_dask_cluster_gives_the_same_result_as_local_cores() -> None:
    from distributed import LocalCluster

    kw = dict(
        boundary=DESIGNS["obrien_fleming_2"],
        scenario=Scenario(effect=0.4),
        replicates=6_000,
        seed=2,
        chunk_size=1_000,
        analysis="t",
    )
    local = simulate_operating_characteristics(**kw, workers=1)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = simulate_operating_characteristics(**kw, scheduler=cluster.scheduler_address)
    assert remote.to_dict() == local.to_dict()


def test_beta_binomial_rule_reproduces_the_published_stopping_table() -> None:
    # clinical notes §4.2(a): Beta(1,1), p0 = 0.10, γ = 0.90, looks every 5 treated.
    rule = SafetyRule.beta_binomial(
        threshold_rate=0.10, posterior_probability=0.90, every=5, n_max_per_arm=40
    )
    assert rule.checkpoints == (5, 10, 15, 20, 25, 30, 35, 40)
    assert rule.stop_counts == (2, 2, 3, 4, 5, 5, 6, 7)


def _exact_safety_stop(rule: SafetyRule, p: float, n_last: int) -> float:
    """P(the count reaches the bound at some checkpoint < n_last), by dynamic programming."""
    dist = np.array([1.0])
    stopped, prev = 0.0, 0
    for cp, need in zip(rule.checkpoints, rule.stop_counts, strict=True):
        if cp >= n_last:
            break
        inc = stats.binom.pmf(np.arange(cp - prev + 1), cp - prev, p)
        dist = np.convolve(dist, inc)
        stopped += dist[need:].sum()
        dist[need:] = 0.0
        prev = cp
    return stopped


@pytest.mark.parametrize("rate", [0.05, 0.2])
def test_safety_stopping_probability_matches_exact(rate: float) -> None:
    rule = SafetyRule.beta_binomial(
        threshold_rate=0.10, posterior_probability=0.90, every=5, n_max_per_arm=40
    )
    b = DESIGNS["obrien_fleming_2"]
    res = simulate_operating_characteristics(
        boundary=b,
        scenario=Scenario(effect=0.0, sae_rate=(0.0, rate)),
        replicates=50_000,
        seed=8,
        safety_rule=rule,
        workers=1,
    )
    exact = _exact_safety_stop(rule, rate, 40)
    assert abs(res.stop_safety - exact) < 3 * res.mcse_stop_safety
    # Trials stopped for safety never reject, and the probabilities add up.
    total = res.reject + res.stop_safety + sum(res.futility_per_look)
    assert total <= 1.0 + 1e-12


def test_count_rule_and_pooled_monitoring() -> None:
    rule = count_rule(steps=[(2, 2), (5, 3), (10, 4)], n_max=10)
    assert rule.stop_counts[:6] == (2, 2, 3, 3, 3, 4)
    pooled = dataclasses.replace(rule, arm="pooled")
    b = SimulationBoundary(critical_values=(1.96,), n_per_look=(20,))
    res = simulate_operating_characteristics(
        boundary=b,
        scenario=Scenario(sae_rate=(0.3, 0.3)),
        replicates=20_000,
        seed=9,
        safety_rule=pooled,
        workers=1,
    )
    # Pooled at 0.3 per participant the same as one arm at 0.3 (checkpoints 1..10 of 20).
    exact = _exact_safety_stop(rule, 0.3, 11)
    assert abs(res.stop_safety - exact) < 3 * res.mcse_stop_safety


def test_overrun_and_duration_follow_recruitment() -> None:
    b = DESIGNS["obrien_fleming_2"]
    sc = Scenario(effect=2.0, recruitment_per_month=30.4375, followup_days=7)
    res = simulate_operating_characteristics(
        boundary=b, scenario=sc, replicates=1_000, seed=1, workers=1
    )
    # Nearly every trial stops at the interim, with 7 more participants enrolled meanwhile.
    assert res.stop_efficacy_interim > 0.99
    assert 46.5 < res.expected_n <= 47.0
    assert res.expected_duration_months == pytest.approx(res.expected_n / 30.4375 + 7 / 30.4375)


def test_bias_of_the_naive_estimate_at_stopping_is_positive_under_h1() -> None:
    res = simulate_operating_characteristics(
        boundary=DESIGNS["pocock_3"], scenario=Scenario(effect=0.4), replicates=50_000, seed=10
    )
    assert res.bias > 5 * res.mcse_bias
    assert res.bias_given_reject > res.bias


def test_boundary_adapter_reads_a_design_object() -> None:
    @dataclasses.dataclass
    class Design:
        critical_values: tuple[float, ...] = (2.797, 1.977)
        information_fractions: tuple[float, ...] = (0.5, 1.0)
        futility_bounds: tuple[float, ...] = (0.1, -math.inf)
        sided: int = 1

    b = boundary_from_design(Design(), n_max=80)
    assert b.n_per_look == (40, 80)
    assert b.futility_bounds == (0.1, None)
    assert b.with_n_max(100).n_per_look == (50, 100)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(critical_values=(2.0,), n_per_look=(41,)), "must be even"),
        (dict(critical_values=(2.0, 1.9), n_per_look=(40,)), "n_per_look has 1"),
        (dict(critical_values=(2.0,), n_per_look=(40,), sided=3), "sided = 3"),
    ],
)
def test_invalid_boundaries_say_what_is_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulationBoundary(**kwargs)


def test_invalid_scenario_and_analysis_are_rejected() -> None:
    with pytest.raises(ValueError, match="dropout = 1.2"):
        Scenario(dropout=1.2)
    with pytest.raises(ValueError, match="analysis = 'w'"):
        simulate_operating_characteristics(
            boundary=DESIGNS["pocock_3"], scenario=Scenario(), replicates=10, seed=1,
            analysis="w", workers=1,
        )  # fmt: skip


@pytest.mark.parametrize("analysis", ["z", "t"])
def test_fast_path_agrees_with_per_replicate_bookkeeping(analysis: str) -> None:
    # A safety rule that can never fire takes the general path; the numbers must not change.
    never = SafetyRule(checkpoints=(1,), stop_counts=(2,))
    b = DESIGNS["of_binding_futility"]
    sc = Scenario(effect=0.4, dropout=0.1, recruitment_per_month=10)
    kw = dict(boundary=b, scenario=sc, analysis=analysis, replicates=20_000, seed=3, chunk_index=0)
    fast = simulate_chunk(**kw)
    slow = simulate_chunk(**kw, safety_rule=never)
    assert np.array_equal(fast.stops, slow.stops)
    assert (fast.sum_n, fast.sum_n2, fast.analysed) == (slow.sum_n, slow.sum_n2, slow.analysed)
    assert fast.reject_ignoring_futility == slow.reject_ignoring_futility
    for name in ("sum_err", "sum_err2", "sum_err_reject", "sum_err2_reject"):
        assert getattr(fast, name) == pytest.approx(getattr(slow, name), rel=1e-9, abs=1e-9)


def test_t_per_arm_path_matches_noncentral_t(monkeypatch: pytest.MonkeyPatch) -> None:
    # The general path (used with dropout) on complete data: same exact reference as above.
    from trialdesk.core.simulate import analyses

    monkeypatch.setitem(analyses.ANALYSES, "t", analyses.t_per_arm)
    b = SimulationBoundary(critical_values=(math.inf, stats.norm.ppf(0.975)), n_per_look=(30, 80))
    res = simulate_operating_characteristics(
        boundary=b, scenario=Scenario(effect=0.5), replicates=50_000, seed=12, analysis="t",
        workers=1,
    )  # fmt: skip
    exact = stats.nct.sf(stats.t.ppf(0.975, 78), 78, 0.5 * math.sqrt(20))
    assert abs(res.reject - exact) < 3 * res.mcse_reject
