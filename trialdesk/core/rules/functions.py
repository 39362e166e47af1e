"""The allow-list of functions an expression may call, with their type signatures.

Every function receives already-evaluated arguments. Unless it is *missing-aware*, a function
called with a missing argument returns ``UNKNOWN`` without running; a domain error (log of a
negative number, square root of a negative) also gives ``UNKNOWN``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from trialdesk.core.rules.types import (
    ANY,
    BOOLEAN,
    DATE,
    NUMBER,
    UNKNOWN,
    ExprType,
    Kind,
    is_missing,
)

_DATES = frozenset({Kind.DATE, Kind.DATETIME})
_NUM = frozenset({Kind.NUMBER})
_BOOL = frozenset({Kind.BOOLEAN})
_ANY = frozenset(Kind)


@dataclass(frozen=True)
class Function:
    """One allowed function.

    Attributes
    ----------
    name : str
        Name used in expressions.
    impl : Callable
        Implementation on evaluated arguments.
    params : tuple[frozenset[Kind], ...]
        Allowed kinds per positional parameter (the last repeats when ``variadic``).
    result : ExprType or Callable
        Result type, or a function of the argument types returning it.
    min_args : int
        Fewest arguments accepted.
    variadic : bool
        Whether the last parameter repeats.
    missing_aware : bool
        Whether the function itself handles ``UNKNOWN`` arguments.
    doc : str
        One line for the documentation and for error messages.
    """

    name: str
    impl: Callable[..., object]
    params: tuple[frozenset[Kind], ...]
    result: ExprType | Callable[[Sequence[ExprType]], ExprType]
    min_args: int
    variadic: bool = False
    missing_aware: bool = False
    doc: str = ""

    def result_type(self, args: Sequence[ExprType]) -> ExprType:
        """The static result type for arguments of types ``args``."""
        return self.result(args) if callable(self.result) else self.result


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def days_between(start: date | datetime, end: date | datetime) -> int:
    """Whole calendar days from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    return (_as_date(end) - _as_date(start)).days


def hours_between(start: datetime, end: datetime) -> float:
    """Hours from ``start`` to ``end`` (both datetimes)."""
    return (end - start).total_seconds() / 3600.0


def years_between(start: date | datetime, end: date | datetime) -> int:
    """Completed years from ``start`` to ``end`` (age at ``end`` for a birth date)."""
    a, b = _as_date(start), _as_date(end)
    return b.year - a.year - ((b.month, b.day) < (a.month, a.day))


def today() -> date:
    """Today's date in UTC."""
    return datetime.now(UTC).date()


def present(value: object) -> bool:
    """True when the value is recorded (not missing)."""
    return not is_missing(value)


def _kleene_all(*values: object) -> object:
    if any(v is False for v in values):
        return False
    return UNKNOWN if any(is_missing(v) for v in values) else True


def _kleene_any(*values: object) -> object:
    if any(v is True for v in values):
        return True
    return UNKNOWN if any(is_missing(v) for v in values) else False


def _coalesce(*values: object) -> object:
    return next((v for v in values if not is_missing(v)), UNKNOWN)


def _if_else(condition: object, when_true: object, when_false: object) -> object:
    if is_missing(condition):
        return UNKNOWN
    return when_true if condition else when_false


def _round(value: float, ndigits: float = 0) -> float:
    return round(value, int(ndigits))


def _same_as_args(args: Sequence[ExprType]) -> ExprType:
    known = [a for a in args if a.kind is not Kind.ANY]
    return known[0] if known else ANY


def _same_as_second(args: Sequence[ExprType]) -> ExprType:
    return _same_as_args(args[1:])


def _f(name: str, impl: Callable[..., object], params: tuple, result, min_args=None, **kw):
    n = len(params) if min_args is None else min_args
    return Function(name, impl, tuple(params), result, n, doc=impl.__doc__ or "", **kw)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        _f("abs", abs, (_NUM,), NUMBER),
        _f("min", min, (_NUM, _NUM), NUMBER, variadic=True),
        _f("max", max, (_NUM, _NUM), NUMBER, variadic=True),
        _f("round", _round, (_NUM, _NUM), NUMBER, min_args=1),
        _f("sqrt", math.sqrt, (_NUM,), NUMBER),
        _f("exp", math.exp, (_NUM,), NUMBER),
        _f("ln", math.log, (_NUM,), NUMBER),
        _f("log2", math.log2, (_NUM,), NUMBER),
        _f("log10", math.log10, (_NUM,), NUMBER),
        _f("days_between", days_between, (_DATES, _DATES), NUMBER),
        _f("hours_between", hours_between, (frozenset({Kind.DATETIME}),) * 2, NUMBER),
        _f("years_between", years_between, (_DATES, _DATES), NUMBER),
        _f("today", today, (), DATE),
        _f("is_missing", is_missing, (_ANY,), BOOLEAN, missing_aware=True),
        _f("present", present, (_ANY,), BOOLEAN, missing_aware=True),
        _f("coalesce", _coalesce, (_ANY, _ANY), _same_as_args, variadic=True, missing_aware=True),
        _f("if_else", _if_else, (_BOOL, _ANY, _ANY), _same_as_second, missing_aware=True),
        _f("all_of", _kleene_all, (_BOOL, _BOOL), BOOLEAN, variadic=True, missing_aware=True),
        _f("any_of", _kleene_any, (_BOOL, _BOOL), BOOLEAN, variadic=True, missing_aware=True),
    )
}


def call(function: Function, args: Sequence[object]) -> object:
    """Run ``function`` on evaluated ``args`` with the missing-value rules."""
    if not function.missing_aware and any(is_missing(a) for a in args):
        return UNKNOWN
    try:
        return function.impl(*args)
    except (ValueError, ZeroDivisionError, OverflowError):
        return UNKNOWN
