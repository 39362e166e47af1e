"""The public portal: directory, study page, self-check (no storage), both languages."""

from __future__ import annotations

import pytest
from django.apps import apps

from trialdesk.core.protocol.selfcheck import questions
from trialdesk.studies.registry import get_protocol

CODE = "NCT07183384"
GOOD = {
    "age": "30",
    "days_since_birth": "5",
    "preeclampsia": "yes",
    "consent": "yes",
    "high_blood_pressure_before": "no",
    "heart_disease": "no",
    "infection": "no",
    "vessel_damage": "no",
    "habits": "no",
}


def _counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


@pytest.fixture
def anon(client, loaded_protocol):
    return client


def test_directory_lists_the_recruiting_study(anon):
    page = anon.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    protocol = get_protocol(CODE)
    assert protocol.study.title in text and "Bandung" in text and "Preeclampsia" in text
    assert f'href="/studies/{CODE}/"' in text
    assert "Kabupaten Bandung" not in text  # the inactive site's city is not listed


def test_study_page_shows_lay_texts_centres_and_faq(anon):
    text = anon.get(f"/studies/{CODE}/").content.decode()
    public = get_protocol(CODE).public
    assert "This study tests whether a new treatment called exosomes" in text
    assert public.faq[0].question.en in text
    assert 'id="summary-1"' in text and 'id="faq-1"' in text
    assert "RSUP Dr. Hasan Sadikin Bandung" in text and "not open yet" in text
    assert f"/studies/{CODE}/self-check/" in text and f"/studies/{CODE}/contact/" in text


def test_unknown_study_is_404(anon):
    assert anon.get("/studies/NCT00000000/").status_code == 404
    assert anon.get("/studies/NCT00000000/self-check/").status_code == 404


def test_language_from_accept_language(anon):
    text = anon.get(f"/studies/{CODE}/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert '<html lang="id"' in text
    assert "Studi ini menguji apakah pengobatan baru" in text
    assert "Mengapa studi ini dilakukan?" in text  # interface string, from the catalogue


def test_the_switch_overrides_accept_language(anon):
    anon.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = anon.get(f"/studies/{CODE}/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert '<html lang="en"' in text and "Why is this study being done?" in text
    anon.post("/i18n/setlang/", {"language": "id", "next": "/"})
    text = anon.get("/").content.decode()
    assert "Studi klinis yang terbuka untuk peserta baru" in text


def test_self_check_form_has_every_question(anon):
    text = anon.get(f"/studies/{CODE}/self-check/").content.decode()
    for question in questions(get_protocol(CODE)):
        assert question.question.en in text


def test_self_check_may_be_eligible_stores_nothing(anon):
    from trialdesk.audit.models import AuditEvent

    anon.get(f"/studies/{CODE}/self-check/")
    before, events = _counts(), AuditEvent.objects.count()
    page = anon.post(f"/studies/{CODE}/self-check/", GOOD)
    assert page.status_code == 200
    text = page.content.decode()
    assert "You may be eligible" in text and f"/studies/{CODE}/contact/" in text
    assert _counts() == before and AuditEvent.objects.count() == events
    assert set(anon.cookies) <= {"csrftoken"}
    assert page["Cache-Control"].count("no-store") == 1


@pytest.mark.parametrize(
    ("answer", "value", "label"),
    [
        ("age", "55", "Aged 18 to 50 years"),
        ("habits", "yes", "Active smoking, vaping, alcohol use or drug addiction"),
        ("preeclampsia", "no", "Confirmed diagnosis of preeclampsia in the last pregnancy"),
    ],
)
def test_self_check_names_what_stands_in_the_way(anon, answer, value, label):
    before = _counts()
    text = anon.post(f"/studies/{CODE}/self-check/", {**GOOD, answer: value}).content.decode()
    assert "This study may not be right for you now" in text and label in text
    assert "You may be eligible" not in text
    assert _counts() == before


def test_self_check_in_indonesian(anon):
    text = anon.post(
        f"/studies/{CODE}/self-check/", {**GOOD, "age": "55"}, HTTP_ACCEPT_LANGUAGE="id"
    ).content.decode()
    assert "Berusia 18 sampai 50 tahun" in text


def test_self_check_rejection_names_question_value_and_range(anon):
    page = anon.post(f"/studies/{CODE}/self-check/", {**GOOD, "age": "abc", "infection": ""})
    assert page.status_code == 422
    text = page.content.decode()
    assert "“abc” is not allowed here: write a whole number from 10 to 60." in text
    assert "This field is required." in text
    assert "Traceback" not in text
