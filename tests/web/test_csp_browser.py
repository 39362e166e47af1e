"""Finding 14: the strict Content-Security-Policy breaks nothing. Chromium loads the main staff
pages (htmx validation, the language switch, the e-consent pad, the people pages at 390 px) and
reports no CSP violation in its console."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.web.test_data_capture_browser import ARTIFACTS, _fill
from trialdesk.testing.browser import CHROMIUM, launched_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def chromium(monkeypatch):
    yield from launched_chromium(monkeypatch)


def _session(browser, live_server, username, width=1280):
    from trialdesk.testing.personas import PASSWORD

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/staff/**")
    return page, console


def _visit(page, url):
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    assert response.status < 400, (url, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]


def _violations(console: list[str]) -> list[str]:
    words = ("content security policy", "refused to", "htmx:evaldisallowed", "pageerror")
    return [line for line in console if any(w in line.lower() for w in words)]


@pytest.mark.django_db(transaction=True)
def test_staff_pages_raise_no_csp_violation(live_server, personas, chromium):
    from trialdesk.accounts.models import Site
    from trialdesk.enrolment.testing import screened
    from trialdesk.testing.participants import make_participant

    participant = make_participant(personas, "01", anchor=dt.date.today() - dt.timedelta(days=7))
    d7 = participant.visits.get(code="D7")
    in_screening = screened(Site.objects.get(code="01"), personas["coord_a"])
    base = live_server.url

    page, console = _session(chromium, live_server, "coord_a")
    for path in (
        "/staff/",
        "/staff/NCT07183384/participants/",
        f"/staff/NCT07183384/participants/{participant.subject_id}/",
        "/staff/NCT07183384/visits/worklist/",
        "/staff/NCT07183384/crfs/queries/",
        "/staff/NCT07183384/enrolment/",
        f"/staff/NCT07183384/enrolment/participants/{in_screening.subject_id}/",
        "/staff/NCT07183384/randomization/",
        f"/staff/NCT07183384/audit/participant/{participant.subject_id}/",
    ):
        _visit(page, base + path)
    # htmx at work: inline validation swaps a fragment in.
    _visit(page, f"{base}/staff/NCT07183384/crfs/visit/{d7.pk}/vitals/1/")
    _fill(page, "sbp", "400")
    page.locator("#field-sbp .error").wait_for()
    # The language switch submits from a static script (no onchange attribute).
    with page.expect_navigation():
        page.select_option("select[name=language]", "id")
    page.wait_for_load_state("networkidle")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("django_language") == "id"
    # The e-consent pad draws from a static script.
    _visit(page, f"{base}/staff/NCT07183384/enrolment/participants/{in_screening.subject_id}/")
    pad = page.locator("canvas#sig").bounding_box()
    page.mouse.move(pad["x"] + 10, pad["y"] + 10)
    page.mouse.down()
    page.mouse.move(pad["x"] + 120, pad["y"] + 60)
    page.mouse.up()
    assert _violations(console) == []

    admin, admin_console = _session(chromium, live_server, "admin", width=390)
    for path in (
        "/staff/NCT07183384/people/",
        f"/staff/NCT07183384/people/{personas['coord_a'].pk}/",
        "/staff/NCT07183384/people/sites/",
    ):
        _visit(admin, base + path)
        overflow = admin.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 390, (path, overflow)
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "people-390.png"), full_page=True)
    ustat, ustat_console = _session(chromium, live_server, "ustat")
    _visit(ustat, base + "/staff/NCT07183384/people/role-requests/")
    assert _violations(admin_console + ustat_console) == []
