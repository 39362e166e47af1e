"""The audit trail for inspectors: streaming export (CSV/JSON) by time range, itself audited."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse

from trialdesk.accounts.access import require_role
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.audit.export import FORMATS, parse_day, stream

EXPORT_ROLES = (Role.DATA_MANAGER, Role.MONITOR)


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
