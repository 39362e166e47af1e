"""`trialdesk analyze --snapshot N --out DIR`: the final analysis of a locked snapshot.

Writes into DIR: ``results.json`` (byte-identical for the same snapshot, protocol, software and
seed), ``report.html``, ``report.pdf`` and ``datasets/`` (the analysis datasets as CSV and
Parquet). Each names the snapshot's hash, the protocol's hash and version, the software version
and the seed. The run is kept and audited like a run from the page.
"""

from __future__ import annotations

from pathlib import Path

import click

from trialdesk.commands._django import resolve_study, setup, study_option


@click.command()
@study_option
@click.option("--snapshot", "number", type=int, required=True, help="the snapshot number")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--user", "username", required=True, help="the statistician running it")
@click.option("--seed", type=int, default=None, help="default: from the snapshot's hash")
def analyze(study: str | None, number: int, out_dir: Path, username: str, seed: int | None) -> None:
    """Run the statistical analysis plan on a snapshot and write the report and datasets."""
    setup()
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied
    from rich.progress import Progress

    from trialdesk.analyses.actions import do_run_analysis
    from trialdesk.analyses.models import Snapshot
    from trialdesk.analyses.outputs import write_outputs
    from trialdesk.analyses.snapshot import SnapshotCorrupt
    from trialdesk.studies.registry import get_protocol

    code = resolve_study(study)
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise click.ClickException(f"--user: no active user {username!r}")
    shot = Snapshot.objects.filter(study_id=code, number=number).first()
    if shot is None:
        known = ", ".join(
            str(n) for n in Snapshot.objects.filter(study_id=code).values_list("number", flat=True)
        )
        raise click.ClickException(
            f"--snapshot: {code} has no snapshot {number} (snapshots: {known or 'none yet'}; "
            "the data manager's database lock takes one)"
        )
    steps = len(get_protocol(code).analyses) + 2
    with Progress(transient=True) as progress:
        task = progress.add_task("analysing", total=steps)

        def step(name: str) -> None:
            progress.update(task, advance=1, description=f"analysis {name}")

        try:
            run = do_run_analysis(shot, user, seed=seed, on_step=step)
        except (PermissionDenied, SnapshotCorrupt) as exc:
            raise click.ClickException(str(exc)) from exc
        progress.update(task, advance=1, description="writing the report and datasets")
        written = write_outputs(run, out_dir)
        progress.update(task, advance=1)
    click.echo(
        f"Final analysis of {code} snapshot {shot.number} (sha256 {shot.sha256}), seed "
        f"{run.seed}: run {run.pk}, results sha256 {run.results_sha256}"
    )
    for path in written:
        click.echo(f"  {path}")
