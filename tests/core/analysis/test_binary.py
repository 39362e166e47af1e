"""Two-arm binary comparisons against R (fisher.test, prop.test, binom.test) and Newcombe 1998."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from trialdesk.core.analysis.binary import binary_comparison, compare_proportions
from trialdesk.core.design import DesignInputError

REFERENCE_DIR = Path(__file__).parents[2] / "reference"


def _inf(x):
    if x == "Inf":
        return math.inf
    return [_inf(y) for y in x] if isinstance(x, list) else x


# jsonlite writes an infinite exact CI limit as "Inf"
CASES = json.loads(
    (REFERENCE_DIR / "analysis_models.json").read_text(),
    object_hook=lambda d: {k: _inf(x) for k, x in d.items()},
)["binary"]
WIDE = pd.read_csv(REFERENCE_DIR / "data" / "exo_pe_d7.csv")
CLOSED = {"rel": 1e-10, "abs": 1e-14}  # closed forms and exact tail sums


def _compare(case: dict):
    return compare_proportions(
        events_treatment=case["x1"],
        n_treatment=case["n1"],
        events_control=case["x2"],
        n_control=case["n2"],
    )


def _interval(got, want) -> None:
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(tuple(want), **CLOSED)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_intervals_and_chi_square_match_r(case: dict) -> None:
    r = _compare(case)
    assert r.treatment.clopper_pearson == pytest.approx(tuple(case["clopper_pearson"][0]), **CLOSED)
    assert r.control.clopper_pearson == pytest.approx(tuple(case["clopper_pearson"][1]), **CLOSED)
    assert r.treatment.wilson == pytest.approx(tuple(case["wilson"][0]), **CLOSED)
    assert r.control.wilson == pytest.approx(tuple(case["wilson"][1]), **CLOSED)
    assert r.risk_difference_wald_ci == pytest.approx(tuple(case["rd_wald"]), **CLOSED)
    assert r.risk_difference_wald_corrected_ci == pytest.approx(
        tuple(case["rd_wald_corrected"]), **CLOSED
    )
    assert r.risk_difference_newcombe_ci == pytest.approx(tuple(case["rd_newcombe"]), **CLOSED)
    _interval(r.relative_risk_ci, case["rr_ci"])
    _interval(r.odds_ratio_ci, case["or_ci"])
    assert r.chi_square == pytest.approx(case["chi_square"], **CLOSED)
    assert r.chi_square_p_value == pytest.approx(case["chi_square_p"], **CLOSED)
    assert r.chi_square_corrected == pytest.approx(case["chi_square_corrected"], **CLOSED)
    assert r.chi_square_corrected_p_value == pytest.approx(case["chi_square_corrected_p"], **CLOSED)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_fisher_exact_test_matches_fisher_test(case: dict) -> None:
    r = _compare(case)
    assert r.fisher_p_value == pytest.approx(case["fisher_p"], **CLOSED)
    # against fisher.test's own code solved to 1e-13: 1e-6
    assert r.fisher_odds_ratio == pytest.approx(case["fisher_or_precise"], rel=1e-6)
    assert r.fisher_odds_ratio_ci == pytest.approx(tuple(case["fisher_ci_precise"]), rel=1e-6)
    # fisher.test itself: uniroot's default tolerance (eps^0.25 = 1.2e-4) on the scale it
    # solves on, t in (0, 1) for an odds ratio below 1 and 1/t above 1
    for got, want in zip(
        (r.fisher_odds_ratio, *r.fisher_odds_ratio_ci),
        (case["fisher_or"], *case["fisher_ci"]),
        strict=True,
    ):
        if math.isinf(want) or want == 0.0:
            assert got == want
        elif want <= 1.0:
            assert abs(got - want) < 1.3e-4
        else:
            assert abs(1.0 / got - 1.0 / want) < 1.3e-4


# Newcombe RG. Stat Med 1998;17:873-890, Table II, method 10 (hybrid score), 4 decimals.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_reproduces_the_published_table(counts, published) -> None:
    x1, n1, x2, n2 = counts
    r = compare_proportions(events_treatment=x1, n_treatment=n1, events_control=x2, n_control=n2)
    assert r.risk_difference_newcombe_ci == pytest.approx(published, abs=5e-5)


def test_zero_cells_leave_ratio_intervals_undefined() -> None:
    r = compare_proportions(events_treatment=0, n_treatment=40, events_control=4, n_control=40)
    assert r.relative_risk == 0.0 and r.relative_risk_ci is None
    assert r.odds_ratio == 0.0 and r.odds_ratio_ci is None
    assert r.fisher_odds_ratio == 0.0 and r.fisher_odds_ratio_ci[0] == 0.0
    none = compare_proportions(events_treatment=0, n_treatment=10, events_control=0, n_control=20)
    assert none.fisher_p_value == 1.0
    assert none.fisher_odds_ratio_ci == (0.0, math.inf)
    assert math.isnan(none.chi_square)
    assert "undefined" in none.summary()
    assert json.loads(json.dumps(none.to_dict()))["fisher_odds_ratio_ci"][1] == "Infinity"


def test_counts_from_data_match_the_sae_case() -> None:
    r = binary_comparison(WIDE, outcome="sae", arm="arm", control="PBO", event="yes")
    case = next(c for c in CASES if c["case"] == "sae_exo_vs_pbo")
    assert (r.treatment.arm, r.control.arm) == ("EXO", "PBO")
    assert (r.treatment.events, r.treatment.n, r.control.events, r.control.n) == (
        case["x1"],
        case["n1"],
        case["x2"],
        case["n2"],
    )
    assert r.fisher_p_value == pytest.approx(case["fisher_p"], **CLOSED)
    assert r.confidence_interval() == r.risk_difference_newcombe_ci
    wider = r.confidence_interval(0.99)
    assert (
        wider[0] < r.risk_difference_newcombe_ci[0] and wider[1] > r.risk_difference_newcombe_ci[1]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"events_treatment": 41},
            "events \\(treatment\\) = 41 is not allowed: between 0 and n = 40",
        ),
        ({"events_treatment": -1}, "events \\(treatment\\) = -1 is not allowed"),
        ({"n_control": 0}, "n \\(control\\) = 0 is not allowed: at least 1 participant"),
        (
            {"n_control": 39.5},
            "n \\(control\\) = 39.5 is not allowed: n \\(control\\) must be a whole",
        ),
        ({"events_control": True}, "events \\(control\\) = True is not allowed"),
        ({"level": 95}, "level = 95 is not allowed"),
    ],
)
def test_bad_counts_name_the_field_value_and_what_is_allowed(kwargs, message) -> None:
    args = {"events_treatment": 3, "n_treatment": 40, "events_control": 5, "n_control": 40}
    with pytest.raises(DesignInputError, match=message):
        compare_proportions(**{**args, **kwargs})


def test_bad_data_is_rejected() -> None:
    with pytest.raises(DesignInputError, match="outcome \\(sae\\) = 'maybe' is not allowed"):
        binary_comparison(
            WIDE.assign(sae=["maybe"] + list(WIDE["sae"][1:])),
            outcome="sae",
            arm="arm",
            control="PBO",
            non_event="no",
        )
    three = WIDE.assign(arm=["LOW" if i % 3 == 0 else a for i, a in enumerate(WIDE["arm"])])
    with pytest.raises(DesignInputError, match="arm \\(arm\\) = .* exactly two arms"):
        binary_comparison(three, outcome="sae", arm="arm", control="PBO")
