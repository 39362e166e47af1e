"""The one way clinical code writes to the audit trail.

`record(...)` takes the acting user and derives role and site from the context the caller
passes; it must be called inside the action's transaction so the event and the change commit
or roll back together.
"""

from __future__ import annotations

from typing import Any

from trialdesk.audit import chain
from trialdesk.audit.models import AuditEvent
from trialdesk.core.text import check_text


def blinded(kind: str, obj, value: Any) -> str:
    """What an event carries instead of a value blinded readers must not see (an arm, a lot):
    a keyed digest bound to this object, which `audit verify` compares with the row."""
    return chain.digest(kind, getattr(obj, "pk", obj), value)


def study_of(*things) -> str:
    """The study code of the first thing that names one: a Study (its pk), a site, a
    participant, or a row with a ``study`` or a ``participant`` (Study primary keys are their
    codes, so ``study_id`` is already the code). Blank when none does."""
    for thing in things:
        if thing is None or isinstance(thing, str | int):
            continue
        if thing._meta.label_lower == "studies.study":
            return thing.pk
        code = getattr(thing, "study_id", None)
        if isinstance(code, str) and code:
            return code
        inner = getattr(thing, "participant", None)
        code = getattr(inner, "study_id", None)
        if isinstance(code, str) and code:
            return code
    return ""


def events_of_study(code: str):
    """The events of study ``code``: its own, and, on a deployment that held only that study
    before studies were scoped, the unscoped events of that time (see AuditChainHead)."""
    from django.db.models import Q

    from trialdesk.audit.models import AuditChainHead

    mine = Q(study_code=code)
    head = AuditChainHead.objects.filter(id=1).first()
    if head and head.single_study == code and head.single_study_until_seq:
        mine |= Q(study_code="", seq__lte=head.single_study_until_seq)
    return AuditEvent.objects.filter(mine)


def record(
    action: str,
    *,
    actor=None,
    role: str = "",
    site=None,
    study=None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    participant: str = "",
    old: Any = None,
    new: Any = None,
    reason: str = "",
) -> AuditEvent:
    # Backstop for finding 9: views refuse long free text first, with the field's own limit;
    # this refuses (and so rolls back the whole action) whatever slipped past them.
    check_text("reason", reason, kind="audit_reason")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    site_code = getattr(site, "code", site or "") or ""
    study_code = study if isinstance(study, str) else study_of(study, site, obj)
    return chain.append(
        action=action,
        actor=actor,
        role=role,
        site_code=site_code,
        study_code=study_code,
        object_type=object_type,
        object_id=object_id,
        participant=participant,
        old=old,
        new=new,
        reason=reason,
    )
