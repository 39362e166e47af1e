"""Length limits for free text: the one place that defines them.

Every reason, message, note and comment a person types is checked against these limits before
an action runs (views and API), and `trialdesk.audit.actions.record` refuses an oversized reason
as a backstop, so one request can never copy a megabyte into the audit trail.

Limits are in characters (Unicode code points, what `len()` counts). A text field of an eCRF
takes `max_length` from the protocol, else `FORM_TEXT_DEFAULT`.
"""

from __future__ import annotations

#: kind → maximum characters. Generous for people, small for an attacker.
LIMITS: dict[str, int] = {
    "reason": 1000,  # reason for change, unlocking, unblinding, withdrawal, visit date ...
    "message": 2000,  # query questions, answers, closing notes
    "note": 1000,  # alert acknowledgement, screening closure note
    "short": 200,  # names, lots, references, injection site
    "form_text": 2000,  # eCRF text field without a max_length in the protocol
    # The audit backstop: above every limit here plus the prefixes actions add
    # ("changed after signed: ..."), so it only ever stops what no view let through.
    "audit_reason": 4000,
}
FORM_TEXT_DEFAULT = LIMITS["form_text"]

#: field name (page form key / JSON key) → kind. Used by the views and by the request backstop.
FIELDS: dict[str, str] = {
    "reason": "reason",
    "text": "message",
    "note": "note",
    "referral": "short",
    "witness_name": "short",
    "lot": "short",
    "injection_site": "short",
    "reaction_description": "note",
    "ae_reference": "short",
    "scope": "short",
    "outcome": "short",
    "version": "short",
    "route": "short",
    "item": "short",
    "step": "short",
    "action": "short",
    "status": "short",
}


class TextTooLong(ValueError):
    """A free text exceeds its limit (or contains a NUL); the message names field and limit."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def limit_for(field: str, kind: str | None = None) -> int:
    return LIMITS[kind or FIELDS.get(field, "reason")]


def check_text(field: str, text: str | None, kind: str | None = None) -> str:
    """Return `text` stripped, or raise TextTooLong naming the field, its length and the maximum."""
    value = "" if text is None else str(text)
    limit = limit_for(field, kind)
    if "\x00" in value:
        raise TextTooLong(
            f"{field}: the text contains a NUL character, which is not allowed", field
        )
    stripped = value.strip()
    if len(stripped) > limit:
        raise TextTooLong(
            f"{field}: {len(stripped)} characters is too long: at most {limit} allowed", field
        )
    return stripped
