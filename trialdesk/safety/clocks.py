"""The reporting clocks' periodic task (``trialdesk tick`` → ``PERIODIC_TASKS["safety-clocks"]``;
also ``trialdesk safety tick``).

For every open clock: once the protocol's ``clocks.reminder_fraction`` of its interval has
passed (default 75 %: 18 h into a 24-hour SAE clock, day 5¼ of 7, day 11¼ of 15) and before
the deadline, one reminder e-mail to the site's investigators and the sponsor contact
(``contacts.sponsor.email``); once the deadline passes with the clock open, the clock is marked
late (for good) and the same people are told once. Idempotent: run it every minute. The
messages name the study, the participant's study ID, the event and the deadline — never an arm,
a kit or a lot.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.models import Membership, Role
from trialdesk.audit.actions import record
from trialdesk.safety.models import ReportClock
from trialdesk.studies.registry import get_protocol
from trialdesk.studies.timezones import site_zone, zone_label


def recipients(participant) -> list[str]:
    emails = list(
        Membership.objects.filter(role=Role.INVESTIGATOR, site=participant.site, active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    sponsor = get_protocol(participant).contacts.sponsor
    if sponsor and sponsor.email not in emails:
        emails.append(sponsor.email)
    return emails


def _message(clock: ReportClock, late: bool) -> tuple[str, str]:
    ae = clock.adverse_event
    p = ae.participant
    zone = site_zone(p.site)
    due = f"{clock.due_at.astimezone(zone):%Y-%m-%d %H:%M} {zone_label(clock.due_at, zone)}"
    what = clock.get_kind_display()
    subject = f"[trialdesk] {p.study_id}: {what} for {p.subject_id} is " + (
        "LATE" if late else f"due {due}"
    )
    state = (
        f"The deadline ({due}) has passed and the report is not recorded as sent."
        if late
        else f"It is due by {due}."
    )
    body = (
        f"{what} — study {p.study_id}, participant {p.subject_id}, site {p.site.code}.\n"
        f"Adverse event: {ae.term or '(no term)'}"
        + (f" (CTCAE: {ae.ctcae_term})" if ae.ctcae_term else "")
        + f", grade {ae.grade or '?'}, serious: {'yes' if ae.serious else 'no'}.\n"
        f"{state}\nRecord the report in trialdesk once sent: "
        f"/staff/{p.study_id}/safety/ae/{ae.pk}/\n"
    )
    return subject, body


def tick() -> str:
    """Send due reminders, mark late clocks; return what was done ("" for nothing)."""
    now = timezone.now()
    reminded = late = 0
    open_clocks = ReportClock.objects.filter(closed_at__isnull=True).select_related(
        "adverse_event__participant__site"
    )
    for clock in open_clocks:
        participant = clock.adverse_event.participant
        spec = get_protocol(participant).adverse_events
        fraction = spec.clocks.reminder_fraction if spec else 0.75
        remind_at = clock.started_at + (clock.due_at - clock.started_at) * fraction
        if now > clock.due_at and not clock.late:
            late += _mark(clock, now, late=True)
        elif clock.reminder_sent_at is None and remind_at <= now <= clock.due_at:
            reminded += _mark(clock, now, late=False)
    parts = [f"{n} {what}" for n, what in ((reminded, "reminder(s) sent"), (late, "late")) if n]
    return ", ".join(parts)


def _mark(clock: ReportClock, now, *, late: bool) -> int:
    with transaction.atomic(durable=True):
        clock = (
            ReportClock.objects.select_for_update()
            .select_related("adverse_event__participant__site")
            .get(pk=clock.pk)
        )
        if not clock.is_open or (clock.late if late else clock.reminder_sent_at):
            return 0
        old = clock.snapshot()
        if late:
            clock.late = True
        else:
            clock.reminder_sent_at = now
        clock.save()
        p = clock.adverse_event.participant
        record(
            "status",
            obj=clock,
            old=old,
            new=clock.snapshot(),
            site=p.site,
            participant=p.subject_id,
            reason="deadline passed" if late else "reminder sent",
        )
        emails = recipients(p)
        subject, body = _message(clock, late)
    if emails:  # after the commit: the mark is stored even if the mail server is down
        send_mail(subject, body, None, emails, fail_silently=True)
    return 1
