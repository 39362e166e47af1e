"""Screening log, eligibility (criterion by criterion with evidence), signature, consent."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from trialdesk.accounts.access import Refused, get_access, require_role
from trialdesk.accounts.models import Role
from trialdesk.core.numbers import NumberSyntaxError, parse_integer_text
from trialdesk.core.timeparse import parse_iso_date, parse_iso_datetime
from trialdesk.enrolment import actions, eligibility, services
from trialdesk.enrolment.models import Consent, ScreeningEntry, Withdrawal
from trialdesk.participants.scoping import ENROLMENT_READ_ROLES, participant_in_scope

STAFF = actions.SITE_STAFF


@require_role(*ENROLMENT_READ_ROLES)
def screening_log(request):
    access = get_access(request)
    ids = access.site_ids(*ENROLMENT_READ_ROLES)
    rows = ScreeningEntry.objects.select_related("participant", "site")
    rows = rows.filter(site_id__in=ids)
    if request.method == "POST":
        return _screen(request, access)
    counts = {r["outcome"]: r["n"] for r in rows.values("outcome").annotate(n=Count("pk"))}
    return render(
        request,
        "enrolment/log.html",
        {
            "rows": rows,
            "sites": access.sites(*STAFF),
            "today": timezone.localdate(),
            "counts": [
                (label, counts.get(code, 0)) for code, label in ScreeningEntry.Outcome.choices
            ],
            "destroy": services.samples_to_destroy(ids),
        },
    )


def _screen(request, access):
    try:  # finding 7: a site id in the one number syntax, never a 500
        site_pk = parse_integer_text(request.POST.get("site") or "0", name="site", minimum=0)
    except NumberSyntaxError:
        site_pk = 0
    site = access.sites(*STAFF).filter(pk=site_pk).first() if site_pk < 2**31 else None
    day = parse_iso_date(request.POST.get("screened_on", ""))
    if site is None or day is None:
        messages.error(request, "choose one of your sites and a screening date (YYYY-MM-DD)")
        return redirect("enrolment:log")
    try:
        entry = actions.do_screen_participant(
            site, request.user, screened_on=day, referral=request.POST.get("referral", "")
        )
    except actions.EnrolmentError as exc:
        messages.error(request, str(exc))
        return redirect("enrolment:log")
    messages.success(request, f"Screening {entry.participant.subject_id} opened")
    return redirect("enrolment:participant", subject_id=entry.participant.subject_id)


@require_role(*ENROLMENT_READ_ROLES)
def participant(request, subject_id: str):
    p = participant_in_scope(request, subject_id)
    access = get_access(request)
    if request.method == "POST":
        if not access.can(STAFF, p.site_id):
            raise Refused("your role does not allow changes here")
        _post(request, p)
        return redirect("enrolment:participant", subject_id=p.subject_id)
    protocol = services_protocol(p)
    assessment = services.latest_assessment(p)
    criteria = [
        dict(c, reads=eligibility.reading(c)) for c in (assessment.criteria if assessment else [])
    ]
    return render(
        request,
        "enrolment/participant.html",
        {
            "p": p,
            "entry": getattr(p, "screening", None),
            "assessment": assessment,
            "criteria": criteria,
            "consents": p.consents.all(),
            "withdrawals": p.withdrawals.all(),
            "readiness": services.readiness(p),
            "versions": protocol.consent_versions.values(),
            "current_version": protocol.consent_version_on(timezone.localdate()),
            "scopes": Withdrawal.Scope.choices,
            "meaning": actions.ELIGIBILITY_MEANING,
            "outcomes": [
                c
                for c in ScreeningEntry.Outcome.choices
                if c[0] not in ("in_screening", "enrolled")
            ],
            "can_edit": access.can(STAFF, p.site_id),
            "can_sign": access.can((Role.INVESTIGATOR,), p.site_id),
            "now": timezone.localtime(),
        },
    )


def services_protocol(study):
    from trialdesk.studies.registry import get_protocol

    return get_protocol(study)


def _aware(text: str) -> dt.datetime | None:
    value = parse_iso_datetime(text)
    return timezone.make_aware(value) if value and timezone.is_naive(value) else value


def _post(request, p) -> None:
    post, user = request.POST, request.user
    try:
        what = post.get("action")
        if what == "assess":
            a = actions.do_assess_eligibility(p, user)
            messages.info(request, f"Eligibility: {a.get_result_display()}")
        elif what == "sign":
            a = services.latest_assessment(p)
            if a is None:
                raise actions.EnrolmentError("assess eligibility first")
            actions.do_confirm_eligibility(
                a, user, password=post.get("password", ""), request=request
            )
            messages.success(request, "Eligibility confirmed and signed")
        elif what == "consent":
            when = _aware(post.get("consented_at", ""))
            if when is None:
                raise actions.EnrolmentError("enter the consent date and time (YYYY-MM-DD HH:MM)")
            actions.do_record_consent(
                p,
                user,
                version=post.get("version", ""),
                consented_at=when,
                witness_name=post.get("witness_name", ""),
                signature_data_url=post.get("signature", ""),
            )
            messages.success(request, "Consent recorded")
        elif what == "withdraw":
            actions.do_withdraw_consent(
                p,
                user,
                scope=post.get("scope", ""),
                withdrawn_at=_aware(post.get("withdrawn_at", "")) or timezone.now(),
                reason=post.get("reason", ""),
            )
            messages.success(request, "Withdrawal recorded")
        elif what == "close":
            actions.do_close_screening(
                p, user, outcome=post.get("outcome", ""), note=post.get("note", "")
            )
            messages.success(request, "Screening closed")
        else:
            raise actions.EnrolmentError(f"unknown action {what!r}")
    except (actions.EnrolmentError, services.ConsentError) as exc:
        messages.error(request, str(exc))


@require_role(*ENROLMENT_READ_ROLES)
def consent_pdf(request, pk: int):
    row = Consent.objects.select_related("participant").filter(pk=pk).first()
    if row is None or row.pdf is None:
        raise Http404("no such e-consent")
    participant_in_scope(request, row.participant.subject_id)
    data = bytes(row.pdf)
    if hashlib.sha256(data).hexdigest() != row.pdf_sha256:
        return HttpResponse(
            "stored PDF does not match its hash: report to the administrator",
            status=500,
            content_type="text/plain",
        )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="consent-{row.participant.subject_id}.pdf"'
    return response
