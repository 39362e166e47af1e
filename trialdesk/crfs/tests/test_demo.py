"""`trialdesk demo load` enters synthetic data through the real actions."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from trialdesk.audit.chain import verify
from trialdesk.audit.reconcile import reconcile
from trialdesk.commands.demo import demo
from trialdesk.crfs.models import ItemValue
from trialdesk.participants.models import Participant


@pytest.mark.django_db(transaction=True)
def test_demo_load_small_study():
    result = CliRunner().invoke(demo, ["load", "--participants", "5", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "participants: 5" in result.output
    assert Participant.objects.count() == 5
    assert ItemValue.objects.count() > 100
    assert verify().ok and reconcile() == []
    # Blinding: no arm code reaches the clinical tables.
    values = {str(v) for v in ItemValue.objects.values_list("value", flat=True)}
    assert not values & {"EXO", "PBO"}


@pytest.mark.django_db(transaction=True)
def test_demo_load_refuses_a_study_with_participants():
    assert CliRunner().invoke(demo, ["load", "--participants", "1"]).exit_code == 0
    again = CliRunner().invoke(demo, ["load", "--participants", "1"])
    assert again.exit_code == 1 and "already holds 1 participant:" in again.output


@pytest.mark.django_db(transaction=True)
def test_demo_load_fills_every_study_and_keeps_them_apart():
    from trialdesk.paths import PROTOCOLS_DIR
    from trialdesk.studies.actions import do_load_protocol

    for name in ("nct07183384.yaml", "iron-pp.yaml"):
        do_load_protocol(PROTOCOLS_DIR / name, reason="test: two studies")
    refused = CliRunner().invoke(demo, ["load", "--participants", "2"])
    assert refused.exit_code == 2 and "NCT07183384, TD-IRON-PP" in refused.output
    result = CliRunner().invoke(demo, ["load", "--participants", "4", "--seed", "7", "--all"])
    assert result.exit_code == 0, result.output
    for study in ("NCT07183384", "TD-IRON-PP"):
        assert Participant.objects.filter(study_id=study).count() == 4
        assert ItemValue.objects.filter(participant__study_id=study).count() > 20
        # Each participant's site is a site of her own study.
        assert not Participant.objects.filter(study_id=study).exclude(site__study_id=study)
    assert verify().ok and reconcile() == []
    values = {str(v) for v in ItemValue.objects.values_list("value", flat=True)}
    assert not values & {"EXO", "PBO", "FCM1000", "FCM500"}
