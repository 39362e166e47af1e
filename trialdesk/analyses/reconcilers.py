"""What `trialdesk audit verify` compares for the final analysis: a snapshot's and a run's
hashes are recomputed from the stored bytes (a changed byte shows), the lock's state and the
study's unblinding against their last audited values."""

from __future__ import annotations

import gzip
import hashlib

from trialdesk.analyses.models import AnalysisRun, Snapshot, StudyUnblinding
from trialdesk.audit.reconcile import Reconciler, instant, merge, register
from trialdesk.studies.models import DatabaseLock


def _snapshots():
    for s in Snapshot.objects.iterator(chunk_size=50):
        raw = gzip.decompress(bytes(s.data))
        yield s.pk, {"number": s.number, "kind": s.kind, "sha256": hashlib.sha256(raw).hexdigest()}


def _runs():
    for r in AnalysisRun.objects.defer("html").iterator(chunk_size=50):
        yield (
            r.pk,
            {
                "snapshot": r.snapshot_id,
                "seed": r.seed,
                "results_sha256": hashlib.sha256(bytes(r.results)).hexdigest(),
                "pdf_sha256": hashlib.sha256(bytes(r.pdf)).hexdigest(),
            },
        )


def _norm(key, value):
    return instant(value) if key in ("locked_at", "unlocked_at", "unblinded_at") else value


def _locks():
    for lock in DatabaseLock.objects.iterator(chunk_size=200):
        yield (
            lock.pk,
            {
                "snapshot": lock.snapshot_id,
                "unlocked_at": instant(lock.unlocked_at),
                "unlock_snapshot": lock.unlock_snapshot_id,
            },
        )


def _unblindings():
    for u in StudyUnblinding.objects.iterator():
        yield u.pk, {"snapshot": u.snapshot_id, "unblinded_at": instant(u.unblinded_at)}


def register_all() -> None:
    register(
        "analyses.snapshot", Reconciler(_snapshots, merge("number", "kind", "sha256"), ("create",))
    )
    register(
        "analyses.analysisrun",
        Reconciler(_runs, merge("snapshot", "seed", "results_sha256", "pdf_sha256"), ("create",)),
    )
    register(
        "studies.databaselock",
        Reconciler(
            _locks,
            merge("snapshot", "unlocked_at", "unlock_snapshot", normalise=_norm),
            ("sign",),
        ),
    )
    register(
        "analyses.studyunblinding",
        Reconciler(_unblindings, merge("snapshot", "unblinded_at", normalise=_norm), ("unblind",)),
    )
