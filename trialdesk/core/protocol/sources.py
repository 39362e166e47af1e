"""The action records an eCRF item can be filled from (``FormField.source``).

Consent, the investigator's eligibility signature, allocation, preparation and dosing are each
recorded once, by their own action (enrolment and randomization pages). A protocol that also
wants them on its eCRF names the record attribute as the item's ``source``; the action then
writes the item (read-only on the form, with a link to the record), so a fact is never typed
twice and the two can never disagree.

Each attribute lists the field types it may fill. The product lot is deliberately absent: it
tells product from placebo, and the eCRF is read by blinded staff.
"""

from __future__ import annotations

RECORD_SOURCES: dict[str, tuple[str, ...]] = {
    "consent.consented_at": ("datetime",),
    "consent.version": ("choice", "text"),
    "consent.obtained_by": ("text",),
    "consent.witness_present": ("boolean",),
    "eligibility.signed": ("boolean",),
    "eligibility.signed_at": ("datetime",),
    "allocation.randomization_number": ("text",),
    "allocation.kit_code": ("text",),
    "allocation.allocated_at": ("datetime",),
    "preparation.volume_ml": ("decimal",),
    "preparation.prepared_at": ("datetime",),
    "dosing.route": ("choice", "text"),
    "dosing.volume_ml": ("decimal",),
    "dosing.started_at": ("datetime",),
    "dosing.stopped_at": ("datetime",),
    "dosing.interrupted": ("boolean",),
}

#: Record → the words a person reads on the form ("from the consent record").
RECORD_LABELS: dict[str, str] = {
    "consent": "consent record",
    "eligibility": "eligibility sign-off",
    "allocation": "randomization record",
    "preparation": "pharmacy preparation record",
    "dosing": "dosing record",
}


def record_of(source: str) -> str:
    """``"consent.version"`` → ``"consent"``."""
    return source.split(".", 1)[0]
