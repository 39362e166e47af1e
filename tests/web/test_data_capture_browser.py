"""A coordinator enters a complete day-7 visit in Chromium: inline errors, auto-queries, save.

Debian's Chromium, driven by Playwright (no browser download). Screenshots go to artifacts/.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from trialdesk.testing.browser import CHROMIUM, launched_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]

NOW = (dt.datetime.now() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
D7_FORMS = {
    "vitals": {"timepoint": "VISIT", "measured_at": NOW, "sbp": "124", "dbp": "80", "hr": "78",
               "rr": "16", "temperature": "36,7", "spo2": "98"},
    "hematology": {"specimen_at": NOW, "hgb": "11,9", "hct": "36", "mcv": "88", "mchc": "33",
                   "wbc": "8,1", "plt": "310"},
    "edema": {"assessed_at": NOW, "upper_right": "0", "upper_left": "0", "lower_right": "0",
              "lower_left": "0", "facial": "NONE"},
    "urine": {"collected_at": NOW, "method": "SPOT_MIDSTREAM", "dipstick": "NEG", "upcr": "0,12"},
    "imaging": {"performed_at": NOW, "approach": "TRANSABDOMINAL", "pi_right": "1,9", "pi_left": "2,1",
                "ri_right": "0,72", "ri_left": "0,75", "fundal_method": "NOT_PALPABLE"},
    "mirna": {"sample_id": "S-0001", "drawn_at": NOW, "tube_type": "EDTA", "chemistry": "TAQMAN",
              "run_id": "R1", "plate_id": "P1", "ct_mir126": "27,5", "ct_cel39": "22,1",
              "ct_mir23a": "25,0", "ct_mir451a": "21,0", "calibrator": "EXTERNAL"},
}  # fmt: skip


@pytest.fixture
def browser_page(monkeypatch):
    for browser in launched_chromium(monkeypatch):
        yield browser.new_page(viewport={"width": 1280, "height": 1600})


def _fill(page, code, value):
    element = page.locator(f"#id_{code}")
    tag = element.evaluate("e => e.tagName")
    if tag == "SELECT":
        element.select_option(value)
    else:
        element.fill(value)
        element.press("Tab")  # change event → htmx validation of the form as typed


@pytest.mark.django_db(transaction=True)
def test_coordinator_enters_a_complete_day_7_visit(live_server, personas, browser_page):
    from trialdesk.crfs.models import FormInstance, Query
    from trialdesk.testing.participants import make_participant
    from trialdesk.testing.personas import PASSWORD

    participant = make_participant(personas, "01", anchor=dt.date.today() - dt.timedelta(days=7))
    d7 = participant.visits.get(code="D7")
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "coord_a")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/staff/**")

    # Impossible value: inline error from htmx, before any save.
    page.goto(f"{live_server.url}/staff/NCT07183384/crfs/visit/{d7.pk}/vitals/1/")
    _fill(page, "sbp", "400")
    error = page.locator("#field-sbp .error")
    error.wait_for()
    assert "sbp = 400 mmHg is outside 50–300 mmHg" in error.inner_text()
    page.screenshot(path=str(ARTIFACTS / "d7-inline-error.png"), full_page=True)

    # Implausible value: a warning inline, a query after saving.
    for code, value in D7_FORMS["vitals"].items():
        _fill(page, code, value)
    page.check("#id_pe_symptoms input[value='_none']")  # required: "None of these" ticked
    _fill(page, "hr", "135")
    page.locator("#field-hr .warning").wait_for()
    page.click("#save-complete")
    page.wait_for_load_state("networkidle")
    assert "query" in page.locator(".messages").inner_text().lower()
    assert page.locator("#field-hr .query-flag").count() == 1
    page.screenshot(path=str(ARTIFACTS / "d7-auto-query.png"), full_page=True)

    for form_code, values in D7_FORMS.items():
        if form_code == "vitals":
            continue
        page.goto(f"{live_server.url}/staff/NCT07183384/crfs/visit/{d7.pk}/{form_code}/1/")
        for code, value in values.items():
            _fill(page, code, value)
        page.click("#save-complete")
        page.wait_for_load_state("networkidle")
        assert page.locator("#form-status").inner_text() == "Complete", page.content()[:3000]

    page.goto(f"{live_server.url}/staff/NCT07183384/participants/{participant.subject_id}/")
    page.screenshot(path=str(ARTIFACTS / "d7-casebook.png"), full_page=True)
    statuses = dict(FormInstance.objects.filter(visit=d7).values_list("form_code", "status"))
    assert statuses == {code: "complete" for code in D7_FORMS}
    assert list(Query.objects.values_list("item", flat=True)) == ["hr"]
