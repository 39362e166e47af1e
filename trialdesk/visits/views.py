"""Visit date, missed and unscheduled visits, and the site worklist."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from trialdesk.accounts.access import Refused, get_access, require_role
from trialdesk.participants.scoping import (
    ENTRY_ROLES,
    in_scope_or_404,
    participant_or_404,
)
from trialdesk.visits.actions import (
    VisitError,
    do_add_unscheduled_visit,
    do_mark_visit_missed,
    do_record_visit_date,
)
from trialdesk.visits.models import Visit


def _visit_for_entry(request, pk: int) -> Visit:
    visit = get_object_or_404(Visit.objects.select_related("participant__site"), pk=pk)
    in_scope_or_404(request, visit.participant)
    if not get_access(request).can(ENTRY_ROLES, visit.participant.site_id):
        raise Refused("only site staff record visits")
    return visit


def _back(visit):
    return redirect("participants:detail", subject_id=visit.participant.subject_id)


@require_role(*ENTRY_ROLES)
def record_date(request, pk: int):
    if request.method != "POST":
        return redirect("participants:list")
    visit = _visit_for_entry(request, pk)
    try:
        day = dt.date.fromisoformat(request.POST.get("actual_date", ""))
    except ValueError:
        messages.error(request, "the visit date must be a date (YYYY-MM-DD)")
        return _back(visit)
    try:
        do_record_visit_date(visit, day, request.user, reason=request.POST.get("reason", ""))
    except VisitError as exc:
        messages.error(request, str(exc))
    return _back(visit)


@require_role(*ENTRY_ROLES)
def mark_missed(request, pk: int):
    if request.method != "POST":
        return redirect("participants:list")
    visit = _visit_for_entry(request, pk)
    try:
        do_mark_visit_missed(visit, request.user, reason=request.POST.get("reason", ""))
    except VisitError as exc:
        messages.error(request, str(exc))
    return _back(visit)


@require_role(*ENTRY_ROLES)
def add_unscheduled(request, subject_id: str):
    if request.method != "POST":
        return redirect("participants:list")
    participant = participant_or_404(request, subject_id)
    if not get_access(request).can(ENTRY_ROLES, participant.site_id):
        raise Refused("only site staff add visits")
    try:
        do_add_unscheduled_visit(participant, request.user, reason=request.POST.get("reason", ""))
    except VisitError as exc:
        messages.error(request, str(exc))
    return redirect("participants:detail", subject_id=subject_id)
