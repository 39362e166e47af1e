"""Participants: pseudonymous clinical identity only.

`subject_id` (site-prefixed, e.g. 01-007, shown as "Study ID") is used everywhere; it is unique
within its study. Every participant belongs to one study (`study`, always its site's study), and
everything below a participant (visits, forms, values, queries, signatures, alerts, screening,
consent, allocation, dosing) belongs to that study through it. Identifying data (name, phone,
address, medical record number) never lives in this table: it belongs to the separate,
encrypted identity store.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.accounts.models import Site


class Participant(models.Model):
    class Status(models.TextChoices):
        SCREENING = "screening", _("Screening")
        SCREEN_FAILED = "screen_failed", _("Screen failure")
        ENROLLED = "enrolled", _("Enrolled")
        COMPLETED = "completed", _("Completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        LOST = "lost", _("Lost to follow-up")

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    number = models.PositiveIntegerField(help_text="sequence within the site")
    #: The pseudonymous "Study ID" (01-007), unique within the study (site codes are per study).
    subject_id = models.CharField(max_length=32)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCREENING)
    anchor_date = models.DateField(null=True, blank=True, help_text="day 0 (dosing)")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["site__code", "number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="uniq_participant_number"),
            models.UniqueConstraint(fields=["study", "subject_id"], name="uniq_subject_per_study"),
        ]

    def __str__(self) -> str:
        return self.subject_id

    @staticmethod
    def format_subject_id(site_code: str, number: int) -> str:
        return f"{site_code}-{number:03d}"


class Identity(models.Model):
    """Identifying data of one participant, encrypted at rest (Fernet, key from the environment).

    Kept out of every clinical table, export and audit value: the audit trail records only that
    the identity was written or changed, never what it says. Read and written through `pii.py`.
    """

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="identity"
    )
    ciphertext = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"identity of {self.participant_id}"
