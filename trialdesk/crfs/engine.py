"""From what a person typed to what is stored: parsing, units, limits, branching, derivations,
edit checks. Pure Python over the protocol model: the same code runs on a form save, on the
inline (htmx) check of one field and in the batch data-quality run.

Expressions are the protocol's own (`Protocol.compile`, `Protocol.derive`); unit conversion is
`trialdesk.core.units.convert`. Nothing here evaluates an expression or converts a unit itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from trialdesk.core.numbers import (
    SYNTAX,
    NumberSyntaxError,
    decimal_places,
    looks_grouped,
    parse_number_text,
)
from trialdesk.core.protocol.models import NONE_OF_THESE, FieldType, Form, FormField
from trialdesk.core.protocol.sources import RECORD_LABELS, record_of
from trialdesk.core.rules import Truth, is_missing
from trialdesk.core.text import FORM_TEXT_DEFAULT
from trialdesk.core.units import UnitError, convert

BOOLEAN_WORDS = {
    "yes": True, "y": True, "true": True, "1": True, "on": True, "ya": True,
    "no": False, "n": False, "false": False, "0": False, "off": False, "tidak": False,
}  # fmt: skip
MAX_TEXT = FORM_TEXT_DEFAULT


class FieldInvalid(ValueError):
    """The input cannot be stored; the message names the field, the value and what is allowed."""


@dataclass(frozen=True)
class Parsed:
    """One accepted value: canonical (Python and JSON) beside what was typed."""

    value: object  # Python value for the rule language
    json: object  # what the database stores
    num: float | None
    unit: str
    entered: str
    entered_unit: str


@dataclass
class Issue:
    item: str  # field code, or "" for the form
    message: str
    check: str = ""
    origin: str = ""  # soft_limit | check


@dataclass
class FormResult:
    parsed: dict[str, Parsed] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    missing_required: dict[str, str] = field(default_factory=dict)
    derived: dict[str, object] = field(default_factory=dict)
    queries: list[Issue] = field(default_factory=list)
    alerts: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- formatting
def fmt_num(x: float | None) -> str:
    if x is None:
        return ""
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.6g}"


def unit_label(code: str | None) -> str:
    if not code:
        return ""
    from trialdesk.core.units import UNITS

    spec = UNITS.get(code)
    return spec.label if spec else code


def _limits(lo: float | None, hi: float | None, unit: str | None) -> str:
    u = f" {unit_label(unit)}" if unit else ""
    if lo is not None and hi is not None:
        return f"{fmt_num(lo)}–{fmt_num(hi)}{u}"
    if lo is not None:
        return f"at least {fmt_num(lo)}{u}"
    return f"at most {fmt_num(hi)}{u}"


# --------------------------------------------------------------------------- parsing
def parse_number(text: str, fld: FormField, entered_unit: str) -> float:
    """The one number syntax (`trialdesk.core.numbers.SYNTAX`); everything else is refused."""
    t = text.strip()
    if "," in t and "." in t:
        raise FieldInvalid(
            f"{fld.code} = '{text}': use either a decimal comma or a decimal point, not both "
            f"(write {SYNTAX})"
        )
    try:
        number = parse_number_text(t, name=fld.code)
    except NumberSyntaxError as exc:
        raise FieldInvalid(str(exc)) from exc
    if entered_unit.startswith("/") and looks_grouped(t):
        # a count per volume typed as 10.500 is ten thousand five hundred to an Indonesian
        # reader and ten and a half to the parser: refuse rather than guess.
        raise FieldInvalid(
            f"{fld.code} = '{text}' is ambiguous for a count: write it without digit grouping "
            f"(e.g. {t.replace('.', '').replace(',', '')})"
        )
    if not math.isfinite(number) or abs(number) > 1e12:
        raise FieldInvalid(f"{fld.code} = '{text}' is not a finite number in range")
    if fld.type is FieldType.INTEGER and not number.is_integer():
        raise FieldInvalid(f"{fld.code} = '{text}' must be a whole number")
    return number


def _check_decimals(text: str, fld: FormField) -> None:
    if fld.decimals is None:
        return
    if decimal_places(text) > fld.decimals:
        raise FieldInvalid(
            f"{fld.code} = '{text}' has too many decimals: at most {fld.decimals} allowed"
        )


def parse_numeric(text: str, fld: FormField, entered_unit: str) -> Parsed:
    canonical = fld.unit or ""
    entered_unit = entered_unit or canonical
    if fld.units and entered_unit not in fld.units:
        raise FieldInvalid(
            f"{fld.code}: unit '{entered_unit}' is not allowed (allowed: {', '.join(fld.units)})"
        )
    number = parse_number(text, fld, entered_unit)
    if entered_unit == canonical:
        _check_decimals(text, fld)
        value = number
    else:
        try:
            value = convert(number, entered_unit, canonical, analyte=fld.analyte)
        except UnitError as exc:  # a protocol problem, but never a 500
            raise FieldInvalid(f"{fld.code}: {exc}") from exc
        if fld.decimals is not None:
            value = round(value, fld.decimals)
    if fld.type is FieldType.INTEGER:
        value = round(value)
    _check_hard(fld, value, text, entered_unit)
    return Parsed(value, value, float(value), canonical, text.strip(), entered_unit)


def _check_hard(fld: FormField, value: float, text: str, entered_unit: str) -> None:
    lo, hi = fld.hard_min, fld.hard_max
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        shown = f"{text.strip()} {unit_label(entered_unit)}".strip()
        if entered_unit != (fld.unit or ""):
            shown += f" ({fmt_num(value)} {unit_label(fld.unit)})"
        raise FieldInvalid(
            f"{fld.code} = {shown} is outside {_limits(lo, hi, fld.unit)} (impossible value)"
        )


def soft_problem(fld: FormField, value: float) -> str | None:
    lo, hi = fld.soft_min, fld.soft_max
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return (
            f"{fld.code} = {fmt_num(value)} {unit_label(fld.unit)} is outside the expected "
            f"range {_limits(lo, hi, fld.unit)}: please confirm or correct"
        ).replace("  ", " ")
    return None


def _parse_date(text: str, fld: FormField) -> dt.date:
    t = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(t, pattern).date()
        except ValueError:
            continue
    raise FieldInvalid(f"{fld.code} = '{text}' is not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def _parse_datetime(text: str, fld: FormField) -> dt.datetime:
    t = text.strip().replace(" ", "T")
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%YT%H:%M"):
        try:
            return dt.datetime.strptime(t, pattern)
        except ValueError:
            continue
    raise FieldInvalid(f"{fld.code} = '{text}' is not a date and time (use YYYY-MM-DD HH:MM)")


def _parse_time(text: str, fld: FormField) -> dt.time:
    for pattern in ("%H:%M", "%H:%M:%S", "%H.%M"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).time()
        except ValueError:
            continue
    raise FieldInvalid(f"{fld.code} = '{text}' is not a time (use HH:MM, 24-hour)")


def _codes(protocol, fld: FormField) -> dict:
    return protocol.codelist(fld.codelist).items if fld.codelist else {}


def parse_value(
    protocol, fld: FormField, raw: str | list[str] | None, entered_unit: str = "", *, today=None
) -> Parsed | None:
    """Parse one field's input. None when empty; FieldInvalid when it cannot be stored."""
    today = today or dt.date.today()
    if fld.type is FieldType.MULTICHOICE:
        items = [raw] if isinstance(raw, str) else list(raw or [])
        picked = sorted({str(x).strip() for x in items if str(x).strip()})
        if NONE_OF_THESE in picked:
            # "None of these" is an answer (the empty set, stored as []), never combined.
            others = [c for c in picked if c != NONE_OF_THESE]
            if others:
                raise FieldInvalid(
                    f"{fld.code}: 'None of these' cannot be ticked together with "
                    f"{', '.join(others)}: tick either 'None of these' or the answers that apply"
                )
            return Parsed(frozenset(), [], None, "", NONE_OF_THESE, "")
        if not picked:
            # The page sends an empty marker with the boxes: no box ticked is no answer
            # (a required field then asks for one, or for "None of these").
            return None
        allowed = _codes(protocol, fld)
        bad = [c for c in picked if c not in allowed]
        if bad:
            raise FieldInvalid(
                f"{fld.code}: {', '.join(bad)} is not an allowed answer (allowed: "
                f"{', '.join(allowed)}, or 'None of these')"
            )
        return Parsed(frozenset(picked), picked, None, "", ", ".join(picked), "")
    if isinstance(raw, list):
        raw = raw[-1] if raw else None
    text = "" if raw is None else str(raw)
    if "\x00" in text:
        raise FieldInvalid(f"{fld.code}: the value contains a NUL character")
    if not text.strip():
        return None
    if fld.type in (FieldType.INTEGER, FieldType.DECIMAL):
        return parse_numeric(text, fld, entered_unit)
    if fld.type is FieldType.TEXT:
        limit = fld.max_length or MAX_TEXT
        if len(text.strip()) > limit:
            raise FieldInvalid(
                f"{fld.code}: {len(text.strip())} characters, at most {limit} allowed"
            )
        return Parsed(text.strip(), text.strip(), None, "", text.strip(), "")
    if fld.type is FieldType.BOOLEAN:
        word = text.strip().lower()
        if word not in BOOLEAN_WORDS:
            raise FieldInvalid(f"{fld.code} = '{text}': answer yes or no")
        value = BOOLEAN_WORDS[word]
        return Parsed(value, value, None, "", text.strip(), "")
    if fld.type is FieldType.CHOICE:
        allowed = _codes(protocol, fld)
        code = text.strip()
        if code not in allowed:
            raise FieldInvalid(
                f"{fld.code} = '{text}' is not an allowed answer (allowed: {', '.join(allowed)})"
            )
        return Parsed(code, code, None, "", code, "")
    if fld.type is FieldType.DATE:
        day = _parse_date(text, fld)
        if day > today:
            raise FieldInvalid(f"{fld.code} = {day:%Y-%m-%d} is in the future")
        if day.year < 1900:
            raise FieldInvalid(f"{fld.code} = {day:%Y-%m-%d} is before 1900")
        return Parsed(day, day.isoformat(), None, "", text.strip(), "")
    if fld.type is FieldType.DATETIME:
        when = _parse_datetime(text, fld)
        if when.date() > today:
            raise FieldInvalid(f"{fld.code} = {when:%Y-%m-%d %H:%M} is in the future")
        if when.year < 1900:
            raise FieldInvalid(f"{fld.code} = {when:%Y-%m-%d %H:%M} is before 1900")
        return Parsed(when, when.isoformat(timespec="minutes"), None, "", text.strip(), "")
    if fld.type is FieldType.TIME:
        at = _parse_time(text, fld)
        return Parsed(at, at.isoformat(timespec="minutes"), None, "", text.strip(), "")
    raise FieldInvalid(f"{fld.code}: field type {fld.type} cannot be entered")  # pragma: no cover


