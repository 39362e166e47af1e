"""Whole-protocol checks: cross-references, units, limits, windows and expressions.

Each check yields ``(loc, message)`` where ``loc`` is the path of keys/indexes inside the
YAML data; the loader turns it into a dotted path and a line number. ``check_protocol``
finds errors (the protocol does not load); ``protocol_warnings`` finds design risks that a
reviewer must look at but that do not stop the protocol (``trialdesk protocol check`` prints
them).
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from trialdesk.core.protocol.models import (
    CODED_TYPES,
    NUMERIC_TYPES,
    Analysis,
    FieldType,
    Form,
    FormField,
    Keyed,
    Model,
)
from trialdesk.core.rules import ExpressionError, Kind
from trialdesk.core.units import ANALYTES, UNITS, conversion_problem

if TYPE_CHECKING:
    from trialdesk.core.protocol.protocol import Protocol

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]

_FIELD_KINDS = {
    FieldType.INTEGER: {Kind.NUMBER},
    FieldType.DECIMAL: {Kind.NUMBER},
    FieldType.TEXT: {Kind.TEXT, Kind.CODE},
    FieldType.DATE: {Kind.DATE},
    FieldType.DATETIME: {Kind.DATETIME},
    FieldType.TIME: {Kind.TIME},
    FieldType.BOOLEAN: {Kind.BOOLEAN},
    FieldType.CHOICE: {Kind.CODE, Kind.TEXT},
    FieldType.MULTICHOICE: {Kind.CODESET},
}
_LIMITS = ("hard_min", "soft_min", "soft_max", "hard_max")


def check_protocol(p: Protocol) -> list[Issue]:
    """Every problem found in ``p`` (an empty list when the protocol is sound)."""
    checks = (
        _codes_match_keys,
        _study,
        _arms_and_allocation,
        _stratification,
        _visits,
        _consent_versions,
        _mirrored_codelists,
        _forms,
        _expressions,
        _eligibility,
        _endpoints,
        _analyses,
        _sample_size,
        _interim,
        _safety_rules,
        _unblinding,
        _adverse_events,
        _public,
    )
    issues: list[Issue] = []
    for check in checks:
        issues.extend(check(p))
    return issues


# --------------------------------------------------------------------------- generic
def _codes_match_keys(p: Protocol) -> Iterator[Issue]:
    yield from _walk_codes(p, ())


def _walk_codes(model: Model, loc: Loc) -> Iterator[Issue]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, dict):
            for key, child in value.items():
                if isinstance(child, Keyed) and child.code != key:
                    yield (
                        (*loc, name, key, "code"),
                        (f"code {child.code!r} differs from its key {key!r}; remove 'code:'"),
                    )
                if isinstance(child, Model):
                    yield from _walk_codes(child, (*loc, name, key))
        elif isinstance(value, Model):
            yield from _walk_codes(value, (*loc, name))


def _field_ref(
    p: Protocol, ref: str, loc: Loc, *, allow_repeating: bool = False
) -> Iterator[Issue]:
    form_code, dot, field_code = ref.partition(".")
    if not dot:
        yield loc, f"{ref!r} must be a field reference written form.field"
    elif form_code not in p.forms:
        yield loc, f"{ref!r}: unknown form {form_code!r} (forms: {', '.join(p.forms)})"
    elif field_code not in p.forms[form_code].fields:
        known = ", ".join(p.forms[form_code].fields)
        yield loc, f"{ref!r}: form {form_code!r} has no field {field_code!r} (fields: {known})"
    elif not allow_repeating and not p.collected_once(form_code):
        yield (
            loc,
            (
                f"{ref!r}: form {form_code!r} has more than one record per participant "
                "(repeating, log, or collected at several visits), so it has no single value here"
            ),
        )


def _visit_refs(p: Protocol, codes: tuple[str, ...] | list[str], loc: Loc) -> Iterator[Issue]:
    for index, code in enumerate(codes):
        if code not in p.visits:
            yield (*loc, index), f"unknown visit {code!r} (visits: {', '.join(p.visits)})"


# --------------------------------------------------------------------------- study, arms
def _study(p: Protocol) -> Iterator[Issue]:
    pop = p.study.population
    if pop.min_age > pop.max_age:
        yield (
            ("study", "population", "min_age"),
            (f"min_age {pop.min_age} is above max_age {pop.max_age}"),
        )
    s = p.study
    if s.start_date and s.completion_date and s.start_date > s.completion_date:
        yield ("study", "completion_date"), "completion_date is before start_date"


def _arms_and_allocation(p: Protocol) -> Iterator[Issue]:
    if len(p.arms) < 2:
        yield ("arms",), f"a randomized study needs at least 2 arms, found {len(p.arms)}"
    for code, arm in p.arms.items():
        for index, route in enumerate(arm.routes):
            if route not in p.routes:
                yield (
                    ("arms", code, "routes", index),
                    (f"unknown route {route!r} (routes: {', '.join(p.routes)})"),
                )
    yield from _allocation(p)


def _allocation(p: Protocol) -> Iterator[Issue]:
    alloc = p.allocation
    loc = ("allocation",)
    total = sum(a.ratio for a in p.arms.values())
    ratio = ":".join(str(a.ratio) for a in p.arms.values())
    if alloc.method == "permuted_block" and not alloc.block_sizes:
        yield (*loc, "block_sizes"), "permuted_block allocation needs block_sizes"
    if alloc.method != "permuted_block" and alloc.block_sizes:
        yield (*loc, "block_sizes"), f"block_sizes only apply to permuted_block, not {alloc.method}"
    for index, size in enumerate(alloc.block_sizes):
        if size <= 0 or size % total:
            yield (
                (*loc, "block_sizes", index),
                (
                    f"block size {size} is not a multiple of {total}, the sum of the arm ratios {ratio}"
                ),
            )
    if alloc.method == "minimization" and alloc.minimization_probability is None:
        yield (*loc, "minimization_probability"), "minimization needs minimization_probability"
    if alloc.method != "minimization" and alloc.minimization_probability is not None:
        yield (*loc, "minimization_probability"), "only minimization uses a probability"
    for index, stratum in enumerate(alloc.strata):
        if stratum not in p.stratification:
            known = ", ".join(p.stratification) or "none defined"
            yield (*loc, "strata", index), f"unknown stratification factor {stratum!r} ({known})"
    for code in p.stratification:
        if code not in alloc.strata:
            yield (
                ("stratification", code),
                (f"stratification factor {code!r} is not used by allocation.strata"),
            )


def _stratification(p: Protocol) -> Iterator[Issue]:
    for code, factor in p.stratification.items():
        loc = ("stratification", code, "source")
        problems = list(_field_ref(p, factor.source, loc))
        if problems:
            yield from problems
            continue
        yield from _levels(p, code, factor.source)


def _levels(p: Protocol, code: str, source: str) -> Iterator[Issue]:
    field = p.field(source)
    factor = p.stratification[code]
    if field.type is FieldType.BOOLEAN:
        allowed: list[object] = [True, False]
    elif field.type is FieldType.CHOICE and field.codelist in p.codelists:
        allowed = list(p.codelists[field.codelist].items)
    else:
        yield (
            ("stratification", code, "source"),
            (f"{source!r} is {field.type}; a stratification source must be choice or boolean"),
        )
        return
    seen: dict[object, str] = {}
    for level_code, level in factor.levels.items():
        for index, value in enumerate(level.values):
            vloc = ("stratification", code, "levels", level_code, "values", index)
            if value not in allowed:
                yield vloc, f"{value!r} is not a value of {source} (allowed: {_join(allowed)})"
            elif value in seen:
                yield vloc, f"{value!r} is already mapped to level {seen[value]!r}"
            else:
                seen[value] = level_code
    missing = [v for v in allowed if v not in seen]
    if missing:
        yield (
            ("stratification", code, "levels"),
            (f"values of {source} not mapped to any level: {_join(missing)}"),
        )


def _join(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


# --------------------------------------------------------------------------- schedule
def _visits(p: Protocol) -> Iterator[Issue]:
    for code, visit in p.visits.items():
        loc = ("visits", code)
        if visit.scheduled and visit.day is None:
            yield (*loc, "day"), f"scheduled visit {code!r} needs a day"
        if not visit.scheduled and (
            visit.day is not None or visit.window_before or visit.window_after
        ):
            yield (*loc, "day"), f"unscheduled visit {code!r} must not have a day or a window"
        for index, form_code in enumerate(visit.forms):
            floc = (*loc, "forms", index)
            if form_code not in p.forms:
                yield floc, f"unknown form {form_code!r} (forms: {', '.join(p.forms)})"
            elif visit.forms.index(form_code) != index:
                yield floc, f"form {form_code!r} is listed twice at visit {code!r}"
    yield from _visit_order_and_windows(p)
    yield from _special_visits(p)
    scheduled_forms = {f for v in p.visits.values() for f in v.forms}
    for code, form in p.forms.items():
        if not form.log and code not in scheduled_forms:
            yield (
                ("forms", code),
                (
                    f"form {code!r} is not collected at any visit (list it under a visit's forms, "
                    "or mark it log: true)"
                ),
            )


def _visit_order_and_windows(p: Protocol) -> Iterator[Issue]:
    windows = [
        (code, v.day, v.day - v.window_before, v.day + v.window_after)
        for code, v in p.visits.items()
        if v.day is not None
    ]
    for (prev, prev_day, prev_lo, prev_hi), (code, day, lo, hi) in zip(
        windows, windows[1:], strict=False
    ):
        if day <= prev_day:
            yield (
                ("visits", code, "day"),
                (
                    f"visit {code!r} (day {day}) must come after {prev!r} (day {prev_day}); "
                    "list scheduled visits in day order"
                ),
            )
        elif lo <= prev_hi:
            yield (
                ("visits", code, "window_before"),
                (
                    f"window of {code!r} (days {lo} to {hi}) overlaps window of {prev!r} "
                    f"(days {prev_lo} to {prev_hi})"
                ),
            )


def _special_visits(p: Protocol) -> Iterator[Issue]:
    randomization = [c for c, v in p.visits.items() if v.randomization]
    if len(randomization) != 1:
        yield (
            ("visits",),
            (
                f"exactly one visit must have randomization: true, found {len(randomization)}"
                + (f" ({', '.join(randomization)})" if randomization else "")
            ),
        )
    for code, visit in p.visits.items():
        if visit.dosing and visit.day != 0:
            yield (
                ("visits", code, "day"),
                f"the dosing visit {code!r} must be day 0 (day 0 = dosing)",
            )
        if visit.randomization and not visit.scheduled:
            yield (
                ("visits", code, "randomization"),
                "randomization must happen at a scheduled visit",
            )


def _consent_versions(p: Protocol) -> Iterator[Issue]:
    versions = list(p.consent_versions.values())
    for version in versions:
        if version.valid_to and version.valid_to < version.valid_from:
            yield (
                ("consent_versions", version.code, "valid_to"),
                (f"valid_to {version.valid_to} is before valid_from {version.valid_from}"),
            )
    ordered = sorted(versions, key=lambda v: v.valid_from)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
            yield (
                ("consent_versions", later.code, "valid_from"),
                (
                    f"validity of {later.code!r} (from {later.valid_from}) overlaps {earlier.code!r} "
                    f"(to {earlier.valid_to or 'open-ended'}); only one version may be valid per day"
                ),
            )


def _mirrored_codelists(p: Protocol) -> Iterator[Issue]:
    """A codelist that mirrors a section must list exactly that section's codes; every
    codelist must be used (an unused list is usually a misspelt reference)."""
    used = {f.codelist for form in p.forms.values() for f in form.fields.values()}
    for code, codelist in p.codelists.items():
        if code not in used:
            yield ("codelists", code), f"codelist {code!r} is not used by any field"
        if codelist.mirrors is None:
            continue
        listed, defined = list(codelist.items), list(getattr(p, codelist.mirrors))
        if listed != defined:
            message = (
                f"items {', '.join(listed)} must be the {codelist.mirrors} "
                f"{', '.join(defined)}, in the same order"
            )
            yield ("codelists", code, "items"), message


# --------------------------------------------------------------------------- forms and fields
def _forms(p: Protocol) -> Iterator[Issue]:
    for form in p.forms.values():
        for field in form.fields.values():
            loc = ("forms", form.code, "fields", field.code)
            yield from _field_name(field, loc)
            yield from _field_codelist(p, field, loc)
            yield from _field_units(field, loc)
            yield from _field_limits(field, loc)
            yield from _field_options(field, loc)
            yield from _field_copy(p, form, field, loc)


def _field_copy(p: Protocol, form: Form, field: FormField, loc: Loc) -> Iterator[Issue]:
    """``copy_of: VISIT.field``: a visit that collects this form, a field of this form of the
    same type that is not itself a copy, and a system entry."""
    if field.copy_of is None:
        return
    visit, _, name = field.copy_of.rpartition(".")
    where = (*loc, "copy_of")
    spec = p.visits.get(visit)
    if spec is None:
        yield where, f"copy_of {field.copy_of!r}: no visit {visit!r} ({_join(p.visits)})"
    elif form.code not in spec.forms:
        yield where, f"copy_of {field.copy_of!r}: visit {visit} does not collect form {form.code}"
    source = form.fields.get(name)
    if source is None:
        yield where, f"copy_of {field.copy_of!r}: form {form.code} has no field {name!r}"
    elif source.copy_of is not None or source.code == field.code:
        yield where, f"copy_of {field.copy_of!r}: copy a value that is measured, not a copy"
    elif source.type is not field.type:
        yield where, f"copy_of {field.copy_of!r}: {name} is {source.type}, not {field.type}"
    if field.entry != "system" or field.derived or field.source:
        yield where, "a copied value is filled by the system: no entry: site, derived or source"


def _field_name(field: FormField, loc: Loc) -> Iterator[Issue]:
    if keyword.iskeyword(field.code) or field.code in ("true", "false"):
        yield loc, f"{field.code!r} is a reserved word and cannot name a field"


def _field_codelist(p: Protocol, field: FormField, loc: Loc) -> Iterator[Issue]:
    if field.type in CODED_TYPES and not field.codelist:
        yield (*loc, "codelist"), f"a {field.type} field needs a codelist"
    elif field.codelist and field.type not in CODED_TYPES:
        yield (
            (*loc, "codelist"),
            f"only choice/multichoice fields take a codelist, not {field.type}",
        )
    elif field.codelist and field.codelist not in p.codelists:
        yield (
            (*loc, "codelist"),
            (f"unknown codelist {field.codelist!r} (codelists: {', '.join(p.codelists)})"),
        )


def _field_units(field: FormField, loc: Loc) -> Iterator[Issue]:
    if (field.unit or field.alt_units) and field.type not in NUMERIC_TYPES:
        yield (*loc, "unit"), f"only integer/decimal fields have units, not {field.type}"
        return
    if field.analyte and field.analyte not in ANALYTES:
        yield (
            (*loc, "analyte"),
            f"unknown analyte {field.analyte!r} (allowed: {', '.join(ANALYTES)})",
        )
        return
    if field.alt_units and not field.unit:
        yield (*loc, "alt_units"), "alternative units need a canonical unit"
        return
    if field.unit and field.unit not in UNITS:
        yield (*loc, "unit"), f"unknown unit {field.unit!r} (allowed: {', '.join(UNITS)})"
        return
    for index, alt in enumerate(field.alt_units):
        aloc = (*loc, "alt_units", index)
        if alt == field.unit or field.alt_units.index(alt) != index:
            yield aloc, f"unit {alt!r} is listed twice"
            continue
        problem = conversion_problem(alt, field.unit or "", analyte=field.analyte)
        if problem:
            yield aloc, problem


def _field_limits(field: FormField, loc: Loc) -> Iterator[Issue]:
    present = [(name, getattr(field, name)) for name in _LIMITS if getattr(field, name) is not None]
    if present and field.type not in NUMERIC_TYPES:
        yield (
            (*loc, present[0][0]),
            f"limits only apply to integer/decimal fields, not {field.type}",
        )
        return
    for (low_name, low), (high_name, high) in zip(present, present[1:], strict=False):
        if low > high:
            yield (
                (*loc, high_name),
                (
                    f"{high_name} {high:g} is below {low_name} {low:g}; limits must be ordered "
                    "hard_min <= soft_min <= soft_max <= hard_max"
                ),
            )


def _field_options(field: FormField, loc: Loc) -> Iterator[Issue]:
    if field.decimals is not None and field.type is not FieldType.DECIMAL:
        yield (*loc, "decimals"), f"decimals only apply to decimal fields, not {field.type}"
    if field.max_length is not None and field.type is not FieldType.TEXT:
        yield (*loc, "max_length"), f"max_length only applies to text fields, not {field.type}"
    if field.required and field.required_if:
        yield (*loc, "required_if"), "a field is either required or required_if, not both"
    if field.derived and (field.required or field.required_if or field.entry == "system"):
        yield (
            (*loc, "derived"),
            "a derived field is computed: it cannot be required or system-entered",
        )


# --------------------------------------------------------------------------- expressions
def _compile(p: Protocol, text: str, context: str | None, loc: Loc, want: set[Kind], what: str):
    try:
        expression = p.compile(text, context=context)
    except ExpressionError as exc:
        yield loc, str(exc)
        return
    if expression.type.kind not in want | {Kind.ANY}:
        wanted = " or ".join(sorted(k.value for k in want))
        yield loc, f"{what} must give {wanted}, but {text!r} gives {expression.type}"


def _expressions(p: Protocol) -> Iterator[Issue]:
    for form in p.forms.values():
        yield from _form_expressions(p, form)
        yield from _derivation_cycles(p, form)


def _form_expressions(p: Protocol, form: Form) -> Iterator[Issue]:
    boolean = {Kind.BOOLEAN}
    for field in form.fields.values():
        loc = ("forms", form.code, "fields", field.code)
        for attr in ("required_if", "show_if"):
            text = getattr(field, attr)
            if text is not None:
                yield from _compile(p, text, form.code, (*loc, attr), boolean, attr)
        if field.derived is not None:
            want = _FIELD_KINDS[field.type]
            yield from _compile(
                p, field.derived, form.code, (*loc, "derived"), want, f"a {field.type} field"
            )
    for code, check in form.checks.items():
        cloc = ("forms", form.code, "checks", code, "expression")
        yield from _compile(p, check.expression, form.code, cloc, boolean, "an edit check")


def _derivation_cycles(p: Protocol, form: Form) -> Iterator[Issue]:
    from trialdesk.core.protocol.protocol import derivation_order

    try:
        derivation_order(p, form.code)
    except ExpressionError:
        return  # already reported
    except ValueError as exc:
        yield ("forms", form.code, "fields"), str(exc)


def _eligibility(p: Protocol) -> Iterator[Issue]:
    if not any(c.kind == "inclusion" for c in p.eligibility.values()):
        yield ("eligibility",), "at least one inclusion criterion is needed"
    for code, criterion in p.eligibility.items():
        loc = ("eligibility", code, "expression")
        yield from _compile(p, criterion.expression, None, loc, {Kind.BOOLEAN}, "a criterion")


_ANSWER_TYPES = {"yes_no": {FieldType.BOOLEAN}, "number": NUMERIC_TYPES}


def _public(p: Protocol) -> Iterator[Issue]:
    """Self-check questions: known criteria, fields of a form collected once whose type fits
    the answer, and each field read by at least one of the question's criteria."""
    if p.public is None:
        return
    for code, question in p.public.self_check.items():
        loc = ("public", "self_check", code)
        for criterion in question.criteria:
            if criterion not in p.eligibility:
                yield (
                    (*loc, "criteria"),
                    (f"unknown criterion {criterion!r}; allowed: {_join(p.eligibility)}"),
                )
        read: set[str] = set()
        for criterion in question.criteria:
            try:
                read |= p.criterion_expression(criterion).names
            except (KeyError, ExpressionError):  # reported above, or by _eligibility
                continue
        for ref in question.fills:
            yield from _self_check_field(p, question.answer, ref, read, (*loc, "fills"))


