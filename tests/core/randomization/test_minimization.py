from __future__ import annotations

import random

import pytest

from trialdesk.core.randomization import (
    ListSpec,
    generate_list,
    level_counts,
    minimization_assign,
    rng_from_seed,
    simulate_balance,
)

ARMS = ("EXO", "PBO")


def _assign(history, levels, draw=0.0, tie=0.0, p=0.8):
    return minimization_assign(
        arms=ARMS,
        ratio=(1, 1),
        levels=levels,
        counts=level_counts(history, ARMS),
        probability=p,
        draw=draw,
        tie_draw=tie,
    )


def test_the_arm_that_reduces_imbalance_is_preferred():
    history = [({"site": "01", "onset": "early"}, "EXO"), ({"site": "01", "onset": "late"}, "EXO")]
    res = _assign(history, {"site": "01", "onset": "early"}, draw=0.1)
    assert res.preferred == ("PBO",) and res.arm == "PBO" and not res.random_element_used
    assert res.imbalance == {"EXO": 5.0, "PBO": 1.0}


def test_random_element_picks_the_other_arm_when_the_draw_exceeds_p():
    history = [({"site": "01"}, "EXO")]
    res = _assign(history, {"site": "01"}, draw=0.85)
    assert res.arm == "EXO" and res.random_element_used


def test_ties_are_broken_by_the_tie_draw():
    assert _assign([], {"site": "01"}, tie=0.2).arm == "EXO"
    assert _assign([], {"site": "01"}, tie=0.7).arm == "PBO"


def test_probability_must_be_a_probability():
    with pytest.raises(ValueError, match="must be in"):
        _assign([], {"site": "01"}, p=0)


def test_minimization_list_holds_pre_drawn_uniforms_and_is_reproducible():
    spec = ListSpec(
        method="minimization",
        arms=ARMS,
        ratio=(1, 1),
        slots_per_stratum=50,
        minimization_probability=0.8,
        factors=("site", "onset"),
    )
    a = generate_list(spec, seed=3, labels=random.Random(3))
    b = generate_list(spec, seed=3, labels=random.Random(3))
    assert a.sha256 == b.sha256
    assert all(e.arm == "" and 0 <= e.draw < 1 for e in a.entries)


def test_minimization_keeps_balance_tight():
    spec = ListSpec(
        method="minimization",
        arms=ARMS,
        ratio=(1, 1),
        slots_per_stratum=80,
        minimization_probability=0.8,
        factors=("site", "onset"),
    )
    res = simulate_balance(spec=spec, n_participants=80, n_simulations=100, rng=rng_from_seed(9))
    assert res.mean_abs_imbalance < 2.0 and res.max_abs_imbalance <= 8
