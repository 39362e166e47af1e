"""`trialdesk notices …`: notices of recruiting trials to confirmed subscribers."""

from __future__ import annotations

import click

from trialdesk.commands._django import setup


@click.group()
def notices() -> None:
    """Notices of recruiting trials (double opt-in subscribers, docs/outreach.md)."""


@notices.command()
def send() -> None:
    """Send each confirmed subscriber one notice per matching recruiting study, never twice
    (also run by `trialdesk tick`)."""
    setup()
    from trialdesk.outreach.notices import send_notices

    sent = send_notices()
    click.echo(f"{sent} notice(s) sent" if sent else "nothing to send")
