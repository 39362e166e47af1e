"""DSMB reports: generated end to end on a synthetic study, checked against an independent
pandas + statsmodels computation, rendered to PDF, hashed, audited, and blinded where they must be.
"""

from __future__ import annotations

import hashlib
import io
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from django.utils import timezone
from pypdf import PdfReader

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.actions import do_save_form
from trialdesk.crfs.models import ItemValue
from trialdesk.dsmb.models import DsmbReport, canonical_json
from trialdesk.dsmb.reports import do_generate_report
from trialdesk.dsmb.tests.helpers import dosed_participants, setup_list
from trialdesk.randomization.models import Allocation
from trialdesk.testing.participants import visit_of
from trialdesk.visits.actions import do_record_visit_date

BASE = "/staff/NCT07183384/dsmb/reports/"
ARM_WORDS = ("EXO", "PBO", "exosomes", "Saline placebo", "Eksosom", "Plasebo")
BLINDED_VIEWERS = ("monitor", "dm", "stat", "inv_a")
#: (grade, serious, relatedness) of the AEs entered, per participant index in each arm
AE_PLAN = {
    "EXO": [("G1", False, "POSSIBLE"), ("G2", False, "UNRELATED"), ("G3", True, "PROBABLE")],
    "other": [("G1", False, "UNRELATED"), ("G2", True, "UNLIKELY")],
}


def _d7(personas, p):
    d7 = visit_of(p, "D7")
    if d7.actual_date is None:
        do_record_visit_date(d7, timezone.localdate(), personas["coord_a"])
    return d7


def _ae(personas, p, repeat, grade, serious, relatedness):
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    raw = {
        "term": "Headache",
        "term_is_fever": "no",
        "onset_at": now,
        "ongoing": "yes",
        "severity": grade,
        "serious": "yes" if serious else "no",
        "seriousness": "HOSPITALISATION" if serious else "",
        "relatedness": relatedness,
        "action_taken": "NOT_APPLICABLE",
        "outcome": "RECOVERING",
        "aesi": "",
        "aware_at": now if serious else "",
    }
    do_save_form(_d7(personas, p), "ae", personas["inv_a"], raw=raw, repeat=repeat, reason="t")


def _mirna(personas, p, log2fc: float):
    """The pre-dose and day-7 samples' Ct values; the day-7 calibrator ΔCt is the pre-dose ΔCt
    (``copy_of: D0.dct``), so the log2 fold change derives as in production."""
    from trialdesk.dsmb.tests.interim_helpers import enter_d7_mirna

    derived = enter_d7_mirna(personas, p, log2fc)
    assert derived == pytest.approx(log2fc, abs=0.011)


def _labs(personas, p, hgb: float, sbp: int):
    d7 = _d7(personas, p)
    do_save_form(d7, "hematology", personas["coord_a"], raw={"hgb": f"{hgb:.1f}"})
    do_save_form(d7, "vitals", personas["coord_a"], raw={"sbp": str(sbp)}, repeat=1)


@pytest.fixture
def study(personas):
    setup_list(personas)
    groups = dosed_participants(personas, exo=3, other=3)
    rng = np.random.default_rng(12)
    endpoint = {}
    for arm, people in groups.items():
        for i, p in enumerate(people):
            for repeat, plan in enumerate(AE_PLAN[arm][i : i + 1], start=1):
                _ae(personas, p, repeat, *plan)
            value = round(float(rng.normal(1.0 if arm == "EXO" else 0.2, 0.5)), 2)
            _mirna(personas, p, value)
            endpoint[p.pk] = value
            _labs(personas, p, 11.0 + i * 0.4, 120 + 5 * i)
    return {"groups": groups, "endpoint": endpoint}


def _table(report, name) -> pd.DataFrame:
    return pd.DataFrame(report.numbers["tables"][name])


