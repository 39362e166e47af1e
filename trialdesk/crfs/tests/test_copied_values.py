"""``copy_of``: the day-7 qPCR sample is calibrated to the same participant's pre-dose ΔCt
(``mirna.calibrator_dct`` copies ``D0.dct``), whichever form is saved first, and a corrected
pre-dose value reaches every later sample with its derivations, audited."""

from __future__ import annotations

import pytest
from django.utils import timezone

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.actions import CrfError, do_save_form
from trialdesk.crfs.models import FormInstance, ItemValue
from trialdesk.testing.participants import make_participant, visit_of


def _raw(p, visit, ct126):
    return {
        "sample_id": f"{p.subject_id}-{visit}",
        "drawn_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "tube_type": "EDTA",
        "ct_mir126": f"{ct126:.2f}",
        "ct_cel39": "20.00",
        "ct_mir23a": "25.00",
        "ct_mir451a": "21.00",
        "calibrator": "SUBJECT_BASELINE",
    }


def _value(p, visit, item):
    fi = FormInstance.objects.get(visit=visit_of(p, visit), form_code="mirna")
    row = ItemValue.objects.filter(form=fi, item=item).first()
    return None if row is None or row.status not in ("entered", "derived") else row.num_value


@pytest.fixture
def dosed(personas):
    import datetime as dt

    from trialdesk.visits.actions import do_record_visit_date

    p = make_participant(personas, "01", anchor=timezone.localdate() - dt.timedelta(days=7))
    for code in ("D0", "D7"):
        do_record_visit_date(visit_of(p, code), visit_of(p, code).target_date, personas["coord_a"])
    return p


def test_day_7_before_day_0_then_day_0_fills_and_derives(personas, dosed):
    p, coord = dosed, personas["coord_a"]
    do_save_form(visit_of(p, "D7"), "mirna", coord, raw=_raw(p, "D7", 27.0))  # ΔCt 7.0
    assert _value(p, "D7", "calibrator_dct") is None  # no pre-dose sample yet
    assert _value(p, "D7", "log2_fold_change") is None
    do_save_form(visit_of(p, "D0"), "mirna", coord, raw=_raw(p, "D0", 28.5))  # ΔCt 8.5
    assert _value(p, "D0", "calibrator_dct") is None  # the source visit copies nothing
    assert _value(p, "D7", "calibrator_dct") == pytest.approx(8.5)
    assert _value(p, "D7", "log2_fold_change") == pytest.approx(1.5)  # -(7.0 - 8.5)
    assert _value(p, "D7", "fold_change") == pytest.approx(2**1.5, rel=1e-3)
    event = AuditEvent.objects.filter(
        object_type="crfs.itemvalue", participant=p.subject_id, reason__startswith="copied from"
    ).get()
    assert "D0.dct" in event.reason and event.actor_username == "coord_a"


def test_a_corrected_pre_dose_value_reaches_day_7(personas, dosed):
    p, coord = dosed, personas["coord_a"]
    do_save_form(visit_of(p, "D0"), "mirna", coord, raw=_raw(p, "D0", 28.0))  # ΔCt 8.0
    do_save_form(visit_of(p, "D7"), "mirna", coord, raw=_raw(p, "D7", 27.0))  # ΔCt 7.0
    assert _value(p, "D7", "log2_fold_change") == pytest.approx(1.0)
    do_save_form(visit_of(p, "D0"), "mirna", coord, raw=_raw(p, "D0", 29.0), reason="re-run")
    assert _value(p, "D7", "calibrator_dct") == pytest.approx(9.0)
    assert _value(p, "D7", "log2_fold_change") == pytest.approx(2.0)


def test_the_copy_cannot_be_typed(personas, dosed):
    p = dosed
    with pytest.raises(CrfError) as refused:
        do_save_form(
            visit_of(p, "D7"),
            "mirna",
            personas["coord_a"],
            raw={**_raw(p, "D7", 27.0), "calibrator_dct": "3.0"},
        )
    assert "calibrator_dct" in refused.value.errors


def test_the_protocol_names_a_visit_and_a_field_of_the_same_form():
    import re

    from trialdesk.core.protocol import ProtocolError, load_protocol_text
    from trialdesk.paths import DEFAULT_PROTOCOL

    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    assert "copy_of: D0.dct" in text
    for bad, words in (("D99.dct", "no visit 'D99'"), ("SCR.dct", "does not collect form mirna"),
                       ("D0.nope", "has no field 'nope'")):  # fmt: skip
        with pytest.raises(ProtocolError, match=re.escape(words)):
            load_protocol_text(text.replace("copy_of: D0.dct", f"copy_of: {bad}"))
