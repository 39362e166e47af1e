"""The DSMB pages: blinded roles see the rules' state without any by-arm number."""

from __future__ import annotations

import re

import pytest

from trialdesk.dsmb.models import Decision, RuleState
from trialdesk.dsmb.tests.helpers import ae, dosed_participants, setup_list
from trialdesk.testing.personas import PASSWORD

BASE = "/staff/NCT07183384/dsmb/"
ARM_WORDS = ("EXO", "PBO", "exosome", "placebo")


@pytest.fixture
def paused(personas):
    setup_list(personas)
    groups = dosed_participants(personas, exo=2, other=1)
    ae(personas, groups["EXO"][0], 1)
    ae(personas, groups["EXO"][1], 1)
    return groups


def _main(html: str) -> str:
    m = re.search(r"<main.*?</main>", html, re.S)
    return m.group(0) if m else html


def test_blinded_roles_see_the_state_but_no_arm(paused, login):
    state = RuleState.objects.get(rule_code="related_sae_count")
    assert state.fires and state.by_arm["EXO"]["events"] == 2
    for who in ("coord_a", "inv_a", "monitor", "dm", "stat", "admin"):
        html = login(who).get(BASE).content.decode()
        assert "enrolment paused by the safety rule &#x27;related_sae_count&#x27;" in html, who
        main = _main(html)
        for word in ARM_WORDS:
            assert word not in main, (who, word)
        assert "2 / 2" not in main and "events / dosed" not in main, who
        assert login(who).get(BASE + "decisions/new/").status_code == 403


def test_the_dsmb_and_the_unblinded_statistician_see_counts_by_arm(paused, login):
    for who in ("dsmb", "ustat"):
        html = login(who).get(BASE).content.decode()
        assert "EXO" in html and "2 / 2" in html, who


def test_decision_upload_and_sign_on_the_pages(paused, login):
    client = login("dsmb")
    from trialdesk.dsmb.models import Pause

    pause = Pause.objects.get(closed_at__isnull=True, rule_code="related_sae_count")
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("m.txt", b"not a pdf", content_type="text/plain")
    r = client.post(
        BASE + "decisions/new/",
        {"kind": "continue", "rationale": "ok to go on", "pauses": [pause.pk], "minutes": bad},
    )
    assert r.status_code == 400 and "minutes: the file is not a PDF" in r.content.decode()
    pdf = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    r = client.post(
        BASE + "decisions/new/",
        {"kind": "continue", "rationale": "ok to go on", "pauses": [pause.pk], "minutes": pdf},
    )
    d = Decision.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"decisions/{d.pk}/")
    r = client.post(BASE + f"decisions/{d.pk}/sign/", {"password": PASSWORD}, follow=True)
    assert "Dian DSMB" in r.content.decode() and d.signatures.count() == 1
    assert (
        login("ustat").post(BASE + f"decisions/{d.pk}/sign/", {"password": PASSWORD}).status_code
        == 403
    )
    assert d.signatures.count() == 1


def test_the_safety_dashboard_shows_each_rules_state_blinded_for_blinded_roles(personas, login):
    """Issue 12 item 7: the safety dashboard carries the stopping rules' current state (the
    DSMB app's panel), pooled for every role: each rule fired or not, no arm and no count; the
    counts by arm stay on the DSMB's own page (its closed session)."""

    setup_list(personas)
    exo = dosed_participants(personas, exo=2)["EXO"]
    ae(personas, exo[0], 1)
    url = "/staff/NCT07183384/safety/"
    inv = login("inv_a").get(url).content.decode()
    assert 'id="stopping-rules"' in inv and "related_sae_count" in inv and "not fired" in inv
    assert "EXO" not in inv and "PBO" not in inv and "events / dosed" not in inv
    board = login("dsmb").get(url).content.decode()  # pooled here too: arms on the DSMB page
    assert 'id="stopping-rules"' in board and "EXO" not in board and "PBO" not in board
    assert "EXO: events / dosed" in login("dsmb").get("/staff/NCT07183384/dsmb/").content.decode()
