"""What `trialdesk audit verify` compares for loaded protocols (registered in StudiesConfig)."""

from __future__ import annotations

from collections.abc import Iterator

from trialdesk.audit.reconcile import Reconciler, State, merge, register
from trialdesk.studies.models import ProtocolVersion


def _protocols() -> Iterator[tuple[int, State]]:
    rows = ProtocolVersion.objects.values_list("pk", "study_id", "version", "sha256")
    for pk, study_id, version, sha256 in rows.iterator():
        yield pk, {"study_id": study_id, "version": version, "sha256": sha256}


def register_all() -> None:
    register(
        "studies.protocolversion",
        Reconciler(_protocols, merge("study_id", "version", "sha256"), ("load",)),
    )
