"""Issue 11, acceptance: one participant's site day walked through the real pages in Chromium.

Each step is done by the persona whose job it is, logged in through the login page, clicking
and typing as a person does (nothing is saved through an action, only the study and its
personas are set up):

 1. the unblinded statistician generates the randomization list;
 2. the coordinator screens a new participant, records consent, enters the screening visit's
    eCRFs (demographics, screening, consent: the items the consent record fills are read-only);
 3. the investigator enters her own item (pe_diagnosis_confirmed); the coordinator assesses
    eligibility; the investigator signs it off (password re-entered) and the screening form
    shows investigator_signoff = Yes, read-only, from the eligibility sign-off;
 4. the coordinator randomizes (the page shows no arm);
 5. the pharmacist records the preparation (lot, volume);
 6. the coordinator records the dose, then opens the day-0 dosing eCRF: randomization number,
    kit, route, volumes and times are filled read-only; she completes the rest;
 7. she enters day-7 vital signs measured today, six days before the day-7 window opens: a
    protocol deviation, which the monitor finds on the deviation log;
 8. the monitor source-verifies the dosing form and raises a query; the coordinator answers,
    the monitor closes it; the data manager finds the consent and the dose, in words, in the
    study-wide audit trail filtered by the participant; the investigator signs the dosing form
    from her signing worklist.

Every page visited is looked at 390 px wide (no page-level horizontal scroll: wide tables scroll
inside their own box) and at 1366 px, with a full-page screenshot at each width in
out/screens/walk-<nn>-<persona>-<page>-<width>.png. The clicks themselves happen at 390 px.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from trialdesk.testing.browser import CHROMIUM, OVERFLOW_JS, launched_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]

SCREENS = Path(__file__).resolve().parents[2] / "out" / "screens"
STUDY = "/staff/NCT07183384"
PHONE, DESKTOP = (390, 844), (1366, 768)
ARM_WORDS = ("EXO", "PBO", "exosome", "placebo", "Placebo", "saline")

OVERFLOW = OVERFLOW_JS


@pytest.fixture
def chromium(monkeypatch):
    yield from launched_chromium(monkeypatch)


class Walk:
    """The browser contexts of the personas and the pages they have looked at."""

    def __init__(self, browser, base: str):
        self.browser, self.base = browser, base
        self.seen = 0
        self.problems: list[str] = []
        SCREENS.mkdir(parents=True, exist_ok=True)
        for old in SCREENS.glob("walk-*.png"):
            old.unlink()

    def look(self, page, persona: str, name: str) -> None:
        """The page as it is now, at 390 px (no horizontal scroll) and at 1366 px; back to
        390 px for the next click."""
        self.seen += 1
        page.wait_for_load_state("networkidle")
        for width, height in (PHONE, DESKTOP):
            page.set_viewport_size({"width": width, "height": height})
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
            if width == PHONE:
                overflow = page.evaluate(OVERFLOW)
                if overflow:
                    self.problems.append(
                        f"{self.seen:02d} {persona} {name} ({page.url}): horizontal scroll at "
                        f"{width} px {json.dumps(overflow)}"
                    )
            shot = SCREENS / f"walk-{self.seen:02d}-{persona}-{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
        page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})

    def login(self, persona: str):
        """A new browser (context) at phone width, logged in through the login page."""
        from trialdesk.testing.personas import PASSWORD

        context = self.browser.new_context(
            viewport={"width": PHONE[0], "height": PHONE[1]}, locale="en-GB"
        )
        page = context.new_page()
        page.goto(f"{self.base}/accounts/login/")
        self.look(page, persona, "login")
        page.fill("input[name=username]", persona)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/staff/**")
        return page

    def go(self, page, persona: str, path: str, name: str) -> None:
        """Open a page by its address (a bookmark or the menu), and look at it."""
        response = page.goto(self.base + path)
        assert response.status == 200, (persona, path, response.status)
        self.look(page, persona, name)

    def menu(self, page, persona: str, label: str, name: str) -> None:
        """Follow a link of the top menu, and look at the page."""
        page.click(f"header.top nav a:text-is('{label}')")
        self.look(page, persona, name)


def _message(page) -> str:
    return page.locator(".messages").inner_text() if page.locator(".messages").count() else ""


def _fill(page, code: str, value: str) -> None:
    """One eCRF item, as typed: select, radio (yes/no), or an input (date, date-time, text)."""
    element = page.locator(f"#id_{code}")
    tag = element.evaluate("e => e.tagName")
    if tag == "SELECT":
        element.select_option(value)
    elif tag == "SPAN":  # yes/no radios
        element.locator(f"input[value='{value}']").check()
    else:
        element.fill(value)


def _fill_form(page, values: dict[str, str]) -> None:
    """Several items, then the last one left (its change event), and htmx's checks of the
    form as typed answered before the next click (they share the live server's database)."""
    for code, value in values.items():
        _fill(page, code, value)
    page.keyboard.press("Tab")
    _settled(page)


def _settled(page) -> None:
    page.wait_for_timeout(50)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def _form_status(page) -> str:
    return page.inner_text("#form-status").strip()


def _reserved(page, code: str) -> str:
    """A read-only item filled from an action record: its shown value (no input exists)."""
    assert page.locator(f"#id_{code}").count() == 0, f"{code} is editable"
    return page.inner_text(f"#out-{code}").strip()


def _casebook_form(page, visit_code: str, form_code: str) -> None:
    """From the casebook, the form's chip in the visit's row."""
    page.click(f"tr#visit-{visit_code} a.form-chip[href*='/{form_code}/1/']")


def _minute(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


@pytest.mark.django_db(transaction=True)
def test_a_participants_site_day_walked_through_the_pages(live_server, personas, chromium):
    from django.utils import timezone

    from trialdesk.audit.models import AuditEvent
    from trialdesk.crfs.models import FormInstance, ItemValue, Query, Signature
    from trialdesk.enrolment.models import Consent, EligibilitySignature
    from trialdesk.enrolment.testing import screening_data
    from trialdesk.participants.models import Participant
    from trialdesk.randomization.models import Allocation, Dosing, Preparation, RandomizationList
    from trialdesk.testing.personas import PASSWORD

    walk = Walk(chromium, live_server.url)
    today = timezone.localdate()
    data = screening_data(today=today)

    # 1. The unblinded statistician generates the list (the system draws the seed).
    ustat = walk.login("ustat")
    walk.menu(ustat, "ustat", "Randomization", "randomization")
    ustat.click("text=Manage the list")
    walk.look(ustat, "ustat", "list")
    ustat.fill("input[name=slots_per_stratum]", "20")
    ustat.click("button:text-is('Generate')")
    assert "List generated" in _message(ustat)
    walk.look(ustat, "ustat", "list-generated")
    assert RandomizationList.objects.filter(active=True).count() == 1
    ustat.context.close()

    # 2. The coordinator screens a new participant and records consent half an hour ago.
    coord = walk.login("coord_a")
    walk.menu(coord, "coord_a", "Screening", "screening-log")
    coord.click("text=Screen a new participant")
    p = Participant.objects.get()
    sid = p.subject_id
    assert f"Screening {sid} opened" in _message(coord)
    walk.look(coord, "coord_a", "enrolment")
    shown_now = coord.input_value("#consent-form input[name=consented_at]")
    consented = dt.datetime.strptime(shown_now, "%Y-%m-%d %H:%M") - dt.timedelta(minutes=30)
    coord.fill("#consent-form input[name=consented_at]", _minute(consented))
    coord.click("text=Record consent")
    assert "Consent recorded" in _message(coord)
    consent = Consent.objects.get(participant=p)
    assert consent.obtained_by == personas["coord_a"] and consent.version == "ICF-2.0"
    walk.look(coord, "coord_a", "enrolment-consented")

    # ... and enters the screening visit's forms from the casebook.
    coord.click("main >> text=Casebook")
    walk.look(coord, "coord_a", "casebook")
    _casebook_form(coord, "SCR", "demog")
    walk.look(coord, "coord_a", "demog")
    _fill_form(coord, data["demog"])
    coord.click("#save-complete")
    coord.wait_for_load_state("networkidle")
    assert _form_status(coord) == "Complete", coord.inner_text("#form-errors")
    walk.look(coord, "coord_a", "demog-saved")

    coord.click(f"main a:text-is('{sid}')")  # back to the casebook
    _casebook_form(coord, "SCR", "screening")
    walk.look(coord, "coord_a", "screening")
    assert (
        "entered by the investigator only"
        in coord.inner_text("#field-pe_diagnosis_confirmed").lower()
    )
    assert _reserved(coord, "investigator_signoff") == "—"
    own = {k: v for k, v in data["screening"].items() if k != "pe_diagnosis_confirmed"}
    _fill_form(coord, own)
    coord.click("#save")  # not complete: the investigator's items are still to come
    coord.wait_for_load_state("networkidle")
    assert _form_status(coord) == "In progress", coord.inner_text("#form-errors")
    walk.look(coord, "coord_a", "screening-saved")

    coord.click(f"main a:text-is('{sid}')")
    _casebook_form(coord, "SCR", "consent")
    walk.look(coord, "coord_a", "consent-form")
    assert _reserved(coord, "consent_version") == "ICF-2.0"
    assert _reserved(coord, "obtained_by") == "Siti Coordinator"
    assert _reserved(coord, "consent_datetime").startswith(consented.strftime("%Y-%m-%d"))
    assert "from the consent record" in coord.inner_text("#field-consent_datetime")
    _fill_form(coord, data["consent"])
    coord.click("#save-complete")
    coord.wait_for_load_state("networkidle")
    assert _form_status(coord) == "Complete", coord.inner_text("#form-errors")
    walk.look(coord, "coord_a", "consent-form-saved")

    # 3. The investigator enters her own item on the screening form.
    inv = walk.login("inv_a")
    visits = {v.code: v for v in p.visits.all()}
    walk.go(inv, "inv_a", f"{STUDY}/participants/{sid}/", "casebook")
    _casebook_form(inv, "SCR", "screening")
    walk.look(inv, "inv_a", "screening")
    _fill(inv, "pe_diagnosis_confirmed", "yes")
    inv.click("#save")
    inv.wait_for_load_state("networkidle")
    assert "Saved" in _message(inv), inv.inner_text("#form-errors")
    walk.look(inv, "inv_a", "screening-saved")
    scr_form = FormInstance.objects.get(visit=visits["SCR"], form_code="screening")
    row = ItemValue.objects.get(form=scr_form, item="pe_diagnosis_confirmed")
    assert row.value is True and row.updated_by == personas["inv_a"]

    # The coordinator assesses eligibility from the entered data.
    walk.go(coord, "coord_a", f"{STUDY}/enrolment/participants/{sid}/", "enrolment")
    coord.click("text=Assess eligibility from the entered data")
    assert coord.inner_text("#eligibility-result") == "Eligible"
    walk.look(coord, "coord_a", "enrolment-assessed")

    # The investigator finds it on her signing worklist and signs it off.
    walk.menu(inv, "inv_a", "To sign", "to-sign")
    inv.click(f"#eligibility-to-sign a:text-is('{sid}')")
    walk.look(inv, "inv_a", "enrolment")
    inv.fill("#eligibility input[name=password]", PASSWORD)
    inv.click("text=Sign eligibility")
    assert "Eligibility confirmed and signed" in _message(inv)
    assert "Dr. Ayu Investigator" in inv.inner_text("#signature-manifest")
    assert (
        EligibilitySignature.objects.get(assessment__participant=p).signed_by == personas["inv_a"]
    )
    walk.look(inv, "inv_a", "enrolment-signed")

    # The screening form now shows the sign-off, read-only, from the eligibility sign-off.
    inv.click("main >> text=Casebook")
    _casebook_form(inv, "SCR", "screening")
    assert _reserved(inv, "investigator_signoff") == "Yes"
    assert "from the eligibility sign-off" in inv.inner_text("#field-investigator_signoff")
    inv.click("#save-complete")
    inv.wait_for_load_state("networkidle")
    assert _form_status(inv) == "Complete", inv.inner_text("#form-errors")
    walk.look(inv, "inv_a", "screening-complete")

    # 4. The coordinator randomizes; the page shows the number and kit, never the arm.
    coord.click("main >> text=Randomization")  # the readiness section's "randomize" link
    walk.look(coord, "coord_a", "randomization")
    coord.click("button:text-is('Randomize')")
    assert "Randomized:" in _message(coord)
    allocation = Allocation.objects.get(participant=p)
    assert coord.inner_text("#rand-no") == allocation.randomization_number
    kit = coord.inner_text("#kit-code")
    assert kit == allocation.kit_code
    assert coord.locator("#arm").count() == 0
    text = coord.inner_text("main")
    assert not any(word in text for word in ARM_WORDS), text
    walk.look(coord, "coord_a", "randomized")

    # 5. The pharmacist prepares the kit from her pharmacy list.
    pharm = walk.login("pharm_a")
    walk.menu(pharm, "pharm_a", "Pharmacy", "pharmacy")
    assert kit in pharm.inner_text("main")
    pharm.click(f"main a:text-is('{sid}')")
    walk.look(pharm, "pharm_a", "randomization")
    pharm.fill("input[name=lot]", "GMP-EXO-0001")
    pharm.fill("input[name=volume_ml]", "2")
    pharm.click("text=Record preparation")
    assert f"Kit {kit} prepared" in _message(pharm)
    prep = Preparation.objects.get(allocation=allocation)
    assert prep.lot == "GMP-EXO-0001" and prep.volume_ml == 2
    walk.look(pharm, "pharm_a", "prepared")
    pharm.context.close()

    # 6. The coordinator records the intramuscular dose given this minute.
    walk.go(coord, "coord_a", f"{STUDY}/randomization/participants/{sid}/", "randomization")
    start = timezone.localtime().replace(second=0, microsecond=0)
    stop = start + dt.timedelta(minutes=1)
    coord.select_option("#dosing select[name=route]", "IM")
    coord.fill("input[name=injection_site]", "left deltoid")
    coord.fill("#dosing input[name=volume_ml]", "2")
    coord.fill("input[name=started_at]", _minute(start))
    coord.fill("input[name=stopped_at]", _minute(stop))
    coord.select_option("select[name=administered_by]", label="Siti Coordinator")
    coord.click("text=Record dosing")
    assert "day 0 set" in _message(coord), _message(coord)
    dosing = Dosing.objects.get(participant=p)
    assert dosing.route == "IM" and dosing.volume_ml == 2
    p.refresh_from_db()
    assert p.status == "enrolled" and p.anchor_date == start.date()
    walk.look(coord, "coord_a", "dosed")

    # The day-0 dosing eCRF: what the records hold is there, read-only; she adds the rest.
    coord.click("main >> text=Casebook")
    walk.look(coord, "coord_a", "casebook-dosed")
    _casebook_form(coord, "D0", "dosing")
    walk.look(coord, "coord_a", "dosing-form")
    assert _reserved(coord, "randomization_number") == allocation.randomization_number
    assert _reserved(coord, "kit_id") == kit
    assert _reserved(coord, "route") == "IM"
    assert float(_reserved(coord, "prepared_volume").replace(",", ".")) == 2
    assert float(_reserved(coord, "administered_volume").replace(",", ".")) == 2
    assert _reserved(coord, "start_at").replace("T", " ").startswith(_minute(start))
    assert _reserved(coord, "stop_at").replace("T", " ").startswith(_minute(stop))
    assert _reserved(coord, "interrupted") == "No"
    assert "from the" in coord.inner_text("#field-kit_id")
    _fill_form(
        coord, {"im_site": "DELTOID", "im_side": "LEFT", "premedication": "no",
                "site_check": "NORMAL"},
    )  # fmt: skip
    coord.click("#save-complete")
    coord.wait_for_load_state("networkidle")
    assert _form_status(coord) == "Complete", coord.inner_text("#form-errors")
    walk.look(coord, "coord_a", "dosing-form-saved")
    dosing_form = FormInstance.objects.get(visit__participant=p, form_code="dosing")
    filled = dict(ItemValue.objects.filter(form=dosing_form).values_list("item", "value"))
    assert filled["kit_id"] == kit and filled["im_site"] == "DELTOID"

    # 7. Day-7 vital signs dated today: six days before the day-7 window opens, a deviation.
    coord.click(f"main a:text-is('{sid}')")
    _casebook_form(coord, "D7", "vitals")
    walk.look(coord, "coord_a", "d7-vitals")
    now = timezone.localtime().replace(second=0, microsecond=0)
    _fill_form(
        coord, {"timepoint": "VISIT", "measured_at": now.strftime("%Y-%m-%dT%H:%M"),
                "sbp": "128", "dbp": "82", "hr": "76"},
    )  # fmt: skip
    coord.click("#save")
    coord.wait_for_load_state("networkidle")
    assert "recorded as a protocol deviation" in _message(coord), _message(coord)
    walk.look(coord, "coord_a", "d7-vitals-deviation")
    # Two deviations: screening on the dosing day (the protocol puts it on days -14 to -1,
    # recorded when day 0 moved its window) and the day-7 vital signs six days early.
    deviations = AuditEvent.objects.filter(object_type="visits.deviation", participant=sid)
    assert sorted(e.new_value["visit"] for e in deviations) == ["D7", "SCR"]

    # 8. The monitor: the deviation log, then the dosing form (verify, query).
    monitor = walk.login("monitor")
    walk.menu(monitor, "monitor", "Deviations", "deviations")
    deviations = monitor.inner_text("main table")
    assert sid in deviations and "Vital signs" in deviations, deviations
    assert "Out of window: 6 days early" in deviations, deviations
    assert "Out of window: 1 day late" in deviations, deviations  # screening on day 0
    walk.go(monitor, "monitor", f"{STUDY}/participants/{sid}/", "casebook")
    _casebook_form(monitor, "D0", "dosing")
    walk.look(monitor, "monitor", "dosing-form")
    monitor.click("button:text-is('Mark source-verified')")
    assert _form_status(monitor) == "Source-verified"
    dosing_form.refresh_from_db()
    assert dosing_form.status == "verified"
    monitor.select_option("select[name=item]", "site_check")
    monitor.fill("form.card input[name=text]", "Site check at the end: please confirm the time.")
    monitor.click("button:text-is('Raise query')")
    query = Query.objects.get(form=dosing_form)
    assert query.status == "open" and query.item == "site_check"
    walk.look(monitor, "monitor", "dosing-form-query")

    # The coordinator answers it from her query list.
    walk.menu(coord, "coord_a", "Queries", "queries")
    coord.click(f"main a[href*='/visit/{visits['D0'].pk}/dosing/']")
    walk.look(coord, "coord_a", "dosing-form-query")
    coord.fill(f"#query-{query.pk} input[name=text]", "Checked at 5 minutes: normal.")
    coord.click(f"#query-{query.pk} button:text-is('Answer')")
    query.refresh_from_db()
    assert query.status == "answered"
    walk.look(coord, "coord_a", "dosing-form-answered")
    coord.context.close()

    # The monitor closes the answered query.
    monitor.reload()
    monitor.fill(f"#query-{query.pk} input[name=text]", "Thank you.")
    monitor.click(f"#query-{query.pk} button:text-is('Close')")
    query.refresh_from_db()
    assert query.status == "closed"
    walk.look(monitor, "monitor", "dosing-form-closed")
    monitor.context.close()

    # The data manager reads the participant's story in the study-wide audit trail.
    dm = walk.login("dm")
    walk.menu(dm, "dm", "Audit trail", "audit-trail")
    dm.fill("form.filters input[name=participant]", sid)
    dm.click("form.filters button:text-is('Filter')")
    walk.look(dm, "dm", "audit-trail-participant")
    found = _trail_rows(dm)
    # The records themselves, in words: who, what, and the values (never the arm or the lot).
    consent_row = next(r for r in found if "\tconsent created\t" in r)
    assert "coord_a (coordinator)" in consent_row and "version: ICF-2.0" in consent_row
    dosing_row = next(r for r in found if "\tdosing created\t" in r)
    assert f"kit_code: {kit}" in dosing_row and "route: IM" in dosing_row
    assert any("\tallocation randomized\t" in r for r in found)
    assert any("\teligibility assessment signed\t" in r for r in found)
    assert not any(word in "\n".join(found) for word in ("EXO", "PBO", "GMP-EXO-0001"))
    dm.context.close()

    # The investigator signs the dosing form from her worklist.
    walk.menu(inv, "inv_a", "To sign", "to-sign")
    inv.click("#forms-to-sign tr:has(a:text-is('dosing')) a:text-is('Sign')")
    walk.look(inv, "inv_a", "sign")
    inv.fill("#password", PASSWORD)
    inv.click("main form button:text-is('Sign')")
    assert _form_status(inv) == "Signed", inv.inner_text("main")
    assert Signature.objects.filter(form=dosing_form, signer=personas["inv_a"]).exists()
    walk.look(inv, "inv_a", "dosing-form-signed")
    inv.context.close()

    assert walk.problems == [], "\n".join(walk.problems)


def _trail_rows(page) -> list[str]:
    """The rows of the filtered audit trail, page after page (the table is paginated)."""
    rows: list[str] = []
    while True:
        rows += [r.inner_text() for r in page.locator("main table tbody tr").all()]
        following = page.locator("main nav.pager a[rel=next]")
        if not following.count():
            return rows
        following.first.click()
        page.wait_for_load_state("networkidle")
