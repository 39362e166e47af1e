"""Lists (django-tables2 + django-filter): the participant and query lists, the study-wide
audit trail and the deviation log — filters, sorting and paging change the rows; site, study and
blinding scoping hold; the CSV is the filtered rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from trialdesk.accounts.models import Membership, Role, Site
from trialdesk.audit.actions import events_of_study
from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import make_participant, visit_of, with_revision
from trialdesk.testing.urls import reverse

STUDY = "NCT07183384"
ROW = re.compile(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>", re.S)


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _first_cells(html: str) -> list[str]:
    body = html.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in ROW.findall(body)]


def _enter_vitals(client, participant, **over):
    visit = visit_of(participant, "D7")
    data = vitals(**over)
    response = client.post(url(visit), with_revision(url(visit), data))
    assert response.status_code in (200, 302), response.content[:500]
    return visit


def _csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# -- the study-wide audit trail --------------------------------------------------------------


@pytest.fixture
def captured(personas, participant_a, participant_b):
    """Vitals at D7 for a participant at site 01 and one at site 02."""
    _enter_vitals(_client(personas["coord_a"]), participant_a)
    _enter_vitals(_client(personas["coord_b"]), participant_b)
    return participant_a, participant_b


def test_trail_shows_labels_units_and_utc_not_internal_ids(personas, captured):
    a, _b = captured
    page = _client(personas["dm"]).get(reverse("audit:trail"), {"participant": a.subject_id})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Vital signs" in html and "Day 7 - primary follow-up" in html  # protocol labels
    assert "Systolic blood pressure" in html and "122 mmHg" in html  # item label, value + unit
    assert "36,8 degC" in html
    assert " UTC" in html
    assert "crfs.itemvalue:" not in html
    assert set(_first_cells(html)) <= set(
        str(s)
        for s in AuditEvent.objects.filter(participant=a.subject_id).values_list("seq", flat=True)
    )


def test_trail_filters_change_the_rows(personas, captured):
    a, b = captured
    dm = _client(personas["dm"])
    everything = _csv_rows(dm.get(reverse("audit:trail-csv")))
    only_a = _csv_rows(dm.get(reverse("audit:trail-csv"), {"participant": a.subject_id}))
    assert only_a and len(only_a) < len(everything)
    assert {r["participant"] for r in only_a} == {a.subject_id}
    vitals_rows = _csv_rows(dm.get(reverse("audit:trail-csv"), {"form": "vitals"}))
    assert vitals_rows and {r["form"] for r in vitals_rows} == {"Vital signs"}
    assert {r["participant"] for r in vitals_rows} == {a.subject_id, b.subject_id}
    d7 = _csv_rows(dm.get(reverse("audit:trail-csv"), {"visit": "D7"}))
    assert d7 and {r["visit"] for r in d7} == {"Day 7 - primary follow-up"}
    changes = _csv_rows(dm.get(reverse("audit:trail-csv"), {"action": "change"}))
    assert changes and len(changes) < len(everything)
    by_user = _csv_rows(dm.get(reverse("audit:trail-csv"), {"user": "coord_b"}))
    assert by_user and {r["user"] for r in by_user} == {"coord_b"}
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert _csv_rows(dm.get(reverse("audit:trail-csv"), {"end": yesterday})) == []
    from_today = _csv_rows(dm.get(reverse("audit:trail-csv"), {"start": today}))
    assert len(from_today) == events_of_study(STUDY).count()  # all, this export's event too


def test_trail_pages_and_sorts(personas, captured):
    dm = _client(personas["dm"])
    first = _first_cells(dm.get(reverse("audit:trail")).content.decode())
    second = _first_cells(dm.get(reverse("audit:trail"), {"page": 2}).content.decode())
    assert len(first) == 25 and second and not set(first) & set(second)
    assert [int(s) for s in first] == sorted((int(s) for s in first), reverse=True)  # newest first
    oldest = _first_cells(dm.get(reverse("audit:trail"), {"sort": "seq"}).content.decode())
    assert [int(s) for s in oldest] == sorted(int(s) for s in oldest)
    assert oldest[0] != first[0]


def test_trail_csv_is_the_filtered_rows_and_is_audited(personas, captured):
    a, _b = captured
    dm = _client(personas["dm"])
    before = AuditEvent.objects.filter(action="export").count()
    response = dm.get(reverse("audit:trail-csv"), {"participant": a.subject_id, "form": "vitals"})
    assert f"participant-{a.subject_id}" in response["Content-Disposition"]
    assert "form-vitals" in response["Content-Disposition"]
    rows = _csv_rows(response)
    expected = (
        events_of_study(STUDY)
        .filter(participant=a.subject_id, object_type__in=["crfs.itemvalue", "crfs.forminstance"])
        .count()
    )
    assert len(rows) == expected > 0
    assert list(rows[0]) == [
        "seq", "time_utc", "user", "role", "action", "participant", "visit", "form", "item",
        "old", "new", "reason",
    ]  # fmt: skip
    assert all(r["time_utc"].endswith(" UTC") for r in rows)
    page = dm.get(
        reverse("audit:trail"), {"participant": a.subject_id, "form": "vitals"}
    ).content.decode()
    assert f"({expected} rows)" in page or len(_first_cells(page)) == expected
    export = AuditEvent.objects.filter(action="export").order_by("-seq").first()
    assert AuditEvent.objects.filter(action="export").count() == before + 1
    assert export.new_value["filter"] == {"participant": a.subject_id, "form": "vitals"}


def test_trail_is_for_data_managers_and_monitors_and_site_scoped(personas, captured):
    a, b = captured
    assert _client(personas["coord_a"]).get(reverse("audit:trail")).status_code == 403
    assert _client(personas["stat"]).get(reverse("audit:trail")).status_code == 403
    assert _client(personas["monitor"]).get(reverse("audit:trail")).status_code == 200
    # A monitor of site 01 only: the events of site 01's participants, nothing else.
    from django.contrib.auth import get_user_model

    mon_a = get_user_model().objects.create_user("mon_a", password="x" * 16)
    Membership.objects.create(
        user=mon_a, role=Role.MONITOR, site=Site.objects.get(code="01"), study_id=STUDY
    )
    rows = _csv_rows(_client(mon_a).get(reverse("audit:trail-csv")))
    assert rows and {r["participant"] for r in rows} == {a.subject_id}
    html = _client(mon_a).get(reverse("audit:trail"), {"participant": b.subject_id})
    assert _first_cells(html.content.decode()) == ["No events match."]


def test_trail_of_one_study_never_shows_another_studys_events(personas, captured):
    from trialdesk.paths import PROTOCOLS_DIR
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.testing.personas import Persona, create_personas

    do_load_protocol(PROTOCOLS_DIR / "iron-pp.yaml", reason="test: study B")
    other = "TD-IRON-PP"
    people = create_personas(
        other,
        personas={"coord_iron": Persona("coord_iron", "coordinator", "01", "Rina C")},
        site_names={"01": "RSHS"},
    )
    make_participant(people, "01", user="coord_iron", study=other)
    theirs = set(AuditEvent.objects.filter(study_code=other).values_list("seq", flat=True))
    assert theirs
    rows = _csv_rows(_client(personas["dm"]).get(reverse("audit:trail-csv", study=STUDY)))
    assert rows and not {int(r["seq"]) for r in rows} & theirs


def test_trail_and_its_csv_never_show_an_arm_or_a_lot(personas):
    from trialdesk.randomization import actions
    from trialdesk.randomization.tests.helpers import ready, setup_list
    from trialdesk.studies.registry import get_protocol

    setup_list(personas)
    p = ready(personas, "01")
    allocation = actions.do_randomize_participant(p, personas["coord_a"])
    from django.utils import timezone

    from trialdesk.randomization.models import Allocation

    t = timezone.now() - dt.timedelta(hours=3)
    Allocation.objects.filter(pk=allocation.pk).update(allocated_at=t - dt.timedelta(hours=1))
    allocation.refresh_from_db()
    lot = "GMPLOT-EXO-7731" if allocation.arm == "EXO" else "NACL-LOT-5520"
    actions.do_record_preparation(
        allocation,
        personas["pharm_a"],
        lot=lot,
        volume_ml=Decimal("100"),
        prepared_at=t,
    )
    protocol = get_protocol()
    needles = {lot, allocation.arm, *(a.name.en for a in protocol.arms.values())}
    for who in ("dm", "monitor"):
        c = _client(personas[who])
        html = c.get(reverse("audit:trail"), {"participant": p.subject_id}).content.decode()
        text = b"".join(
            c.get(reverse("audit:trail-csv"), {"participant": p.subject_id}).streaming_content
        ).decode()
        assert "randomized" in html  # the randomization event is listed, by its digest only
        for needle in needles:
            assert not re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", html), (who, needle)
            assert not re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text), (who, needle)


# -- the deviation log -----------------------------------------------------------------------


def _out_of_window(client, participant):
    """Vitals of D7 measured today, long after the D7 window: a protocol deviation."""
    return _enter_vitals(client, participant, measured_at=f"{dt.date.today():%Y-%m-%d} 09:00")


def test_deviation_log_lists_out_of_window_data_by_site(personas):
    anchor = dt.date.today() - dt.timedelta(days=30)
    a = make_participant(personas, "01", anchor=anchor)
    b = make_participant(personas, "02", anchor=anchor, user="coord_b")
    visit_a = _out_of_window(_client(personas["coord_a"]), a)
    _out_of_window(_client(personas["coord_b"]), b)
    assert AuditEvent.objects.filter(object_type="visits.deviation").count() == 2
    late = (dt.date.today() - visit_a.latest_date).days
    page = _client(personas["coord_a"]).get(reverse("visits:deviations")).content.decode()
    assert a.subject_id in page and b.subject_id not in page
    assert f"{late} days late" in page and "Vital signs" in page and "Day 7" in page
    dm = _client(personas["dm"])
    both = dm.get(reverse("visits:deviations")).content.decode()
    assert a.subject_id in both and b.subject_id in both
    only_02 = dm.get(reverse("visits:deviations"), {"site": "02"}).content.decode()
    assert b.subject_id in only_02 and a.subject_id not in only_02
    early = dm.get(reverse("visits:deviations"), {"type": "early"}).content.decode()
    assert a.subject_id not in early and "No protocol deviations recorded." in early
    rows = _csv_rows(dm.get(reverse("visits:deviations-csv"), {"participant": a.subject_id}))
    assert [r["participant"] for r in rows] == [a.subject_id]
    assert rows[0]["date_entered"] == f"{dt.date.today():%Y-%m-%d}"
    assert rows[0]["type"] == f"Out of window: {late} days late"
    assert _client(personas["stat"]).get(reverse("visits:deviations")).status_code == 403


# -- participants and queries ----------------------------------------------------------------


def test_participant_list_searches_filters_sorts_and_pages(personas):
    made = [make_participant(personas, "01") for _ in range(26)]
    b = make_participant(personas, "02", user="coord_b")
    dm = _client(personas["dm"])
    first = _first_cells(dm.get(reverse("participants:list")).content.decode())
    assert len(first) == 25 and first == sorted(first)
    rest = _first_cells(dm.get(reverse("participants:list"), {"page": 2}).content.decode())
    assert len(rest) == 2 and not set(rest) & set(first)
    down = _first_cells(
        dm.get(reverse("participants:list"), {"sort": "-subject_id"}).content.decode()
    )
    assert down[0] == b.subject_id
    site_02 = Site.objects.get(code="02")
    assert _first_cells(
        dm.get(reverse("participants:list"), {"site": site_02.pk}).content.decode()
    ) == [b.subject_id]
    target = made[3].subject_id
    assert _first_cells(dm.get(reverse("participants:list"), {"q": target}).content.decode()) == [
        target
    ]
    none = dm.get(reverse("participants:list"), {"status": "withdrawn"}).content.decode()
    assert _first_cells(none) == ["No participants match."]
    # a coordinator of site 01 never sees site 02's participant, whatever the filter says
    coord = _client(personas["coord_a"])
    seen = _first_cells(
        coord.get(reverse("participants:list"), {"q": b.subject_id}).content.decode()
    )
    assert b.subject_id not in seen


def test_query_list_shows_age_and_whom_it_waits_for_and_filters(
    personas, participant_a, participant_b
):
    from trialdesk.crfs.actions import do_answer_query, do_open_query
    from trialdesk.crfs.models import FormInstance, Query

    _enter_vitals(_client(personas["coord_a"]), participant_a)
    _enter_vitals(_client(personas["coord_b"]), participant_b)
    fi_a = FormInstance.objects.get(participant=participant_a, form_code="vitals")
    fi_b = FormInstance.objects.get(participant=participant_b, form_code="vitals")
    q1 = do_open_query(fi_a, personas["dm"], item="sbp", text="Please confirm the systolic")
    do_open_query(fi_b, personas["dm"], item="hr", text="Heart rate check")
    Query.objects.filter(pk=q1.pk).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    )
    dm = _client(personas["dm"])
    page = dm.get(reverse("crfs:queries")).content.decode()
    assert "Please confirm the systolic" in page and "Heart rate check" in page
    assert "site (coordinator or investigator)" in page and ">10<" in page
    old = dm.get(reverse("crfs:queries"), {"age": "7"}).content.decode()
    assert "Please confirm the systolic" in old and "Heart rate check" not in old
    found = dm.get(reverse("crfs:queries"), {"q": "heart"}).content.decode()
    assert "Heart rate check" in found and "Please confirm" not in found
    do_answer_query(Query.objects.get(pk=q1.pk), personas["coord_a"], text="confirmed")
    answered = dm.get(reverse("crfs:queries"), {"status": "answered"}).content.decode()
    assert "Please confirm the systolic" in answered and "Heart rate check" not in answered
    assert "data manager or monitor" in answered
    coord = _client(personas["coord_a"]).get(reverse("crfs:queries")).content.decode()
    assert "Please confirm the systolic" in coord and "Heart rate check" not in coord
