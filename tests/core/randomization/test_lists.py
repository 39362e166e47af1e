"""Statistical and structural tests of the allocation-list generators.

Monte Carlo tolerances: a proportion p estimated from N draws has SE sqrt(p(1-p)/N); we accept
|estimate - p| < 5 SE (two-sided false alarm ~6e-7 per comparison). Every random stream is a
fixed-seed PCG64, so the tests are deterministic.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import time
from fractions import Fraction

import numpy as np
import pytest

from trialdesk.core.randomization import (
    SEED_BITS,
    ListSpec,
    arms_from_seed_match,
    check_list,
    generate_list,
    list_hash,
    neighbour_guessability,
    new_seed,
    rng_from_seed,
    simulate_balance,
)
from trialdesk.core.randomization.blocks import check_ratio, permuted_blocks, simple
from trialdesk.testing.allocation_attack import brute_force, old_scheme_list

N_LISTS = 100_000


@pytest.mark.parametrize(
    ("ratio", "sizes"), [((1, 1), (2, 4)), ((1, 1), (4, 6, 8)), ((2, 1), (3, 6))]
)
def test_block_balance_is_exact_at_every_block_end(ratio, sizes):
    m = permuted_blocks(
        ratio=ratio, block_sizes=sizes, min_length=24, n_lists=20_000, rng=rng_from_seed(1)
    )
    k = len(ratio)
    onehot = (m.arms[..., None] == np.arange(k)).astype(np.int64)
    cum = np.cumsum(onehot, axis=1)
    position = np.arange(m.arms.shape[1])[None, :] + 1
    ends = m.block_end
    for a, r in enumerate(ratio):
        expected = position * r / sum(ratio)
        assert np.array_equal(cum[..., a][ends], expected.repeat(len(m.arms), 0)[ends])
    assert (m.arms[m.valid] >= 0).all()


def test_running_imbalance_never_exceeds_half_the_largest_block():
    m = permuted_blocks(
        ratio=(1, 1), block_sizes=(2, 4, 6), min_length=40, n_lists=20_000, rng=rng_from_seed(2)
    )
    diff = np.cumsum(np.where(m.arms == 0, 1, np.where(m.arms == 1, -1, 0)), axis=1)
    assert np.abs(diff[m.valid]).max() == 3


def test_allocation_ratio_over_1e5_lists_within_monte_carlo_error():
    ratio = (2, 1)
    m = permuted_blocks(
        ratio=ratio, block_sizes=(3, 6), min_length=30, n_lists=N_LISTS, rng=rng_from_seed(3)
    )
    arms = m.arms[:, :30]  # every list has at least 30 valid positions
    assert m.valid[:, :30].all()
    p = 2 / 3
    share = (arms == 0).mean(axis=0)  # per position, across lists
    se = np.sqrt(p * (1 - p) / N_LISTS)
    assert np.abs(share - p).max() < 5 * se
    # position 0 of a block of 3 with ratio 2:1 is arm 0 with probability exactly 2/3
    first = arms[:, 0]
    assert abs((first == 0).mean() - p) < 5 * se


def test_simple_randomization_ratio_within_monte_carlo_error():
    arms = simple(ratio=(1, 1), length=20, n_lists=N_LISTS, rng=rng_from_seed(4))
    share = (arms == 0).mean(axis=0)
    assert np.abs(share - 0.5).max() < 5 * np.sqrt(0.25 / N_LISTS)


def test_block_sizes_and_within_block_orders_are_uniform():
    m = permuted_blocks(
        ratio=(1, 1), block_sizes=(2, 4), min_length=4, n_lists=N_LISTS, rng=rng_from_seed(5)
    )
    first_size = m.block_size[:, 0]
    assert abs((first_size == 2).mean() - 0.5) < 5 * np.sqrt(0.25 / N_LISTS)
    fours = m.arms[first_size == 4, :4]
    patterns = {p: 0 for p in set(itertools.permutations((0, 0, 1, 1)))}
    for row in map(tuple, fours):
        patterns[row] += 1
    counts = np.array(list(patterns.values()))
    assert len(patterns) == 6
    expected = len(fours) / 6
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 25.7  # chi-square(5) 0.9999 quantile


SPEC = ListSpec(
    method="permuted_block",
    arms=("EXO", "PBO"),
    ratio=(1, 1),
    strata=("site=01", "site=02"),
    slots_per_stratum=40,
    block_sizes=(2, 4),
)


def test_same_seed_and_label_source_give_the_same_list_and_hash():
    spec = SPEC
    a = generate_list(spec, seed=20251124, labels=random.Random(1))
    b = generate_list(spec, seed=20251124, labels=random.Random(1))
    assert a.entries == b.entries
    assert a.sha256 == b.sha256 == list_hash(spec, b.entries)
    c = generate_list(spec, seed=20251125, labels=random.Random(1))
    assert c.sha256 != a.sha256


def test_kit_codes_come_from_their_own_csprng_draw_not_the_arm_seed():
    a, b = generate_list(SPEC, seed=20251124), generate_list(SPEC, seed=20251124)
    assert [e.arm for e in a.entries] == [e.arm for e in b.entries]  # same seed, same arms
    # independent draws: equal code lists by chance have probability < 1e-500
    assert [e.kit_code for e in a.entries] != [e.kit_code for e in b.entries]
    assert [e.randomization_number for e in a.entries] != [
        e.randomization_number for e in b.entries
    ]
    assert arms_from_seed_match(SPEC, b.entries, seed=20251124)
    assert not arms_from_seed_match(SPEC, b.entries, seed=20251125)


def test_brute_force_over_seeds_cannot_reproduce_the_kit_codes():
    spec = dataclasses.replace(SPEC, strata=("a", "b", "c", "d"), slots_per_stratum=20)
    # Control: against the pre-issue-9 generator the attack finds the reviewer's seed from
    # six kit codes scattered over the list.
    old = [code for _, code in old_scheme_list(spec, 4243)]
    assert brute_force(spec, old[3:60:10], range(4300)) == 4243
    started = time.perf_counter()
    codes = [e.kit_code for e in generate_list(spec, seed=new_seed()).entries]
    assert brute_force(spec, codes[3:60:10], range(20_001)) is None
    print(f"20,001 seeds tried in {time.perf_counter() - started:.1f} s")


def test_system_seeds_are_128_bit_and_differ():
    seeds = [new_seed() for _ in range(64)]
    assert SEED_BITS == 128 and len(set(seeds)) == 64
    assert all(0 <= s < 2**128 for s in seeds) and max(seeds).bit_length() >= 120


def test_check_list_finds_an_unbalanced_block_and_a_duplicate_kit():
    lst = generate_list(SPEC, seed=new_seed())
    assert check_list(SPEC, lst.entries) == []
    entries = list(lst.entries)
    first = entries[0]
    entries[0] = dataclasses.replace(first, arm="PBO" if first.arm == "EXO" else "EXO")
    assert any("arms do not follow the ratio" in p for p in check_list(SPEC, entries))
    entries = list(lst.entries)
    entries[1] = dataclasses.replace(entries[1], kit_code=entries[0].kit_code)
    assert check_list(SPEC, entries) == ["every kit code must be present and unique"]


def test_randomization_numbers_do_not_follow_the_list_order():
    lst = generate_list(SPEC, seed=new_seed())
    numbers = [int(e.randomization_number.removeprefix("R-")) for e in lst.entries]
    increasing = sum(b > a for a, b in zip(numbers, numbers[1:], strict=False))
    assert 0.3 < increasing / (len(numbers) - 1) < 0.7  # sequential numbers would give 1.0


@pytest.mark.parametrize(
    ("sizes", "partner", "next_one"),
    [
        # blocks of 2: the partner is certain; the next participant is the partner half the
        # time (certain) and opens a new block otherwise (1/2): 1/2 + 1/4 = 3/4.
        ((2,), Fraction(1), Fraction(3, 4)),
        # blocks of 4, one arm revealed: 2 of the 3 others are the other arm (2/3); the next
        # participant is in the same block 3 times in 4: 3/4 * 2/3 + 1/4 * 1/2 = 5/8.
        ((4,), Fraction(2, 3), Fraction(5, 8)),
        # sizes 2 and 4 equally likely: the revealed participant is in a block of 2 with
        # probability 2/(2+4) = 1/3: partner 1/3 * 1 + 2/3 * 2/3 = 7/9; next: positions are
        # 1/6 each (2-block first, 2-block last, 4-block 1..4): (1 + 1/2 + 3 * 2/3 + 1/2) / 6.
        ((2, 4), Fraction(7, 9), Fraction(2, 3)),
    ],
)
def test_guessability_after_one_code_break_matches_hand_computation(sizes, partner, next_one):
    r = neighbour_guessability(method="permuted_block", ratio=(1, 1), block_sizes=sizes)
    assert (r.partner, r.next_neighbour, r.baseline) == (partner, next_one, Fraction(1, 2))
    assert "next participant in the stratum" in r.summary()


def test_guessability_of_simple_randomization_is_the_baseline_and_simulation_agrees():
    simple = neighbour_guessability(method="simple", ratio=(1, 1))
    assert simple.next_neighbour == simple.baseline == Fraction(1, 2) and simple.partner is None
    # Monte Carlo check of the exact 2/3 for sizes {2, 4}: 20,000 long lists, one random
    # revealed position each, guess "the other arm" for the next one (SE ≈ 0.0033).
    m = __import__("trialdesk.core.randomization.blocks", fromlist=["permuted_blocks"])
    mat = m.permuted_blocks(
        ratio=(1, 1), block_sizes=(2, 4), min_length=200, n_lists=20_000, rng=rng_from_seed(11)
    )
    rng = rng_from_seed(12)
    pos = rng.integers(50, 150, size=20_000)  # far from the start: the stationary regime
    rows = np.arange(20_000)
    hit = (mat.arms[rows, pos] != mat.arms[rows, pos + 1]).mean()
    assert abs(hit - 2 / 3) < 5 * np.sqrt((2 / 3) * (1 / 3) / 20_000)


def test_stratified_list_is_balanced_within_each_stratum():
    spec = ListSpec(
        method="permuted_block",
        arms=("EXO", "PBO"),
        ratio=(1, 1),
        strata=("s1", "s2", "s3", "s4"),
        slots_per_stratum=21,
        block_sizes=(2, 4),
    )
    lst = generate_list(spec, seed=7)
    for stratum in spec.strata:
        rows = lst.stratum(stratum)
        assert len(rows) >= 21 and [r.sequence for r in rows] == list(range(1, len(rows) + 1))
        arms = [r.arm for r in rows]
        assert arms.count("EXO") == arms.count("PBO")  # list ends at a block end
        blocks_seen = {r.block for r in rows}
        for blk in blocks_seen:
            in_block = [r.arm for r in rows if r.block == blk]
            assert len(in_block) == rows[[r.block for r in rows].index(blk)].block_size
            assert in_block.count("EXO") == in_block.count("PBO")


def test_kit_codes_and_randomization_numbers_are_unique():
    spec = ListSpec(
        method="simple",
        arms=("EXO", "PBO"),
        ratio=(1, 1),
        strata=tuple(f"s{i}" for i in range(8)),
        slots_per_stratum=250,
    )
    lst = generate_list(spec, seed=1, labels=random.Random(1))
    assert len({e.kit_code for e in lst.entries}) == len(lst.entries) == 2000
    assert len({e.randomization_number for e in lst.entries}) == 2000


def test_bad_specs_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="not multiples of the ratio total 3"):
        check_ratio((2, 1), (2, 4))
    with pytest.raises(ValueError, match="unknown method 'urn'"):
        ListSpec(method="urn", arms=("A", "B"), ratio=(1, 1))
    with pytest.raises(ValueError, match="non-negative integer"):
        rng_from_seed(-1)


def test_pre_study_report_shows_blocks_balance_better_than_simple():
    kw = {"arms": ("EXO", "PBO"), "ratio": (1, 1), "strata": ("a", "b")}
    blocks = ListSpec(method="permuted_block", block_sizes=(2, 4), **kw)
    coin = ListSpec(method="simple", **kw)
    rb = simulate_balance(spec=blocks, n_participants=80, n_simulations=5000, rng=rng_from_seed(8))
    rs = simulate_balance(spec=coin, n_participants=80, n_simulations=5000, rng=rng_from_seed(8))
    assert rb.max_abs_imbalance <= 4  # at most half a block of 4 per stratum, two strata
    assert rs.mean_abs_imbalance > 5 * rb.mean_abs_imbalance
    # simple randomization is unpredictable; small blocks are guessable about 70 % of the time
    assert abs(rs.correct_guess_fraction - 0.5) < 0.01
    assert 0.65 < rb.correct_guess_fraction < 0.76
    assert "convergence-guess success" in rb.summary()
    assert abs(sum(share for _, share in rb.distribution) - 1) < 1e-12
    assert max(v for v, _ in rb.distribution) == rb.max_abs_imbalance
