"""The active protocol, parsed once per process and re-parsed when the active row changes.

Every request asks for the protocol, often several times, so the hot path reads only the
active row's hash; the stored YAML text (about 100 kB) is fetched and parsed only when that
hash is new to this process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trialdesk.studies.models import ProtocolVersion

if TYPE_CHECKING:
    from trialdesk.core.protocol import Protocol

_parsed: dict[str, Protocol] = {}  # sha256 of the stored text → parsed protocol


class NoProtocolLoaded(RuntimeError):
    pass


def active_version() -> ProtocolVersion:
    """The active protocol row; its text is deferred (loaded on first access)."""
    row = (
        ProtocolVersion.objects.filter(active=True)
        .order_by("-loaded_at")
        .defer("yaml_text")
        .first()
    )
    if row is None:
        raise NoProtocolLoaded(
            "no protocol is loaded: run `trialdesk init` or `trialdesk load-protocol FILE`"
        )
    return row


def get_protocol() -> Protocol:
    """The parsed active protocol."""
    from trialdesk.core.protocol import load_protocol_text

    row = active_version()
    protocol = _parsed.get(row.sha256)
    if protocol is None:
        protocol = load_protocol_text(row.yaml_text, source=row.source_path or row.study_id)
        _parsed[row.sha256] = protocol
    return protocol
