"""The registries higher apps use: a gate refuses randomization and dosing with its message and
nothing is written; a form hook sees every change and can refuse the save."""

from __future__ import annotations

import pytest

from trialdesk.crfs import hooks as crfs_hooks
from trialdesk.crfs.actions import do_save_form
from trialdesk.crfs.models import ItemValue
from trialdesk.randomization import actions, hooks
from trialdesk.randomization.models import Allocation
from trialdesk.randomization.tests.helpers import ready, setup_list
from trialdesk.testing.participants import visit_of


def test_a_gate_refuses_randomization_with_its_message_and_nothing_is_written(
    personas, monkeypatch
):
    setup_list(personas)
    p = ready(personas)
    asked = []

    def paused(participant, what):
        asked.append((participant.subject_id, what))
        return "enrolment paused by the safety rule 'x': a DSMB decision is required"

    monkeypatch.setattr(hooks, "gates", [paused])
    with pytest.raises(actions.RandomizationError, match="enrolment paused by the safety rule"):
        actions.do_randomize_participant(p, personas["coord_a"])
    assert asked == [(p.subject_id, "randomize")]
    assert not Allocation.objects.filter(participant=p).exists()
    monkeypatch.setattr(hooks, "gates", [lambda participant, what: None])
    assert actions.do_randomize_participant(p, personas["coord_a"]).participant == p


def test_form_hooks_see_the_changed_items_and_can_refuse_the_save(personas, monkeypatch):
    p = ready(personas)
    seen = []
    monkeypatch.setattr(
        crfs_hooks,
        "on_form_saved",
        [lambda fi, changed, user, role: seen.append((fi.form_code, changed, user.username, role))],
    )
    visit = visit_of(p, "SCR")
    do_save_form(
        visit, "consent", personas["coord_a"], raw={"participant_signed": "yes", "copy_given": "no"}
    )
    assert seen == [("consent", ["copy_given"], "coord_a", "coordinator")]
    do_save_form(
        visit, "consent", personas["coord_a"], raw={"participant_signed": "yes", "copy_given": "no"}
    )
    assert len(seen) == 1  # nothing changed: no hook

    def refuse(fi, changed, user, role):
        raise ValueError("refused by a hook")

    monkeypatch.setattr(crfs_hooks, "on_form_saved", [refuse])
    with pytest.raises(ValueError, match="refused by a hook"):
        do_save_form(
            visit,
            "consent",
            personas["coord_a"],
            raw={"participant_signed": "yes", "copy_given": "yes"},
        )
    row = ItemValue.objects.get(participant=p, item="copy_given")
    assert row.value is False  # the save was rolled back
