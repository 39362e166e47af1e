"""The :class:`Protocol` root model and its accessors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from pydantic import PrivateAttr

from trialdesk.core.protocol.models import (
    AdverseEventsSpec,
    Allocation,
    Analysis,
    Arm,
    Codelist,
    ConsentVersion,
    Contacts,
    Criterion,
    DatabaseLockPolicy,
    Endpoint,
    FieldType,
    Form,
    FormField,
    InterimDesign,
    Model,
    PublicTexts,
    Route,
    SafetyRule,
    SampleSize,
    SigningPolicy,
    Site,
    StratificationFactor,
    Study,
    UnblindingPolicy,
    Visit,
)
from trialdesk.core.rules import (
    BOOLEAN,
    DATE,
    DATETIME,
    NUMBER,
    TEXT,
    TIME,
    UNKNOWN,
    Expression,
    ExprType,
    Kind,
    NameInfo,
    Schema,
    Truth,
    compile_expression,
    kleene_and,
)

_T = TypeVar("_T")
_MAX_CACHED_EXPRESSIONS = 5000

_SCALAR_TYPES = {
    FieldType.INTEGER: NUMBER,
    FieldType.DECIMAL: NUMBER,
    FieldType.TEXT: TEXT,
    FieldType.DATE: DATE,
    FieldType.DATETIME: DATETIME,
    FieldType.TIME: TIME,
    FieldType.BOOLEAN: BOOLEAN,
}


@dataclass(frozen=True)
class CriterionResult:
    """One criterion evaluated: ``truth`` is the expression's value; ``passes`` whether it
    lets the participant in (inclusion true, exclusion false) as a :class:`Truth`."""

    code: str
    kind: str
    truth: Truth
    passes: Truth


@dataclass(frozen=True)
class EligibilityResult:
    """All criteria evaluated; ``eligible`` is TRUE, FALSE or UNKNOWN (missing data)."""

    eligible: Truth
    criteria: tuple[CriterionResult, ...]

    def failing(self) -> list[str]:
        """Codes of criteria that exclude the participant."""
        return [c.code for c in self.criteria if c.passes is Truth.FALSE]

    def undetermined(self) -> list[str]:
        """Codes of criteria that cannot be decided yet (missing data)."""
        return [c.code for c in self.criteria if c.passes is Truth.UNKNOWN]


class Protocol(Model):
    """The whole study, loaded from one YAML file (see :func:`load_protocol`)."""

    study: Study
    sites: dict[str, Site]
    routes: dict[str, Route]
    arms: dict[str, Arm]
    allocation: Allocation
    stratification: dict[str, StratificationFactor] = {}
    visits: dict[str, Visit]
    consent_versions: dict[str, ConsentVersion]
    codelists: dict[str, Codelist] = {}
    forms: dict[str, Form]
    eligibility: dict[str, Criterion]
    endpoints: dict[str, Endpoint]
    analyses: dict[str, Analysis] = {}
    sample_size: SampleSize
    interim: InterimDesign
    safety_rules: dict[str, SafetyRule] = {}
    unblinding: UnblindingPolicy = UnblindingPolicy()
    signing: SigningPolicy = SigningPolicy()
    database_lock: DatabaseLockPolicy = DatabaseLockPolicy()
    contacts: Contacts = Contacts()
    adverse_events: AdverseEventsSpec | None = None
    public: PublicTexts | None = None

    _compiled: dict[tuple[str | None, str], Expression] = PrivateAttr(default_factory=dict)
    _schema: Schema | None = PrivateAttr(default=None)

    # -- lookups -------------------------------------------------------------------------
    def form(self, code: str) -> Form:
        """The form ``code`` (KeyError naming the known forms)."""
        return _get(self.forms, code, "form")

    def field(self, ref: str) -> FormField:
        """The field ``"form.field"``."""
        form_code, _, field_code = ref.partition(".")
        return _get(self.form(form_code).fields, field_code, f"field of form {form_code!r}")

    def visit(self, code: str) -> Visit:
        """The visit ``code``."""
        return _get(self.visits, code, "visit")

    def arm(self, code: str) -> Arm:
        """The arm ``code``."""
        return _get(self.arms, code, "arm")

    def codelist(self, code: str) -> Codelist:
        """The codelist ``code``."""
        return _get(self.codelists, code, "codelist")

    def schedule_of_activities(self) -> dict[str, tuple[str, ...]]:
        """Visit code → form codes collected at that visit, in schedule order."""
        return {code: visit.forms for code, visit in self.visits.items()}

    def visits_of(self, form_code: str) -> list[str]:
        """Codes of the visits at which ``form_code`` is collected."""
        return [code for code, visit in self.visits.items() if form_code in visit.forms]

    def log_forms(self) -> list[str]:
        """Forms filled whenever something happens (adverse events, medication)."""
        return [code for code, form in self.forms.items() if form.log]

    def randomization_visit(self) -> Visit:
        """The visit at which participants are randomized."""
        return next(v for v in self.visits.values() if v.randomization)

    def consent_version_on(self, day: date) -> ConsentVersion | None:
        """The consent version valid on ``day``, if any."""
        for version in self.consent_versions.values():
            if version.valid_from <= day and (version.valid_to is None or day <= version.valid_to):
                return version
        return None

    # -- expressions ---------------------------------------------------------------------
    def rule_schema(self) -> Schema:
        """The rule-language schema: every field as ``form.field`` with its type."""
        if self._schema is None:
            names = {}
            for form in self.forms.values():
                why = self._repeats(form)
                for fld in form.fields.values():
                    info = NameInfo(self._expr_type(fld), bool(why), why or "")
                    names[f"{form.code}.{fld.code}"] = info
            self._schema = Schema(names)
        return self._schema

    def _repeats(self, form: Form) -> str | None:
        """Why ``form`` has several records per participant, or ``None`` if it has one."""
        if form.log:
            return "log form"
        if form.repeating:
            return "repeating form"
        visits = self.visits_of(form.code)
        if len(visits) > 1 or any(not self.visits[v].scheduled for v in visits):
            return f"collected at visits {', '.join(visits)}"
        return None

    def collected_once(self, form_code: str) -> bool:
        """Whether ``form_code`` has one record per participant (so ``form.field`` is one
        value that other forms, eligibility and stratification may read)."""
        return self._repeats(self.form(form_code)) is None

    def _expr_type(self, fld: FormField) -> ExprType:
        if fld.type in _SCALAR_TYPES:
            return _SCALAR_TYPES[fld.type]
        codelist = self.codelists.get(fld.codelist or "")
        codes = frozenset(codelist.items) if codelist else None
        order = tuple(codelist.items) if codelist and codelist.ordered else None
        kind = Kind.CODE if fld.type is FieldType.CHOICE else Kind.CODESET
        return ExprType(kind, codes, fld.codelist, order=order)

    def compile(self, text: str, *, context: str | None = None) -> Expression:
        """Compile ``text`` against this protocol.

        The protocol's own expressions are compiled once at load and cached; ad-hoc ones are
        cached too, up to a bound, so a long-running process cannot grow without limit.
        """
        key = (context, text)
        cached = self._compiled.get(key)
        if cached is not None:
            return cached
        expression = compile_expression(text, context=context, schema=self.rule_schema())
        if len(self._compiled) < _MAX_CACHED_EXPRESSIONS:
            self._compiled[key] = expression
        return expression

    def criterion_expression(self, code: str) -> Expression:
        """The compiled expression of eligibility criterion ``code``."""
        return self.compile(_get(self.eligibility, code, "criterion").expression)

    def evaluate_eligibility(self, values: Mapping[str, object]) -> EligibilityResult:
        """Evaluate every criterion on ``values`` (keyed ``"form.field"``)."""
        results = []
        for criterion in self.eligibility.values():
            truth = self.compile(criterion.expression).truth(values)
            results.append(
                CriterionResult(criterion.code, criterion.kind, truth, _passes(criterion, truth))
            )
        overall = kleene_and([_as_bool(r.passes) for r in results])
        return EligibilityResult(Truth.of(overall), tuple(results))

    def stratum(self, values: Mapping[str, object]) -> dict[str, str | None]:
        """The level of each allocation stratification factor for a participant.

        Parameters
        ----------
        values : Mapping[str, object]
            Field values keyed ``"form.field"`` (derived sources such as ``demog.pe_severe``
            must be included, e.g. from :meth:`derive`).

        Returns
        -------
        dict[str, str | None]
            Factor code → level code, in ``allocation.strata`` order; ``None`` where the
            source value is missing (the participant cannot be randomized yet).
        """
        out: dict[str, str | None] = {}
        for code in self.allocation.strata:
            factor = self.stratification[code]
            value = values.get(factor.source)
            out[code] = next(
                (
                    lv.code
                    for lv in factor.levels.values()
                    if value is not None and value in lv.values
                ),
                None,
            )
        return out

    def derive(self, form_code: str, values: Mapping[str, object]) -> dict[str, object]:
        """Compute the derived fields of ``form_code`` (in dependency order).

        ``values`` holds the entered values (keyed ``"form.field"`` or, for this form, by bare
        name). Returns bare field name → derived value (or ``UNKNOWN``).
        """
        known = dict(values)
        out: dict[str, object] = {}
        for fld in derivation_order(self, form_code):
            value = self.compile(fld.derived or "", context=form_code).evaluate(known)
            out[fld.code] = known[f"{form_code}.{fld.code}"] = value
        return out


def derivation_order(protocol: Protocol, form_code: str) -> list[FormField]:
    """Derived fields of a form, each after the derived fields it reads."""
    form = protocol.form(form_code)
    pending = {f.code: f for f in form.fields.values() if f.derived}
    ordered: list[FormField] = []
    while pending:
        ready = [
            f
            for f in pending.values()
            if not any(
                n.startswith(f"{form_code}.") and n.split(".", 1)[1] in pending
                for n in protocol.compile(f.derived or "", context=form_code).names
            )
        ]
        if not ready:
            raise ValueError(
                f"derived fields of {form_code!r} depend on each other: {sorted(pending)}"
            )
        for f in ready:
            ordered.append(pending.pop(f.code))
    return ordered


def _passes(criterion: Criterion, truth: Truth) -> Truth:
    if criterion.kind == "inclusion" or truth is Truth.UNKNOWN:
        return truth
    return Truth.FALSE if truth is Truth.TRUE else Truth.TRUE


def _as_bool(truth: Truth) -> object:
    return {Truth.TRUE: True, Truth.FALSE: False}.get(truth, UNKNOWN)


def _get(mapping: Mapping[str, _T], code: str, what: str) -> _T:
    try:
        return mapping[code]
    except KeyError:
        known = ", ".join(mapping) or "none"
        raise KeyError(f"unknown {what} {code!r} (known: {known})") from None
