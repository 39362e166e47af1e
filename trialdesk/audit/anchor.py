"""Anchors: the chain's head written outside the database, and the check that it is still there.

An anchor is one JSON line ``{"seq", "mac", "at", "key", "scheme"}``: the sequence number and
MAC of the newest event, when, and the fingerprint of the key (never the key). The operator
keeps the file elsewhere (another machine, write-once storage) or has it e-mailed to the sponsor.
Anyone holding the key could re-chain the database, but not the anchors already sent away:
``check_anchors`` names every anchored head the chain no longer contains.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from trialdesk.audit.actions import record
from trialdesk.audit.chain import SCHEME, key_fingerprint
from trialdesk.audit.models import AuditEvent

ANCHOR_OBJECT = "audit.anchor"


class AnchorError(ValueError):
    """An anchor could not be written or read; the message says what and where."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    mac: str
    at: str
    key: str
    scheme: str = SCHEME

    def line(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "mac": self.mac,
                "at": self.at,
                "key": self.key,
                "scheme": self.scheme,
            },
            sort_keys=True,
        )


def do_anchor_head(*, to: Path | None = None, email: str = "", actor=None) -> Anchor:
    """Record the anchoring (itself an event), then write the head, which is that event."""
    if not to and not email:
        raise AnchorError("say where the anchor goes: a file (--to) or an address (--email)")
    out = _open(Path(to)) if to else None  # fail before anything is recorded
    try:
        with transaction.atomic(durable=True):
            event = record(
                "export",
                actor=actor,
                object_type=ANCHOR_OBJECT,
                object_id="head",
                new={"to": str(to or ""), "email": email},
                reason="chain head anchored outside the database",
            )
    except BaseException:
        if out is not None:
            out.close()
        raise
    anchor = Anchor(
        seq=event.seq,
        mac=event.hash,
        at=event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        key=key_fingerprint(),
    )
    if out is not None:
        with out:
            out.write(anchor.line() + "\n")
            out.flush()
            os.fsync(out.fileno())
    if email:
        send_mail(
            f"[trialdesk] audit chain anchor #{anchor.seq}",
            "Keep this line: `trialdesk audit verify --anchors FILE` checks that the audit "
            "chain still contains it.\n\n" + anchor.line() + "\n",
            settings.DEFAULT_FROM_EMAIL,
            [email],
        )
    return anchor


def _open(path: Path):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AnchorError(f"cannot write the anchor file {path}: {exc.strerror}") from exc
    return os.fdopen(fd, "a", encoding="utf-8")


def read_anchors(path: Path) -> Iterator[tuple[int, Anchor]]:
    """(line number, anchor) for every anchor line; other text (an e-mail's words) is skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AnchorError(f"cannot read the anchor file {path}: {exc.strerror}") from exc
    for number, raw in enumerate(text.splitlines(), start=1):
        raw = raw.strip()
        if not raw.startswith("{"):
            continue
        try:
            data = json.loads(raw)
            yield (
                number,
                Anchor(
                    seq=int(data["seq"]),
                    mac=str(data["mac"]),
                    at=str(data.get("at", "")),
                    key=str(data.get("key", "")),
                    scheme=str(data.get("scheme", SCHEME)),
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"{path}:{number} is not an anchor line ({exc})") from exc


def check_anchors(path: Path, batch: int = 1000) -> tuple[int, list[str]]:
    """(anchors checked, problems): each anchored head must still be in the chain, same MAC."""
    problems: list[str] = []
    count = 0
    pending: list[tuple[int, Anchor]] = []

    def flush() -> None:
        seqs = [a.seq for _n, a in pending]
        stored = dict(AuditEvent.objects.filter(seq__in=seqs).values_list("seq", "hash"))
        for number, a in pending:
            where = f"anchor at line {number} (event #{a.seq}, {a.at}, key {a.key})"
            if a.seq not in stored:
                problems.append(f"{where}: event #{a.seq} is gone (chain truncated or deleted)")
            elif stored[a.seq] != a.mac:
                problems.append(
                    f"{where}: event #{a.seq} differs from the anchored MAC (rewritten)"
                )
        pending.clear()

    for item in read_anchors(path):
        pending.append(item)
        count += 1
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return count, problems


def anchor_due(interval: dt.timedelta) -> bool:
    """For `trialdesk tick`: anchor when events were written after the newest anchor and that
    anchor is older than ``interval`` (or there is none). Running every minute is safe."""
    last = AuditEvent.objects.filter(object_type=ANCHOR_OBJECT).order_by("-seq").first()
    if last is None:
        return AuditEvent.objects.exists()
    newer = AuditEvent.objects.filter(seq__gt=last.seq).exists()
    return newer and dt.datetime.now(dt.UTC) - last.occurred_at >= interval


def tick() -> str:
    """The periodic anchor (`trialdesk tick`): to TRIALDESK_AUDIT_ANCHOR_FILE, at most once per
    TRIALDESK_AUDIT_ANCHOR_INTERVAL minutes (default 60), and only if something was written.
    Returns what it did, "" when nothing was due."""
    path = os.environ.get("TRIALDESK_AUDIT_ANCHOR_FILE", "")
    if not path:
        return "not configured (set TRIALDESK_AUDIT_ANCHOR_FILE)"
    raw = os.environ.get("TRIALDESK_AUDIT_ANCHOR_INTERVAL", "60")
    try:
        minutes = int(raw)
        if minutes < 1:
            raise ValueError
    except ValueError:
        raise AnchorError(
            f"TRIALDESK_AUDIT_ANCHOR_INTERVAL={raw!r}: expected a whole number of minutes ≥ 1"
        ) from None
    if not anchor_due(dt.timedelta(minutes=minutes)):
        return ""  # nothing new since the last anchor
    head = do_anchor_head(to=Path(path))
    return f"anchored event #{head.seq} to {path}"
