"""Participant list, registration, the casebook overview, and the identity page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialdesk.accounts.access import get_access, require_role
from trialdesk.participants.actions import (
    do_create_participant,
    do_update_identity,
    do_view_identity,
)
from trialdesk.participants.forms import IdentityForm, RegisterForm
from trialdesk.participants.scoping import (
    ENTRY_ROLES,
    READ_ROLES,
    participant_or_404,
    visible_participants,
)


@require_role(*READ_ROLES)
def participant_list(request):
    rows = visible_participants(request).annotate(
        open_queries=Count("queries", filter=~Q(queries__status="closed"), distinct=True),
        open_alerts=Count("alerts", filter=Q(alerts__acknowledged_at__isnull=True), distinct=True),
    )
    can_register = bool(get_access(request).sites(*ENTRY_ROLES).exists())
    return render(
        request, "participants/list.html", {"participants": rows, "can_register": can_register}
    )


@require_role(*ENTRY_ROLES)
def register(request):
    sites = get_access(request).sites(*ENTRY_ROLES)
    form = RegisterForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        participant = do_create_participant(
            data["site"],
            request.user,
            identity={k: data[k] for k in ("name", "phone", "address", "mrn")},
        )
        messages.success(request, _("Registered %(id)s") % {"id": participant.study_id})
        return redirect("participants:detail", study_id=participant.study_id)
    return render(
        request, "participants/register.html", {"form": form}, status=422 if form.errors else 200
    )


@require_role(*READ_ROLES)
def detail(request, study_id: str):
    from trialdesk.crfs.actions import forms_at_visit
    from trialdesk.crfs.models import ClinicalAlert, FormInstance, Query
    from trialdesk.studies.registry import get_protocol

    participant = participant_or_404(request, study_id)
    protocol = get_protocol()
    access = get_access(request)
    instances = {}
    for fi in FormInstance.objects.filter(participant=participant):
        instances.setdefault((fi.visit_id, fi.form_code), []).append(fi)
    today = dt.date.today()
    log_codes = set(protocol.log_forms())
    visits = []
    for visit in participant.visits.all().order_by("sequence", "repeat"):
        spec = protocol.visits.get(visit.code)
        forms = []
        for code in forms_at_visit(visit):
            if code in log_codes:
                continue
            rows = instances.get((visit.pk, code), [])
            forms.append({"code": code, "form": protocol.forms[code], "instances": rows})
        visits.append(
            {
                "visit": visit,
                "spec": spec,
                "state": visit.state(today),
                "state_label": visit.state_label(today),
                "forms": forms,
            }
        )
    return render(
        request,
        "participants/detail.html",
        {
            "participant": participant,
            "visits": visits,
            "logs": _logs(protocol, participant, log_codes, today),
            "queries": Query.objects.filter(participant=participant).exclude(status="closed")[:50],
            "alerts": ClinicalAlert.objects.filter(
                participant=participant, acknowledged_at__isnull=True
            ),
            "can_enter": access.can(ENTRY_ROLES, participant.site_id),
            "can_see_identity": access.can(ENTRY_ROLES, participant.site_id),
            "unscheduled": [
                v for v in protocol.visits.values() if not v.scheduled or v.day is None
            ],
        },
    )


@require_role(*ENTRY_ROLES)
def identity(request, study_id: str):
    participant = participant_or_404(request, study_id)
    if not get_access(request).can(ENTRY_ROLES, participant.site_id):
        raise PermissionDenied("only the participant's site staff see identifying data")
    current = do_view_identity(participant, request.user)
    form = IdentityForm(request.POST or None, initial=current.__dict__)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        do_update_identity(participant, request.user, identity=data, reason=data["reason"])
        messages.success(request, _("Identifying data updated"))
        return redirect("participants:identity", study_id=study_id)
    return render(
        request,
        "participants/identity.html",
        {"participant": participant, "form": form},
        status=422 if form.errors else 200,
    )


def _logs(protocol, participant, log_codes, today):
    """Log forms (adverse events, medication) across all visits, and where a new entry goes:
    the latest visit that has taken place (else the first visit)."""
    from trialdesk.crfs.models import FormInstance

    visits = list(participant.visits.all().order_by("sequence", "repeat"))
    done = [v for v in visits if v.actual_date and v.actual_date <= today]
    target = (
        max(done, key=lambda v: (v.actual_date, v.sequence))
        if done
        else (visits[0] if visits else None)
    )
    out = []
    for code in protocol.log_forms():
        entries = list(
            FormInstance.objects.filter(participant=participant, form_code=code)
            .select_related("visit")
            .order_by("created_at")
        )
        next_repeat = 1 + max(
            (e.repeat for e in entries if target and e.visit_id == target.pk), default=0
        )
        out.append(
            {
                "code": code,
                "form": protocol.forms[code],
                "entries": entries,
                "target": target,
                "next_repeat": next_repeat,
            }
        )
    return out
