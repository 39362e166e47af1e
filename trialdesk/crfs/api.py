"""JSON skin on the eCRF actions (django-ninja, session auth with CSRF): read a form, save a
form (the same `do_save_form` as the page, same messages), list queries."""

from __future__ import annotations

from typing import Literal

from django.http import Http404
from ninja import NinjaAPI, Schema, Status
from ninja import Query as QueryParam
from ninja.errors import ValidationError
from ninja.security import django_auth
from pydantic import ConfigDict, Field

from trialdesk.accounts.access import Refused, get_access
from trialdesk.accounts.models import Role
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
    subject_id: str
    visit: str
    form: str
    item: str
    status: str
    origin: str
    text: str


class FormOut(Schema):
    subject_id: str
    visit: str
    form: str
    repeat: int
    revision: int
    status: str
    items: list[ItemOut]
    queries: list[QueryOut]
    queries_opened: int = 0
    alerts: int = 0
    warnings: list[str] = []


class FormSpec(Schema):
    """A save. `revision` is the form's revision the client read (GET returns it; 0 for a form
    never saved): mandatory, and a stale one is answered 409. Unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")
    revision: int = Field(ge=0, le=2**31 - 1)
    values: dict[str, str | list[str]]
    units: dict[str, str] = {}
    reason: str = ""
    complete: bool = False


class FormParams(Schema):
    repeat: int = Field(1, ge=1, le=actions.MAX_REPEAT)


class QueryListParams(Schema):
    status: Literal["open", "all"] = "open"


class SignSpec(Schema):
    """A signature: the investigator's password, re-entered (21 CFR 11.200)."""

    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=1000)


class SignOut(Schema):
    subject_id: str
    visit: str
    form: str
    repeat: int
    status: str
    printed_name: str
    meaning: str
    signed_at: str
    content_hash: str
    warnings: list[str] = []


class ErrorsOut(Schema):
    detail: str
    errors: dict[str, str] = {}


