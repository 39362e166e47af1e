"""The protocol's ``adverse_events:`` section: field roles, codes and the form are checked."""

from __future__ import annotations

import pytest

from trialdesk.core.protocol import ProtocolError, load_protocol_text
from trialdesk.paths import DEFAULT_PROTOCOL

ORIGINAL = DEFAULT_PROTOCOL.read_text(encoding="utf-8")


def test_the_study_names_its_ae_form_fields_and_clocks():
    p = load_protocol_text(ORIGINAL)
    spec = p.adverse_events
    assert spec.form == "ae" and spec.fields.grade == "severity"
    assert spec.related == ("POSSIBLE", "PROBABLE", "DEFINITE")
    assert spec.clocks.sae_initial_hours == 24
    assert (spec.clocks.susar_fatal_days, spec.clocks.susar_other_days) == (7, 15)


@pytest.mark.parametrize(
    "old, new, path, message",
    [
        (
            "  form: ae\n  fields:\n",
            "  form: aes\n  fields:\n",
            "adverse_events.form",
            "unknown form 'aes'",
        ),
        (
            "  form: ae\n  fields:\n",
            "  form: vitals\n  fields:\n",
            "adverse_events.form",
            "must be a log form",
        ),
        (
            "    grade: severity\n",
            "    grade: serious\n",
            "adverse_events.fields.grade",
            "grade must be choice",
        ),
        (
            "    onset: onset_at\n",
            "    onset: onset_time\n",
            "adverse_events.fields.onset",
            "has no field 'onset_time'",
        ),
        (
            "  related: [POSSIBLE, PROBABLE, DEFINITE]\n",
            "  related: [POSSIBLE, LIKELY]\n",
            "adverse_events.related.1",
            "'LIKELY' is not in codelist 'relatedness'",
        ),
    ],
)
def test_a_wrong_reference_is_reported_with_its_path(old, new, path, message):
    assert old in ORIGINAL
    with pytest.raises(ProtocolError) as refused:
        load_protocol_text(ORIGINAL.replace(old, new, 1))
    text = str(refused.value)
    assert path in text and message in text, text
