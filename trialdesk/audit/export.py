"""Streaming the audit trail out as CSV or JSON lines, by time range, in constant memory."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder

from trialdesk.audit.actions import events_of_study
from trialdesk.audit.models import AuditEvent

COLUMNS = (
    "seq", "occurred_at", "actor_username", "role", "study_code", "site_code", "action", "object_type",
    "object_id", "participant", "old_value", "new_value", "reason", "software_version",
    "prev_hash", "hash",
)  # fmt: skip
FORMATS = ("csv", "json")
#: Cells a spreadsheet reads as a formula (OWASP "CSV Injection"): =, +, -, @, tab, CR.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)


def safe_cell(value):
    """A CSV cell that no spreadsheet evaluates: text starting with a formula character gets a
    leading single quote (OWASP). A plain number (``-12``, ``-0.5``) is left alone: a sign
    followed only by digits is read as a number literal, never as a formula, and prefixing it
    would turn every negative value into text."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def events(
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    batch: int = 2000,
    study: str | None = None,
) -> Iterator[AuditEvent]:
    """The events in [start, end), of one study when `study` is given (else the deployment's)."""
    qs = AuditEvent.objects.all() if study is None else events_of_study(study)
    if start is not None:
        qs = qs.filter(occurred_at__gte=start)
    if end is not None:
        qs = qs.filter(occurred_at__lt=end)
    last = 0
    while True:
        rows = list(qs.filter(seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _row(event: AuditEvent) -> dict:
    out = {name: getattr(event, name) for name in COLUMNS}
    out["occurred_at"] = event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return out


def _json(value) -> str:
    return "" if value is None else json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)


def stream(fmt: str, start=None, end=None, study: str | None = None) -> Iterator[str]:
    """Text chunks of the export; CSV cells hold old/new values as JSON text."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(COLUMNS)
        for event in events(start, end, study=study):
            row = _row(event)
            writer.writerow(
                [
                    safe_cell(_json(row[c]) if c in ("old_value", "new_value") else row[c])
                    for c in COLUMNS
                ]
            )
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
    else:
        for event in events(start, end, study=study):
            yield json.dumps(_row(event), cls=DjangoJSONEncoder, sort_keys=True) + "\n"


class Digest:
    """Counts and hashes what passes through, so the export event can name its SHA-256."""

    def __init__(self, chunks: Iterator[str]):
        self.chunks, self.sha = chunks, hashlib.sha256()
        self.bytes = 0

    def __iter__(self) -> Iterator[str]:
        for chunk in self.chunks:
            data = chunk.encode()
            self.sha.update(data)
            self.bytes += len(data)
            yield chunk

    @property
    def hexdigest(self) -> str:
        return self.sha.hexdigest()


def parse_day(text: str | None, *, end: bool = False) -> dt.datetime | None:
    """'2026-01-31' → that day's start in UTC (for --to: the next day's start, so the day counts)."""
    if not text:
        return None
    try:
        if "T" in text:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO date-time") from exc
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start + dt.timedelta(days=1) if end else start
