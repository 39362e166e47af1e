"""The active protocol, parsed once per process and re-parsed when the active row changes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from trialdesk.studies.models import ProtocolVersion

if TYPE_CHECKING:
    from trialdesk.core.protocol import Protocol

_lock = threading.Lock()
_cache: dict[str, tuple[str, Protocol]] = {}


class NoProtocolLoaded(RuntimeError):
    pass


def active_version() -> ProtocolVersion:
    row = ProtocolVersion.objects.filter(active=True).order_by("-loaded_at").first()
    if row is None:
        raise NoProtocolLoaded(
            "no protocol is loaded: run `trialdesk init` or `trialdesk load-protocol FILE`"
        )
    return row


def get_protocol() -> Protocol:
    """The parsed active protocol (cached by its hash)."""
    from trialdesk.core.protocol import load_protocol_text

    row = active_version()
    with _lock:
        cached = _cache.get(row.study_id)
        if cached and cached[0] == row.sha256:
            return cached[1]
        protocol = load_protocol_text(row.yaml_text, source=row.source_path or row.study_id)
        _cache[row.study_id] = (row.sha256, protocol)
        return protocol
