"""Freezing a study's clinical data: what a snapshot holds, its canonical bytes and its hash.

A snapshot is a dict of tables, each a list of rows (dicts) in a fixed order (subject ID, then
visit sequence, form, repeat, item), with values as the database holds them in canonical form
(dates and times as ISO text in UTC, numbers as numbers). Identifying data (names, contacts)
are never part of it: participants are named by study ID only.

Tables: ``participants``, ``screening``, ``allocations`` (the arm: a snapshot is unblinded
data, read only by the analysis runner and by the roles that may see arms), ``dosing``,
``visits``, ``items`` (every live eCRF value), ``adverse_events``, ``withdrawals``,
``deviations``.

``canonical_bytes`` is JSON with sorted keys and no whitespace; ``sha256`` hashes those bytes,
so the same data give the same hash and one changed value gives another.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from decimal import Decimal
from typing import Any

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.models import ItemValue
from trialdesk.enrolment.models import ScreeningEntry, Withdrawal
from trialdesk.participants.models import Participant
from trialdesk.randomization.models import Allocation, Dosing
from trialdesk.safety.models import AdverseEvent
from trialdesk.visits.models import Visit

TABLES = (
    "participants",
    "screening",
    "allocations",
    "dosing",
    "visits",
    "items",
    "adverse_events",
    "withdrawals",
    "deviations",
)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _rows(qs, fields: dict[str, str]) -> list[dict]:
    """Rows of ``qs`` as {out name: value} for {out name: ORM path}."""
    paths = list(fields.values())
    return [
        {name: _plain(value) for name, value in zip(fields, row, strict=True)}
        for row in qs.values_list(*paths)
    ]


def collect(study: str) -> dict[str, list[dict]]:
    """Every table of ``study``'s clinical data, in a fixed order (read in the caller's
    transaction: call it inside ``transaction.atomic`` for a consistent cut)."""
    p = {"participant__study_id": study}
    tables = {
        "participants": _rows(
            Participant.objects.filter(study_id=study).order_by("subject_id"),
            {
                "subject_id": "subject_id",
                "site": "site__code",
                "status": "status",
                "anchor_date": "anchor_date",
            },
        ),
        "screening": _rows(
            ScreeningEntry.objects.filter(**p).order_by("participant__subject_id"),
            {
                "subject_id": "participant__subject_id",
                "screened_on": "screened_on",
                "outcome": "outcome",
                "failed_criteria": "failed_criteria",
            },
        ),
        "allocations": _rows(
            Allocation.objects.filter(**p).order_by("participant__subject_id"),
            {
                "subject_id": "participant__subject_id",
                "arm": "arm",
                "stratum": "stratum",
                "factor_levels": "factor_levels",
                "randomization_number": "randomization_number",
                "allocated_at": "allocated_at",
            },
        ),
        "dosing": _rows(
            Dosing.objects.filter(**p).order_by("participant__subject_id"),
            {
                "subject_id": "participant__subject_id",
                "route": "route",
                "volume_ml": "volume_ml",
                "started_at": "started_at",
                "stopped_at": "stopped_at",
                "interrupted": "interrupted",
                "infusion_reaction": "infusion_reaction",
            },
        ),
        "visits": _rows(
            Visit.objects.filter(**p).order_by("participant__subject_id", "sequence", "repeat"),
            {
                "subject_id": "participant__subject_id",
                "visit": "code",
                "repeat": "repeat",
                "sequence": "sequence",
                "day": "day",
                "earliest_date": "earliest_date",
                "latest_date": "latest_date",
                "actual_date": "actual_date",
                "missed": "missed",
            },
        ),
        "items": _rows(
            ItemValue.objects.filter(
                **p, status__in=[ItemValue.Status.ENTERED, ItemValue.Status.DERIVED]
            ).order_by(
                "participant__subject_id",
                "form__visit__sequence",
                "form__visit__repeat",
                "form__form_code",
                "form__repeat",
                "item",
            ),
            {
                "subject_id": "participant__subject_id",
                "visit": "form__visit__code",
                "visit_repeat": "form__visit__repeat",
                "sequence": "form__visit__sequence",
                "form": "form__form_code",
                "repeat": "form__repeat",
                "item": "item",
                "value": "value",
                "number": "num_value",
                "unit": "unit",
                "status": "status",
            },
        ),
        "adverse_events": _rows(
            AdverseEvent.objects.filter(**p).order_by("participant__subject_id", "form__repeat"),
            {
                "subject_id": "participant__subject_id",
                "repeat": "form__repeat",
                "term": "term",
                "ctcae_term": "ctcae_term",
                "grade": "grade",
                "serious": "serious",
                "related": "related",
                "susar": "susar",
                "outcome": "outcome",
                "onset_at": "onset_at",
            },
        ),
        "withdrawals": _rows(
            Withdrawal.objects.filter(**p).order_by("participant__subject_id", "withdrawn_at"),
            {
                "subject_id": "participant__subject_id",
                "scope": "scope",
                "withdrawn_at": "withdrawn_at",
            },
        ),
        "deviations": [
            {
                "subject_id": e.participant,
                "visit": (e.new_value or {}).get("visit"),
                "type": (e.new_value or {}).get("type", ""),
                "deviation": (e.new_value or {}).get("deviation", ""),
            }
            for e in AuditEvent.objects.filter(
                study_code=study, object_type="visits.deviation"
            ).order_by("participant", "seq")
        ],
    }
    return tables


def canonical_bytes(tables: dict) -> bytes:
    return json.dumps(tables, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compress(data: bytes) -> bytes:
    """gzip with no time stamp and no file name: the same data give the same bytes."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def load(snapshot) -> dict[str, list[dict]]:
    """The tables of a stored snapshot, after checking its hash (a changed row is refused)."""
    raw = gzip.decompress(bytes(snapshot.data))
    if sha256(raw) != snapshot.sha256:
        raise SnapshotCorrupt(
            f"snapshot {snapshot.number} of {snapshot.study_id}: the stored data do not match "
            f"its hash {snapshot.sha256[:12]}…; it cannot be analysed"
        )
    return json.loads(raw)


class SnapshotCorrupt(Exception):
    pass
