"""Screening log, eligibility assessments with the investigator's signature, consent.

Assessments, consents and withdrawals are records of what happened: written once, never
changed (a new assessment supersedes an old one; a withdrawal follows a consent).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.accounts.models import Site
from trialdesk.participants.models import Participant


class WriteOnce(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError(f"{self._meta.verbose_name} {self.pk} is a record: change refused")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(f"{self._meta.verbose_name} {self.pk} is a record: delete refused")


class ScreeningEntry(models.Model):
    class Outcome(models.TextChoices):
        IN_SCREENING = "in_screening", _("In screening")
        ENROLLED = "enrolled", _("Enrolled (randomized)")
        INELIGIBLE = "ineligible", _("Not eligible (criterion failed)")
        DECLINED = "declined", _("Declined to take part")
        NOT_REACHED = "not_reached", _("Not reached / lost before randomization")
        OTHER = "other", _("Other reason")

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="screening"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    screened_on = models.DateField()
    referral = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.IN_SCREENING)
    failed_criteria = models.JSONField(default=list, blank=True)
    outcome_note = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["site__code", "screened_on", "pk"]
        verbose_name_plural = "screening entries"


class EligibilityAssessment(WriteOnce):
    class Result(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        UNKNOWN = "unknown", _("Undetermined (data missing)")

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="eligibility_assessments"
    )
    assessed_at = models.DateTimeField()
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(max_length=16, choices=Result.choices)
    criteria = models.JSONField(help_text="per criterion: label, expression, evidence, result")
    values_sha256 = models.CharField(max_length=64)
    protocol_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-assessed_at", "-pk"]


class EligibilitySignature(WriteOnce):
    """21 CFR 11.50: printed name, date and time, and meaning, bound to one assessment."""

    assessment = models.OneToOneField(
        EligibilityAssessment, on_delete=models.PROTECT, related_name="signature"
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    meaning = models.TextField()
    role = models.CharField(max_length=32)


class Consent(WriteOnce):
    class Method(models.TextChoices):
        PAPER = "paper", _("Paper, signed on site")
        ELECTRONIC = "electronic", _("Electronic (on-screen signature)")

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    version = models.CharField(max_length=40)
    consented_at = models.DateTimeField()
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness_name = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=16, choices=Method.choices)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-consented_at", "-pk"]


class Withdrawal(WriteOnce):
    class Scope(models.TextChoices):
        NO_FURTHER_VISITS = (
            "no_further_visits",
            _("No further visits or procedures (data from records may still be collected)"),
        )
        NO_FURTHER_DATA = "no_further_data", _("No further data of any kind")
        DESTROY_SAMPLES = "destroy_samples", _("No further data, and destroy stored samples")

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="withdrawals"
    )
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="withdrawals")
    scope = models.CharField(max_length=20, choices=Scope.choices)
    withdrawn_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-withdrawn_at", "-pk"]
