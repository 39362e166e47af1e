"""``trialdesk protocol check`` and ``show`` through click's CliRunner (no Django)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from trialdesk.commands.protocol import protocol
from trialdesk.paths import DEFAULT_PROTOCOL

# Every assessment the seed's "Clinical Assessment Protocol" names, plus the biomarker,
# dosing, consent and follow-up it describes.
SEED_ASSESSMENTS = [
    "Hemoglobin",
    "MCV",
    "MCHC",
    "Hematocrit",
    "Leukocyte",
    "Platelets",
    "Systolic blood pressure",
    "Diastolic blood pressure",
    "Respiratory rate",
    "Heart rate",
    "Upper extremity edema",
    "Lower extremity edema",
    "Facial edema",
    "Proteinuria",
    "pulsatility index (PI)",
    "resistance index (RI)",
    "uterine involution",
    "miR-126-3p",
    "Informed consent",
    "Dosing",
    "Adverse events",
]


def test_check_real_protocol_exits_zero() -> None:
    result = CliRunner().invoke(protocol, ["check", str(DEFAULT_PROTOCOL)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK ")
    assert "NCT07183384" in result.output and len(result.output.splitlines()) == 1


def test_check_broken_protocol_exits_one_with_location(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    broken.write_text(text.replace("unit: g/dL\n", "unit: g/dl\n", 1), encoding="utf-8")
    result = CliRunner().invoke(protocol, ["check", str(broken)])
    assert result.exit_code == 1
    assert "forms.hematology.fields.hgb.unit: unknown unit 'g/dl'" in result.stderr
    assert f"{broken}:" in result.stderr
    assert result.stdout == ""


def test_check_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(protocol, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "no such file" in result.stderr


def test_show_lists_every_seed_assessment() -> None:
    result = CliRunner().invoke(protocol, ["show", str(DEFAULT_PROTOCOL), "--width", "240"])
    assert result.exit_code == 0, result.output
    out = result.output.lower()
    missing = [a for a in SEED_ASSESSMENTS if a.lower() not in out]
    assert not missing
    for heading in ("Schedule of activities", "Eligibility", "Visits", "Arms", "Stratification"):
        assert heading in result.output
    assert "day 7 (6 to 8)" in result.output


def test_show_schedule_table_has_every_visit() -> None:
    result = CliRunner().invoke(protocol, ["show", str(DEFAULT_PROTOCOL), "--width", "240"])
    header = next(line for line in result.output.splitlines() if "┃ Form" in line)
    for visit in ("SCR", "D0", "D7", "M1", "M3", "M6", "M12", "M24", "UNS", "ET"):
        assert f" {visit} " in header


def test_show_json() -> None:
    result = CliRunner().invoke(protocol, ["show", str(DEFAULT_PROTOCOL), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["study"]["id"] == "NCT07183384"
    assert data["schedule_of_activities"]["D7"][0] == "vitals"
    assert data["forms"]["hematology"]["fields"]["hgb"]["unit"] == "g/dL"


def test_show_in_bahasa_indonesia() -> None:
    args = ["show", str(DEFAULT_PROTOCOL), "--lang", "id", "--width", "240"]
    result = CliRunner().invoke(protocol, args)
    assert result.exit_code == 0
    assert "Skrining" in result.output and "Hari 7 - kunjungan utama" in result.output


def test_json_schema_forbids_unknown_keys() -> None:
    result = CliRunner().invoke(protocol, ["json-schema"])
    schema = json.loads(result.output)
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["FormField"]["additionalProperties"] is False


def test_eval_expression_with_values() -> None:
    args = ["eval", str(DEFAULT_PROTOCOL), "sbp < 160 and dbp < 110", "--form", "vitals"]
    result = CliRunner().invoke(protocol, [*args, "--set", "sbp=165", "--set", "dbp=90"])
    assert result.exit_code == 0
    assert "reads: vitals.dbp, vitals.sbp -> boolean" in result.output
    assert "value: False" in result.output
    missing = CliRunner().invoke(protocol, [*args, "--set", "sbp=120"])
    assert "value: UNKNOWN" in missing.output


def test_eval_days_since_delivery() -> None:
    expression = "days_between(demog.delivery_date, screening.visit_date)"
    values = ["--set", "demog.delivery_date=2025-10-01", "--set", "screening.visit_date=2025-10-12"]
    result = CliRunner().invoke(protocol, ["eval", str(DEFAULT_PROTOCOL), expression, *values])
    assert "value: 11" in result.output


def test_eval_refuses_attribute_access() -> None:
    args = ["eval", str(DEFAULT_PROTOCOL), "sbp.__class__", "--form", "vitals"]
    result = CliRunner().invoke(protocol, args)
    assert result.exit_code == 1
    assert "attribute access is not allowed" in result.stderr


def test_registered_in_the_trialdesk_command() -> None:
    from trialdesk.cli import main

    result = CliRunner().invoke(main, ["protocol", "check", str(DEFAULT_PROTOCOL)])
    assert result.exit_code == 0 and result.output.startswith("OK ")
