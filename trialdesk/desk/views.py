"""Pages that compose several apps: the staff home, the participant list and casebook, the
site worklist, and the audit trail pages.

This is the top layer (docs/architecture.md): it reads accounts, audit, studies, participants,
visits, crfs, ... and no app imports it. Each app's URL namespace keeps its names (``studies:home``,
``participants:detail``, ``visits:worklist``, ``audit:participant``): ``trialdesk.site.urls``
mounts these views in them.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix
from django.utils.translation import gettext, ngettext
from django_tables2 import RequestConfig

from trialdesk.accounts.access import get_access, require_role, studies_of
from trialdesk.accounts.models import Membership, Role, RoleRequest, Site
from trialdesk.audit.actions import events_of_study, record
from trialdesk.audit.export import FORMATS, parse_day, stream
from trialdesk.crfs.actions import forms_at_visit
from trialdesk.crfs.models import ClinicalAlert, FormInstance, Query
from trialdesk.desk.lists import PER_PAGE, ParticipantFilter, ParticipantTable
from trialdesk.desk.trail import describe
from trialdesk.enrolment.models import EligibilityAssessment
from trialdesk.participants.models import Participant
from trialdesk.participants.scoping import (
    ENTRY_ROLES,
    READ_ROLES,
    participant_or_404,
    visible_participants,
)
from trialdesk.randomization.models import Allocation
from trialdesk.studies.models import Study
from trialdesk.studies.registry import get_protocol
from trialdesk.visits.models import Visit

EXPORT_ROLES = (Role.DATA_MANAGER, Role.MONITOR)
#: Who reviews a participant's trail: everyone who reads the casebook (scoped to their sites).
REVIEW_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER)


def study_home_url(code: str) -> str:
    """Where study ``code`` begins (trialdesk.site.urls puts every study under /staff/<code>/)."""
    return f"{get_script_prefix()}staff/{code}/"


# -- the studies a person works in, and each study's home -------------------------------------


@login_required
def my_studies(request):
    """The studies the user holds a role in; with exactly one, straight into it."""
    codes = studies_of(request.user)
    if len(codes) == 1:
        return redirect(study_home_url(codes[0]))
    memberships = (
        Membership.objects.filter(user=request.user, active=True)
        .select_related("site")
        .order_by("study_id", "role")
    )
    by_study: dict[str, list[str]] = {}
    for m in memberships:
        where = m.site.code if m.site_id else gettext("all sites")
        by_study.setdefault(m.study_id, []).append(f"{m.get_role_display()} ({where})")
    rows = [
        {
            "study": study,
            "roles": by_study.get(study.code, []),
            "url": study_home_url(study.code),
        }
        for study in Study.objects.filter(code__in=codes)
    ]
    return render(request, "desk/my_studies.html", {"rows": rows})


def old_staff_url(request, rest: str):
    """A bookmark from before studies had their own URLs: into the user's only study."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    codes = studies_of(request.user)
    if len(codes) != 1:
        raise Http404("this page belongs to a study: choose the study first")
    query = f"?{request.META['QUERY_STRING']}" if request.META.get("QUERY_STRING") else ""
    return redirect(f"{study_home_url(codes[0])}{rest}{query}")


@login_required
def staff_home(request):
    protocol = get_protocol(request.study)
    access = get_access(request)
    visits = list(protocol.visits.values())
    forms = list(protocol.forms.values())
    rows = [
        {"form": form, "cells": [form.code in visit.forms for visit in visits]} for form in forms
    ]
    return render(
        request,
        "desk/home.html",
        {
            "protocol": protocol,
            "visits": visits,
            "soa_rows": rows,
            "sites": access.sites(),
            "roles": sorted(access.roles),
            "capture": capture_counts(request),
            "progress": progress_counts(request),
            "administration": administration_counts(request),
        },
    )


#: Who oversees the whole study without entering data: study-wide counts that name no arm.
OVERSIGHT_ROLES = (
    Role.STATISTICIAN,
    Role.UNBLINDED_STATISTICIAN,
    Role.DSMB,
    Role.SAFETY_PHYSICIAN,
)


