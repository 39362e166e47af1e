"""Issue 14 (outreach): contact the nearest centre, abuse controls, the coordinators' queue."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse as root_reverse

from trialdesk.accounts.models import Site
from trialdesk.audit.models import AuditEvent
from trialdesk.enrolment.models import ScreeningEntry
from trialdesk.outreach import places
from trialdesk.outreach.models import Lead, RateCounter
from trialdesk.outreach.sealed import seal, unseal
from trialdesk.participants.pii import read_identity
from trialdesk.studies.registry import get_protocol
from trialdesk.testing.urls import reverse

XSS = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def _contact_url(loaded_protocol) -> str:
    return root_reverse("outreach:contact", kwargs={"code": loaded_protocol.study_id})


def _form(**over) -> dict:
    data = {
        "place": "Bandung",
        "first_name": "Wulandari",
        "last_name": "Kusumawati",
        "email": "rina@example.org",
        "phone": "+62 812 3456 7890",
        "other_language": "Sundanese",
        "message": "I had preeclampsia last week.",
        "consent": "on",
        "website": "",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def committed():
    """Run the on-commit callbacks (the mails) as a real commit would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def _post(loaded_protocol, client=None, **over):
    with committed():
        return (client or Client()).post(_contact_url(loaded_protocol), _form(**over))


def _arm_words() -> set[str]:
    words = set()
    for arm in get_protocol().arms.values():
        words.update({arm.name.en, arm.name.id})
    return words


# -- places and distance -----------------------------------------------------------------------


def test_great_circle_distance_jakarta_bandung():
    # Jakarta–Bandung city centres: about 116 km as the crow flies.
    jakarta, bandung = places.resolve("Jakarta"), places.resolve("bandung")
    km = places.distance_km(
        jakarta.latitude, jakarta.longitude, bandung.latitude, bandung.longitude
    )
    assert 114 < km < 118


def test_places_resolve_names_and_postcodes():
    assert places.resolve("Kota Bandung").name == "Kota Bandung"
    assert places.resolve("kabupaten garut").province == "Jawa Barat"
    assert places.resolve("40115").name == "Kota Bandung"
    assert places.resolve("40521").name == "Kota Cimahi"  # the longer prefix wins
    assert places.resolve("Atlantis") is None
    west_java = [p for p in places.places() if p.province == "Jawa Barat"]
    assert len(west_java) == 27  # 18 regencies and 9 cities


# -- the contact form --------------------------------------------------------------------------


def test_get_contact_page_works_without_js(personas, loaded_protocol):
    page = Client().get(_contact_url(loaded_protocol)).content.decode()
    assert 'name="place"' in page and 'name="consent"' in page and 'name="website"' in page
    assert "<script>" not in page  # only the external, deferred location.js


def test_nearest_centre_from_a_city(personas, loaded_protocol):
    response = _post(loaded_protocol, place="Cimahi")
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.site.code == "01" and lead.status == "new"
    page = response.content.decode()
    assert "RSUP Dr. Hasan Sadikin Bandung" in page or lead.site.name in page
    assert f"{lead.distance_km:.0f} km" in page
    assert 5 < lead.distance_km < 10  # Cimahi town centre to the hospital


def test_nearest_centre_from_coordinates(personas, loaded_protocol):
    response = _post(loaded_protocol, place="", latitude="-6.90", longitude="107.60")
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.site.code == "01" and lead.located_by == "location"
    assert lead.distance_km < 1


def test_inactive_centre_is_skipped(personas, loaded_protocol):
    # Standing at site 02 (inactive in the protocol): the request goes to site 01.
    assert not Site.objects.get(code="02").active
    _post(loaded_protocol, place="", latitude="-7.0046", longitude="107.6306")
    lead = Lead.objects.get()
    assert lead.site.code == "01" and lead.distance_km > 10


def test_no_open_centre_is_said_and_stores_nothing(personas, loaded_protocol):
    Site.objects.filter(study_id=loaded_protocol.study_id).update(active=False)
    response = _post(loaded_protocol)
    assert response.status_code == 422
    assert "no open study centre" in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"email": "not-an-email"}, "E-mail: “not-an-email” is not an e-mail address"),
        ({"email": ""}, "E-mail is required"),
        ({"first_name": ""}, "First name is required"),
        ({"last_name": "x" * 101}, "Last name: 101 characters is too long; at most 100"),
        ({"phone": "call me"}, "Phone: “call me” is not a phone number"),
        ({"place": "Atlantis"}, "City, regency or postcode: “Atlantis” is not in our list"),
        ({"place": ""}, "City, regency or postcode is required"),
        ({"place": "", "latitude": "95", "longitude": "107"}, "Latitude: “95” is not allowed"),
        ({"consent": None}, "Consent: the box is not ticked"),
    ],
)
def test_validation_names_field_value_and_what_is_allowed(personas, loaded_protocol, over, words):
    response = _post(loaded_protocol, **over)
    assert response.status_code == 422
    assert words in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert not Lead.objects.exists() and not mail.outbox


