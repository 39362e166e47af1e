"""DSMB pages: the rules' state (by arm for the DSMB and unblinded roles only), decisions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from trialdesk.accounts.access import ALL_STAFF_ROLES, Refused, get_access, require_role
from trialdesk.accounts.models import UNBLINDED_ROLES, Role
from trialdesk.core.text import TextTooLong
from trialdesk.studies.registry import get_protocol

from . import actions, reports, services
from .models import Decision, DsmbReport, Pause, RuleState

#: who sees the rules by arm (counts, boundary, posterior)
BY_ARM_ROLES = frozenset({Role.DSMB, *UNBLINDED_ROLES})


def _by_arm(request) -> bool:
    return get_access(request).has_role(*BY_ARM_ROLES)


@require_role(*ALL_STAFF_ROLES)
def rules(request):
    context = rules_context(request)
    by_arm = context["by_arm"]
    context["is_dsmb"] = get_access(request).has_role(Role.DSMB)
    context["decisions"] = Decision.objects.filter(study=request.study) if by_arm else []
    context["may_see_reports"] = get_access(request).has_role(*reports.ALL_VIEW_ROLES)
    return render(request, "dsmb/rules.html", context)


def rules_context(request) -> dict:
    """Each rule's state and open pause; by arm only for the roles that may see arms."""
    protocol = get_protocol(request.study)
    states = {s.rule_code: s for s in RuleState.objects.filter(study=request.study)}
    pauses = list(Pause.objects.filter(study=request.study))
    rows = []
    for code, rule in protocol.safety_rules.items():
        open_pause = next((p for p in pauses if p.rule_code == code and p.is_open), None)
        rows.append(
            {
                "code": code,
                "label": rule.label,
                "action": rule.action,
                "state": states.get(code),
                "pause": open_pause,
                "message": services.pause_message(open_pause) if open_pause else "",
            }
        )
    other = [p for p in pauses if p.is_open and not p.rule_code]
    by_arm = _by_arm(request)
    return {
        "rows": rows,
        "other": [(p, services.pause_message(p)) for p in other],
        "by_arm": by_arm,
        "arms": list(protocol.arms) if by_arm else [],
    }


def rules_panel(request) -> str:
    """The safety dashboard's panel (trialdesk.safety.panels): each rule fired or not, pooled
    for everyone (the dashboard is a pooled page); the by-arm view is the DSMB's own page."""
    if not get_protocol(request.study).safety_rules:
        return ""
    context = {**rules_context(request), "by_arm": False, "arms": []}
    return render_to_string("dsmb/_rules_panel.html", context, request=request)


@require_role(Role.DSMB)
def decision_new(request):
    open_pauses = services.open_pauses(request.study.pk)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("minutes")
        chosen = open_pauses.filter(pk__in=request.POST.getlist("pauses"))
        try:
            if upload is None:
                raise actions.DsmbError("minutes: upload the signed minutes of the meeting (PDF)")
            if upload.size > actions.MAX_MINUTES_BYTES:
                raise actions.DsmbError("minutes: the file is larger than 10 MB")
            decision = actions.do_create_decision(
                request.study.pk,
                request.user,
                kind=request.POST.get("kind", ""),
                rationale=request.POST.get("rationale", ""),
                pauses=list(chosen),
                minutes=upload.read(),
                minutes_name=upload.name,
            )
        except (actions.DsmbError, TextTooLong) as exc:
            error = str(exc)
        else:
            messages.success(request, "Decision recorded: it takes effect once signed.")
            return redirect("dsmb:decision", pk=decision.pk)
    return render(
        request,
        "dsmb/decision_new.html",
        {
            "pauses": [(p, services.pause_message(p)) for p in open_pauses],
            "kinds": Decision.Kind.choices,
            "error": error,
        },
        status=400 if error else 200,
    )


@require_role(*BY_ARM_ROLES)
def decision(request, pk: int):
    d = get_object_or_404(Decision, pk=pk, study=request.study)
    return render(
        request,
        "dsmb/decision.html",
        {
            "d": d,
            "pauses": [(p, services.pause_message(p)) for p in d.pauses.all()],
            "required": services.REQUIRED_SIGNATURES,
            "can_sign": get_access(request).has_role(Role.DSMB)
            and not d.signatures.filter(signed_by=request.user).exists(),
        },
    )


