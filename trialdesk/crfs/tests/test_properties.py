"""Property-based tests: arbitrary input at every field type of the protocol.

Nothing invalid is stored, every rejection carries a message naming the field, nothing crashes.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialdesk.core.protocol import load_protocol
from trialdesk.core.protocol.models import NONE_OF_THESE, FieldType
from trialdesk.crfs import engine
from trialdesk.paths import DEFAULT_PROTOCOL
from trialdesk.testing.participants import with_revision

PROTOCOL = load_protocol(DEFAULT_PROTOCOL)
FIELDS = [(form.code, fld) for form in PROTOCOL.forms.values() for fld in engine.entry_fields(form)]
BY_TYPE = {t: [(f, x) for f, x in FIELDS if x.type is t] for t in FieldType}
TODAY = dt.date.today()

junk = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[-+]?[0-9]{0,6}([.,][0-9]{0,4})?", fullmatch=True),
    st.sampled_from(
        ["", " ", "NaN", "inf", "-0", "1e400", "１２", "٣", "1.000,5", "10.500", "\x00", "🙂"]
    ),
)


def _accepts_or_explains(fld, raw, unit=""):
    try:
        parsed = engine.parse_value(PROTOCOL, fld, raw, unit, today=TODAY)
    except engine.FieldInvalid as exc:
        assert fld.code in str(exc) and len(str(exc)) > len(fld.code) + 5
        return None
    if parsed is None:
        assert (not raw) or (isinstance(raw, str) and not raw.strip()) or raw == []
        return None
    json.dumps(parsed.json)  # storable
    if fld.is_numeric:
        assert math.isfinite(parsed.num)
        if fld.hard_min is not None:
            assert parsed.num >= fld.hard_min
        if fld.hard_max is not None:
            assert parsed.num <= fld.hard_max
        if fld.type is FieldType.INTEGER:
            assert float(parsed.json).is_integer()
    if fld.type in (FieldType.CHOICE,):
        assert parsed.json in PROTOCOL.codelist(fld.codelist).items
    if fld.type is FieldType.DATE:
        assert dt.date.fromisoformat(parsed.json) <= TODAY
    return parsed


@pytest.mark.parametrize("field_type", [t for t in FieldType if BY_TYPE[t]])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_arbitrary_text_at_every_field_type(field_type, data):
    _form, fld = data.draw(st.sampled_from(BY_TYPE[field_type]))
    raw = data.draw(junk)
    unit = data.draw(st.sampled_from(list(fld.units) + ["", "furlongs"])) if fld.units else ""
    _accepts_or_explains(fld, raw, unit)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_numbers_inside_hard_limits_are_accepted_and_outside_refused(data):
    _form, fld = data.draw(st.sampled_from(BY_TYPE[FieldType.DECIMAL] + BY_TYPE[FieldType.INTEGER]))
    lo = fld.hard_min if fld.hard_min is not None else -1e6
    hi = fld.hard_max if fld.hard_max is not None else 1e6
    x = data.draw(st.floats(min_value=lo, max_value=hi, allow_nan=False))
    if fld.type is FieldType.INTEGER:
        x = float(math.ceil(x)) if math.ceil(x) <= hi else float(math.floor(x))
    places = fld.decimals if fld.decimals is not None else 4
    text = f"{x:.{0 if fld.type is FieldType.INTEGER else places}f}"
    if float(text) < lo or float(text) > hi:
        return  # rounding pushed it over the edge
    parsed = engine.parse_value(PROTOCOL, fld, text, fld.unit or "")
    assert parsed is not None and abs(parsed.num - float(text)) < 1e-9
    if fld.hard_max is not None:
        step = data.draw(st.integers(min_value=1, max_value=10**6))
        over = f"{fld.hard_max + step:.0f}"
        with pytest.raises(engine.FieldInvalid, match=rf"{fld.code} = .* is outside"):
            engine.parse_value(PROTOCOL, fld, over, fld.unit or "")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_choices_accept_exactly_the_codelist(data):
    _form, fld = data.draw(st.sampled_from(BY_TYPE[FieldType.CHOICE]))
    codes = list(PROTOCOL.codelist(fld.codelist).items)
    code = data.draw(st.sampled_from(codes))
    assert engine.parse_value(PROTOCOL, fld, code).json == code
    other = data.draw(
        st.text(min_size=1, max_size=12).filter(lambda s: s.strip() not in codes and s.strip())
    )
    with pytest.raises(engine.FieldInvalid, match="not an allowed answer|NUL"):
        engine.parse_value(PROTOCOL, fld, other)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_multichoice_accepts_subsets_only(data):
    _form, fld = data.draw(st.sampled_from(BY_TYPE[FieldType.MULTICHOICE]))
    codes = list(PROTOCOL.codelist(fld.codelist).items)
    picked = data.draw(st.lists(st.sampled_from(codes), max_size=len(codes)))
    parsed = engine.parse_value(PROTOCOL, fld, ["", *picked])  # the page's empty marker
    if picked:
        assert set(parsed.json) == set(picked)
    else:
        assert parsed is None  # [""] is no box ticked: not answered
    assert engine.parse_value(PROTOCOL, fld, None) is None
    none = engine.parse_value(PROTOCOL, fld, ["", NONE_OF_THESE])  # "None of these": an answer
    assert none is not None and none.json == [] and none.value == frozenset()
    if picked:
        with pytest.raises(engine.FieldInvalid, match=f"^{fld.code}: 'None of these' cannot"):
            engine.parse_value(PROTOCOL, fld, ["", NONE_OF_THESE, *picked])
    extra = data.draw(
        st.text(min_size=1, max_size=8).filter(lambda s: s.strip() and s.strip() not in codes)
    )
    with pytest.raises(engine.FieldInvalid):
        engine.parse_value(PROTOCOL, fld, [*picked, extra])


@settings(max_examples=150, deadline=None)
@given(
    day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    style=st.sampled_from(["%Y-%m-%d", "%d/%m/%Y"]),
)
def test_dates_in_both_spellings_and_never_in_the_future(day, style):
    _form, fld = BY_TYPE[FieldType.DATE][0]
    text = day.strftime(style)
    if day > TODAY:
        with pytest.raises(engine.FieldInvalid, match="in the future"):
            engine.parse_value(PROTOCOL, fld, text, today=TODAY)
    else:
        assert engine.parse_value(PROTOCOL, fld, text, today=TODAY).json == day.isoformat()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_form_posts_never_500_and_never_store_invalid_values(login, participant_a, data):
    from trialdesk.crfs.models import ItemValue
    from trialdesk.testing.urls import reverse

    client = login("coord_a")
    visit = participant_a.visits.get(code="D7")
    form_code = data.draw(
        st.sampled_from(["vitals", "hematology", "edema", "urine", "imaging", "mirna"])
    )
    form = PROTOCOL.form(form_code)
    post = {}
    for fld in engine.entry_fields(form):
        if data.draw(st.booleans()):
            post[fld.code] = data.draw(junk)
            if fld.units:
                post[f"{fld.code}__unit"] = data.draw(st.sampled_from(list(fld.units)))
    post = {k: v.replace("\x00", "") for k, v in post.items()}
    response = client.post(
        reverse("crfs:form", args=[visit.pk, form_code, 1]),
        with_revision(reverse("crfs:form", args=[visit.pk, form_code, 1]), post),
    )
    assert response.status_code in (302, 422)
    if response.status_code == 422:
        assert 'class="error"' in response.content.decode()
    for row in ItemValue.objects.filter(status="entered"):
        fld = PROTOCOL.form(row.form.form_code).fields[row.item]
        if row.num_value is not None and fld.hard_min is not None:
            assert row.num_value >= fld.hard_min
        if row.num_value is not None and fld.hard_max is not None:
            assert row.num_value <= fld.hard_max