def from_json(fld: FormField, stored: object) -> object:
    """The Python value of a stored canonical value (for the rule language)."""
    if stored is None:
        return None
    if fld.type is FieldType.DATE:
        return dt.date.fromisoformat(stored)
    if fld.type is FieldType.DATETIME:
        return dt.datetime.fromisoformat(stored)
    if fld.type is FieldType.TIME:
        return dt.time.fromisoformat(stored)
    if fld.type is FieldType.MULTICHOICE:
        return frozenset(stored)
    return stored


def to_json(fld: FormField, value: object) -> object:
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float) and fld.decimals is not None:
        return round(value, fld.decimals)
    return value


# --------------------------------------------------------------------------- the form
def entry_fields(form: Form) -> list[FormField]:
    return [f for f in form.fields.values() if not f.derived and f.entry == "site"]


def _truth(protocol, text: str | None, form_code: str, values) -> Truth:
    if not text:
        return Truth.TRUE
    return protocol.compile(text, context=form_code).truth(values)


def evaluate_form(
    protocol,
    form: Form,
    raw: Mapping[str, object],
    units: Mapping[str, str],
    context: Mapping[str, object],
    *,
    today: dt.date | None = None,
    system: Mapping[str, object] | None = None,
    lang: str = "en",
) -> FormResult:
    """Everything a save needs to know. `raw`/`units` are keyed by field code; `context` holds
    the participant's other values ("form.field" → Python value)."""
    result = FormResult()
    for fld in entry_fields(form):
        try:
            parsed = parse_value(
                protocol, fld, raw.get(fld.code), units.get(fld.code, ""), today=today
            )
        except FieldInvalid as exc:
            result.errors[fld.code] = str(exc)
            continue
        if parsed is not None:
            result.parsed[fld.code] = parsed
    return evaluate_parsed(protocol, form, result, context, system, lang)


