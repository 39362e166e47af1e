"""Property tests: the compiler never crashes on arbitrary text, Kleene laws hold."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.core.rules import (
    BOOLEAN,
    NUMBER,
    UNKNOWN,
    ExpressionError,
    NameInfo,
    Schema,
    compile_expression,
)

SCHEMA = Schema(
    {
        "f.a": NameInfo(BOOLEAN),
        "f.b": NameInfo(BOOLEAN),
        "f.c": NameInfo(BOOLEAN),
        "f.x": NameInfo(NUMBER),
        "f.y": NameInfo(NUMBER),
    }
)
TOKENS = [
    "a", "b", "c", "x", "y", "f.x", "f", ".", "(", ")", "[", "]", " and ", " or ", "not ",
    " + ", " - ", " * ", " / ", " // ", " ** ", " % ", " < ", " == ", " >= ", " in ", " is ",
    "1", "0", "2.5", "'s'", "True", "None", ",", "abs(", "max(", "round(", "days_between(",
    "is_missing(", "lambda", ":", "if", "else", "__class__", "open(", "-", "~", "&", "@",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_compiler_only_raises_expression_errors(text: str) -> None:
    try:
        expression = compile_expression(text, context="f", schema=SCHEMA)
    except ExpressionError:
        return
    for x, y in itertools.product([None, 0, -3, 2.5], repeat=2):
        expression.evaluate({"f.a": True, "f.b": None, "f.x": x, "f.y": y})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_only_raises_expression_errors(text: str) -> None:
    try:
        compile_expression(text, context="f", schema=SCHEMA)
    except ExpressionError:
        pass


TRI = st.sampled_from([True, False, None])


def _ev(text: str, a, b, c=None):
    values = {"f.a": a, "f.b": b, "f.c": c}
    return compile_expression(text, context="f", schema=SCHEMA).evaluate(values)


@given(TRI, TRI)
def test_de_morgan_holds_in_kleene_logic(a, b) -> None:
    assert _ev("not (a and b)", a, b) is _ev("not a or not b", a, b)
    assert _ev("not (a or b)", a, b) is _ev("not a and not b", a, b)


@given(TRI, TRI, TRI)
def test_distributivity_holds_in_kleene_logic(a, b, c) -> None:
    assert _ev("a and (b or c)", a, b, c) is _ev("(a and b) or (a and c)", a, b, c)


@given(TRI)
def test_excluded_middle_is_unknown_only_when_unknown(a) -> None:
    result = _ev("a or not a", a, None)
    assert result is (UNKNOWN if a is None else True)
