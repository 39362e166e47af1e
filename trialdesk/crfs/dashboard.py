"""Data-capture counts for the staff home page, scoped to the sites the user may see."""

from __future__ import annotations

import datetime as dt


def capture_counts(request) -> dict | None:
    from trialdesk.accounts.access import get_access
    from trialdesk.crfs.models import ClinicalAlert, FormInstance, Query
    from trialdesk.participants.scoping import READ_ROLES, visible_participants
    from trialdesk.visits.models import Visit

    if not get_access(request).has_role(*READ_ROLES):
        return None
    participants = visible_participants(request)
    today = dt.date.today()
    pending = Visit.objects.filter(
        participant__in=participants,
        actual_date__isnull=True,
        missed=False,
        latest_date__isnull=False,
    )
    return {
        "participants": participants.count(),
        "open_queries": Query.objects.filter(participant__in=participants)
        .exclude(status="closed")
        .count(),
        "open_alerts": ClinicalAlert.objects.filter(
            participant__in=participants, acknowledged_at__isnull=True
        ).count(),
        "overdue_visits": pending.filter(latest_date__lt=today).count(),
        "due_this_week": pending.filter(
            latest_date__gte=today, earliest_date__lte=today + dt.timedelta(days=7)
        ).count(),
        "forms_in_progress": FormInstance.objects.filter(
            participant__in=participants, status="in_progress"
        ).count(),
        "forms_to_sign": FormInstance.objects.filter(
            participant__in=participants, status__in=["complete", "verified"]
        ).count(),
    }