def _self_check_field(p: Protocol, answer: str, ref: str, read: set[str], loc: Loc):
    problems = list(_field_ref(p, ref, loc))
    if problems:
        yield from problems
        return
    field = p.field(ref)
    if field.type not in _ANSWER_TYPES[answer]:
        allowed = _join(sorted(t.value for t in _ANSWER_TYPES[answer]))
        yield loc, f"{ref} is of type {field.type.value}; a {answer} answer fills {allowed} fields"
    elif ref not in read:
        yield loc, f"{ref} is not read by the question's criteria (they read {_join(sorted(read))})"


# --------------------------------------------------------------------------- design
def _endpoints(p: Protocol) -> Iterator[Issue]:
    if not any(e.kind == "primary" for e in p.endpoints.values()):
        yield ("endpoints",), "at least one primary endpoint is needed"
    for code, endpoint in p.endpoints.items():
        loc = ("endpoints", code)
        yield from _visit_refs(p, endpoint.visits, (*loc, "visits"))
        if endpoint.field:
            yield from _measured_at(p, endpoint.field, endpoint.visits, (*loc, "field"))


def _measured_at(p: Protocol, ref: str, visits: Sequence[str], loc: Loc) -> Iterator[Issue]:
    """``ref`` must exist, and its form must be collected at each of ``visits``."""
    problems = list(_field_ref(p, ref, loc, allow_repeating=True))
    if problems:
        yield from problems
        return
    form_code = ref.split(".", 1)[0]
    if p.forms[form_code].log:
        return
    collected = p.visits_of(form_code)
    for visit in visits:
        if visit in p.visits and visit not in collected:
            yield (
                loc,
                (
                    f"{ref!r} is measured at visit {visit!r}, but form {form_code!r} is not "
                    f"collected there (collected at {', '.join(collected)})"
                ),
            )


