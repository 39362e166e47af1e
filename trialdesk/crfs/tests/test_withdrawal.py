"""Withdrawal of consent is enforced in data capture, not only in enrolment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from trialdesk.crfs.models import FormInstance
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.enrolment.actions import do_record_consent, do_withdraw_consent
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.visits.actions import VisitError, do_record_visit_date


def _withdraw(participant, personas, scope: str) -> None:
    now = timezone.now()
    coord = personas["coord_a"]
    do_record_consent(
        participant, coord, version="ICF-2.0", consented_at=now - dt.timedelta(days=9)
    )
    do_withdraw_consent(
        participant, coord, scope=scope, withdrawn_at=now - dt.timedelta(hours=2), reason="test"
    )


def test_no_further_data_refuses_values_after_the_withdrawal(login, personas, participant_a):
    _withdraw(participant_a, personas, "no_further_data")
    client = login("coord_a")
    after = visit_of(participant_a, "D7")  # target date today, after the withdrawal
    response = client.post(url(after), with_revision(url(after), vitals()))
    assert "withdrew consent" in response.content.decode()
    assert not FormInstance.objects.filter(
        visit=after, form_code="vitals", items__isnull=False
    ).exists()

    before = visit_of(participant_a, "D0")  # a week ago: collected before the withdrawal
    client.post(url(before), with_revision(url(before), vitals()))
    assert (
        FormInstance.objects.get(visit=before, form_code="vitals").items.filter(item="sbp").exists()
    )


def test_no_further_visits_refuses_a_visit_date_after_the_withdrawal(personas, participant_a):
    _withdraw(participant_a, personas, "no_further_visits")
    with pytest.raises(VisitError, match="withdrew consent"):
        do_record_visit_date(visit_of(participant_a, "D7"), dt.date.today(), personas["coord_a"])
