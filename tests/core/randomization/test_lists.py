"""Statistical and structural tests of the allocation-list generators.

Monte Carlo tolerances: a proportion p estimated from N draws has SE sqrt(p(1-p)/N); we accept
|estimate - p| < 5 SE (two-sided false alarm ~6e-7 per comparison). Every random stream is a
fixed-seed PCG64, so the tests are deterministic.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from trialdesk.core.randomization import (
    ListSpec,
    generate_list,
    list_hash,
    rng_from_seed,
    simulate_balance,
)
from trialdesk.core.randomization.blocks import check_ratio, permuted_blocks, simple

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


def test_same_seed_gives_the_same_list_and_hash():
    spec = ListSpec(
        method="permuted_block",
        arms=("EXO", "PBO"),
        ratio=(1, 1),
        strata=("site=01", "site=02"),
        slots_per_stratum=40,
        block_sizes=(2, 4),
    )
    a, b = generate_list(spec, seed=20251124), generate_list(spec, seed=20251124)
    assert a.entries == b.entries
    assert a.sha256 == b.sha256 == list_hash(spec, b.entries)
    c = generate_list(spec, seed=20251125)
    assert c.sha256 != a.sha256


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
    lst = generate_list(spec, seed=1)
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