def progress_counts(request) -> dict | None:
    """The study's progress over every site and every arm together (never per arm): for the
    statisticians and the DSMB, whose work on the study home is the schedule and these counts."""
    if not get_access(request).has_role(*OVERSIGHT_ROLES):
        return None
    participants = Participant.objects.filter(study=request.study)
    by_status = {
        row["status"]: row["n"]
        for row in participants.order_by().values("status").annotate(n=Count("pk"))
    }
    forms = FormInstance.objects.filter(participant__study=request.study)
    return {
        "statuses": [
            (label, by_status.get(value, 0)) for value, label in Participant.Status.choices
        ],
        "participants": participants.count(),
        "randomized": Allocation.objects.filter(participant__study=request.study).count(),
        "visits_done": Visit.objects.filter(
            participant__study=request.study, actual_date__isnull=False
        ).count(),
        "forms_signed": forms.filter(status__in=["signed", "locked"]).count(),
        "forms_locked": forms.filter(status="locked").count(),
    }


def administration_counts(request) -> dict | None:
    """For the administrator: the study's people, sites and pending role requests."""
    if not get_access(request).has_role(Role.ADMIN):
        return None
    return {
        "people": Membership.objects.filter(study=request.study, active=True)
        .values("user")
        .distinct()
        .count(),
        "sites": Site.objects.filter(study=request.study).count(),
        "active_sites": Site.objects.filter(study=request.study, active=True).count(),
        "pending_requests": RoleRequest.objects.filter(
            study=request.study, status=RoleRequest.Status.PENDING
        ).count(),
    }


def capture_counts(request) -> dict | None:
    if not get_access(request).has_role(*READ_ROLES):
        return None
    participants = visible_participants(request)
    today = dt.date.today()
    pending = Visit.objects.filter(
        participant__in=participants,
        actual_date__isnull=True,
        missed=False,
        latest_date__isnull=False,
    )
    return {
        "participants": participants.count(),
        "open_queries": Query.objects.filter(participant__in=participants)
        .exclude(status="closed")
        .count(),
        "open_alerts": ClinicalAlert.objects.filter(
            participant__in=participants, acknowledged_at__isnull=True
        ).count(),
        "overdue_visits": pending.filter(latest_date__lt=today).count(),
        "due_this_week": pending.filter(
            latest_date__gte=today, earliest_date__lte=today + dt.timedelta(days=7)
        ).count(),
        "forms_in_progress": FormInstance.objects.filter(
            participant__in=participants, status="in_progress"
        ).count(),
        "forms_to_sign": FormInstance.objects.filter(
            participant__in=participants, status__in=["complete", "verified"]
        ).count(),
    }


# -- participants ----------------------------------------------------------------------------


@require_role(*READ_ROLES)
def participant_list(request):
    """The participants at the person's sites: searched by Study ID, filtered by site and
    status, sorted by any column, 25 a page (desk.lists)."""
    access = get_access(request)
    rows = (
        visible_participants(request)
        .filter(study=request.study)
        .annotate(
            open_queries=Count("queries", filter=~Q(queries__status="closed"), distinct=True),
            open_alerts=Count(
                "alerts", filter=Q(alerts__acknowledged_at__isnull=True), distinct=True
            ),
        )
    )
    filterset = ParticipantFilter(
        request.GET or None, queryset=rows, sites=access.sites(*READ_ROLES).order_by("code")
    )
    table = ParticipantTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    can_register = bool(access.sites(*ENTRY_ROLES).exists())
    return render(
        request,
        "desk/participant_list.html",
        {"filter": filterset, "table": table, "can_register": can_register},
    )


@require_role(*READ_ROLES)
def casebook(request, subject_id: str):
    participant = participant_or_404(request, subject_id)
    protocol = get_protocol(request.study)
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
        "desk/casebook.html",
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


def _logs(protocol, participant, log_codes, today):
    """Log forms (adverse events, medication) across all visits, and where a new entry goes:
    the latest visit that has taken place (else the first visit)."""
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


# -- visits ----------------------------------------------------------------------------------


def worklist_data(request, today: dt.date | None = None) -> dict:
    today = today or dt.date.today()
    week_end = today + dt.timedelta(days=7)
    participants = visible_participants(request)
    visits = Visit.objects.filter(
        participant__in=participants,
        actual_date__isnull=True,
        missed=False,
        target_date__isnull=False,
    ).select_related("participant__site")
    due = [
        v
        for v in visits
        if v.state(today) == Visit.State.DUE
        or (
            v.state(today) == Visit.State.UPCOMING
            and (v.earliest_date or v.target_date) <= week_end
        )
    ]
    overdue = [v for v in visits if v.state(today) == Visit.State.OVERDUE]
    incomplete = FormInstance.objects.filter(
        participant__in=participants, status="in_progress"
    ).select_related("visit", "participant")
    queries = (
        Query.objects.filter(participant__in=participants)
        .exclude(status="closed")
        .select_related("form__visit", "participant")
    )
    return {
        "today": today,
        "due": sorted(due, key=lambda v: v.target_date),
        "overdue": sorted(overdue, key=lambda v: v.latest_date or v.target_date),
        "incomplete": incomplete[:200],
        "queries": queries[:200],
        "open_query_count": queries.count(),
    }


