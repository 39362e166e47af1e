"""True times (issue 11, item 1): an action at a known UTC instant shows that instant in UTC on
the Part 11 pages (signature, item history, audit trail) and in the site's named time zone on
ordinary pages. Before the fix, all three Part 11 pages showed Asia/Jakarta time (08:12:44)
under a UTC label."""

from __future__ import annotations

import datetime as dt

import time_machine

from trialdesk.crfs.models import FormInstance
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import make_participant, visit_of, with_revision
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse

INSTANT = dt.datetime(2026, 3, 2, 1, 12, 44, tzinfo=dt.UTC)  # 08:12:44 in Jakarta (UTC+7)
AS_UTC = "2026-03-02 01:12:44 UTC"
AS_JAKARTA = "2026-03-02 08:12 WIB (Asia/Jakarta)"


def _saved_verified_and_signed(login, personas):
    """At INSTANT: vitals entered (a value change), source-verified and signed at site 01."""
    with time_machine.travel(INSTANT, tick=False):
        participant = make_participant(personas, "01", anchor=dt.date(2026, 2, 23))
        visit = visit_of(participant, "D7")
        data = {**vitals(measured_at="2026-03-02T08:00"), "complete": "1"}
        saved = login("coord_a").post(url(visit), with_revision(url(visit), data))
        assert saved.status_code == 302, saved.content.decode()[:2000]
        fi = FormInstance.objects.get(visit=visit, form_code="vitals")
        assert login("monitor").post(reverse("crfs:verify", args=[fi.pk])).status_code == 302
        signed = login("inv_a").post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD})
        assert signed.status_code == 302
    return participant, visit, fi


def test_part_11_pages_show_the_instant_in_utc(login, personas):
    participant, visit, fi = _saved_verified_and_signed(login, personas)

    form_page = login("coord_a").get(url(visit)).content.decode()
    signature = form_page[form_page.index('class="signature') :][:600]
    assert AS_UTC in signature, signature
    assert "08:12:44" not in signature

    history = login("coord_a").get(reverse("crfs:history", args=[fi.pk, "sbp"])).content.decode()
    assert "When (UTC)" in history and AS_UTC in history
    assert "08:12" not in history

    trail = reverse("audit:participant", args=[participant.subject_id])
    page = login("monitor").get(trail).content.decode()
    assert "When (UTC)" in page and AS_UTC in page
    assert "08:12" not in page


def test_ordinary_pages_show_the_site_time_with_its_zone_named(login, personas):
    _, visit, _ = _saved_verified_and_signed(login, personas)

    form_page = login("coord_a").get(url(visit)).content.decode()
    last_saved = form_page[form_page.index('id="last-saved"') :][:300]
    assert f"Last saved {AS_JAKARTA}" in last_saved, last_saved
    assert f"source verified {AS_JAKARTA}" in last_saved


def test_a_site_with_its_own_zone_shows_its_own_time(personas, monkeypatch):
    """Site 02 in Makassar (UTC+8, WITA) while the deployment runs on Asia/Jakarta."""
    from django.template import Context, Template

    from trialdesk.accounts.models import Site
    from trialdesk.studies import timezones

    real = timezones.get_protocol()
    moved = real.sites["02"].model_copy(update={"timezone": "Asia/Makassar"})
    changed = real.model_copy(update={"sites": {**real.sites, "02": moved}})
    monkeypatch.setattr(timezones, "get_protocol", lambda study=None: changed)
    template = Template(
        "{% load times %}{{ when|local:a }} | {{ when|local:b }} | {{ when|utc }} | {{ when|zone }}"
    )
    shown = template.render(Context({"when": INSTANT, "a": Site.objects.get(code="01"), "b": "02"}))
    assert shown == (
        f"{AS_JAKARTA} | 2026-03-02 09:12 WITA (Asia/Makassar) | {AS_UTC} | WIB (Asia/Jakarta)"
    )