def test_closed_report_numbers_equal_an_independent_computation(study, personas):
    report = do_generate_report("NCT07183384", personas["ustat"], "closed")
    arm_of = dict(Allocation.objects.values_list("participant_id", "arm"))
    raw = pd.DataFrame(
        [(pk, arm_of[pk], v) for pk, v in study["endpoint"].items()], columns=["pid", "arm", "y"]
    )
    # stored endpoint equals what the Ct values derive (−ΔΔCt)
    stored = dict(
        ItemValue.objects.filter(item="log2_fold_change", form__visit__code="D7").values_list(
            "participant_id", "num_value"
        )
    )
    assert {k: round(v, 2) for k, v in stored.items()} == study["endpoint"]
    # mean / SD / n by arm
    eff = _table(report, "efficacy_by_arm").set_index("arm")
    expect = raw.groupby("arm")["y"].agg(["count", "mean", "std"])
    for arm in ("EXO", "PBO"):
        assert eff.loc[arm, "n"] == expect.loc[arm, "count"]
        assert eff.loc[arm, "mean"] == pytest.approx(expect.loc[arm, "mean"], abs=1e-5)
        assert eff.loc[arm, "sd"] == pytest.approx(expect.loc[arm, "std"], abs=1e-5)
    # the difference and its 95 % CI: OLS on the arm indicator (pooled variance)
    raw["exo"] = (raw["arm"] == "EXO").astype(float)
    fit = smf.ols("y ~ exo", data=raw).fit()
    lo, hi = fit.conf_int(0.05).loc["exo"]
    diff = report.numbers["tables"]["efficacy_difference"][0]
    assert diff["difference"] == pytest.approx(fit.params["exo"], abs=1e-5)
    assert (diff["ci_low"], diff["ci_high"]) == (
        pytest.approx(lo, abs=1e-5),
        pytest.approx(hi, abs=1e-5),
    )
    assert diff["p"] == pytest.approx(fit.pvalues["exo"], abs=1e-5)
    assert report.numbers["observed_z"] == pytest.approx(fit.tvalues["exo"], abs=1e-5)
    # AEs by arm × grade × relatedness, from the plan entered
    planned = [
        (arm_of[p.pk], *AE_PLAN[key][i][::2])
        for key, people in study["groups"].items()
        for i, p in enumerate(people)
        if i < len(AE_PLAN[key])
    ]
    expect_ae = (
        pd.DataFrame(planned, columns=["arm", "grade", "relatedness"])
        .groupby(["arm", "grade", "relatedness"])
        .size()
        .to_dict()
    )
    got = {
        (r["arm"], r["grade"], r["relatedness"]): r["n"]
        for r in report.numbers["tables"]["ae_by_arm"]
    }
    assert got == expect_ae
    saes = report.numbers["tables"]["sae_listing"]
    assert sorted(r["arm"] for r in saes) == sorted(
        arm_of[p.pk]
        for key, people in study["groups"].items()
        for i, p in enumerate(people)
        if i < len(AE_PLAN[key]) and AE_PLAN[key][i][1]
    )
    # the boundaries are the protocol's (asOF, one-sided 0.025: 2.963 at t = 0.5)
    assert report.numbers["critical_values"][0] == pytest.approx(2.963, abs=1e-3)
    bounds = report.numbers["tables"]["interim_boundaries"]
    assert [b["information_fraction"] for b in bounds] == [0.5, 1.0]
    assert bounds[1]["efficacy_z"] == pytest.approx(1.969, abs=1e-3)
    labs = _table(report, "labs_vitals_by_arm")
    assert set(labs["item"]) == {"hematology.hgb", "vitals.sbp"} and set(labs["arm"]) == {
        "EXO",
        "PBO",
    }