def _analyses(p: Protocol) -> Iterator[Issue]:
    for code, analysis in p.analyses.items():
        yield from _analysis(p, analysis, ("analyses", code))
    analysed = {a.endpoint for a in p.analyses.values()}
    for code, endpoint in p.endpoints.items():
        if endpoint.kind == "primary" and code not in analysed:
            yield ("endpoints", code), f"primary endpoint {code!r} has no analysis in analyses"


def _analysis(p: Protocol, analysis: Analysis, loc: Loc) -> Iterator[Issue]:
    if analysis.endpoint not in p.endpoints:
        known = ", ".join(p.endpoints)
        yield (*loc, "endpoint"), f"unknown endpoint {analysis.endpoint!r} (endpoints: {known})"
    for name in ("visit", "baseline_visit"):
        value = getattr(analysis, name)
        if value and value not in p.visits:
            yield (*loc, name), f"unknown visit {value!r} (visits: {', '.join(p.visits)})"
    yield from _visit_refs(p, analysis.visits, (*loc, "visits"))
    at = [v for v in (analysis.visit,) if v] + list(analysis.visits)
    yield from _measured_at(p, analysis.outcome, at, (*loc, "outcome"))
    if analysis.baseline:
        base_at = [analysis.baseline_visit] if analysis.baseline_visit else []
        yield from _measured_at(p, analysis.baseline, base_at, (*loc, "baseline"))
    for index, covariate in enumerate(analysis.covariates):
        if covariate not in p.stratification:
            cloc = (*loc, "covariates", index)
            yield from _field_ref(p, covariate, cloc, allow_repeating=True)


