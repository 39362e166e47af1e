"""A form's visit-date field dates its visit; a date outside the window is a deviation."""

from __future__ import annotations

import datetime as dt

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.actions import do_save_form
from trialdesk.enrolment.testing import screening_data
from trialdesk.testing.participants import make_participant, visit_of


def _screening(today: dt.date) -> dict:
    raw = screening_data(today=today)["screening"]
    raw.pop("pe_diagnosis_confirmed")  # the investigator's own item (entered_by)
    return {**raw, "visit_date": today.isoformat()}


def test_the_screening_form_dates_a_same_day_screening_visit(personas):
    p = make_participant(personas, "01")
    visit = visit_of(p, "SCR")
    assert visit.actual_date is None
    today = dt.date.today()
    outcome = do_save_form(visit, "screening", personas["coord_a"], raw=_screening(today))
    visit.refresh_from_db()
    assert visit.actual_date == today and visit.state() == "done"
    assert outcome.warnings == []
    assert AuditEvent.objects.filter(
        object_type="visits.visit", object_id=str(visit.pk), reason="visit dated by form screening"
    ).exists()


def test_a_recorded_visit_date_is_not_moved_by_a_form(personas):
    p = make_participant(personas, "01")
    visit = visit_of(p, "SCR")
    earlier = dt.date.today() - dt.timedelta(days=1)
    from trialdesk.visits.actions import do_record_visit_date

    do_record_visit_date(visit, earlier, personas["coord_a"])
    do_save_form(visit, "screening", personas["coord_a"], raw=_screening(dt.date.today()))
    visit.refresh_from_db()
    assert visit.actual_date == earlier


def test_data_dated_outside_the_window_are_kept_and_recorded_as_a_deviation(login, personas):
    from trialdesk.crfs.tests.test_entry import url, vitals
    from trialdesk.testing.participants import with_revision

    anchor = dt.date.today() - dt.timedelta(days=30)
    p = make_participant(personas, "01", anchor=anchor)
    visit = visit_of(p, "D7")  # window: day 7 ± its protocol window, long past
    assert visit.latest_date < dt.date.today() - dt.timedelta(days=5)
    page = login("coord_a")
    data = {**vitals(), "measured_at": f"{dt.date.today():%Y-%m-%d} 09:00"}
    response = page.post(url(visit), with_revision(url(visit), data), follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "outside visit D7" in body and "protocol deviation" in body
    visit.refresh_from_db()
    assert visit.actual_date == dt.date.today() and visit.state() == "out_of_window"
    deviation = AuditEvent.objects.get(object_type="visits.deviation")
    assert (
        deviation.new_value["visit"] == "D7"
        and "vitals.measured_at" in (deviation.new_value["deviation"])
    )
    # Saving again without changing the date records no second deviation.
    page.post(url(visit), with_revision(url(visit), {**data, "sbp": "121"}))
    assert AuditEvent.objects.filter(object_type="visits.deviation").count() == 1


def test_a_form_cannot_name_a_non_date_field_as_its_visit_date():
    import pytest
    from pydantic import ValidationError

    from trialdesk.core.protocol.models import Form

    with pytest.raises(ValidationError, match="allowed are date and datetime fields"):
        Form.model_validate(
            {
                "code": "f",
                "label": {"en": "F", "id": "F"},
                "visit_date_field": "x",
                "fields": {"x": {"code": "x", "type": "integer", "label": {"en": "X", "id": "X"}}},
            }
        )