def test_reports_are_stored_hashed_audited_and_render_as_pdf(study, personas):
    cut = AuditEvent.objects.order_by("-seq").first().seq
    closed = do_generate_report("NCT07183384", personas["ustat"], "closed")
    opened = do_generate_report("NCT07183384", personas["dm"], "open")
    assert closed.data_cut_seq == cut
    for r in (closed, opened):
        r.refresh_from_db()
        assert hashlib.sha256(bytes(r.pdf)).hexdigest() == r.pdf_sha256
        assert hashlib.sha256(canonical_json(r.numbers)).hexdigest() == r.numbers_sha256
        event = AuditEvent.objects.get(action="dsmb.report", object_id=str(r.pk))
        assert event.new_value["pdf_sha256"] == r.pdf_sha256
        assert event.new_value["data_cut_seq"] == r.data_cut_seq
        text = str(event.new_value) + event.reason
        for word in ARM_WORDS:
            assert word not in text
    reader = PdfReader(io.BytesIO(bytes(closed.pdf)))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert "Closed DSMB report" in text and "Primary endpoint by arm" in text
    assert "Serious adverse event listing" in text and "EXO" in text
    mean = closed.numbers["tables"]["efficacy_by_arm"][0]["mean"]
    assert f"{mean:.3f}" in text
    reader = PdfReader(io.BytesIO(bytes(opened.pdf)))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 2 and "Open DSMB report" in text and "Visit completion" in text
    randomized = {r["measure"]: r["n"] for r in opened.numbers["tables"]["consort"]}["Randomized"]
    assert randomized == sum(map(len, study["groups"].values())) and "Randomized" in text
    for word in ARM_WORDS:
        assert word not in text, word
        assert word not in opened.html, word
    assert not any("arm" in r for t in opened.numbers["tables"].values() for r in t)
    assert set(opened.numbers["tables"]) < set(closed.numbers["tables"])
    # the same numbers give the same PDF bytes (reportlab invariant, PNGs without a timestamp)
    from trialdesk.dsmb import report_data, report_render

    data = report_data.build("NCT07183384", "open")
    assert report_render.pdf(data, report_render.figures(data)) == report_render.pdf(
        data, report_render.figures(data)
    )
    # audit verify reconciles the stored reports with their events
    from trialdesk.audit.reconcile import reconcile

    mine = lambda: [m for m in reconcile() if m.object_type == "dsmb.dsmbreport"]  # noqa: E731
    assert mine() == []
    DsmbReport.objects.filter(pk=opened.pk).update(pdf=bytes(opened.pdf) + b"%tampered")
    assert [m.object_id for m in mine()] == [str(opened.pk)]


def _main(html: str) -> str:
    m = re.search(r"<main.*?</main>", html, re.S)
    return m.group(0) if m else html


def test_blinded_roles_see_open_reports_only_and_no_arm(study, personas, login):
    closed = do_generate_report("NCT07183384", personas["ustat"], "closed")
    opened = do_generate_report("NCT07183384", personas["stat"], "open")
    for who in BLINDED_VIEWERS:
        client = login(who)
        listing = client.get(BASE)
        assert listing.status_code == 200, who
        body = _main(listing.content.decode())
        assert f"reports/{opened.pk}/" in body and f"reports/{closed.pk}/" not in body, who
        assert "Closed report" not in body, who
        for url in (f"{BASE}{closed.pk}/", f"{BASE}{closed.pk}/pdf/"):
            assert client.get(url).status_code == 404, (who, url)
        for url in (BASE, f"{BASE}{opened.pk}/", f"{BASE}{opened.pk}/pdf/"):
            r = client.get(url)
            assert r.status_code == 200, (who, url)
            content = r.content.decode("latin-1")
            if "html" in r["Content-Type"]:
                content = _main(content)
            else:
                content = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
            for word in ARM_WORDS:
                assert word not in content, (who, url, word)
        assert client.post(BASE + "generate/", {"kind": "closed"}).status_code == 403, who
    # the pharmacist (unblinded, but not the DSMB's) and the coordinator: no DSMB reports
    for who in ("pharm_a", "coord_a"):
        assert login(who).get(BASE).status_code == 403, who
        assert login(who).get(f"{BASE}{closed.pk}/").status_code == 403, who


