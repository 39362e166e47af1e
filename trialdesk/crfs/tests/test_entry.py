"""Entering eCRF data through the real URLs as named personas."""

from __future__ import annotations

import datetime as dt

from django.core import mail

from trialdesk.audit.chain import verify
from trialdesk.audit.models import AuditEvent
from trialdesk.core.protocol.models import NONE_OF_THESE
from trialdesk.crfs.models import ClinicalAlert, FormInstance, ItemValue, Query
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.urls import reverse

NOW = (dt.datetime.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def vitals(**over):
    data = {
        "timepoint": "VISIT",
        "measured_at": NOW,
        "arm_side": "",
        "sbp": "122",
        "dbp": "78",
        "hr": "80",
        "rr": "16",
        "temperature": "36,8",
        "temperature__unit": "degC",
        "spo2": "98",
        "pe_symptoms": NONE_OF_THESE,  # required: ticked "None of these"
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def url(visit, form="vitals", repeat=1):
    return reverse("crfs:form", args=[visit.pk, form, repeat])


def items(visit, form="vitals"):
    fi = FormInstance.objects.get(visit=visit, form_code=form)
    return {r.item: r for r in fi.items.all()}


def test_coordinator_enters_vitals_with_derived_values(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    page = client.get(url(visit))
    assert page.status_code == 200
    assert "Systolic" in page.content.decode()
    response = client.post(url(visit), with_revision(url(visit), vitals()))
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = items(visit)
    assert stored["sbp"].value == 122
    assert stored["temperature"].value == 36.8 and stored["temperature"].entered_value == "36,8"
    assert stored["map"].status == "derived" and stored["map"].value == 92.7
    assert stored["pulse_pressure"].value == 44
    assert not Query.objects.exists()
    assert verify().ok
    assert AuditEvent.objects.filter(object_type="crfs.itemvalue", action="create").count() >= 8


def test_impossible_value_is_refused_with_field_value_and_range(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    response = client.post(url(visit), with_revision(url(visit), vitals(sbp="350")))
    assert response.status_code == 422
    assert "sbp = 350 mmHg is outside 50–300 mmHg" in response.content.decode()
    assert not ItemValue.objects.exists()
    assert not FormInstance.objects.exists()


def test_contradiction_is_refused_by_a_hard_check(login, participant_a):
    response = login("coord_a").post(
        url(visit_of(participant_a, "D7")),
        with_revision(url(visit_of(participant_a, "D7")), vitals(sbp="80", dbp="95")),
    )
    assert response.status_code == 422
    assert "(dbp_below_sbp)" in response.content.decode()
    assert not ItemValue.objects.exists()


def test_text_in_a_number_field_and_mixed_separators_are_refused(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    page = client.post(url(visit), with_revision(url(visit), vitals(hr="eighty"))).content.decode()
    assert "hr = &#x27;eighty&#x27; is not a number" in page
    page = client.post(
        url(visit), with_revision(url(visit), vitals(temperature="1.036,8"))
    ).content.decode()
    assert "use either a decimal comma or a decimal point, not both" in page


def test_implausible_value_opens_a_query_and_severe_bp_alerts_the_investigator(
    login, participant_a, personas, django_capture_on_commit_callbacks
):
    personas["inv_a"].email = "ayu@example.org"
    personas["inv_a"].save()
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(visit), with_revision(url(visit), vitals(sbp="190", dbp="112")), follow=True
        )
    assert response.status_code == 200
    q = Query.objects.get(item="sbp")
    assert q.origin == "soft_limit" and q.status == "open"
    assert "sbp = 190 mmHg is outside the expected range 85–180 mmHg" in q.text
    alert = ClinicalAlert.objects.get(check_code="severe_range_bp")
    assert alert.participant == participant_a
    assert [m.to for m in mail.outbox] == [["ayu@example.org"]]
    assert "clinical alert" in mail.outbox[0].subject
    # Correcting the value closes the automatic query by itself.
    client.post(url(visit), with_revision(url(visit), vitals(sbp="150", dbp="92")))
    q.refresh_from_db()
    assert q.status == "closed"
    assert q.messages.last().text.startswith("closed automatically")


def test_alternative_unit_is_converted_and_both_are_kept(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    data = {
        "specimen_at": NOW,
        "hgb": "118",
        "hgb__unit": "g/L",
        "hct": "36",
        "hct__unit": "%",
        "mcv": "88",
        "mchc": "33",
        "mchc__unit": "g/dL",
        "wbc": "8.500",  # grouped (Indonesian 8 500) or 8.5? refused, never guessed
        "wbc__unit": "/uL",
        "plt": "250",
        "plt__unit": "10^9/L",
    }
    response = client.post(url(visit, "hematology"), with_revision(url(visit, "hematology"), data))
    assert response.status_code == 422
    assert "wbc = &#x27;8.500&#x27; is ambiguous for a count" in response.content.decode()
    data["wbc"] = "8500"
    response = client.post(url(visit, "hematology"), with_revision(url(visit, "hematology"), data))
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = items(visit, "hematology")
    assert stored["hgb"].value == 11.8 and stored["hgb"].unit == "g/dL"
    assert (stored["hgb"].entered_value, stored["hgb"].entered_unit) == ("118", "g/L")
    assert stored["wbc"].value == 8.5  # 8500 /µL = 8.5 10^3/µL
    data["hgb"] = "250"  # 250 g/L = 25.0 g/dL is allowed; 260 is not
    data["hgb"] = "260"
    page = client.post(
        url(visit, "hematology"), with_revision(url(visit, "hematology"), data)
    ).content.decode()
    assert "hgb = 260 g/L (26 g/dL) is outside 3–25 g/dL" in page


def test_change_after_complete_needs_a_reason_and_history_shows_it(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    assert (
        client.post(
            url(visit), with_revision(url(visit), {**vitals(), "complete": "1"})
        ).status_code
        == 302
    )
    fi = FormInstance.objects.get(visit=visit)
    assert fi.status == "complete"
    response = client.post(url(visit), with_revision(url(visit), vitals(hr="84")))
    assert response.status_code == 422
    assert "give a reason for change" in response.content.decode()
    response = client.post(
        url(visit), with_revision(url(visit), {**vitals(hr="84"), "reason": "transcription error"})
    )
    assert response.status_code == 302
    row = ItemValue.objects.get(form=fi, item="hr")
    assert (row.value, row.version) == (84, 2)
    history = client.get(reverse("crfs:history", args=[fi.pk, "hr"])).content.decode()
    assert "transcription error" in history and "80" in history and "84" in history


def test_required_values_block_completion_not_saving(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    response = client.post(
        url(visit), with_revision(url(visit), {**vitals(hr=""), "complete": "1"})
    )
    assert response.status_code == 422
    assert "hr (Heart rate) is required" in response.content.decode()
    assert client.post(url(visit), with_revision(url(visit), vitals(hr=""))).status_code == 302
    assert FormInstance.objects.get(visit=visit).status == "in_progress"


def test_branching_hides_and_drops_values(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    data = {
        "assessed_at": NOW,
        "upper_right": "0",
        "upper_left": "0",
        "lower_right": "0",
        "lower_left": "1+",
        "lower_pit_depth_right": "3",
        "lower_pit_depth_left": "2",
        "facial": "NONE",
    }
    response = client.post(url(visit, "edema"), with_revision(url(visit, "edema"), data))
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = items(visit, "edema")
    assert "lower_pit_depth_right" not in stored  # hidden: no pitting on the right
    assert stored["lower_pit_depth_left"].value == 2


def test_inline_validation_returns_the_field_message_without_saving(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    response = client.post(
        reverse("crfs:validate", args=[visit.pk, "vitals", 1]),
        vitals(sbp="400"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "sbp = 400 mmHg is outside 50–300 mmHg" in body
    assert "<html" not in body
    assert not ItemValue.objects.exists()
    body = client.post(
        reverse("crfs:validate", args=[visit.pk, "vitals", 1]),
        vitals(hr="140"),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "a query will be opened on save" in body


def test_derived_values_on_other_forms_follow_a_correction(login, participant_a):
    """screening.postpartum_day is computed from demog.delivery_date: correcting the delivery
    date recomputes it at once (never stale), with its own audit event."""
    from trialdesk.crfs.actions import do_save_form

    coord = participant_a.created_by
    scr = visit_of(participant_a, "SCR")
    today = dt.date.today()
    screening = {
        "visit_date": (today - dt.timedelta(days=10)).isoformat(),
        "date_of_birth": "1994-05-01",
        "sex": "F",
    }
    do_save_form(scr, "screening", coord, raw=screening)
    demog = {"delivery_date": (today - dt.timedelta(days=20)).isoformat()}
    do_save_form(scr, "demog", coord, raw=demog)
    fi = FormInstance.objects.get(visit=scr, form_code="screening")
    assert ItemValue.objects.get(form=fi, item="postpartum_day").value == 10
    do_save_form(
        scr, "demog", coord, raw={"delivery_date": (today - dt.timedelta(days=18)).isoformat()}
    )
    row = ItemValue.objects.get(form=fi, item="postpartum_day")
    assert row.value == 8 and row.version == 2
    event = AuditEvent.objects.filter(object_type="crfs.itemvalue", object_id=str(row.pk)).last()
    assert event.old_value["value"] == 10 and event.new_value["value"] == 8
    assert verify().ok


def test_adverse_events_are_logged_once_not_per_visit(login, participant_a):
    client = login("coord_a")
    d7 = visit_of(participant_a, "D7")
    client.post(reverse("visits:date", args=[d7.pk]), {"actual_date": dt.date.today().isoformat()})
    page = client.get(
        reverse("participants:detail", args=[participant_a.subject_id])
    ).content.decode()
    add = reverse("crfs:form", args=[d7.pk, "ae", 1])
    assert page.count(add) == 1
    ae = {
        "term": "Headache",
        "term_is_fever": "no",
        "onset_at": NOW,
        "ongoing": "yes",
        "severity": "G1",
        "serious": "no",
        "relatedness": "UNLIKELY",
        "action_taken": "NOT_APPLICABLE",
        "outcome": "RECOVERING",
        "aesi": "",
        "seriousness": "",
    }
    response = client.post(add, with_revision(add, {**ae, "complete": "1"}))
    assert response.status_code == 302, response.content.decode()[:3000]
    page = client.get(
        reverse("participants:detail", args=[participant_a.subject_id])
    ).content.decode()
    assert reverse("crfs:form", args=[d7.pk, "ae", 2]) in page
    assert "Adverse events (1)" in page or "(1)" in page


def test_a_stale_page_cannot_overwrite_a_newer_save(login, participant_a):
    visit = visit_of(participant_a, "D7")
    first = login("coord_a")
    first.post(url(visit), {**vitals(), "revision": "0"})
    fi = FormInstance.objects.get(visit=visit)
    other = login("inv_a")
    assert (
        other.post(url(visit), {**vitals(hr="90"), "revision": str(fi.revision)}).status_code == 302
    )
    stale = login("coord_a").post(url(visit), {**vitals(hr="70"), "revision": str(fi.revision)})
    assert stale.status_code == 409
    page = stale.content.decode()
    assert "someone else saved this form after you opened it" in page
    assert f"the form is now at revision {fi.revision + 1}" in page
    assert ItemValue.objects.get(form=fi, item="hr").value == 90


def test_no_data_at_a_missed_visit(login, participant_a):
    from trialdesk.visits.actions import do_mark_visit_missed

    visit = visit_of(participant_a, "D7")
    do_mark_visit_missed(visit, participant_a.created_by, reason="travelled")
    response = login("coord_a").post(url(visit), with_revision(url(visit), vitals()))
    assert response.status_code == 422
    assert "was recorded as missed (travelled)" in response.content.decode()