def _sample_size(p: Protocol) -> Iterator[Issue]:
    ss = p.sample_size
    if ss.endpoint not in p.endpoints:
        yield (
            ("sample_size", "endpoint"),
            (f"unknown endpoint {ss.endpoint!r} (endpoints: {', '.join(p.endpoints)})"),
        )
    ratios = {a.ratio for a in p.arms.values()}
    total = ss.n_per_arm * len(p.arms)
    if len(ratios) == 1 and total != p.study.target_enrollment:
        yield (
            ("sample_size", "n_per_arm"),
            (
                f"n_per_arm {ss.n_per_arm} × {len(p.arms)} arms = {total}, but "
                f"study.target_enrollment is {p.study.target_enrollment}"
            ),
        )
    effect = ss.effect
    if effect.standardized is None and (effect.mean_difference is None or effect.sd is None):
        yield ("sample_size", "effect"), "give standardized, or both mean_difference and sd"


def _interim(p: Protocol) -> Iterator[Issue]:
    fractions = p.interim.information_fractions
    loc = ("interim", "information_fractions")
    for index, value in enumerate(fractions):
        if not 0 < value <= 1:
            yield (*loc, index), f"information fraction {value} must be in (0, 1]"
        elif index and value <= fractions[index - 1]:
            yield (*loc, index), "information fractions must increase strictly"
    if fractions and fractions[-1] != 1:
        yield (
            loc,
            f"the last information fraction must be 1 (the final analysis), not {fractions[-1]}",
        )
    interim = p.interim
    if len(fractions) > 1 and interim.efficacy_spending == "none" and not interim.futility_spending:
        yield (
            ("interim", "efficacy_spending"),
            ("an interim look needs an efficacy or a futility spending function"),
        )
    if p.interim.binding_futility and p.interim.futility_spending is None:
        yield ("interim", "binding_futility"), "binding_futility needs futility_spending"


