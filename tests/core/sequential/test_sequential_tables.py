"""Classical constants against Jennison & Turnbull (2000) and structural properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from trialdesk.core.design import DesignInputError
from trialdesk.core.sequential import crossing_probabilities, group_sequential_design

# Jennison C, Turnbull BW. Group Sequential Methods with Applications to Clinical Trials,
# 2000. Table 2.1: Pocock constants C_P(K, alpha); Table 2.3: O'Brien-Fleming constants
# C_B(K, alpha); two-sided alpha, K = 1..10 equally spaced looks. Printed to 3 decimals, so
# the tolerance is the rounding half-unit plus 1e-4.
POCOCK = {
    0.01: [2.576, 2.772, 2.873, 2.939, 2.986, 3.023, 3.053, 3.078, 3.099, 3.117],
    0.05: [1.960, 2.178, 2.289, 2.361, 2.413, 2.453, 2.485, 2.512, 2.535, 2.555],
    0.10: [1.645, 1.875, 1.992, 2.067, 2.122, 2.164, 2.197, 2.225, 2.249, 2.270],
}
OBRIEN_FLEMING = {
    0.01: [2.576, 2.580, 2.595, 2.609, 2.621, 2.631, 2.640, 2.648, 2.654, 2.660],
    0.05: [1.960, 1.977, 2.004, 2.024, 2.040, 2.053, 2.063, 2.072, 2.080, 2.087],
    0.10: [1.645, 1.678, 1.710, 1.733, 1.751, 1.765, 1.776, 1.786, 1.794, 1.801],
}
TABLE_TOL = 6e-4


@pytest.mark.parametrize("alpha", sorted(POCOCK))
def test_pocock_constants_table_2_1(alpha: float) -> None:
    got = [group_sequential_design(k=k, alpha=alpha, sided=2, spending="P") for k in range(1, 11)]
    for k, design in enumerate(got, start=1):
        assert design.critical_values == pytest.approx([POCOCK[alpha][k - 1]] * k, abs=TABLE_TOL)


@pytest.mark.parametrize("alpha", sorted(OBRIEN_FLEMING))
def test_obrien_fleming_constants_table_2_3(alpha: float) -> None:
    for k in range(1, 11):
        design = group_sequential_design(k=k, alpha=alpha, sided=2, spending="OF")
        c = OBRIEN_FLEMING[alpha][k - 1]
        expected = [c * math.sqrt(k / j) for j in range(1, k + 1)]
        assert design.critical_values == pytest.approx(expected, abs=TABLE_TOL * math.sqrt(k))


@pytest.mark.parametrize("spending", ["OF", "P", "HP", "asOF", "asP", "asKD:2", "asHSD:-4"])
@pytest.mark.parametrize("sided", [1, 2])
def test_total_alpha_is_spent_exactly(spending: str, sided: int) -> None:
    alpha = 0.025 * sided
    design = group_sequential_design(
        information_fraction=[0.3, 0.55, 1], alpha=alpha, sided=sided, spending=spending
    )
    assert design.alpha_spent[-1] == pytest.approx(alpha, abs=1e-10)
    assert design.power[-1] == pytest.approx(0.8, abs=1e-9)


def test_single_look_is_the_fixed_design() -> None:
    design = group_sequential_design(k=1, alpha=0.025, spending="asOF")
    assert design.critical_values[0] == pytest.approx(norm.isf(0.025), abs=1e-10)
    assert design.inflation_factor == pytest.approx(1.0, abs=1e-9)


def test_two_stage_two_sided_equals_one_sided_half_alpha() -> None:
    two = group_sequential_design(k=2, alpha=0.05, sided=2, spending="asOF")
    one = group_sequential_design(k=2, alpha=0.025, sided=1, spending="asOF")
    assert two.critical_values == pytest.approx(one.critical_values, abs=1e-9)


def test_non_binding_futility_keeps_efficacy_bounds_and_lowers_type_one_error() -> None:
    plain = group_sequential_design(k=3, spending="asOF")
    fut = group_sequential_design(k=3, spending="asOF", futility="bsOF", binding=False)
    assert fut.critical_values == pytest.approx(plain.critical_values, abs=1e-12)
    with_stops = sum(fut.crossing_probabilities(0.0).upper)
    assert with_stops < 0.025
    assert sum(fut.crossing_probabilities(0.0, with_futility=False).upper) == pytest.approx(0.025)


def test_binding_futility_spends_alpha_with_futility_stopping() -> None:
    fut = group_sequential_design(k=4, spending="asP", futility="bsP", binding=True)
    assert fut.rejection_probability(0.0) == pytest.approx(0.025, abs=1e-10)
    assert fut.rejection_probability(fut.drift) == pytest.approx(0.8, abs=1e-8)


def test_crossing_probabilities_of_a_single_look_are_normal_tails() -> None:
    p = crossing_probabilities(upper=[1.96], lower=[-1.0], information_fraction=[1.0], drift=0.5)
    assert p.upper[0] == pytest.approx(norm.sf(1.96 - 0.5), abs=1e-14)
    assert p.lower[0] == pytest.approx(norm.cdf(-1.5), abs=1e-14)


def test_k_equal_20_works_and_21_is_rejected() -> None:
    assert group_sequential_design(k=20, spending="asP").k == 20
    with pytest.raises(DesignInputError, match="K must be an integer from 1 to 20"):
        group_sequential_design(k=21)
    with pytest.raises(DesignInputError, match="K = 21"):
        group_sequential_design(information_fraction=[(i + 1) / 21 for i in range(21)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 2, "alpha": 1.0}, "alpha = 1.0"),
        ({"k": 2, "alpha": 0.5}, "a 1-sided alpha must be below 0.5"),
        ({"k": 2, "alpha": 0.0}, "alpha = 0.0"),
        ({"k": 2, "alpha": 0.05, "beta": 0.96}, "power 1 - beta must exceed"),
        ({"information_fraction": [0.5, 0.4, 1]}, "strictly increasing"),
        ({"information_fraction": [0.5, 0.5, 1]}, "strictly increasing"),
        ({"information_fraction": [0.3, 0.6]}, "last fraction must be 1"),
        ({"information_fraction": [0.0, 1]}, "first fraction must be above 0"),
        ({"k": 0}, "k = 0"),
        ({"k": 2, "sided": 3}, "sided = 3"),
        ({"k": 2, "spending": "OBF"}, "spending = 'OBF'"),
        ({"k": 2, "spending": "asKD"}, "asKD needs rho"),
        ({"k": 2, "spending": "asKD:-1"}, "rho must be positive"),
        ({"k": 2, "futility": "asOF"}, "futility = 'asOF'"),
        ({"k": 2, "futility": "bsOF", "sided": 2, "alpha": 0.05}, "sided = 1 only"),
        ({"k": 2, "futility": "bsOF", "spending": "OF"}, "needs an α-spending function"),
        ({"k": 2, "spending": "HP", "alpha": 0.001}, "Haybittle-Peto"),
    ],
)
def test_impossible_designs_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(DesignInputError, match=message):
        group_sequential_design(**kwargs)


def test_drift_for_means_gives_fixed_design_power() -> None:
    from trialdesk.core.sequential import drift_for_means

    drift = drift_for_means(effect=0.67, n_per_group=36)
    design = group_sequential_design(k=1, alpha=0.05, sided=2)
    assert design.rejection_probability(drift) == pytest.approx(norm.sf(1.959964 - drift), abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.floats(0.05, 0.95), min_size=1, max_size=4, unique=True),
    spending=st.sampled_from(["asOF", "asP", "asKD:2", "asHSD:-2", "OF", "P"]),
    sided=st.sampled_from([1, 2]),
)
def test_any_timing_spends_alpha_and_reaches_power(
    cuts: list[float], spending: str, sided: int
) -> None:
    t = sorted(round(c, 3) for c in set(cuts))
    t = [x for i, x in enumerate(t) if i == 0 or x - t[i - 1] > 0.01] + [1.0]
    design = group_sequential_design(
        information_fraction=t, sided=sided, alpha=0.025 * sided, spending=spending
    )
    assert design.alpha_spent[-1] == pytest.approx(0.025 * sided, abs=1e-9)
    assert design.power[-1] == pytest.approx(0.8, abs=1e-8)
    assert design.inflation_factor >= 1.0 - 1e-6  # integration error ~1e-8 at extreme bounds
    assert all(c > 0 for c in design.critical_values)
