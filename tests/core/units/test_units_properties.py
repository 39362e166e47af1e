"""Every unit a protocol field accepts converts to its canonical unit and back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.core.protocol import load_protocol
from trialdesk.core.units import convert
from trialdesk.paths import DEFAULT_PROTOCOL

PAIRS = sorted(
    {
        (alt, f.unit, f.analyte)
        for form in load_protocol(DEFAULT_PROTOCOL).forms.values()
        for f in form.fields.values()
        for alt in f.alt_units
    },
    key=str,
)


@pytest.mark.parametrize(("alt", "canonical", "analyte"), PAIRS)
@settings(max_examples=25, deadline=None)
@given(value=st.floats(min_value=0.001, max_value=1e6, allow_nan=False))
def test_round_trip(alt, canonical, analyte, value) -> None:
    there = convert(value, alt, canonical, analyte=analyte)
    assert convert(there, canonical, alt, analyte=analyte) == pytest.approx(value, rel=1e-9)
