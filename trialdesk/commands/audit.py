"""`trialdesk audit verify` and `trialdesk audit export`."""

from __future__ import annotations

import sys

import click

from trialdesk.commands._django import setup


@click.group()
def audit() -> None:
    """Verify and export the audit trail."""


@audit.command()
@click.option("--chain-only", is_flag=True, help="check the hash chain only, not the clinical rows")
def verify(chain_only: bool) -> None:
    """Recompute the hash chain and reconcile clinical rows with their last audited values.

    Exits 1 and names the first broken or missing event (and every tampered row) on failure.
    """
    setup()
    from trialdesk.audit.chain import verify as verify_chain
    from trialdesk.audit.reconcile import reconcile

    result = verify_chain()
    click.echo(result.summary())
    problems = [] if chain_only else reconcile()
    for problem in problems[:50]:
        click.echo(f"clinical data does not match the audit trail: {problem}")
    if len(problems) > 50:
        click.echo(f"... and {len(problems) - 50} more")
    if not chain_only and not problems:
        click.echo("clinical data matches the audit trail")
    if not result.ok or problems:
        sys.exit(1)


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
def export(start: str | None, end: str | None, fmt: str, output: str | None, username: str) -> None:
    """Stream the audit trail as CSV or JSON lines; the export itself is audited with its SHA-256."""
    setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from trialdesk.audit.actions import record
    from trialdesk.audit.export import Digest, parse_day, stream

    try:
        lo, hi = parse_day(start), parse_day(end, end=True)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    actor = get_user_model().objects.filter(username=username).first() if username else None
    digest = Digest(stream(fmt, lo, hi))
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
            object_type="audit.trail",
            object_id=fmt,
            new={
                "from": start,
                "to": end,
                "format": fmt,
                "bytes": digest.bytes,
                "sha256": digest.hexdigest,
            },
            reason="audit trail export (command line)",
        )
    click.echo(f"exported {digest.bytes} bytes, sha256 {digest.hexdigest}", err=True)
