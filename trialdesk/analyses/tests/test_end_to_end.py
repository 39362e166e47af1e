"""End to end: a synthetic study with a known true effect, entered through the real actions →
database lock → unblinding → the analysis plan → report. The primary estimate's CI covers the
truth, equals an independent statsmodels fit of the same data, the results JSON is
byte-identical run to run, the PDF renders, and no blinded role reaches any of it."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from django.utils import timezone
from pypdf import PdfReader

from trialdesk.analyses import actions, runner
from trialdesk.analyses.models import Snapshot
from trialdesk.crfs.actions import do_save_form
from trialdesk.crfs.models import FormInstance, Query
from trialdesk.dsmb.tests.helpers import dose, ready
from trialdesk.randomization.actions import do_generate_list
from trialdesk.testing.participants import visit_of
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse
from trialdesk.visits.actions import do_record_visit_date

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
STUDY = "NCT07183384"
TRUE_EFFECT = 0.9  # EXO - PBO in log2 fold change at day 7
N = 20
CEL39 = 20.0
CENSORED, HEMOLYSED = 5, 3  # participants (by order) with a censored / a hemolysed D7 sample


def _mirna_raw(p, visit, ct126, ct23a=25.0):
    return {
        "sample_id": f"{p.subject_id}-{visit}",
        "drawn_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "tube_type": "EDTA",
        "ct_mir126": f"{ct126:.2f}",
        "ct_cel39": f"{CEL39:.2f}",
        "ct_mir23a": f"{ct23a:.2f}",
        "ct_mir451a": "21.00",
        "calibrator": "SUBJECT_BASELINE",
    }


def _edema_raw(facial):
    raw = {"assessed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "facial": facial}
    raw.update({k: "0" for k in ("upper_right", "upper_left", "lower_right", "lower_left")})
    return raw


@pytest.fixture
def trial(personas, settings):
    """N participants: strata alternate; baseline ΔCt ~ N(8, 0.6); day-7 log2 FC =
    0.9·EXO − 0.3·(ΔCt0 − 8) + N(0, 0.35). One participant misses her day-7 sample."""
    # a reproducible list (test mode), so the allocation, the data and the estimate are fixed
    settings.RANDOMIZATION_TEST_SEEDS = True
    do_generate_list(personas["ustat"], slots_per_stratum=20, seed=20261130)
    rng = np.random.default_rng(2026)
    truth = []
    for i in range(N):
        p = ready(
            personas,
            delivery_mode="CS_EMERGENCY" if i % 2 else "VAGINAL_SPONT",
            severe=i % 3 == 0,
        )
        a = dose(personas, p)
        user = personas["coord_a"]
        for code in ("D0", "D7"):
            visit = visit_of(p, code)
            if visit.actual_date is None:
                do_record_visit_date(visit, timezone.localdate(), user)
        dct0 = float(np.round(rng.normal(8.0, 0.6), 2))
        do_save_form(visit_of(p, "D0"), "mirna", user, raw=_mirna_raw(p, "D0", CEL39 + dct0))
        y = TRUE_EFFECT * (a.arm == "EXO") - 0.3 * (dct0 - 8.0) + rng.normal(0, 0.35)
        y = float(np.round(y, 2))
        if i == CENSORED:  # no amplification before the detection limit: Ct 36.5
            do_save_form(visit_of(p, "D7"), "mirna", user, raw=_mirna_raw(p, "D7", 36.5))
        elif i != N - 1:
            ct23a = 29.0 if i == HEMOLYSED else 25.0  # ΔCq 8 against miR-451a's 21: hemolysed
            do_save_form(
                visit_of(p, "D7"),
                "mirna",
                user,
                raw=_mirna_raw(p, "D7", CEL39 + dct0 - y, ct23a=ct23a),
            )
        facial = ["NONE", "MILD", "MODERATE"][int(rng.integers(0, 2 + (a.arm == "PBO")))]
        do_save_form(visit_of(p, "D7"), "edema", user, raw=_edema_raw(facial))
        truth.append((p.subject_id, a.arm, dct0, y if i not in (N - 1, CENSORED) else None))
        if i == N // 2 - 1:  # the DSMB's interim look at half the participants
            from trialdesk.dsmb.actions import do_run_interim

            do_run_interim(STUDY, personas["ustat"])
    # the data manager's cleaning, stood in for: unfinished forms and automatic queries
    Query.objects.update(status=Query.Status.CLOSED)
    FormInstance.objects.filter(status=FormInstance.Status.IN_PROGRESS).update(
        status=FormInstance.Status.COMPLETE
    )
    return pd.DataFrame(truth, columns=["subject_id", "arm", "dct0", "y"])


def test_lock_unblind_analyse_report(trial, personas, login):
    lock = actions.do_lock_database(
        STUDY,
        personas["dm"],
        password=PASSWORD,
        reason="final database lock of the synthetic trial",
    )
    shot = Snapshot.objects.get(pk=lock.snapshot_id)
    # before unblinding: the blinded statistician can neither run nor read
    stat = login("stat")
    page = stat.get(reverse("analyses:home")).content.decode()
    assert "Run the analysis plan" not in page and shot.sha256 in page
    assert stat.post(reverse("analyses:run-new"), {"snapshot": shot.pk}).status_code == 403
    run = actions.do_run_analysis(shot, personas["ustat"])
    for who in ("stat", "monitor", "dm", "coord_a", "inv_a", "dsmb", "admin", "pharm_a"):
        client = login(who)
        status = client.get(reverse("analyses:run", args=[run.pk])).status_code
        assert status in (403, 404), (who, status)
        url = reverse("analyses:run-file", args=[run.pk, "results.json"])
        assert client.get(url).status_code in (403, 404), who
    # results: the primary difference covers the truth and equals an independent fit
    results = json.loads(bytes(run.results))
    assert results["meta"]["snapshot_sha256"] == shot.sha256
    primary = results["analyses"][results["primary"]]
    assert "model" in primary, primary
    diff = primary["model"]["differences"][0]
    assert diff["ci_lower"] < TRUE_EFFECT < diff["ci_upper"], diff
    data = trial.dropna().copy()  # the missed sample and the censored one
    data["exo"] = (data["arm"] == "EXO").astype(float)
    # the derived endpoint is −ΔΔCt of the entered Ct values (two decimals each)
    levels = dict(
        (r["subject_id"], r["factor_levels"]) for r in actions.snap.load(shot)["allocations"]
    )
    data["delivery_mode"] = data["subject_id"].map(lambda s: levels[s]["delivery_mode"])
    data["pe_severe"] = data["subject_id"].map(lambda s: levels[s]["pe_severe"])
    fit = smf.ols("y ~ exo + dct0 + C(delivery_mode) + C(pe_severe)", data=data).fit()
    assert diff["estimate"] == pytest.approx(fit.params["exo"], abs=0.02)
    # the censored Ct is missing for the model (listed), the hemolysed sample flagged
    qc = primary["qpcr"]
    censored_id, hemolysed_id = (
        trial.loc[CENSORED, "subject_id"],
        trial.loc[HEMOLYSED, "subject_id"],
    )
    assert qc["set_missing"] == [censored_id] and qc["censored"] == 1 and qc["hemolysed"] == 1
    assert {r["subject_id"] for r in qc["flagged"]} == {censored_id, hemolysed_id}
    assert qc["max_difference_from_stored"] < 0.011  # the eCRF's derivation agrees (2 decimals)
    assert primary["qc_clean"]["n"] == N - 3
    assert primary["model"]["n"] == N - 2
    assert "multiple_imputation" in primary and "per_protocol" in primary
    mi = primary["multiple_imputation"]
    assert mi["m"] == runner.MI_IMPUTATIONS
    assert results["analyses"]["edema"].get("model") or results["analyses"]["edema"].get(
        "not_estimable"
    )
    # the group-sequential final look at the information reached (interim 10 of 18)
    look = results["final_look"]
    assert results["meta"]["interim"]["n"] == N // 2
    assert look["information_fractions"][0] == pytest.approx((N // 2) / (N - 2))
    lo, hi = look["confidence_interval"]
    assert lo < look["median_unbiased"] < hi and 0 < look["adjusted_p_value"] < 1
    assert "Group-sequential final look" in run.html
    # reproducible: the same snapshot and seed give the same bytes
    again = runner.results_bytes(actions.build_results(shot, seed=run.seed))
    assert again == bytes(run.results)
    # the report renders: PDF pages and text, the hashes named
    reader = PdfReader(io.BytesIO(bytes(run.pdf)))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert shot.sha256[:16] in text and "ANCOVA" in text
    assert shot.sha256 in run.html and "CONSORT" in run.html
    _screenshots(login("ustat").get(reverse("analyses:run", args=[run.pk])).content.decode())
    # after unblinding the blinded statistician reads it
    actions.do_unblind_study(
        STUDY, personas["ustat"], password=PASSWORD, reason="final analysis after the lock"
    )
    stat = login("stat")  # the loop above logged the test client in as others
    assert stat.get(reverse("analyses:run", args=[run.pk])).status_code == 200
    # one changed value changes the next snapshot's hash
    actions.do_unlock_database(
        STUDY, personas["dm"], password=PASSWORD, reason="one Ct value corrected at the lab"
    )
    p = visit_of_subject(trial.loc[0, "subject_id"])
    do_save_form(
        visit_of(p, "D7"),
        "edema",
        personas["coord_a"],
        raw={"facial": "MARKED"},
        reason="corrected against the source",
    )
    FormInstance.objects.filter(status=FormInstance.Status.IN_PROGRESS).update(
        status=FormInstance.Status.COMPLETE
    )
    relock = actions.do_lock_database(
        STUDY, personas["dm"], password=PASSWORD, reason="database lock after the correction"
    )
    assert Snapshot.objects.get(pk=relock.snapshot_id).sha256 != shot.sha256


def _screenshots(page_html: str) -> None:
    """The run page as the unblinded statistician sees it, with the site's stylesheet, at
    phone and desktop width (kept under out/screens/); no horizontal scroll at either."""
    import re
    from pathlib import Path

    from trialdesk.testing.browser import CHROMIUM, OVERFLOW_JS

    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium on this machine")
    from playwright.sync_api import sync_playwright

    root = Path(__file__).resolve().parents[3]
    css = (root / "trialdesk/static/trialdesk/site.css").read_text()
    page_html = re.sub(r'<link rel="stylesheet"[^>]*>', f"<style>{css}</style>", page_html)
    page_html = re.sub(r"<script[^>]*></script>", "", page_html)
    screens = root / "out" / "screens"
    screens.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            for width, height in ((390, 844), (1366, 768)):
                page.set_viewport_size({"width": width, "height": height})
                page.set_content(page_html)
                assert page.evaluate(OVERFLOW_JS) is None, width
                page.screenshot(
                    path=str(screens / f"ustat-analysis-run-{width}.png"), full_page=True
                )
        finally:
            browser.close()


def visit_of_subject(subject_id):
    from trialdesk.participants.models import Participant

    return Participant.objects.get(subject_id=subject_id)
