"""Automatic queries and clinical alerts raised by edit checks, and acknowledging alerts."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Membership, Role
from trialdesk.crfs import engine
from trialdesk.crfs.actions.common import _audit, clean_text
from trialdesk.crfs.models import (
    ClinicalAlert,
    ItemValue,
    Query,
    QueryMessage,
)


def _value_snapshot(fi, item: str):
    row = ItemValue.objects.filter(form=fi, item=item).first() if item else None
    return row.value if row else None


def _issue_key(origin, item, check) -> tuple[str, str, str]:
    return (origin, item, check)


def sync_auto_queries(fi, result: engine.FormResult, user, role) -> tuple[int, int]:
    """Open a query for each firing soft limit / query check that has none; close the automatic
    queries whose check no longer fires. A query closed on the same value is not re-opened."""
    wanted = {_issue_key(i.origin, i.item, i.check): i for i in result.queries}
    current = {
        _issue_key(q.origin, q.item, q.check_code): q
        for q in Query.objects.filter(form=fi)
        .exclude(origin=Query.Origin.MANUAL)
        .order_by("created_at", "id")
    }
    opened = closed = 0
    for key, issue in wanted.items():
        snapshot = _value_snapshot(fi, issue.item)
        q = current.get(key)
        if q and (q.is_open or q.value_snapshot == snapshot):
            continue
        query = Query.objects.create(
            form=fi,
            participant=fi.participant,
            item=issue.item,
            check_code=issue.check,
            origin=issue.origin,
            text=issue.message,
            value_snapshot=snapshot,
        )
        QueryMessage.objects.create(query=query, kind=QueryMessage.Kind.OPEN, text=issue.message)
        _audit(
            "create",
            fi,
            user,
            role,
            obj=query,
            new={
                "query": issue.message,
                "item": issue.item,
                "check": issue.check,
                "value": snapshot,
            },
            reason="opened automatically by an edit check",
        )
        opened += 1
    for key, q in current.items():
        if key not in wanted and q.is_open:
            _close(q, None, fi, role, "closed automatically: the check no longer fires")
            closed += 1
    return opened, closed


def _close(q, user, fi, role, text) -> None:
    old = q.status
    q.status = Query.Status.CLOSED
    q.save(update_fields=["status", "updated_at"])
    QueryMessage.objects.create(query=q, kind=QueryMessage.Kind.CLOSE, text=text, author=user)
    _audit(
        "status", fi, user, role, obj=q, old={"status": old}, new={"status": "closed"}, reason=text
    )


def _raise_alerts(fi, result, user, role) -> int:
    made = 0
    for issue in result.alerts:
        if ClinicalAlert.objects.filter(
            form=fi, check_code=issue.check, acknowledged_at__isnull=True
        ).exists():
            continue
        alert = ClinicalAlert.objects.create(
            form=fi, participant=fi.participant, check_code=issue.check, message=issue.message
        )
        _audit(
            "create",
            fi,
            user,
            role,
            obj=alert,
            new={"alert": issue.message, "check": issue.check},
            reason="clinical alert: investigator notified",
        )
        transaction.on_commit(lambda a=alert: notify_investigators(a))
        made += 1
    return made


def notify_investigators(alert: ClinicalAlert) -> None:
    site = alert.participant.site
    emails = list(
        Membership.objects.filter(role=Role.INVESTIGATOR, site=site, active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if emails:
        p = alert.participant
        send_mail(
            f"[trialdesk] {p.study_id}: clinical alert for {p.subject_id}",
            f"{alert.message}\n\nStudy {p.study_id}, participant {p.subject_id}, form "
            f"{alert.form.form_code}, visit {alert.form.visit.code}. Please review and "
            f"acknowledge in trialdesk: /staff/{p.study_id}/participants/{p.subject_id}/",
            None,
            emails,
            fail_silently=True,
        )


def do_acknowledge_alert(alert: ClinicalAlert, acting_user, *, note: str = "") -> None:
    note = clean_text("note", note)
    site_id = alert.participant.site_id
    role = require_at(acting_user, (Role.INVESTIGATOR,), site_id, "acknowledge clinical alerts")
    with transaction.atomic(durable=True):
        alert = ClinicalAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at:
            return
        alert.acknowledged_by, alert.acknowledged_at = acting_user, timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        _audit(
            "status",
            alert.form,
            acting_user,
            role,
            obj=alert,
            old={"acknowledged": False},
            new={"acknowledged": True},
            reason=note or "alert acknowledged",
        )
