"""The protocol's public section: lay texts in both languages, recruitment status, and the
self-check judged by the protocol's own eligibility expressions (core.protocol.selfcheck)."""

from __future__ import annotations

import pytest

from trialdesk.core.protocol import ProtocolError, load_protocol, load_protocol_text
from trialdesk.core.protocol.models import PUBLIC_SECTIONS
from trialdesk.core.protocol.selfcheck import evaluate_self_check
from trialdesk.paths import DEFAULT_PROTOCOL

ORIGINAL = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
IRON = DEFAULT_PROTOCOL.parent / "iron-pp.yaml"

GOOD = {
    "age": 30,
    "days_since_birth": 5,
    "preeclampsia": True,
    "consent": True,
    "high_blood_pressure_before": False,
    "heart_disease": False,
    "infection": False,
    "vessel_damage": False,
    "habits": False,
}


@pytest.fixture(scope="module")
def protocol():
    return load_protocol(DEFAULT_PROTOCOL)


def test_every_lay_text_is_in_both_languages(protocol):
    public = protocol.public
    for name in PUBLIC_SECTIONS:
        text = getattr(public, name)
        assert text.en.strip() and text.id.strip() and text.en != text.id, name
    assert len(public.faq) >= 5
    assert protocol.study.recruitment == "recruiting"
    assert load_protocol(IRON).study.recruitment == "not_yet_recruiting"


def test_recruitment_defaults_to_recruiting():
    text = ORIGINAL.replace("  recruitment: recruiting\n", "", 1)
    assert load_protocol_text(text, source="t").study.recruitment == "recruiting"


def test_self_check_good_answers_may_be_eligible(protocol):
    result = evaluate_self_check(protocol, GOOD)
    assert result.may_be_eligible and result.failing == ()


@pytest.mark.parametrize(
    ("answer", "value", "criterion"),
    [
        ("age", 17, "I2"),
        ("age", 51, "I2"),
        ("days_since_birth", 15, "I5"),
        ("preeclampsia", False, "I4"),
        ("consent", False, "I6"),
        ("high_blood_pressure_before", True, "E1"),
        ("heart_disease", True, "E2"),
        ("infection", True, "E3"),
        ("vessel_damage", True, "E4"),
        ("habits", True, "E5"),
    ],
)
def test_self_check_names_the_criterion_in_the_way(protocol, answer, value, criterion):
    result = evaluate_self_check(protocol, {**GOOD, answer: value})
    assert not result.may_be_eligible
    assert [c.code for c in result.failing] == [criterion]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("      criteria: [E5]\n", "      criteria: [E9]\n", "unknown criterion 'E9'"),
        (
            "      fills: [screening.major_cvd]\n",
            "      fills: [screening.age]\n",
            "screening.age is of type integer; a yes_no answer fills boolean fields",
        ),
        (
            "      fills: [screening.major_cvd]\n",
            "      fills: [screening.active_infection]\n",
            "screening.active_infection is not read by the question's criteria",
        ),
        ("      fills: [screening.major_cvd]\n", "      fills: [screening.nope]\n", "no field"),
        ("      min: 0\n      max: 3650\n", "      min: 40\n      max: 3\n", "above max"),
    ],
)
def test_a_broken_self_check_names_the_place(old, new, message):
    assert old in ORIGINAL
    with pytest.raises(ProtocolError) as caught:
        load_protocol_text(ORIGINAL.replace(old, new, 1), source="t")
    assert message in str(caught.value)
    assert "public" in str(caught.value)
