"""JSON skin on the eCRF actions (django-ninja, session auth with CSRF): read a form, save a
form (the same `do_save_form` as the page, same messages), list queries."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI, Schema, Status
from ninja.security import django_auth

from trialdesk.accounts.access import get_access
from trialdesk.crfs import actions
from trialdesk.crfs.models import FormInstance, ItemValue, Query
from trialdesk.participants.scoping import ENTRY_ROLES, READ_ROLES, visible_participants

api = NinjaAPI(
    urls_namespace="crfs-api",
    auth=django_auth,
    docs_url=None,
    openapi_url=None,
    title="trialdesk eCRF",
)


class ItemOut(Schema):
    item: str
    entered: str
    entered_unit: str
    value: object | None = None
    unit: str
    status: str
    version: int


class QueryOut(Schema):
    id: int
    study_id: str
    visit: str
    form: str
    item: str
    status: str
    origin: str
    text: str


class FormOut(Schema):
    study_id: str
    visit: str
    form: str
    repeat: int
    status: str
    items: list[ItemOut]
    queries: list[QueryOut]
    queries_opened: int = 0
    alerts: int = 0


class FormSpec(Schema):
    values: dict[str, str | list[str]]
    units: dict[str, str] = {}
    reason: str = ""
    complete: bool = False


class ErrorsOut(Schema):
    detail: str
    errors: dict[str, str] = {}


def _query_out(q: Query) -> QueryOut:
    return QueryOut(
        id=q.pk, study_id=q.participant.study_id, visit=q.form.visit.code, form=q.form.form_code,
        item=q.item, status=q.status, origin=q.origin, text=q.text,
    )  # fmt: skip


def _visit(request, study_id: str, visit_code: str, repeat_visit: int = 1):
    if not get_access(request).has_role(*READ_ROLES):
        raise PermissionDenied("your role does not read case report forms")
    participant = visible_participants(request).filter(study_id=study_id).first()
    visit = participant and participant.visits.filter(code=visit_code, repeat=repeat_visit).first()
    if visit is None:
        raise Http404("no such participant visit at your sites")
    return visit


def _form_out(visit, form_code: str, repeat: int, outcome=None) -> FormOut:
    fi = FormInstance.objects.filter(visit=visit, form_code=form_code, repeat=repeat).first()
    rows = ItemValue.objects.filter(form=fi) if fi else []
    return FormOut(
        study_id=visit.participant.study_id,
        visit=visit.code,
        form=form_code,
        repeat=repeat,
        status=fi.status if fi else FormInstance.Status.NOT_STARTED,
        items=[
            ItemOut(
                item=r.item,
                entered=r.entered_value,
                entered_unit=r.entered_unit,
                value=r.value,
                unit=r.unit,
                status=r.status,
                version=r.version,
            )
            for r in rows
        ],  # fmt: skip
        queries=[
            _query_out(q)
            for q in Query.objects.filter(form=fi).select_related("form__visit", "participant")
        ]
        if fi
        else [],
        queries_opened=outcome.queries_opened if outcome else 0,
        alerts=outcome.alerts if outcome else 0,
    )


@api.get("/participants/{study_id}/visits/{visit_code}/forms/{form_code}", response=FormOut)
def read_form(request, study_id: str, visit_code: str, form_code: str, repeat: int = 1):
    visit = _visit(request, study_id, visit_code)
    if form_code not in actions.forms_at_visit(visit):
        raise Http404("this form is not collected at this visit")
    return _form_out(visit, form_code, repeat)


@api.post(
    "/participants/{study_id}/visits/{visit_code}/forms/{form_code}",
    response={200: FormOut, 422: ErrorsOut},
)
def save_form(
    request, study_id: str, visit_code: str, form_code: str, spec: FormSpec, repeat: int = 1
):
    visit = _visit(request, study_id, visit_code)
    if not get_access(request).can(ENTRY_ROLES, visit.participant.site_id):
        raise PermissionDenied("your role does not allow data entry here")
    if form_code not in actions.forms_at_visit(visit):
        raise Http404("this form is not collected at this visit")
    try:
        outcome = actions.do_save_form(
            visit, form_code, request.user, raw=spec.values, units=spec.units,
            reason=spec.reason, complete=spec.complete, repeat=repeat,
        )  # fmt: skip
    except actions.CrfError as exc:
        return Status(422, ErrorsOut(detail=str(exc), errors=exc.errors))
    return _form_out(visit, form_code, repeat, outcome)


@api.get("/queries", response=list[QueryOut])
def list_queries(request, status: str = "open"):
    if not get_access(request).has_role(*READ_ROLES):
        raise PermissionDenied("your role does not see queries")
    qs = Query.objects.filter(participant__in=visible_participants(request)).select_related(
        "form__visit", "participant"
    )
    if status == "open":
        qs = qs.exclude(status=Query.Status.CLOSED)
    return [_query_out(q) for q in qs[:1000]]
