"""The studies of this deployment and their active protocols, parsed once per process.

Every request asks for its study's protocol, often several times, so the hot path reads only
the active row's hash; the stored YAML text (about 100 kB) is fetched and parsed only when that
hash is new to this process.

``get_protocol(study)`` takes the study (a `Study`, its code, or any row with a ``study_id``).
Called without one it answers for *the only study*: convenient for a deployment with one
study, the command line and tests, and refused with the list of studies when there are
several, so that no code path can silently act on the wrong study.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trialdesk.studies.models import ProtocolVersion, Study

if TYPE_CHECKING:
    from trialdesk.core.protocol import Protocol

_parsed: dict[str, Protocol] = {}  # sha256 of the stored text → parsed protocol


class NoProtocolLoaded(RuntimeError):
    pass


class StudyNotChosen(RuntimeError):
    """Several studies are loaded and the caller did not say which."""


def study_code(study: Any) -> str:
    """The code of `study`: a Study, a code, or a row that belongs to one (``study_id``)."""
    if isinstance(study, str):
        return study
    if isinstance(study, Study):
        return study.pk
    code = getattr(study, "study_id", None)
    if isinstance(code, str) and code:
        return code
    raise TypeError(f"{study!r} does not name a study")


def study_codes() -> list[str]:
    """The codes of the studies whose protocol is loaded (an active version), in order."""
    return list(
        ProtocolVersion.objects.filter(active=True)
        .order_by("study_id")
        .values_list("study_id", flat=True)
        .distinct()
    )


def only_study() -> str:
    """The code of the only study; NoProtocolLoaded or StudyNotChosen (naming them) otherwise."""
    codes = study_codes()
    if not codes:
        raise NoProtocolLoaded(
            "no protocol is loaded: run `trialdesk init` or `trialdesk load-protocol FILE`"
        )
    if len(codes) > 1:
        raise StudyNotChosen(
            f"{len(codes)} studies are loaded ({', '.join(codes)}): say which with --study"
        )
    return codes[0]


def active_version(study: Any = None) -> ProtocolVersion:
    """The study's active protocol row; its text is deferred (loaded on first access)."""
    code = only_study() if study is None else study_code(study)
    row = (
        ProtocolVersion.objects.filter(study_id=code, active=True)
        .order_by("-loaded_at")
        .defer("yaml_text")
        .first()
    )
    if row is None:
        raise NoProtocolLoaded(
            f"no protocol of study {code} is loaded: run `trialdesk load-protocol FILE`"
        )
    return row


def get_protocol(study: Any = None) -> Protocol:
    """The parsed active protocol of `study` (of the only study when None)."""
    from trialdesk.core.protocol import load_protocol_text

    row = active_version(study)
    protocol = _parsed.get(row.sha256)
    if protocol is None:
        protocol = load_protocol_text(row.yaml_text, source=row.source_path or row.study_id)
        _parsed[row.sha256] = protocol
    return protocol


def resolve_study(study: Any = None) -> str:
    """The code of `study`, or of the only study when None (see the module docstring)."""
    return only_study() if study is None else study_code(study)
