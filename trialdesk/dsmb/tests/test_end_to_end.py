"""Issue 12 acceptance, end to end: a synthetic study of 40 dosed participants with the day-7
primary endpoint entered as raw Ct values (the pre-dose ΔCt calibrates day 7 through
``copy_of``) → the interim becomes due → the unblinded statistician runs it → open and closed
reports. The interim's statistic and bounds, and the closed report's efficacy numbers, equal an
independent scipy/statsmodels computation on the same values; both PDFs render."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from pypdf import PdfReader

from trialdesk.dsmb import interim
from trialdesk.dsmb.actions import do_run_interim
from trialdesk.dsmb.reports import do_generate_report
from trialdesk.dsmb.tests.helpers import dose, ready, setup_list
from trialdesk.dsmb.tests.interim_helpers import enter_d7_mirna
from trialdesk.randomization.models import Allocation

pytestmark = pytest.mark.slow
STUDY = "NCT07183384"


@pytest.fixture
def forty(personas):
    setup_list(personas, per_stratum=40)
    rng = np.random.default_rng(20261130)
    values = {}
    for _ in range(40):
        p = ready(personas)
        a = dose(personas, p)
        shift = 0.8 if a.arm == "EXO" else 0.0  # the synthetic truth: a log2 effect of 0.8
        values[p.pk] = enter_d7_mirna(personas, p, round(float(rng.normal(shift, 1.0)), 2))
    return values


def test_forty_participants_interim_then_open_and_closed_reports(forty, personas):
    state = interim.due_state(STUDY)
    assert (state.n_with_endpoint, state.due_at, state.due) == (40, 40, True)

    arm_of = dict(Allocation.objects.values_list("participant_id", "arm"))
    raw = pd.DataFrame([(arm_of[k], v) for k, v in forty.items()], columns=["arm", "y"])
    raw["exo"] = (raw["arm"] == "EXO").astype(float)
    fit = smf.ols("y ~ exo", data=raw).fit()  # pooled-variance difference, independent

    run = do_run_interim(STUDY, personas["ustat"])
    assert run.n_treatment + run.n_control == 40
    assert run.n_treatment == int(raw["exo"].sum())
    assert run.estimate == pytest.approx(fit.params["exo"], abs=1e-9)
    assert run.standard_error == pytest.approx(fit.bse["exo"], rel=1e-9)
    assert run.z == pytest.approx(fit.tvalues["exo"], rel=1e-9)  # the normal approximation
    assert run.information_fraction == pytest.approx(0.5)
    assert run.critical_value == pytest.approx(2.963, abs=5e-4)  # asOF at t = 0.5 (rpact)
    assert ("efficacy" in run.decision) == (run.z >= run.critical_value)

    opened = do_generate_report(STUDY, personas["dm"], "open")
    closed = do_generate_report(STUDY, personas["ustat"], "closed")
    diff = closed.numbers["tables"]["efficacy_difference"][0]
    lo, hi = fit.conf_int(0.05).loc["exo"]
    assert diff["difference"] == pytest.approx(fit.params["exo"], abs=1e-5)
    assert (diff["ci_low"], diff["ci_high"]) == (
        pytest.approx(lo, abs=1e-5),
        pytest.approx(hi, abs=1e-5),
    )
    assert closed.numbers["observed_z"] == pytest.approx(run.z, abs=1e-5)
    by_arm = pd.DataFrame(closed.numbers["tables"]["efficacy_by_arm"]).set_index("arm")
    expect = raw.groupby("arm")["y"].agg(["count", "mean"])
    for arm in ("EXO", "PBO"):
        assert by_arm.loc[arm, "n"] == expect.loc[arm, "count"]
        assert by_arm.loc[arm, "mean"] == pytest.approx(expect.loc[arm, "mean"], abs=1e-5)
    for report, heading in ((opened, "Open DSMB report"), (closed, "Closed DSMB report")):
        pdf = PdfReader(io.BytesIO(bytes(report.pdf)))
        text = "".join(page.extract_text() for page in pdf.pages)
        assert len(pdf.pages) >= 2 and heading in text
    open_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(bytes(opened.pdf))).pages)
    assert "EXO" not in open_text and "PBO" not in open_text
