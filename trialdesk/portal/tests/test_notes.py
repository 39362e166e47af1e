"""Private notes: create, open with a wrong then the right passcode, lock, expiry, revoke,
the client-address limit, and XSS payloads rendered inert."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from trialdesk.portal import actions
from trialdesk.portal.models import ClientThrottle, Note

CODE = "NCT07183384"
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture
def anon(client, loaded_protocol):
    return client


def _create(anon, **extra):
    data = {"passage": "summary-2", "note": "Ask about the IV.", "passcode": "secret-42",
            "expires": "never", **extra}  # fmt: skip
    page = anon.post(f"/studies/{CODE}/notes/", data)
    assert page.status_code == 201, page.content.decode()[:2000]
    text = page.content.decode()
    token = re.search(r"/notes/([A-Za-z0-9_-]+)/", text).group(1)
    secret = re.search(r"<code>([A-Za-z0-9_-]+)</code>", text).group(1)
    return Note.objects.get(token=token), secret, text


def test_create_stores_only_ciphertext_and_hashes(anon):
    note, secret, text = _create(anon)
    assert len(note.token) >= 32 and note.passage_id == "summary-2"
    assert "exosomes" in note.passage_text
    assert b"Ask about the IV." not in bytes(note.body_ciphertext)
    assert "secret-42" not in note.passcode_hash and note.passcode_hash.startswith("argon2")
    assert secret not in note.owner_secret_hash
    assert f"/notes/{note.token}/" in text


def test_the_passage_link_preselects_it(anon):
    text = anon.get(f"/studies/{CODE}/?passage=risks-2").content.decode()
    assert '<option value="risks-2" selected>' in text


def test_rejections_name_the_field(anon):
    page = anon.post(
        f"/studies/{CODE}/notes/",
        {"passage": "nope", "note": "", "passcode": "abc", "expires": "1y"},
    )
    assert page.status_code == 422
    text = page.content.decode()
    assert "Select a valid choice. nope is not one of the available choices." in text
    assert "Select a valid choice. 1y is not one of the available choices." in text
    assert "at least 6 characters (it has 3)" in text
    assert "This field is required." in text
    long = anon.post(
        f"/studies/{CODE}/notes/",
        {"passage": "faq-1", "note": "x" * 1001, "passcode": "secret-42", "expires": "never"},
    )
    assert long.status_code == 422 and "at most 1000 allowed" in long.content.decode()
    assert Note.objects.count() == 0


def test_open_wrong_then_right(anon):
    note, _, _ = _create(anon)
    url = f"/notes/{note.token}/"
    assert anon.get(url).status_code == 200
    wrong = anon.post(url, {"passcode": "nope-nope"})
    assert wrong.status_code == 403 and "That passcode is not right" in wrong.content.decode()
    assert "Ask about the IV." not in wrong.content.decode()
    right = anon.post(url, {"passcode": "secret-42"})
    assert right.status_code == 200
    text = right.content.decode()
    assert "Ask about the IV." in text and "tiny particles that come from stem cells" in text
    note.refresh_from_db()
    assert note.failed_attempts == 0
    throttle = ClientThrottle.objects.get()
    assert throttle.failures == 1 and "127.0.0.1" not in throttle.address_hash


def test_five_wrong_lock_for_15_minutes_then_doubling(anon):
    note, _, _ = _create(anon)
    url = f"/notes/{note.token}/"
    for _ in range(5):
        anon.post(url, {"passcode": "wrong-one"})
    note.refresh_from_db()
    left = note.locked_until - timezone.now()
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)
    locked = anon.post(url, {"passcode": "secret-42"})  # even the right one waits
    assert locked.status_code == 429 and "locked until" in locked.content.decode()
    Note.objects.filter(pk=note.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    for _ in range(5):
        anon.post(url, {"passcode": "wrong-one"})
    note.refresh_from_db()
    assert note.locked_until - timezone.now() > timedelta(minutes=29)


def test_the_client_address_is_limited_across_notes(anon):
    note, _, _ = _create(anon)
    ClientThrottle.objects.create(
        address_hash=actions.address_hash("127.0.0.1"),
        window_start=timezone.now(),
        failures=actions.CLIENT_FAILURES,
    )
    page = anon.post(f"/notes/{note.token}/", {"passcode": "secret-42"})
    assert page.status_code == 429 and "from this connection" in page.content.decode()


def test_expired_is_gone(anon):
    note, _, _ = _create(anon, expires="1d")
    Note.objects.filter(pk=note.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = anon.get(f"/notes/{note.token}/")
    assert page.status_code == 410 and "expired" in page.content.decode()
    assert anon.post(f"/notes/{note.token}/", {"passcode": "secret-42"}).status_code == 410


def test_revoke_with_the_owner_secret(anon):
    note, secret, _ = _create(anon)
    url = f"/notes/{note.token}/revoke/"
    assert anon.post(url, {"secret": "not-it"}).status_code == 403
    assert anon.post(url, {"secret": secret}).status_code == 200
    page = anon.get(f"/notes/{note.token}/")
    assert page.status_code == 410 and "switched off" in page.content.decode()


def test_unknown_token_is_404(anon):
    assert anon.get("/notes/not-a-token/").status_code == 404


def test_xss_in_the_body_is_inert(anon):
    note, _, _ = _create(anon, note=XSS)
    text = anon.post(f"/notes/{note.token}/", {"passcode": "secret-42"}).content.decode()
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_xss_in_the_stored_passage_is_inert(anon):
    note, _, _ = _create(anon)
    Note.objects.filter(pk=note.pk).update(passage_text=XSS)
    text = anon.post(f"/notes/{note.token}/", {"passcode": "secret-42"}).content.decode()
    assert "<script>alert(1)</script>" not in text and "&lt;img src=x" in text


def test_a_passage_id_with_markup_is_not_reflected(anon):
    text = anon.get(f"/studies/{CODE}/", {"passage": '"><script>x</script>'}).content.decode()
    assert "<script>x</script>" not in text
