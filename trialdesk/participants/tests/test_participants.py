"""Registration: site-prefixed numbers under a lock, identity encrypted and kept out of the trail."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from trialdesk.accounts.models import Site
from trialdesk.audit.chain import verify
from trialdesk.audit.models import AuditEvent
from trialdesk.participants.actions import do_create_participant
from trialdesk.participants.models import Identity, Participant
from trialdesk.participants.pii import read_identity
from trialdesk.testing.urls import reverse


def test_numbers_are_per_site_and_subject_ids_are_prefixed(personas):
    a, b = Site.objects.get(code="01"), Site.objects.get(code="02")
    p1 = do_create_participant(a, personas["coord_a"])
    p2 = do_create_participant(a, personas["coord_a"])
    p3 = do_create_participant(b, personas["coord_b"])
    assert [p1.subject_id, p2.subject_id, p3.subject_id] == ["01-001", "01-002", "02-001"]


def test_identity_is_encrypted_and_never_in_clinical_rows_or_the_trail(personas):
    site = Site.objects.get(code="01")
    p = do_create_participant(
        site, personas["coord_a"], identity={"name": "Ani Lestari", "mrn": "RM-987654"}
    )
    raw = bytes(Identity.objects.get(participant=p).ciphertext)
    assert b"Ani" not in raw and b"RM-987654" not in raw
    assert read_identity(p).name == "Ani Lestari"
    for event in AuditEvent.objects.all():
        text = f"{event.old_value}{event.new_value}{event.reason}"
        assert "Ani" not in text and "987654" not in text
    assert verify().ok


def test_registration_creates_the_pre_dosing_visits(personas):
    p = do_create_participant(Site.objects.get(code="01"), personas["coord_a"])
    assert sorted(p.visits.values_list("code", flat=True)) == ["D0", "SCR"]


def test_register_page_and_identity_page_are_site_scoped(login, personas):
    client = login("coord_a")
    page = client.get(reverse("participants:register"))
    assert page.status_code == 200
    site = Site.objects.get(code="01")
    response = client.post(
        reverse("participants:register"), {"site": site.pk, "name": "Rina", "phone": "0812"}
    )
    assert response.status_code == 302
    p = Participant.objects.get()
    assert client.get(reverse("participants:identity", args=[p.subject_id])).status_code == 200
    assert (
        "Rina" in client.get(reverse("participants:identity", args=[p.subject_id])).content.decode()
    )
    other = login("coord_b")
    assert other.get(reverse("participants:identity", args=[p.subject_id])).status_code == 404
    assert other.get(reverse("participants:detail", args=[p.subject_id])).status_code == 404
    assert "01-001" not in other.get(reverse("participants:list")).content.decode()
    # A monitor reads the casebook but never the identity.
    monitor = login("monitor")
    assert monitor.get(reverse("participants:detail", args=[p.subject_id])).status_code == 200
    assert monitor.get(reverse("participants:identity", args=[p.subject_id])).status_code == 403


def test_coordinator_cannot_register_at_another_site(login, personas):
    response = login("coord_b").post(
        reverse("participants:register"), {"site": Site.objects.get(code="01").pk, "name": "X"}
    )
    assert response.status_code == 422
    assert not Participant.objects.exists()


def _shared_memory_sqlite() -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_numbers(personas):
    if _shared_memory_sqlite():
        pytest.skip("threads cannot share SQLite's in-memory test database; runs on PostgreSQL")
    site = Site.objects.get(code="01")
    user = personas["coord_a"]
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(3):
                do_create_participant(site, user)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Participant.objects.filter(site=site).values_list("number", flat=True))
    assert numbers == list(range(1, 19))
    assert verify().ok


def test_viewing_identifying_data_is_audited_without_the_data(login, personas):
    site = Site.objects.get(code="01")
    p = do_create_participant(site, personas["coord_a"], identity={"name": "Sri Wahyuni"})
    client = login("coord_a")
    assert (
        "Sri Wahyuni"
        in client.get(reverse("participants:identity", args=[p.subject_id])).content.decode()
    )
    views = AuditEvent.objects.filter(action="view", participant=p.subject_id)
    assert [(e.actor_username, e.object_type) for e in views] == [
        ("coord_a", "participants.identity")
    ]
    assert "Sri Wahyuni" not in str(views[0].new_value)
    # Refused look-ups (another site) leave no view event and show nothing.
    assert (
        login("coord_b").get(reverse("participants:identity", args=[p.subject_id])).status_code
        == 404
    )
    assert views.count() == 1
    assert verify().ok
