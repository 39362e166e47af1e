"""Unit conversions against known factors (sources in the research notes §1.3)."""

from __future__ import annotations

import pytest

from trialdesk.core.units import (
    UNITS,
    UnitError,
    conversion_factor,
    conversion_problem,
    convert,
    unit,
)


@pytest.mark.parametrize(
    ("value", "src", "dst", "analyte", "expected", "rel"),
    [
        # Hemoglobin: g/dL x10 = g/L; x0.6206 = mmol/L on the monomer basis (S15)
        (13.0, "g/dL", "g/L", None, 130.0, 1e-12),
        (1.0, "g/dL", "mmol/L", "hemoglobin", 0.6206, 1e-4),
        (8.0, "mmol/L", "g/dL", "hemoglobin", 12.891, 1e-3),
        (118.0, "g/L", "mmol/L", "hemoglobin", 7.3, 5e-3),  # Danish 8-wk limit (S9)
        # Counts: x10^3/uL = x10^9/L = x10^3/mm3; /uL / 1000 = x10^9/L (S75b)
        (250000, "/uL", "10^9/L", None, 250.0, 1e-12),
        (8.0, "10^3/uL", "10^9/L", None, 8.0, 1e-12),
        (10500, "/mm3", "10^9/L", None, 10.5, 1e-12),
        (4.5, "10^6/uL", "10^12/L", None, 4.5, 1e-12),
        # UPCR: 1 mg/mg = 113.12 mg/mmol (creatinine 113.12 g/mol) (S28a)
        (1.0, "mg/mg", "mg/mmol", "creatinine_ratio", 113.12, 1e-9),
        (0.30, "mg/mg", "mg/mmol", "creatinine_ratio", 33.94, 1e-3),
        (30.0, "mg/mmol", "mg/mg", "creatinine_ratio", 0.265, 1e-3),
        (8.0, "mg/mmol", "mg/g", "creatinine_ratio", 70.7, 1e-3),
        (1.0, "g/g", "mg/mg", None, 1.0, 1e-12),
        # Creatinine mg/dL x88.4 = umol/L (S75a)
        (1.1, "mg/dL", "umol/L", "creatinine", 97.2, 1e-3),
        # Hematocrit % / 100 = L/L; MCHC "%" means g/dL
        (40.0, "%", "L/L", None, 0.40, 1e-12),
        (33.0, "%", "g/L", "mchc", 330.0, 1e-12),
        # Temperature: 38.0 degC = 100.4 degF
        (38.0, "degC", "degF", None, 100.4, 1e-9),
        (100.4, "degF", "degC", None, 38.0, 1e-9),
        # 24-h protein
        (0.3, "g/24h", "mg/24h", None, 300.0, 1e-12),
        (1.2, "m", "cm", None, 120.0, 1e-12),
    ],
)
def test_known_factors(value, src, dst, analyte, expected, rel) -> None:
    assert convert(value, src, dst, analyte=analyte) == pytest.approx(expected, rel=rel)


def test_round_trip() -> None:
    there = convert(12.3, "g/dL", "mmol/L", analyte="hemoglobin")
    assert convert(there, "mmol/L", "g/dL", analyte="hemoglobin") == pytest.approx(12.3)


def test_factor() -> None:
    assert conversion_factor("g/dL", "g/L") == pytest.approx(10.0)
    with pytest.raises(UnitError, match="offset"):
        conversion_factor("degC", "degF")


def test_unknown_unit_lists_allowed() -> None:
    with pytest.raises(UnitError, match=r"unknown unit 'g/dl' \(allowed: g/dL, g/L"):
        unit("g/dl")
    with pytest.raises(UnitError, match="unknown unit"):
        convert(1, "g/dl", "g/L")


def test_analyte_needed() -> None:
    problem = conversion_problem("g/dL", "mmol/L")
    assert problem == "no conversion from 'g/dL' to 'mmol/L' (does the field need an analyte?)"
    with pytest.raises(UnitError, match="no conversion"):
        convert(1, "mg/mg", "mg/mmol")


def test_incompatible_units() -> None:
    assert "no conversion from 'mmHg' to 'g/dL'" in conversion_problem("mmHg", "g/dL")
    assert "never converted" in conversion_problem("cycles", "%")
    assert "unknown analyte 'blood'" in conversion_problem("g/dL", "g/L", analyte="blood")


def test_same_unit_is_identity() -> None:
    assert convert(5, "cycles", "cycles") == 5.0


def test_every_unit_parses_in_pint() -> None:
    for code in UNITS:
        assert convert(1.0, code, code) == 1.0
        assert conversion_problem(code, code) is None
