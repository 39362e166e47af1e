"""Randomized and dosed participants, and AEs on them, for the DSMB tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from trialdesk.crfs.actions import do_save_form
from trialdesk.randomization import actions as ra
from trialdesk.randomization.models import Allocation
from trialdesk.randomization.tests.helpers import ready, setup_list
from trialdesk.testing.participants import visit_of
from trialdesk.visits.actions import do_record_visit_date

__all__ = ["ae", "dose", "dosed_participants", "ready", "setup_list"]


def dose(personas, p):
    a = ra.do_randomize_participant(p, personas["coord_a"])
    start = timezone.now() - dt.timedelta(hours=2)
    Allocation.objects.filter(pk=a.pk).update(allocated_at=start - dt.timedelta(hours=1))
    ra.do_record_preparation(
        a,
        personas["pharm_a"],
        lot="L1",
        volume_ml=Decimal("100"),
        prepared_at=start - dt.timedelta(minutes=30),
    )
    ra.do_record_dosing(
        p,
        personas["coord_a"],
        route="IV",
        volume_ml=Decimal("100"),
        started_at=start,
        stopped_at=start + dt.timedelta(hours=1),
        administered_by=personas["inv_a"],
    )
    a.refresh_from_db()
    return a


def dosed_participants(personas, *, exo: int, other: int = 0):
    """Randomize and dose until ``exo`` EXO and ``other`` non-EXO participants are dosed."""
    out: dict[str, list] = {"EXO": [], "other": []}
    while len(out["EXO"]) < exo or len(out["other"]) < other:
        p = ready(personas)
        a = dose(personas, p)
        out["EXO" if a.arm == "EXO" else "other"].append(p)
    return out


def ae(personas, p, repeat: int, *, serious=True, relatedness="POSSIBLE", outcome="RECOVERING"):
    d7 = visit_of(p, "D7")
    if d7.actual_date is None:
        do_record_visit_date(d7, timezone.localdate(), personas["coord_a"])
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    raw = {
        "term": "Pulmonary oedema",
        "term_is_fever": "no",
        "onset_at": now,
        "ongoing": "yes",
        "severity": "G5" if outcome == "FATAL" else "G3",
        "serious": "yes" if serious else "no",
        "seriousness": ("DEATH" if outcome == "FATAL" else "HOSPITALISATION") if serious else "",
        "relatedness": relatedness,
        "action_taken": "NOT_APPLICABLE",
        "outcome": outcome,
        "aesi": "",
        "aware_at": now if serious else "",
    }
    return do_save_form(d7, "ae", personas["inv_a"], raw=raw, repeat=repeat, reason="test")
