"""Values reaching a CTCAE grade prompt an AE or a reasoned dismissal."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.audit.chain import verify
from trialdesk.core.protocol.models import NONE_OF_THESE
from trialdesk.crfs.actions import do_save_form
from trialdesk.paths import PROTOCOLS_DIR
from trialdesk.safety import ctcae
from trialdesk.safety.findings import FindingError, do_dismiss_finding
from trialdesk.safety.models import LabFinding
from trialdesk.safety.tests.helpers import ae_raw, save_ae, wall
from trialdesk.testing.participants import visit_of
from trialdesk.testing.urls import reverse

pytestmark = pytest.mark.django_db


def vitals(**over):
    data = {
        "timepoint": "VISIT",
        "measured_at": wall(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)),
        "arm_side": "",
        "sbp": "122",
        "dbp": "78",
        "hr": "80",
        "rr": "16",
        "temperature": "36.8",
        "spo2": "98",
        "pe_symptoms": NONE_OF_THESE,
    }
    data.update(over)
    return data


def save_vitals(participant, user, **over):
    return do_save_form(visit_of(participant, "D7"), "vitals", user, raw=vitals(**over))


def test_every_lab_grade_term_of_the_shipped_protocols_is_a_ctcae_term():
    from trialdesk.core.protocol import load_protocol

    for path in sorted(PROTOCOLS_DIR.glob("*.yaml")):
        spec = load_protocol(path).adverse_events
        for lab in spec.lab_grades if spec else ():
            assert ctcae.lookup(lab.ctcae_term), (path.name, lab.ctcae_term)


def test_a_graded_value_opens_a_prompt_that_an_ae_with_the_term_answers(personas, participant_a):
    save_vitals(participant_a, personas["coord_a"], sbp="165", dbp="95")
    finding = LabFinding.objects.get(item="sbp")
    assert (finding.item, finding.grade, finding.ctcae_term) == ("sbp", "G3", "Hypertension")
    assert finding.status == "open"
    save_vitals(participant_a, personas["coord_a"], sbp="150", dbp="95")
    finding.refresh_from_db()
    assert finding.grade == "G2" and finding.value == 150
    save_ae(
        participant_a,
        personas["inv_a"],
        ae_raw(term="Postpartum hypertension", ctcae_term="Hypertension", severity="G2"),
    )
    finding.refresh_from_db()
    assert finding.status == "ae_recorded" and finding.adverse_event.ctcae_term == "Hypertension"
    assert LabFinding.objects.filter(item="dbp").get().status == "ae_recorded"
    assert verify().ok


def test_a_corrected_value_withdraws_the_prompt(personas, participant_a):
    save_vitals(participant_a, personas["coord_a"], temperature="38.4")
    assert LabFinding.objects.get().ctcae_term == "Fever"
    save_vitals(participant_a, personas["coord_a"], temperature="37.4")
    assert LabFinding.objects.get().status == "withdrawn"


def test_the_investigator_dismisses_a_prompt_with_a_reason(personas, participant_a, login):
    save_vitals(participant_a, personas["coord_a"], sbp="145")
    finding = LabFinding.objects.get()
    page = login("inv_a").get(reverse("safety:dashboard")).content.decode()
    assert f'id="prompt-{finding.pk}"' in page and "Record an adverse event" in page
    from trialdesk.accounts.access import Refused

    with pytest.raises(Refused):
        do_dismiss_finding(finding, personas["coord_a"], reason="white-coat")
    with pytest.raises(FindingError, match="give the reason"):
        do_dismiss_finding(finding, personas["inv_a"], reason=" ")
    client = login("inv_a")
    url = reverse("safety:dismiss", args=[finding.pk])
    assert client.post(url, {"reason": "white-coat; repeat 128/80"}).status_code == 302
    finding.refresh_from_db()
    assert finding.status == "dismissed" and finding.decided_by == personas["inv_a"]
    assert (
        f'id="prompt-{finding.pk}"' not in client.get(reverse("safety:dashboard")).content.decode()
    )
    assert login("coord_b").get(reverse("safety:dashboard")).status_code == 200
    assert verify().ok


def test_site_02_does_not_see_site_01_prompts(personas, participant_a, login):
    save_vitals(participant_a, personas["coord_a"], sbp="170")
    finding = LabFinding.objects.get()
    page = login("coord_b").get(reverse("safety:dashboard")).content.decode()
    assert f'id="prompt-{finding.pk}"' not in page
    assert (
        login("inv_b")
        .post(reverse("safety:dismiss", args=[finding.pk]), {"reason": "x"})
        .status_code
        == 404
    )


def test_a_screening_value_is_baseline_not_a_prompt(personas, participant_a):
    """Severe-range BP at screening is medical history: no AE prompt; the same at day 7 is."""
    p = participant_a
    do_save_form(visit_of(p, "SCR"), "vitals", personas["coord_a"], raw=vitals(sbp="165"))
    assert not LabFinding.objects.filter(participant=p).exists()
    save_vitals(p, personas["coord_a"], sbp="165")
    assert LabFinding.objects.filter(participant=p, item="sbp", grade="G3").count() == 1
