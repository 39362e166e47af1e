"""Issue 11 item 9: an explicit "None of these" in multichoice fields, empty query answers
refused by name, and counts with proper plurals."""

from __future__ import annotations

from django.utils import translation

from trialdesk.audit.models import AuditEvent
from trialdesk.core.protocol.models import NONE_OF_THESE
from trialdesk.crfs.actions.quality import QualityRunResult
from trialdesk.crfs.models import FormInstance, ItemValue, Query, QueryMessage
from trialdesk.crfs.tests.test_entry import items, url, vitals
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.urls import reverse

# -- "None of these" ---------------------------------------------------------------------------


def _save(client, visit, **over):
    return client.post(url(visit), with_revision(url(visit), {**vitals(), **over}))


def test_the_form_offers_none_of_these_for_a_multichoice_field(login, participant_a):
    page = login("coord_a").get(url(visit_of(participant_a, "D7"))).content.decode()
    field = page.split('id="field-pe_symptoms"')[1].split('id="msg-pe_symptoms"')[0]
    assert f'name="pe_symptoms" value="{NONE_OF_THESE}"' in field
    assert "None of these" in field


def test_nothing_ticked_is_not_an_answer_and_required_asks_for_none_of_these(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    response = _save(client, visit, pe_symptoms="", complete="1")
    assert response.status_code == 422
    page = response.content.decode()
    assert "pe_symptoms (Symptoms of postpartum preeclampsia" in page
    assert "None of these" in page
    # Saved without completing, the field stays unanswered (no value), not "none".
    assert _save(client, visit, pe_symptoms="").status_code == 302
    row = items(visit).get("pe_symptoms")
    assert row is None or row.value is None


def test_none_of_these_is_stored_as_the_empty_set_and_completes_the_form(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    response = _save(client, visit, pe_symptoms=["", NONE_OF_THESE], complete="1")
    assert response.status_code == 302, response.content.decode()[:2000]
    row = items(visit)["pe_symptoms"]
    assert row.status == ItemValue.Status.ENTERED and row.value == []
    assert FormInstance.objects.get(visit=visit).status == "complete"
    page = client.get(url(visit)).content.decode()
    field = page.split('id="field-pe_symptoms"')[1].split('id="msg-pe_symptoms"')[0]
    assert f'value="{NONE_OF_THESE}" checked' in field


def test_none_of_these_cannot_be_combined_and_nothing_is_written(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    before = AuditEvent.objects.count()
    response = _save(client, visit, pe_symptoms=["", NONE_OF_THESE, "HEADACHE"])
    assert response.status_code == 422
    page = response.content.decode()
    assert "pe_symptoms: &#x27;None of these&#x27; cannot be ticked together with HEADACHE" in page
    assert not ItemValue.objects.filter(item="pe_symptoms").exists()
    assert AuditEvent.objects.count() == before


def test_none_of_these_shows_in_the_item_history(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    assert _save(client, visit, pe_symptoms=["", "HEADACHE"], complete="1").status_code == 302
    response = _save(client, visit, pe_symptoms=["", NONE_OF_THESE], reason="misread the chart")
    assert response.status_code == 302, response.content.decode()[:2000]
    fi = FormInstance.objects.get(visit=visit)
    history = client.get(reverse("crfs:history", args=[fi.pk, "pe_symptoms"])).content.decode()
    assert "HEADACHE" in history and "None of these" in history
    assert NONE_OF_THESE not in history.split("<table")[1]


def test_the_api_takes_none_of_these_and_refuses_it_combined(login, participant_a):
    from trialdesk.crfs.tests.test_api import _post, _url

    client = login("coord_a")
    bad = _post(client, _url(participant_a), vitals(pe_symptoms=[NONE_OF_THESE, "VISUAL"]))
    assert bad.status_code == 422
    assert "pe_symptoms" in bad.content.decode() and "None of these" in bad.content.decode()
    good = _post(client, _url(participant_a), vitals(pe_symptoms=[NONE_OF_THESE]), complete=True)
    assert good.status_code == 200, good.content.decode()[:2000]
    assert ItemValue.objects.get(item="pe_symptoms").value == []


# -- an empty answer to a query ---------------------------------------------------------------


def _open_query(login, participant):
    visit = visit_of(participant, "D7")
    assert _save(login("coord_a"), visit, complete="1").status_code == 302
    fi = FormInstance.objects.get(visit=visit, form_code="vitals")
    login("monitor").post(
        reverse("crfs:new-query", args=[fi.pk]), {"item": "hr", "text": "Source says 86?"}
    )
    return Query.objects.get()


def test_an_empty_answer_is_refused_by_name_and_nothing_is_written(login, participant_a):
    q = _open_query(login, participant_a)
    messages_before = QueryMessage.objects.count()
    events_before = AuditEvent.objects.exclude(action="login").count()
    for text in ("", "   \n "):
        response = login("coord_a").post(
            reverse("crfs:query-step", args=[q.pk]), {"step": "answer", "text": text}, follow=True
        )
        page = response.content.decode()
        assert f"the answer to query #{q.pk} on item hr (field &#x27;text&#x27;) is empty" in page
        assert "the query stays open" in page
    q.refresh_from_db()
    assert q.status == "open"
    assert QueryMessage.objects.count() == messages_before
    assert AuditEvent.objects.exclude(action="login").count() == events_before


def test_an_empty_question_is_refused_by_name(login, participant_a):
    visit = visit_of(participant_a, "D7")
    assert _save(login("coord_a"), visit, complete="1").status_code == 302
    fi = FormInstance.objects.get(visit=visit, form_code="vitals")
    response = login("monitor").post(
        reverse("crfs:new-query", args=[fi.pk]), {"item": "hr", "text": "  "}, follow=True
    )
    assert "the question (field &#x27;text&#x27;) is empty" in response.content.decode()
    assert not Query.objects.exists()


# -- plurals ----------------------------------------------------------------------------------


def test_data_quality_summary_uses_plurals():
    one = QualityRunResult(1, 1, 1, 1, 1).summary()
    assert one == (
        "1 form checked: 1 query opened, 1 query closed, 1 derived value recomputed, "
        "1 stored value now beyond hard limits (queried)"
    )
    two = QualityRunResult(2, 0, 2, 0, 2).summary()
    assert two.startswith("2 forms checked: 0 queries opened, 2 queries closed")
    with translation.override("id"):
        assert (
            QualityRunResult(1, 2, 0, 0, 0)
            .summary()
            .startswith("1 formulir diperiksa: 2 kueri dibuka")
        )


def test_one_automatic_query_is_named_in_the_singular(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    response = client.post(url(visit), with_revision(url(visit), vitals(hr="140")), follow=True)
    page = response.content.decode()
    assert "1 queries" not in page and "query/queries" not in page
    assert "1 query opened automatically." in page
