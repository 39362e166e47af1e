"""Issue 11, item 7: the staff pages fit a phone (390 px) and a desktop (1366 px) for every
persona, and axe-core finds nothing serious or critical on them.

Chromium (Debian's, through Playwright) logs in as each persona and opens the main pages of
NCT07183384 at 390×844, then (same document, resized) at 1366×768. At each width: no page-level
horizontal scroll (`scrollWidth <= innerWidth`: wide tables scroll inside their own box), no
axe-core violation of impact "serious" or "critical", and a full-page screenshot in
out/screens/<persona>-<page>-<width>.png to look at.

axe-core is vendored under tests/web/vendor/ (MPL-2.0) and injected into the page; the context
bypasses the Content-Security-Policy for that injection only (test_csp_browser.py checks the
policy itself).
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

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENS = Path(__file__).resolve().parents[2] / "out" / "screens"
STUDY = "/staff/NCT07183384"
WIDTHS = ((390, 844), (1366, 768))
CLINICAL = ("home", "participants", "casebook", "ecrf", "worklist", "queries", "screening",
            "randomization")  # fmt: skip
# Each persona's main pages: those its role opens (the others answer 403).
SAFETY = ("safety", "aes", "ae", "rules", "interim", "reports", "report")
PAGES_OF = {
    "coord_a": (*CLINICAL, "deviations", "safety", "ae"),
    "inv_a": (*CLINICAL, "deviations", *SAFETY),
    "monitor": (*CLINICAL, "deviations", "trail", "safety", "rules", "reports", "report"),
    "dm": (*CLINICAL, "deviations", "trail", "rules", "reports", "report", "analyses"),
    "pharm_a": ("home", "screening", "randomization"),
    "stat": ("home", "rules", "interim", "reports", "report", "analyses"),
    "ustat": ("home", "rules", "interim", "reports", "report", "closed", "analyses"),
    "dsmb": ("home", *SAFETY, "closed", "decision"),
    "safety": ("home", *SAFETY, "decision"),
    "admin": ("home", "people"),
}


@pytest.fixture
def chromium(monkeypatch):
    yield from launched_chromium(monkeypatch)


def _study_data(personas) -> dict[str, str]:
    """Randomized participants (the randomization tables), one dosed a week ago (its casebook
    and day-7 vitals), an open query; returns page name -> path."""
    from trialdesk.crfs.actions import do_open_query, do_save_form
    from trialdesk.crfs.models import FormInstance
    from trialdesk.randomization.actions import do_randomize_participant
    from trialdesk.randomization.tests.helpers import ready, setup_list
    from trialdesk.testing.participants import make_participant

    setup_list(personas)
    for mode, severe in (("CS_EMERGENCY", True), ("VAGINAL_SPONT", False)):
        do_randomize_participant(
            ready(personas, delivery_mode=mode, severe=severe), personas["coord_a"]
        )
    participant = make_participant(personas, "01", anchor=dt.date.today() - dt.timedelta(days=7))
    d7 = participant.visits.get(code="D7")
    do_save_form(d7, "vitals", personas["coord_a"], raw={"sbp": "124", "dbp": "80"})
    fi = FormInstance.objects.get(visit=d7, form_code="vitals")
    do_open_query(fi, personas["monitor"], item="sbp", text="Please confirm against the source.")
    # Safety and the DSMB: a serious AE (its reporting clock), an open report, a decision.
    from trialdesk.dsmb.actions import do_create_decision
    from trialdesk.dsmb.reports import do_generate_report
    from trialdesk.safety.models import AdverseEvent
    from trialdesk.safety.tests.helpers import ae_raw, save_ae

    save_ae(
        participant,
        personas["inv_a"],
        ae_raw(serious="yes", seriousness="HOSPITALISATION", severity="G3", aware_at=""),
    )
    ae = AdverseEvent.objects.get(participant=participant)
    report = do_generate_report(STUDY.rsplit("/", 1)[1], personas["dm"], "open")
    closed = do_generate_report(STUDY.rsplit("/", 1)[1], personas["ustat"], "closed")
    decision = do_create_decision(
        STUDY.rsplit("/", 1)[1],
        personas["dsmb"],
        kind="pause",
        rationale="Pause enrolment until the unblinded listings of the first SAE are reviewed.",
        minutes=b"%PDF-1.4\n% minutes\n%%EOF\n",
        minutes_name="minutes.pdf",
    )
    return {
        "home": f"{STUDY}/",
        "participants": f"{STUDY}/participants/",
        "casebook": f"{STUDY}/participants/{participant.subject_id}/",
        "ecrf": f"{STUDY}/crfs/visit/{d7.pk}/vitals/1/",
        "worklist": f"{STUDY}/visits/worklist/",
        "queries": f"{STUDY}/crfs/queries/",
        "screening": f"{STUDY}/enrolment/",
        "randomization": f"{STUDY}/randomization/",
        "people": f"{STUDY}/people/",
        "deviations": f"{STUDY}/visits/deviations/",
        "trail": f"{STUDY}/audit/",
        "safety": f"{STUDY}/safety/",
        "aes": f"{STUDY}/safety/aes/",
        "ae": f"{STUDY}/safety/ae/{ae.pk}/",
        "rules": f"{STUDY}/dsmb/",
        "interim": f"{STUDY}/dsmb/interim/",
        "reports": f"{STUDY}/dsmb/reports/",
        "report": f"{STUDY}/dsmb/reports/{report.pk}/",
        "closed": f"{STUDY}/dsmb/reports/{closed.pk}/",
        "decision": f"{STUDY}/dsmb/decisions/{decision.pk}/",
        "analyses": f"{STUDY}/analyses/",
    }


def _session(browser, base: str, user):
    """A browser context logged in as `user` (the session cookie of a forced login: the login
    form would hash the password seven times) with axe-core in every page it opens."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    width, height = WIDTHS[0]
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
    context.add_init_script(path=str(AXE))
    return context.new_page()


AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""

OVERFLOW = OVERFLOW_JS


def _check(page, persona: str, name: str, width: int, height: int) -> list[str]:
    page.set_viewport_size({"width": width, "height": height})
    # One frame: the resize event has run (site.js marks the tables that scroll in their box).
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
    problems = []
    overflow = page.evaluate(OVERFLOW)
    if overflow:
        problems.append(f"{persona} {name} @{width}: horizontal scroll {json.dumps(overflow)}")
    page.screenshot(path=str(SCREENS / f"{persona}-{name}-{width}.png"), full_page=True)
    for v in page.evaluate(AXE_RUN):
        problems.append(f"{persona} {name} @{width}: axe {json.dumps(v)}")
    return problems


@pytest.mark.django_db(transaction=True)
def test_staff_pages_fit_a_phone_and_a_desktop_and_pass_axe(live_server, personas, chromium):
    paths = _study_data(personas)
    SCREENS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for persona, names in PAGES_OF.items():
        page = _session(chromium, live_server.url, personas[persona])
        for name in names:
            page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
            response = page.goto(live_server.url + paths[name])
            assert response.status == 200, (persona, name, response.status)
            for width, height in WIDTHS:
                problems += _check(page, persona, name, width, height)
        page.context.close()
    assert problems == [], "\n".join(problems)
