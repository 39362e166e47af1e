"""Frozen pydantic models of a study protocol.

Collections keyed by code in the YAML (``forms``, ``fields``, ``visits``, ``arms`` …) are
``dict[str, Model]`` here, in file order; each child carries its key as ``code``.
Structural rules (types, ranges, unknown keys) live here; cross-references and everything
that needs the whole protocol live in :mod:`trialdesk.core.protocol.checks`.
"""

from __future__ import annotations

import enum
import typing
import zoneinfo
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_+\-.]*$", max_length=40)]
Probability = Annotated[float, Field(gt=0, lt=1)]
Days = Annotated[int, Field(ge=0)]


class Model(BaseModel):
    """Base: frozen, unknown keys refused, children of keyed mappings get ``code`` = key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _inject_codes(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for name, info in cls.model_fields.items():
            child = _keyed_child(info.annotation)
            value = out.get(name)
            if child is not None and isinstance(value, Mapping):
                out[name] = {k: _with_code(v, k) for k, v in value.items()}
        return out


class Keyed(Model):
    """A model that lives under a code key in a YAML mapping."""

    code: str


def _keyed_child(annotation: Any) -> type[Keyed] | None:
    if typing.get_origin(annotation) is not dict:
        return None
    value_type = typing.get_args(annotation)[1]
    if isinstance(value_type, type) and issubclass(value_type, Keyed):
        return value_type
    if typing.get_origin(value_type) is Annotated:  # discriminated unions of Keyed models
        return Keyed
    return None


def _with_code(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping) and "code" not in value:
        return {"code": key, **value}
    return value


class Text(Model):
    """A label in English and Bahasa Indonesia."""

    en: str = Field(min_length=1)
    id: str = Field(min_length=1)

    def __str__(self) -> str:
        return self.en


# --------------------------------------------------------------------------- study
class Population(Model):
    """Who may take part, as listed by the registry."""

    sex: Literal["female", "male", "all"]
    min_age: int = Field(ge=0, le=120)
    max_age: int = Field(ge=0, le=120)


class Study(Model):
    """Study identity."""

    #: A registry number (NCT########) or, for a study not (yet) registered, a local code of
    #: capitals, digits and hyphens; it names the study in URLs, exports and the audit trail.
    id: str = Field(pattern=r"^(NCT\d{8}|[A-Z][A-Z0-9-]{2,31})$")
    title: str
    short_title: str
    sponsor: str
    phase: Literal["1", "1/2", "2", "2/3", "3", "4"]
    protocol_version: str
    registration_date: date
    start_date: date | None = None
    completion_date: date | None = None
    conditions: tuple[str, ...] = ()
    target_enrollment: int = Field(gt=0)
    masking: Literal["none", "single", "double", "triple", "quadruple"]
    population: Population
    registry_url: str | None = None
    #: Whether the public portal lists the study as open to new participants.
    recruitment: Literal["not_yet_recruiting", "recruiting", "closed"] = "recruiting"


class Site(Keyed):
    """A study centre."""

    code: str = Field(pattern=r"^\d{2}$")
    name: str
    institution: str
    city: str
    country: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    active: bool = True
    #: IANA time zone of the site's clocks (``Asia/Makassar``); None: the deployment's
    #: (setting ``TIME_ZONE``, env ``TRIALDESK_TIME_ZONE``).
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not is_time_zone(value):
            raise ValueError(
                f"site {info.data.get('code', '?')}: time zone {value!r} is not an IANA time "
                "zone name (for example Asia/Jakarta, Asia/Makassar, Asia/Jayapura, UTC)"
            )
        return value


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is a time zone in the IANA database (zoneinfo, or tzdata)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Route(Keyed):
    """A route of administration."""

    code: Code
    label: Text


class Arm(Keyed):
    """A treatment arm."""

    code: Code
    name: Text
    description: Text
    type: Literal["experimental", "placebo_comparator", "active_comparator", "no_intervention"]
    ratio: int = Field(ge=1, le=20)
    routes: tuple[str, ...] = ()


class AllocationMethod(enum.StrEnum):
    PERMUTED_BLOCK = "permuted_block"
    SIMPLE = "simple"
    MINIMIZATION = "minimization"


class Allocation(Model):
    """How participants are allocated to arms."""

    method: AllocationMethod
    block_sizes: tuple[int, ...] = ()
    strata: tuple[str, ...] = ()
    minimization_probability: Probability | None = None
    stratify_by_site: bool = False
    note: str | None = None


class StratumLevel(Keyed):
    """One level of a stratification factor and the field values that map to it."""

    code: Code
    label: Text
    values: tuple[str | bool, ...] = Field(min_length=1)


class StratificationFactor(Keyed):
    """A stratification factor read from a field."""

    code: Identifier
    label: Text
    source: str  # "form.field"
    levels: dict[str, StratumLevel]


# --------------------------------------------------------------------------- schedule
class Visit(Keyed):
    """A visit of the schedule; ``day`` counts from day 0 = dosing."""

    code: Code
    label: Text
    day: int | None = None
    window_before: Days = 0
    window_after: Days = 0
    scheduled: bool = True
    randomization: bool = False
    dosing: bool = False
    forms: tuple[str, ...] = ()

    @property
    def earliest_day(self) -> int | None:
        """First day of the window (``None`` for unscheduled visits)."""
        return None if self.day is None else self.day - self.window_before

    @property
    def latest_day(self) -> int | None:
        """Last day of the window (``None`` for unscheduled visits)."""
        return None if self.day is None else self.day + self.window_after

    def window_label(self) -> str:
        """``"day 7 (6 to 8)"`` or ``"unscheduled"``."""
        if self.day is None:
            return "unscheduled"
        if not (self.window_before or self.window_after):
            return f"day {self.day}"
        return f"day {self.day} ({self.earliest_day} to {self.latest_day})"


class ConsentVersion(Keyed):
    """An ethics-approved version of the informed consent form."""

    code: Code
    label: str
    valid_from: date
    valid_to: date | None = None
    approved_by: str | None = None


# --------------------------------------------------------------------------- data dictionary
class CodelistItem(Keyed):
    """One answer of a codelist."""

    code: Code
    label: Text


class Codelist(Keyed):
    """A list of coded answers.

    ``mirrors`` names a protocol section whose codes the items must equal, in order (the
    consent version or route a site picks on a form stays in step with the study design).
    """

    code: Identifier
    label: Text | None = None
    ordered: bool = False
    mirrors: Literal["routes", "arms", "sites", "consent_versions"] | None = None
    items: dict[str, CodelistItem] = Field(min_length=1)


#: The role codes of trialdesk's accounts (core cannot import Django; a test keeps them equal).
RoleCode = Literal[
    "coordinator",
    "investigator",
    "monitor",
    "data_manager",
    "pharmacist",
    "statistician",
    "unblinded_statistician",
    "dsmb",
    "safety_physician",
    "admin",
]


class FieldType(enum.StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"


NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL})
CODED_TYPES = frozenset({FieldType.CHOICE, FieldType.MULTICHOICE})
#: The answer "None of these" of a multichoice field, as the page posts it. No code can be
#: spelled so (a code begins with a letter or digit). It is stored as the empty set (``[]``),
#: distinct from "not answered" (no value), satisfies ``required`` and stands alone.
NONE_OF_THESE = "_none"


class FormField(Keyed):
    """One field (item) of a form.

    Limits are in the canonical ``unit``. ``derived`` fields are computed from their
    expression and never entered; ``entry: system`` fields are filled by software from other
    records (e.g. the baseline calibrator of a qPCR run). ``source`` names the action record a
    system field is filled from (``consent.consented_at``, ``dosing.route``; the list is
    ``core.protocol.sources.RECORD_SOURCES``): the fact is recorded once, by its action, and
    the item shows it read-only; ``source`` implies ``entry: system``. ``entered_by`` names the
    one role that may set or change the value (e.g. ``investigator`` for an investigator's
    confirmation); unset, any data-entry role may.
    """

    code: Identifier
    type: FieldType
    label: Text
    help: Text | None = None
    unit: str | None = None
    alt_units: tuple[str, ...] = ()
    analyte: str | None = None
    hard_min: float | None = None
    soft_min: float | None = None
    soft_max: float | None = None
    hard_max: float | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)
    max_length: int | None = Field(default=None, gt=0, le=10000)
    codelist: str | None = None
    required: bool = False
    required_if: str | None = None
    show_if: str | None = None
    derived: str | None = None
    entry: Literal["site", "system"] = "site"
    source: str | None = None
    #: ``VISIT.field``: the value of ``field`` on this same form at ``VISIT`` (e.g. ``D0.dct``,
    #: the pre-dose ΔCt a later sample is calibrated to). Implies ``entry: system``; kept up to
    #: date whenever either form is saved.
    copy_of: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_+\-.]*\.[a-z][a-z0-9_]*$"
    )
    entered_by: RoleCode | None = None
    identifier: bool = False
    #: Whether the value tells the study product or arm (a lot, batch, product name):
    #: true always warns on a blinded form, false marks a reviewed field that does not,
    #: unset lets ``trialdesk protocol check`` judge by name (``checks.product_field``).
    unblinding: bool | None = None
    sdtm: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _source_is_system_entry(cls, data: Any) -> Any:
        filled = isinstance(data, Mapping) and (
            data.get("source") is not None or data.get("copy_of") is not None
        )
        if filled and "entry" not in data:
            return {**data, "entry": "system"}
        return data

    @model_validator(mode="after")
    def _source_is_known(self) -> FormField:
        if self.source is None:
            return self
        from trialdesk.core.protocol.sources import RECORD_SOURCES

        allowed = RECORD_SOURCES.get(self.source)
        if allowed is None:
            raise ValueError(
                f"source {self.source!r} is not a record attribute; allowed: "
                + ", ".join(RECORD_SOURCES)
            )
        if self.type.value not in allowed:
            raise ValueError(
                f"source {self.source!r} fills {' or '.join(allowed)} fields, not {self.type.value}"
            )
        if self.entry != "system" or self.derived or self.entered_by:
            raise ValueError(
                f"source {self.source!r}: an item filled from a record is not entered or "
                "derived (remove entry: site, derived and entered_by)"
            )
        return self

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def units(self) -> tuple[str, ...]:
        """Canonical unit first, then the alternatives."""
        return ((self.unit,) if self.unit else ()) + self.alt_units


class EditCheck(Keyed):
    """A cross-field rule; it *fires* when ``expression`` evaluates to false.

    Severity ``hard`` blocks the save (a contradiction), ``query`` opens a data query,
    ``alert`` notifies the investigator (the value is valid but clinically actionable).
    An unknown result (missing data) never fires.
    """

    code: Identifier
    expression: str
    message: Text
    severity: Literal["hard", "query", "alert"]


class Form(Keyed):
    """An eCRF form."""

    code: Identifier
    label: Text
    description: Text | None = None
    repeating: bool = False
    log: bool = False
    #: The field whose date is the date of the visit the form is entered at (it records the
    #: visit's date when none is recorded yet, and is checked against the visit's window).
    #: Unset: a field named ``visit_date``, if the form has one. Never for log forms.
    visit_date_field: Identifier | None = None
    fields: dict[str, FormField] = Field(min_length=1)
    checks: dict[str, EditCheck] = {}

    @model_validator(mode="after")
    def _visit_date_field_is_a_date(self) -> Form:
        code = self.visit_date_field
        if code is None:
            return self
        if self.log:
            raise ValueError("visit_date_field: a log form is not entered at one visit")
        if code not in self.fields:
            raise ValueError(f"visit_date_field {code!r}: the form has no such field")
        if str(self.fields[code].type) not in ("date", "datetime"):
            raise ValueError(f"visit_date_field {code!r}: allowed are date and datetime fields")
        return self

    def visit_date_code(self) -> str | None:
        """The code of the field that dates the visit (see ``visit_date_field``), or None."""
        if self.log:
            return None
        code = self.visit_date_field or ("visit_date" if "visit_date" in self.fields else None)
        if code is None or code not in self.fields:
            return None
        return code if str(self.fields[code].type) in ("date", "datetime") else None


# --------------------------------------------------------------------------- eligibility, endpoints
class Criterion(Keyed):
    """An inclusion or exclusion criterion.

    For inclusion the expression is true when the criterion is met; for exclusion it is true
    when the excluding condition is present.
    """

    code: Code
    kind: Literal["inclusion", "exclusion"]
    label: Text
    expression: str
    registry_text: str | None = None


class Endpoint(Keyed):
    """A primary, secondary, exploratory or safety endpoint."""

    code: Identifier
    kind: Literal["primary", "secondary", "exploratory", "safety"]
    measure: str
    description: str
    time_frame: str
    field: str | None = None
    visits: tuple[str, ...] = ()


class QpcrSource(Model):
    """Where an analysis's raw RT-qPCR Ct values are ("form.field" each): the runner recomputes
    the outcome from them (``core.analysis.qpcr``), flags censored Ct (above the detection
    limit) and hemolysed samples, and runs the analysis again without them."""

    target: str
    normalisers: tuple[str, ...] = Field(min_length=1)
    hemolysis: tuple[str, str] | None = None  # (miR-23a-3p Ct, miR-451a Ct)


class Analysis(Keyed):
    """A pre-specified analysis of an endpoint."""

    code: Identifier
    endpoint: str
    method: Literal[
        "ancova",
        "mmrm",
        "t_test",
        "mann_whitney",
        "fisher_exact",
        "chi_square",
        "roc",
        "logistic",
        "proportional_odds",
        "descriptive",
    ]
    outcome: str  # "form.field" (for roc: the marker)
    baseline: str | None = None  # "form.field" at the baseline visit
    baseline_visit: str | None = None
    visit: str | None = None
    visits: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    population: Literal["itt", "mitt", "per_protocol", "safety"]
    missing_data: str | None = None
    #: roc: the reference standard, a yes/no "form.field", read at ``reference_visit``
    reference: str | None = None
    reference_visit: str | None = None
    #: the raw Ct values the outcome derives from (qPCR endpoints)
    qpcr: QpcrSource | None = None
    description: str


class Effect(Model):
    """The planned effect the sample size is based on."""

    standardized: float | None = Field(default=None, gt=0)
    mean_difference: float | None = None
    sd: float | None = Field(default=None, gt=0)
    note: str | None = None


class SampleSize(Model):
    """Inputs of the sample-size calculation."""

    test: Literal["t", "z", "wilcoxon", "chi_square", "fisher"]
    alpha: Probability
    sides: Literal[1, 2]
    power: Probability
    dropout: float = Field(ge=0, lt=1)
    n_per_arm: int = Field(gt=0)
    effect: Effect
    endpoint: str
    note: str | None = None


class InterimDesign(Model):
    """Group-sequential design (rpact names for spending functions)."""

    information_fractions: tuple[float, ...] = Field(min_length=1)
    efficacy_spending: Literal["asOF", "asP", "asKD", "asHSD", "OF", "P", "HP", "none"]
    futility_spending: Literal["bsOF", "bsP", "bsKD", "bsHSD"] | None = None
    binding_futility: bool = False
    monitoring_body: str
    note: str | None = None


class SafetyEvent(Model):
    """Which records count as events for a stopping rule: an expression on a (log) form."""

    form: str
    expression: str
    label: str


class BetaBinomialRule(Keyed):
    """Pause when P(event rate > threshold | data) > posterior_probability.

    The prior is Beta(a, b) with mean ``prior_mean`` and ``prior_n`` pseudo-observations
    (a = prior_mean × prior_n, b = prior_n − a).
    """

    code: Identifier
    type: Literal["beta_binomial"]
    label: str
    event: SafetyEvent
    arm: str | None = None
    prior_mean: Probability
    prior_n: float = Field(gt=0)
    threshold: Probability
    posterior_probability: Probability
    min_n: int = Field(default=1, ge=1)
    action: Literal["pause_enrolment", "dsmb_review", "stop"]

    @property
    def prior_a(self) -> float:
        return self.prior_mean * self.prior_n

    @property
    def prior_b(self) -> float:
        return self.prior_n - self.prior_a


class CountStep(Model):
    """Up to ``n_max`` treated participants, stop at ``events`` or more events."""

    n_max: int = Field(ge=1)
    events: int = Field(ge=1)


class CountBoundaryRule(Keyed):
    """Stop when the event count reaches a boundary that depends on the number treated."""

    code: Identifier
    type: Literal["count_boundary"]
    label: str
    event: SafetyEvent
    arm: str | None = None
    boundary: tuple[CountStep, ...] = Field(min_length=1)
    action: Literal["pause_enrolment", "dsmb_review", "stop"]
    note: str | None = None


SafetyRule = Annotated[BetaBinomialRule | CountBoundaryRule, Field(discriminator="type")]


# --------------------------------------------------------------------------- unblinding, contacts
ContactCode = Literal["sponsor", "dsmb"]


class UnblindingPolicy(Model):
    """Emergency unblinding: whether an investigator's request needs a second person's approval,
    who may give it (role codes; site roles count at the participant's site), and which
    ``contacts`` are told (never the arm) besides the study's DSMB members and administrators.

    The defaults are the behaviour without the section: no approval, no extra contact.
    """

    approval_required: bool = False
    approver_roles: tuple[RoleCode, ...] = ("investigator",)
    notify: tuple[ContactCode, ...] = ()
    note: str | None = None


class DatabaseLockPolicy(Model):
    """What the database lock does with queries that are not closed.

    ``open_queries``: ``refuse`` the lock while any query is open or answered (the strict
    default: locked data are final), or ``list`` them in the lock's audit event and the
    snapshot's record and lock anyway (a protocol that accepts unresolved queries at lock).
    Forms still in progress always refuse the lock: a lock freezes complete data only.
    """

    open_queries: Literal["refuse", "list"] = "refuse"
    note: str | None = None


class SigningPolicy(Model):
    """What stands between a complete form and the investigator's signature.

    ``open_queries``: a query on the form that is not closed (open or answered) either
    ``block``s the signature or only ``warn``s (the warning is shown before the password is
    asked and kept in the signature's audit event). ``source_verification``: ``require`` a
    monitor's source verification before signing, or only ``warn`` when it is missing.

    The defaults are the strict choice (a protocol relaxes them explicitly): an investigator
    attests that the data are accurate, which an unresolved query says they may not be.
    """

    open_queries: Literal["block", "warn"] = "block"
    source_verification: Literal["require", "warn"] = "warn"
    note: str | None = None


class Contact(Model):
    """A person or office outside the system who is told about study events by e-mail."""

    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    note: str | None = None


class Contacts(Model):
    """The study's outside contacts, by function."""

    sponsor: Contact | None = None
    dsmb: Contact | None = None


class AdverseEventFields(Model):
    """Which fields of the AE log form carry what the safety app reads (codes of that form)."""

    term: Identifier
    ctcae_term: Identifier | None = None
    grade: Identifier
    serious: Identifier
    seriousness: Identifier | None = None
    relatedness: Identifier
    expected: Identifier | None = None
    onset: Identifier
    awareness: Identifier | None = None
    outcome: Identifier | None = None


class ReportingClocks(Model):
    """Expedited reporting: the SAE initial report within ``sae_initial_hours`` of the site's
    awareness; a SUSAR within ``susar_fatal_days`` if fatal or life-threatening, else
    ``susar_other_days``. The reminder goes once at ``reminder_fraction`` of the interval."""

    sae_initial_hours: int = Field(default=24, gt=0)
    susar_fatal_days: int = Field(default=7, gt=0)
    susar_other_days: int = Field(default=15, gt=0)
    reminder_fraction: Probability = 0.75


class LabGrade(Model):
    """A measured value that reaches a CTCAE grade: the safety app prompts the investigator to
    record an AE (or dismiss the prompt with a reason). ``thresholds``: grade code of the AE
    form's grade codelist → the limit in the field's canonical unit; ``below`` means value <
    limit, ``at_or_above`` value ≥ limit (the highest grade reached wins)."""

    field: str  # "form.field", a numeric field
    ctcae_term: str = Field(min_length=1)
    direction: Literal["below", "at_or_above"]
    thresholds: dict[Code, float] = Field(min_length=1)


class AdverseEventsSpec(Model):
    """The protocol's ``adverse_events:`` section: the AE eCRF log form is the AE record."""

    form: Identifier
    fields: AdverseEventFields
    #: Relatedness codes that count as related (SUSAR, stopping rules).
    related: tuple[Code, ...] = Field(min_length=1)
    #: Seriousness codes that make a SUSAR fatal or life-threatening (the 7-day clock).
    life_threatening: tuple[Code, ...] = ()
    #: Outcome codes that mean death (also the 7-day clock).
    fatal_outcomes: tuple[Code, ...] = ()
    clocks: ReportingClocks = ReportingClocks()
    lab_grades: tuple[LabGrade, ...] = ()
    #: How the CIOMS form names the suspect product: blinded, never an arm or a lot.
    suspect_product: str = Field(default="study product or placebo, blinded", min_length=1)
    note: str | None = None


# --------------------------------------------------------------------------- public portal
#: The lay sections of a study's public page, in the order the page shows them.
PUBLIC_SECTIONS = (
    "summary",
    "what_happens",
    "what_participants_do",
    "who_can_join",
    "benefits",
    "risks",
    "duration",
    "compensation",
)


class FaqItem(Model):
    """A question and its answer, in plain words and both languages."""

    question: Text
    answer: Text


class SelfCheckQuestion(Keyed):
    """One question of the public pre-screening self-check.

    The answer fills the ``fills`` fields (``form.field``: a yes/no answer fills boolean
    fields, a number fills numeric ones) and the protocol's own expressions of ``criteria``
    are evaluated on them; several fields take the same answer (one question about smoking,
    vaping, alcohol and drugs). ``min``/``max`` bound a number answer.
    """

    code: Identifier
    question: Text
    help: Text | None = None
    answer: Literal["yes_no", "number"]
    fills: tuple[str, ...] = Field(min_length=1)
    criteria: tuple[str, ...] = Field(min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> SelfCheckQuestion:
        if self.answer == "yes_no" and (self.min is not None or self.max is not None):
            raise ValueError(f"{self.code}: min and max are for number answers only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.code}: min {self.min} is above max {self.max}")
        return self


class PublicTexts(Model):
    """What the public portal shows about the study: plain-language texts in English and
    Bahasa Indonesia (paragraphs separated by a blank line), the FAQ, and the self-check."""

    summary: Text
    what_happens: Text
    what_participants_do: Text
    who_can_join: Text
    benefits: Text
    risks: Text
    duration: Text
    compensation: Text
    faq: tuple[FaqItem, ...] = ()
    self_check: dict[str, SelfCheckQuestion] = {}
