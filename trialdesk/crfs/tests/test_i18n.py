"""Both site languages: the protocol's own labels and the interface strings (compiled .mo)."""

from __future__ import annotations

from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.urls import reverse


def test_form_in_bahasa_indonesia(login, participant_a):
    from trialdesk.studies.registry import get_protocol

    client = login("coord_a")
    client.post(reverse("set_language"), {"language": "id", "next": "/"})
    page = client.get(url(visit_of(participant_a, "D7"))).content.decode()
    sbp = get_protocol().field("vitals.sbp").label.id
    assert sbp in page
    assert "Simpan dan tandai lengkap" in page and "Kueri" in page
    detail = client.get(
        reverse("participants:detail", args=[participant_a.subject_id])
    ).content.decode()
    assert get_protocol().visit("D7").label.id in detail
    assert "Kunjungan" in detail


def test_messages_stay_in_english_by_default(login, participant_a):
    client = login("coord_a")
    page = client.post(
        url(visit_of(participant_a, "D7")),
        with_revision(url(visit_of(participant_a, "D7")), vitals(sbp="400")),
    ).content.decode()
    assert "Save and mark complete" in page and "sbp = 400 mmHg is outside" in page


def test_hard_check_message_in_the_users_language(login, participant_a):
    from trialdesk.studies.registry import get_protocol

    client = login("coord_a")
    client.post(reverse("set_language"), {"language": "id", "next": "/"})
    page = client.post(
        url(visit_of(participant_a, "D7")),
        with_revision(url(visit_of(participant_a, "D7")), vitals(sbp="80", dbp="95")),
    )
    assert page.status_code == 422
    assert get_protocol().form("vitals").checks["dbp_below_sbp"].message.id in page.content.decode()
