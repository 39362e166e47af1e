"""The append-only, MAC-chained audit trail.

Each event stores the HMAC of its content and of the previous event's MAC (keyed by
`settings.AUDIT_KEY`, held outside the database); `chain.verify()` recomputes the chain and names
the first broken or missing link. No code path updates or deletes an event: the model refuses it,
the queryset refuses it, and on PostgreSQL a trigger refuses it too (migration 0002).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or delete an audit event."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only: update refused")

    def delete(self):
        raise AppendOnlyError("audit events are append-only: delete refused")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        CREATE = "create"
        CHANGE = "change"
        DELETE = "delete"
        STATUS = "status"
        LOGIN = "login"
        LOGIN_FAILED = "login_failed"
        LOGOUT = "logout"
        EXPORT = "export"
        RANDOMIZE = "randomize"
        UNBLIND = "unblind"
        SIGN = "sign"
        LOAD = "load"
        VIEW = "view"

    seq = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=32, blank=True)
    site_code = models.CharField(max_length=8, blank=True)
    #: The study the event belongs to (blank for deployment-wide events: logins, user accounts).
    study_code = models.CharField(max_length=32, blank=True, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True, db_index=True)
    participant = models.CharField(max_length=32, blank=True, db_index=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    software_version = models.CharField(max_length=32)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise AppendOnlyError(f"audit event {self.seq} is append-only: change refused")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"audit event {self.seq} is append-only: delete refused")

    def __str__(self) -> str:
        return f"#{self.seq} {self.occurred_at:%Y-%m-%dT%H:%M:%SZ} {self.actor_username} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """One row, locked while an event is appended so the chain stays linear under concurrency.

    ``scheme`` and ``key_fingerprint`` say how the chain is keyed (never the key itself), so that
    a verifier holding another key reports "wrong key" rather than "tampered". Events up to
    ``legacy_until_seq`` were chained with plain SHA-256 before the key was introduced; that
    boundary is itself MACed (``legacy_mac``) so that a database writer cannot move it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    scheme = models.CharField(max_length=32, default="hmac-sha256")
    key_fingerprint = models.CharField(max_length=32, blank=True)
    legacy_until_seq = models.PositiveBigIntegerField(default=0)
    legacy_mac = models.CharField(max_length=64, blank=True)
    #: Events up to ``single_study_until_seq`` were written when the deployment held one study,
    #: ``single_study``, and carry no study of their own (migration audit.0006); MACed likewise.
    single_study = models.CharField(max_length=32, blank=True)
    single_study_until_seq = models.PositiveBigIntegerField(default=0)
    single_study_mac = models.CharField(max_length=64, blank=True)
