"""One safe expression language for eligibility, branching, edit checks and derivations.

Expressions are Python-like text, parsed with :mod:`ast` and evaluated by ``simpleeval``
(never :func:`eval`). They are compiled once, when the protocol loads: names and types are
checked against the protocol's fields, so a typo fails the load, not a form save.

Names
-----
``sbp``
    A field of the expression's own form (its *context*).
``demog.delivery_date``
    A field of another form. The dotted name is resolved at compile time; attribute access on
    values is refused. Fields of repeating forms can only be used inside their own form.

Values and missing data
-----------------------
Numbers (integer/decimal fields), booleans, text, choice codes (``'CS_EMERGENCY'``; literals
are checked against the codelist), sets of codes (multichoice; ``'fever' in symptoms``),
dates, datetimes, times. A field that is absent or ``None`` is *missing*: any arithmetic,
comparison or function on it gives ``UNKNOWN``; ``and``/``or``/``not`` follow Kleene logic
(``False and UNKNOWN`` is ``False``; ``True or UNKNOWN`` is ``True``). A condition whose
test is unknown gives ``UNKNOWN``. Division by zero and math domain errors give ``UNKNOWN``.

Operators and functions
-----------------------
``+ - * / // % **``, ``== != < <= > >=`` (chainable: ``18 <= age <= 50``; codes of an
*ordered* codelist compare by rank: ``dipstick >= '2+'``), ``and or not``,
``x in ['A', 'B']``, ``x if cond else y``. Functions (allow-list, ``FUNCTIONS``):
``abs min max round sqrt exp ln log2 log10``, ``days_between(start, end)``,
``hours_between(start, end)``, ``years_between(start, end)``, ``today()``,
``is_missing(x)``, ``present(x)``, ``coalesce(x, y, ...)``, ``if_else(cond, x, y)``,
``all_of(...)``, ``any_of(...)`` (Kleene).

Refused, with a message naming what was refused: attribute access on anything but a form
name, subscripts, calls outside the allow-list or with keywords, lambdas, comprehensions,
f-strings, ``:=``, more than ``MAX_LENGTH`` characters, brackets nested deeper than
``MAX_DEPTH``.

Public API
----------
compile_expression(text, *, context, schema) -> Expression
    ``Expression.names``, ``.type``, ``.evaluate(values)``, ``.truth(values) -> Truth``.
Schema(names: Mapping[str, NameInfo]); NameInfo(type, repeating); ExprType; Kind
    What may be referenced (``Protocol.rule_schema()`` builds one from a protocol).
UNKNOWN, is_missing(x), Truth (TRUE / FALSE / UNKNOWN), ExpressionError
kleene_and(values), kleene_or(values)

Examples
--------
>>> from trialdesk.core.rules import Schema, NameInfo, NUMBER, compile_expression
>>> schema = Schema({"vitals.sbp": NameInfo(NUMBER), "vitals.dbp": NameInfo(NUMBER)})
>>> check = compile_expression("dbp < sbp", context="vitals", schema=schema)
>>> check.evaluate({"vitals.sbp": 120, "vitals.dbp": 80})
True
>>> check.evaluate({"vitals.sbp": 120})
UNKNOWN
"""

from __future__ import annotations

from trialdesk.core.rules.compiler import MAX_DEPTH, MAX_LENGTH, ExpressionError
from trialdesk.core.rules.evaluate import kleene_and, kleene_or
from trialdesk.core.rules.expression import Expression, compile_expression
from trialdesk.core.rules.functions import FUNCTIONS
from trialdesk.core.rules.types import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    NUMBER,
    TEXT,
    TIME,
    UNKNOWN,
    ExprType,
    Kind,
    NameInfo,
    Schema,
    Truth,
    is_missing,
)

__all__ = [
    "ANY",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "NUMBER",
    "TEXT",
    "TIME",
    "UNKNOWN",
    "ExprType",
    "Expression",
    "ExpressionError",
    "Kind",
    "NameInfo",
    "Schema",
    "Truth",
    "compile_expression",
    "is_missing",
    "kleene_and",
    "kleene_or",
]
