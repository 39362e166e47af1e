"""eCRF data: one row per form instance, one row per item value, queries, alerts, signatures.

Each item value is its own row (participant, visit, form, item, entered value and unit,
canonical value and unit, status), so each value has its own history in the audit trail
(object `crfs.itemvalue:<pk>`). Values are never deleted: clearing a value keeps the row with
status `cleared`, and the audit trail keeps every earlier value.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.participants.models import Participant
from trialdesk.visits.models import Visit


class FormInstance(models.Model):
    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETE = "complete", _("Complete")
        VERIFIED = "verified", _("Source-verified")
        SIGNED = "signed", _("Signed")
        LOCKED = "locked", _("Locked")

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="forms")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="forms")
    form_code = models.CharField(max_length=40)
    repeat = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    status_before_lock = models.CharField(max_length=16, blank=True)
    revision = models.PositiveIntegerField(default=0, help_text="bumped on every data change")
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["visit__sequence", "form_code", "repeat"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "form_code", "repeat"], name="uniq_form_instance"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit} {self.form_code}#{self.repeat}"

    @property
    def past_complete(self) -> bool:
        """From 'complete' on, every change needs a reason for change."""
        return self.status in (
            self.Status.COMPLETE,
            self.Status.VERIFIED,
            self.Status.SIGNED,
            self.Status.LOCKED,
        )


class ItemValue(models.Model):
    class Status(models.TextChoices):
        ENTERED = "entered", _("Entered")
        DERIVED = "derived", _("Derived")
        CLEARED = "cleared", _("Cleared")
        NOT_APPLICABLE = "not_applicable", _("Not applicable (hidden by branching)")

    form = models.ForeignKey(FormInstance, on_delete=models.PROTECT, related_name="items")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    item = models.CharField(max_length=40)
    entered_value = models.TextField(blank=True, help_text="as typed")
    entered_unit = models.CharField(max_length=32, blank=True)
    value = models.JSONField(null=True, blank=True, help_text="canonical value")
    num_value = models.FloatField(null=True, blank=True, help_text="canonical number")
    unit = models.CharField(max_length=32, blank=True, help_text="canonical unit")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ENTERED)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["form_id", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "item"], name="uniq_item_value")]
        indexes = [models.Index(fields=["participant", "item"])]

    def __str__(self) -> str:
        return f"{self.form} {self.item}={self.value!r}"

    @property
    def has_value(self) -> bool:
        return self.status in (self.Status.ENTERED, self.Status.DERIVED) and self.value is not None

    def snapshot(self) -> dict:
        """What the audit trail records of this value."""
        return {
            "item": self.item,
            "entered": self.entered_value,
            "entered_unit": self.entered_unit,
            "value": self.value,
            "unit": self.unit,
            "status": self.status,
            "num_value": self.num_value,
            "version": self.version,
        }


class Query(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    class Origin(models.TextChoices):
        SOFT_LIMIT = "soft_limit", _("Soft limit")
        CHECK = "check", _("Edit check")
        MANUAL = "manual", _("Raised by a person")

    form = models.ForeignKey(FormInstance, on_delete=models.PROTECT, related_name="queries")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="queries")
    item = models.CharField(max_length=40, blank=True, help_text="blank = the whole form")
    check_code = models.CharField(max_length=40, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    text = models.TextField()
    value_snapshot = models.JSONField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "participant"])]

    def __str__(self) -> str:
        return f"query {self.pk} {self.status} {self.form} {self.item}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class QueryMessage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", _("Opened")
        ANSWER = "answer", _("Answered")
        REOPEN = "reopen", _("Re-opened")
        CLOSE = "close", _("Closed")

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class ClinicalAlert(models.Model):
    """A valid but clinically actionable value (e.g. BP in the severe range): the investigator
    is notified at once and acknowledges it."""

    form = models.ForeignKey(FormInstance, on_delete=models.PROTECT, related_name="alerts")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="alerts")
    check_code = models.CharField(max_length=40)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class Signature(models.Model):
    """An electronic signature (21 CFR 11.50/11.70): who (printed name), when (UTC), meaning,
    and the hash of the exact form content signed. A later change voids it."""

    form = models.ForeignKey(FormInstance, on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=300)
    signed_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    revision = models.PositiveIntegerField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]

    @property
    def valid(self) -> bool:
        return self.voided_at is None
