"""Studies and their protocols as loaded into the database.

A `Study` row exists for every protocol file ever loaded (``trialdesk load-protocol FILE``); its
primary key is the protocol's study identifier (``NCT07183384``, ``TD-IRON-PP``), so every
foreign key to it reads as that identifier in the database too. Every clinical row belongs to
exactly one study: sites, memberships, participants (and everything below a participant),
randomization lists. `ProtocolVersion` holds the reviewed YAML text, its hash, when and by whom.

The parsed model is never stored as columns: it is re-read from `yaml_text` (see registry.py), so
what runs is exactly what was reviewed and hashed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Study(models.Model):
    """One trial hosted by this deployment; created when its protocol is first loaded."""

    code = models.CharField(primary_key=True, max_length=32)  # the protocol's study.id
    title = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(
        default=True, help_text="listed to its staff; data stay either way"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.code


class ProtocolVersion(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="protocol_versions")
    version = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64)
    source_path = models.CharField(max_length=500, blank=True)
    yaml_text = models.TextField()
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-loaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["study", "sha256"], name="uniq_protocol_text"),
            models.UniqueConstraint(
                fields=["study"], condition=models.Q(active=True), name="one_active_protocol"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study_id} v{self.version} ({self.sha256[:12]})"


class DatabaseLock(models.Model):
    """One lock of a study's clinical database, from the data manager's signed lock to the
    signed unlock that ends it (both with a reason). While a lock is open (``unlocked_at``
    empty) every action that changes clinical data refuses (``studies.locking``). The frozen
    data of each lock and unlock is a snapshot (``analyses.Snapshot``), named here by id."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="locks")
    locked_at = models.DateTimeField()
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    lock_reason = models.TextField()
    snapshot_id = models.PositiveIntegerField(help_text="the snapshot frozen at the lock")
    form_ids = models.JSONField(default=list, help_text="the forms this lock locked")
    open_queries = models.JSONField(default=list, help_text="queries not closed at the lock")
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unlock_reason = models.TextField(blank=True)
    unlock_snapshot_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["study", "locked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["study"],
                condition=models.Q(unlocked_at=None),
                name="one_open_lock_per_study",
            )
        ]

    def snapshot(self) -> dict:
        return {
            "study": self.study_id,
            "locked_at": self.locked_at,
            "lock_reason": self.lock_reason,
            "snapshot": self.snapshot_id,
            "unlocked_at": self.unlocked_at,
            "unlock_reason": self.unlock_reason,
            "unlock_snapshot": self.unlock_snapshot_id,
        }
