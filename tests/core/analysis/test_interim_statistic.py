"""The interim's two-sample statistic against an independent computation (numpy/scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trialdesk.core.analysis import compute_interim, monitoring_design, two_sample_z
from trialdesk.core.sequential import conditional_power, drift_for_means, interim_analysis


def _design():
    return monitoring_design(
        information_fractions=(0.5, 1.0),
        alpha=0.05,
        sided=2,
        power=0.8,
        efficacy_spending="asOF",
        futility_spending="bsOF",
        binding=False,
    )


def test_two_sample_z_by_hand():
    rng = np.random.default_rng(12)
    t, c = rng.normal(0.6, 1.1, 21), rng.normal(0.0, 0.9, 17)
    s = two_sample_z(t, c)
    tt = stats.ttest_ind(t, c, equal_var=True)
    sp = math.sqrt(((20) * t.var(ddof=1) + 16 * c.var(ddof=1)) / 36)
    assert s.estimate == pytest.approx(t.mean() - c.mean(), rel=1e-13)
    assert s.pooled_sd == pytest.approx(sp, rel=1e-13)
    assert s.standard_error == pytest.approx(sp * math.sqrt(1 / 21 + 1 / 17), rel=1e-13)
    assert s.z == pytest.approx(float(tt.statistic), rel=1e-12)


def test_two_sample_z_refuses_too_few_or_constant():
    with pytest.raises(ValueError):
        two_sample_z([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        two_sample_z([1.0, 1.0], [1.0, 1.0])


def test_monitoring_design_is_the_protocols_rpact_design():
    design, converted = _design()
    assert converted and design.sided == 1 and design.alpha == pytest.approx(0.025)
    # tests/reference: rpact asOF/bsOF at t = 0.5, one-sided 0.025 (the protocol's note)
    assert design.critical_values[0] == pytest.approx(2.963, abs=5e-4)
    assert design.critical_values[1] == pytest.approx(1.969, abs=5e-4)


def test_compute_interim_at_an_observed_fraction():
    rng = np.random.default_rng(3)
    t, c = rng.normal(0.7, 1.0, 19), rng.normal(0.0, 1.0, 18)
    design, _ = _design()
    out = compute_interim(
        treatment=t, control=c, design=design, n_planned_max=80, planned_effect=0.67
    )
    s = two_sample_z(t, c)
    assert out.information_fraction == pytest.approx(37 / 80)
    ref = interim_analysis(
        design=design,
        information_fraction=[37 / 80],
        z=s.z,
        estimate=s.estimate,
        standard_error=s.standard_error,
    )
    assert out.result.critical_value == pytest.approx(ref.critical_value)
    # the bound moves with the fraction: above the planned 2.963 at t < 0.5 (O'Brien-Fleming)
    assert out.result.critical_value > design.critical_values[0]
    assert out.result.decision == ref.decision
    cp = conditional_power(
        design=ref.design, stage=1, z=s.z, drift=drift_for_means(effect=0.67, n_per_group=40)
    )
    assert out.conditional_power_planned_effect == pytest.approx(cp)
    lo, hi = out.result.repeated_ci
    assert lo == pytest.approx(s.estimate - ref.critical_value * s.standard_error)
    assert hi == pytest.approx(s.estimate + ref.critical_value * s.standard_error)
    d = out.to_dict()
    assert d["n_treatment"] == 19 and d["n_control"] == 18 and d["n_planned_max"] == 80


def test_compute_interim_refuses_a_fraction_past_the_next_look():
    design, _ = _design()
    with pytest.raises(ValueError):
        compute_interim(
            treatment=list(range(40)),
            control=list(range(41)),
            design=design,
            n_planned_max=80,
            planned_effect=0.67,
        )
