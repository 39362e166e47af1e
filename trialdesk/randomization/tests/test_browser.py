"""Playwright (Debian's Chromium): screening → eligibility → consent → randomize → prepare →
dose, each step by the persona whose job it is. The eCRF data themselves are entered through
the data-capture action (their pages are tested by the data-capture issue)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from trialdesk.enrolment.testing import enter, screening_data
from trialdesk.participants.models import Participant
from trialdesk.randomization.tests.helpers import setup_list
from trialdesk.testing.browser import CHROMIUM, launched_chromium
from trialdesk.testing.personas import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs /usr/bin/chromium"),
]


@pytest.fixture
def browser(monkeypatch):
    yield from launched_chromium(monkeypatch)


def _login(browser, base, username):
    page = browser.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return page


@pytest.mark.django_db(transaction=True)
def test_screening_to_dosing_in_the_browser(live_server, browser, personas):
    setup_list(personas)
    base = live_server.url
    coord = _login(browser, base, "coord_a")
    coord.goto(f"{base}/staff/NCT07183384/enrolment/")
    coord.click("text=Screen a new participant")
    p = Participant.objects.get()
    enter(p, personas["coord_a"], screening_data(today=timezone.localdate()))
    coord.goto(f"{base}/staff/NCT07183384/enrolment/participants/{p.subject_id}/")
    coord.click("text=Record consent")
    assert "Consent recorded" in coord.content()
    coord.click("text=Assess eligibility from the entered data")
    assert coord.inner_text("#eligibility-result") == "Eligible"

    inv = _login(browser, base, "inv_a")
    inv.goto(f"{base}/staff/NCT07183384/enrolment/participants/{p.subject_id}/")
    inv.fill("input[name=password]", PASSWORD)
    inv.click("text=Sign eligibility")
    assert "Dr. Ayu Investigator" in inv.inner_text("#signature-manifest")

    coord.goto(f"{base}/staff/NCT07183384/randomization/participants/{p.subject_id}/")
    coord.click("button:has-text('Randomize')")
    kit = coord.inner_text("#kit-code")
    assert kit and "EXO" not in coord.content() and "PBO" not in coord.content()

    pharm = _login(browser, base, "pharm_a")
    pharm.goto(f"{base}/staff/NCT07183384/randomization/pharmacy/")
    assert kit in pharm.content()
    pharm.goto(f"{base}/staff/NCT07183384/randomization/participants/{p.subject_id}/")
    assert pharm.inner_text("#arm").split(" ")[0] in {"EXO", "PBO"}
    pharm.fill("input[name=lot]", "GMP-0001")
    pharm.fill("input[name=volume_ml]", "100")
    pharm.click("text=Record preparation")
    assert "prepared" in pharm.content()

    now = timezone.localtime()
    coord.goto(f"{base}/staff/NCT07183384/randomization/participants/{p.subject_id}/")
    coord.fill("input[name=volume_ml]", "100")
    # the dose starts after randomization and preparation (a minute ago at most)
    coord.fill("input[name=started_at]", now.strftime("%Y-%m-%d %H:%M"))
    coord.fill("input[name=stopped_at]", (now + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"))
    coord.click("text=Record dosing")
    assert "day 0 set" in coord.content()
    p.refresh_from_db()
    assert p.status == "enrolled" and p.anchor_date == now.date()