def test_the_dsmb_and_the_unblinded_statistician_see_the_closed_report(study, login):
    client = login("ustat")
    r = client.post(BASE + "generate/", {"kind": "closed"})
    report = DsmbReport.objects.get(kind="closed")
    assert r.status_code == 302 and r["Location"].endswith(f"reports/{report.pk}/")
    for who in ("ustat", "dsmb"):
        c = login(who)
        page = c.get(f"{BASE}{report.pk}/").content.decode()
        assert "Primary endpoint by arm" in page and "EXO" in page and "data:image/png" in page
        pdf = c.get(f"{BASE}{report.pk}/pdf/")
        assert pdf.status_code == 200 and pdf.content == bytes(report.pdf)
        assert f"reports/{report.pk}/" in c.get(BASE).content.decode()
    assert login("dsmb").post(BASE + "generate/", {"kind": "open"}).status_code == 403
    r = login("dm").post(BASE + "generate/", {"kind": "open"})
    assert r.status_code == 302 and DsmbReport.objects.filter(kind="open").count() == 1


def test_reports_of_an_empty_study_and_of_another_protocol(personas, db):
    """No participants yet, and TD-IRON-PP (three arms, no mirna or hematology form)."""
    from trialdesk.paths import PROTOCOLS_DIR
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.testing.personas import Persona, create_personas

    for kind in ("open", "closed"):
        r = do_generate_report("NCT07183384", personas["ustat"], kind)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(bytes(r.pdf))).pages)
        assert "No data at this cut." in text
    do_load_protocol(PROTOCOLS_DIR / "iron-pp.yaml", reason="test: study B")
    ustat = Persona("ustat_b", "unblinded_statistician", None, "Yudi Unblinded")
    b = create_personas("TD-IRON-PP", personas={"ustat_b": ustat}, site_names={"01": "RSHS"})
    r = do_generate_report("TD-IRON-PP", b["ustat_b"], "closed")
    assert PdfReader(io.BytesIO(bytes(r.pdf))).pages and r.study_id == "TD-IRON-PP"


def test_every_experimental_arm_is_compared_with_the_placebo_arm(monkeypatch):
    """TD-IRON-PP has two experimental arms (FCM1000, FCM500) listed before its placebo: the
    closed report compares each with PBO (pooled-variance t), not the first with the last."""
    from scipy import stats

    from trialdesk.core.protocol import load_protocol
    from trialdesk.dsmb import report_data
    from trialdesk.paths import PROTOCOLS_DIR

    protocol = load_protocol(PROTOCOLS_DIR / "iron-pp.yaml")
    arms = list(protocol.arms)
    assert report_data.control_arm(protocol, arms) == "PBO"
    rng = np.random.default_rng(5)
    values = {"FCM1000": 11.8, "FCM500": 11.4, "PBO": 10.9}
    rows, arm_of, pid = [], {}, 0
    for arm, mean in values.items():
        for _ in range(8):
            pid += 1
            arm_of[pid] = arm
            rows.append((pid, "W6", 5, float(rng.normal(mean, 0.8))))
    frame = pd.DataFrame(rows, columns=["participant_id", "visit", "sequence", "value"])
    monkeypatch.setattr(report_data, "item_values", lambda *a, **k: frame.copy())
    by_arm, diff, z = report_data._efficacy("TD-IRON-PP", protocol, arm_of, arms)
    assert list(diff["comparison"]) == ["FCM1000 - PBO", "FCM500 - PBO"]
    y = frame.assign(arm=frame["participant_id"].map(arm_of))
    for _, row in diff.iterrows():
        treat = row["comparison"].split(" - ")[0]
        t = stats.ttest_ind(
            y.loc[y["arm"] == treat, "value"], y.loc[y["arm"] == "PBO", "value"], equal_var=True
        )
        assert row["t"] == pytest.approx(t.statistic, rel=1e-9)
        assert row["p"] == pytest.approx(t.pvalue, rel=1e-9)
    assert z == pytest.approx(diff.loc[0, "t"])
    assert list(by_arm["arm"]) == arms and list(by_arm["n"]) == [8, 8, 8]
