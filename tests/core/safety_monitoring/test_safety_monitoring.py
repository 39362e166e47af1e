"""Safety monitoring against an independent base-R implementation (safety_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from trialdesk.core.design import DesignInputError
from trialdesk.core.safety_monitoring import (
    bayesian_boundary,
    beta_prior,
    pocock_count_boundary,
    posterior_probability_exceeds,
)

REF = json.loads((Path(__file__).parents[2] / "reference" / "safety_reference.json").read_text())


@pytest.fixture(scope="module")
def bayes():
    return bayesian_boundary(
        checkpoints=REF["checkpoints"],
        threshold=REF["threshold"],
        posterior_probability=REF["posterior_probability"],
        prior_mean=REF["prior_mean"],
        prior_sample_size=REF["prior_sample_size"],
    )


def test_beta_prior_from_mean_and_weight() -> None:
    assert beta_prior(prior_mean=0.007, prior_sample_size=10) == pytest.approx((0.07, 9.93))


@pytest.mark.parametrize("row", REF["posterior"], ids=lambda r: f"{r['events']}of{r['n']}")
def test_posterior_probability_matches_pbeta(row: dict) -> None:
    got = posterior_probability_exceeds(
        events=row["events"],
        n=row["n"],
        threshold=REF["threshold"],
        prior_mean=REF["prior_mean"],
        prior_sample_size=REF["prior_sample_size"],
    )
    assert got == pytest.approx(row["value"], abs=1e-13)


def test_bayesian_stop_counts(bayes) -> None:
    assert list(bayes.stop_counts) == REF["bayesian_stop_counts"]
    # the count is the smallest that triggers: one fewer event does not
    for n, c in zip(bayes.checkpoints, bayes.stop_counts, strict=True):
        below = stats.beta.sf(0.05, bayes.prior_a + c - 1, bayes.prior_b + n - c + 1)
        assert below <= REF["posterior_probability"]


def test_bayesian_operating_characteristics(bayes) -> None:
    rates = [oc["rate"] for oc in REF["bayesian_oc"]]
    for got, ref in zip(bayes.operating_characteristics(rates), REF["bayesian_oc"], strict=True):
        assert got.stop_by_checkpoint == pytest.approx(ref["stop_by_checkpoint"], abs=1e-13)
        assert got.probability_stop == pytest.approx(ref["probability_stop"], abs=1e-13)
        assert got.expected_n == pytest.approx(ref["expected_n"], abs=1e-11)


@pytest.mark.parametrize("ref", REF["pocock"], ids=lambda r: f"p0={r['p0']}")
def test_pocock_count_boundary(ref: dict) -> None:
    got = pocock_count_boundary(checkpoints=ref["checkpoints"], p0=ref["p0"], alpha=ref["alpha"])
    assert list(got.stop_counts) == ref["stop_counts"]
    assert got.nominal_level == pytest.approx(ref["nominal_level"], rel=1e-12)
    attained = got.operating_characteristics([ref["p0"]])[0].probability_stop
    assert attained <= ref["alpha"]
    if "oc" in ref:
        rates = [oc["rate"] for oc in ref["oc"]]
        for g, r in zip(got.operating_characteristics(rates), ref["oc"], strict=True):
            assert g.probability_stop == pytest.approx(r["probability_stop"], abs=1e-13)


def test_stopping_probability_increases_with_the_true_rate(bayes) -> None:
    ocs = bayes.operating_characteristics([0.005, 0.02, 0.05, 0.1, 0.3])
    probs = [oc.probability_stop for oc in ocs]
    assert probs == sorted(probs)
    assert ocs[-1].expected_n < ocs[0].expected_n
    assert "stop if P(rate > 0.05" in bayes.summary([0.05])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: beta_prior(prior_mean=0.0, prior_sample_size=10), "prior_mean = 0.0"),
        (lambda: beta_prior(prior_mean=0.01, prior_sample_size=-1), "prior_sample_size = -1"),
        (
            lambda: posterior_probability_exceeds(
                events=5, n=3, threshold=0.1, prior_mean=0.01, prior_sample_size=1
            ),
            "events = 5",
        ),
        (lambda: pocock_count_boundary(checkpoints=[10, 5], p0=0.1, alpha=0.1), "increase"),
        (lambda: pocock_count_boundary(checkpoints=[5, 10], p0=1.2, alpha=0.1), "p0 = 1.2"),
        (
            lambda: bayesian_boundary(
                checkpoints=[5],
                threshold=0.05,
                posterior_probability=1.0,
                prior_mean=0.01,
                prior_sample_size=1,
            ),
            "posterior_probability = 1.0",
        ),
    ],
)
def test_impossible_inputs(call, message: str) -> None:
    with pytest.raises(DesignInputError, match=message):
        call()
