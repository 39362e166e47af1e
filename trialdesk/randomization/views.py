"""HTML skin on the randomization actions. Arms are rendered only when
``services.can_see_arm`` says so, or on an emergency code break's page to the people
``Unblinding.shown_to`` names (requester, approver); everything else shows randomization
number and kit code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import numpy as np
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trialdesk.accounts.access import ALL_STAFF_ROLES, get_access, require_role
from trialdesk.accounts.models import Role
from trialdesk.core.numbers import NumberSyntaxError, parse_integer_text, parse_number_text
from trialdesk.core.randomization import neighbour_guessability, simulate_balance
from trialdesk.core.timeparse import parse_iso_datetime
from trialdesk.enrolment import services as enrolment
from trialdesk.participants.scoping import ENROLMENT_READ_ROLES, participant_in_scope
from trialdesk.randomization import actions, services
from trialdesk.randomization.models import Allocation, RandomizationList, Unblinding
from trialdesk.studies.registry import get_protocol

LIST_ROLES = (Role.UNBLINDED_STATISTICIAN,)


@require_role(*ENROLMENT_READ_ROLES, Role.UNBLINDED_STATISTICIAN)
def overview(request):
    access = get_access(request)
    ids = access.site_ids(*ENROLMENT_READ_ROLES, Role.UNBLINDED_STATISTICIAN)
    rows = Allocation.objects.select_related("participant__site").order_by("allocated_at")
    rows = rows.filter(participant__site_id__in=ids)
    rlist = RandomizationList.objects.filter(study=request.study, active=True).first()
    return render(
        request,
        "randomization/overview.html",
        {
            "rows": rows,
            "unblinded": services.can_see_arm(access),
            "rlist": rlist,
            "is_list_owner": access.has_role(*LIST_ROLES),
            "is_pharmacist": access.has_role(Role.PHARMACIST),
        },
    )


#: Ranges of numbers typed on these pages (finding 7: named in the refusal, never a 500).
MIN_SIMULATIONS, MAX_SIMULATIONS = 10, 100_000
MAX_SLOTS_PER_STRATUM = 10_000


def _when(text: str) -> dt.datetime | None:
    value = parse_iso_datetime(text)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _decimal(text: str) -> Decimal | None:
    """A volume in the one number syntax (trialdesk.core.numbers); None when it is not one
    (Decimal alone would take 'NaN', '1e3' and Arabic-Indic digits)."""
    t = (text or "").strip()
    try:
        parse_number_text(t, name="volume_ml")
        return Decimal(t.replace(",", "."))
    except (NumberSyntaxError, InvalidOperation):
        return None


@require_role(*ENROLMENT_READ_ROLES)
def participant(request, subject_id: str):
    p = participant_in_scope(request, subject_id)
    access = get_access(request)
    if request.method == "POST":
        return _post_participant(request, p, access)
    allocation = Allocation.objects.filter(participant=p).first()
    prep = getattr(allocation, "preparation", None) if allocation else None
    dosing = getattr(p, "dosing", None)
    reasons = [] if allocation else enrolment.readiness(p)
    policy = get_protocol(request.study).unblinding
    site_staff = (
        get_user_model()
        .objects.filter(
            memberships__site=p.site,
            memberships__active=True,
            memberships__role__in=actions.RANDOMIZERS,
        )
        .distinct()
    )
    return render(
        request,
        "randomization/participant.html",
        {
            "p": p,
            "allocation": allocation,
            "prep": prep,
            "dosing": dosing,
            "reasons": reasons,
            "unblinded": services.can_see_arm(access),
            "arm_label": services.arm_label(get_protocol(request.study), allocation.arm)
            if allocation and services.can_see_arm(access)
            else "",
            "can_randomize": access.can(actions.RANDOMIZERS, p.site_id),
            "can_prepare": access.can((Role.PHARMACIST,), p.site_id),
            "can_unblind": access.can(actions.UNBLINDERS, p.site_id),
            "approval_required": policy.approval_required,
            "approver_roles": [Role(r).label for r in policy.approver_roles],
            "pending_unblinding": allocation.unblindings.filter(
                status=Unblinding.Status.PENDING
            ).first()
            if allocation
            else None,
            "routes": list(get_protocol(request.study).routes),
            "site_staff": site_staff,
        },
    )


def _post_participant(request, p, access):
    what = request.POST.get("action")
    try:
        if what == "randomize":
            a = actions.do_randomize_participant(p, request.user)
            messages.success(request, f"Randomized: {a.randomization_number}, kit {a.kit_code}")
        elif what == "prepare":
            a = Allocation.objects.get(participant=p)
            actions.do_record_preparation(
                a,
                request.user,
                lot=request.POST.get("lot", ""),
                volume_ml=_decimal(request.POST.get("volume_ml")) or Decimal("0"),
                prepared_at=_when(request.POST.get("prepared_at")) or timezone.now(),
            )
            messages.success(request, f"Kit {a.kit_code} prepared")
        elif what == "dose":
            _dose(request, p)
            messages.success(request, "Dosing recorded; day 0 set and visits scheduled")
        else:
            raise actions.RandomizationError(f"unknown action {what!r}")
    except PermissionDenied:
        raise
    except enrolment.NotReady as exc:
        messages.error(request, "Not ready: " + "; ".join(exc.reasons))
    except (actions.RandomizationError, enrolment.ConsentError, Allocation.DoesNotExist) as exc:
        messages.error(request, str(exc) or "not randomized")
    return redirect("randomization:participant", subject_id=p.subject_id)


def _dose(request, p):
    post = request.POST
    started, stopped = _when(post.get("started_at")), _when(post.get("stopped_at"))
    volume = _decimal(post.get("volume_ml"))
    if started is None or stopped is None or volume is None:
        raise actions.RandomizationError(
            "enter start and stop as YYYY-MM-DD HH:MM and the volume in mL"
        )
    giver = (
        get_user_model()
        .objects.filter(
            pk=post.get("administered_by") or 0,
            memberships__study_id=p.study_id,
            memberships__active=True,
        )
        .first()
    )
    if giver is None:
        raise actions.RandomizationError("choose who administered the dose")
    actions.do_record_dosing(
        p,
        request.user,
        route=post.get("route", ""),
        volume_ml=volume,
        started_at=started,
        stopped_at=stopped,
        administered_by=giver,
        injection_site=post.get("injection_site", ""),
        interrupted=bool(post.get("interrupted")),
        infusion_reaction=bool(post.get("infusion_reaction")),
        reaction_description=post.get("reaction_description", ""),
        ae_reference=post.get("ae_reference", ""),
    )


@require_POST
@require_role(*actions.UNBLINDERS)
def unblind(request, subject_id: str):
    p = participant_in_scope(request, subject_id)
    try:
        row = actions.do_emergency_unblind(p, request.user, reason=request.POST.get("reason", ""))
    except actions.RandomizationError as exc:
        messages.error(request, str(exc))
        return redirect("randomization:participant", subject_id=p.subject_id)
    if not row.revealed:
        messages.success(request, "Unblinding requested: it awaits approval by a second person")
    return redirect("randomization:unblinding", pk=row.pk)


def _visible_unblinding(request, pk: int) -> Unblinding:
    """The requester, the approver and (while pending) whoever may decide see a request;
    for anyone else not even its existence is shown."""
    row = (
        Unblinding.objects.select_related(
            "allocation__participant__site", "requested_by", "approved_by", "rejected_by"
        )
        .filter(pk=pk, allocation__participant__study=request.study)
        .first()
    )
    me = request.user.pk
    if row is None or not (
        me in (row.requested_by_id, row.approved_by_id, row.rejected_by_id)
        or actions.can_decide_unblinding(row, request.user)
    ):
        raise Http404("no such unblinding for you")
    return row


@require_role(*ALL_STAFF_ROLES)
def unblinding(request, pk: int):
    row = _visible_unblinding(request, pk)
    if request.method == "POST":
        return _decide(request, row)
    shown = row.shown_to(request.user)
    return render(
        request,
        "randomization/unblinding.html",
        {
            "row": row,
            "arm_label": services.arm_label(get_protocol(request.study), row.allocation.arm)
            if shown
            else "",
            "shown": shown,
            "can_decide": actions.can_decide_unblinding(row, request.user),
        },
    )


def _decide(request, row: Unblinding):
    what = request.POST.get("action")
    if what not in ("approve", "reject"):
        messages.error(request, "choose approve or reject")
        return redirect("randomization:unblinding", pk=row.pk)
    try:
        actions.do_decide_unblinding(
            row,
            request.user,
            approve=what == "approve",
            password=request.POST.get("password", ""),
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except actions.RandomizationError as exc:
        messages.error(request, str(exc))
    return redirect("randomization:unblinding", pk=row.pk)


@require_role(*ALL_STAFF_ROLES)
def unblindings(request):
    """Pending requests the user may decide, and her own requests."""
    rows = Unblinding.objects.select_related(
        "allocation__participant__site", "requested_by"
    ).filter(allocation__participant__study=request.study)
    mine = rows.filter(requested_by=request.user).order_by("-requested_at")
    pending = [
        r
        for r in rows.filter(status=Unblinding.Status.PENDING).order_by("requested_at")
        if actions.can_decide_unblinding(r, request.user)
    ]
    return render(request, "randomization/unblindings.html", {"mine": mine, "pending": pending})


@require_role(Role.PHARMACIST)
def pharmacy(request):
    ids = get_access(request).site_ids(Role.PHARMACIST)
    rows = Allocation.objects.select_related("participant__site", "preparation").order_by(
        "allocated_at"
    )
    rows = rows.filter(participant__site_id__in=ids)
    p = get_protocol(request.study)
    return render(
        request,
        "randomization/pharmacy.html",
        {"rows": [(a, services.arm_label(p, a.arm)) for a in rows]},
    )


@require_role(*LIST_ROLES)
def list_admin(request):
    if request.method == "POST":
        _post_list(request)
        return redirect("randomization:list-admin")
    rlist = RandomizationList.objects.filter(study=request.study, active=True).first()
    strata = []
    if rlist:
        strata = (
            rlist.slots.values("stratum")
            .annotate(total=Count("pk"), used=Count("pk", filter=Q(used=True)))
            .order_by("stratum")
        )
    return render(
        request,
        "randomization/list_admin.html",
        {"rlist": rlist, "strata": strata, "test_mode": settings.RANDOMIZATION_TEST_SEEDS},
    )


def _post_list(request):
    what = request.POST.get("action")
    try:
        seed = _typed_seed(request.POST.get("seed", ""))
        if what == "generate":
            per = parse_integer_text(  # finding 7: 99999999999 slots was a MemoryError
                request.POST.get("slots_per_stratum") or "40",
                name="slots_per_stratum", minimum=1, maximum=MAX_SLOTS_PER_STRATUM,
            )  # fmt: skip
            rlist = actions.do_generate_list(
                request.user, seed=seed, slots_per_stratum=per, study=request.study.code
            )
            messages.success(request, f"List generated, sha256 {rlist.sha256}")
        elif what == "verify":
            check = actions.do_verify_list(request.user, seed=seed, study=request.study.code)
            if check.ok:
                messages.success(request, "The list is intact and sound")
            else:
                messages.error(request, "The list does NOT verify: " + "; ".join(check.problems))
        elif what == "import":
            upload = request.FILES.get("file")
            text = upload.read().decode("utf-8-sig") if upload else request.POST.get("csv", "")
            rlist = actions.do_import_list(request.user, csv_text=text, study=request.study.code)
            messages.success(request, f"List imported, sha256 {rlist.sha256}")
    except ValueError as exc:
        messages.error(request, str(exc))


def _typed_seed(text: str) -> int | None:
    """An empty seed field means "the system draws it"; anything typed must be a whole number
    (and is then refused by the action unless the reproducible-test mode allows it)."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise actions.RandomizationError(
            "seed: allowed: empty (the system draws it) or, in test mode, a whole number ≥ 0"
        )
    return int(text)