def test_lead_is_encrypted_audited_without_identity_and_mailed(personas, loaded_protocol):
    _post(loaded_protocol)
    lead = Lead.objects.get()
    assert b"Wulandari" not in bytes(lead.ciphertext) and b"rina@" not in bytes(lead.ciphertext)
    assert unseal(lead.ciphertext)["email"] == "rina@example.org"
    event = AuditEvent.objects.get(object_type="outreach.lead", action="create")
    text = str(list(AuditEvent.objects.values()))
    for secret in (
        "Wulandari",
        "Kusumawati",
        "rina@example.org",
        "3456",
        "Sundanese",
        "preeclampsia last",
    ):
        assert secret not in text
    assert event.site_code == "01" and event.role == "public"
    to = {tuple(m.to) for m in mail.outbox}
    assert ("rina@example.org",) in to and ("coord_a@example.org",) in to
    note = next(m for m in mail.outbox if m.to == ["coord_a@example.org"])
    assert "a new contact request" in note.body.lower()
    assert "/staff/NCT07183384/outreach/leads/" in note.body
    for secret in ("Wulandari", "Kusumawati", "rina@example.org", "3456", "Sundanese"):
        assert secret not in note.body
    assert "coord_b@example.org" not in str(to)  # not that centre's coordinator


def test_honeypot_stores_and_sends_nothing(personas, loaded_protocol):
    response = _post(loaded_protocol, website="http://spam.example")
    assert response.status_code == 200
    assert not Lead.objects.exists() and not mail.outbox


def test_rate_limit_per_ip_engages_and_a_flood_stores_nothing_beyond(
    personas, loaded_protocol, settings
):
    settings.PUBLIC_RATE_LIMIT_IP = (3, 600)
    client = Client()
    codes = [
        _post(loaded_protocol, client, email=f"p{i}@example.org").status_code for i in range(8)
    ]
    assert codes == [200, 200, 200, 429, 429, 429, 429, 429]
    assert Lead.objects.count() == 3
    refused = client.post(_contact_url(loaded_protocol), _form()).content.decode()
    assert "at most 3 in 10 minutes" in refused
    assert "127.0.0.1" not in str(list(RateCounter.objects.values()))  # hashed, never raw


def test_rate_limit_per_address(personas, loaded_protocol, settings):
    settings.PUBLIC_RATE_LIMIT_ADDRESS = (2, 86400)
    codes = [
        _post(loaded_protocol, Client(REMOTE_ADDR=f"10.0.0.{i}")).status_code for i in range(4)
    ]
    assert codes == [200, 200, 429, 429]
    assert Lead.objects.count() == 2


def test_a_body_too_large_is_refused(personas, loaded_protocol, settings):
    settings.PUBLIC_POST_MAX_BYTES = 500
    response = _post(loaded_protocol, message="x" * 600)
    assert response.status_code == 413
    assert "at most 500 bytes" in response.content.decode()
    assert not Lead.objects.exists()


def test_xss_is_inert_in_the_page_the_queue_and_the_mails(personas, loaded_protocol, login):
    fields = ("first_name", "last_name", "other_language", "message")
    bad = _post(loaded_protocol, email=XSS, **dict.fromkeys(fields, XSS)).content.decode()
    assert "<script>alert" not in bad and "<img src=x" not in bad
    _post(loaded_protocol, **dict.fromkeys(fields, XSS))
    lead = Lead.objects.get()
    page = login("coord_a").get(reverse("leads:detail", kwargs={"pk": lead.pk})).content.decode()
    assert "&lt;script&gt;alert" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    for message in mail.outbox:
        assert not message.alternatives  # plain text only
        assert "<script>" not in message.body and "onerror" not in message.body


def test_public_page_and_mails_carry_no_participant_or_allocation_data(
    personas, loaded_protocol, participant_a
):
    page = Client().get(_contact_url(loaded_protocol)).content.decode()
    sent = _post(loaded_protocol).content.decode()
    texts = [page, sent, *(m.subject + m.body for m in mail.outbox)]
    for text in texts:
        assert participant_a.subject_id not in text
        for word in _arm_words():
            assert word not in text


