"""`trialdesk simulate` (operating characteristics, design grids) and `trialdesk synth`.

    trialdesk simulate PROTOCOL --reps 100000 --effect 0.67 --effect 0 [--analysis z|t|ancova]
    trialdesk simulate grid PROTOCOL --n-max 60 --n-max 80 --effect 0 --effect 0.67 --plot g.png
    trialdesk synth PROTOCOL --participants 80 --seed 1 --out DIR [--format csv|parquet]

Tables and progress go to the terminal (progress on stderr); ``--json`` prints JSON on stdout.
"""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

PROTOCOL = click.Path(exists=True, dir_okay=False, path_type=Path)


class _DefaultRun(click.Group):
    """`simulate FILE …` runs the default sub-command `run`; `simulate grid …` the grid."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultRun)
def simulate() -> None:
    """Operating characteristics of the protocol's design, by simulation.

    `trialdesk simulate PROTOCOL [options]` is `trialdesk simulate run PROTOCOL [options]`.
    """


def _common(f):  # type: ignore[no-untyped-def]
    options = [
        click.argument("protocol_path", type=PROTOCOL, metavar="PROTOCOL"),
        click.option("--reps", type=click.IntRange(min=1), default=100_000, show_default=True),
        click.option(
            "--effect",
            "effects",
            type=float,
            multiple=True,
            help="True standardized effect (SD units); repeat for several. "
            "Default: 0 and the protocol's planned effect.",
        ),
        click.option("--seed", type=int, default=1, show_default=True),
        click.option(
            "--analysis",
            type=click.Choice(["z", "t", "ancova"]),
            help="Default: the protocol's primary analysis.",
        ),
        click.option(
            "--dropout", type=click.FloatRange(0, 1, max_open=True),
            help="P(no primary endpoint). Default: the protocol's sample-size dropout.",
        ),
        click.option(
            "--sae-rate", "sae_rates", type=(float, float), metavar="CONTROL TREATMENT",
            help="P(event of the safety rule) per participant in each arm. Default: 0 0.",
        ),
        click.option(
            "--safety-rule",
            help="Code of a protocol safety rule, or 'none'. Default: the first rule.",
        ),
        click.option("--recruitment", type=float, help="Participants per month (overrun).") ,
        click.option("--baseline-correlation", type=float, default=0.5, show_default=True),
        click.option("--workers", type=click.IntRange(min=1), help="Default: all cores."),
        click.option("--scheduler", help="dask.distributed scheduler address."),
        click.option(
            "--executor", type=click.Choice(["process", "thread"]), default="process",
            show_default=True,
        ),
        click.option("--chunk-size", type=click.IntRange(min=1)),
        click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def _setup(protocol_path: Path, opts: dict[str, Any]) -> tuple[Any, Any, list[Any], Any]:
    from trialdesk.core.protocol import ProtocolError, load_protocol
    from trialdesk.core.simulate import Scenario
    from trialdesk.core.simulate.from_protocol import protocol_defaults

    try:
        protocol = load_protocol(protocol_path)
    except ProtocolError as exc:
        raise click.ClickException(str(exc)) from None
    rule_code = opts["safety_rule"]
    try:
        d = protocol_defaults(
            protocol, safety_rule=None if rule_code == "none" else rule_code or ""
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    effects = opts["effects"] or (0.0, d.effect)
    sae = opts["sae_rates"] or (0.0, 0.0)
    scenarios = [
        Scenario(
            effect=e,
            dropout=d.dropout if opts["dropout"] is None else opts["dropout"],
            sae_rate=tuple(sae),
            baseline_correlation=opts["baseline_correlation"],
            recruitment_per_month=opts["recruitment"],
        )
        for e in effects
    ]
    return protocol, d, scenarios, opts["analysis"] or d.analysis


@contextmanager
def _progress(total: int, label: str, quiet: bool):  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet and not console.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf → None, tuples → lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@simulate.command("run")
@_common
def run(protocol_path: Path, **opts: Any) -> None:
    """Simulate the protocol's design under each --effect and print its characteristics."""
    from trialdesk.core.simulate import simulate_scenarios

    protocol, d, scenarios, analysis = _setup(protocol_path, opts)
    total = opts["reps"] * len(scenarios)
    try:
        with _progress(total, f"simulating {analysis}", opts["as_json"]) as advance:
            results = simulate_scenarios(
                boundary=d.boundary,
                scenarios=scenarios,
                replicates=opts["reps"],
                seed=opts["seed"],
                analysis=analysis,
                safety_rule=d.safety_rule,
                chunk_size=opts["chunk_size"],
                workers=opts["workers"],
                scheduler=opts["scheduler"],
                executor=opts["executor"],
                progress=advance,
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # dask: the scheduler cannot be reached
        raise click.ClickException(
            f"cannot reach the scheduler {opts['scheduler']}: {exc}"
        ) from None
    if opts["as_json"]:
        out = []
        for r in results:
            row = _clean(r.to_dict())
            row["boundary"] = _clean(_boundary_dict(d.boundary))
            row["safety_rule"] = d.safety_rule_code
            out.append(row)
        click.echo(json.dumps(out, indent=2))
        return
    _print_table(protocol, d, analysis, results)


def _boundary_dict(b: Any) -> dict[str, Any]:
    return {
        "name": b.name,
        "critical_values": list(b.critical_values),
        "futility_bounds": list(b.futility_bounds) if b.futility_bounds else None,
        "n_per_look": list(b.n_per_look),
        "sided": b.sided,
    }


def _print_table(protocol: Any, d: Any, analysis: str, results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    b = d.boundary
    bounds = ", ".join(f"{c:.3f}" for c in b.critical_values)
    looks = ", ".join(str(n) for n in b.n_per_look)
    click.echo(
        f"{protocol.study.id}: {b.name}\n"
        f"z bounds ({bounds}) at n = ({looks}), {'two' if b.sided == 2 else 'one'}-sided; "
        f"{analysis} analysis; "
        + (f"safety rule {d.safety_rule_code}" if d.safety_rule else "no safety rule")
    )
    table = Table()
    for col in ("effect", "P(reject)", "per look", "stop early", "eff / fut / safety",
                "E\\[n]", "bias (SD)"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            f"{r.effect:g}",
            f"{r.reject:.4f} ± {r.mcse_reject:.4f}",
            " / ".join(f"{p:.4f}" for p in r.reject_per_look),
            f"{r.stop_interim:.4f} ± {r.mcse_stop_interim:.4f}",
            f"{r.stop_efficacy_interim:.4f} / {r.stop_futility_interim:.4f} / {r.stop_safety:.4f}",
            f"{r.expected_n:.2f} ± {r.mcse_expected_n:.2f}",
            f"{r.bias:+.4f} ± {r.mcse_bias:.4f}",
        )
    console = Console()
    console.print(table)
    console.print(f"{results[0].replicates} replicates per effect, seed {results[0].seed}; "
                  "± is the Monte Carlo standard error.")  # fmt: skip


@simulate.command("grid")
@_common
@click.option(
    "--n-max",
    "n_maxes",
    type=click.IntRange(min=2),
    multiple=True,
    help="Maximum total sample sizes to sweep (default: 0.5× to 1.5× the protocol's).",
)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="PNG/SVG/PDF.")
def grid(protocol_path: Path, n_maxes: tuple[int, ...], plot: Path | None, **opts: Any) -> None:
    """Sweep maximum sample size × effect: power, early stopping and E[n] for each cell."""
    from trialdesk.core.simulate.grid import plot_grid, simulate_grid

    protocol, d, scenarios, analysis = _setup(protocol_path, opts)
    if not n_maxes:
        n0 = d.boundary.n_max
        n_maxes = tuple(sorted({max(4, 2 * round(n0 * f / 2)) for f in (0.5, 0.75, 1, 1.25, 1.5)}))
    total = opts["reps"] * len(scenarios) * len(n_maxes)
    with _progress(total, "design grid", opts["as_json"]) as advance:
        result = simulate_grid(
            boundary=d.boundary,
            n_max=n_maxes,
            scenarios=scenarios,
            replicates=opts["reps"],
            seed=opts["seed"],
            analysis=analysis,
            safety_rule=d.safety_rule,
            chunk_size=opts["chunk_size"],
            workers=opts["workers"],
            scheduler=opts["scheduler"],
            executor=opts["executor"],
            progress=advance,
        )
    if plot:
        plot_grid(result, plot, title=f"{protocol.study.id}: {d.boundary.name} ({analysis})")
    if opts["as_json"]:
        click.echo(json.dumps(_clean(result.to_rows()), indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{protocol.study.id}: design grid ({analysis} analysis)")
    for col in ("n max", "effect (SD)", "P(reject)", "stop early", "E\\[n]"):
        table.add_column(col, justify="right")
    for row in result.to_rows():
        table.add_row(
            str(row["n_max"]),
            f"{row['effect']:g}",
            f"{row['reject']:.4f} ± {row['mcse_reject']:.4f}",
            f"{row['stop_interim']:.4f}",
            f"{row['expected_n']:.2f}",
        )
    Console().print(table)
    if plot:
        click.echo(f"plot written to {plot}")


@click.command()
@click.argument("protocol_path", type=PROTOCOL, metavar="PROTOCOL")
@click.option("--participants", type=click.IntRange(min=1), default=80, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="Directory for one table per form.",
)  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True)  # fmt: skip
@click.option("--effect", type=float, help="True log2 fold change of miR-126-3p (treated).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=5_000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def synth(
    protocol_path: Path,
    participants: int,
    seed: int,
    out: Path,
    fmt: str,
    effect: float | None,
    chunk_size: int,
    as_json: bool,
) -> None:
    """Generate a synthetic study: participant-level data for every form of the protocol."""
    from trialdesk.core.protocol import ProtocolError, load_protocol
    from trialdesk.core.simulate.synth import SynthOptions, generate_study

    try:
        protocol = load_protocol(protocol_path)
    except ProtocolError as exc:
        raise click.ClickException(str(exc)) from None
    options = SynthOptions() if effect is None else SynthOptions(mir126_log2fc=effect)
    with _progress(participants, "generating", as_json) as advance:
        result = generate_study(
            protocol,
            participants=participants,
            seed=seed,
            out=out,
            fmt=fmt,
            chunk_size=chunk_size,
            options=options,
            progress=advance,
        )
    if as_json:
        click.echo(json.dumps(_clean(result.to_dict()), indent=2))
        return
    click.echo(result.summary())


if __name__ == "__main__":  # pragma: no cover
    simulate(sys.argv[1:])
