"""The final look at the information reached, against rpact's getAnalysisResults
(tests/reference/final_look.R): recomputed bounds, stage-wise adjusted p, median-unbiased
estimate, its CI, and the repeated CI."""

from __future__ import annotations

import json

import pytest

from trialdesk.core.analysis.final_look import final_look
from trialdesk.core.design import DesignInputError
from trialdesk.core.sequential.planned import monitoring_design
from trialdesk.paths import PROJECT_DIR

REF = json.loads((PROJECT_DIR / "tests/reference/final_look.json").read_text())["cases"]


def _design():
    design, converted = monitoring_design(
        information_fractions=[0.5, 1.0],
        alpha=0.05,
        sided=2,
        power=0.8,
        efficacy_spending="asOF",
        futility_spending="bsOF",
        binding=False,
    )
    assert converted  # two-sided 0.05 with futility is monitored one-sided 0.025
    return design


@pytest.mark.parametrize("name", sorted(REF))
def test_final_look_matches_rpact(name):
    r = REF[name]
    out = final_look(
        design=_design(),
        n_interim=r["n_interim"],
        n_final=r["n_final"],
        z=r["z"],
        estimate=r["estimate"],
        standard_error=r["standard_error"],
        interim_z=r["z_interim"],
    )
    assert out.information_fractions == pytest.approx([r["n_interim"] / r["n_final"], 1.0])
    assert out.critical_values == pytest.approx(r["critical_values"], abs=1e-6)
    assert out.adjusted_p_value == pytest.approx(r["final_p_value"], abs=1e-4)
    assert out.median_unbiased == pytest.approx(r["median_unbiased"], rel=1e-5)
    assert out.confidence_interval == pytest.approx(
        (r["final_ci_lower"], r["final_ci_upper"]), abs=1e-4
    )
    assert out.repeated_ci == pytest.approx((r["rci_lower"], r["rci_upper"]), abs=1e-4)
    rejected = r["z"] >= r["critical_values"][1]
    assert out.decision.lower().startswith("reject") == rejected, out.decision
    assert out.to_dict()["interim_z"] == r["z_interim"]


def test_bad_input_is_refused_by_name():
    with pytest.raises(DesignInputError, match="n_interim"):
        final_look(
            design=_design(), n_interim=80, n_final=78, z=2.0, estimate=0.5, standard_error=0.2
        )
