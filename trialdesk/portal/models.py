"""Private notes on a passage of a study's public page, shared by a passcode link.

The body is encrypted at rest with the deployment's PII key (participants.pii); the passcode
and the owner's revoke secret are stored only as password hashes; the client address is
stored only as a keyed hash (ClientThrottle). Nothing here names a participant.
"""

from __future__ import annotations

from django.db import models


class Note(models.Model):
    token = models.CharField(max_length=64, unique=True)  # secrets.token_urlsafe(24)
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    passage_id = models.CharField(max_length=80)
    passage_text = models.TextField()  # the passage as it read when the note was written
    language = models.CharField(max_length=8)
    body_ciphertext = models.BinaryField()
    passcode_hash = models.CharField(max_length=256)
    owner_secret_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    lock_count = models.PositiveIntegerField(default=0)  # each lock doubles the next one
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"note on {self.study_id} {self.passage_id}"


class ClientThrottle(models.Model):
    """Wrong passcodes from one client address (its keyed hash), in a rolling window."""

    address_hash = models.CharField(max_length=64, unique=True)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
