"""Allocation lists, their slots, allocations, emergency unblinding, preparation and dosing.

Blinding: ``Slot.arm``, ``Allocation.arm`` and ``Preparation.lot`` are the only places the arm
lives (a lot tells active product from saline). They are read through
``randomization.blinding`` only, which asks the viewer's access first.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.participants.models import Participant


class ImmutableError(RuntimeError):
    pass


class RandomizationList(models.Model):
    class Source(models.TextChoices):
        GENERATED = "generated", _("Generated from a system seed")
        TEST_SEED = "test_seed", _("Generated from a typed seed (test mode)")
        IMPORTED = "imported", _("Imported")

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=32)
    spec = models.JSONField(help_text="the generator's parameters (never the seed)")
    sha256 = models.CharField(max_length=64, unique=True)  # shown to list owners only
    source = models.CharField(max_length=16, choices=Source.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study"], condition=models.Q(active=True), name="one_active_list"
            )
        ]

    def __str__(self) -> str:
        return f"list {self.pk} ({self.method})"  # never the hash: blinded roles read names


class Slot(models.Model):
    rlist = models.ForeignKey(RandomizationList, on_delete=models.PROTECT, related_name="slots")
    stratum = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField(help_text="order within the stratum, from 1")
    randomization_number = models.CharField(max_length=16)
    kit_code = models.CharField(max_length=16)
    arm = models.CharField(max_length=40, blank=True, help_text="empty for minimization")
    block = models.PositiveIntegerField(default=0)
    block_size = models.PositiveIntegerField(default=0)
    draw = models.FloatField(default=0.0)
    tie_draw = models.FloatField(default=0.0)
    used = models.BooleanField(default=False)

    class Meta:
        ordering = ["rlist_id", "stratum", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["rlist", "stratum", "sequence"], name="uniq_slot_seq"),
            models.UniqueConstraint(fields=["rlist", "randomization_number"], name="uniq_slot_no"),
            models.UniqueConstraint(fields=["rlist", "kit_code"], name="uniq_slot_kit"),
        ]
        indexes = [models.Index(fields=["rlist", "stratum", "used", "sequence"])]


class Allocation(models.Model):
    """One per participant, one per slot: the unique constraints back up the row lock."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="allocation"
    )
    slot = models.OneToOneField(Slot, on_delete=models.PROTECT, related_name="allocation")
    stratum = models.CharField(max_length=200)
    # Unique within the list through the slot (uniq_slot_no, uniq_slot_kit), so within the study.
    randomization_number = models.CharField(max_length=16, db_index=True)
    kit_code = models.CharField(max_length=16, db_index=True)
    arm = models.CharField(max_length=40)
    factor_levels = models.JSONField(default=dict)
    allocated_at = models.DateTimeField()
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    unblinded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["allocated_at", "pk"]


class Unblinding(models.Model):
    """An emergency code break: who, why, when. Where the protocol requires approval the
    request waits (``pending``) until a different person with an approver role approves it
    (``revealed``) or rejects it; the arm is shown to the requester and the approver only."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        REVEALED = "revealed", _("Code broken")
        REJECTED = "rejected", _("Rejected")

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="unblindings")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REVEALED)
    approval_required = models.BooleanField(
        default=False, help_text="the protocol's rule when the request was made"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(
        null=True, blank=True, help_text="when the arm was revealed (approval or immediate)"
    )
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Backstops of the four-eyes rule: nobody approves or rejects her own request.
            models.CheckConstraint(
                condition=~models.Q(approved_by=models.F("requested_by")),
                name="unblinding_not_self_approved",
            ),
            models.CheckConstraint(
                condition=~models.Q(rejected_by=models.F("requested_by")),
                name="unblinding_not_self_rejected",
            ),
            models.UniqueConstraint(
                fields=["allocation"],
                condition=models.Q(status="pending"),
                name="one_pending_unblinding",
            ),
        ]

    @property
    def revealed(self) -> bool:
        return self.status == self.Status.REVEALED

    def shown_to(self, user) -> bool:
        """Whether ``user`` may see the arm: the requester and the approver, once revealed."""
        return self.revealed and user.pk in (self.requested_by_id, self.approved_by_id)


class Preparation(models.Model):
    """What the (unblinded) pharmacist prepared for a kit code: lot, volume, time."""

    allocation = models.OneToOneField(
        Allocation, on_delete=models.PROTECT, related_name="preparation"
    )
    lot = models.CharField(max_length=64)
    volume_ml = models.DecimalField(max_digits=7, decimal_places=1)
    prepared_at = models.DateTimeField()
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )


class Dosing(models.Model):
    """The single administration (exposure record)."""

    participant = models.OneToOneField(Participant, on_delete=models.PROTECT, related_name="dosing")
    preparation = models.OneToOneField(Preparation, on_delete=models.PROTECT, related_name="dosing")
    route = models.CharField(max_length=16)
    injection_site = models.CharField(max_length=64, blank=True)
    volume_ml = models.DecimalField(max_digits=7, decimal_places=1)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField()
    interrupted = models.BooleanField(default=False)
    administered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    infusion_reaction = models.BooleanField(default=False)
    reaction_description = models.TextField(blank=True)
    reaction_onset = models.DateTimeField(null=True, blank=True)
    ae_reference = models.CharField(
        max_length=64, blank=True, help_text="the AE record of the reaction (AE reporting)"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
