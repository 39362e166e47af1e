"""The audit trail for inspectors: streaming export (CSV/JSON) by time range, itself audited."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse

from trialdesk.accounts.access import require_role
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.audit.export import FORMATS, parse_day, stream

EXPORT_ROLES = (Role.DATA_MANAGER, Role.MONITOR)
#: Who reviews a participant's trail: everyone who reads the casebook (scoped to their sites).
REVIEW_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER)


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
            object_type="audit.trail",
            object_id=fmt,
            new={"from": request.GET.get("from"), "to": request.GET.get("to"), "format": fmt},
            reason="audit trail export (web)",
        )
    response = StreamingHttpResponse(
        stream(fmt, start, end), content_type="text/csv" if fmt == "csv" else "application/x-ndjson"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-trail.{"csv" if fmt == "csv" else "jsonl"}"'
    )
    return response


@require_role(*REVIEW_ROLES)
def participant_trail(request, study_id: str):
    """Everything that happened to one participant's records, newest first (ICH E6(R3) 4.2.2(c):
    audit trails that people can review)."""
    from django.core.paginator import Paginator
    from django.shortcuts import render

    from trialdesk.audit.models import AuditEvent
    from trialdesk.participants.scoping import participant_or_404

    participant = participant_or_404(request, study_id)
    events = AuditEvent.objects.filter(participant=participant.study_id).order_by("-seq")
    action = request.GET.get("action", "")
    if action:
        events = events.filter(action=action)
    page = Paginator(events, 200).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/participant.html",
        {"participant": participant, "page": page, "action": action},
    )