def _where(loc) -> str:
    """('body', 'spec', 'values', 'x') → 'values.x'; ('query', 'repeat') → 'repeat'."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "spec", "params")]
    return ".".join(parts) or "request"


#: Parameters whose whole range is worth naming in a refusal.
RANGES = {"repeat": (1, actions.MAX_REPEAT), "revision": (0, 2**31 - 1)}


def _allowed(where: str, err: dict) -> str:
    if where in RANGES:
        return "allowed range {} to {}".format(*RANGES[where])
    ctx = err.get("ctx") or {}
    return ", ".join(f"{k} {ctx[k]}" for k in ("ge", "gt", "le", "lt", "expected") if k in ctx)


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    """Schema errors in the same shape as every other refusal: each field named, with what is
    allowed (ranges from the schema), never the input echoed back at length."""
    errors: dict[str, str] = {}
    for err in exc.errors:
        where = _where(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "missing":
            message = "required"
        elif kind == "extra_forbidden":
            message = "unknown field: it is not accepted here"
        else:
            shown = str(err.get("input", ""))[:40]
            allowed = _allowed(where, err)
            message = f"{where} = {shown!r}: {err.get('msg', 'invalid')}"
            message += f" ({allowed})" if allowed else ""
        errors[where] = message
    detail = "; ".join(f"{k}: {v}" for k, v in errors.items())
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


def _query_out(q: Query) -> QueryOut:
    return QueryOut(
        id=q.pk, subject_id=q.participant.subject_id, visit=q.form.visit.code, form=q.form.form_code,
        item=q.item, status=q.status, origin=q.origin, text=q.text,
    )  # fmt: skip


def _visit(request, subject_id: str, visit_code: str, repeat_visit: int = 1):
    if not get_access(request).has_role(*READ_ROLES):
        raise Refused("your role does not read case report forms")
    participant = visible_participants(request).filter(subject_id=subject_id).first()
    visit = participant and participant.visits.filter(code=visit_code, repeat=repeat_visit).first()
    if visit is None:
        raise Http404("no such participant visit at your sites")
    return visit


def _form_out(visit, form_code: str, repeat: int, outcome=None) -> FormOut:
    fi = FormInstance.objects.filter(visit=visit, form_code=form_code, repeat=repeat).first()
    rows = ItemValue.objects.filter(form=fi) if fi else []
    return FormOut(
        subject_id=visit.participant.subject_id,
        visit=visit.code,
        form=form_code,
        repeat=repeat,
        revision=fi.revision if fi else 0,
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
        warnings=list(outcome.warnings) if outcome else [],
    )


@api.get("/participants/{subject_id}/visits/{visit_code}/forms/{form_code}", response=FormOut)
def read_form(
    request, subject_id: str, visit_code: str, form_code: str, params: QueryParam[FormParams]
):
    repeat = params.repeat
    visit = _visit(request, subject_id, visit_code)
    if form_code not in actions.forms_at_visit(visit):
        raise Http404("this form is not collected at this visit")
    return _form_out(visit, form_code, repeat)


@api.post(
    "/participants/{subject_id}/visits/{visit_code}/forms/{form_code}",
    response={200: FormOut, 409: ErrorsOut, 422: ErrorsOut},
)
def save_form(
    request,
    subject_id: str,
    visit_code: str,
    form_code: str,
    spec: FormSpec,
    params: QueryParam[FormParams],
):
    repeat = params.repeat
    visit = _visit(request, subject_id, visit_code)
    if not get_access(request).can(ENTRY_ROLES, visit.participant.site_id):
        raise Refused("your role does not allow data entry here")
    if form_code not in actions.forms_at_visit(visit):
        raise Http404("this form is not collected at this visit")
    try:
        outcome = actions.do_save_form(
            visit, form_code, request.user, raw=spec.values, units=spec.units,
            reason=spec.reason, complete=spec.complete, repeat=repeat,
            expected_revision=spec.revision,
        )  # fmt: skip
    except actions.StaleRevision as exc:
        return Status(409, ErrorsOut(detail=str(exc), errors=exc.errors))
    except actions.CrfError as exc:
        return Status(422, ErrorsOut(detail=str(exc), errors=exc.errors))
    return _form_out(visit, form_code, repeat, outcome)


@api.post(
    "/participants/{subject_id}/visits/{visit_code}/forms/{form_code}/sign",
    response={200: SignOut, 422: ErrorsOut},
)
def sign_form(
    request,
    subject_id: str,
    visit_code: str,
    form_code: str,
    spec: SignSpec,
    params: QueryParam[FormParams],
):
    """The same `do_sign_form` as the page: the protocol's signing rules refuse (422, naming the
    open queries or the missing verification) or warn (the warnings are returned and kept in
    the signature's audit event)."""
    visit = _visit(request, subject_id, visit_code)
    if not get_access(request).can([Role.INVESTIGATOR], visit.participant.site_id):
        raise Refused("only an investigator of this site signs its forms")
    fi = FormInstance.objects.filter(visit=visit, form_code=form_code, repeat=params.repeat).first()
    if fi is None:
        raise Http404("this form has not been entered at this visit")
    try:
        sig = actions.do_sign_form(fi, request.user, password=spec.password, request=request)
    except actions.CrfError as exc:
        return Status(422, ErrorsOut(detail=str(exc), errors=exc.errors))
    return SignOut(
        subject_id=subject_id, visit=visit.code, form=form_code, repeat=fi.repeat,
        status=FormInstance.Status.SIGNED, printed_name=sig.printed_name, meaning=sig.meaning,
        signed_at=sig.signed_at.isoformat(), content_hash=sig.content_hash, warnings=sig.warnings,
    )  # fmt: skip


@api.get("/queries", response=list[QueryOut])
def list_queries(request, params: QueryParam[QueryListParams]):
    status = params.status
    if not get_access(request).has_role(*READ_ROLES):
        raise Refused("your role does not see queries")
    qs = Query.objects.filter(participant__in=visible_participants(request)).select_related(
        "form__visit", "participant"
    )
    if status == "open":
        qs = qs.exclude(status=Query.Status.CLOSED)
    return [_query_out(q) for q in qs[:1000]]
