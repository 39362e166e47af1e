"""``trialdesk protocol``: check and show protocol files (pure: no Django)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from trialdesk.core.protocol import Protocol, ProtocolError, load_protocol
from trialdesk.core.protocol.loader import locate_warnings
from trialdesk.core.rules import ExpressionError
from trialdesk.core.units import UNITS

FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def protocol() -> None:
    """Check and show protocol files."""


def _load(file: Path) -> Protocol:
    try:
        return load_protocol(file)
    except FileNotFoundError:
        click.echo(f"{file}: no such file", err=True)
    except ProtocolError as exc:
        click.echo(str(exc), err=True)
    sys.exit(1)


@protocol.command()
@click.argument("file", type=FILE)
def check(file: Path) -> None:
    """Validate FILE; exit 0 with a summary (and any located warnings), or 1 listing every
    located problem."""
    p = _load(file)
    for w in locate_warnings(file.read_text(encoding="utf-8"), p, source=str(file)):
        click.echo(f"warning: {file}:{w.line}: {w.path}: {w.message}", err=True)
    click.echo(f"OK {file}: {summary(p)}")


def summary(p: Protocol) -> str:
    """One line: what the protocol contains."""
    fields = sum(len(f.fields) for f in p.forms.values())
    checks = sum(len(f.checks) for f in p.forms.values())
    return (
        f"{p.study.id} v{p.study.protocol_version}, {len(p.arms)} arms, "
        f"{len(p.stratification)} strata factors, {len(p.visits)} visits, {len(p.forms)} forms, "
        f"{fields} fields, {checks} edit checks, {len(p.eligibility)} criteria, "
        f"{len(p.endpoints)} endpoints, {len(p.safety_rules)} safety rules"
    )


@protocol.command()
@click.argument("file", type=FILE)
@click.option("--json", "as_json", is_flag=True, help="Print the whole protocol as JSON.")
@click.option("--width", type=int, default=None, help="Output width (default: the terminal's).")
@click.option(
    "--lang",
    type=click.Choice(["en", "id"]),
    default="en",
    show_default=True,
    help="Label language: English or Bahasa Indonesia.",
)
def show(file: Path, as_json: bool, width: int | None, lang: str) -> None:
    """Print a readable summary of FILE, with the schedule of activities."""
    p = _load(file)
    if as_json:
        data = p.model_dump(mode="json")
        data["schedule_of_activities"] = p.schedule_of_activities()
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    console = Console(width=width)
    for renderable in _sections(p, lang):
        # Soft wrap for prose (the terminal wraps; text stays searchable), tables lay out.
        console.print(renderable, soft_wrap=isinstance(renderable, Group))
        console.print()


def _t(text, lang: str) -> str:
    """A bilingual label in ``lang`` (``en`` or ``id``)."""
    return getattr(text, lang)


@protocol.command("eval")
@click.argument("file", type=FILE)
@click.argument("expression")
@click.option("--form", "context", default=None, help="Form the expression belongs to.")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="A field value (form.field, or field of --form); repeatable. Dates as YYYY-MM-DD.",
)
def evaluate(file: Path, expression: str, context: str | None, assignments: tuple[str, ...]):
    """Compile EXPRESSION against FILE and evaluate it on the --set values."""
    p = _load(file)
    try:
        compiled = p.compile(expression, context=context)
    except ExpressionError as exc:
        raise click.ClickException(str(exc)) from None
    values = dict(_assignment(a) for a in assignments)
    click.echo(f"reads: {', '.join(sorted(compiled.names)) or 'nothing'} -> {compiled.type}")
    click.echo(f"value: {compiled.evaluate(values)!r}")


def _assignment(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r}: write NAME=VALUE", param_hint="--set")
    return name.strip(), _literal(raw.strip())


def _literal(raw: str) -> object:
    """Read a --set value: true/false, a number, an ISO date or datetime, a {A,B} set, text."""
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if raw.startswith("{") and raw.endswith("}"):
        return {item.strip() for item in raw[1:-1].split(",") if item.strip()}
    for parse in (int, float, dt.date.fromisoformat, dt.datetime.fromisoformat):
        try:
            return parse(raw)
        except ValueError:
            continue
    return raw


@protocol.command("json-schema")
def json_schema() -> None:
    """Print the JSON Schema of protocol files (for editor completion and validation)."""
    click.echo(json.dumps(Protocol.model_json_schema(), indent=2, ensure_ascii=False))


def _sections(p: Protocol, lang: str) -> list:
    return [
        _study(p),
        _arms(p, lang),
        _strata(p, lang),
        _visits(p, lang),
        _eligibility(p, lang),
        _schedule(p, lang),
        _forms(p, lang),
        _design(p),
    ]


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _study(p: Protocol) -> Table:
    s = p.study
    table = _table(f"{s.id}: {s.title}", "Item", "Value")
    rows = [
        ("Short title", s.short_title),
        ("Sponsor", s.sponsor),
        ("Phase", s.phase),
        ("Protocol version", s.protocol_version),
        ("Registered", str(s.registration_date)),
        ("Enrollment", str(s.target_enrollment)),
        ("Population", f"{s.population.sex}, {s.population.min_age}-{s.population.max_age} years"),
        ("Masking", s.masking),
        ("Sites", "; ".join(f"{c} {x.name}, {x.city}" for c, x in p.sites.items())),
        ("Consent versions", "; ".join(_consent(v) for v in p.consent_versions.values())),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _consent(version) -> str:
    return f"{version.code} from {version.valid_from} to {version.valid_to or 'open'}"


def _arms(p: Protocol, lang: str) -> Table:
    table = _table("Arms", "Code", "Arm", "Type", "Ratio", "Routes", "Description")
    for arm in p.arms.values():
        table.add_row(
            arm.code,
            _t(arm.name, lang),
            arm.type,
            str(arm.ratio),
            ", ".join(arm.routes),
            _t(arm.description, lang),
        )
    alloc = p.allocation
    table.caption = (
        f"Allocation: {alloc.method}, blocks {list(alloc.block_sizes)}, "
        f"strata {', '.join(alloc.strata) or 'none'}"
    )
    return table


def _strata(p: Protocol, lang: str) -> Table:
    table = _table("Stratification factors", "Factor", "Source", "Levels")
    for factor in p.stratification.values():
        levels = "; ".join(
            f"{lv.code} = {', '.join(map(str, lv.values))}" for lv in factor.levels.values()
        )
        table.add_row(_t(factor.label, lang), factor.source, levels)
    return table


def _visits(p: Protocol, lang: str) -> Table:
    table = _table("Visits", "Code", "Visit", "Day (window)", "Notes")
    for visit in p.visits.values():
        notes = [
            n for n, on in (("randomization", visit.randomization), ("dosing", visit.dosing)) if on
        ]
        table.add_row(visit.code, _t(visit.label, lang), visit.window_label(), ", ".join(notes))
    return table


def _eligibility(p: Protocol, lang: str) -> Table:
    table = _table("Eligibility", "Code", "Kind", "Criterion", "Expression")
    for criterion in p.eligibility.values():
        table.add_row(
            criterion.code, criterion.kind, _t(criterion.label, lang), criterion.expression
        )
    return table


def _schedule(p: Protocol, lang: str) -> Table:
    visits = list(p.visits.values())
    table = _table("Schedule of activities", "Form", *(v.code for v in visits))
    for form in p.forms.values():
        if form.log:
            continue
        marks = ["X" if form.code in v.forms else "" for v in visits]
        table.add_row(_t(form.label, lang), *marks)
    logs = ", ".join(_t(p.forms[c].label, lang) for c in p.log_forms())
    table.caption = f"Recorded whenever they occur: {logs}" if logs else None
    return table


def _forms(p: Protocol, lang: str) -> Group:
    parts: list = [Text("Forms and assessments", style="italic")]
    for form in p.forms.values():
        kind = " (log)" if form.log else (" (repeating)" if form.repeating else "")
        parts.append(Text(f"{form.code}: {_t(form.label, lang)}{kind}", style="bold"))
        items = "; ".join(_field_text(f, lang) for f in form.fields.values())
        parts.append(Text(f"  {items}"))
    return Group(*parts)


def _field_text(field, lang: str) -> str:
    unit = f" ({UNITS[field.unit].label})" if field.unit and field.unit != "1" else ""
    derived = " (derived)" if field.derived else ""
    return f"{_t(field.label, lang)}{unit}{derived}"


def _design(p: Protocol) -> Table:
    ss, im = p.sample_size, p.interim
    table = _table("Design", "Item", "Value")
    table.add_row(
        "Sample size",
        f"{ss.test}-test, alpha {ss.alpha} ({ss.sides}-sided), power {ss.power}, "
        f"dropout {ss.dropout:.0%}, {ss.n_per_arm} per arm",
    )
    table.add_row(
        "Interim",
        f"information {list(im.information_fractions)}, efficacy {im.efficacy_spending}, "
        f"futility {im.futility_spending or 'none'} "
        f"({'binding' if im.binding_futility else 'non-binding'}), {im.monitoring_body}",
    )
    for endpoint in p.endpoints.values():
        table.add_row(f"Endpoint ({endpoint.kind})", f"{endpoint.measure}; {endpoint.time_frame}")
    for analysis in p.analyses.values():
        table.add_row(f"Analysis {analysis.code}", f"{analysis.method}: {analysis.description}")
    for rule in p.safety_rules.values():
        table.add_row("Safety rule", f"{rule.label} -> {rule.action}")
    return table
