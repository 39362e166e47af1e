"""Issue 9, findings 6, 7, 9, 11 and 12 at the eCRF save path: each attack of the review,
through the real URLs as the named personas, now refused with a message naming the field."""

from __future__ import annotations

import json

import pytest

from trialdesk.audit.models import AuditEvent
from trialdesk.core.numbers import SYNTAX
from trialdesk.core.text import LIMITS
from trialdesk.crfs.models import FormInstance, ItemValue
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import visit_of, with_revision


def _api(p, visit="D7", form="vitals", query=""):
    return (
        f"/api/v1/NCT07183384/crfs/participants/{p.subject_id}/visits/{visit}/forms/{form}{query}"
    )


def _values(**over):
    return {k: v for k, v in vitals(**over).items() if not k.endswith("__unit")}


def _save(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


# ----------------------------------------------------------------- finding 6: revisions
def test_page_post_without_revision_is_refused(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    response = client.post(url(visit), vitals())
    assert response.status_code == 422
    assert "revision is missing" in response.content.decode()
    assert not FormInstance.objects.exists()
    response = client.post(url(visit), {**vitals(), "revision": "١"})
    assert response.status_code == 422 and "revision = " in response.content.decode()


def test_api_save_without_revision_is_refused_naming_it(login, participant_a):
    response = _save(login("coord_a"), _api(participant_a), {"values": _values()})
    assert response.status_code == 422
    assert response.json()["errors"] == {"revision": "required"}
    assert not ItemValue.objects.exists()


def test_api_save_from_a_stale_read_gets_409_naming_the_newer_revision(login, participant_a):
    coord, inv = login("coord_a"), None
    path = _api(participant_a)
    read = coord.get(path).json()
    assert read["revision"] == 0
    assert _save(coord, path, {"revision": 0, "values": _values()}).status_code == 200
    inv = login("inv_a")
    assert _save(inv, path, {"revision": 1, "values": _values(hr="90")}).status_code == 200
    stale = _save(login("coord_a"), path, {"revision": 1, "values": _values(hr="70")})
    assert stale.status_code == 409
    assert "the form is now at revision 2" in stale.json()["detail"]
    assert stale.json()["errors"]["revision"] == "stale: the form is now at revision 2"
    assert ItemValue.objects.get(item="hr").value == 90


# ----------------------------------------------------------------- finding 7: repeat
@pytest.mark.parametrize("repeat", ["-1", "0", "1000", "32768", "2147483648", "99999999999"])
def test_out_of_range_repeat_is_422_naming_the_range(login, participant_a, repeat):
    client = login("coord_a")
    body = {"revision": 0, "values": _values()}
    response = _save(client, _api(participant_a, query=f"?repeat={repeat}"), body)
    assert response.status_code == 422
    assert "repeat" in response.json()["errors"]
    assert "1 to 999" in response.json()["errors"]["repeat"]
    assert client.get(_api(participant_a, query=f"?repeat={repeat}")).status_code == 422
    assert not FormInstance.objects.exists()


@pytest.mark.parametrize("repeat", [0, 1000, 99999999999])
def test_out_of_range_repeat_on_the_page_is_422(login, participant_a, repeat):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    path = f"/staff/NCT07183384/crfs/visit/{visit.pk}/vitals/{repeat}/"
    response = client.post(path, {**vitals(), "revision": "0"})
    assert response.status_code == 422
    assert f"repeat = {repeat} is outside the allowed range 1 to 999" in response.content.decode()
    assert client.get(path).status_code == 422
    assert not FormInstance.objects.exists()


# ----------------------------------------------------------------- finding 9: free text
def test_a_megabyte_reason_is_refused_and_nothing_is_audited(login, participant_a):
    client = login("coord_a")
    path = _api(participant_a)
    before = AuditEvent.objects.count()
    huge = "x" * 1_000_000
    response = _save(client, path, {"revision": 0, "values": _values(), "reason": huge})
    assert response.status_code == 422
    message = response.json()["errors"]["reason"]
    assert f"1000000 characters is too long: at most {LIMITS['reason']} allowed" in message
    assert AuditEvent.objects.count() == before
    assert not ItemValue.objects.exists()
    visit = visit_of(participant_a, "D7")
    page = client.post(url(visit), {**vitals(), "revision": "0", "reason": huge})
    assert page.status_code == 422
    assert "reason: 1000000 characters is too long" in page.content.decode()
    assert AuditEvent.objects.count() == before


def test_long_query_text_and_protocol_text_limits(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    assert client.post(url(visit), with_revision(url(visit), vitals())).status_code == 302
    fi = FormInstance.objects.get(visit=visit)
    monitor = login("monitor")
    before = AuditEvent.objects.count()
    response = monitor.post(
        f"/staff/NCT07183384/crfs/form/{fi.pk}/query/",
        {"item": "hr", "text": "?" * 5000},
        follow=True,
    )
    assert f"text: 5000 characters is too long: at most {LIMITS['message']} allowed" in (
        response.content.decode()
    )
    assert AuditEvent.objects.count() == before
    # a protocol text field: ae.term has max_length 200 in the protocol
    d7 = visit_of(participant_a, "D7")
    response = _save(
        login("coord_a"),
        _api(participant_a, form="ae"),
        {"revision": 0, "values": {"term": "t" * 201}},
    )
    assert response.status_code == 422
    assert response.json()["errors"]["term"] == "term: 201 characters, at most 200 allowed"
    assert not FormInstance.objects.filter(visit=d7, form_code="ae").exists()


def test_the_audit_backstop_refuses_an_oversized_reason(personas):
    from django.db import transaction

    from trialdesk.audit.actions import record
    from trialdesk.core.text import TextTooLong

    before = AuditEvent.objects.count()
    with pytest.raises(TextTooLong, match="at most 4000 allowed"), transaction.atomic():
        record("note", actor=personas["dm"], object_type="x", reason="r" * 4001)
    assert AuditEvent.objects.count() == before


# ----------------------------------------------------------------- finding 11: unknown fields
def test_unknown_derived_and_system_fields_are_refused_by_name(login, participant_a):
    client = login("coord_a")
    body = {"revision": 0, "values": {**_values(), "map": "200", "bogus": "1"}}
    response = _save(client, _api(participant_a), body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["map"].startswith("map: a derived value")
    assert errors["bogus"] == "bogus: form vitals has no such field"
    mirna = {"revision": 0, "values": {"calibrator_dct": "1.5"}}
    response = _save(client, _api(participant_a, form="mirna"), mirna)
    assert errors and response.status_code == 422
    assert response.json()["errors"]["calibrator_dct"].startswith("calibrator_dct: a system field")
    response = _save(client, _api(participant_a), {**body, "values": _values(), "status": "locked"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"status": "unknown field: it is not accepted here"}
    response = _save(
        client, _api(participant_a), {"revision": 0, "values": _values(), "units": {"hr": "Hz"}}
    )
    assert response.status_code == 422 and "hr" in response.json()["errors"]
    assert not ItemValue.objects.exists()


def test_unknown_keys_in_a_page_post_are_refused_by_name(login, participant_a):
    client = login("coord_a")
    visit = visit_of(participant_a, "D7")
    post = {**vitals(), "revision": "0", "pulse_pressure": "10", "status": "signed"}
    response = client.post(url(visit), post)
    assert response.status_code == 422
    page = response.content.decode()
    assert (
        "pulse_pressure: a derived value" in page
        and "status: form vitals has no such field" in page
    )
    assert not ItemValue.objects.exists()


# ----------------------------------------------------------------- finding 12: numbers
@pytest.mark.parametrize("hr", ["１２０", "١٢٠", "1_20", "0x78", "1e3", "１20"])
def test_only_ascii_numbers_are_stored(login, participant_a, hr):
    response = _save(
        login("coord_a"), _api(participant_a), {"revision": 0, "values": _values(hr=hr)}
    )
    assert response.status_code == 422
    assert response.json()["errors"]["hr"] == f"hr = '{hr}' is not a number: use {SYNTAX}"
    assert not ItemValue.objects.exists()


def test_decimal_comma_and_point_both_store_the_same_number(login, participant_a):
    client = login("coord_a")
    response = _save(
        client, _api(participant_a), {"revision": 0, "values": _values(temperature="36,8")}
    )
    assert response.status_code == 200
    assert ItemValue.objects.get(item="temperature").value == 36.8
