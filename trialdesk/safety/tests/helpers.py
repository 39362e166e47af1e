"""Saving AE forms the way a site does (crfs.do_save_form), for the safety tests."""

from __future__ import annotations

import datetime as dt

from trialdesk.crfs.actions import do_save_form
from trialdesk.testing.participants import visit_of


def wall(when: dt.datetime) -> str:
    """An aware instant as the form's site wall time (Asia/Jakarta, UTC+7)."""
    return (when + dt.timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M")


def ae_raw(**over) -> dict:
    now = dt.datetime.now(dt.UTC)
    raw = {
        "term": "Headache",
        "ctcae_term": "Headache",
        "term_is_fever": "no",
        "onset_at": wall(now - dt.timedelta(hours=3)),
        "ongoing": "yes",
        "severity": "G1",
        "serious": "no",
        "relatedness": "UNLIKELY",
        "expected": "no",
        "action_taken": "NOT_APPLICABLE",
        "outcome": "RECOVERING",
    }
    raw.update(over)
    return raw


def sae_raw(aware: dt.datetime, **over) -> dict:
    base = {
        "term": "Severe headache with hospital admission",
        "severity": "G3",
        "serious": "yes",
        "seriousness": "HOSPITALISATION",
        "aware_at": wall(aware),
        "onset_at": wall(aware - dt.timedelta(hours=2)),
    }
    return ae_raw(**{**base, **over})


def save_ae(participant, user, raw: dict, repeat: int = 1, visit: str = "D7"):
    return do_save_form(visit_of(participant, visit), "ae", user, raw=raw, repeat=repeat)
