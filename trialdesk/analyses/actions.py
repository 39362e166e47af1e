"""The database lock and unlock (the data manager, signed), and the snapshots they freeze.

Lock (``do_lock_database``): refused while a form is in progress (listed), and while a query is
not closed unless the protocol's ``database_lock.open_queries`` is ``list``; then, in one
transaction: every complete, verified or signed form is locked, the snapshot is taken and
hashed, the lock is signed (21 CFR 11.50: printed name, time, meaning; password re-entered)
and audited with the snapshot's hash. From then on every action that changes clinical data
refuses (``studies.locking``).

Unlock (``do_unlock_database``): a reason and a signature; the forms the lock locked return to
their status before it, and a new snapshot is taken (kind ``unlock``), so every state that was
ever analysable has a hash in the trail.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from trialdesk.accounts import reauth
from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Role
from trialdesk.analyses import snapshot as snap
from trialdesk.analyses.models import Snapshot
from trialdesk.audit.actions import record
from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.actions.lifecycle import (
    lock_forms_for_database_lock,
    unlock_forms_of_database_lock,
)
from trialdesk.crfs.models import FormInstance, Query
from trialdesk.studies.locking import open_lock
from trialdesk.studies.models import DatabaseLock
from trialdesk.studies.registry import active_version, get_protocol

LOCK_ROLES = (Role.DATA_MANAGER,)
LOCK_MEANING = "database lock: the data are complete and final for analysis"
UNLOCK_MEANING = "database unlock: the locked data must be corrected"
#: How many forms or queries a refusal lists by name (then "and N more").
LISTED = 10


class LockError(Exception):
    """A lock or unlock refused, in words for people (the field, the value, what is allowed)."""


def _listing(rows: list[str]) -> str:
    shown = ", ".join(rows[:LISTED])
    return shown + (f" and {len(rows) - LISTED} more" if len(rows) > LISTED else "")


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise LockError(f"reason = '{reason}' is too short: say why, in at least 10 characters")
    if len(reason) > 2000:
        raise LockError(f"reason is {len(reason)} characters long; at most 2000 are kept")
    return reason


def _sign(user, password: str, request, what: str) -> None:
    try:
        reauth.check_password(user, password, request=request)
    except reauth.Refused as exc:
        raise LockError(f"password: {exc}; the database was not {what}") from None


def take_snapshot(study: str, acting_user, role: str, *, kind: str, reason: str) -> Snapshot:
    """Freeze ``study``'s data now (inside the caller's transaction) and audit its hash."""
    tables = snap.collect(study)
    raw = snap.canonical_bytes(tables)
    number = (Snapshot.objects.filter(study_id=study).aggregate(m=Max("number"))["m"] or 0) + 1
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    row = Snapshot.objects.create(
        study_id=study,
        number=number,
        kind=kind,
        taken_at=timezone.now(),
        taken_by=acting_user,
        reason=reason,
        audit_seq=last,
        protocol_sha256=active_version(study).sha256,
        sha256=snap.sha256(raw),
        counts={name: len(tables[name]) for name in snap.TABLES},
        data=snap.compress(raw),
    )
    record(
        "create",
        actor=acting_user,
        role=role,
        study=study,
        obj=row,
        new=row.snapshot(),
        reason=reason,
    )
    return row


def _audit_signature(lock, user, role, meaning, shot, reason, *, old=None, **facts) -> None:
    """The lock's or unlock's signature (21 CFR 11.50: printed name, meaning) with the hash of
    the snapshot it froze."""
    record(
        "sign",
        actor=user,
        role=role,
        study=lock.study_id,
        obj=lock,
        old=old,
        new={
            **lock.snapshot(),
            "printed_name": user.display_name(),
            "meaning": meaning,
            "snapshot_sha256": shot.sha256,
            **facts,
        },
        reason=reason,
    )


def lock_blockers(study: str) -> tuple[list[str], list[str]]:
    """(forms in progress, queries not closed), each as "subject visit form" text."""
    forms = [
        f"{subject} {visit} {form}#{repeat}"
        for subject, visit, form, repeat in FormInstance.objects.filter(
            participant__study_id=study, status=FormInstance.Status.IN_PROGRESS
        )
        .order_by("participant__subject_id", "visit__sequence", "form_code", "repeat")
        .values_list("participant__subject_id", "visit__code", "form_code", "repeat")
    ]
    queries = [
        f"{subject} {visit} {form}.{item} (query {pk}, {status})"
        for pk, subject, visit, form, item, status in Query.objects.filter(
            form__participant__study_id=study
        )
        .exclude(status=Query.Status.CLOSED)
        .order_by("form__participant__subject_id", "pk")
        .values_list(
            "pk",
            "form__participant__subject_id",
            "form__visit__code",
            "form__form_code",
            "item",
            "status",
        )
    ]
    return forms, queries


def do_lock_database(
    study: str, acting_user, *, password: str, reason: str, request=None
) -> DatabaseLock:
    role = require_at(acting_user, LOCK_ROLES, None, "lock the database", study=study)
    reason = _clean_reason(reason)
    _sign(acting_user, password, request, "locked")
    policy = get_protocol(study).database_lock
    with transaction.atomic(durable=True):
        if open_lock(study) is not None:
            raise LockError(f"the database of {study} is already locked")
        forms, queries = lock_blockers(study)
        if forms:
            raise LockError(
                f"{len(forms)} form(s) are in progress: {_listing(forms)}; complete them (or "
                "clear them) before the lock"
            )
        if queries and policy.open_queries == "refuse":
            raise LockError(
                f"{len(queries)} query(ies) are not closed: {_listing(queries)}; the protocol's "
                "database_lock.open_queries is 'refuse' (allowed: close them first, or a "
                "protocol that says 'list')"
            )
        ids = lock_forms_for_database_lock(study, acting_user, role, f"database lock: {reason}")
        shot = take_snapshot(study, acting_user, role, kind=Snapshot.Kind.LOCK, reason=reason)
        lock = DatabaseLock.objects.create(
            study_id=study,
            locked_at=timezone.now(),
            locked_by=acting_user,
            lock_reason=reason,
            snapshot_id=shot.pk,
            form_ids=ids,
            open_queries=queries,
        )
        _audit_signature(
            lock,
            acting_user,
            role,
            LOCK_MEANING,
            shot,
            reason,
            forms_locked=len(ids),
            open_queries=queries,
        )
    return lock


def do_unlock_database(
    study: str, acting_user, *, password: str, reason: str, request=None
) -> DatabaseLock:
    role = require_at(acting_user, LOCK_ROLES, None, "unlock the database", study=study)
    reason = _clean_reason(reason)
    _sign(acting_user, password, request, "unlocked")
    with transaction.atomic(durable=True):
        lock = (
            DatabaseLock.objects.select_for_update()
            .filter(study_id=study, unlocked_at__isnull=True)
            .first()
        )
        if lock is None:
            raise LockError(f"the database of {study} is not locked")
        old = lock.snapshot()
        lock.unlocked_at, lock.unlocked_by, lock.unlock_reason = timezone.now(), acting_user, reason
        lock.save()
        n = unlock_forms_of_database_lock(
            list(lock.form_ids), acting_user, role, f"database unlock: {reason}"
        )
        shot = take_snapshot(study, acting_user, role, kind=Snapshot.Kind.UNLOCK, reason=reason)
        lock.unlock_snapshot_id = shot.pk
        lock.save(update_fields=["unlock_snapshot_id"])
        _audit_signature(
            lock, acting_user, role, UNLOCK_MEANING, shot, reason, old=old, forms_unlocked=n
        )
    return lock


# -- unblinding of the study and the analysis runs ---------------------------------------------

UNBLIND_MEANING = "study unblinded for the final analysis"


def study_unblinded(study: str) -> bool:
    from trialdesk.analyses.models import StudyUnblinding

    return StudyUnblinding.objects.filter(study_id=study).exists()


def may_run_analysis(access, study: str) -> bool:
    """The unblinded statistician always; the blinded statistician once the study is
    unblinded; nobody else."""
    if access.has_role(Role.UNBLINDED_STATISTICIAN):
        return True
    return access.has_role(Role.STATISTICIAN) and study_unblinded(study)


def do_unblind_study(study: str, acting_user, *, password: str, reason: str, request=None):
    """Unblind the study for its final analysis (the unblinded statistician, signed), only
    while the database is locked."""
    from trialdesk.analyses.models import StudyUnblinding

    role = require_at(
        acting_user, (Role.UNBLINDED_STATISTICIAN,), None, "unblind the study", study=study
    )
    reason = _clean_reason(reason)
    _sign(acting_user, password, request, "unblinded")
    with transaction.atomic(durable=True):
        lock = open_lock(study)
        if lock is None:
            raise LockError(f"the database of {study} is not locked: lock it before unblinding")
        if study_unblinded(study):
            raise LockError(f"{study} is already unblinded")
        row = StudyUnblinding.objects.create(
            study_id=study,
            snapshot_id=lock.snapshot_id,
            unblinded_at=timezone.now(),
            unblinded_by=acting_user,
            reason=reason,
        )
        record(
            "unblind",
            actor=acting_user,
            role=role,
            study=study,
            obj=row,
            new={
                **row.snapshot_dict(),
                "printed_name": acting_user.display_name(),
                "meaning": UNBLIND_MEANING,
            },
            reason=reason,
        )
    return row


def interim_for(snapshot) -> dict | None:
    """The interim look that preceded ``snapshot``: the latest interim run whose data cut is
    before the snapshot's (n with the endpoint, z, its id and hash), or None."""
    from trialdesk.dsmb.models import InterimRun

    run = (
        InterimRun.objects.filter(study_id=snapshot.study_id, data_cut_seq__lte=snapshot.audit_seq)
        .order_by("-data_cut_seq", "-pk")
        .first()
    )
    if run is None:
        return None
    return {
        "run": run.pk,
        "n": run.n_treatment + run.n_control,
        "z": run.z,
        "result_sha256": run.result_sha256,
    }


