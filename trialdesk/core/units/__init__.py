"""Units: the fixed table of units a protocol may name, and conversions between them.

A protocol field has one canonical unit (limits are written in it, values are stored in it)
and a list of alternative units a site may enter. Units are looked up in a fixed table
(``UNITS``) rather than parsed from free text: a typo is an error at load time, never a new
unit. Conversions run through a Pint registry; conversions that depend on the analyte (mass
concentration to substance concentration, protein/creatinine ratios, MCHC printed as "%") go
through an explicit :class:`Analyte` named by the field.

Public API
----------
UNITS : dict[str, UnitSpec]
    Every unit code a protocol may use, e.g. ``"g/dL"``, ``"10^9/L"``, ``"/uL"``, ``"degC"``.
ANALYTES : dict[str, Analyte]
    Analyte-specific conversion bases, e.g. ``"hemoglobin"`` (monomer, 16 114.5 g/mol).
unit(code) -> UnitSpec
    Look a unit up, raising :class:`UnitError` naming the allowed codes.
convert(value, from_unit, to_unit, *, analyte=None) -> float
    Convert a magnitude, raising :class:`UnitError` when no conversion exists.
conversion_problem(from_unit, to_unit, *, analyte=None) -> str | None
    Why a conversion is impossible (``None`` when it is possible): used at protocol load.

Examples
--------
>>> round(convert(13.0, "g/dL", "mmol/L", analyte="hemoglobin"), 3)
8.067
>>> convert(250000, "/uL", "10^9/L")
250.0
"""

from __future__ import annotations

from trialdesk.core.units.convert import conversion_factor, conversion_problem, convert
from trialdesk.core.units.table import ANALYTES, UNITS, Analyte, UnitError, UnitSpec, unit

__all__ = [
    "ANALYTES",
    "UNITS",
    "Analyte",
    "UnitError",
    "UnitSpec",
    "conversion_factor",
    "conversion_problem",
    "convert",
    "unit",
]
