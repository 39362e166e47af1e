"""Deliberately broken protocols: each fails with its YAML path, line and the rule broken.

Every case is a small mutation of the real protocol file: (old text, new text) replaced once,
the dotted path expected, a text the message must contain, and a marker whose line the
problem must point at.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from trialdesk.core.protocol import ProtocolError, load_protocol_text
from trialdesk.paths import DEFAULT_PROTOCOL

ORIGINAL = DEFAULT_PROTOCOL.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    id: str
    old: str
    new: str
    path: str
    message: str
    at: str  # the reported line is the first line containing this text (after `after`)
    after: str = ""


def _line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


HGB = "      hgb:\n        type: decimal\n        unit: g/dL\n"
SBP = "      sbp:\n        type: integer\n        unit: mmHg\n"

CASES = [
    Case(
        "unknown-unit",
        HGB,
        HGB.replace("g/dL", "g/dl"),
        "forms.hematology.fields.hgb.unit",
        "unknown unit 'g/dl' (allowed: g/dL, g/L",
        "unit: g/dl",
    ),
    Case(
        "misspelt-key",
        "        required: true\n        sdtm: VS.SYSBP",
        "        requird: true\n        sdtm: VS.SYSBP",
        "forms.vitals.fields.sbp.requird",
        "unknown key 'requird' (did you mean 'required'?",
        "requird: true",
    ),
    Case(
        "unknown-top-level-key",
        "sample_size:\n",
        "sample_sise_extra: 1\nsample_size:\n",
        "sample_sise_extra",
        "unknown key 'sample_sise_extra'",
        "sample_sise_extra",
    ),
    Case(
        "unknown-study-key",
        "  short_title: EXO-PE\n",
        "  short_title: EXO-PE\n  acronym: EXO\n",
        "study.acronym",
        "unknown key 'acronym'",
        "acronym: EXO",
    ),
    Case(
        "unknown-field-in-expression",
        "expression: dbp < sbp\n",
        "expression: dbp < sbpp\n",
        "forms.vitals.checks.dbp_below_sbp.expression",
        "unknown field 'sbpp' in form 'vitals' (did you mean 'sbp'?)",
        "dbp < sbpp",
    ),
    Case(
        "expression-type-error",
        "expression: dbp < sbp\n",
        "expression: dbp < 'high'\n",
        "forms.vitals.checks.dbp_below_sbp.expression",
        "cannot compare number with text",
        "dbp < 'high'",
    ),
    Case(
        "overlapping-visit-windows",
        "    day: 7\n    window_before: 1\n",
        "    day: 7\n    window_before: 8\n",
        "visits.D7.window_before",
        "window of 'D7' (days -1 to 8) overlaps window of 'D0' (days 0 to 0)",
        "window_before: 8",
    ),
    Case(
        "duplicate-field-code",
        SBP,
        SBP + "        label: {en: x, id: x}\n      sbp:\n        type: integer\n",
        "forms.vitals.fields.sbp",
        f"duplicate key 'sbp' (first on line {_line_of(ORIGINAL, SBP)})",
        "      sbp:",
        after="        label: {en: x, id: x}\n",
    ),
    Case(
        "duplicate-visit-code",
        "  M6:\n",
        "  M3:\n",
        "visits.M3",
        f"duplicate key 'M3' (first on line {_line_of(ORIGINAL, '  M3:')})",
        "  M3:\n",
        after="    label: {en: Month 3, id: Bulan 3}",
    ),
    Case(
        "duplicate-codelist-item",
        "      JAWA: {label: {en: Javanese, id: Jawa}}\n",
        "      SUNDA: {label: {en: Javanese, id: Jawa}}\n",
        "codelists.ethnicity.items.SUNDA",
        "duplicate key 'SUNDA' (first on line",
        "      SUNDA: {label: {en: Javanese",
    ),
    Case(
        "limits-out-of-order",
        "        hard_min: 3\n        soft_min: 8\n",
        "        hard_min: 3\n        soft_min: 18\n",
        "forms.hematology.fields.hgb.soft_max",
        "soft_max 16.5 is below soft_min 18; limits must be ordered",
        "soft_max: 16.5",
        after="soft_min: 18",
    ),
    Case(
        "hard-limit-inside-soft",
        "        soft_max: 180\n        hard_max: 300\n",
        "        soft_max: 180\n        hard_max: 150\n",
        "forms.vitals.fields.sbp.hard_max",
        "hard_max 150 is below soft_max 180",
        "hard_max: 150",
    ),
    Case(
        "visit-lists-unknown-form",
        "    forms: [vitals, hematology, edema, urine, imaging, mirna]\n  M1:",
        "    forms: [vitals, hematolgy, edema, urine, imaging, mirna]\n  M1:",
        "visits.D7.forms.1",
        "unknown form 'hematolgy'",
        "hematolgy",
    ),
    Case(
        "endpoint-at-unknown-visit",
        "    visits: [D0, D7]\n",
        "    visits: [D0, D8]\n",
        "endpoints.mir126_d7.visits.1",
        "unknown visit 'D8'",
        "[D0, D8]",
    ),
    Case(
        "unknown-codelist",
        "        codelist: delivery_mode\n",
        "        codelist: delivery_modes\n",
        "forms.demog.fields.delivery_mode.codelist",
        "unknown codelist 'delivery_modes'",
        "codelist: delivery_modes",
    ),
    Case(
        "block-size-not-multiple-of-ratio",
        "  block_sizes: [2, 4]\n",
        "  block_sizes: [2, 3]\n",
        "allocation.block_sizes.1",
        "block size 3 is not a multiple of 2, the sum of the arm ratios 1:1",
        "block_sizes: [2, 3]",
    ),
    Case(
        "ratio-changes-block-arithmetic",
        "    type: placebo_comparator\n    ratio: 1\n",
        "    type: placebo_comparator\n    ratio: 2\n",
        "allocation.block_sizes.0",
        "block size 2 is not a multiple of 3, the sum of the arm ratios 1:2",
        "block_sizes: [2, 4]",
    ),
    Case(
        "stratum-from-unknown-field",
        "    source: demog.delivery_mode\n",
        "    source: demog.delivery_mod\n",
        "stratification.delivery_mode.source",
        "form 'demog' has no field 'delivery_mod'",
        "source: demog.delivery_mod",
    ),
    Case(
        "allocation-unknown-stratum",
        "  strata: [delivery_mode, pe_severe]\n",
        "  strata: [delivery_mode, pe_severity]\n",
        "allocation.strata.1",
        "unknown stratification factor 'pe_severity'",
        "strata: [delivery_mode, pe_severity]",
    ),
    Case(
        "stratum-level-not-in-codelist",
        "        values: [CS_ELECTIVE, CS_EMERGENCY]\n",
        "        values: [CS_ELECTIVE, CS_URGENT]\n",
        "stratification.delivery_mode.levels.CS.values.1",
        "'CS_URGENT' is not a value of demog.delivery_mode",
        "CS_URGENT",
    ),
    Case(
        "alt-unit-not-convertible",
        "        analyte: hemoglobin\n",
        "",
        "forms.hematology.fields.hgb.alt_units.1",
        "no conversion from 'mmol/L' to 'g/dL' (does the field need an analyte?)",
        "alt_units: [g/L, mmol/L]",
    ),
    Case(
        "unknown-analyte",
        "        analyte: hemoglobin\n",
        "        analyte: haemoglobin\n",
        "forms.hematology.fields.hgb.analyte",
        "unknown analyte 'haemoglobin'",
        "analyte: haemoglobin",
    ),
    Case(
        "wrong-value-type",
        "    type: placebo_comparator\n    ratio: 1\n",
        "    type: placebo_comparator\n    ratio: one\n",
        "arms.PBO.ratio",
        "Input should be a valid integer",
        "ratio: one",
    ),
    Case(
        "missing-required-key",
        SBP,
        "      sbp:\n        unit: mmHg\n",
        "forms.vitals.fields.sbp.type",
        "missing required key 'type'",
        "      sbp:\n",
    ),
    Case(
        "criterion-not-boolean",
        "expression: 18 <= screening.age <= 50\n",
        "expression: screening.age + 18\n",
        "eligibility.I2.expression",
        "a criterion must give boolean, but 'screening.age + 18' gives number",
        "screening.age + 18",
    ),
    Case(
        "criterion-without-form",
        "expression: screening.sex == 'F'\n",
        "expression: sex == 'F'\n",
        "eligibility.I1.expression",
        "name 'sex' needs its form: write form.sex",
        "sex == 'F'",
    ),
    Case(
        "criterion-reads-repeating-form",
        "expression: screening.sex == 'F'\n",
        "expression: vitals.sbp < 160\n",
        "eligibility.I1.expression",
        "'vitals.sbp' has more than one value per participant (repeating form)",
        "vitals.sbp < 160",
    ),
    Case(
        "criterion-reads-multi-visit-form",
        "expression: screening.sex == 'F'\n",
        "expression: hematology.hgb >= 8\n",
        "eligibility.I1.expression",
        "'hematology.hgb' has more than one value per participant (collected at visits SCR, D7,",
        "hematology.hgb >= 8",
    ),
    Case(
        "stratum-from-multi-visit-form",
        "    source: demog.delivery_mode\n",
        "    source: urine.dipstick\n",
        "stratification.delivery_mode.source",
        "form 'urine' has more than one record per participant",
        "source: urine.dipstick",
    ),
    Case(
        "code-not-in-codelist",
        "expression: screening.sex == 'F'\n",
        "expression: screening.sex == 'FEMALE'\n",
        "eligibility.I1.expression",
        "'FEMALE' is not a code of codelist 'sex' (allowed: F, M)",
        "'FEMALE'",
    ),
    Case(
        "attribute-access-refused",
        "expression: dbp < sbp\n",
        "expression: dbp.real < sbp\n",
        "forms.vitals.checks.dbp_below_sbp.expression",
        "attribute access is not allowed: 'dbp' is not a form",
        "dbp.real",
    ),
    Case(
        "call-outside-allow-list",
        "expression: dbp < sbp\n",
        "expression: dbp < int(sbp)\n",
        "forms.vitals.checks.dbp_below_sbp.expression",
        "function 'int' is not allowed (allowed: abs,",
        "int(sbp)",
    ),
    Case(
        "derived-type-mismatch",
        "        derived: (sbp + 2 * dbp) / 3\n",
        "        derived: sbp > dbp\n",
        "forms.vitals.fields.map.derived",
        "a decimal field must give number, but 'sbp > dbp' gives boolean",
        "derived: sbp > dbp",
    ),
    Case(
        "two-randomization-visits",
        "    day: 7\n    window_before: 1\n",
        "    day: 7\n    randomization: true\n    window_before: 1\n",
        "visits",
        "exactly one visit must have randomization: true, found 2 (D0, D7)",
        "visits:\n",
    ),
    Case(
        "unscheduled-visit-with-day",
        "    scheduled: false\n    forms: [vitals, hematology, edema, urine, imaging]\n",
        "    scheduled: false\n    day: 40\n    forms: [vitals, hematology, edema, urine, imaging]\n",
        "visits.UNS.day",
        "unscheduled visit 'UNS' must not have a day or a window",
        "day: 40",
    ),
    Case(
        "consent-versions-overlap",
        "    valid_to: 2025-09-18\n",
        "    valid_to: 2025-10-18\n",
        "consent_versions.ICF-2.0.valid_from",
        "overlaps 'ICF-1.0' (to 2025-10-18)",
        "valid_from: 2025-09-19",
    ),
    Case(
        "consent-codelist-out-of-sync",
        "      ICF-2.0: {label: {en: Version 2.0, id: Versi 2.0}}\n",
        "      ICF-3.0: {label: {en: Version 3.0, id: Versi 3.0}}\n",
        "codelists.consent_version.items",
        "items ICF-1.0, ICF-3.0 must be the consent_versions ICF-1.0, ICF-2.0, in the same order",
        "    items:\n      ICF-1.0",
    ),
    Case(
        "route-codelist-out-of-sync",
        "  route:\n    mirrors: routes\n    items:\n      IV:",
        "  route:\n    mirrors: routes\n    items:\n      SC:",
        "codelists.route.items",
        "items SC, IM must be the routes IV, IM",
        "    items:\n      SC:",
    ),
    Case(
        "endpoint-form-not-collected-at-visit",
        "    time_frame: Day 0 to month 1\n    field: edema.facial\n    visits: [D0, D7, M1]\n",
        "    time_frame: Day 0 to month 1\n    field: edema.facial\n    visits: [D0, D7, M3]\n",
        "endpoints.edema.field",
        "'edema.facial' is measured at visit 'M3', but form 'edema' is not collected there",
        "field: edema.facial",
    ),
    Case(
        "analysis-outcome-not-collected-at-visit",
        "    baseline_visit: D0\n    visit: D7\n    covariates: [delivery_mode, pe_severe]\n    population: mitt\n    description: ANCOVA of day-7 mean PI",
        "    baseline_visit: D0\n    visit: M6\n    covariates: [delivery_mode, pe_severe]\n    population: mitt\n    description: ANCOVA of day-7 mean PI",
        "analyses.pi.outcome",
        "'imaging.pi_mean' is measured at visit 'M6', but form 'imaging' is not collected there",
        "outcome: imaging.pi_mean",
    ),
    Case(
        "interim-look-without-spending",
        "  efficacy_spending: asOF\n  futility_spending: bsOF\n",
        "  efficacy_spending: none\n",
        "interim.efficacy_spending",
        "an interim look needs an efficacy or a futility spending function",
        "efficacy_spending: none",
    ),
    Case(
        "unused-codelist",
        "  fetal_outcome:\n    items:",
        "  fetal_outcomes:\n    items:",
        "codelists.fetal_outcomes",
        "codelist 'fetal_outcomes' is not used by any field",
        "  fetal_outcomes:",
    ),
    Case(
        "interim-last-fraction",
        "  information_fractions: [0.5, 1.0]\n",
        "  information_fractions: [0.5, 0.9]\n",
        "interim.information_fractions",
        "the last information fraction must be 1",
        "information_fractions: [0.5, 0.9]",
    ),
    Case(
        "sample-size-vs-enrollment",
        "  n_per_arm: 40\n",
        "  n_per_arm: 45\n",
        "sample_size.n_per_arm",
        "n_per_arm 45 × 2 arms = 90, but study.target_enrollment is 80",
        "n_per_arm: 45",
    ),
    Case(
        "arm-unknown-route",
        "    ratio: 1\n    routes: [IV, IM]\n  PBO:",
        "    ratio: 1\n    routes: [IV, SC]\n  PBO:",
        "arms.EXO.routes.1",
        "unknown route 'SC' (routes: IV, IM)",
        "routes: [IV, SC]",
    ),
    Case(
        "safety-rule-unknown-arm",
        "    arm: EXO\n    prior_mean: 0.007\n",
        "    arm: EXOSOME\n    prior_mean: 0.007\n",
        "safety_rules.related_sae_bayes.arm",
        "unknown arm 'EXOSOME' (arms: EXO, PBO)",
        "arm: EXOSOME",
    ),
    Case(
        "safety-rule-bad-probability",
        "    prior_mean: 0.007\n",
        "    prior_mean: 7\n",
        "safety_rules.related_sae_bayes.prior_mean",
        "Input should be less than 1",
        "prior_mean: 7",
    ),
    Case(
        "explicit-code-differs-from-key",
        "  IM: {label: {en: Intramuscular injection",
        "  IM: {code: SC, label: {en: Intramuscular injection",
        "routes.IM.code",
        "code 'SC' differs from its key 'IM'",
        "  IM: {code: SC",
    ),
    Case(
        "codelist-on-number",
        "      height:\n        type: decimal\n",
        "      height:\n        type: decimal\n        codelist: sex\n",
        "forms.demog.fields.height.codelist",
        "only choice/multichoice fields take a codelist, not decimal",
        "codelist: sex",
        after="      height:",
    ),
    Case(
        "unknown-unblinding-key",
        "  approval_required: false\n",
        "  approval_required: false\n  approved_by: dsmb\n",
        "unblinding.approved_by",
        "unknown key 'approved_by' (did you mean 'approver_roles'? allowed: approval_required",
        "approved_by: dsmb",
    ),
    Case(
        "unknown-approver-role",
        "  approver_roles: [investigator]\n",
        "  approver_roles: [investigator, sponsor]\n",
        "unblinding.approver_roles.1",
        "'coordinator', 'investigator', 'monitor'",
        "approver_roles: [investigator, sponsor]",
    ),
    Case(
        "approval-without-approvers",
        "  approval_required: false\n  # Who would approve if an amendment required approval "
        "[proposed].\n  approver_roles: [investigator]\n",
        "  approval_required: true\n  approver_roles: []\n",
        "unblinding.approver_roles",
        "approval_required needs at least one approver role",
        "approver_roles: []",
    ),
    Case(
        "unknown-contact",
        "  dsmb:\n    name: DSMB chair [proposed]\n",
        "  dsmb_chair:\n    name: DSMB chair [proposed]\n",
        "contacts.dsmb_chair",
        "unknown key 'dsmb_chair' (allowed: sponsor, dsmb)",
        "  dsmb_chair:",
    ),
    Case(
        "contact-email-not-an-address",
        "    email: dsmb-chair@example.org\n",
        "    email: dsmb-chair at example.org\n",
        "contacts.dsmb.email",
        "String should match pattern",
        "email: dsmb-chair at",
    ),
    Case(
        "entered-by-unknown-role",
        "        entered_by: investigator\n",
        "        entered_by: investigatr\n",
        "forms.screening.fields.pe_diagnosis_confirmed.entered_by",
        "investigator",
        "entered_by: investigatr",
    ),
    Case(
        "yaml-syntax",
        "  short_title: EXO-PE\n",
        "  short_title: [EXO-PE\n",
        "",
        "",
        "  sponsor:",
    ),
    Case(
        "unknown-site-time-zone",
        "    longitude: 107.5985\n",
        "    longitude: 107.5985\n    timezone: Asia/Jakata\n",
        "sites.01.timezone",
        "site 01: time zone 'Asia/Jakata' is not an IANA time zone name",
        "timezone: Asia/Jakata",
    ),
]


def _broken(case: Case) -> tuple[str, ProtocolError]:
    assert ORIGINAL.count(case.old) >= 1, f"{case.id}: mutation target not found"
    text = ORIGINAL.replace(case.old, case.new, 1)
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, source="broken.yaml")
    return text, info.value


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_protocol_is_located(case: Case) -> None:
    text, error = _broken(case)
    line = _line_of(text, case.at, case.after)
    matching = [p for p in error.problems if p.path == case.path and case.message in p.message]
    assert matching, f"expected {case.path}: {case.message!r}; got:\n{error}"
    assert matching[0].line == line, f"line {matching[0].line} != {line}\n{error}"
    assert f"broken.yaml:{line}: " in str(error)


def test_at_least_twenty_broken_protocols() -> None:
    assert len(CASES) >= 20


def test_error_lists_every_problem_in_file_order() -> None:
    text = ORIGINAL.replace(
        "unit: g/dL\n        alt_units: [g/L, mmol/L]",
        "unit: g/dl\n        alt_units: [g/L, mmol/L]",
        1,
    )
    text = text.replace("expression: dbp < sbp\n", "expression: dbp < sbpp\n", 1)
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, source="two.yaml")
    problems = info.value.problems
    assert len(problems) == 2
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert str(info.value).splitlines()[0] == "two.yaml: 2 problems in the protocol"
    path, line, message = problems[0]  # problems unpack as (yaml_path, line, message)
    assert path.startswith("forms.") and line > 0 and message


def test_unknown_key_message_is_actionable() -> None:
    _, error = _broken(CASES[1])
    message = error.problems[0].message
    assert "allowed: type, label" in message and "required_if" in message


def test_not_a_mapping() -> None:
    with pytest.raises(ProtocolError, match="must be a YAML mapping"):
        load_protocol_text("- a\n- b\n")


def test_every_duplicate_key_is_reported() -> None:
    text = ORIGINAL.replace("  M6:\n", "  M3:\n", 1).replace("  M24:\n", "  M12:\n", 1)
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, source="dup.yaml")
    assert [p.path for p in info.value.problems] == ["visits.M3", "visits.M12"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "just text\n", "[1, 2]\n"])
def test_empty_or_non_mapping_file(text: str) -> None:
    with pytest.raises(ProtocolError, match="must be a YAML mapping"):
        load_protocol_text(text)


def test_python_tags_are_refused() -> None:
    text = ORIGINAL.replace(
        "  sponsor: Universitas Padjadjaran\n", "  sponsor: !!python/object/apply:os.getcwd []\n", 1
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, source="tag.yaml")
    assert info.value.problems[0].line == _line_of(text, "!!python")


def test_alias_bomb_is_refused() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ProtocolError, match="expands to more than 200000 YAML nodes"):
        load_protocol_text("\n".join(levels) + "\n")


def test_notify_needs_the_contact_it_names() -> None:
    start = ORIGINAL.index("\ncontacts:\n")
    end = ORIGINAL.index("\n\n", start + 1)
    text = ORIGINAL[:start] + ORIGINAL[end:]  # the contacts section removed, notify kept
    with pytest.raises(ProtocolError) as info:
        load_protocol_text(text, source="contacts.yaml")
    problems = [(p.path, p.line, p.message) for p in info.value.problems]
    line = _line_of(text, "  notify: [sponsor, dsmb]")
    assert problems == [
        (
            "unblinding.notify.0",
            line,
            "contact 'sponsor' is not given under contacts (given: none)",
        ),
        ("unblinding.notify.1", line, "contact 'dsmb' is not given under contacts (given: none)"),
    ]


def test_protocols_without_unblinding_or_contacts_keep_the_defaults() -> None:
    start = ORIGINAL.index("\n# Emergency unblinding (code break).")
    end = ORIGINAL.index("\n# Safety stopping rules")
    p = load_protocol_text(ORIGINAL[:start] + ORIGINAL[end:], source="old.yaml")
    assert not p.unblinding.approval_required and p.unblinding.notify == ()
    assert p.contacts.sponsor is None and p.contacts.dsmb is None
