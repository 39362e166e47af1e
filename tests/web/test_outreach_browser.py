"""Outreach in Chromium: the contact form with a validation error, then success with the nearest
centre chosen from a city; the coordinator turns the lead into a screening-log entry; notices:
sign-up, the confirmation link, one notice, unsubscribe. Every public page at 390 and 1366 px:
no page-level horizontal scroll, no serious or critical axe-core violation, a screenshot in
out/screens/outreach-*.png."""

from __future__ import annotations

import os
import re

import pytest
from django.core import mail

from tests.web.test_layout_browser import AXE, SCREENS, WIDTHS, _check, _session
from trialdesk.testing.browser import CHROMIUM, launched_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]

CODE = "NCT07183384"
LINK = re.compile(r"https?://[^\s]+?(/notices/(?:confirm|unsubscribe)/[^\s/]+/)")


@pytest.fixture
def chromium(monkeypatch):
    yield from launched_chromium(monkeypatch)


@pytest.mark.django_db(transaction=True)
def test_contact_lead_and_notices_in_chromium(live_server, personas, chromium):
    from trialdesk.enrolment.models import ScreeningEntry
    from trialdesk.outreach.models import Lead, Subscription
    from trialdesk.outreach.notices import send_notices

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
            problems.extend(_check(page, "outreach", name, width, height))
        page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})

    # the contact form: a wrong e-mail and no consent are named; nothing stored
    page.goto(f"{base}/studies/{CODE}/contact/")
    page.fill("input[name=place]", "Bandung")
    page.fill("input[name=first_name]", "Wulandari")
    page.fill("input[name=last_name]", "Kusumawati")
    page.fill("input[name=email]", "not-an-address")
    page.fill("input[name=phone]", "+62 812 3456 7890")
    page.click("form[method=post] button[type=submit]")
    text = page.content()
    assert "not-an-address" in text and "consent" in text.lower()
    assert Lead.objects.count() == 0
    check("contact-errors")
    # corrected: the nearest active centre (site 02 is inactive) with the distance
    page.fill("input[name=email]", "wulan@example.org")
    page.check("input[name=consent]")
    page.click("form[method=post] button[type=submit]")
    text = page.content()
    assert "Hasan Sadikin" in text and "km" in text
    assert Lead.objects.count() == 1
    check("contact-sent")
    # the coordinator of that centre turns the lead into a screening-log entry
    staff = _session(chromium, base, personas["coord_a"])
    staff.goto(f"{base}/staff/{CODE}/outreach/leads/")
    staff.click(f"a[href$='/outreach/leads/{Lead.objects.get().pk}/']")
    assert "Wulandari" in staff.content()
    staff.click("text=Turn into a screening-log entry")
    lead = Lead.objects.get()
    assert lead.status == "screened" and lead.participant_id is not None
    assert ScreeningEntry.objects.filter(participant_id=lead.participant_id).exists()
    staff.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
    staff.screenshot(path=str(SCREENS / "outreach-lead-converted-390.png"), full_page=True)
    # notices: sign-up, confirm, one notice, unsubscribe
    mail.outbox.clear()
    page.goto(f"{base}/notices/")
    page.fill("input[name=email]", "dewi@example.org")
    page.check("input[name=conditions][value=Preeclampsia]")
    page.fill("input[name=region]", "Bandung")
    check("notices")
    page.click("form[method=post] button[type=submit]")
    assert Subscription.objects.count() == 1 and len(mail.outbox) == 1
    confirm = LINK.findall(mail.outbox[0].body)[0]
    assert "/notices/confirm/" in confirm
    page.goto(base + confirm)
    check("notices-confirmed")
    assert Subscription.objects.get().confirmed_at is not None
    assert send_notices() == 1 and send_notices() == 0  # once
    unsubscribe = next(u for u in LINK.findall(mail.outbox[-1].body) if "unsubscribe" in u)
    page.goto(base + unsubscribe)
    page.click("form[method=post] button[type=submit]")
    assert Subscription.objects.get().unsubscribed_at is not None
    check("notices-unsubscribed")
    assert not problems, "\n".join(problems)
