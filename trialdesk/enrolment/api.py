"""JSON skin on the enrolment actions (django-ninja, session auth with CSRF)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from ninja import NinjaAPI, Schema, Status
from ninja.security import django_auth

from trialdesk.accounts.access import Refused, get_access
from trialdesk.enrolment import actions, services
from trialdesk.enrolment.models import ScreeningEntry
from trialdesk.participants.scoping import ENROLMENT_READ_ROLES, participant_in_scope

api = NinjaAPI(
    urls_namespace="enrolment-api",
    auth=django_auth,
    docs_url=None,
    openapi_url=None,
    title="trialdesk enrolment",
)


class ErrorOut(Schema):
    detail: str


class ScreeningOut(Schema):
    subject_id: str
    site: str
    screened_on: dt.date
    outcome: str
    failed_criteria: list[str]


class AssessmentOut(Schema):
    subject_id: str
    assessed_at: dt.datetime
    result: str
    criteria: list[dict]
    signed_by: str | None = None
    signed_at: dt.datetime | None = None
    ready_to_randomize: list[str]


def _assessment_out(p, row) -> AssessmentOut:
    sig = getattr(row, "signature", None)
    return AssessmentOut(
        subject_id=p.subject_id,
        assessed_at=row.assessed_at,
        result=row.result,
        criteria=row.criteria,
        signed_by=sig.printed_name if sig else None,
        signed_at=sig.signed_at if sig else None,
        ready_to_randomize=services.readiness(p),
    )


@api.get("/screening-log", response=list[ScreeningOut])
def screening_log(request):
    access = get_access(request)
    if not access.has_role(*ENROLMENT_READ_ROLES):
        raise Refused("your role does not see the screening log")
    ids = access.site_ids(*ENROLMENT_READ_ROLES)
    rows = ScreeningEntry.objects.select_related("participant", "site")
    rows = rows.filter(site_id__in=ids)
    return [
        ScreeningOut(
            subject_id=r.participant.subject_id,
            site=r.site.code,
            screened_on=r.screened_on,
            outcome=r.outcome,
            failed_criteria=r.failed_criteria,
        )
        for r in rows
    ]


@api.get("/participants/{subject_id}/eligibility", response={200: AssessmentOut, 404: ErrorOut})
def eligibility(request, subject_id: str):
    p = participant_in_scope(request, subject_id)
    row = services.latest_assessment(p)
    if row is None:
        return Status(404, ErrorOut(detail=f"{subject_id} has not been assessed"))
    return Status(200, _assessment_out(p, row))


@api.post("/participants/{subject_id}/eligibility", response={201: AssessmentOut, 403: ErrorOut})
def assess(request, subject_id: str):
    p = participant_in_scope(request, subject_id)
    try:
        row = actions.do_assess_eligibility(p, request.user)
    except PermissionDenied as exc:
        return Status(403, ErrorOut(detail=str(exc)))
    return Status(201, _assessment_out(p, row))
