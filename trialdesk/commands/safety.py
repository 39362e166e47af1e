"""`trialdesk safety …`: the expedited-reporting clocks."""

from __future__ import annotations

import click

from trialdesk.commands._django import setup


@click.group()
def safety() -> None:
    """Adverse events: reporting clocks."""


@safety.command()
def tick() -> None:
    """Send due SAE/SUSAR report reminders and mark late clocks (also run by `trialdesk tick`)."""
    setup()
    from trialdesk.safety.clocks import tick as run

    click.echo(run() or "nothing to do")
