"""The fixed unit table and the analyte-specific conversion bases."""

from __future__ import annotations

from dataclasses import dataclass, field


class UnitError(ValueError):
    """A unit is unknown, or two units cannot be converted into each other."""


@dataclass(frozen=True)
class UnitSpec:
    """One unit a protocol may name.

    Attributes
    ----------
    code : str
        The spelling used in protocol files and data, e.g. ``"10^9/L"``.
    pint : str
        The Pint expression of the unit (without the scale).
    scale : float
        Multiplier in front of the Pint unit (``10^9/L`` is ``1e9`` times ``1/L``).
    label : str
        How to print it for people (``"×10⁹/L"``).
    ucum : str
        The UCUM code, for exports.
    """

    code: str
    pint: str
    scale: float = 1.0
    label: str = ""
    ucum: str = ""


@dataclass(frozen=True)
class Analyte:
    """What a value measures, when a conversion needs more than the units.

    Attributes
    ----------
    code : str
        Name fields use in ``analyte:``.
    label : str
        Human name.
    molar_mass : float or None
        g/mol, for mass concentration ↔ substance concentration (g/dL ↔ mmol/L).
    ratio_molar_mass : float or None
        g/mol of the *denominator* of a mass ratio, for mass/mass ↔ mass/substance
        (protein/creatinine mg/mg ↔ mg/mmol uses creatinine, 113.12 g/mol).
    equivalents : dict[str, str]
        Unit codes that are numerically identical to another code for this analyte
        (MCHC printed as ``%`` is g/dL).
    """

    code: str
    label: str
    molar_mass: float | None = None
    ratio_molar_mass: float | None = None
    equivalents: dict[str, str] = field(default_factory=dict)


def _u(code: str, pint: str, label: str = "", ucum: str = "", scale: float = 1.0) -> UnitSpec:
    return UnitSpec(code=code, pint=pint, scale=scale, label=label or code, ucum=ucum or code)


UNITS: dict[str, UnitSpec] = {
    u.code: u
    for u in (
        # mass concentration
        _u("g/dL", "g/dL"),
        _u("g/L", "g/L"),
        _u("mg/dL", "mg/dL"),
        _u("mg/L", "mg/L"),
        _u("ug/mL", "ug/mL", "µg/mL"),
        # substance concentration
        _u("mmol/L", "mmol/L"),
        _u("umol/L", "umol/L", "µmol/L"),
        # counts per volume
        _u("10^9/L", "1/L", "×10⁹/L", "10*9/L", 1e9),
        _u("10^12/L", "1/L", "×10¹²/L", "10*12/L", 1e12),
        _u("10^3/uL", "1/uL", "×10³/µL", "10*3/uL", 1e3),
        _u("10^6/uL", "1/uL", "×10⁶/µL", "10*6/uL", 1e6),
        _u("/uL", "1/uL", "/µL", "/uL"),
        _u("/mm3", "1/mm**3", "/mm³", "/mm3"),
        _u("particles/mL", "1/mL", "particles/mL", "{particles}/mL"),
        # ratios and fractions
        _u("%", "percent", "%", "%"),
        _u("L/L", "L/L", "L/L", "L/L"),
        _u("1", "dimensionless", "(no unit)", "1"),
        _u("mg/mg", "mg/mg"),
        _u("g/g", "g/g"),
        _u("mg/g", "mg/g"),
        _u("mg/mmol", "mg/mmol"),
        # cell indices
        _u("fL", "fL"),
        _u("pg", "pg"),
        # pressure, rates, temperature
        _u("mmHg", "mmHg", "mmHg", "mm[Hg]"),
        _u("/min", "1/min", "/min", "/min"),
        _u("bpm", "1/min", "beats/min", "/min"),
        _u("degC", "degC", "°C", "Cel"),
        _u("degF", "degF", "°F", "[degF]"),
        # length, mass, volume, time, angle, speed
        _u("mm", "mm"),
        _u("cm", "cm"),
        _u("m", "m"),
        _u("kg", "kg"),
        _u("g", "g"),
        _u("mg", "mg"),
        _u("ug", "ug", "µg"),
        _u("mL", "mL"),
        _u("uL", "uL", "µL"),
        _u("L", "L"),
        _u("cm3", "cm**3", "cm³", "cm3"),
        _u("s", "s"),
        _u("min", "min"),
        _u("h", "hour", "h", "h"),
        _u("d", "day", "days", "d"),
        _u("wk", "week", "weeks", "wk"),
        _u("y", "year", "years", "a"),
        _u("deg", "degree", "°", "deg"),
        _u("cm/s", "cm/s"),
        _u("kg/m2", "kg/m**2", "kg/m²", "kg/m2"),
        _u("mL/h", "mL/hour", "mL/h", "mL/h"),
        _u("mg/24h", "mg/day", "mg/24 h", "mg/(24.h)"),
        _u("g/24h", "g/day", "g/24 h", "g/(24.h)"),
        _u("IU/L", "1/L", "IU/L", "[IU]/L"),
        # qPCR cycles and absorbance: counted, not converted
        _u("cycles", "dimensionless", "cycles", "{cycles}"),
        _u("AU", "dimensionless", "absorbance units", "{AU}"),
    )
}

# Hemoglobin on the monomer basis (one haem, MW 16 114.5 g/mol): 1 g/dL = 0.6206 mmol/L.
# Creatinine 113.12 g/mol: a protein/creatinine ratio of 1 mg/mg = 113.12 mg/mmol.
ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        Analyte("hemoglobin", "Hemoglobin (monomer basis)", molar_mass=16114.5),
        Analyte(
            "mchc",
            "Mean corpuscular hemoglobin concentration (monomer basis)",
            molar_mass=16114.5,
            equivalents={"%": "g/dL"},
        ),
        Analyte("creatinine", "Creatinine", molar_mass=113.12),
        Analyte("creatinine_ratio", "Ratio to urine creatinine", ratio_molar_mass=113.12),
        Analyte("hematocrit", "Hematocrit (volume fraction)"),
    )
}

# Units that are the same dimension as others but must never be converted into them,
# because they count different things (a cycle threshold is not a percentage).
UNCONVERTIBLE = frozenset({"cycles", "AU", "IU/L", "particles/mL"})


def unit(code: str) -> UnitSpec:
    """Return the unit called ``code``.

    Raises
    ------
    UnitError
        If ``code`` is not in :data:`UNITS`; the message lists the allowed codes.
    """
    try:
        return UNITS[code]
    except (KeyError, TypeError):
        raise UnitError(f"unknown unit {code!r} (allowed: {', '.join(UNITS)})") from None
