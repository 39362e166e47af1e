"""Every criterion of NCT07183384 met, not met and unknown (missing data), one at a time.

Starting from an eligible participant, each case changes the fields one
criterion reads and checks that exactly that criterion moves, to the expected state.
"""

from __future__ import annotations

import pytest

from trialdesk.core.protocol import Protocol, load_protocol
from trialdesk.core.rules import Truth
from trialdesk.paths import DEFAULT_PROTOCOL
from trialdesk.testing.eligibility import ELIGIBLE

# criterion → (values that make it fail, values that leave it undetermined)
CASES = {
    "I1": ({"screening.sex": "M"}, {"screening.sex": None}),
    "I2": ({"screening.age": 17}, {"screening.age": None}),
    "I3": ({"screening.postpartum_day": -1}, {"screening.postpartum_day": None}),
    "I4": ({"screening.pe_diagnosis_confirmed": False}, {"screening.pe_diagnosis_confirmed": None}),
    "I5": ({"screening.postpartum_day": 15}, {"screening.postpartum_day": None}),
    "I6": ({"consent.participant_signed": False}, {"screening.able_to_consent": None}),
    "E1": (
        {"screening.chronic_htn_prepregnancy": True},
        {"screening.chronic_htn_prepregnancy": None},
    ),
    "E2": ({"screening.major_cvd": True}, {"screening.major_cvd": None}),
    "E3": ({"screening.active_infection": True}, {"screening.active_infection": None}),
    "E4": (
        {"screening.endothelial_injury_history": True},
        {"screening.endothelial_injury_history": None},
    ),
    "E5": ({"screening.drug_addiction": True}, {"screening.alcohol_active": None}),
}
# I3 and I5 read the same field, so a missing postpartum day leaves both undetermined.
SHARED_FIELD = {"I3": {"I3", "I5"}, "I5": {"I3", "I5"}}


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(DEFAULT_PROTOCOL)


def _states(protocol: Protocol, values: dict) -> dict[str, Truth]:
    return {c.code: c.passes for c in protocol.evaluate_eligibility(values).criteria}


def test_every_criterion_has_cases(protocol):
    assert set(CASES) == set(protocol.eligibility)


def test_baseline_meets_every_criterion(protocol):
    assert set(_states(protocol, ELIGIBLE).values()) == {Truth.TRUE}


@pytest.mark.parametrize("code", sorted(CASES))
def test_criterion_not_met(protocol, code):
    states = _states(protocol, {**ELIGIBLE, **CASES[code][0]})
    assert {c for c, s in states.items() if s is not Truth.TRUE} == {code}
    assert states[code] is Truth.FALSE
    assert protocol.evaluate_eligibility({**ELIGIBLE, **CASES[code][0]}).eligible is Truth.FALSE


@pytest.mark.parametrize("code", sorted(CASES))
def test_criterion_unknown_when_data_missing(protocol, code):
    values = {**ELIGIBLE, **CASES[code][1]}
    states = _states(protocol, values)
    assert {c for c, s in states.items() if s is not Truth.TRUE} == SHARED_FIELD.get(code, {code})
    assert states[code] is Truth.UNKNOWN
    assert protocol.evaluate_eligibility(values).eligible is Truth.UNKNOWN