def default_seed(snapshot) -> int:
    """The seed when none is given: the first 8 hex digits of the snapshot's hash (so the same
    snapshot gives the same imputations without anyone choosing a seed after seeing data)."""
    return int(snapshot.sha256[:8], 16)


def build_results(snapshot, *, seed: int, on_step=None) -> dict:
    """The results dict of the analysis plan on ``snapshot`` (no writes)."""
    import trialdesk
    from trialdesk.analyses import runner

    tables = snap.load(snapshot)
    protocol = get_protocol(snapshot.study_id)
    interim = interim_for(snapshot)
    results = runner.run_plan(tables, protocol, seed=seed, interim=interim, on_step=on_step)
    results["meta"] = {
        "study": snapshot.study_id,
        "snapshot": snapshot.number,
        "snapshot_sha256": snapshot.sha256,
        "snapshot_kind": snapshot.kind,
        "audit_seq": snapshot.audit_seq,
        "protocol_sha256": snapshot.protocol_sha256,
        "protocol_version": protocol.study.protocol_version,
        "software": f"trialdesk {trialdesk.__version__}",
        "seed": seed,
        "interim": interim,
    }
    return results


def do_run_analysis(snapshot, acting_user, *, seed: int | None = None, on_step=None):
    """Run the analysis plan on ``snapshot``, keep the results JSON and the report (HTML, PDF)
    with their hashes, and audit the run."""
    import hashlib

    import trialdesk
    from trialdesk.accounts.access import Access
    from trialdesk.analyses import report, runner
    from trialdesk.analyses.models import AnalysisRun

    access = Access.of(acting_user, snapshot.study_id)
    if not may_run_analysis(access, snapshot.study_id):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(
            "only the unblinded statistician may run the final analysis before the study is "
            "unblinded (then the statisticians may)"
        )
    role = (
        Role.UNBLINDED_STATISTICIAN
        if access.has_role(Role.UNBLINDED_STATISTICIAN)
        else Role.STATISTICIAN
    )
    seed = default_seed(snapshot) if seed is None else int(seed)
    results = build_results(snapshot, seed=seed, on_step=on_step)
    raw = runner.results_bytes(results)
    html, pdf = report.render(results, snap.load(snapshot), get_protocol(snapshot.study_id))
    with transaction.atomic(durable=True):
        run = AnalysisRun.objects.create(
            snapshot=snapshot,
            run_at=timezone.now(),
            run_by=acting_user,
            seed=seed,
            software_version=trialdesk.__version__,
            results=raw,
            results_sha256=hashlib.sha256(raw).hexdigest(),
            html=html,
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        )
        record(
            "create",
            actor=acting_user,
            role=role,
            study=snapshot.study_id,
            obj=run,
            new={**run.snapshot_dict(), "snapshot_sha256": snapshot.sha256},
            reason=f"final analysis of snapshot {snapshot.number}",
        )
    return run
