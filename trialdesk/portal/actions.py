"""Every write of the portal: create a note, try its passcode, revoke it.

Notes are a visitor's private text, not part of the clinical record, so these actions write
no audit event (the trail would otherwise hold a trace of every visitor); the rows themselves
are the record. Each runs in one durable transaction with the note row locked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from trialdesk.participants.pii import encrypt_text
from trialdesk.portal.models import ClientThrottle, Note

ATTEMPTS_BEFORE_LOCK = 5
FIRST_LOCK = timedelta(minutes=15)
#: Wrong passcodes one client address may try, on any notes, per window.
CLIENT_FAILURES = 20
CLIENT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class CreatedNote:
    note: Note
    owner_secret: str  # shown once, never stored in clear


def address_hash(address: str) -> str:
    """A keyed hash of the client address: attempts are counted without storing it."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"portal-client:{address}".encode(), hashlib.sha256).hexdigest()


def do_create_note(*, study, passage, language, body, passcode, expires_in) -> CreatedNote:
    owner_secret = secrets.token_urlsafe(24)
    with transaction.atomic(durable=True):
        note = Note.objects.create(
            token=secrets.token_urlsafe(24),
            study=study,
            passage_id=passage.id,
            passage_text=passage.text,
            language=language,
            body_ciphertext=encrypt_text(body),
            passcode_hash=make_password(passcode),
            owner_secret_hash=make_password(owner_secret),
            expires_at=timezone.now() + expires_in if expires_in else None,
        )
    return CreatedNote(note, owner_secret)


def client_blocked(address: str) -> bool:
    row = ClientThrottle.objects.filter(address_hash=address_hash(address)).first()
    return bool(
        row
        and row.failures >= CLIENT_FAILURES
        and timezone.now() < row.window_start + CLIENT_WINDOW
    )


def do_try_passcode(note: Note, passcode: str, address: str) -> bool:
    """Whether ``passcode`` opens ``note``; a wrong one is counted on the note (5 lock it for
    15 minutes, each later lock twice as long) and on the client address."""
    with transaction.atomic(durable=True):
        note = Note.objects.select_for_update().get(pk=note.pk)
        now = timezone.now()
        if note.locked_until and now < note.locked_until:
            return False
        if check_password(passcode, note.passcode_hash):
            note.failed_attempts = 0
            note.lock_count = 0
            note.locked_until = None
            note.save(update_fields=["failed_attempts", "lock_count", "locked_until"])
            return True
        note.failed_attempts += 1
        if note.failed_attempts >= ATTEMPTS_BEFORE_LOCK:
            note.locked_until = now + FIRST_LOCK * 2**note.lock_count
            note.lock_count += 1
            note.failed_attempts = 0
        note.save(update_fields=["failed_attempts", "lock_count", "locked_until"])
        _count_client_failure(address, now)
    return False


def _count_client_failure(address: str, now) -> None:
    row, _ = ClientThrottle.objects.select_for_update().get_or_create(
        address_hash=address_hash(address), defaults={"window_start": now}
    )
    if now >= row.window_start + CLIENT_WINDOW:
        row.window_start, row.failures = now, 0
    row.failures += 1
    row.save(update_fields=["window_start", "failures"])


def do_revoke_note(note: Note, owner_secret: str, address: str) -> bool:
    """Revoke ``note`` if ``owner_secret`` is the one shown when it was created (a wrong one
    counts against the client address, like a wrong passcode)."""
    with transaction.atomic(durable=True):
        note = Note.objects.select_for_update().get(pk=note.pk)
        if not check_password(owner_secret, note.owner_secret_hash):
            _count_client_failure(address, timezone.now())
            return False
        if note.revoked_at is None:
            note.revoked_at = timezone.now()
            note.save(update_fields=["revoked_at"])
    return True
