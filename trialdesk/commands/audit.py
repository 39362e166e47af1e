"""`trialdesk audit verify`, `trialdesk audit anchor` and `trialdesk audit export`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from trialdesk.commands._django import resolve_study, setup


@click.group()
def audit() -> None:
    """Verify, anchor and export the audit trail."""


@audit.command()
@click.option("--chain-only", is_flag=True, help="check the MAC chain only, not the clinical rows")
@click.option(
    "--anchors",
    "anchors",
    type=click.Path(exists=True, dir_okay=False),
    help="file of anchored heads (from `audit anchor`): each must still be in the chain",
)
def verify(chain_only: bool, anchors: str | None) -> None:
    """Recompute the MAC chain, check anchored heads and reconcile clinical rows with their
    last audited values.

    Exits 1 and names the first broken or missing event, every anchor that is gone or differs,
    and every tampered row, on failure.
    """
    setup()
    from django.db import connection

    from trialdesk.audit.anchor import AnchorError, check_anchors
    from trialdesk.audit.chain import verify as verify_chain
    from trialdesk.audit.reconcile import reconcile
    from trialdesk.site.dbroles import privilege_warning

    result = verify_chain()
    click.echo(result.summary())
    warning = privilege_warning(connection)
    if warning:
        click.echo(warning)
    failed = not result.ok
    if anchors:
        try:
            checked, lost = check_anchors(Path(anchors))
        except AnchorError as exc:
            raise click.ClickException(str(exc)) from exc
        for problem in lost:
            click.echo(f"anchor not in the chain: {problem}")
        if not lost:
            click.echo(f"{checked} anchored heads found in the chain")
        failed = failed or bool(lost)
    problems = [] if chain_only else reconcile()
    for problem in problems[:50]:
        click.echo(f"clinical data does not match the audit trail: {problem}")
    if len(problems) > 50:
        click.echo(f"... and {len(problems) - 50} more")
    if not chain_only and not problems:
        click.echo("clinical data matches the audit trail")
    if failed or problems:
        sys.exit(1)


@audit.command()
@click.option(
    "--to",
    "to",
    type=click.Path(dir_okay=False, writable=True),
    help="append the head as one JSON line to this file (keep it off this machine)",
)
@click.option("--email", default="", help="e-mail the head to this address (e.g. the sponsor)")
@click.option("--user", "username", default="", help="who is anchoring (recorded in the trail)")
def anchor(to: str | None, email: str, username: str) -> None:
    """Write the chain's head (sequence, MAC, UTC time, key fingerprint) outside the database.

    Without --to or --email the file in TRIALDESK_AUDIT_ANCHOR_FILE is used. The anchoring is
    itself an audit event, and the head written is that event.
    """
    setup()
    from django.contrib.auth import get_user_model

    from trialdesk.audit.anchor import AnchorError, do_anchor_head

    if not to and not email:
        to = os.environ.get("TRIALDESK_AUDIT_ANCHOR_FILE") or None
    actor = get_user_model().objects.filter(username=username).first() if username else None
    try:
        head = do_anchor_head(to=Path(to) if to else None, email=email, actor=actor)
    except AnchorError as exc:
        raise click.ClickException(str(exc)) from exc
    where = " and ".join(x for x in (to or "", email) if x)
    click.echo(f"anchored event #{head.seq} (MAC {head.mac[:16]}…, key {head.key}) to {where}")


@audit.command()
@click.option("--from", "start", help="first day (YYYY-MM-DD, UTC) or ISO date-time")
@click.option("--to", "end", help="last day included (YYYY-MM-DD, UTC) or ISO date-time (excluded)")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="file (default: standard output)",
)
@click.option("--user", "username", default="", help="who is exporting (recorded in the trail)")
@click.option(
    "--study",
    default=None,
    metavar="CODE",
    help="only this study's events (default: the whole deployment's trail, as the chain is one)",
)
def export(
    start: str | None,
    end: str | None,
    fmt: str,
    output: str | None,
    username: str,
    study: str | None,
) -> None:
    """Stream the audit trail as CSV or JSON lines; the export itself is audited with its SHA-256."""
    setup()
    if study is not None:
        study = resolve_study(study)
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from trialdesk.audit.actions import record
    from trialdesk.audit.export import Digest, parse_day, stream

    try:
        lo, hi = parse_day(start), parse_day(end, end=True)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    actor = get_user_model().objects.filter(username=username).first() if username else None
    digest = Digest(stream(fmt, lo, hi, study=study))
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        for chunk in digest:
            out.write(chunk)
    finally:
        if output:
            out.close()
    with transaction.atomic(durable=True):
        record(
            "export",
            actor=actor,
            study=study or "",
            object_type="audit.trail",
            object_id=fmt,
            new={
                "study": study,
                "from": start,
                "to": end,
                "format": fmt,
                "bytes": digest.bytes,
                "sha256": digest.hexdigest,
            },
            reason="audit trail export (command line)",
        )
    click.echo(f"exported {digest.bytes} bytes, sha256 {digest.hexdigest}", err=True)
