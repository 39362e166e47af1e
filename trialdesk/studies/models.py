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