def _safety_rules(p: Protocol) -> Iterator[Issue]:
    for code, rule in p.safety_rules.items():
        loc = ("safety_rules", code)
        if rule.arm is not None and rule.arm not in p.arms:
            yield (*loc, "arm"), f"unknown arm {rule.arm!r} (arms: {', '.join(p.arms)})"
        event = rule.event
        if event.form not in p.forms:
            yield (*loc, "event", "form"), f"unknown form {event.form!r}"
        else:
            eloc = (*loc, "event", "expression")
            yield from _compile(p, event.expression, event.form, eloc, {Kind.BOOLEAN}, "an event")
        if rule.type == "count_boundary":
            yield from _count_steps(rule, loc)


def _count_steps(rule, loc: Loc) -> Iterator[Issue]:
    steps = rule.boundary
    for index in range(1, len(steps)):
        if steps[index].n_max <= steps[index - 1].n_max:
            yield (*loc, "boundary", index, "n_max"), "n_max must increase from step to step"
        if steps[index].events < steps[index - 1].events:
            yield (*loc, "boundary", index, "events"), "the event boundary must not decrease"


def _unblinding(p: Protocol) -> Iterator[Issue]:
    policy, loc = p.unblinding, ("unblinding",)
    if policy.approval_required and not policy.approver_roles:
        yield (*loc, "approver_roles"), "approval_required needs at least one approver role"
    yield from _listed_twice(policy.approver_roles, (*loc, "approver_roles"), "role")
    yield from _listed_twice(policy.notify, (*loc, "notify"), "contact")
    given = [code for code in type(p.contacts).model_fields if getattr(p.contacts, code)]
    for index, code in enumerate(policy.notify):
        if code not in given:
            yield (
                (*loc, "notify", index),
                f"contact {code!r} is not given under contacts (given: {_join(list(given)) or 'none'})",
            )


