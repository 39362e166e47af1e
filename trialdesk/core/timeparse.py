"""Dates and times typed on the staff pages: ISO 8601 in ASCII digits only.

Django's `parse_date` reads Arabic-Indic and full-width digits (`٢٠٢٦-٠١-٠١` as 2026-01-01);
the number syntax (trialdesk.core.numbers) refuses them, and so do these, so that what is stored
is what a person can read back in the audit trail.
"""

from __future__ import annotations

import datetime as dt


def parse_iso_date(text: str | None) -> dt.date | None:
    """`YYYY-MM-DD` in ASCII digits, else None."""
    text = (text or "").strip()
    if not text.isascii():
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_iso_datetime(text: str | None) -> dt.datetime | None:
    """`YYYY-MM-DDTHH:MM[:SS]` (a space for the T is accepted), optionally with an offset, in
    ASCII digits, else None. Naive results are the caller's to localise."""
    text = (text or "").strip().replace(" ", "T", 1)
    if not text.isascii() or "T" not in text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None
