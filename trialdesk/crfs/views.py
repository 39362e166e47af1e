"""The eCRF page (rendered from the protocol), inline validation (htmx), per-item history,
life-cycle buttons, queries and alerts. Views validate and call one action each."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from trialdesk.accounts.access import Refused, get_access, require_role
from trialdesk.accounts.models import Role
from trialdesk.audit.models import AuditEvent
from trialdesk.core.numbers import NumberSyntaxError, parse_integer_text
from trialdesk.core.protocol.models import NONE_OF_THESE, FieldType
from trialdesk.core.protocol.sources import RECORD_LABELS, record_of
from trialdesk.core.text import LIMITS
from trialdesk.crfs import actions, engine
from trialdesk.crfs.actions.copies import copied_values
from trialdesk.crfs.models import ClinicalAlert, FormInstance, ItemValue, Query
from trialdesk.crfs.values import form_context
from trialdesk.participants.scoping import ENTRY_ROLES, READ_ROLES, in_scope_or_404
from trialdesk.studies.registry import get_protocol
from trialdesk.visits.models import Visit

INPUT_TYPES = {
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime-local",
    FieldType.TIME: "time",
}


def _label(text) -> str:
    if text is None:
        return ""
    return text.id if (get_language() or "en").startswith("id") else text.en


def _visit(request, visit_pk) -> Visit:
    visit = get_object_or_404(Visit.objects.select_related("participant__site"), pk=visit_pk)
    in_scope_or_404(request, visit.participant)
    return visit


def _form_spec(visit, form_code):
    protocol = get_protocol(visit.participant)
    if form_code not in protocol.forms or form_code not in actions.forms_at_visit(visit):
        raise Http404("this form is not collected at this visit")
    return protocol, protocol.forms[form_code]


def _raw_from_post(form, post):
    raw, units = {}, {}
    for fld in engine.entry_fields(form):
        raw[fld.code] = (
            post.getlist(fld.code) if fld.type is FieldType.MULTICHOICE else post.get(fld.code, "")
        )
        if fld.units:
            units[fld.code] = post.get(f"{fld.code}__unit", fld.unit or "")
    return raw, units


def _raw_from_rows(form, rows):
    raw, units = {}, {}
    for fld in engine.entry_fields(form):
        row = rows.get(fld.code)
        if row is None or row.status != ItemValue.Status.ENTERED:
            continue
        raw[fld.code] = (
            (list(row.value or []) or [NONE_OF_THESE])
            if fld.type is FieldType.MULTICHOICE
            else row.entered_value
        )
        units[fld.code] = row.entered_unit
    return raw, units


def _display_value(fld, raw_value):
    if fld.type in INPUT_TYPES and raw_value:
        try:
            parsed = engine.parse_value(None, fld, raw_value)
        except engine.FieldInvalid:
            return raw_value
        return parsed.json if parsed else ""
    return raw_value


def build_fields(protocol, form, raw, units, result, errors, rows, queries):
    by_item: dict[str, list] = {}
    for q in queries:
        by_item.setdefault(q.item, []).append(q)
    warnings: dict[str, list[str]] = {}
    for issue in result.queries if result else []:
        warnings.setdefault(issue.item, []).append(issue.message)
    out = []
    for fld in form.fields.values():
        row = rows.get(fld.code)
        value = raw.get(fld.code, [] if fld.type is FieldType.MULTICHOICE else "")
        codelist = protocol.codelists.get(fld.codelist) if fld.codelist else None
        selected = set(value if isinstance(value, list) else [value])
        derived = None
        if fld.derived:
            dv = result.derived.get(fld.code) if result else None
            derived = engine.to_json(fld, dv) if dv is not None else (row.value if row else None)
        out.append(
            {
                "f": fld,
                "code": fld.code,
                "label": _label(fld.label),
                "help": _label(fld.help),
                "kind": fld.type.value,
                "input_type": INPUT_TYPES.get(fld.type, "text"),
                "numeric": fld.is_numeric,
                "value": _display_value(fld, value) if not isinstance(value, list) else value,
                "unit": units.get(fld.code) or fld.unit or "",
                "unit_label": engine.unit_label(fld.unit),
                "units": [(u, engine.unit_label(u)) for u in fld.units],
                "choices": [(c, _label(i.label), c in selected) for c, i in codelist.items.items()]
                if codelist
                else [],
                "none_code": NONE_OF_THESE,
                "none_selected": fld.type is FieldType.MULTICHOICE and NONE_OF_THESE in selected,
                "bool_value": {
                    "yes": "yes",
                    "true": "yes",
                    "1": "yes",
                    "ya": "yes",
                    "y": "yes",
                    "on": "yes",
                    "no": "no",
                    "false": "no",
                    "0": "no",
                    "tidak": "no",
                    "n": "no",
                    "off": "no",
                }.get(str(value).strip().lower(), "")
                if fld.type is FieldType.BOOLEAN
                else "",
                "error": errors.get(fld.code, ""),
                "warnings": warnings.get(fld.code, []),
                "missing": (result.missing_required.get(fld.code, "") if result else ""),
                "hidden": bool(result and fld.code in result.hidden),
                "required": fld.required,
                "derived": fld.derived is not None,
                "system": fld.entry == "system",
                "record": record_of(fld.source) if fld.source else "",
                "record_label": _(RECORD_LABELS[record_of(fld.source)]) if fld.source else "",
                "derived_value": engine.fmt_num(derived)
                if isinstance(derived, int | float) and not isinstance(derived, bool)
                else derived,
                "row": row,
                "queries": by_item.get(fld.code, []),
                "soft": (fld.soft_min, fld.soft_max),
                "hard": (fld.hard_min, fld.hard_max),
                "limits": _limits_hint(fld),
            }
        )
    return out


def _limits_hint(fld) -> str:
    if fld.hard_min is None and fld.hard_max is None:
        return ""
    return engine._limits(fld.hard_min, fld.hard_max, fld.unit)


def _context(
    request, visit, form_code, repeat, *, raw=None, units=None, errors=None, result=None, reason=""
):
    protocol, form = _form_spec(visit, form_code)
    participant = visit.participant
    fi = FormInstance.objects.filter(visit=visit, form_code=form_code, repeat=repeat).first()
    rows = {r.item: r for r in ItemValue.objects.filter(form=fi)} if fi else {}
    if raw is None:
        raw, units = _raw_from_rows(form, rows)
    if result is None:
        system = {
            **(actions._system_values(protocol, form, fi) if fi else {}),
            **copied_values(visit.participant, form, visit),
        }
        ctx = (
            form_context(participant, visit, exclude_form=fi)
            if fi
            else form_context(participant, visit)
        )
        result = engine.evaluate_form(
            protocol, form, raw, units or {}, ctx, system=system, lang=get_language() or "en"
        )
        if errors is None:  # stored values that today's checks refuse (e.g. after an amendment)
            errors = result.errors
    errors = errors or {}
    queries = list(Query.objects.filter(form=fi).prefetch_related("messages__author")) if fi else []
    access = get_access(request)
    status = fi.status if fi else FormInstance.Status.NOT_STARTED
    site_id = participant.site_id
    fields = build_fields(protocol, form, raw, units or {}, result, errors, rows, queries)
    reserved = actions.reserved_fields(form, request.user, site_id)
    for f in fields:
        f["reserved_for"] = Role(reserved[f["code"]]).label if f["code"] in reserved else ""
    return {
        "protocol": protocol,
        "form": form,
        "form_label": _label(form.label),
        "form_description": _label(form.description),
        "visit": visit,
        "visit_label": _label(protocol.visits[visit.code].label)
        if visit.code in protocol.visits
        else visit.code,
        "participant": participant,
        "fi": fi,
        "repeat": repeat,
        "status": status,
        "status_label": FormInstance.Status(status).label,
        "fields": fields,
        "form_errors": [m for k, m in errors.items() if k not in form.fields],
        "queries": queries,
        "signatures": list(fi.signatures.all()) if fi else [],
        "alerts": list(fi.alerts.filter(acknowledged_at__isnull=True)) if fi else [],
        "reason": reason,
        "needs_reason": bool(fi and fi.past_complete),
        "can_edit": access.can(ENTRY_ROLES, site_id) and status != FormInstance.Status.LOCKED,
        "can_verify": access.can([Role.MONITOR], site_id)
        and status == FormInstance.Status.COMPLETE,
        "can_sign": access.can([Role.INVESTIGATOR], site_id) and status in ("complete", "verified"),
        "can_lock": access.can([Role.DATA_MANAGER], site_id)
        and status in ("complete", "verified", "signed"),
        "can_unlock": access.can([Role.DATA_MANAGER], site_id) and status == "locked",
        "can_query": bool(fi) and access.can(actions.QUERY_ROLES, site_id),
        "can_answer": access.can(ENTRY_ROLES, site_id),
        "can_close": access.can([Role.MONITOR, Role.DATA_MANAGER], site_id),
        "meaning": actions.SIGNATURE_MEANING,
    }


def refused(request, message: str, status: int = 422):
    """A plain page naming what was refused (no form to re-render)."""
    return render(request, "invalid_request.html", {"message": message}, status=status)


def own_text_limits(view):
    """For trialdesk.site.input_limits: this view checks every text it accepts itself (the
    protocol's fields by their max_length, the reason by core.text.LIMITS)."""
    view.own_text_limits = True
    return view


@own_text_limits
@require_role(*READ_ROLES)
def form_page(request, visit_pk: int, form_code: str, repeat: int = 1):
    if problem := actions.repeat_problem(repeat):
        return refused(request, problem)
    visit = _visit(request, visit_pk)
    if request.method == "POST":
        return _save(request, visit, form_code, repeat)
    return render(request, "crfs/form.html", _context(request, visit, form_code, repeat))


def _revision(post) -> int:
    """The revision the page was rendered with: mandatory (finding 6)."""
    if "revision" not in post:
        raise actions.CrfError(
            "revision is missing: the form must send the revision it was opened at "
            "(reload the form)",
            {"revision": "required"},
        )
    try:
        return parse_integer_text(post["revision"], name="revision", minimum=0, maximum=2**31 - 1)
    except NumberSyntaxError as exc:
        raise actions.CrfError(str(exc), {"revision": str(exc)}) from exc


def _post_problems(form, post) -> dict[str, str]:
    """Every POST key that is neither a control key nor an entry field (or its unit)."""
    values = [k for k in post if k not in actions.CONTROL_KEYS and not k.endswith("__unit")]
    units = [k.removesuffix("__unit") for k in post if k.endswith("__unit")]
    return actions.unexpected_fields(form, values, units)


def _save(request, visit, form_code, repeat):
    if not get_access(request).can(ENTRY_ROLES, visit.participant.site_id):
        raise Refused("your role does not allow data entry here")
    protocol, form = _form_spec(visit, form_code)
    raw, units = _raw_from_post(form, request.POST)
    for code in actions.reserved_fields(form, request.user, visit.participant.site_id):
        if code not in request.POST:  # shown read-only: keeps its stored value
            raw.pop(code, None)
            units.pop(code, None)
    reason = request.POST.get("reason", "")
    try:
        unexpected = _post_problems(form, request.POST)
        if unexpected:
            raise actions.CrfError(
                "the form was not saved: it names fields that cannot be entered: "
                + ", ".join(sorted(unexpected)),
                unexpected,
            )
        reason = actions.clean_text("reason", reason)
        outcome = actions.do_save_form(
            visit,
            form_code,
            request.user,
            raw=raw,
            units=units,
            reason=reason,
            complete="complete" in request.POST,
            repeat=repeat,
            expected_revision=_revision(request.POST),
            lang=get_language() or "en",
        )
    except actions.StaleRevision as exc:
        ctx = _context(request, visit, form_code, repeat)  # what is stored now, at its revision
        ctx["form_errors"] = [str(exc)] + ctx["form_errors"]
        return render(request, "crfs/form.html", ctx, status=409)
    except actions.CrfError as exc:
        reason = reason[: LIMITS["reason"]]
        ctx = _context(
            request,
            visit,
            form_code,
            repeat,
            raw=raw,
            units=units,
            errors=exc.errors,
            result=exc.result,
            reason=reason,
        )
        ctx["form_errors"] = [str(exc)] + ctx["form_errors"]
        return render(request, "crfs/form.html", ctx, status=422)
    note = _("Saved.")
    if outcome.queries_opened:
        note += " " + ngettext(
            "%(n)d query opened automatically.",
            "%(n)d queries opened automatically.",
            outcome.queries_opened,
        ) % {"n": outcome.queries_opened}
    if outcome.alerts:
        note += " " + _("Clinical alert: the investigator has been notified.")
    if outcome.voided:
        note += " " + _("The signature was voided: the form must be signed again.")
    messages.success(request, note)
    for warning in outcome.warnings:  # e.g. a visit dated outside its window (a deviation)
        messages.warning(request, warning)
    return redirect("crfs:form", visit_pk=visit.pk, form_code=form_code, repeat=repeat)


@own_text_limits
@require_role(*ENTRY_ROLES)
def validate(request, visit_pk: int, form_code: str, repeat: int = 1):
    """htmx: evaluate the form as typed (nothing saved) and return the fields partial."""
    if problem := actions.repeat_problem(repeat):
        return refused(request, problem)
    visit = _visit(request, visit_pk)
    if request.method != "POST":
        raise Http404()
    if not get_access(request).can(ENTRY_ROLES, visit.participant.site_id):
        raise Refused("your role does not allow data entry here")
    protocol, form = _form_spec(visit, form_code)
    raw, units = _raw_from_post(form, request.POST)
    fi = FormInstance.objects.filter(visit=visit, form_code=form_code, repeat=repeat).first()
    ctx_values = form_context(visit.participant, visit, exclude_form=fi)
    system = {
        **(actions._system_values(protocol, form, fi) if fi else {}),
        **copied_values(visit.participant, form, visit),
    }
    result = engine.evaluate_form(
        protocol, form, raw, units, ctx_values, system=system, lang=get_language() or "en"
    )
    ctx = _context(
        request, visit, form_code, repeat, raw=raw, units=units, errors=result.errors, result=result
    )
    return render(request, "crfs/_validation.html", ctx)


def _fi(request, pk) -> FormInstance:
    fi = get_object_or_404(FormInstance.objects.select_related("participant__site", "visit"), pk=pk)
    in_scope_or_404(request, fi.participant)
    return fi


def _back(fi):
    return redirect("crfs:form", visit_pk=fi.visit_id, form_code=fi.form_code, repeat=fi.repeat)


@require_role(*READ_ROLES)
def item_history(request, pk: int, item: str):
    """Every value an item has had: who, when (UTC), old → new, why."""
    fi = _fi(request, pk)
    row = ItemValue.objects.filter(form=fi, item=item).first()
    events = (
        AuditEvent.objects.filter(object_type="crfs.itemvalue", object_id=str(row.pk)).order_by(
            "seq"
        )
        if row
        else []
    )
    template = "crfs/_history.html" if request.htmx else "crfs/history.html"
    return render(
        request,
        template,
        {"fi": fi, "item": item, "events": events, "none_code": NONE_OF_THESE},
    )


def _life_cycle(request, pk, step):
    if request.method != "POST":
        raise Http404()
    fi = _fi(request, pk)
    try:
        step(fi)
    except actions.CrfError as exc:
        messages.error(request, str(exc))
    return _back(fi)


@require_role(Role.MONITOR)
def verify(request, pk: int):
    return _life_cycle(request, pk, lambda fi: actions.do_verify_form(fi, request.user))


@require_role(Role.INVESTIGATOR)
def sign(request, pk: int):
    fi = _fi(request, pk)
    if not get_access(request).can([Role.INVESTIGATOR], fi.participant.site_id):
        raise Refused("only an investigator of this site signs its forms")
    page = {"fi": fi, "meaning": actions.SIGNATURE_MEANING}
    if request.method == "POST":
        try:
            actions.do_sign_form(
                fi, request.user, password=request.POST.get("password", ""), request=request
            )
        except actions.CrfError as exc:
            page.update(error=str(exc), check=actions.signing_check(fi))
            return render(request, "crfs/sign.html", page, status=422)
        messages.success(request, _("Signed."))
        return _back(fi)
    # The protocol's signing rules, shown before the password is asked: a block replaces the
    # password field with the reason; a warning is shown above it.
    page["check"] = actions.signing_check(fi)
    return render(request, "crfs/sign.html", page)


@require_role(Role.DATA_MANAGER)
def lock(request, pk: int):
    return _life_cycle(
        request,
        pk,
        lambda fi: actions.do_lock_form(fi, request.user, reason=request.POST.get("reason", "")),
    )


@require_role(Role.DATA_MANAGER)
def unlock(request, pk: int):
    return _life_cycle(
        request,
        pk,
        lambda fi: actions.do_unlock_form(fi, request.user, reason=request.POST.get("reason", "")),
    )


@require_role(*actions.QUERY_ROLES)
def new_query(request, pk: int):
    return _life_cycle(
        request,
        pk,
        lambda fi: actions.do_open_query(
            fi, request.user, item=request.POST.get("item", ""), text=request.POST.get("text", "")
        ),
    )


QUERY_STEPS = {
    "answer": actions.do_answer_query,
    "reopen": actions.do_reopen_query,
    "close": actions.do_close_query,
}


@require_role(*READ_ROLES)
def query_step(request, pk: int):
    q = get_object_or_404(Query.objects.select_related("form__visit", "participant__site"), pk=pk)
    in_scope_or_404(request, q.participant)
    step = QUERY_STEPS.get(request.POST.get("step", ""))
    if request.method != "POST" or step is None:
        raise Http404()
    try:
        step(q, request.user, text=request.POST.get("text", ""))
    except actions.CrfError as exc:
        messages.error(request, str(exc))
    return _back(q.form)


@require_role(*READ_ROLES)
def query_list(request):
    """The queries at the person's sites: searched by text, filtered by state, form, site and
    age, sorted, 25 a page; each with its age in days and whom it waits for."""
    from django_tables2 import RequestConfig

    from trialdesk.crfs.lists import PER_PAGE, QueryFilter, QueryTable
    from trialdesk.participants.scoping import visible_participants

    protocol = get_protocol(request.study)
    qs = Query.objects.filter(
        participant__in=visible_participants(request).filter(study=request.study)
    ).select_related("form__visit", "participant", "opened_by")
    filterset = QueryFilter(
        request.GET,
        queryset=qs,
        forms=[(code, _label(f.label)) for code, f in protocol.forms.items()],
        sites=get_access(request).sites(*READ_ROLES).order_by("code"),
    )
    table = QueryTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "crfs/queries.html", {"filter": filterset, "table": table})


@require_role(Role.INVESTIGATOR)
def ack_alert(request, pk: int):
    alert = get_object_or_404(
        ClinicalAlert.objects.select_related("participant__site", "form"), pk=pk
    )
    in_scope_or_404(request, alert.participant)
    if request.method != "POST":
        raise Http404()
    try:
        actions.do_acknowledge_alert(alert, request.user, note=request.POST.get("note", ""))
    except actions.CrfError as exc:
        return refused(request, str(exc))
    return redirect("participants:detail", subject_id=alert.participant.subject_id)


@require_role(Role.DATA_MANAGER)
def data_quality(request):
    if request.method == "POST":
        summary = actions.do_run_data_quality(request.user, study=request.study.code)
        messages.success(request, summary.summary())
        return redirect("crfs:data-quality")
    return render(request, "crfs/data_quality.html", {})
