"""What `trialdesk audit verify` compares for the DSMB (registered in DsmbConfig.ready)."""

from __future__ import annotations

import hashlib

from trialdesk.audit.reconcile import Reconciler, instant, merge, new_of, register
from trialdesk.dsmb.models import (
    Decision,
    DecisionSignature,
    DsmbReport,
    InterimRun,
    Pause,
    canonical_json,
)

PAUSE_TIMES = ("fired_at", "closed_at")


def _norm(key, value):
    return instant(value) if key in PAUSE_TIMES or key == "decided_at" else value


def _pauses():
    for p in Pause.objects.iterator(chunk_size=2000):
        yield (
            p.pk,
            {
                "action": p.action,
                "fired_at": instant(p.fired_at),
                "closed_at": instant(p.closed_at),
            },
        )


def _decisions():
    for d in Decision.objects.iterator(chunk_size=2000):
        yield (
            d.pk,
            {
                "kind": d.kind,
                "minutes_sha256": d.minutes_sha256,
                "decided_at": instant(d.decided_at),
            },
        )


def _signatures():
    """Signatures are audited on their decision: one state per decision, every signer."""
    out: dict[int, dict] = {}
    rows = DecisionSignature.objects.order_by("signed_at", "pk")
    for s in rows.iterator(chunk_size=2000):
        state = out.setdefault(s.decision_id, {"signatures": []})
        state["signatures"].append([s.printed_name, instant(s.signed_at)])
    return out


def _signature_apply(state, event):
    new = new_of(event)
    signed = [
        *state.get("signatures", []),
        [new.get("printed_name"), instant(new.get("signed_at"))],
    ]
    return {"signatures": signed}


def _interim_runs():
    for r in InterimRun.objects.iterator(chunk_size=2000):
        yield (
            r.pk,
            {
                "run_at": instant(r.run_at),
                "data_cut_seq": r.data_cut_seq,
                "protocol_sha256": r.protocol_sha256,
                "result_sha256": r.result_sha256,
            },
        )


def _run_norm(key, value):
    return instant(value) if key == "run_at" else value


def register_all() -> None:
    register(
        "dsmb.pause",
        Reconciler(_pauses, merge("action", *PAUSE_TIMES, normalise=_norm), ("dsmb.pause",)),
    )
    register(
        "dsmb.decision",
        Reconciler(
            _decisions,
            merge("kind", "minutes_sha256", "decided_at", normalise=_norm),
            ("dsmb.decision", "dsmb.decision_effective"),
        ),
    )
    register(
        "dsmb.decisionsignature",
        Reconciler(_signatures, _signature_apply, ("dsmb.sign",), events_of="dsmb.decision"),
    )
    register(
        "dsmb.interimrun",
        Reconciler(
            _interim_runs,
            merge(
                "run_at", "data_cut_seq", "protocol_sha256", "result_sha256", normalise=_run_norm
            ),
            ("dsmb.interim_run",),
        ),
    )
    register_reports()


def _reports():
    """The hashes recomputed from the stored bytes (a changed PDF or number shows)."""
    for r in DsmbReport.objects.defer("html").iterator(chunk_size=200):
        yield (
            r.pk,
            {
                "kind": r.kind,
                "data_cut_seq": r.data_cut_seq,
                "pdf_sha256": hashlib.sha256(bytes(r.pdf)).hexdigest(),
                "numbers_sha256": hashlib.sha256(canonical_json(r.numbers)).hexdigest(),
                "protocol_sha256": r.protocol_sha256,
            },
        )


def register_reports() -> None:
    """A stored report is written once: its audited hashes must still be the row's."""
    register(
        "dsmb.dsmbreport",
        Reconciler(
            _reports,
            merge("kind", "data_cut_seq", "pdf_sha256", "numbers_sha256", "protocol_sha256"),
            ("dsmb.report",),
        ),
    )
