"""Dates typed on staff pages: ISO 8601 in ASCII digits only (finding 12, for dates)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.core.timeparse import parse_iso_date, parse_iso_datetime


def test_iso_dates_and_times_are_read() -> None:
    assert parse_iso_date(" 2026-01-31 ") == dt.date(2026, 1, 31)
    assert parse_iso_datetime("2026-01-31 08:15") == dt.datetime(2026, 1, 31, 8, 15)
    assert parse_iso_datetime("2026-01-31T08:15:00+07:00").utcoffset() == dt.timedelta(hours=7)


@pytest.mark.parametrize(
    "text",
    ["٢٠٢٦-٠١-٣١", "２０２６-０１-３１", "31/01/2026", "2026-02-30", "", None, "2026-01-31T"],
)
def test_other_spellings_are_refused(text) -> None:
    assert parse_iso_date(text) is None


@given(st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()))
def test_no_non_ascii_digit_makes_a_date(digit: str) -> None:
    assert parse_iso_date(f"2026-01-1{digit}") is None
    assert parse_iso_datetime(f"2026-01-11T0{digit}:00") is None
