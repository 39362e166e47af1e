"""The protocol as loaded into the database: the reviewed YAML text, its hash, when and by whom.

The parsed model is never stored as columns: it is re-read from `yaml_text` (see registry.py), so
what runs is exactly what was reviewed and hashed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ProtocolVersion(models.Model):
    study_id = models.CharField(max_length=32, db_index=True)
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
            models.UniqueConstraint(fields=["study_id", "sha256"], name="uniq_protocol_text"),
            models.UniqueConstraint(
                fields=["study_id"], condition=models.Q(active=True), name="one_active_protocol"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study_id} v{self.version} ({self.sha256[:12]})"