def evaluate_parsed(
    protocol,
    form: Form,
    result: FormResult,
    context: Mapping[str, object],
    system=None,
    lang: str = "en",
) -> FormResult:
    """Branching, derivations and checks over already-parsed values (also the batch run)."""
    values = {k: v for k, v in context.items() if not k.startswith(f"{form.code}.")}
    for code, parsed in result.parsed.items():
        values[f"{form.code}.{code}"] = parsed.value
    for code, value in (system or {}).items():
        values[f"{form.code}.{code}"] = value
    _branching(protocol, form, result, values)
    _derive(protocol, form, result, values)
    _checks(protocol, form, result, values, lang)
    return result


def _branching(protocol, form: Form, result: FormResult, values: dict) -> None:
    # Two passes: a field hidden in the first may hide others that depend on it.
    for _ in range(2):
        for fld in form.fields.values():
            if fld.show_if and _truth(protocol, fld.show_if, form.code, values) is Truth.FALSE:
                result.hidden.add(fld.code)
                result.parsed.pop(fld.code, None)
                result.errors.pop(fld.code, None)
                values.pop(f"{form.code}.{fld.code}", None)
    for fld in entry_fields(form):
        if fld.code in result.hidden or fld.code in result.parsed or fld.code in result.errors:
            continue
        needed = fld.required or (
            fld.required_if and _truth(protocol, fld.required_if, form.code, values) is Truth.TRUE
        )
        if needed:
            message = f"{fld.code} ({fld.label.en}) is required"
            if fld.type is FieldType.MULTICHOICE:
                message += ": tick the answers that apply, or 'None of these'"
            result.missing_required[fld.code] = message
    for fld in form.fields.values():  # filled from an action's record: missing until recorded
        if fld.source and fld.required and fld.code not in result.hidden:
            if values.get(f"{form.code}.{fld.code}") is None:
                where = RECORD_LABELS.get(record_of(fld.source), "record")
                result.missing_required[fld.code] = (
                    f"{fld.code} ({fld.label.en}) comes from the {where}: record that first"
                )


