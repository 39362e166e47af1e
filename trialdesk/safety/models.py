"""Adverse events as reported: one ``AdverseEvent`` per AE eCRF log form instance (the form is
the record; this row is its current snapshot), its ``AEVersion`` history (one per change, never
edited), the expedited-reporting ``ReportClock`` s and the ``SafetyReport`` s sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.crfs.models import FormInstance
from trialdesk.participants.models import Participant
from trialdesk.randomization.models import Dosing


class AdverseEvent(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    form = models.OneToOneField(
        FormInstance, on_delete=models.PROTECT, related_name="adverse_event"
    )
    version = models.PositiveIntegerField(default=0)
    term = models.CharField(max_length=200, blank=True)
    ctcae_term = models.CharField(max_length=120, blank=True)
    grade = models.CharField(max_length=40, blank=True)
    serious = models.BooleanField(default=False)
    seriousness = models.JSONField(default=list, blank=True)
    relatedness = models.CharField(max_length=40, blank=True)
    related = models.BooleanField(default=False)
    #: None: not answered (counted as unexpected, ICH E2A).
    expected = models.BooleanField(null=True, blank=True)
    susar = models.BooleanField(default=False)
    life_threatening = models.BooleanField(default=False)
    outcome = models.CharField(max_length=40, blank=True)
    onset_at = models.DateTimeField(null=True, blank=True)
    aware_at = models.DateTimeField(null=True, blank=True)
    #: The reaction recorded at dosing that this AE reports (an AE coded with an infusion or
    #: injection reaction term, for a participant whose dosing record has a reaction).
    dosing_reaction = models.ForeignKey(
        Dosing, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-onset_at", "pk"]

    def __str__(self) -> str:
        return f"AE {self.participant.subject_id} #{self.form.repeat}: {self.term}"

    def snapshot(self) -> dict:
        return {
            "participant": self.participant.subject_id,
            "form": self.form_id,
            "version": self.version,
            "term": self.term,
            "ctcae_term": self.ctcae_term,
            "grade": self.grade,
            "serious": self.serious,
            "seriousness": list(self.seriousness),
            "relatedness": self.relatedness,
            "related": self.related,
            "expected": self.expected,
            "susar": self.susar,
            "outcome": self.outcome,
            "dosing_reaction": self.dosing_reaction_id,
        }


class AEVersion(models.Model):
    """Every change to the AE form: the full snapshot of its values, who, when. Never edited."""

    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    values = models.JSONField(help_text="the AE form's stored values at this version")
    changed = models.JSONField(default=list, help_text="the items this change touched")
    form_revision = models.PositiveIntegerField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["adverse_event", "number"]
        constraints = [
            models.UniqueConstraint(fields=["adverse_event", "number"], name="uniq_ae_version")
        ]


class ReportClock(models.Model):
    class Kind(models.TextChoices):
        SAE_INITIAL = "sae_initial", _("SAE initial report")
        SUSAR_7D = "susar_7d", _("SUSAR report (fatal or life-threatening)")
        SUSAR_15D = "susar_15d", _("SUSAR report")

    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="clocks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    #: The site's awareness (else the time the system first recorded the AE as qualifying).
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: When the report was sent, as the person recording it says.
    report_sent_at = models.DateTimeField(null=True, blank=True)
    report_reference = models.CharField(max_length=120, blank=True)
    #: Closed because the AE no longer calls for this report (e.g. corrected to non-serious).
    void_reason = models.CharField(max_length=200, blank=True)
    #: Set once the deadline passed with the clock open; stays set after closing.
    late = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["adverse_event", "kind"], name="uniq_report_clock")
        ]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def snapshot(self) -> dict:
        return {
            "adverse_event": self.adverse_event_id,
            "kind": self.kind,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "reminder_sent_at": _iso(self.reminder_sent_at),
            "closed_at": _iso(self.closed_at),
            "report_sent_at": _iso(self.report_sent_at),
            "report_reference": self.report_reference,
            "void_reason": self.void_reason,
            "late": self.late,
        }


class SafetyReport(models.Model):
    """A report sent to the sponsor (initial or follow-up), with the AE version it carried."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial report")
        FOLLOW_UP = "follow_up", _("Follow-up report")

    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, related_name="reports"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    ae_version = models.PositiveIntegerField()
    sent_at = models.DateTimeField()
    reference = models.CharField(max_length=120, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["adverse_event", "sent_at", "pk"]


def _iso(value) -> str | None:
    return value.isoformat() if value else None


class LabFinding(models.Model):
    """A lab or vital value that reached a CTCAE grade (protocol ``adverse_events.lab_grades``):
    the investigator records an AE with that CTCAE term (the finding is then linked to it) or
    dismisses the prompt with a reason."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting the investigator")
        AE_RECORDED = "ae_recorded", _("Adverse event recorded")
        DISMISSED = "dismissed", _("Dismissed")
        WITHDRAWN = "withdrawn", _("Value corrected below the grade")

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    form = models.ForeignKey(FormInstance, on_delete=models.PROTECT, related_name="+")
    item = models.CharField(max_length=40)
    value = models.FloatField()
    unit = models.CharField(max_length=32, blank=True)
    grade = models.CharField(max_length=40)
    ctcae_term = models.CharField(max_length=120)
    detected_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    adverse_event = models.ForeignKey(
        AdverseEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-detected_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["form", "item"], name="uniq_lab_finding")]

    def snapshot(self) -> dict:
        return {
            "participant": self.participant.subject_id,
            "item": self.item,
            "value": self.value,
            "grade": self.grade,
            "ctcae_term": self.ctcae_term,
            "status": self.status,
            "adverse_event": self.adverse_event_id,
            "reason": self.reason,
        }
