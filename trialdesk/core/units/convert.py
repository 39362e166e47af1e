"""Conversions through one Pint registry, with one Pint context per analyte."""

from __future__ import annotations

from functools import cache
from typing import Any

import pint

from trialdesk.core.units.table import ANALYTES, UNCONVERTIBLE, Analyte, UnitError, unit

_MASS_CONC = "[mass] / [length] ** 3"
_SUBST_CONC = "[substance] / [length] ** 3"


@cache
def registry() -> Any:
    """The shared Pint registry with one context per analyte (built once, lazily)."""
    ureg: Any = pint.UnitRegistry()
    for analyte in ANALYTES.values():
        ctx = _context(ureg, analyte)
        if ctx is not None:
            ureg.add_context(ctx)
    return ureg


def _context(ureg: Any, analyte: Analyte) -> Any:
    ctx: Any = pint.Context(_context_name(analyte.code))
    if analyte.molar_mass is not None:
        mw = ureg.Quantity(analyte.molar_mass, "g/mol")
        ctx.add_transformation(_MASS_CONC, _SUBST_CONC, lambda _u, x: x / mw)
        ctx.add_transformation(_SUBST_CONC, _MASS_CONC, lambda _u, x: x * mw)
    if analyte.ratio_molar_mass is not None:
        mr = ureg.Quantity(analyte.ratio_molar_mass, "g/mol")
        ctx.add_transformation("[]", "[mass] / [substance]", lambda _u, x: x * mr)
        ctx.add_transformation("[mass] / [substance]", "[]", lambda _u, x: x / mr)
    return ctx if (analyte.molar_mass or analyte.ratio_molar_mass) else None


def _context_name(code: str) -> str:
    return f"analyte_{code}"


def _analyte(code: str | None) -> Analyte | None:
    if code is None:
        return None
    try:
        return ANALYTES[code]
    except KeyError:
        raise UnitError(f"unknown analyte {code!r} (allowed: {', '.join(ANALYTES)})") from None


def _contexts(analyte: Analyte | None) -> tuple[str, ...]:
    if analyte is None or not (analyte.molar_mass or analyte.ratio_molar_mass):
        return ()
    return (_context_name(analyte.code),)


def _resolve(code: str, analyte: Analyte | None) -> str:
    unit(code)
    return analyte.equivalents.get(code, code) if analyte else code


def convert(value: float, from_unit: str, to_unit: str, *, analyte: str | None = None) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit``.

    Parameters
    ----------
    value : float
        The magnitude in ``from_unit``.
    from_unit, to_unit : str
        Unit codes from :data:`~trialdesk.core.units.UNITS`.
    analyte : str, optional
        Code from :data:`~trialdesk.core.units.ANALYTES`, needed for conversions that depend
        on what is measured (g/dL ↔ mmol/L for hemoglobin, mg/mg ↔ mg/mmol for UPCR).

    Returns
    -------
    float
        The magnitude in ``to_unit``.

    Raises
    ------
    UnitError
        If a unit or the analyte is unknown, or the two units cannot be converted.
    """
    if from_unit == to_unit:
        unit(from_unit)
        return float(value)
    problem = conversion_problem(from_unit, to_unit, analyte=analyte)
    if problem:
        raise UnitError(problem)
    spec_a = _analyte(analyte)
    src = unit(_resolve(from_unit, spec_a))
    dst = unit(_resolve(to_unit, spec_a))
    ureg = registry()
    quantity = ureg.Quantity(value * src.scale, src.pint)
    result = quantity.to(dst.pint, *_contexts(spec_a))
    return float(result.magnitude) / dst.scale


def conversion_factor(from_unit: str, to_unit: str, *, analyte: str | None = None) -> float:
    """The multiplier taking a value in ``from_unit`` to ``to_unit`` (not for °C/°F)."""
    if {from_unit, to_unit} & {"degC", "degF"} and from_unit != to_unit:
        raise UnitError("temperature conversions have an offset; use convert()")
    return convert(1.0, from_unit, to_unit, analyte=analyte)


def conversion_problem(from_unit: str, to_unit: str, *, analyte: str | None = None) -> str | None:
    """Why ``from_unit`` cannot be converted to ``to_unit`` (``None`` if it can).

    The message names both units, the analyte and what would make the conversion possible.
    """
    for code in (from_unit, to_unit):
        try:
            unit(code)
        except UnitError as exc:
            return str(exc)
    try:
        spec_a = _analyte(analyte)
    except UnitError as exc:
        return str(exc)
    if from_unit == to_unit:
        return None
    if {from_unit, to_unit} & UNCONVERTIBLE:
        return f"{from_unit!r} and {to_unit!r} measure different things and are never converted"
    return _pint_problem(from_unit, to_unit, spec_a)


def _pint_problem(from_unit: str, to_unit: str, analyte: Analyte | None) -> str | None:
    src = unit(_resolve(from_unit, analyte))
    dst = unit(_resolve(to_unit, analyte))
    ureg = registry()
    try:
        ureg.Quantity(src.scale, src.pint).to(dst.pint, *_contexts(analyte))
    except pint.DimensionalityError:
        hint = f" for analyte {analyte.code!r}" if analyte else " (does the field need an analyte?)"
        return f"no conversion from {from_unit!r} to {to_unit!r}{hint}"
    return None
