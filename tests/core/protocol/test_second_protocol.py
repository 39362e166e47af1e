"""The deployment's second study (protocols/iron-pp.yaml): three arms 2:1:1, unstratified."""

from __future__ import annotations

import pytest

from trialdesk.core.protocol import load_protocol
from trialdesk.paths import PROTOCOLS_DIR

PROTOCOLS = sorted(PROTOCOLS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", PROTOCOLS, ids=lambda p: p.name)
def test_every_protocol_file_loads(path) -> None:
    assert load_protocol(path).study.id


def test_iron_pp_shape() -> None:
    p = load_protocol(PROTOCOLS_DIR / "iron-pp.yaml")
    assert p.study.id == "TD-IRON-PP"
    assert {code: arm.ratio for code, arm in p.arms.items()} == {
        "FCM1000": 2,
        "FCM500": 1,
        "PBO": 1,
    }
    assert p.allocation.strata == ()
    assert p.schedule_of_activities()["W6"] == ("vitals", "labs", "fatigue", "disposition")
    # Eligibility reads the screening haemoglobin: 10.5 g/dL is not anaemic enough.
    result = p.evaluate_eligibility({"screening.hgb": 10.5})
    assert "I5" in result.failing()
    assert "I5" not in p.evaluate_eligibility({"screening.hgb": 8.0}).failing()
