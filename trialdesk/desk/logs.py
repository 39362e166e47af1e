"""The study-wide audit trail and the deviation log: filtered, sorted, paged pages and the CSV
of exactly the rows a filter selects.

Scoping: the events of the request's study (``audit.actions.events_of_study``); a person whose
role is held at some sites only sees the events of those sites' participants. Blinding: the
same events as the per-participant trail and the audit export show (arms and lots travel as
digests in them); ``desk.trail.describe`` adds labels from the protocol and never reads an
allocation.
"""

from __future__ import annotations

import csv
import io

from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django_tables2 import RequestConfig

from trialdesk.accounts.access import get_access, require_role, role_at
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import events_of_study, record
from trialdesk.audit.export import safe_cell
from trialdesk.desk.lists import (
    DEVIATION_CSV_HEADER,
    PER_PAGE,
    AuditFilter,
    AuditTable,
    DeviationFilter,
    DeviationTable,
    deviation_csv_row,
    deviation_rows,
)
from trialdesk.desk.trail import Described, describe
from trialdesk.participants.models import Participant
from trialdesk.studies.registry import get_protocol

#: Who reads the whole study's trail: those who may export it (desk.views.EXPORT_ROLES).
TRAIL_ROLES = (Role.DATA_MANAGER, Role.MONITOR)
#: Who reads the deviation log: everyone who reviews a participant's trail, at their sites.
DEVIATION_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER)


def _participants(request, roles):
    """The study's participants at the sites where the person holds one of ``roles``."""
    ids = get_access(request).site_ids(*roles)
    return Participant.objects.filter(study=request.study, site_id__in=ids)


def _study_wide(request, roles) -> bool:
    return any(role in roles and site is None for role, site in get_access(request).grants)


def scoped_events(request, roles):
    """The study's events the person may read: all of them with a study-wide role, else those
    of the participants at their sites."""
    events = events_of_study(request.study.code)
    if not _study_wide(request, roles):
        events = events.filter(
            participant__in=_participants(request, roles).values("subject_id")
        ).exclude(participant="")
    return events


def _csv(header, rows):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _audit_export(request, what: str, filters: dict) -> None:
    with transaction.atomic(durable=True):
        record(
            "export",
            actor=request.user,
            role=role_at(request.user, None, study=request.study.pk),
            study=request.study,
            object_type="audit.trail",
            object_id=what,
            new={"filter": filters, "format": "csv"},
            reason=f"{what} export (web, filtered)",
        )


def _filters(request, names) -> dict:
    return {name: request.GET[name] for name in names if request.GET.get(name)}


# -- the study-wide trail --------------------------------------------------------------------


def _trail_filter(request):
    protocol = get_protocol(request.study)
    events = scoped_events(request, TRAIL_ROLES)
    participants = _participants(request, TRAIL_ROLES)
    return protocol, AuditFilter(
        request.GET or None, queryset=events, protocol=protocol, participants=participants
    )


@require_role(*TRAIL_ROLES)
def study_trail(request):
    """Everything that happened in the study, filtered by user, UTC dates, participant, form,
    visit and action, in words (ICH E6(R3) 4.2.2(c); 21 CFR 11.10(e))."""
    protocol, filterset = _trail_filter(request)
    table = AuditTable(filterset.qs, protocol=protocol)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "desk/study_trail.html",
        {"filter": filterset, "table": table, "query": request.GET.urlencode()},
    )


@require_role(*TRAIL_ROLES)
def study_trail_csv(request):
    """The filtered trail as CSV, the page's columns; the download itself is audited."""
    protocol, filterset = _trail_filter(request)
    events = filterset.qs.order_by("-seq")
    name = f"audit-trail-{request.study.code}-{filterset.summary()}.csv"
    _audit_export(request, "audit trail", _filters(request, filterset.filters))

    def rows():
        last = None
        while True:
            batch = events if last is None else events.filter(seq__lt=last)
            batch = list(batch[:1000])
            if not batch:
                return
            for described in describe(batch, protocol):
                yield described.csv_row()
            last = batch[-1].seq

    response = StreamingHttpResponse(_csv(Described.CSV_HEADER, rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- the deviation log -----------------------------------------------------------------------


def _deviations(request):
    protocol = get_protocol(request.study)
    events = scoped_events(request, DEVIATION_ROLES).filter(object_type="visits.deviation")
    sites = get_access(request).sites(*DEVIATION_ROLES).order_by("code")
    filterset = DeviationFilter(request.GET or None, queryset=events, sites=sites)
    rows = deviation_rows(filterset.qs.order_by("-seq")[:5000], protocol)
    kind = (
        filterset.form.cleaned_data.get("type")
        if filterset.is_bound and filterset.is_valid()
        else ""
    )
    if kind:
        rows = [row for row in rows if row["kind"] == kind]
    return filterset, rows


@require_role(*DEVIATION_ROLES)
def deviation_log(request):
    """Protocol deviations (data of a visit dated outside its window) by participant and
    type, with the reasons given."""
    filterset, rows = _deviations(request)
    table = DeviationTable(rows)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "desk/deviations.html",
        {"filter": filterset, "table": table, "query": request.GET.urlencode()},
    )


@require_role(*DEVIATION_ROLES)
def deviation_csv(request):
    filterset, rows = _deviations(request)
    summary = "_".join(f"{k}-{v}" for k, v in _filters(request, filterset.filters).items())
    name = f"deviations-{request.study.code}-{summary or 'all'}.csv"
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
    _audit_export(request, "deviation log", _filters(request, filterset.filters))
    response = StreamingHttpResponse(
        _csv(DEVIATION_CSV_HEADER, (deviation_csv_row(row) for row in rows)),
        content_type="text/csv",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
