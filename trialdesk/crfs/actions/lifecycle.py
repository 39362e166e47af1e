"""The form life cycle: verify, lock, unlock."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Role
from trialdesk.crfs.actions.common import CrfError, S, _lock_form, _set_status, clean_text
from trialdesk.crfs.models import (
    FormInstance,
    Query,
)
from trialdesk.studies.locking import refused_when_locked


@refused_when_locked("source-verify forms")
def do_verify_form(fi: FormInstance, acting_user) -> FormInstance:
    role = require_at(acting_user, (Role.MONITOR,), fi.participant.site_id, "source-verify forms")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status != S.COMPLETE:
            raise CrfError(
                f"only a complete form can be source-verified (this one is {fi.get_status_display().lower()})"
            )
        _set_status(
            fi,
            S.VERIFIED,
            acting_user,
            role,
            "source data verified",
            verified_by=acting_user,
            verified_at=timezone.now(),
        )
    return fi


def do_lock_form(fi: FormInstance, acting_user, *, reason: str = "") -> FormInstance:
    reason = clean_text("reason", reason)
    role = require_at(acting_user, (Role.DATA_MANAGER,), fi.participant.site_id, "lock forms")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status not in (S.COMPLETE, S.VERIFIED, S.SIGNED):
            raise CrfError(
                f"only a complete form can be locked (this one is {fi.get_status_display().lower()})"
            )
        if Query.objects.filter(form=fi).exclude(status=Query.Status.CLOSED).exists():
            raise CrfError("the form has open queries: close them before locking")
        before = fi.status
        _set_status(
            fi,
            S.LOCKED,
            acting_user,
            role,
            reason or "locked by data management",
            status_before_lock=before,
        )
    return fi


@refused_when_locked("unlock forms")
def do_unlock_form(fi: FormInstance, acting_user, *, reason: str) -> FormInstance:
    reason = clean_text("reason", reason)
    if not reason.strip():
        raise CrfError("say why the form is unlocked")
    role = require_at(acting_user, (Role.DATA_MANAGER,), fi.participant.site_id, "unlock forms")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status != S.LOCKED:
            raise CrfError("the form is not locked")
        _set_status(
            fi,
            fi.status_before_lock or S.COMPLETE,
            acting_user,
            role,
            reason,
            status_before_lock="",
        )
    return fi


def lock_forms_for_database_lock(study: str, acting_user, role: str, reason: str) -> list[int]:
    """Lock every complete, verified or signed form of ``study`` inside the caller's
    transaction (the database lock); returns their ids (the unlock returns exactly these)."""
    forms = FormInstance.objects.select_for_update().filter(
        participant__study_id=study, status__in=[S.COMPLETE, S.VERIFIED, S.SIGNED]
    )
    ids = []
    for fi in forms.select_related("participant__site").order_by("pk"):
        _set_status(fi, S.LOCKED, acting_user, role, reason, status_before_lock=fi.status)
        ids.append(fi.pk)
    return ids


def unlock_forms_of_database_lock(ids: list[int], acting_user, role: str, reason: str) -> int:
    """Return the forms a database lock locked to their status before it (caller's
    transaction); a form unlocked or changed since is left as it is."""
    forms = FormInstance.objects.select_for_update().filter(pk__in=ids, status=S.LOCKED)
    n = 0
    for fi in forms.select_related("participant__site").order_by("pk"):
        _set_status(
            fi,
            fi.status_before_lock or S.COMPLETE,
            acting_user,
            role,
            reason,
            status_before_lock="",
        )
        n += 1
    return n
