"""The protocol's stopping rules as evaluated, the pauses they open, and signed DSMB decisions.

By-arm numbers (``RuleState.by_arm``, ``Pause.counts``) are kept server-side and shown only to
the DSMB and the unblinded roles; the audit trail and e-mails carry no arm and no by-arm count.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleState(models.Model):
    """A rule's latest evaluation (one row per study and rule), kept on every AE change."""

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    rule_code = models.CharField(max_length=64)
    fires = models.BooleanField(default=False)
    events = models.PositiveIntegerField(default=0)
    n = models.PositiveIntegerField(default=0)
    stop_count = models.PositiveIntegerField(null=True, blank=True)
    posterior = models.FloatField(null=True, blank=True)
    by_arm = models.JSONField(default=dict)  # arm -> {"events", "n"}: unblinded eyes only
    evaluated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "rule_code"], name="uniq_rule_state"),
        ]


class Pause(models.Model):
    """Randomization and/or dosing paused: by a rule that fired, or by a DSMB decision."""

    class Action(models.TextChoices):
        PAUSE_ENROLMENT = "pause_enrolment", _("enrolment paused")
        DSMB_REVIEW = "dsmb_review", _("dosing paused until DSMB review")
        STOP = "stop", _("study stopped")

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    rule_code = models.CharField(max_length=64, blank=True)  # blank: opened by a decision
    action = models.CharField(max_length=20, choices=Action.choices)
    fired_at = models.DateTimeField()
    counts = models.JSONField(default=dict)  # as evaluated (by arm): unblinded eyes only
    events = models.PositiveIntegerField(default=0)  # events of the rule when it fired
    opened_by_decision = models.ForeignKey(
        "Decision", null=True, blank=True, on_delete=models.PROTECT, related_name="opened_pauses"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_decision = models.ForeignKey(
        "Decision", null=True, blank=True, on_delete=models.PROTECT, related_name="closed_pauses"
    )

    class Meta:
        ordering = ["fired_at", "pk"]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Decision(models.Model):
    """A DSMB decision; it takes effect (``decided_at``) once signed by the required members."""

    class Kind(models.TextChoices):
        CONTINUE = "continue", _("Continue unchanged")
        MODIFY = "modify", _("Continue with modifications")
        PAUSE = "pause", _("Pause enrolment")
        STOP = "stop", _("Stop the study")

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rationale = models.TextField()
    pauses = models.ManyToManyField(Pause, blank=True, related_name="decisions")
    minutes = models.BinaryField(editable=False)
    minutes_name = models.CharField(max_length=200)
    minutes_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)  # None until signed by the quorum

    class Meta:
        ordering = ["-created_at", "-pk"]


class DecisionSignature(models.Model):
    """A DSMB member's signature (21 CFR 11.50: printed name, date and time, meaning)."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="signatures")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    meaning = models.CharField(max_length=200)
    role = models.CharField(max_length=40)

    class Meta:
        ordering = ["signed_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "signed_by"], name="uniq_dsmb_signature"),
        ]


class InterimRun(models.Model):
    """One run of the protocol's interim analysis of the primary endpoint (never edited).

    By-arm numbers are unblinded: shown to the unblinded statistician and the DSMB only. The
    audit event records that the run happened, its data cut and ``result_sha256`` (the SHA-256
    of ``result`` as canonical JSON), never a number by arm.
    """

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    run_at = models.DateTimeField()
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    data_cut_seq = models.PositiveBigIntegerField(help_text="last audit event included")
    protocol_sha256 = models.CharField(max_length=64)
    treatment_arm = models.CharField(max_length=20)
    control_arm = models.CharField(max_length=20)
    n_treatment = models.PositiveIntegerField()
    n_control = models.PositiveIntegerField()
    estimate = models.FloatField()
    standard_error = models.FloatField()
    z = models.FloatField()
    information_fraction = models.FloatField()
    critical_value = models.FloatField()
    futility_bound = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=100)
    conditional_power_trend = models.FloatField()
    conditional_power_design = models.FloatField()
    conditional_power_planned_effect = models.FloatField()
    rci_lower = models.FloatField()
    rci_upper = models.FloatField()
    result = models.JSONField()  # the whole computation (canonical), with the values' ids
    result_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-run_at", "-pk"]


def canonical_json(numbers) -> bytes:
    """The bytes a report's numbers are hashed as (sorted keys, no spaces, UTF-8)."""
    return json.dumps(numbers, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class DsmbReport(models.Model):
    """A generated DSMB report: the stored, hashed artefact (HTML and PDF) of one data cut.

    ``kind`` open is pooled (the DSMB and the study team); closed is by arm (the DSMB and the
    unblinded statistician only). ``data_cut_seq`` is the audit trail's last sequence number
    when the report was built; ``numbers_sha256`` hashes the canonical JSON of its numbers.
    """

    class Kind(models.TextChoices):
        OPEN = "open", _("Open report (pooled)")
        CLOSED = "closed", _("Closed report (by arm)")

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    data_cut_seq = models.PositiveBigIntegerField()
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    html = models.TextField(editable=False)
    pdf = models.BinaryField(editable=False)
    pdf_sha256 = models.CharField(max_length=64)
    numbers = models.JSONField(default=dict, editable=False)
    numbers_sha256 = models.CharField(max_length=64)
    protocol_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-generated_at", "-pk"]