@require_role(*LIST_ROLES)
def report(request):
    rlist = RandomizationList.objects.filter(study=request.study, active=True).first()
    p = get_protocol(request.study)
    spec = actions.spec_of(rlist) if rlist else services.spec_from_protocol(p, slots_per_stratum=40)
    n = p.study.target_enrollment
    default = 200 if spec.method == "minimization" else 10000
    try:  # finding 7: the one number syntax and a named range, never a 500
        sims = parse_integer_text(
            request.GET.get("simulations") or str(default),
            name="simulations", minimum=MIN_SIMULATIONS, maximum=MAX_SIMULATIONS,
        )  # fmt: skip
    except NumberSyntaxError as exc:
        return render(request, "invalid_request.html", {"message": str(exc)}, status=422)
    result = simulate_balance(
        spec=spec, n_participants=n, n_simulations=sims, rng=np.random.default_rng()
    )
    per_stratum = []
    if rlist:
        per_stratum = (
            rlist.slots.values("stratum", "arm").annotate(n=Count("pk")).order_by("stratum", "arm")
        )
    top = max((share for _, share in result.distribution), default=1.0)
    bars = [
        {
            "x": 40 + 22 * i,
            "y": 170 - round(150 * share / top),
            "h": round(150 * share / top),
            "value": value,
            "pct": round(100 * share, 1),
        }
        for i, (value, share) in enumerate(result.distribution)
    ]
    return render(
        request,
        "randomization/report.html",
        {
            "rlist": rlist,
            "spec": spec,
            "result": result,
            "per_stratum": per_stratum,
            "bars": bars,
            "chart_width": 60 + 22 * len(bars),
            "guess": None
            if spec.method == "minimization"
            else neighbour_guessability(
                method=spec.method, ratio=spec.ratio, block_sizes=spec.block_sizes
            ),
        },
    )
