"""Snapshots of a study's clinical data (frozen, hashed) and the analyses run on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Snapshot(models.Model):
    """All clinical data of one study at one moment, as canonical JSON (sorted keys, no
    whitespace), gzip-compressed. ``sha256`` is the hash of the uncompressed canonical JSON:
    the same data give the same hash; one changed value gives another. Never edited."""

    class Kind(models.TextChoices):
        LOCK = "lock", "database lock"
        UNLOCK = "unlock", "database unlock"

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(help_text="1, 2, … within the study")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    audit_seq = models.PositiveBigIntegerField(help_text="the audit trail's last event at the cut")
    protocol_sha256 = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    counts = models.JSONField(help_text="rows per table")
    data = models.BinaryField(help_text="gzip of the canonical JSON")

    class Meta:
        ordering = ["study", "number"]
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name="uniq_snapshot_number")
        ]

    def __str__(self) -> str:
        return f"{self.study_id} snapshot {self.number} ({self.sha256[:12]})"

    def snapshot(self) -> dict:
        return {
            "study": self.study_id,
            "number": self.number,
            "kind": self.kind,
            "audit_seq": self.audit_seq,
            "protocol_sha256": self.protocol_sha256,
            "sha256": self.sha256,
            "counts": self.counts,
        }


class AnalysisRun(models.Model):
    """One run of the statistical analysis plan on a snapshot: the results JSON (byte-identical
    for the same snapshot, protocol, software and seed), the report (HTML, PDF) and hashes."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="runs")
    run_at = models.DateTimeField()
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    seed = models.BigIntegerField()
    software_version = models.CharField(max_length=40)
    results = models.BinaryField(help_text="the results JSON, as written")
    results_sha256 = models.CharField(max_length=64)
    html = models.TextField()
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-run_at"]

    def snapshot_dict(self) -> dict:
        return {
            "snapshot": self.snapshot_id,
            "seed": self.seed,
            "software_version": self.software_version,
            "results_sha256": self.results_sha256,
            "pdf_sha256": self.pdf_sha256,
        }


class StudyUnblinding(models.Model):
    """The study unblinded for its final analysis: after the database lock, by the unblinded
    statistician, signed. From then on the blinded statisticians may run and read the final
    analysis too. One per study; never undone."""

    study = models.OneToOneField("studies.Study", on_delete=models.PROTECT, related_name="+")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="+")
    unblinded_at = models.DateTimeField()
    unblinded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()

    def snapshot_dict(self) -> dict:
        return {
            "study": self.study_id,
            "snapshot": self.snapshot_id,
            "unblinded_at": self.unblinded_at,
            "reason": self.reason,
        }