@require_POST
@require_role(Role.DSMB)
def sign(request, pk: int):
    d = get_object_or_404(Decision, pk=pk, study=request.study)
    try:
        actions.do_sign_decision(
            d, request.user, password=request.POST.get("password", ""), request=request
        )
    except actions.DsmbError as exc:
        messages.error(request, str(exc))
    except PermissionDenied:
        raise
    else:
        messages.success(request, "Signed.")
    return redirect("dsmb:decision", pk=d.pk)


@require_role(*BY_ARM_ROLES)
def minutes(request, pk: int):
    d = get_object_or_404(Decision, pk=pk, study=request.study)
    response = HttpResponse(bytes(d.minutes), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="dsmb-decision-{d.pk}.pdf"'
    return response


@require_role(*ALL_STAFF_ROLES)
def interim(request):
    """Whether the interim is due (everyone); runs and their results (DSMB, unblinded roles);
    the run button (the unblinded statistician)."""
    from . import interim as svc
    from .models import InterimRun

    access = get_access(request)
    can_run = access.has_role(Role.UNBLINDED_STATISTICIAN)
    error = ""
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied("only the unblinded statistician may run the interim analysis")
        try:
            run = actions.do_run_interim(request.study.pk, request.user)
        except actions.DsmbError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Interim analysis run {run.pk} recorded.")
            return redirect("dsmb:interim")
    try:
        state, unavailable = svc.due_state(request.study.pk), ""
    except svc.InterimUnavailable as exc:
        state, unavailable = None, str(exc)
    sees_results = access.has_role(Role.DSMB, Role.UNBLINDED_STATISTICIAN)
    return render(
        request,
        "dsmb/interim.html",
        {
            "state": state,
            "unavailable": unavailable,
            "can_run": can_run and state is not None,
            "runs": InterimRun.objects.filter(study=request.study) if sees_results else [],
            "error": error,
        },
        status=400 if error else 200,
    )


# --------------------------------------------------------------------------- reports
def _visible_report(request, pk: int) -> DsmbReport:
    """A report the user may see; any other (a closed one for a blinded role) is a 404."""
    kinds = reports.visible_kinds(get_access(request))
    return get_object_or_404(DsmbReport, pk=pk, study=request.study, kind__in=kinds)


def _reports_page(request, error: str = "", status: int = 200):
    access = get_access(request)
    return render(
        request,
        "dsmb/reports.html",
        {
            "reports": DsmbReport.objects.filter(
                study=request.study, kind__in=reports.visible_kinds(access)
            )
            .select_related("generated_by")
            .defer("html", "pdf", "numbers"),
            "can_open": reports.may_generate(access, DsmbReport.Kind.OPEN),
            "can_closed": reports.may_generate(access, DsmbReport.Kind.CLOSED),
            "error": error,
        },
        status=status,
    )


@require_role(*reports.ALL_VIEW_ROLES)
def report_list(request):
    return _reports_page(request)


@require_POST
@require_role(*reports.GENERATE_ROLES[DsmbReport.Kind.OPEN])
def report_generate(request):
    kind = request.POST.get("kind", "")
    if kind not in DsmbReport.Kind.values:
        return _reports_page(request, "kind: choose the open or the closed report", 400)
    if not reports.may_generate(get_access(request), kind):
        raise Refused(f"your role does not allow generating the {kind} DSMB report")
    report = reports.do_generate_report(request.study.pk, request.user, kind)
    messages.success(request, f"{report.get_kind_display()} generated.")
    if report.kind in reports.visible_kinds(get_access(request)):
        return redirect("dsmb:report", pk=report.pk)
    return redirect("dsmb:reports")


@require_role(*reports.ALL_VIEW_ROLES)
def report_view(request, pk: int):
    return render(request, "dsmb/report.html", {"r": _visible_report(request, pk)})


@require_role(*reports.ALL_VIEW_ROLES)
def report_pdf(request, pk: int):
    r = _visible_report(request, pk)
    response = HttpResponse(bytes(r.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="dsmb-{r.kind}-report-{r.study_id}-cut{r.data_cut_seq}.pdf"'
    )
    return response