def _derive(protocol, form: Form, result: FormResult, values: dict) -> None:
    if not any(f.derived for f in form.fields.values()):
        return
    for code, value in protocol.derive(form.code, values).items():
        fld = form.fields[code]
        if code in result.hidden:
            continue
        result.derived[code] = None if is_missing(value) else value
        values[f"{form.code}.{code}"] = value
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            try:  # a derived value beyond its hard limits means an input is wrong (e.g. a birth date)
                _check_hard(fld, float(value), fmt_num(value), fld.unit or "")
            except FieldInvalid as exc:
                inputs = [
                    n.split(".", 1)[1]
                    for n in protocol.compile(fld.derived, context=form.code).names
                    if n.startswith(f"{form.code}.")
                ]
                result.errors[code] = (
                    f"{exc} — check {', '.join(inputs) or 'the values it is calculated from'}"
                )
                continue
            problem = soft_problem(fld, float(value))
            if problem:
                result.queries.append(Issue(code, problem, origin="soft_limit"))


def _checks(protocol, form: Form, result: FormResult, values: dict, lang: str = "en") -> None:
    """Hard-check messages (shown, never stored) in the user's language; query and alert
    texts are stored, in the protocol's English wording."""
    for code, parsed in result.parsed.items():
        if parsed.num is not None:
            problem = soft_problem(form.fields[code], parsed.num)
            if problem:
                result.queries.append(Issue(code, problem, origin="soft_limit"))
    for check in form.checks.values():
        expr = protocol.compile(check.expression, context=form.code)
        if expr.truth(values) is not Truth.FALSE:
            continue
        item = _first_item(expr, form)
        message = check.message.en
        if check.severity == "hard" and lang.startswith("id"):
            message = check.message.id
        if check.severity == "hard":
            key = item if item and item not in result.errors else "__form__"
            text = f"{message} ({check.code})"
            result.errors[key] = f"{result.errors[key]}; {text}" if key in result.errors else text
        elif check.severity == "query":
            result.queries.append(Issue(item, message, check=check.code, origin="check"))
        else:
            result.alerts.append(Issue(item, message, check=check.code, origin="alert"))


def _first_item(expr, form: Form) -> str:
    """The field a check is shown against: the first of its own form's fields it reads."""
    own = [n.split(".", 1)[1] for n in expr.names if n.startswith(f"{form.code}.")]
    for code in form.fields:
        if code in own:
            return code
    return ""
