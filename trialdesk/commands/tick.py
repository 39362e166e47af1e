"""`trialdesk tick`: every periodic task, once. Idempotent and safe to run every minute (cron,
a systemd timer); `trialdesk serve` also runs it in-process every minute unless --no-tick, so a
single-machine installation needs no extra setup. Each task decides itself whether anything is
due and returns one line saying what it did ("" for nothing to do)."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable

import click

from trialdesk.commands._django import setup

# name: "module:function" (an explicit registry, run in this order)
PERIODIC_TASKS: dict[str, str] = {
    "audit-anchor": "trialdesk.audit.anchor:tick",
    "safety-clocks": "trialdesk.safety.clocks:tick",
    "outreach-notices": "trialdesk.outreach.notices:tick",
}


def run_tasks() -> list[tuple[str, str, bool]]:
    """(name, message, ok) for every task; one task failing does not stop the others."""
    results = []
    for name, target in PERIODIC_TASKS.items():
        module_name, attr = target.split(":")
        try:
            results.append((name, getattr(importlib.import_module(module_name), attr)(), True))
        except Exception as exc:  # reported to the operator, the next task still runs
            results.append((name, f"FAILED: {exc}", False))
    return results


def tick_loop(stop: threading.Event, interval: float, echo: Callable[[str], None]) -> None:
    """Run the tasks every ``interval`` seconds until ``stop`` is set; report what changed."""
    from django.db import connections

    last: dict[str, str] = {}
    while True:
        for name, message, ok in run_tasks():
            if message and (not ok or last.get(name) != message):
                echo(f"tick {name}: {message}")
            last[name] = message
        connections.close_all()
        if stop.wait(interval):
            return


def start_in_process(interval: float = 60) -> threading.Event:
    """For `trialdesk serve`: the tick loop in a daemon thread; set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=tick_loop, args=(stop, interval, click.echo), name="trialdesk-tick", daemon=True
    )
    thread.start()
    return stop


@click.command()
def tick() -> None:
    """Run every periodic task (audit anchor, ...) once; exits 1 if any of them failed."""
    setup()
    failed = False
    for name, message, ok in run_tasks():
        click.echo(f"{name}: {message or 'nothing to do'}")
        failed = failed or not ok
    if failed:
        sys.exit(1)
