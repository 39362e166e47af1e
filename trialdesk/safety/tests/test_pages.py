"""Safety pages: who opens them, site scoping, the report action, the CIOMS-I PDF, no arm."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from pypdf import PdfReader

from trialdesk.randomization.actions import (
    do_randomize_participant,
    do_record_dosing,
    do_record_preparation,
)
from trialdesk.randomization.models import Allocation
from trialdesk.randomization.tests.helpers import ready, setup_list
from trialdesk.safety.clocks import tick
from trialdesk.safety.models import AdverseEvent, ReportClock
from trialdesk.safety.tests.helpers import ae_raw, sae_raw, save_ae
from trialdesk.studies.registry import get_protocol
from trialdesk.testing.urls import reverse

pytestmark = pytest.mark.django_db

ALLOWED = ("coord_a", "inv_a", "monitor", "dm", "dsmb")
REFUSED = ("pharm_a", "stat", "ustat", "admin")


@pytest.fixture
def aes(personas, participant_a, participant_b):
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    save_ae(participant_a, personas["inv_a"], sae_raw(aware, relatedness="POSSIBLE"))
    save_ae(participant_b, personas["inv_b"], ae_raw(term="Site-two nausea", ctcae_term=""))
    a = AdverseEvent.objects.get(participant=participant_a)
    b = AdverseEvent.objects.get(participant=participant_b)
    return a, b


@pytest.mark.parametrize("who", ALLOWED)
def test_the_safety_pages_open_for_the_roles_that_read_them(login, aes, who):
    a, _b = aes
    client = login(who)
    for url in (
        reverse("safety:dashboard"),
        reverse("safety:list"),
        reverse("safety:ae", args=[a.pk]),
        reverse("safety:cioms", args=[a.pk]),
    ):
        assert client.get(url).status_code == 200, (who, url)
    nav = client.get(reverse("safety:dashboard")).content.decode()
    assert reverse("safety:dashboard") in nav


@pytest.mark.parametrize("who", REFUSED)
def test_other_roles_are_refused(login, aes, who):
    a, _b = aes
    client = login(who)
    for url in (
        reverse("safety:dashboard"),
        reverse("safety:list"),
        reverse("safety:ae", args=[a.pk]),
    ):
        assert client.get(url).status_code == 403, (who, url)


def test_a_coordinator_of_site_01_never_sees_site_02_aes(login, aes):
    a, b = aes
    client = login("coord_a")
    listing = client.get(reverse("safety:list")).content.decode()
    assert "Severe headache" in listing and "Site-two nausea" not in listing
    assert client.get(reverse("safety:ae", args=[b.pk])).status_code == 404
    assert client.get(reverse("safety:cioms", args=[b.pk])).status_code == 404
    dashboard = client.get(reverse("safety:dashboard")).content.decode()
    assert "1 adverse events" in dashboard
    monitor = login("monitor").get(reverse("safety:list")).content.decode()
    assert "Site-two nausea" in monitor


def test_the_ae_page_shows_versions_clocks_and_the_ctcae_grades(
    login, aes, personas, participant_a
):
    a, _b = aes
    save_ae(
        participant_a,
        personas["inv_a"],
        sae_raw(a.aware_at, relatedness="POSSIBLE", ctcae_term="Fever"),
    )
    page = login("inv_a").get(reverse("safety:ae", args=[a.pk])).content.decode()
    assert "SAE initial report" in page and "SUSAR report" in page
    assert "CTCAE v5.0 grades of" in page and "38.0 - 39.0 degrees C" in page
    assert "Record the report as sent" in page
    assert page.count("<tr><td>2</td>") == 1 and "<tr><td>1</td>" in page  # two versions
    assert reverse("crfs:form", args=[a.form.visit_id, "ae", 1]) in page
    assert (
        "Record the report as sent"
        not in login("monitor").get(reverse("safety:ae", args=[a.pk])).content.decode()
    )


def test_the_investigator_records_the_report_from_the_page(login, aes):
    a, _b = aes
    clock = a.clocks.get(kind="sae_initial")
    client = login("inv_a")
    sent = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7) - dt.timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    url = reverse("safety:close-clock", args=[clock.pk])
    assert login("coord_a").post(url, {"sent_at": sent}).status_code == 403
    client = login("inv_a")
    response = client.post(url, {"sent_at": sent, "reference": "SPONSOR-SAE-7"})
    assert response.status_code == 302
    clock.refresh_from_db()
    assert clock.closed_at and clock.report_reference == "SPONSOR-SAE-7" and not clock.late
    assert login("inv_b").post(url, {"sent_at": sent}).status_code == 404


def test_the_cioms_pdf_names_the_study_id_event_seriousness_and_blinded_product(login, aes):
    a, _b = aes
    response = login("inv_a").get(reverse("safety:cioms", args=[a.pk]))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    assert "CIOMS I" in text and "Study ID 01-001" in text
    assert "Severe headache with hospital admission" in text
    assert "Hospitalisation or prolongation" in text
    assert "MSC-derived exosome or placebo, blinded" in text
    assert "Possible" in text and "SUSAR yes" in text
    assert "Reporter inv_a (investigator)" in text


def _dosed_with_reaction(personas):
    """A randomized, dosed participant whose dosing recorded an infusion reaction; returns
    (participant, allocation, secrets: the arm's names and the lot)."""
    setup_list(personas)
    participant = ready(personas)
    allocation = do_randomize_participant(participant, personas["coord_a"])
    protocol = get_protocol(participant)
    arm = protocol.arm(Allocation.objects.get(pk=allocation.pk).arm)
    secrets = {arm.name.en, arm.name.id, arm.description.en[:40], "LOT-SECRET-77"}
    start = timezone.now() - dt.timedelta(hours=2)
    Allocation.objects.filter(pk=allocation.pk).update(allocated_at=start - dt.timedelta(hours=2))
    do_record_preparation(
        allocation,
        personas["pharm_a"],
        lot="LOT-SECRET-77",
        volume_ml=Decimal("100"),
        prepared_at=start - dt.timedelta(hours=1),
    )
    do_record_dosing(
        participant,
        personas["coord_a"],
        route="IV",
        volume_ml=Decimal("100"),
        started_at=start,
        stopped_at=start + dt.timedelta(hours=1),
        administered_by=personas["inv_a"],
        infusion_reaction=True,
        reaction_description="Flushing and chills at 20 minutes",
        reaction_onset=start + dt.timedelta(minutes=20),
        ae_reference="AE form 1",
    )
    return participant, allocation, secrets


def test_no_arm_or_lot_on_any_page_pdf_or_email(personas, login):
    participant, allocation, secrets = _dosed_with_reaction(personas)
    dashboard = login("inv_a").get(reverse("safety:dashboard")).content.decode()
    assert f'id="reaction-{participant.subject_id}"' in dashboard
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=23)
    raw = sae_raw(aware, relatedness="PROBABLE", ctcae_term="Infusion related reaction")
    save_ae(participant, personas["inv_a"], raw, visit="D0")
    ae = AdverseEvent.objects.get(participant=participant)
    dashboard = login("inv_a").get(reverse("safety:dashboard")).content.decode()
    assert f'id="reaction-{participant.subject_id}"' not in dashboard
    page = login("inv_a").get(reverse("safety:ae", args=[ae.pk])).content.decode()
    assert "Flushing and chills at 20 minutes" in page and "AE form 1" in page
    assert ae.dosing_reaction is not None and ae.dosing_reaction.participant_id == participant.pk
    mail.outbox.clear()
    assert tick()  # reminder (75 % of 24 h passed)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), tick=False):
        assert "late" in tick()
    outputs = [m.subject + m.body for m in mail.outbox]
    assert outputs
    for who in ALLOWED:
        client = login(who)
        for url in (
            reverse("safety:dashboard"),
            reverse("safety:list"),
            reverse("safety:ae", args=[ae.pk]),
        ):
            outputs.append(client.get(url).content.decode())
        pdf = client.get(reverse("safety:cioms", args=[ae.pk])).content
        outputs.append(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    for text in outputs:
        for secret in secrets:
            assert secret not in text
        assert "lot" not in text.lower().split()
    assert ReportClock.objects.filter(late=True).exists()


def test_the_safety_physician_sees_the_arm_and_prints_an_audited_unblinded_cioms(personas, login):
    from trialdesk.audit.models import AuditEvent

    participant, allocation, secrets = _dosed_with_reaction(personas)
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    raw = sae_raw(aware, relatedness="PROBABLE", ctcae_term="Infusion related reaction")
    save_ae(participant, personas["inv_a"], raw, visit="D0")
    ae = AdverseEvent.objects.get(participant=participant)
    arm = get_protocol(participant).arm(Allocation.objects.get(pk=allocation.pk).arm)
    client = login("safety")
    page = client.get(reverse("safety:ae", args=[ae.pk])).content.decode()
    assert 'id="ae-arm"' in page and arm.name.en in page
    dashboard = client.get(reverse("safety:dashboard")).content.decode()
    table = dashboard[dashboard.index('id="ae-by-arm"') :]
    row = table[table.index(arm.name.en) :].split("</tr>")[0]
    # randomized 1, with an AE 1, AEs 1, grade >= 3 per sae_raw's grade, serious 1, related 1
    assert re.findall(r"<td>(\d+)</td>", row)[:3] == ["1", "1", "1"]
    before = AuditEvent.objects.filter(action="unblind").count()
    response = client.get(reverse("safety:cioms", args=[ae.pk]) + "?unblinded=1")
    assert response.status_code == 200 and "UNBLINDED" in response["Content-Disposition"]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert arm.name.en in text and "UNBLINDED" in text
    event = AuditEvent.objects.filter(action="unblind").order_by("-pk").first()
    assert AuditEvent.objects.filter(action="unblind").count() == before + 1
    assert event.participant == participant.subject_id and "CIOMS" in event.reason
    # The blinded roles get neither the link nor the unblinded PDF
    for who in ALLOWED:
        blinded = login(who)
        page = blinded.get(reverse("safety:ae", args=[ae.pk])).content.decode()
        assert "cioms-unblinded" not in page and 'id="ae-arm"' not in page
        assert 'id="ae-by-arm"' not in blinded.get(reverse("safety:dashboard")).content.decode()
        url = reverse("safety:cioms", args=[ae.pk]) + "?unblinded=1"
        assert blinded.get(url).status_code == 403, who
    assert AuditEvent.objects.filter(action="unblind").count() == before + 1


def test_recoding_the_ae_away_from_a_reaction_term_unlinks_the_dosing_reaction(personas, login):
    participant, _allocation, _secrets = _dosed_with_reaction(personas)
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    save_ae(participant, personas["inv_a"], sae_raw(aware, ctcae_term="Anaphylaxis"), visit="D0")
    ae = AdverseEvent.objects.get(participant=participant)
    assert ae.dosing_reaction_id is not None
    save_ae(participant, personas["inv_a"], sae_raw(aware, ctcae_term="Fever"), visit="D0")
    ae.refresh_from_db()
    assert ae.dosing_reaction_id is None
    dashboard = login("inv_a").get(reverse("safety:dashboard")).content.decode()
    assert f'id="reaction-{participant.subject_id}"' in dashboard
