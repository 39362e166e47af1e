"""The AE form is the record: versions on every change, CTCAE coding, seriousness, SUSAR."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.audit.chain import verify
from trialdesk.crfs.actions import CrfError
from trialdesk.crfs.models import FormInstance
from trialdesk.safety.models import AdverseEvent, ReportClock
from trialdesk.safety.tests.helpers import ae_raw, sae_raw, save_ae

pytestmark = pytest.mark.django_db


def test_every_change_to_the_ae_form_keeps_a_version(personas, participant_a):
    save_ae(participant_a, personas["coord_a"], ae_raw())
    ae = AdverseEvent.objects.get()
    assert ae.version == 1 and ae.ctcae_term == "Headache" and not ae.serious
    save_ae(participant_a, personas["inv_a"], ae_raw(severity="G2"))
    save_ae(participant_a, personas["inv_a"], ae_raw(severity="G2", outcome="RECOVERED"))
    ae.refresh_from_db()
    assert ae.version == 3 and ae.grade == "G2" and ae.outcome == "RECOVERED"
    versions = list(ae.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[0].values["severity"] == "G1" and versions[1].values["severity"] == "G2"
    assert versions[0].recorded_by == personas["coord_a"]
    assert versions[2].recorded_by == personas["inv_a"] and "outcome" in versions[2].changed
    assert not ReportClock.objects.exists()
    assert verify().ok


def test_a_ctcae_term_outside_the_shipped_list_is_refused_naming_field_value_and_allowed(
    personas, participant_a
):
    with pytest.raises(CrfError) as refused:
        save_ae(participant_a, personas["coord_a"], ae_raw(ctcae_term="Feverish"))
    message = refused.value.errors["ctcae_term"]
    assert "ctcae_term = 'Feverish' is not a CTCAE v5.0 term" in message
    assert "closest: Fever" in message and "Infusion related reaction" in message
    assert not FormInstance.objects.filter(form_code="ae").exclude(revision=0).exists()
    assert not AdverseEvent.objects.exists()


def test_the_ctcae_term_is_matched_without_regard_to_case(personas, participant_a):
    save_ae(participant_a, personas["coord_a"], ae_raw(ctcae_term="infusion RELATED reaction"))
    assert AdverseEvent.objects.get().ctcae_term == "Infusion related reaction"


def test_a_serious_related_unexpected_event_is_a_susar(personas, participant_a):
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    save_ae(participant_a, personas["inv_a"], sae_raw(aware, relatedness="POSSIBLE"))
    ae = AdverseEvent.objects.get()
    assert ae.serious and ae.related and ae.expected is False and ae.susar
    kinds = set(ae.clocks.values_list("kind", flat=True))
    assert kinds == {"sae_initial", "susar_15d"}
    sae = ae.clocks.get(kind="sae_initial")
    assert sae.due_at - sae.started_at == dt.timedelta(hours=24)
    assert abs(sae.started_at - aware) < dt.timedelta(minutes=1)
    susar = ae.clocks.get(kind="susar_15d")
    assert susar.due_at - susar.started_at == dt.timedelta(days=15)


def test_a_life_threatening_susar_has_the_7_day_clock(personas, participant_a):
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    raw = sae_raw(aware, relatedness="PROBABLE", severity="G4", seriousness="LIFE_THREATENING")
    save_ae(participant_a, personas["inv_a"], raw)
    ae = AdverseEvent.objects.get()
    assert ae.susar and ae.life_threatening
    assert set(ae.clocks.values_list("kind", flat=True)) == {"sae_initial", "susar_7d"}
    clock = ae.clocks.get(kind="susar_7d")
    assert clock.due_at - clock.started_at == dt.timedelta(days=7)


@pytest.mark.parametrize(
    "over",
    [{"relatedness": "UNLIKELY"}, {"relatedness": "DEFINITE", "expected": "yes"}],
)
def test_unrelated_or_expected_serious_events_are_not_susars(personas, participant_a, over):
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    save_ae(participant_a, personas["inv_a"], sae_raw(aware, **over))
    ae = AdverseEvent.objects.get()
    assert ae.serious and not ae.susar
    assert list(ae.clocks.values_list("kind", flat=True)) == ["sae_initial"]


def test_a_clock_the_event_no_longer_calls_for_is_voided_and_kept(personas, participant_a):
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    save_ae(participant_a, personas["inv_a"], sae_raw(aware))
    save_ae(participant_a, personas["inv_a"], ae_raw(serious="no"))
    clock = ReportClock.objects.get()
    assert clock.closed_at and "no longer required" in clock.void_reason and not clock.late
    assert verify().ok
