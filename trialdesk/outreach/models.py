"""Outreach: contact requests from the public (leads), notice subscriptions, rate counters.

Identifying data (names, e-mail, phone, message) is stored only as Fernet ciphertext under
``settings.PII_KEY`` (``outreach.sealed``); lookups use keyed hashes, never the raw value.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RateCounter(models.Model):
    """Hits of one key (a keyed hash of an IP address or an e-mail address) in one scope during
    one fixed window. In the database, so a limit holds across processes and machines."""

    scope = models.CharField(max_length=64)
    key_hash = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key_hash", "window_start"], name="uniq_rate_window"
            )
        ]
        indexes = [models.Index(fields=["window_start"])]


class Lead(models.Model):
    """A contact request for one study, routed to its nearest active centre."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        SCREENED = "screened", _("Screened")
        NOT_INTERESTED = "not_interested", _("Not interested")

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="leads")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    #: Fernet ciphertext of {first_name, last_name, email, phone, other_language, message}.
    ciphertext = models.BinaryField()
    distance_km = models.FloatField()
    #: where she said she is, as she gave it ("Bandung", "40115", "location shared")
    located_by = models.CharField(max_length=16, default="place")
    #: the language of the page she used (en, id): the language to answer her in
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    participant = models.OneToOneField(
        "participants.Participant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"lead {self.pk} ({self.study_id} site {self.site.code}, {self.status})"


class Subscription(models.Model):
    """A person who asked for notices of other trials (double opt-in)."""

    email_ciphertext = models.BinaryField()
    #: keyed hash (HMAC with the deployment's secret) of the normalised address, for lookup
    email_hash = models.CharField(max_length=64, unique=True)
    conditions = models.JSONField(default=list)
    region = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    #: bumped on every new sign-up, so an older confirmation link stops working
    generation = models.PositiveIntegerField(default=0)

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class NoticeSent(models.Model):
    """One notice of one study to one subscriber: the row makes sending idempotent."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="sent")
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "study"], name="uniq_notice_per_study")
        ]
