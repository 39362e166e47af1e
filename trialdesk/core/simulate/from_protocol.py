"""Simulator defaults read from the protocol: sample size, interim design, analysis, safety."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scipy import stats

from trialdesk.core.simulate.boundary import (
    SafetyRule,
    SimulationBoundary,
    boundary_from_design,
    count_rule,
)

if TYPE_CHECKING:
    from trialdesk.core.protocol import Protocol

__all__ = ["ProtocolDefaults", "protocol_defaults", "safety_rule_from_protocol"]

_ANALYSIS_OF_METHOD = {"ancova": "ancova", "t_test": "t", "mmrm": "ancova"}


@dataclass(frozen=True)
class ProtocolDefaults:
    boundary: SimulationBoundary
    analysis: str
    effect: float
    dropout: float
    safety_rule: SafetyRule | None
    safety_rule_code: str | None
    n_per_arm: int


def protocol_defaults(protocol: Protocol, *, safety_rule: str | None = "") -> ProtocolDefaults:
    """Boundary, analysis, planned effect, dropout and safety rule of ``protocol``.

    ``safety_rule`` picks a rule of ``protocol.safety_rules`` by code; "" takes the first
    rule, None none.
    """
    ss = protocol.sample_size
    n_per_arm = ss.n_per_arm
    boundary = boundary_from_protocol(protocol)
    code = None
    rule = None
    if safety_rule is not None and protocol.safety_rules:
        code = safety_rule or next(iter(protocol.safety_rules))
        rule = safety_rule_from_protocol(protocol, code)
    effect = ss.effect.standardized
    if effect is None and ss.effect.mean_difference is not None and ss.effect.sd:
        effect = ss.effect.mean_difference / ss.effect.sd
    return ProtocolDefaults(
        boundary=boundary,
        analysis=_primary_analysis(protocol),
        effect=float(effect if effect is not None else 0.0),
        dropout=float(ss.dropout),
        safety_rule=rule,
        safety_rule_code=code,
        n_per_arm=n_per_arm,
    )


def boundary_from_protocol(protocol: Protocol, *, n_max: int | None = None) -> SimulationBoundary:
    """The protocol's interim design as computed by the design module."""
    from trialdesk.core.sequential import group_sequential_design

    ss, interim = protocol.sample_size, protocol.interim
    n_max = n_max or 2 * ss.n_per_arm
    name = f"{interim.efficacy_spending} {interim.information_fractions}"
    if interim.efficacy_spending == "none" or len(interim.information_fractions) == 1:
        crit = stats.norm.isf(ss.alpha / ss.sides)
        return SimulationBoundary(
            critical_values=(float(crit),), n_per_look=(n_max,), sided=ss.sides, name=name
        )
    alpha, sided = ss.alpha, ss.sides
    if sided == 2 and interim.futility_spending:
        # A futility bound has a direction: test the two-sided level as one-sided α/2 for a
        # benefit of the experimental arm (same efficacy bounds for two looks; notes §3).
        alpha, sided = alpha / 2.0, 1
        name += f", one-sided α = {alpha:g} with {interim.futility_spending} futility"
        if not interim.binding_futility:
            name += " (non-binding)"
    design = group_sequential_design(
        information_fraction=interim.information_fractions,
        alpha=alpha,
        beta=1.0 - ss.power,
        sided=sided,
        spending=interim.efficacy_spending,
        futility=interim.futility_spending,
        binding=interim.binding_futility,
    )
    return boundary_from_design(design, n_max=n_max, name=name)


def _primary_analysis(protocol: Protocol) -> str:
    primary = {c for c, e in protocol.endpoints.items() if e.kind == "primary"}
    for analysis in protocol.analyses.values():
        if analysis.endpoint in primary and analysis.method in _ANALYSIS_OF_METHOD:
            return _ANALYSIS_OF_METHOD[analysis.method]
    return "t" if protocol.sample_size.test == "t" else "z"


def safety_rule_from_protocol(protocol: Protocol, code: str) -> SafetyRule:
    """The protocol's rule ``code`` as a simulator rule, looked at after every participant."""
    try:
        rule = protocol.safety_rules[code]
    except KeyError:
        known = ", ".join(protocol.safety_rules) or "none"
        raise ValueError(f"safety rule {code!r} is not in the protocol (known: {known})") from None
    arm = _arm(protocol, rule.arm)
    n_arm = protocol.sample_size.n_per_arm
    n_max = 2 * n_arm if arm == "pooled" else n_arm
    if rule.type == "beta_binomial":
        return SafetyRule.beta_binomial(
            threshold_rate=rule.threshold,
            posterior_probability=rule.posterior_probability,
            every=1,
            n_max_per_arm=n_max,
            prior_a=rule.prior_a,
            prior_b=rule.prior_b,
            arm=arm,
            min_n=rule.min_n,
        )
    steps = [(s.n_max, s.events) for s in rule.boundary]
    return count_rule(steps=steps, n_max=n_max, arm=arm)


def _arm(protocol: Protocol, code: str | None) -> str:
    if code is None:
        return "pooled"
    arm = protocol.arm(code)
    return "treatment" if arm.type == "experimental" else "control"


def fixed_design_power(*, effect: float, n_per_arm: int, alpha: float, sides: int) -> float:
    """Power of the two-sample t-test (both tails), for the table's reference column."""
    df = 2 * n_per_arm - 2
    nc = effect * math.sqrt(n_per_arm / 2.0)
    crit = stats.t.isf(alpha / sides, df)
    power = stats.nct.sf(crit, df, nc)
    if sides == 2:
        power += stats.nct.cdf(-crit, df, nc)
    return float(power)
