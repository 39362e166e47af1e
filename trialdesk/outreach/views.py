"""The public contact form and the coordinators' queue of contact requests."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from trialdesk.accounts.access import get_access, require_role
from trialdesk.outreach import abuse, actions, places
from trialdesk.outreach.forms import ContactForm
from trialdesk.outreach.lists import LeadFilter, LeadTable
from trialdesk.outreach.models import Lead
from trialdesk.studies.models import Study
from trialdesk.studies.registry import get_protocol, study_codes


def public_study(code: str):
    """(Study, protocol) of a listed study, else 404."""
    study = Study.objects.filter(pk=code, active=True).first()
    if study is None or code not in study_codes():
        raise Http404("no such study")
    return study, get_protocol(code)


def _language() -> str:
    return "id" if (get_language() or "en").startswith("id") else "en"


@abuse.public_post("contact")
def contact(request, code: str):
    study, protocol = public_study(code)
    form = ContactForm(request.POST or None)
    context = {"study": study, "protocol": protocol, "form": form}
    if request.method != "POST":
        return render(request, "outreach/contact.html", context)
    if abuse.honeypot_filled(request):
        return render(request, "outreach/contact_sent.html", {**context, "lead": None})
    if not form.is_valid():
        return render(request, "outreach/contact.html", context, status=422)
    refusal = abuse.check_rate(request, "contact", email=form.cleaned_data["email"])
    if refusal:
        return abuse.refusal(request, refusal, 429)
    lat, lon, located_by = form.cleaned_data["where"]
    nearest = places.nearest_centre(code, lat, lon)
    if nearest is None:
        form.add_error(None, _("This study has no open study centre at the moment."))
        return render(request, "outreach/contact.html", context, status=422)
    site, km = nearest
    lead = actions.do_create_lead(
        code,
        site,
        identity=form.identity(),
        distance_km=km,
        language=_language(),
        located_by=located_by,
        study_title=protocol.study.title,
    )
    return render(request, "outreach/contact_sent.html", {**context, "lead": lead, "site": site})


# -- the coordinators' queue -------------------------------------------------------------------


def _leads(request):
    """The request's study's leads at the sites where the person is coordinator or
    investigator (site scoping: nothing of another site or study)."""
    ids = get_access(request).site_ids(*actions.SITE_STAFF)
    return Lead.objects.select_related("site").filter(study=request.study, site_id__in=ids)


@require_role(*actions.SITE_STAFF)
def leads(request):
    access = get_access(request)
    f = LeadFilter(
        request.GET or None, queryset=_leads(request), sites=access.sites(*actions.SITE_STAFF)
    )
    table = LeadTable(f.qs)
    # as every list of the project (docs/lists.md): a page number out of range or not a
    # number is a 404, not an error
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "outreach/leads.html", {"filter": f, "table": table})


@require_role(*actions.SITE_STAFF)
def lead(request, pk: int):
    item = get_object_or_404(_leads(request), pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("do") == "convert":
                entry = actions.do_convert_lead(item, request.user)
                messages.success(
                    request, _("Screening %(id)s opened") % {"id": entry.participant.subject_id}
                )
            else:
                actions.do_set_lead_status(
                    item, request.user, status=request.POST.get("status", "")
                )
                messages.success(request, _("Status changed"))
        except actions.LeadError as exc:
            messages.error(request, str(exc))
        return redirect("leads:detail", pk=item.pk)
    person = actions.read_lead(item, request.user)
    return render(
        request,
        "outreach/lead.html",
        {"lead": item, "person": person, "next": actions.NEXT[Lead.Status(item.status)]},
    )
