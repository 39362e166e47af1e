"""Acceptance: simulated type I error, power and expected n agree with the exact
numerical-integration values of the design module (trialdesk.core.sequential) within 3 Monte
Carlo standard errors, for several designs, at fixed seeds and small replicate counts."""

from __future__ import annotations

import math

import pytest
from simulate_exact_reference import exact_reject_per_look

from trialdesk.core.sequential import crossing_probabilities, group_sequential_design
from trialdesk.core.simulate import Scenario, boundary_from_design, simulate_scenarios

# (design arguments, maximum total n chosen so that every look has an even n).
DESIGNS = {
    "OF_2": (dict(information_fraction=(0.5, 1.0), spending="OF"), 80),
    "P_3": (dict(k=3, spending="P"), 90),
    "asOF_bsOF_binding": (
        dict(information_fraction=(0.5, 1.0), spending="asOF", futility="bsOF", binding=True),
        80,
    ),
    "asOF_bsOF_nonbinding": (
        dict(information_fraction=(0.5, 1.0), spending="asOF", futility="bsOF"),
        80,
    ),
    "asOF_two_sided": (dict(information_fraction=(0.5, 1.0), spending="asOF", sided=2), 80),
    "asKD3_4_unequal": (dict(information_fraction=(0.3, 0.6, 0.8, 1.0), spending="asKD:3"), 100),
}

REPS = 100_000


def _design(name: str):  # type: ignore[no-untyped-def]
    kwargs, n_max = DESIGNS[name]
    alpha = 0.05 if kwargs.get("sided") == 2 else 0.025
    design = group_sequential_design(alpha=alpha, beta=0.2, **kwargs)
    return design, boundary_from_design(design, n_max=n_max)


def _exact(design, boundary, drift: float, *, with_futility: bool = True) -> list[float]:  # type: ignore[no-untyped-def]
    lower = design.lower_bounds
    if not with_futility and design.sided == 1:
        lower = (-math.inf,) * (design.k - 1) + (design.critical_values[-1],)
    cp = crossing_probabilities(
        upper=design.critical_values,
        lower=lower,
        information_fraction=boundary.information_fractions,
        drift=drift,
    )
    if design.sided == 2:
        return [u + lo for u, lo in zip(cp.upper, cp.lower, strict=True)]
    return list(cp.upper)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_type_one_error_and_power_agree_with_numerical_integration(name: str) -> None:
    design, boundary = _design(name)
    scale = math.sqrt(boundary.n_max / 4.0)  # drift = θ √I_max, I_max = n_max / (4 σ²)
    effects = (0.0, design.drift / scale)  # H0, and the alternative with 80 % power
    results = simulate_scenarios(
        boundary=boundary,
        scenarios=[Scenario(effect=e) for e in effects],
        replicates=REPS,
        seed=4,
        workers=1,
    )
    for effect, res in zip(effects, results, strict=True):
        exact = _exact(design, boundary, effect * scale)
        assert abs(res.reject - sum(exact)) < 3 * res.mcse_reject, (effect, res.reject, exact)
        for sim, ex, se in zip(res.reject_per_look, exact, res.mcse_reject_per_look, strict=True):
            assert abs(sim - ex) < 3 * max(se, 1e-4)
        nonbinding = sum(_exact(design, boundary, effect * scale, with_futility=False))
        assert abs(res.reject_ignoring_futility - nonbinding) < 3 * (
            res.mcse_reject_ignoring_futility
        )


def test_the_alternative_has_the_designed_power() -> None:
    design, boundary = _design("OF_2")
    (res,) = simulate_scenarios(
        boundary=boundary,
        scenarios=[Scenario(effect=design.drift / math.sqrt(20.0))],
        replicates=REPS,
        seed=5,
        workers=1,
    )
    assert abs(res.reject - 0.8) < 3 * res.mcse_reject


@pytest.mark.parametrize("name", ["OF_2", "P_3", "asOF_two_sided"])
def test_expected_sample_size_agrees_with_numerical_integration(name: str) -> None:
    design, boundary = _design(name)
    scale = math.sqrt(boundary.n_max / 4.0)
    (res,) = simulate_scenarios(
        boundary=boundary,
        scenarios=[Scenario(effect=design.drift / scale)],
        replicates=REPS,
        seed=6,
        workers=1,
    )
    cp = crossing_probabilities(
        upper=design.critical_values,
        lower=design.lower_bounds,
        information_fraction=boundary.information_fractions,
        drift=design.drift,
    )
    exact_n = sum(n * p for n, p in zip(boundary.n_per_look, cp.stop, strict=True))
    assert abs(res.expected_n - exact_n) < 3 * res.mcse_expected_n


def test_independent_reference_agrees_with_the_design_module() -> None:
    for name in ("OF_2", "P_3", "asOF_bsOF_binding", "asOF_two_sided"):
        design, boundary = _design(name)
        drift = design.drift
        mine = exact_reject_per_look(
            critical_values=boundary.critical_values,
            n_per_look=boundary.n_per_look,
            effect=drift / math.sqrt(boundary.n_max / 4.0),
            futility_bounds=boundary.futility_bounds,
            sided=boundary.sided,
        )
        assert mine == pytest.approx(_exact(design, boundary, drift), abs=2e-6)


@pytest.mark.parametrize("rate", [0.02, 0.1, 0.2])
def test_safety_stopping_agrees_with_the_safety_module_exact_values(rate: float) -> None:
    from trialdesk.core.safety_monitoring import bayesian_boundary, pocock_count_boundary
    from trialdesk.core.simulate import SafetyRule, SimulationBoundary

    # The protocol's two rules for related SAEs in the exosome arm, looked at after every
    # participant up to 39 (a stop at the 40th would coincide with the end of the trial).
    rules = [
        bayesian_boundary(
            checkpoints=range(3, 40), threshold=0.10, posterior_probability=0.90,
            prior_mean=0.007, prior_sample_size=10,
        ),
        pocock_count_boundary(checkpoints=range(1, 40), p0=0.10, alpha=0.05),
    ]  # fmt: skip
    ours = SafetyRule.beta_binomial(
        threshold_rate=0.10, posterior_probability=0.90, every=1, n_max_per_arm=39,
        prior_a=0.07, prior_b=9.93, min_n=3,
    )  # fmt: skip
    assert ours.stop_counts == rules[0].stop_counts
    single_look = SimulationBoundary(critical_values=(1.96,), n_per_look=(80,))
    for boundary in rules:
        (res,) = simulate_scenarios(
            boundary=single_look,
            scenarios=[Scenario(sae_rate=(0.0, rate))],
            replicates=40_000,
            seed=7,
            safety_rule=SafetyRule.from_boundary(boundary),
            workers=1,
        )
        (oc,) = boundary.operating_characteristics([rate])
        assert abs(res.stop_safety - oc.probability_stop) < 3 * max(res.mcse_stop_safety, 1e-4)
        assert abs(
            res.expected_n - 2 * oc.expected_n - 2 * (40 - 39) * (1 - oc.probability_stop)
        ) < (3 * res.mcse_expected_n + 0.01)
