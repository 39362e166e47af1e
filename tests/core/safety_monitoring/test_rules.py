"""The live-rule evaluation and the per-participant dynamic programme, against the checkpoint
convolution of monitor.py and a brute-force enumeration of every event sequence."""

from __future__ import annotations

import itertools

import pytest

from trialdesk.core.safety_monitoring.monitor import SafetyBoundary
from trialdesk.core.safety_monitoring.rules import (
    bayesian_stop_at,
    count_stop_at,
    evaluate_bayesian_rule,
    evaluate_count_rule,
    stop_probability_by_n,
)

STEPS = [(2, 2), (5, 3), (10, 4), (15, 5), (21, 6), (27, 7), (33, 8), (40, 9)]


def test_count_rule_fires_exactly_at_the_step():
    assert [count_stop_at(STEPS, n) for n in (0, 1, 2, 3, 5, 6, 40, 41)] == [2, 2, 2, 3, 3, 4, 9, 9]
    assert not evaluate_count_rule(STEPS, events=1, n=2).fires
    assert evaluate_count_rule(STEPS, events=2, n=2).fires


def test_bayesian_rule_respects_min_n_and_the_cut_off():
    kw = dict(prior_mean=0.007, prior_n=10, threshold=0.10, posterior_probability=0.90, min_n=3)
    assert bayesian_stop_at(n=2, **kw) is None and bayesian_stop_at(n=4, **kw) == 4
    assert not evaluate_bayesian_rule(events=3, n=4, **kw).fires
    assert evaluate_bayesian_rule(events=4, n=4, **kw).fires


@pytest.mark.parametrize("rate", [0.007, 0.05, 0.10, 0.20, 0.30])
def test_dp_matches_the_checkpoint_convolution(rate):
    counts = [count_stop_at(STEPS, n) for n in range(1, 41)]
    dp = stop_probability_by_n(counts, rate)
    b = SafetyBoundary(
        checkpoints=tuple(range(1, 41)), stop_counts=tuple(counts), rule="count", description=""
    )
    conv = b.operating_characteristics([rate])[0]
    assert dp[-1] == pytest.approx(conv.probability_stop, abs=1e-14)
    assert dp == pytest.approx(list(conv.cumulative_stop), abs=1e-14)


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.3])
def test_dp_matches_brute_force_enumeration(rate):
    n_max = 12  # 4096 sequences: every participant event / no event
    counts = [count_stop_at(STEPS, n) for n in range(1, n_max + 1)]
    total = 0.0
    for seq in itertools.product((0, 1), repeat=n_max):
        x, stopped = 0, False
        for n, e in enumerate(seq, start=1):
            x += e
            if x >= counts[n - 1]:
                stopped = True
                break
        if stopped:
            k = sum(seq)
            total += rate**k * (1 - rate) ** (n_max - k)
    assert stop_probability_by_n(counts, rate)[-1] == pytest.approx(total, abs=1e-12)
