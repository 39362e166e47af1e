"""ROC behaviour beyond the pROC references: hand-computed values, the quoted-performance
comparison and input errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from trialdesk.core.analysis.roc import (
    PROTOCOL_MIR126,
    QuotedPerformance,
    clopper_pearson_interval,
    compare_with_quoted,
    delong_test,
    optimal_cutoffs,
    performance_at,
    roc_curve,
    roc_from_response,
    wilson_interval,
)
from trialdesk.core.design import DesignInputError

REF = json.loads((Path(__file__).parents[2] / "reference" / "analysis_roc.json").read_text())
DERIVATION = next(c for c in REF["curves"] if c["name"] == "derivation_cel39")


def _derivation():
    return roc_curve(
        controls=[float(x) for x in DERIVATION["controls"]],
        cases=[float(x) for x in DERIVATION["cases"]],
    )


def test_auc_counts_ties_half_by_hand() -> None:
    # 3 controls x 4 cases = 12 pairs; the tie (2, 2) counts 1/2: AUC = (1.5 + 3 + 3 + 0) / 12
    controls, cases = [1.0, 2.0, 3.0], [2.0, 4.0, 5.0, 0.5]
    wins = sum((x > y) + 0.5 * (x == y) for x in cases for y in controls)
    roc = roc_curve(controls=controls, cases=cases, direction="<")
    assert roc.auc == pytest.approx(wins / 12, rel=1e-15)
    # the placements of DeLong: for each case, the share of controls below (ties 1/2)
    assert roc.case_placements == pytest.approx([0.5, 1.0, 1.0, 0.0])


def test_direction_auto_uses_medians_and_explicit_direction_keeps_auc_below_half() -> None:
    auto = roc_curve(controls=[5, 6, 7], cases=[1, 2, 3])
    assert auto.direction == ">" and auto.auc == 1.0
    forced = roc_curve(controls=[5, 6, 7], cases=[1, 2, 3], direction="<")
    assert forced.direction == "<" and forced.auc == 0.0
    assert "chosen by medians" in auto.summary()


def test_thresholds_are_midpoints_and_the_rule_is_value_at_or_above() -> None:
    roc = roc_curve(controls=[1.0, 1.04], cases=[1.12, 1.3], direction="<")
    assert roc.thresholds == pytest.approx((-math.inf, 1.02, 1.08, 1.21, math.inf))
    (best,) = optimal_cutoffs(roc=roc)
    assert best.threshold == pytest.approx(1.08)  # pROC's midpoint, not the observed 1.12
    assert best.youden_index == 1.0
    at_observed = performance_at(roc=roc, threshold=1.12)  # classification is the same
    assert (at_observed.sensitivity, at_observed.specificity) == (1.0, 1.0)


def test_binomial_intervals_by_hand() -> None:
    # Wilson for 6/7 at 95 %: (p + z²/2n ± z sqrt(p q / n + z²/4n²)) / (1 + z²/n)
    z = 1.959963984540054
    p, n = 6 / 7, 7
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_interval(successes=6, n=7) == pytest.approx((centre - half, centre + half))
    assert clopper_pearson_interval(successes=0, n=10)[0] == 0.0
    assert clopper_pearson_interval(successes=10, n=10)[1] == 1.0
    assert clopper_pearson_interval(successes=0, n=10)[1] == pytest.approx(1 - 0.025**0.1)


def test_compare_with_quoted_miR126_performance() -> None:
    roc = _derivation()
    (best,) = optimal_cutoffs(roc=roc, method="youden")
    result = compare_with_quoted(roc=roc, threshold=best.threshold, threshold_from_data=True)
    checks = {c.quantity: c for c in result.checks}
    # sensitivity 30/42 = 0.714 (Wilson 0.564-0.828): the quoted 0.8571 lies above the CI
    assert checks["sensitivity"].observed == pytest.approx(30 / 42)
    assert not checks["sensitivity"].inside
    assert checks["specificity"].observed == pytest.approx(36 / 44)
    assert checks["specificity"].inside
    assert checks["auc"].inside and checks["auc"].method == "delong"
    assert not result.consistent
    assert any("optimistic" in n for n in result.notes)
    assert "OUTSIDE" in result.summary()
    assert result.to_dict()["checks"][0]["inside"] is False
    assert PROTOCOL_MIR126.sensitivity == 0.8571 and PROTOCOL_MIR126.auc == 0.792


def test_compare_with_quoted_exact_intervals_and_custom_figures() -> None:
    roc = _derivation()
    quoted = QuotedPerformance(sensitivity=0.7, specificity=0.8, auc=0.8, source="test")
    result = compare_with_quoted(roc=roc, threshold=-6.55, quoted=quoted, method="clopper-pearson")
    assert result.consistent
    assert {c.method for c in result.checks} == {"clopper-pearson", "delong"}


def test_paired_test_needs_the_same_participants() -> None:
    a = roc_curve(controls=[1, 2, 3], cases=[2, 3, 4])
    b = roc_curve(controls=[1, 2, 3, 4], cases=[2, 3, 4])
    with pytest.raises(DesignInputError, match="same cases and controls"):
        delong_test(first=a, second=b, paired=True)


def test_identical_curves_give_z_zero_as_proc() -> None:
    a = roc_curve(controls=[1, 2, 3], cases=[2, 3, 4])
    result = delong_test(first=a, second=a, paired=True)
    assert result.statistic == 0.0 and result.p_value == 1.0


def test_different_directions_are_noted() -> None:
    a = roc_curve(controls=[1, 2, 3], cases=[2, 3, 4])
    b = roc_curve(controls=[4, 3, 2], cases=[1, 2, 3])
    result = delong_test(first=a, second=b, paired=True)
    assert result.notes and "different directions" in result.notes[0]
    assert "DeLong test, paired" in result.summary()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"controls": [], "cases": [1.0]}, r"controls = \[\] .*at least one value"),
        ({"controls": [1.0, math.nan], "cases": [1.0]}, r"controls\[1\] = nan .*finite"),
        ({"controls": [1.0], "cases": ["x"]}, r"cases = \['x'\] .*sequence of numbers"),
        ({"controls": [1.0], "cases": [2.0], "direction": "up"}, r"direction = 'up' .*'auto'"),
    ],
)
def test_bad_input_names_field_value_and_what_is_allowed(kwargs: dict, message: str) -> None:
    with pytest.raises(DesignInputError, match=message):
        roc_curve(**kwargs)


def test_other_bad_inputs() -> None:
    roc = roc_curve(controls=[1.0], cases=[2.0])
    assert roc.auc_variance is None
    with pytest.raises(DesignInputError, match="at least 2 cases and 2 controls"):
        roc.confidence_interval()
    good = _derivation()
    with pytest.raises(DesignInputError, match="method = 'best' .*'youden'"):
        optimal_cutoffs(roc=good, method="best")
    with pytest.raises(DesignInputError, match="prevalence"):
        optimal_cutoffs(roc=good, weights=(1.0, 1.5))
    with pytest.raises(DesignInputError, match="level = 1.2"):
        performance_at(roc=good, threshold=0.0, level=1.2)
    with pytest.raises(DesignInputError, match="successes = 8 .*from 0 to n = 7"):
        wilson_interval(successes=8, n=7)
    with pytest.raises(DesignInputError, match="alternative = 'two.sided'"):
        delong_test(first=good, second=good, paired=True, alternative="two.sided")


def test_results_serialise() -> None:
    roc = _derivation()
    d = roc.to_dict()
    assert d["thresholds"][0] == "Inf" and d["direction"] == ">"  # ">": decreasing thresholds
    json.dumps(d)
    json.dumps(performance_at(roc=roc, threshold=-6.55).to_dict())
    json.dumps(optimal_cutoffs(roc=roc)[0].to_dict())
    assert "sensitivity 30/42" in performance_at(roc=roc, threshold=-6.55).summary()


def test_roc_from_response_columns() -> None:
    response = ["case", "control", "other", "case", "control", "control"]
    marker = [-7.5, -5.9, 99.0, -6.8, -6.2, -7.0]
    roc = roc_from_response(response=response, predictor=marker, levels=("control", "case"))
    assert roc.controls == (-5.9, -6.2, -7.0) and roc.cases == (-7.5, -6.8)
    assert roc.direction == ">"
    with pytest.raises(DesignInputError, match="no response equals the case value 'PE'"):
        roc_from_response(response=response, predictor=marker, levels=("control", "PE"))
    with pytest.raises(DesignInputError, match=r"predictor = '2 values' .*one per response \(6\)"):
        roc_from_response(response=response, predictor=[1.0, 2.0], levels=("control", "case"))
