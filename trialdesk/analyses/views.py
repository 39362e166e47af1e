"""Final-analysis pages under /staff/<study>/analyses/: the database lock (the data manager),
snapshots and their hashes, the study's unblinding and the analysis runs (the unblinded
statistician; the blinded statistician once the study is unblinded). Nobody else sees a run,
and no page before unblinding shows an arm to a blinded role."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from trialdesk.accounts.access import Refused, get_access, require_role
from trialdesk.accounts.models import Role
from trialdesk.analyses import actions
from trialdesk.analyses.models import AnalysisRun, Snapshot, StudyUnblinding
from trialdesk.studies.locking import open_lock
from trialdesk.studies.models import DatabaseLock

#: Who reads the lock page (state, snapshots and hashes: no clinical values, no arm).
PAGE_ROLES = (
    Role.DATA_MANAGER,
    Role.STATISTICIAN,
    Role.UNBLINDED_STATISTICIAN,
    Role.MONITOR,
    Role.ADMIN,
)


def _runs_visible(request) -> bool:
    return actions.may_run_analysis(get_access(request), request.study.pk)


@require_role(*PAGE_ROLES)
def home(request):
    study = request.study.pk
    access = get_access(request)
    lock = open_lock(study)
    forms, queries = ([], []) if lock else actions.lock_blockers(study)
    visible = _runs_visible(request)
    return render(
        request,
        "analyses/home.html",
        {
            "lock": lock,
            "locks": DatabaseLock.objects.filter(study_id=study).select_related(
                "locked_by", "unlocked_by"
            ),
            "snapshots": Snapshot.objects.filter(study_id=study)
            .select_related("taken_by")
            .defer("data"),
            "unblinding": StudyUnblinding.objects.filter(study_id=study).first(),
            "forms_in_progress": forms,
            "open_queries": queries,
            "policy": actions.get_protocol(study).database_lock,
            "can_lock": access.has_role(*actions.LOCK_ROLES),
            "can_unblind": access.has_role(Role.UNBLINDED_STATISTICIAN),
            "can_run": visible,
            "runs": AnalysisRun.objects.filter(snapshot__study_id=study)
            .select_related("snapshot", "run_by")
            .defer("results", "html", "pdf")
            if visible
            else [],
        },
    )


def _signed_action(request, fn, done: str):
    try:
        fn(
            request.study.pk,
            request.user,
            password=request.POST.get("password", ""),
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except actions.LockError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("analyses:home")


@require_POST
@require_role(*actions.LOCK_ROLES)
def lock(request):
    return _signed_action(request, actions.do_lock_database, "The database is locked.")


@require_POST
@require_role(*actions.LOCK_ROLES)
def unlock(request):
    return _signed_action(request, actions.do_unlock_database, "The database is unlocked.")


@require_POST
@require_role(Role.UNBLINDED_STATISTICIAN)
def unblind(request):
    return _signed_action(
        request, actions.do_unblind_study, "The study is unblinded for its final analysis."
    )


@require_POST
@require_role(Role.STATISTICIAN, Role.UNBLINDED_STATISTICIAN)
def run(request):
    if not _runs_visible(request):
        raise Refused(
            "the blinded statistician runs the final analysis once the study is unblinded"
        )
    raw = request.POST.get("snapshot", "")
    shot = (
        Snapshot.objects.filter(study_id=request.study.pk, pk=int(raw)).first()
        if raw.isdigit() and len(raw) < 12
        else None
    )
    if shot is None:
        messages.error(
            request, f"snapshot = '{raw[:40]}' is not one of the study's snapshots; choose one"
        )
        return redirect("analyses:home")
    try:
        result = actions.do_run_analysis(shot, request.user)
    except PermissionDenied:
        raise
    messages.success(request, f"Analysis run {result.pk} of snapshot {shot.number} is ready.")
    return redirect("analyses:run", pk=result.pk)


def _run_or_404(request, pk: int) -> AnalysisRun:
    if not _runs_visible(request):
        raise Http404("no such analysis run")
    return get_object_or_404(
        AnalysisRun.objects.select_related("snapshot", "run_by"),
        pk=pk,
        snapshot__study_id=request.study.pk,
    )


@require_role(Role.STATISTICIAN, Role.UNBLINDED_STATISTICIAN)
def run_page(request, pk: int):
    return render(request, "analyses/run.html", {"r": _run_or_404(request, pk)})


@require_role(Role.STATISTICIAN, Role.UNBLINDED_STATISTICIAN)
def run_file(request, pk: int, name: str):
    r = _run_or_404(request, pk)
    stem = f"{r.snapshot.study_id}-snapshot{r.snapshot.number}-run{r.pk}"
    if name == "results.json":
        response = HttpResponse(bytes(r.results), content_type="application/json")
    elif name == "report.pdf":
        response = HttpResponse(bytes(r.pdf), content_type="application/pdf")
    else:
        raise Http404("no such file")
    response["Content-Disposition"] = f'attachment; filename="{stem}-{name}"'
    return response