# -- the queue ---------------------------------------------------------------------------------


def _lead_at(site_code: str, loaded_protocol) -> Lead:
    site = Site.objects.get(study_id=loaded_protocol.study_id, code=site_code)
    person = {
        "first_name": "Ani",
        "last_name": "B",
        "email": "a@example.org",
        "phone": "0812345678",
    }
    return Lead.objects.create(
        study_id=site.study_id, site=site, ciphertext=seal(person), distance_km=3
    )


def test_queue_is_scoped_to_the_persons_sites(login, loaded_protocol):
    a, b = _lead_at("01", loaded_protocol), _lead_at("02", loaded_protocol)
    client = login("coord_a")
    page = client.get(reverse("leads:list")).content.decode()
    assert f"#{a.pk}<" in page and f"#{b.pk}<" not in page
    assert client.get(reverse("leads:detail", kwargs={"pk": b.pk})).status_code == 404
    assert (
        client.post(reverse("leads:detail", kwargs={"pk": b.pk}), {"do": "convert"}).status_code
        == 404
    )
    client = login("coord_b")
    assert client.get(reverse("leads:detail", kwargs={"pk": b.pk})).status_code == 200
    assert login("monitor").get(reverse("leads:list")).status_code == 403
    assert login("pharm_a").get(reverse("leads:list")).status_code == 403


def test_queue_filters_by_status(login, loaded_protocol):
    a, b = _lead_at("01", loaded_protocol), _lead_at("01", loaded_protocol)
    Lead.objects.filter(pk=b.pk).update(status="contacted")
    page = login("inv_a").get(reverse("leads:list") + "?status=contacted").content.decode()
    assert f"#{b.pk}<" in page and f"#{a.pk}<" not in page


def test_lead_view_and_status_change_are_audited(login, loaded_protocol):
    lead = _lead_at("01", loaded_protocol)
    client = login("coord_a")
    page = client.get(reverse("leads:detail", kwargs={"pk": lead.pk})).content.decode()
    assert "a@example.org" in page and "0812345678" in page
    assert AuditEvent.objects.filter(action="view", object_id=str(lead.pk)).count() == 1
    client.post(reverse("leads:detail", kwargs={"pk": lead.pk}), {"status": "contacted"})
    lead.refresh_from_db()
    assert lead.status == "contacted"
    event = AuditEvent.objects.get(action="status", object_type="outreach.lead")
    assert event.old_value == {"status": "new"} and event.new_value == {"status": "contacted"}
    # a status that cannot follow is refused with the allowed ones
    response = client.post(
        reverse("leads:detail", kwargs={"pk": lead.pk}), {"status": "screened"}, follow=True
    )
    assert "allowed: Not interested, New" in response.content.decode()


def test_lead_turns_into_a_screening_entry(login, loaded_protocol):
    lead = _lead_at("01", loaded_protocol)
    client = login("coord_a")
    client.post(reverse("leads:detail", kwargs={"pk": lead.pk}), {"do": "convert"})
    lead.refresh_from_db()
    assert lead.status == "screened" and lead.participant is not None
    entry = ScreeningEntry.objects.get(participant=lead.participant)
    assert entry.site.code == "01" and f"contact request {lead.pk}" in entry.referral
    identity = read_identity(lead.participant)
    assert identity.name == "Ani B" and identity.phone == "0812345678"
    # twice is refused: one participant only
    client.post(reverse("leads:detail", kwargs={"pk": lead.pk}), {"do": "convert"})
    assert ScreeningEntry.objects.count() == 1


def test_conversion_is_refused_while_the_database_is_locked(login, loaded_protocol, personas):
    from django.utils import timezone

    from trialdesk.studies.models import DatabaseLock

    DatabaseLock.objects.create(
        study_id=loaded_protocol.study_id,
        locked_at=timezone.now(),
        locked_by=personas["dm"],
        lock_reason="final analysis",
        snapshot_id=1,
    )
    lead = _lead_at("01", loaded_protocol)
    response = login("coord_a").post(
        reverse("leads:detail", kwargs={"pk": lead.pk}), {"do": "convert"}
    )
    assert response.status_code == 403
    assert "is locked" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "new" and not ScreeningEntry.objects.exists()


def test_the_confirmation_is_in_indonesian(personas, loaded_protocol):
    _post(loaded_protocol, Client(HTTP_ACCEPT_LANGUAGE="id"))
    lead = Lead.objects.get()
    assert lead.language == "id"
    mine = next(m for m in mail.outbox if m.to == ["rina@example.org"])
    assert re.search(r"permintaan", mine.subject + mine.body, re.I)