#: adverse_events.fields: role → the field types it may have.
_AE_FIELD_TYPES = {
    "term": {FieldType.TEXT},
    "ctcae_term": {FieldType.TEXT},
    "grade": {FieldType.CHOICE},
    "serious": {FieldType.BOOLEAN},
    "seriousness": {FieldType.MULTICHOICE},
    "relatedness": {FieldType.CHOICE},
    "expected": {FieldType.BOOLEAN},
    "onset": {FieldType.DATETIME, FieldType.DATE},
    "awareness": {FieldType.DATETIME},
    "outcome": {FieldType.CHOICE},
}


def _adverse_events(p: Protocol) -> Iterator[Issue]:
    spec, loc = p.adverse_events, ("adverse_events",)
    if spec is None:
        return
    form = p.forms.get(spec.form)
    if form is None:
        yield (*loc, "form"), f"unknown form {spec.form!r} (forms: {', '.join(p.forms)})"
        return
    if not form.log:
        yield (*loc, "form"), f"form {spec.form!r} must be a log form (log: true)"
    for role, wanted in _AE_FIELD_TYPES.items():
        code = getattr(spec.fields, role)
        if code is None:
            continue
        floc = (*loc, "fields", role)
        field = form.fields.get(code)
        if field is None:
            known = ", ".join(form.fields)
            yield floc, f"form {spec.form!r} has no field {code!r} (fields: {known})"
        elif field.type not in wanted:
            types = _join(sorted(str(t) for t in wanted))
            yield floc, f"field {code!r} is {field.type}; {role} must be {types}"
    for key, role in (
        ("related", "relatedness"),
        ("life_threatening", "seriousness"),
        ("fatal_outcomes", "outcome"),
    ):
        codes = getattr(spec, key)
        field = form.fields.get(getattr(spec.fields, role) or "")
        if codes and (field is None or not field.codelist):
            yield (*loc, key), f"{key} needs fields.{role} with a codelist"
            continue
        if field is None or field.codelist not in p.codelists:
            continue
        allowed = list(p.codelists[field.codelist].items)
        for index, code in enumerate(codes):
            if code not in allowed:
                yield (
                    (*loc, key, index),
                    f"{code!r} is not in codelist {field.codelist!r} ({_join(allowed)})",
                )
    yield from _lab_grades(p, spec, form, loc)


