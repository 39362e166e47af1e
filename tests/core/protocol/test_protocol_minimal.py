"""A minimal protocol, valid as written, and rules best shown on it."""

from __future__ import annotations

import pytest

from trialdesk.core.protocol import ProtocolError, load_protocol_text

MINIMAL = """\
study:
  id: NCT00000001
  title: Minimal study
  short_title: MIN
  sponsor: Nobody
  phase: "2"
  protocol_version: "0.1"
  registration_date: 2025-01-01
  target_enrollment: 20
  masking: double
  population: {sex: all, min_age: 18, max_age: 65}
sites:
  "01": {name: Site, institution: Uni, city: Bandung, country: Indonesia, latitude: -6.9, longitude: 107.6}
routes:
  IV: {label: {en: IV, id: IV}}
arms:
  A: {name: {en: A, id: A}, description: {en: A, id: A}, type: experimental, ratio: 1}
  B: {name: {en: B, id: B}, description: {en: B, id: B}, type: placebo_comparator, ratio: 1}
allocation:
  method: permuted_block
  block_sizes: [4]
visits:
  D0:
    label: {en: Day 0, id: Hari 0}
    day: 0
    randomization: true
    dosing: true
    forms: [base]
  D7:
    label: {en: Day 7, id: Hari 7}
    day: 7
    window_before: 1
    window_after: 1
    forms: [base]
consent_versions:
  V1: {label: v1, valid_from: 2025-01-01}
forms:
  base:
    label: {en: Base, id: Dasar}
    fields:
      a: {type: decimal, label: {en: a, id: a}}
      b: {type: decimal, label: {en: b, id: b}, derived: a * 2}
  ae:
    label: {en: AE, id: KTD}
    log: true
    repeating: true
    fields:
      serious: {type: boolean, label: {en: Serious, id: Serius}}
eligibility:
  I1: {kind: inclusion, label: {en: ok, id: ok}, expression: "True"}
endpoints:
  main: {kind: primary, measure: a, description: a, time_frame: day 7, field: base.a, visits: [D7]}
analyses:
  main: {endpoint: main, method: t_test, outcome: base.a, population: itt, description: t}
sample_size:
  test: t
  alpha: 0.05
  sides: 2
  power: 0.8
  dropout: 0
  n_per_arm: 10
  endpoint: main
  effect: {standardized: 1.3}
interim:
  information_fractions: [1.0]
  efficacy_spending: none
  monitoring_body: DSMB
safety_rules:
  sae:
    type: count_boundary
    label: SAE
    event: {form: ae, expression: serious, label: SAE}
    boundary:
      - {n_max: 5, events: 2}
      - {n_max: 10, events: 3}
    action: dsmb_review
"""


def _problems(old: str, new: str) -> list[tuple[str, int | None, str]]:
    assert old in MINIMAL, old
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(MINIMAL.replace(old, new, 1), source="min.yaml")
    return [tuple(p) for p in info.value.problems]


def test_minimal_protocol_is_valid() -> None:
    p = load_protocol_text(MINIMAL)
    assert p.derive("base", {"a": 2.0}) == {"b": 4.0}
    assert p.schedule_of_activities() == {"D0": ("base",), "D7": ("base",)}


def test_derivation_cycle() -> None:
    problems = _problems(
        "derived: a * 2}",
        "derived: c * 2}\n      c: {type: decimal, label: {en: c, id: c}, derived: b + 1}",
    )
    assert (
        "forms.base.fields",
        40,
        "derived fields of 'base' depend on each other: ['b', 'c']",
    ) in problems


def test_self_reference_is_a_cycle() -> None:
    problems = _problems("derived: a * 2}", "derived: b * 2}")
    assert any("depend on each other: ['b']" in m for _, _, m in problems)


def test_dosing_visit_must_be_day_zero() -> None:
    problems = _problems("    day: 0\n", "    day: -1\n")
    assert ("visits.D0.day", 25, "the dosing visit 'D0' must be day 0 (day 0 = dosing)") in problems


def test_visits_in_day_order() -> None:
    problems = _problems("    day: 7\n", "    day: -3\n")
    assert any(p == "visits.D7.day" and "must come after 'D0'" in m for p, _, m in problems)


def test_form_never_collected() -> None:
    problems = _problems("    log: true\n", "")
    assert (
        "forms.ae",
        43,
        "form 'ae' is not collected at any visit (list it under a visit's forms, or mark it log: true)",
    ) in problems


def test_count_boundary_must_not_decrease() -> None:
    problems = _problems("{n_max: 10, events: 3}", "{n_max: 4, events: 1}")
    paths = {p for p, _, _ in problems}
    assert {"safety_rules.sae.boundary.1.n_max", "safety_rules.sae.boundary.1.events"} <= paths


def test_minimization_needs_probability() -> None:
    problems = _problems(
        "  method: permuted_block\n  block_sizes: [4]\n", "  method: minimization\n"
    )
    assert (
        "allocation.minimization_probability",
        19,
        "minimization needs minimization_probability",
    ) in problems


def test_safety_event_on_unknown_form() -> None:
    problems = _problems("event: {form: ae,", "event: {form: aes,")
    assert ("safety_rules.sae.event.form", 72, "unknown form 'aes'") in problems


def test_primary_endpoint_needs_an_analysis() -> None:
    problems = _problems("  main: {endpoint: main,", "  other: {endpoint: main2,")
    messages = [m for _, _, m in problems]
    assert "primary endpoint 'main' has no analysis in analyses" in messages
    assert any("unknown endpoint 'main2'" in m for m in messages)


def test_unknown_key_in_discriminated_union() -> None:
    problems = _problems("    label: SAE\n", "    label: SAE\n    prior_mean: 0.1\n")
    assert any(
        p == "safety_rules.sae.prior_mean" and "unknown key 'prior_mean'" in m
        for p, _, m in problems
    )
