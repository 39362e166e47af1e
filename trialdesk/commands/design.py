"""``trialdesk design``: power and sample size, group-sequential designs, the design report."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from trialdesk.core.design import DesignInputError, power_two_means, power_two_proportions
from trialdesk.core.sequential import group_sequential_design, interim_analysis


@click.group()
def design() -> None:
    """Power, sample size, group-sequential designs and the design report."""


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def _emit(data: dict[str, Any], as_json: bool, table: Table) -> None:
    if as_json:
        click.echo(json.dumps(_finite(data), indent=2))
    else:
        Console().print(table)


def _finite(obj: Any) -> Any:
    """JSON has no infinity: unbounded values become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


@design.command()
@click.option(
    "--test",
    type=click.Choice(["t", "z", "prop", "prop-normal"]),
    default="t",
    show_default=True,
    help="t: exact noncentral t; z: normal; prop: two proportions (arcsine); "
    "prop-normal: two proportions (pooled normal approximation).",
)
@click.option("--alpha", type=float, default=None, help="Significance level [0.05]; omit with "
              "--n-per-group, --effect and --power given to solve for it.")  # fmt: skip
@click.option("--sided", type=click.IntRange(1, 2), default=2, show_default=True)
@click.option("--power", type=float, default=None, help="Target power (omit to solve for it).")
@click.option("--effect", type=float, default=None, help="Standardized effect d (omit to solve).")
@click.option("--difference", type=float, default=None, help="Raw mean difference (with --sd).")
@click.option("--sd", type=float, default=None, help="Common SD for --difference.")
@click.option("--correlation", type=float, default=None, help="ANCOVA baseline correlation rho.")
@click.option("--p1", type=float, default=None, help="Control proportion (--test prop).")
@click.option("--p2", type=float, default=None, help="Treatment proportion (omit to solve).")
@click.option(
    "--n-per-group", type=float, default=None, help="Evaluable per group (omit to solve)."
)
@click.option("--ratio", type=float, default=1.0, show_default=True, help="n2 / n1.")
@click.option("--dropout", type=float, default=0.0, show_default=True)
@click.option("--block-size", type=int, default=None, help="Randomization block (total).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def power(**opts: Any) -> None:
    """Power or sample size for two groups; leave out the one quantity to solve for."""
    as_json = opts.pop("as_json")
    try:
        result = _power(opts)
    except DesignInputError as exc:
        _fail(exc)
    data = result.to_dict()
    data["n_per_group_exact"] = data["n_per_group"]
    data["n_per_group"] = result.n_evaluable[0]
    table = Table(title=result.summary().splitlines()[0], show_header=False)
    for key in ("solved_for", "n_per_group", "n_per_group_exact", "n_per_group_with_dropout",
                "n_total", "effect", "power", "alpha", "sided", "ratio", "dropout"):  # fmt: skip
        value = data[key]
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    _emit(data, as_json, table)


def _power(opts: dict[str, Any]):
    test = opts["test"]
    given = [opts["n_per_group"], opts["power"]]
    if test.startswith("prop"):
        given.append(opts["p2"])
    else:
        given.append(opts["effect"] if opts["difference"] is None else opts["difference"])
    alpha = opts["alpha"]
    if alpha is None and any(x is None for x in given):
        alpha = 0.05
    common = {
        "n_per_group": opts["n_per_group"],
        "power": opts["power"],
        "alpha": alpha,
        "sided": opts["sided"],
        "ratio": opts["ratio"],
        "dropout": opts["dropout"],
        "block_size": opts["block_size"],
    }
    if test.startswith("prop"):
        if opts["p1"] is None:
            raise DesignInputError("p1 = None is not allowed: --test prop needs --p1")
        method = "normal" if test == "prop-normal" else "arcsine"
        return power_two_proportions(p1=opts["p1"], p2=opts["p2"], method=method, **common)
    return power_two_means(
        effect=opts["effect"],
        difference=opts["difference"],
        sd=opts["sd"],
        test=test,
        correlation=opts["correlation"],
        **common,
    )


@design.command()
@click.option("--k", "k", type=int, default=None, help="Number of looks (equally spaced).")
@click.option("--timing", default=None, help="Cumulative information fractions, e.g. 0.5,1.")
@click.option("--alpha", type=float, default=0.025, show_default=True)
@click.option("--sided", type=click.IntRange(1, 2), default=1, show_default=True)
@click.option("--beta", type=float, default=0.2, show_default=True)
@click.option("--spending", default="asOF", show_default=True,
              help="OF, P, HP, WT:<delta>, asOF, asP, asKD:<rho>, asHSD:<gamma>.")  # fmt: skip
@click.option("--futility", default=None, help="bsOF, bsP, bsKD:<rho>, bsHSD:<gamma>.")
@click.option("--binding/--non-binding", default=False, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sequential(
    k: int | None,
    timing: str | None,
    alpha: float,
    sided: int,
    beta: float,
    spending: str,
    futility: str | None,
    binding: bool,
    as_json: bool,
) -> None:
    """Group-sequential boundaries by recursive numerical integration (rpact vocabulary)."""
    try:
        fractions = _timing(timing)
        if fractions is None and k is None:
            k = 1
        result = group_sequential_design(
            information_fraction=fractions,
            k=k,
            alpha=alpha,
            beta=beta,
            sided=sided,
            spending=spending,
            futility=futility,
            binding=binding,
        )
    except DesignInputError as exc:
        _fail(exc)
    data = result.to_dict()
    if data["futility_bounds"] is None:
        data["futility_bounds"] = []
    head = result.summary().splitlines()
    table = Table(title="\n".join(head[:3]))
    for col in ("look", "fraction", "critical z", "futility z", "alpha spent", "nominal p",
                "cum. power"):  # fmt: skip
        table.add_column(col, justify="right")
    for i in range(result.k):
        fut = result.futility_bounds[i] if result.futility_bounds and i < result.k - 1 else None
        table.add_row(
            str(i + 1),
            f"{result.information_fraction[i]:.4f}",
            f"{result.critical_values[i]:.4f}",
            "" if fut is None else f"{fut:.4f}",
            f"{result.alpha_spent[i]:.6f}",
            f"{result.stage_levels[i]:.6f}",
            f"{result.power[i]:.4f}",
        )
    _emit(data, as_json, table)


@design.command()
@click.option("--k", "k", type=int, default=None, help="Planned number of looks (equal spacing).")
@click.option("--timing", default=None, help="Planned information fractions, e.g. 0.5,1.")
@click.option("--alpha", type=float, default=0.025, show_default=True)
@click.option("--sided", type=click.IntRange(1, 2), default=1, show_default=True)
@click.option("--beta", type=float, default=0.2, show_default=True)
@click.option("--spending", default="asOF", show_default=True)
@click.option("--futility", default=None)
@click.option("--binding/--non-binding", default=False, show_default=True)
@click.option("--observed", required=True,
              help="Observed information fractions of the looks so far, e.g. 0.4625 (37/80).")  # fmt: skip
@click.option("--z", "z", type=float, required=True, help="z statistic at the current look.")
@click.option("--estimate", type=float, default=None, help="Effect estimate (for the RCI).")
@click.option("--se", type=float, default=None, help="Its standard error (for the RCI).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def interim(observed: str, z: float, estimate: float | None, se: float | None, as_json: bool,
            **planned: Any) -> None:  # fmt: skip
    """Decide at an interim look with bounds recomputed at the observed information."""
    try:
        fractions = _timing(planned.pop("timing"))
        if fractions is None and planned["k"] is None:
            raise DesignInputError("timing = None is not allowed: give --timing or --k")
        plan = group_sequential_design(information_fraction=fractions, **planned)
        result = interim_analysis(
            design=plan,
            information_fraction=_timing(observed) or [],
            z=z,
            estimate=estimate,
            standard_error=se,
        )
    except DesignInputError as exc:
        _fail(exc)
    table = Table(title=result.summary().splitlines()[0], show_header=False)
    for key, value in result.to_dict().items():
        table.add_row(key, _show(value))
    _emit(result.to_dict(), as_json, table)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return str(value)


def _timing(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise DesignInputError(
            f"timing = {text!r} is not allowed: give comma-separated fractions, e.g. 0.5,1"
        ) from None


@design.command()
@click.argument("protocol_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("design-report"), show_default=True)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report's numbers as JSON.")
def report(protocol_file: Path, out_dir: Path, as_json: bool) -> None:
    """HTML + PNG design report from PROTOCOL_FILE: sample size, interim, safety rules."""
    from trialdesk.core.protocol import ProtocolError, load_protocol
    from trialdesk.reports.design_report import build_report, inputs_from_protocol, render_report

    try:
        protocol = load_protocol(protocol_file)
    except FileNotFoundError:
        _fail(FileNotFoundError(f"{protocol_file}: no such file"))
    except ProtocolError as exc:
        _fail(exc)
    try:
        result = build_report(inputs_from_protocol(protocol))
    except DesignInputError as exc:
        _fail(exc)
    files = render_report(result, out_dir)
    if as_json:
        data = result.to_dict()
        data["files"] = {k: str(v) for k, v in files.items()}
        click.echo(json.dumps(_finite(data), indent=2))
        return
    click.echo(f"wrote {files['html']}")
    if result.design is not None:
        click.echo(
            f"inflation factor {result.design.inflation_factor:.4f}: power with the interim "
            f"{result.power_with_interim:.3f}; {result.n_per_arm_needed} per arm keeps "
            f"{result.inputs.power:g}"
        )
