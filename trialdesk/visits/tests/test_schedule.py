"""Visits from the protocol schedule: windows, states over time, unscheduled visits, worklist."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from trialdesk.accounts.models import Site
from trialdesk.participants.actions import do_create_participant, do_set_anchor_date
from trialdesk.testing.urls import reverse
from trialdesk.visits.actions import VisitError, do_mark_visit_missed, do_record_visit_date
from trialdesk.visits.models import Visit
from trialdesk.visits.services import schedule_visits

ANCHOR = dt.date(2026, 3, 2)


@pytest.fixture
def dosed(personas):
    p = do_create_participant(Site.objects.get(code="01"), personas["coord_a"])
    do_set_anchor_date(p, ANCHOR, personas["coord_a"], reason="dosed")
    return p


def test_schedule_has_every_scheduled_visit_with_its_window(dosed):
    visits = {v.code: v for v in dosed.visits.all()}
    assert list(visits) == ["SCR", "D0", "D7", "M1", "M3", "M6", "M12", "M24"]
    d7 = visits["D7"]
    assert (d7.target_date, d7.earliest_date, d7.latest_date) == (
        dt.date(2026, 3, 9),
        dt.date(2026, 3, 8),
        dt.date(2026, 3, 10),
    )
    assert visits["M24"].target_date == ANCHOR + dt.timedelta(days=730)


def test_schedule_visits_is_idempotent_and_follows_a_moved_anchor(
    dosed, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with transaction.atomic():
        assert schedule_visits(dosed) == 0
    with transaction.atomic():
        dosed.anchor_date = ANCHOR + dt.timedelta(days=1)
        dosed.save()
        assert schedule_visits(dosed) == 8
    assert Visit.objects.get(participant=dosed, code="D7").target_date == dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    "today, state",
    [
        (dt.date(2026, 3, 5), "upcoming"),
        (dt.date(2026, 3, 8), "due"),
        (dt.date(2026, 3, 10), "due"),
        (dt.date(2026, 3, 11), "overdue"),
    ],
)
def test_states_over_time(dosed, today, state):
    assert Visit.objects.get(participant=dosed, code="D7").state(today) == state


def test_done_in_and_out_of_window_and_missed(dosed, personas):
    user = personas["coord_a"]
    d7 = Visit.objects.get(participant=dosed, code="D7")
    m1 = Visit.objects.get(participant=dosed, code="M1")
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)):
        d7 = do_record_visit_date(d7, dt.date(2026, 3, 9), user)
        assert d7.state() == "done"
        with pytest.raises(VisitError, match="give a reason"):
            do_record_visit_date(d7, dt.date(2026, 3, 12), user)
        d7 = do_record_visit_date(d7, dt.date(2026, 3, 12), user, reason="wrong day typed")
        assert d7.state() == "out_of_window"
        with pytest.raises(VisitError, match="say why"):
            do_mark_visit_missed(m1, user, reason="")
        assert do_mark_visit_missed(m1, user, reason="travelled home").state() == "missed"
        with pytest.raises(VisitError, match="in the future"):
            do_record_visit_date(m1, dt.date(2026, 7, 1), user)


def test_unscheduled_visits_are_numbered(login, dosed):
    client = login("coord_a")
    url = reverse("visits:unscheduled", args=[dosed.subject_id])
    client.post(url)
    client.post(url)
    assert list(dosed.visits.filter(unscheduled=True).values_list("code", "repeat")) == [
        ("UNS", 1),
        ("UNS", 2),
    ]
    assert login("monitor").post(url).status_code == 403


def test_worklist_shows_due_and_overdue_for_own_site_only(login, dosed, personas):
    for code, day in (("SCR", dt.date(2026, 2, 27)), ("D0", ANCHOR)):
        visit = Visit.objects.get(participant=dosed, code=code)
        do_record_visit_date(visit, day, personas["coord_a"])
    with time_machine.travel(dt.datetime(2026, 3, 8, 3, tzinfo=dt.UTC)):
        page = login("coord_a").get(reverse("visits:worklist")).content.decode()
        assert "Visits due this week (1)" in page and "D7" in page
        assert "Overdue visits (0)" in page
    with time_machine.travel(dt.datetime(2026, 4, 20, 3, tzinfo=dt.UTC)):
        page = login("coord_a").get(reverse("visits:worklist")).content.decode()
        assert "Overdue visits (2)" in page  # D7 and M1
        assert "01-001" not in login("coord_b").get(reverse("visits:worklist")).content.decode()


def test_visit_date_through_the_page(login, dosed):
    d0 = Visit.objects.get(participant=dosed, code="D0")
    response = login("coord_a").post(
        reverse("visits:date", args=[d0.pk]), {"actual_date": "2026-03-02"}
    )
    assert response.status_code == 302
    d0.refresh_from_db()
    assert d0.actual_date == dt.date(2026, 3, 2)


def test_overdue_visit_can_be_marked_missed_from_the_casebook(login, dosed):
    with time_machine.travel(dt.datetime(2026, 3, 20, 3, tzinfo=dt.UTC)):
        client = login("coord_a")
        page = client.get(reverse("participants:detail", args=[dosed.subject_id])).content.decode()
        assert "Mark missed" in page
        d7 = Visit.objects.get(participant=dosed, code="D7")
        client.post(reverse("visits:missed", args=[d7.pk]), {"reason": "admitted elsewhere"})
        d7.refresh_from_db()
        assert d7.state() == "missed" and d7.missed_reason == "admitted elsewhere"
        page = client.get(reverse("participants:detail", args=[dosed.subject_id])).content.decode()
        assert "admitted elsewhere" in page


def test_staff_home_shows_data_capture_counts(login, dosed):
    with time_machine.travel(dt.datetime(2026, 3, 20, 3, tzinfo=dt.UTC)):
        page = login("coord_a").get(reverse("studies:home")).content.decode()
        assert 'id="capture-counts"' in page and "Overdue visits" in page
        assert (
            'id="capture-counts"' not in login("dsmb").get(reverse("studies:home")).content.decode()
        )
