"""The public portal in Chromium, as an anonymous visitor: the directory and the study page in
English and Bahasa Indonesia, the self-check both ways, a note created and opened with a wrong
then the right passcode. Every page at 390 and 1366 px: no page-level horizontal scroll, no
serious or critical axe-core violation, a screenshot in out/screens/public-*.png."""

from __future__ import annotations

import os

import pytest

from tests.web.test_layout_browser import AXE, SCREENS, WIDTHS, _check
from trialdesk.testing.browser import CHROMIUM, launched_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]

CODE = "NCT07183384"
NO = ("preeclampsia", "consent")
YES_NO = ("high_blood_pressure_before", "heart_disease", "infection", "vessel_damage", "habits")


@pytest.fixture
def chromium(monkeypatch):
    yield from launched_chromium(monkeypatch)


def _answer(page, *, habits: str):
    page.fill("#id_age", "30")
    page.fill("#id_days_since_birth", "6")
    for code in NO:
        page.check(f"input[name={code}][value=yes]")
    for code in YES_NO:
        page.check(f"input[name={code}][value={habits if code == 'habits' else 'no'}]")
    page.click("form:not(.language) button[type=submit]")


@pytest.mark.django_db(transaction=True)
def test_public_portal_in_chromium(live_server, loaded_protocol, chromium):
    SCREENS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(
        viewport={"width": WIDTHS[0][0], "height": WIDTHS[0][1]}, bypass_csp=True
    )
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    base = live_server.url
    problems: list[str] = []

    def check(name: str):
        for width, height in WIDTHS:
            problems.extend(_check(page, "public", name, width, height))
        page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})

    page.goto(base + "/")
    assert "Clinical studies open to new participants" in page.content()
    check("directory-en")
    page.click(f"a[href='/studies/{CODE}/']")
    assert "Why is this study being done?" in page.content()
    check("study-en")

    page.goto(f"{base}/studies/{CODE}/self-check/")
    check("self-check-form")
    _answer(page, habits="no")
    assert "You may be eligible" in page.content()
    check("self-check-eligible")
    page.goto(f"{base}/studies/{CODE}/self-check/")
    _answer(page, habits="yes")
    assert "This study may not be right for you now" in page.content()
    check("self-check-not-eligible")

    page.goto(f"{base}/studies/{CODE}/?passage=risks-1#note")
    page.fill("#id_note", "Ask the team about side effects.")
    page.fill("#id_passcode", "bandung-2025")
    page.click("#note button[type=submit]")
    assert "Your note is saved" in page.content()
    check("note-created")
    link = page.locator(".secret a").get_attribute("href")
    page.goto(link)
    check("note-passcode")
    page.fill("#id_passcode", "wrong-code")
    page.click("form:not(.language) button[type=submit]")
    assert "That passcode is not right" in page.content()
    check("note-wrong")
    page.fill("#id_passcode", "bandung-2025")
    page.click("form:not(.language) button[type=submit]")
    assert "Ask the team about side effects." in page.content()
    check("note-open")

    page.goto(f"{base}/studies/{CODE}/")
    page.select_option("#language-choice", "id")
    page.click("form.language button")
    assert "Mengapa studi ini dilakukan?" in page.content()
    check("study-id")
    page.goto(base + "/")
    assert "Studi klinis yang terbuka untuk peserta baru" in page.content()
    check("directory-id")
    context.close()
    assert problems == [], "\n".join(problems)
