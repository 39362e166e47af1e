"""The design report, built from plain inputs (no protocol file needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trialdesk.reports.design_report import DesignInputs, SafetyRuleInputs, build_report

SEED = DesignInputs(
    study_id="NCT07183384",
    title="seed",
    test="t",
    alpha=0.05,
    sided=2,
    power=0.8,
    dropout=0.1,
    n_per_arm=40,
    effect=0.67,
    information_fractions=(0.5, 1.0),
    efficacy_spending="asOF",
    futility_spending="bsOF",
    safety_rules=(
        SafetyRuleInputs(
            code="pocock",
            label="Pocock-type p0 = 0.10, alpha = 0.05",
            kind="count_boundary",
            n_max=40,
            steps=((2, 2), (5, 3), (10, 4), (15, 5), (21, 6), (27, 7), (33, 8), (40, 9)),
        ),
        SafetyRuleInputs(
            code="bayes",
            label="Bayes",
            kind="beta_binomial",
            n_max=40,
            prior_mean=0.007,
            prior_n=10,
            threshold=0.1,
            posterior_probability=0.9,
            min_n=3,
        ),
    ),
)


def test_seed_report_numbers() -> None:
    report = build_report(SEED)
    assert report.fixed.n_enrolled == (40, 40)
    assert report.sample_size_ok
    # one-sided 0.025 asOF + bsOF (non-binding) at t = 0.5: inflation 1.0560 (rpact)
    assert report.design.inflation_factor == pytest.approx(1.0560, abs=1e-4)
    assert report.design.critical_values == pytest.approx((2.9626, 1.9686), abs=1e-4)
    assert report.power_with_interim == pytest.approx(0.779, abs=2e-3)
    assert report.n_evaluable_needed == 38
    assert report.n_per_arm_needed == 43
    assert not report.interim_ok


def test_power_with_interim_agrees_with_rpact() -> None:
    # rpact 3.3.4: getPowerMeans(<protocol design>, alternative = 0.67, stDev = 1,
    # maxNumberOfSubjects = 72) for the 36 evaluable per arm, and getSampleSizeMeans(...,
    # alternative = 0.67)$maxNumberOfSubjects = 75.94 -> 38 evaluable per arm
    ref = json.loads((Path(__file__).parents[2] / "reference" / "rpact_means.json").read_text())
    power = next(
        p
        for p in ref["power"]
        if p["design"] == "protocol" and p["max_n"] == 72 and p["alternative"] == 0.67
    )
    size = next(
        s for s in ref["sample_size"] if s["design"] == "protocol" and s["alternative"] == 0.67
    )
    report = build_report(SEED)
    assert report.power_with_interim == pytest.approx(power["power"], abs=1e-6)
    assert report.n_evaluable_needed == -(-size["max_n"] // 2)


def test_protocol_count_boundary_operating_characteristics() -> None:
    # clinical notes §4.2(b): P(stop) 0.05 at 10 %, 0.50 at 20 %, 0.92 at 30 %
    pocock = build_report(SEED).safety[0]
    stop = {oc.rate: oc.probability_stop for oc in pocock.characteristics}
    assert stop[0.1] == pytest.approx(0.0496, abs=1e-4)
    assert stop[0.2] == pytest.approx(0.4996, abs=1e-4)
    assert stop[0.3] == pytest.approx(0.9158, abs=1e-4)
    assert pocock.ranges()[0] == ("1–2", "≥ 2")


def test_no_interim() -> None:
    report = build_report(
        DesignInputs(
            study_id="X",
            title="t",
            test="t",
            alpha=0.05,
            sided=2,
            power=0.8,
            dropout=0.0,
            n_per_arm=30,
            effect=0.8,
        )  # fmt: skip
    )
    assert report.design is None
    assert report.n_per_arm_needed is None


def test_report_states_guessability_after_one_code_break(tmp_path) -> None:
    # Hand computation (see core/randomization/guess.py): 1:1, sizes {2, 4}: a member of the
    # revealed participant's block 7/9, the next participant in the stratum 2/3.
    import dataclasses
    from fractions import Fraction

    report = build_report(dataclasses.replace(SEED, block_sizes=(2, 4)))
    g = report.guessability
    assert (g.partner, g.next_neighbour, g.baseline) == (Fraction(7, 9), Fraction(2, 3), 0.5)
    assert build_report(SEED).guessability.partner == 1  # blocks of 2 only: certain
    from trialdesk.reports.design_report import render_report

    html = render_report(report, tmp_path)["html"].read_text(encoding="utf-8")
    assert "after an emergency code break" in html and "0.778 (7/9)" in html
    assert "0.667 (2/3)" in html


def test_the_protocols_safety_rules_against_r(tmp_path) -> None:
    """Issue 12: the exact probability that each live rule pauses enrolment at true related-SAE
    rates of 0.7, 5, 10, 20 and 30 %, and the Bayesian rule's posterior (mean, 90 % interval)
    at each count — against base R (tests/reference/safety_rules_reference.R)."""
    import json
    from pathlib import Path

    from trialdesk.reports.design_report import render_report

    ref = json.loads(
        (Path(__file__).parents[2] / "reference" / "safety_rules_reference.json").read_text()
    )
    report = build_report(SEED)
    rules = {s.rule.code: s for s in report.safety}
    for code, name in (("pocock", "related_sae_count"), ("bayes", "related_sae_bayes")):
        ocs = {round(oc.rate, 4): oc.probability_stop for oc in rules[code].characteristics}
        for rate, expected in zip(ref["rates"], ref[name]["probability_fire"], strict=True):
            assert ocs[round(rate, 4)] == pytest.approx(expected, rel=1e-9, abs=1e-12), (code, rate)
    posterior = rules["bayes"].posterior
    assert [p.events for p in posterior] == list(range(10))  # 9 of 40 fires the rule
    for row, want in zip(posterior, ref["related_sae_bayes"]["posterior_at_n_max"], strict=True):
        assert row.n == want["n"] == 40
        assert row.mean == pytest.approx(want["mean"], rel=1e-12)
        assert row.lower == pytest.approx(want["lower"], rel=1e-7, abs=1e-15)
        assert row.upper == pytest.approx(want["upper"], rel=1e-9)
        assert row.p_exceeds == pytest.approx(want["p_exceeds"], rel=1e-9)
    assert rules["pocock"].posterior == ()
    files = render_report(report, tmp_path)
    html = files["html"].read_text()
    assert files["safety_oc"].stat().st_size > 10_000
    assert "90 % credible interval" in html and "0.1814" in html  # mean at 9 of 40
