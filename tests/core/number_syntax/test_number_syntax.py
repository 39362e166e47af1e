"""Finding 12: one number syntax. Full-width, Arabic-Indic and every other non-ASCII digit is
refused with a message that states the syntax; so are grouping, exponents, hex and underscores.
Property tests draw from every Unicode decimal digit (category Nd)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.core.numbers import (
    SYNTAX,
    NumberSyntaxError,
    parse_integer_text,
    parse_number_text,
)

NON_ASCII_DIGITS = [
    chr(c)
    for c in range(0x110000)
    if unicodedata.category(chr(c)) == "Nd" and not "0" <= chr(c) <= "9"
]


@pytest.mark.parametrize(
    "text,expected",
    [("120", 120.0), (" 120 ", 120.0), ("-3", -3.0), ("+3", 3.0), ("36.8", 36.8), ("36,8", 36.8),
     ("0.5", 0.5), (".5", 0.5), ("12.", 12.0)],
)  # fmt: skip
def test_the_documented_syntax_is_accepted(text, expected):
    assert parse_number_text(text) == expected


@pytest.mark.parametrize(
    "text",
    ["１２０", "١٢٠", "۱۲۰", "१२०", "1_20", "0x78", "1e3", "1E3", "inf", "nan", "1.000,5", "1 000",
     "1,2,3", "--1", "+-1", "", " ", "1.2.3", "½", "²", "٫5", "12\u00a0000", "0b11"],
)  # fmt: skip
def test_everything_else_is_refused_with_the_syntax(text):
    with pytest.raises(NumberSyntaxError) as exc:
        parse_number_text(text, name="hr")
    assert str(exc.value).startswith("hr = ") and SYNTAX in str(exc.value)


def test_there_are_many_unicode_digits_python_would_accept():
    assert len(NON_ASCII_DIGITS) > 600
    assert float("١٢٠") == 120 and int("１２０") == 120  # what the old parser relied on


@given(
    st.lists(st.sampled_from(NON_ASCII_DIGITS), min_size=1, max_size=6),
    st.text(alphabet="0123456789", max_size=4),
    st.sampled_from(["", "-", "+"]),
    st.sampled_from(["", ".", ","]),
)
def test_any_non_ascii_digit_anywhere_is_refused(digits, ascii_part, sign, sep):
    text = sign + ascii_part + sep + "".join(digits)
    with pytest.raises(NumberSyntaxError, match="is not a number"):
        parse_number_text(text)
    with pytest.raises(NumberSyntaxError, match="is not a whole number"):
        parse_integer_text(sign + ascii_part + "".join(digits))


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(0, 6), st.booleans())
def test_ascii_numbers_round_trip(whole, places, comma):
    text = f"{whole / 10**places:.{places}f}"
    if comma:
        text = text.replace(".", ",")
    assert parse_number_text(text) == pytest.approx(float(text.replace(",", ".")))


@given(st.text(max_size=12))
def test_arbitrary_text_is_either_the_syntax_or_refused(text):
    try:
        value = parse_number_text(text)
    except NumberSyntaxError as exc:
        assert SYNTAX in str(exc)
        return
    stripped = text.strip()
    assert all(c in "0123456789+-.," for c in stripped)
    assert value == float(stripped.replace(",", "."))


def test_integer_range_is_named():
    with pytest.raises(
        NumberSyntaxError, match=r"repeat = 0 is outside the allowed range \(1 to 99\)"
    ):
        parse_integer_text("0", name="repeat", minimum=1, maximum=99)
    assert parse_integer_text("7", name="repeat", minimum=1, maximum=99) == 7
