"""Finding 9: a 1 MB reason was accepted and copied into 14 audit events. Every free text a
person types — reasons, query messages, notes, withdrawal text, unblinding reason — is refused
beyond its limit (trialdesk.core.text.LIMITS) with a message naming the field, the length and
the maximum, and nothing reaches the audit trail."""

from __future__ import annotations

import pytest

from trialdesk.audit.models import AuditEvent
from trialdesk.core.text import FIELDS, LIMITS
from trialdesk.testing.participants import visit_of

MB = "x" * 1_000_000


def _posts(p, d7) -> list[tuple[str, str, dict]]:
    """(persona, url, POST) for every page that takes a free text, each with one huge field."""
    sid = p.subject_id
    return [
        ("coord_a", f"/staff/NCT07183384/enrolment/participants/{sid}/", {"action": "withdraw", "scope": "data", "reason": MB}),
        ("coord_a", f"/staff/NCT07183384/enrolment/participants/{sid}/", {"action": "close", "outcome": "screen_failed", "note": MB}),
        ("coord_a", f"/staff/NCT07183384/enrolment/participants/{sid}/", {"action": "consent", "witness_name": MB}),
        ("coord_a", "/staff/NCT07183384/enrolment/", {"site": "1", "referral": MB}),
        ("inv_a", f"/staff/NCT07183384/randomization/participants/{sid}/unblind/", {"reason": MB}),
        ("inv_a", "/staff/NCT07183384/randomization/unblindings/1/", {"action": "approve", "reason": MB}),
        ("pharm_a", f"/staff/NCT07183384/randomization/participants/{sid}/", {"action": "prepare", "lot": MB}),
        ("coord_a", f"/staff/NCT07183384/randomization/participants/{sid}/", {"action": "dose", "reaction_description": MB}),
        ("coord_a", f"/staff/NCT07183384/visits/{d7.pk}/date/", {"actual_date": "2026-01-01", "reason": MB}),
        ("coord_a", f"/staff/NCT07183384/visits/{d7.pk}/missed/", {"reason": MB}),
        ("coord_a", f"/staff/NCT07183384/visits/unscheduled/{sid}/", {"reason": MB}),
        ("coord_a", f"/staff/NCT07183384/participants/{sid}/identity/", {"name": "A", "reason": MB}),
        ("dm", "/staff/NCT07183384/crfs/form/1/unlock/", {"reason": MB}),
        ("dm", "/staff/NCT07183384/crfs/form/1/lock/", {"reason": MB}),
        ("monitor", "/staff/NCT07183384/crfs/form/1/query/", {"item": "hr", "text": MB}),
        ("coord_a", "/staff/NCT07183384/crfs/query/1/", {"step": "answer", "text": MB}),
        ("inv_a", "/staff/NCT07183384/crfs/alert/1/ack/", {"note": MB}),
    ]  # fmt: skip


def test_every_free_text_is_refused_beyond_its_limit(client, personas, participant_a):
    d7 = visit_of(participant_a, "D7")
    writes = AuditEvent.objects.exclude(action__in=["login", "logout"])
    before = writes.count()
    for who, url, post in _posts(participant_a, d7):
        client.force_login(personas[who])
        response = client.post(url, post)
        field = next(k for k, v in post.items() if v is MB)
        limit = LIMITS[FIELDS[field]]
        assert response.status_code == 422, (url, field, response.status_code)
        text = response.content.decode()
        assert f"{field}: 1000000 characters is too long: at most {limit} allowed" in text, url
        assert "x" * 2000 not in text  # the input is not echoed back
    assert writes.count() == before
    assert not AuditEvent.objects.filter(reason__contains="x" * 1000).exists()


def test_the_json_api_gets_the_same_refusal(client, personas, participant_a):
    client.force_login(personas["coord_a"])
    url = f"/api/v1/NCT07183384/crfs/participants/{participant_a.subject_id}/visits/D7/forms/vitals"
    response = client.post(
        url, {"revision": 0, "values": {}, "reason": MB}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"]["reason"] == (
        f"reason: 1000000 characters is too long: at most {LIMITS['reason']} allowed"
    )


@pytest.mark.parametrize("field", ["reason", "text", "note"])
def test_a_text_at_the_limit_passes_the_check(field):
    from trialdesk.core.text import check_text

    limit = LIMITS[FIELDS[field]]
    assert check_text(field, "y" * limit) == "y" * limit
    with pytest.raises(ValueError, match=f"at most {limit} allowed"):
        check_text(field, "y" * (limit + 1))


def test_a_nul_character_in_any_parameter_is_422_naming_it(client, personas, participant_a):
    """PostgreSQL refuses NUL in text with an exception: the fuzz found 500s on /participants/
    %00/, the eCRF API path and ?action=%00; now each is refused naming the parameter."""
    client.force_login(personas["coord_a"])
    sid = participant_a.subject_id
    cases = [
        ("/staff/NCT07183384/participants/a%00b/", "subject_id"),
        (f"/api/v1/NCT07183384/crfs/participants/{sid}/visits/%00/forms/vitals", "visit_code"),
        (f"/staff/NCT07183384/audit/participant/{sid}/?action=%00", "action"),
    ]
    for url, name in cases:
        response = client.get(url)
        assert response.status_code == 422, url
        assert f"{name}: a NUL character is not allowed" in response.content.decode()
    response = client.post(f"/staff/NCT07183384/visits/unscheduled/{sid}/", {"reason": "a\x00b"})
    assert response.status_code == 422
    assert "reason: a NUL character is not allowed" in response.content.decode()