def _lab_grades(p: Protocol, spec, form: Form, loc: Loc) -> Iterator[Issue]:
    grade_field = form.fields.get(spec.fields.grade)
    grades = (
        list(p.codelists[grade_field.codelist].items)
        if grade_field and grade_field.codelist in p.codelists
        else []
    )
    for index, lab in enumerate(spec.lab_grades):
        lloc = (*loc, "lab_grades", index)
        issues = list(_field_ref(p, lab.field, (*lloc, "field"), allow_repeating=True))
        yield from issues
        if not issues and p.field(lab.field).type not in NUMERIC_TYPES:
            yield (*lloc, "field"), f"{lab.field!r} is not a number field"
        for code in lab.thresholds:
            if grade_field is not None and grades and code not in grades:
                yield (
                    (*lloc, "thresholds", code),
                    f"{code!r} is not a grade of codelist {grade_field.codelist!r} ({_join(grades)})",
                )


# --------------------------------------------------------------------------- warnings
#: Code words of a field that names the study product or the arm (see ``product_field``).
_LOT_WORDS = frozenset({"lot", "lotno", "batch", "batchno", "allocation", "allocated"})
_PRODUCT_WORDS = frozenset({"arm", "product", "treatment"})
_QUALIFIER_WORDS = frozenset({"study", "assigned", "name", "code", "group", "type", "actual"})