@require_role(*READ_ROLES)
def worklist(request):
    return render(request, "desk/worklist.html", worklist_data(request))


# -- signatures ------------------------------------------------------------------------------


def signing_worklist_data(request) -> dict:
    """What awaits the investigator's signature at the sites where she is an investigator:
    forms complete or source-verified (not signed, not locked) with what the protocol's
    ``signing`` rules say about each, and the latest eligibility assessment of a participant
    that is eligible and not yet confirmed. Blinded: no arm, nothing from randomization."""
    policy = get_protocol(request.study).signing
    site_ids = get_access(request).site_ids(Role.INVESTIGATOR)
    participants = Participant.objects.all()
    participants = participants.filter(site_id__in=site_ids)
    forms = (
        FormInstance.objects.filter(
            participant__in=participants,
            status__in=(FormInstance.Status.COMPLETE, FormInstance.Status.VERIFIED),
        )
        .annotate(open_queries=Count("queries", filter=~Q(queries__status=Query.Status.CLOSED)))
        .select_related("participant__site", "visit")
        .order_by("updated_at", "pk")
    )
    rows = []
    for fi in forms[:500]:
        verified = fi.status == FormInstance.Status.VERIFIED
        blocks, warnings = [], []
        if fi.open_queries:
            (blocks if policy.open_queries == "block" else warnings).append(
                ngettext("%(n)d open query", "%(n)d open queries", fi.open_queries)
                % {"n": fi.open_queries}
            )
        if not verified:
            (blocks if policy.source_verification == "require" else warnings).append(
                gettext("not source-verified")
            )
        rows.append({"fi": fi, "blocks": blocks, "warnings": warnings})
    latest = EligibilityAssessment.objects.filter(participant=OuterRef("participant")).order_by(
        "-assessed_at", "-pk"
    )
    eligibility = (
        EligibilityAssessment.objects.filter(
            participant__in=participants,
            result=EligibilityAssessment.Result.ELIGIBLE,
            signature__isnull=True,
        )
        .filter(pk=Subquery(latest.values("pk")[:1]))
        .select_related("participant__site")
        .order_by("assessed_at", "pk")
    )
    return {
        "forms": rows,
        "form_count": forms.count(),
        "eligibility": list(eligibility[:500]),
        "policy": policy,
    }


@require_role(Role.INVESTIGATOR)
def signing_worklist(request):
    return render(request, "desk/signing_worklist.html", signing_worklist_data(request))


# -- audit -----------------------------------------------------------------------------------


@require_role(*EXPORT_ROLES)
def export(request):
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        return HttpResponseBadRequest(f"format must be one of {', '.join(FORMATS)}")
    try:
        start, end = parse_day(request.GET.get("from")), parse_day(request.GET.get("to"), end=True)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    with transaction.atomic(durable=True):
        record(
            "export",
            actor=request.user,
            study=request.study,
            object_type="audit.trail",
            object_id=fmt,
            new={"from": request.GET.get("from"), "to": request.GET.get("to"), "format": fmt},
            reason="audit trail export (web)",
        )
    response = StreamingHttpResponse(
        stream(fmt, start, end, study=request.study.code),
        content_type="text/csv" if fmt == "csv" else "application/x-ndjson",
    )
    extension = "csv" if fmt == "csv" else "jsonl"
    response["Content-Disposition"] = (
        f'attachment; filename="audit-trail-{request.study.code}.{extension}"'
    )
    return response


@require_role(*REVIEW_ROLES)
def participant_trail(request, subject_id: str):
    """Everything that happened to one participant's records, newest first (ICH E6(R3) 4.2.2(c):
    audit trails that people can review)."""
    participant = participant_or_404(request, subject_id)
    events = events_of_study(participant.study_id).filter(participant=participant.subject_id)
    events = events.order_by("-seq")
    action = request.GET.get("action", "")
    if action:
        events = events.filter(action=action)
    page = Paginator(events, 200).get_page(request.GET.get("page"))
    rows = describe(page.object_list, get_protocol(request.study))  # in words, as the study trail
    return render(
        request,
        "desk/participant_trail.html",
        {"participant": participant, "page": page, "rows": rows, "action": action},
    )
