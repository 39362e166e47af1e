"""Safety pages under /staff/<study>/safety/: the dashboard, the AE list, an AE's page (versions,
clocks, reports, the CIOMS-I PDF). Scoped to the study and to the person's sites (404 outside).

No page shows an arm, a kit or a lot to a blinded role. The safety physician (unblinded,
study-wide) sees each AE's arm, the dashboard's counts by arm, and may print an unblinded
CIOMS-I for a SUSAR's expedited report (ICH E2A: SUSARs are reported unblinded); each unblinded
CIOMS-I is audited (``unblind``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.contrib import messages
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from trialdesk.accounts.access import Refused, get_access, require_role
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.crfs.models import FormInstance
from trialdesk.randomization.models import Allocation, Dosing
from trialdesk.randomization.services import arm_label, can_see_arm
from trialdesk.safety import ctcae
from trialdesk.safety.actions import REPORT_ROLES, SafetyError, do_close_clock, do_record_follow_up
from trialdesk.safety.findings import FindingError, do_dismiss_finding
from trialdesk.safety.lists import PER_PAGE, AEFilter, AETable
from trialdesk.safety.models import AdverseEvent, LabFinding, ReportClock
from trialdesk.safety.panels import render_panels
from trialdesk.safety.pdf import cioms_pdf
from trialdesk.studies.registry import get_protocol
from trialdesk.studies.timezones import site_zone

ENTRY_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR)

#: Who reads the safety pages: the casebook readers and the DSMB (every site, pooled, blinded).
SAFETY_ROLES = (
    Role.COORDINATOR,
    Role.INVESTIGATOR,
    Role.MONITOR,
    Role.DATA_MANAGER,
    Role.DSMB,
    Role.SAFETY_PHYSICIAN,
)


def visible_aes(request):
    ids = get_access(request).site_ids(*SAFETY_ROLES)
    return AdverseEvent.objects.select_related("participant__site", "form__visit").filter(
        participant__site_id__in=ids
    )


def _ae_or_404(request, pk: int) -> AdverseEvent:
    ae = visible_aes(request).filter(pk=pk).first()
    if ae is None:
        raise Http404("no such adverse event at your sites")
    return ae


@require_role(*SAFETY_ROLES)
def dashboard(request):
    aes = list(visible_aes(request))
    protocol = get_protocol(request.study)
    spec = protocol.adverse_events
    if spec is None:
        raise Http404("this study's protocol has no adverse_events section")
    by_month: dict[str, list[int]] = {}
    for ae in aes:
        month = ae.onset_at.strftime("%Y-%m") if ae.onset_at else "—"
        row = by_month.setdefault(month, [0, 0])
        row[0] += 1
        row[1] += ae.serious
    grades = Counter(ae.grade or "—" for ae in aes)
    related = Counter(ae.relatedness or "—" for ae in aes)
    clocks = (
        ReportClock.objects.filter(adverse_event__in=[ae.pk for ae in aes], closed_at__isnull=True)
        .select_related("adverse_event__participant__site")
        .order_by("due_at")
    )
    page = {
        "by_month": sorted(by_month.items()),
        "grades": sorted(grades.items()),
        "related": sorted(related.items(), key=lambda kv: _order(protocol, spec, kv[0])),
        "total": len(aes),
        "serious": sum(ae.serious for ae in aes),
        "susars": sum(ae.susar for ae in aes),
        "clocks": clocks,
        "late_closed": ReportClock.objects.filter(
            adverse_event__in=[ae.pk for ae in aes], closed_at__isnull=False, late=True
        ).count(),
        "now": dt.datetime.now(dt.UTC),
        "findings": _open_findings(request, spec),
        "reactions": _unrecorded_reactions(request),
        "panels": render_panels(request),  # e.g. the DSMB app's stopping rules
        "by_arm": _by_arm(protocol, aes) if can_see_arm(get_access(request)) else None,
    }
    return render(request, "safety/dashboard.html", page)


def _by_arm(protocol, aes) -> list[dict]:
    """AEs, SAEs, related AEs, SUSARs and participants with an AE, per arm (unblinded only)."""
    arms = dict(
        Allocation.objects.filter(participant_id__in={ae.participant_id for ae in aes}).values_list(
            "participant_id", "arm"
        )
    )
    randomized = Counter(
        Allocation.objects.filter(participant__study=protocol.study.id).values_list(
            "arm", flat=True
        )
    )
    rows = []
    for code in [*protocol.arms, ""]:
        mine = [ae for ae in aes if arms.get(ae.participant_id, "") == code]
        if not code and not mine:
            continue
        rows.append(
            {
                "arm": arm_label(protocol, code) if code else _("not randomized"),
                "randomized": randomized.get(code, 0) if code else None,
                "participants": len({ae.participant_id for ae in mine}),
                "total": len(mine),
                "serious": sum(ae.serious for ae in mine),
                "related": sum(ae.related for ae in mine),
                "susars": sum(ae.susar for ae in mine),
                "grade3plus": sum(ctcae.grade_number(ae.grade) >= 3 for ae in mine),
            }
        )
    return rows


def _unrecorded_reactions(request):
    """Reactions recorded at dosing that no AE is linked to (``AdverseEvent.dosing_reaction``)."""
    ids = get_access(request).site_ids(*SAFETY_ROLES)
    linked = AdverseEvent.objects.filter(dosing_reaction__isnull=False).values("dosing_reaction")
    return (
        Dosing.objects.filter(participant__site_id__in=ids, infusion_reaction=True)
        .exclude(pk__in=linked)
        .select_related("participant")
        .only("participant__subject_id", "reaction_description", "reaction_onset", "ae_reference")
    )


def _open_findings(request, spec) -> list[dict]:
    ids = get_access(request).site_ids(*SAFETY_ROLES)
    access = get_access(request)
    rows = (
        LabFinding.objects.filter(participant__site_id__in=ids, status=LabFinding.Status.OPEN)
        .select_related("participant__site", "form__visit")
        .order_by("detected_at")
    )
    out = []
    for finding in rows:
        visit = finding.form.visit
        taken = FormInstance.objects.filter(visit=visit, form_code=spec.form).aggregate(
            m=Max("repeat")
        )["m"]
        site_id = finding.participant.site_id
        out.append(
            {
                "f": finding,
                "ae_url": reverse("crfs:form", args=[visit.pk, spec.form, (taken or 0) + 1])
                if access.can(ENTRY_ROLES, site_id)
                else "",
                "can_dismiss": access.can(REPORT_ROLES, site_id),
            }
        )
    return out


@require_POST
@require_role(*REPORT_ROLES)
def dismiss_finding(request, pk: int):
    ids = get_access(request).site_ids(*REPORT_ROLES)
    finding = LabFinding.objects.filter(pk=pk, participant__site_id__in=ids).first()
    if finding is None:
        raise Http404("no such prompt at your sites")
    try:
        do_dismiss_finding(finding, request.user, reason=request.POST.get("reason", ""))
    except FindingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Prompt dismissed."))
    return redirect("safety:dashboard")


def _order(protocol, spec, code: str) -> int:
    if spec is None or not spec.fields.relatedness:
        return 0
    fld = protocol.form(spec.form).fields[spec.fields.relatedness]
    codes = list(protocol.codelist(fld.codelist).items) if fld.codelist else []
    return codes.index(code) if code in codes else len(codes)


@require_role(*SAFETY_ROLES)
def ae_list(request):
    access = get_access(request)
    filterset = AEFilter(
        request.GET or None,
        queryset=visible_aes(request),
        sites=access.sites(*SAFETY_ROLES).order_by("code"),
    )
    table = AETable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "safety/ae_list.html", {"filter": filterset, "table": table})


@require_role(*SAFETY_ROLES)
def ae_page(request, pk: int):
    ae = _ae_or_404(request, pk)
    access = get_access(request)
    site_id = ae.participant.site_id
    zone = site_zone(ae.participant.site)
    entry = access.can(
        (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER), site_id
    )
    page = {
        "ae": ae,
        "zone": zone,
        "versions": ae.versions.select_related("recorded_by").order_by("-number"),
        "clocks": ae.clocks.select_related("closed_by").order_by("due_at"),
        "reports": ae.reports.select_related("recorded_by"),
        "ctcae": ctcae.lookup(ae.ctcae_term) if ae.ctcae_term else None,
        "reaction": ae.dosing_reaction,
        "arm": _arm_of(request, ae),
        "can_report": access.can(REPORT_ROLES, site_id),
        "can_open_form": entry,
        "local_now": dt.datetime.now(zone).strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "safety/ae.html", page)


def _arm_of(request, ae) -> str | None:
    """The AE's participant's arm, for the roles that may see arms; None for everyone else."""
    if not can_see_arm(get_access(request)):
        return None
    allocation = Allocation.objects.filter(participant=ae.participant).first()
    if allocation is None:
        return _("not randomized")
    return arm_label(get_protocol(request.study), allocation.arm)


@require_role(*SAFETY_ROLES)
def cioms(request, pk: int):
    """The CIOMS-I PDF: blinded by default; ``?unblinded=1`` adds the arm for the roles that may
    see arms (the safety physician's SUSAR report), and is audited as an unblinding."""
    ae = _ae_or_404(request, pk)
    arm = None
    if request.GET.get("unblinded") == "1":
        arm = _arm_of(request, ae)
        if arm is None:
            raise Refused(_("only the unblinded safety physician may print an unblinded report"))
        record(
            "unblind",
            actor=request.user,
            role=Role.SAFETY_PHYSICIAN
            if get_access(request).has_role(Role.SAFETY_PHYSICIAN)
            else "",
            site=ae.participant.site,
            obj=ae,
            participant=ae.participant.subject_id,
            reason="unblinded CIOMS-I report printed (expedited SUSAR reporting)",
        )
    version = ae.versions.select_related("recorded_by").order_by("-number").first()
    reporter = "—"
    if version and version.recorded_by:
        user = version.recorded_by
        reporter = f"{user.get_full_name() or user.username} ({version.role or 'site staff'})"
    kind = "follow-up" if ae.reports.exists() else "initial"
    pdf = cioms_pdf(ae, reporter=reporter, report_kind=kind, arm=arm)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"CIOMS-{ae.participant.subject_id}-AE{ae.pk}-v{ae.version}"
    name += "-UNBLINDED.pdf" if arm else ".pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _sent_at(request, ae) -> dt.datetime:
    text = request.POST.get("sent_at", "").strip().replace(" ", "T")
    try:
        when = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise SafetyError(
            _("sent_at = '%(text)s' is not a date and time (use YYYY-MM-DD HH:MM)") % {"text": text}
        ) from None
    return when.replace(tzinfo=site_zone(ae.participant.site))


@require_POST
@require_role(*REPORT_ROLES)
def close_clock(request, pk: int):
    clock = ReportClock.objects.filter(pk=pk).first()
    if clock is None:
        raise Http404("no such reporting clock")
    ae = _ae_or_404(request, clock.adverse_event_id)
    if not get_access(request).can(REPORT_ROLES, ae.participant.site_id):
        raise Refused(_("only an investigator of this site records its safety reports"))
    try:
        do_close_clock(
            clock,
            request.user,
            sent_at=_sent_at(request, ae),
            reference=request.POST.get("reference", ""),
        )
    except SafetyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Report recorded as sent."))
    return redirect("safety:ae", pk=ae.pk)


@require_POST
@require_role(*REPORT_ROLES)
def follow_up(request, pk: int):
    ae = _ae_or_404(request, pk)
    if not get_access(request).can(REPORT_ROLES, ae.participant.site_id):
        raise Refused(_("only an investigator of this site records its safety reports"))
    try:
        do_record_follow_up(
            ae,
            request.user,
            sent_at=_sent_at(request, ae),
            reference=request.POST.get("reference", ""),
        )
    except SafetyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Follow-up report recorded."))
    return redirect("safety:ae", pk=ae.pk)