def protocol_warnings(p: Protocol) -> list[Issue]:
    """Design risks that do not stop the protocol from loading (an empty list when none)."""
    return list(_blinded_form_fields(p))


def _blinded_form_fields(p: Protocol) -> Iterator[Issue]:
    # Every eCRF form is entered by site staff (coordinators, investigators), who are
    # blinded; the unblinded pharmacy record is not an eCRF. So every form is a blinded form.
    for form in p.forms.values():
        for field in form.fields.values():
            why = product_field(p, field)
            if why:
                yield (
                    ("forms", form.code, "fields", field.code),
                    f"form {form.code} is entered by blinded site staff and field {field.code} "
                    f"may identify the study product ({why}); ask for the blinded kit code "
                    "instead, or mark the field `unblinding: false` once reviewed",
                )


def product_field(p: Protocol, field: FormField) -> str:
    """Why ``field`` would tell a blinded person the product or arm ("" if it would not).

    The rule: ``unblinding: true`` always warns and ``unblinding: false`` never does (a
    reviewed field, e.g. the lot of a laboratory reagent); otherwise the field warns when its
    code, split at ``_``, holds ``lot``, ``batch``, ``lotno``, ``batchno``, ``allocation`` or
    ``allocated``; or is made only of ``arm``/``product``/``treatment`` and the qualifiers
    ``study``, ``assigned``, ``name``, ``code``, ``group``, ``type``, ``actual`` with at least
    one of the first three (``product_name``, ``assigned_arm``; not ``arm_side`` or
    ``treatment_emergent``); or when it is coded from a codelist that mirrors the arms.
    """
    if field.unblinding is not None:
        return "marked `unblinding: true`" if field.unblinding else ""
    words = set(field.code.lower().split("_"))
    if words & _LOT_WORDS:
        return f"its name holds {', '.join(sorted(words & _LOT_WORDS))}"
    if words & _PRODUCT_WORDS and words <= _PRODUCT_WORDS | _QUALIFIER_WORDS:
        return "its name names the product or the arm"
    codelist = p.codelists.get(field.codelist or "")
    if codelist is not None and codelist.mirrors == "arms":
        return f"its codelist {codelist.code} lists the arms"
    return ""


def _listed_twice(values: Sequence[str], loc: Loc, what: str) -> Iterator[Issue]:
    for index, value in enumerate(values):
        if value in values[:index]:
            yield (*loc, index), f"{what} {value!r} is listed twice"
