"""The study protocol as typed, frozen data.

A protocol is one YAML file (``protocols/nct07183384.yaml``) loaded into a
:class:`Protocol`: study identity, sites, routes, arms, allocation and stratification,
the visit schedule with windows, consent versions, codelists, forms and fields (units,
limits, branching, derivations, edit checks), eligibility criteria, endpoints, analyses,
sample-size inputs, the interim design, safety stopping rules, the emergency-unblinding
policy and the outside contacts (sponsor, DSMB).

Loading validates everything and raises :class:`ProtocolError` listing every problem with
its YAML path and line: unknown keys (never ignored), unknown fields in expressions and
expression type errors, unknown units or impossible conversions, overlapping visit
windows, duplicate codes, limits out of order, references to unknown visits, forms,
codelists, arms or stratification factors, inconsistent allocation.

Public API
----------
load_protocol(path) -> Protocol; load_protocol_text(text, *, source) -> Protocol
ProtocolError (``.problems``: list of Problem(path, line, message))
Protocol
    ``.study``, ``.sites``, ``.routes``, ``.arms``, ``.allocation``, ``.stratification``,
    ``.visits``, ``.consent_versions``, ``.codelists``, ``.forms``, ``.eligibility``,
    ``.endpoints``, ``.analyses``, ``.sample_size``, ``.interim``, ``.safety_rules``,
    ``.unblinding``, ``.signing``, ``.contacts``
    (collections are dicts keyed by code, in file order). Accessors: ``form(code)``,
    ``field("form.field")``, ``visit(code)``, ``arm(code)``, ``codelist(code)``,
    ``schedule_of_activities()`` (visit → forms), ``visits_of(form)``, ``log_forms()``,
    ``randomization_visit()``, ``consent_version_on(date)``, ``rule_schema()``,
    ``compile(text, context=form)``, ``evaluate_eligibility(values) -> EligibilityResult``,
    ``derive(form, values) -> dict``.
Model classes: Study, Site, Route, Arm, Allocation, StratificationFactor, StratumLevel,
Visit, ConsentVersion, Codelist, CodelistItem, Form, FormField, FieldType, EditCheck,
Criterion, Endpoint, Analysis, SampleSize, Effect, InterimDesign, BetaBinomialRule,
CountBoundaryRule, CountStep, SafetyEvent, UnblindingPolicy, SigningPolicy, Contacts, Contact,
RoleCode, Text (``.en``, ``.id``).
"""

from __future__ import annotations

from trialdesk.core.protocol.errors import Problem, ProtocolError
from trialdesk.core.protocol.loader import load_protocol, load_protocol_text
from trialdesk.core.protocol.models import (
    Allocation,
    AllocationMethod,
    Analysis,
    Arm,
    BetaBinomialRule,
    Codelist,
    CodelistItem,
    ConsentVersion,
    Contact,
    Contacts,
    CountBoundaryRule,
    CountStep,
    Criterion,
    EditCheck,
    Effect,
    Endpoint,
    FieldType,
    Form,
    FormField,
    InterimDesign,
    RoleCode,
    Route,
    SafetyEvent,
    SampleSize,
    SigningPolicy,
    Site,
    StratificationFactor,
    StratumLevel,
    Study,
    Text,
    UnblindingPolicy,
    Visit,
)
from trialdesk.core.protocol.protocol import (
    CriterionResult,
    EligibilityResult,
    Protocol,
    derivation_order,
)

__all__ = [
    "Allocation",
    "AllocationMethod",
    "Analysis",
    "Arm",
    "BetaBinomialRule",
    "Codelist",
    "CodelistItem",
    "ConsentVersion",
    "Contact",
    "Contacts",
    "CountBoundaryRule",
    "CountStep",
    "Criterion",
    "CriterionResult",
    "EditCheck",
    "Effect",
    "EligibilityResult",
    "Endpoint",
    "FieldType",
    "Form",
    "FormField",
    "InterimDesign",
    "Problem",
    "Protocol",
    "ProtocolError",
    "RoleCode",
    "Route",
    "SafetyEvent",
    "SampleSize",
    "Site",
    "StratificationFactor",
    "StratumLevel",
    "Study",
    "Text",
    "SigningPolicy",
    "UnblindingPolicy",
    "Visit",
    "derivation_order",
    "load_protocol",
    "load_protocol_text",
]
