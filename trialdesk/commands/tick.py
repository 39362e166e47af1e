"""`trialdesk tick`: every periodic task, once. Idempotent and safe to run every minute (cron,
a systemd timer). Each task decides itself whether anything is due."""

from __future__ import annotations

import importlib
import sys

import click

from trialdesk.commands._django import setup

# name: "module:function" (an explicit registry; the function returns one line saying what it did)
PERIODIC_TASKS: dict[str, str] = {
    "audit-anchor": "trialdesk.audit.anchor:tick",
}


@click.command()
def tick() -> None:
    """Run every periodic task (audit anchor, ...) once; exits 1 if any of them failed."""
    setup()
    failed = False
    for name, target in PERIODIC_TASKS.items():
        module_name, attr = target.split(":")
        try:
            message = getattr(importlib.import_module(module_name), attr)()
        except Exception as exc:  # one task failing must not stop the others
            failed = True
            message = f"FAILED: {exc}"
        click.echo(f"{name}: {message}")
    if failed:
        sys.exit(1)
