"""What `trialdesk audit verify` compares for safety (registered in SafetyConfig.ready)."""

from __future__ import annotations

from trialdesk.audit.reconcile import Reconciler, instant, merge, register
from trialdesk.safety.models import AdverseEvent, AEVersion, LabFinding, ReportClock, SafetyReport

AE_KEYS = ("version", "term", "ctcae_term", "grade", "serious", "relatedness", "susar", "outcome")
CLOCK_TIMES = ("started_at", "due_at", "reminder_sent_at", "closed_at", "report_sent_at")


def _aes():
    for ae in AdverseEvent.objects.iterator(chunk_size=2000):
        state = {k: getattr(ae, k) for k in AE_KEYS}
        state["dosing_reaction"] = ae.dosing_reaction_id
        yield ae.pk, state


def _versions():
    rows = AEVersion.objects.values_list("pk", "adverse_event_id", "number", "form_revision")
    for pk, ae, number, revision in rows.iterator(chunk_size=2000):
        yield pk, {"adverse_event": ae, "number": number, "form_revision": revision}


def _clock_norm(key, value):
    return instant(value) if key in CLOCK_TIMES else value


def _clocks():
    for c in ReportClock.objects.iterator(chunk_size=2000):
        state = {k: _clock_norm(k, getattr(c, k)) for k in CLOCK_TIMES}
        state.update(kind=c.kind, late=c.late, report_reference=c.report_reference)
        yield c.pk, state


def _reports():
    for r in SafetyReport.objects.iterator(chunk_size=2000):
        yield r.pk, {"kind": r.kind, "ae_version": r.ae_version, "sent_at": instant(r.sent_at)}


FINDING_KEYS = ("item", "value", "grade", "ctcae_term", "status", "adverse_event", "reason")


def _findings():
    for f in LabFinding.objects.iterator(chunk_size=2000):
        yield (
            f.pk,
            {
                k: getattr(f, k if k != "adverse_event" else "adverse_event_id")
                for k in FINDING_KEYS
            },
        )


def register_all() -> None:
    register(
        "safety.labfinding",
        Reconciler(_findings, merge(*FINDING_KEYS), ("create", "change", "status")),
    )
    register(
        "safety.adverseevent",
        Reconciler(_aes, merge(*AE_KEYS, "dosing_reaction"), ("create", "change")),
    )
    register(
        "safety.aeversion",
        Reconciler(_versions, merge("adverse_event", "number", "form_revision"), ("create",)),
    )
    register(
        "safety.reportclock",
        Reconciler(
            _clocks,
            merge(*CLOCK_TIMES, "kind", "late", "report_reference", normalise=_clock_norm),
            ("create", "change", "status"),
        ),
    )
    register(
        "safety.safetyreport",
        Reconciler(
            _reports,
            merge("kind", "ae_version", "sent_at", normalise=_clock_norm_report),
            ("create",),
        ),
    )


def _clock_norm_report(key, value):
    return instant(value) if key == "sent_at" else value
