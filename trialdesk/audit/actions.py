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


def record(
    action: str,
    *,
    actor=None,
    role: str = "",
    site=None,
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
    return chain.append(
        action=action,
        actor=actor,
        role=role,
        site_code=site_code,
        object_type=object_type,
        object_id=object_id,
        participant=participant,
        old=old,
        new=new,
        reason=reason,
    )
