"""ROC analysis against pROC 1.18.0 (tests/reference/analysis_roc.R + .json).

Tolerances: AUCs, variances, sensitivities and specificities 1e-6 relative (measured: equal
to the 15 significant digits jsonlite writes); CIs and p-values 1e-4 absolute as the issue
asks, though they too agree to ~1e-12 (the checks below use 1e-10 where that holds, so a
regression shows long before 1e-4).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from trialdesk.core.analysis.roc import (
    RocResult,
    delong_test,
    optimal_cutoffs,
    performance_at,
    roc_curve,
)

REFERENCE = Path(__file__).parents[2] / "reference"
REF = json.loads((REFERENCE / "analysis_roc.json").read_text())
CURVES = {c["name"]: c for c in REF["curves"]}
TESTS = {t["name"]: t for t in REF["tests"]}
EST = 1e-6  # relative, estimates
PROB = 1e-10  # absolute, CIs and p-values (measured agreement; the issue allows 1e-4)


def _num(x: object) -> float:
    if x == "Inf":
        return math.inf
    if x == "-Inf":
        return -math.inf
    return float(x)  # type: ignore[arg-type]  # numbers, or strings with 17 digits


def _list(x: object) -> list[float]:
    return [_num(v) for v in x] if isinstance(x, list) else [_num(x)]


def _same(a: list[float], b: list[float], rel: float = 1e-12) -> bool:
    return len(a) == len(b) and all(
        (x == y) if math.isinf(x) or math.isinf(y) else math.isclose(x, y, rel_tol=rel)
        for x, y in zip(a, b, strict=True)
    )


def _curve(ref: dict) -> RocResult:
    return roc_curve(
        controls=_list(ref["controls"]),
        cases=_list(ref["cases"]),
        direction=ref["direction_requested"],
    )


def test_dataset_is_what_r_read() -> None:
    text = (REFERENCE / "data" / "mir126_diagnostic.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    ctrl = [
        float(r["mir126_cel39"])
        for r in rows
        if r["cohort"] == "derivation" and r["group"] == "control"
    ]
    assert ctrl == _list(CURVES["derivation_cel39"]["controls"])
    assert len(CURVES["derivation_cel39"]["cases"]) == 42 and len(ctrl) == 44


@pytest.mark.parametrize("name", sorted(CURVES))
def test_curve_auc_and_delong(name: str) -> None:
    ref = CURVES[name]
    roc = _curve(ref)
    assert roc.direction == ref["direction"]
    assert roc.auc == pytest.approx(ref["auc"], rel=EST)
    assert roc.auc_variance == pytest.approx(ref["variance"], rel=EST, abs=1e-15)
    assert roc.confidence_interval(0.95) == pytest.approx(_list(ref["ci95"]), abs=PROB)
    assert roc.confidence_interval(0.90) == pytest.approx(_list(ref["ci90"]), abs=PROB)


@pytest.mark.parametrize("name", sorted(CURVES))
def test_curve_thresholds_in_proc_order(name: str) -> None:
    ref = CURVES[name]
    roc = _curve(ref)
    assert _same(list(roc.thresholds), _list(ref["thresholds"]))
    assert roc.sensitivities == pytest.approx(_list(ref["sensitivities"]), rel=EST)
    assert roc.specificities == pytest.approx(_list(ref["specificities"]), rel=EST)


@pytest.mark.parametrize("name", sorted(CURVES))
@pytest.mark.parametrize(("method", "key"), [("youden", "youden"), ("closest.topleft", "topleft")])
def test_optimal_cutoffs_with_ties(name: str, method: str, key: str) -> None:
    ref = CURVES[name][key]
    got = optimal_cutoffs(roc=_curve(CURVES[name]), method=method)
    assert _same([c.threshold for c in got], _list(ref["threshold"]))
    assert [c.sensitivity for c in got] == pytest.approx(_list(ref["sensitivity"]), rel=EST)
    assert [c.specificity for c in got] == pytest.approx(_list(ref["specificity"]), rel=EST)
    assert [c.criterion for c in got] == pytest.approx(_list(ref["criterion"]), rel=EST)


def test_reference_covers_ties_and_both_directions() -> None:
    assert len(_list(CURVES["youden_ties"]["youden"]["threshold"])) == 3
    assert {c["direction"] for c in CURVES.values()} == {"<", ">"}
    assert CURVES["derivation_cel39"]["direction"] == ">"  # miR-126 lower in preeclampsia
    assert CURVES["equal_medians"]["direction"] == "<"


AT = [(name, i) for name, c in sorted(CURVES.items()) for i in range(len(c["at"]))]


@pytest.mark.parametrize(("name", "i"), AT, ids=[f"{n}-{i}" for n, i in AT])
def test_performance_at_threshold(name: str, i: int) -> None:
    ref = CURVES[name]["at"][i]
    perf = performance_at(roc=_curve(CURVES[name]), threshold=_num(_list(ref["threshold"])[0]))
    counts = (perf.true_positives, perf.false_negatives, perf.true_negatives, perf.false_positives)
    assert counts == (ref["tp"], ref["fn"], ref["tn"], ref["fp"])
    assert perf.sensitivity == pytest.approx(ref["sensitivity"], rel=EST)
    assert perf.specificity == pytest.approx(ref["specificity"], rel=EST)
    for key in ("sensitivity_exact", "specificity_exact", "sensitivity_wilson"):
        assert getattr(perf, key) == pytest.approx(ref[key], abs=PROB)
    assert perf.specificity_wilson == pytest.approx(ref["specificity_wilson"], abs=PROB)


def _test_inputs(name: str) -> tuple[RocResult, RocResult]:
    a = CURVES["derivation_cel39"]
    b = CURVES["derivation_mir16"]
    val = CURVES["validation_cel39"]
    small1 = roc_curve(controls=[1, 2, 3, 3, 4], cases=[3, 4, 5, 6, 3.5])
    small2 = roc_curve(controls=[1, 2.5, 3, 3, 4.2], cases=[3, 4, 5.5, 6, 2])
    return {
        "paired_cel39_vs_mir16": (_curve(a), _curve(b)),
        "paired_cel39_vs_mir16_greater": (_curve(a), _curve(b)),
        "paired_mir16_vs_cel39_less": (_curve(b), _curve(a)),
        "paired_small": (small1, small2),
        "unpaired_derivation_vs_validation": (_curve(a), _curve(val)),
        "unpaired_derivation_vs_validation_less": (_curve(a), _curve(val)),
        "unpaired_small": (small1, small2),
    }[name]


@pytest.mark.parametrize("name", sorted(TESTS))
def test_delong_tests(name: str) -> None:
    ref = TESTS[name]
    first, second = _test_inputs(name)
    alternative = {"two.sided": "two-sided"}.get(ref["alternative"], ref["alternative"])
    got = delong_test(first=first, second=second, paired=ref["paired"], alternative=alternative)
    assert (got.auc_first, got.auc_second) == pytest.approx(ref["auc"], rel=EST)
    assert got.statistic == pytest.approx(ref["statistic"], rel=EST)
    assert got.p_value == pytest.approx(ref["p_value"], abs=PROB)
    if ref["paired"]:
        assert got.df is None
        assert got.confidence_interval == pytest.approx(ref["conf_int"], abs=PROB)
    else:
        assert got.df == pytest.approx(ref["df"], rel=EST)
        assert got.confidence_interval is None
