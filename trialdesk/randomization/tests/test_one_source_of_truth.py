"""Issue 11 item 2: consent, eligibility sign-off, allocation, preparation and dosing are each
recorded once, by their action; the eCRF items that name them as ``source`` are filled from
that record, read-only, with a link to it. Nothing of the arm or the lot reaches the eCRF."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from pydantic import ValidationError

from trialdesk.audit.models import AuditEvent
from trialdesk.core.protocol.models import FormField
from trialdesk.crfs.actions import CrfError, do_save_form
from trialdesk.crfs.models import FormInstance, ItemValue
from trialdesk.randomization import actions
from trialdesk.randomization.models import Allocation
from trialdesk.randomization.tests.helpers import ready, setup_list
from trialdesk.studies.timezones import site_zone
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.urls import reverse


def _items(p, visit_code: str, form_code: str) -> dict:
    fi = FormInstance.objects.get(visit=visit_of(p, visit_code), form_code=form_code)
    return {r.item: r for r in ItemValue.objects.filter(form=fi, status="entered")}


def _local(when: dt.datetime, p) -> str:
    return when.astimezone(site_zone(p.site)).replace(tzinfo=None).isoformat(timespec="minutes")


def test_consent_fills_the_consent_form_and_the_form_refuses_typing_it(personas, login):
    p = ready(personas)  # consent recorded by coord_a an hour ago, through the action
    consent = p.consents.get()
    items = _items(p, "SCR", "consent")
    assert items["consent_datetime"].value == _local(consent.consented_at, p)
    assert items["consent_version"].value == consent.version
    assert items["obtained_by"].value == personas["coord_a"].display_name()
    assert items["participant_signed"].value is True  # typed on the form: not a record fact
    event = AuditEvent.objects.filter(
        object_type="crfs.itemvalue", object_id=str(items["consent_version"].pk)
    ).get()
    assert event.actor_username == "coord_a" and "from the consent record" in event.reason
    # A save that sends a record's item is refused by name, and nothing is written.
    visit = visit_of(p, "SCR")
    with pytest.raises(CrfError) as refused:
        do_save_form(
            visit,
            "consent",
            personas["coord_a"],
            raw={"consent_datetime": "2026-01-01 08:00", "participant_signed": "no"},
        )
    assert "filled from the consent record" in refused.value.errors["consent_datetime"]
    assert _items(p, "SCR", "consent")["participant_signed"].value is True
    # The page shows it read-only, with the link to the enrolment record.
    url = reverse("crfs:form", args=[visit.pk, "consent", 1])
    page = login("coord_a").get(url).content.decode()
    assert 'name="consent_datetime"' not in page and 'name="participant_signed"' in page
    assert reverse("enrolment:participant", args=[p.subject_id]) in page
    assert "from the consent record" in page


def test_allocation_preparation_and_dosing_fill_the_dosing_form(personas, login):
    setup_list(personas)
    p = ready(personas)
    a = actions.do_randomize_participant(p, personas["coord_a"])
    # consent an hour ago (ready()); randomized, prepared and dosed since (a compressed day)
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=50)
    Allocation.objects.filter(pk=a.pk).update(allocated_at=start - dt.timedelta(minutes=5))
    items = _items(p, "D0", "dosing")
    assert items["randomization_number"].value == a.randomization_number
    assert items["kit_id"].value == a.kit_code
    assert "route" not in items
    a.refresh_from_db()
    actions.do_record_preparation(
        a,
        personas["pharm_a"],
        lot="EXO-2025-07",
        volume_ml=Decimal("100.0"),
        prepared_at=start - dt.timedelta(minutes=2),
    )
    assert _items(p, "D0", "dosing")["prepared_volume"].value == 100.0
    actions.do_record_dosing(
        p,
        personas["coord_a"],
        route="IV",
        volume_ml=Decimal("98.5"),
        started_at=start,
        stopped_at=start + dt.timedelta(minutes=45),
        administered_by=personas["inv_a"],
    )
    items = _items(p, "D0", "dosing")
    assert items["route"].value == "IV"
    assert items["administered_volume"].value == 98.5
    assert items["start_at"].value == _local(start, p)
    assert items["stop_at"].value == _local(start + dt.timedelta(minutes=45), p)
    assert items["interrupted"].value is False
    fi = FormInstance.objects.get(visit=visit_of(p, "D0"), form_code="dosing")
    derived = ItemValue.objects.get(form=fi, item="duration")
    assert derived.value == 45  # the form's own derivation ran on the record's values
    # Neither the lot nor the arm is anywhere on the eCRF or in its audit events.
    stored = json.dumps([r.value for r in ItemValue.objects.filter(participant=p)])
    assert "EXO-2025-07" not in stored and a.arm not in stored
    for e in AuditEvent.objects.filter(object_type="crfs.itemvalue", participant=p.subject_id):
        text = json.dumps([e.old_value, e.new_value])
        assert "EXO-2025-07" not in text and f'"{a.arm}"' not in text
    # The coordinator completes the form with what only the form asks.
    visit = visit_of(p, "D0")
    url = reverse("crfs:form", args=[visit.pk, "dosing", 1])
    client = login("coord_a")
    response = client.post(
        url,
        with_revision(url, {"premedication": "no", "site_check": "NORMAL", "complete": "1"}),
    )
    assert response.status_code in (200, 302), re.findall(
        r"class=\"(?:error|msg-error)[^>]*>([^<]*)", response.content.decode()
    )
    fi.refresh_from_db()
    assert fi.status == "complete", response.content.decode()[:2000]


def test_the_form_cannot_be_complete_before_the_record_exists(personas):
    p = ready(personas)
    visit = visit_of(p, "D0")
    with pytest.raises(CrfError) as refused:
        do_save_form(
            visit,
            "dosing",
            personas["coord_a"],
            raw={"premedication": "no", "site_check": "NORMAL"},
            complete=True,
        )
    assert "comes from the randomization record" in refused.value.errors["randomization_number"]
    assert "comes from the dosing record" in refused.value.errors["route"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "text", "source": "consent.when"}, "not a record attribute"),
        ({"type": "integer", "source": "consent.consented_at"}, "fills datetime fields"),
        ({"type": "text", "source": "preparation.lot"}, "not a record attribute"),
        (
            {"type": "text", "source": "allocation.kit_code", "entry": "site"},
            "is not entered or derived",
        ),
        (
            {"type": "boolean", "source": "eligibility.signed", "entered_by": "investigator"},
            "is not entered or derived",
        ),
    ],
)
def test_the_protocol_names_only_known_record_attributes(spec, message):
    with pytest.raises(ValidationError, match=message):
        FormField(code="x", label={"en": "X", "id": "X"}, **spec)
    assert FormField(
        code="x", label={"en": "X", "id": "X"}, type="text", source="allocation.kit_code"
    ).entry == ("system")
