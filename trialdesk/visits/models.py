"""Visits of a participant, generated from the protocol's schedule.

A visit row stores what does not change with the calendar (code, planned day, the dates of the
window once day 0 is known, the actual date, missed or not); what a visit *is* today (upcoming,
due, overdue, done, out of window, missed) is computed from those dates and today's date.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.participants.models import Participant


class Visit(models.Model):
    class State(models.TextChoices):
        NOT_SCHEDULED = "not_scheduled", _("Not yet scheduled")
        UPCOMING = "upcoming", _("Upcoming")
        DUE = "due", _("Due")
        OVERDUE = "overdue", _("Overdue")
        DONE = "done", _("Done")
        OUT_OF_WINDOW = "out_of_window", _("Done, out of window")
        MISSED = "missed", _("Missed")

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="visits")
    code = models.CharField(max_length=40, help_text="protocol visit code")
    repeat = models.PositiveSmallIntegerField(
        default=1, help_text="instance of an unscheduled visit"
    )
    sequence = models.PositiveIntegerField(default=0, help_text="order in the schedule")
    day = models.IntegerField(null=True, blank=True, help_text="planned study day (day 0 = dosing)")
    target_date = models.DateField(null=True, blank=True)
    earliest_date = models.DateField(null=True, blank=True)
    latest_date = models.DateField(null=True, blank=True)
    actual_date = models.DateField(null=True, blank=True)
    missed = models.BooleanField(default=False)
    missed_reason = models.TextField(blank=True)
    unscheduled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["participant_id", "sequence", "repeat"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "code", "repeat"], name="uniq_visit"),
        ]

    def __str__(self) -> str:
        suffix = f" #{self.repeat}" if self.unscheduled else ""
        return f"{self.participant.subject_id} {self.code}{suffix}"

    def state(self, today: dt.date | None = None) -> str:
        today = today or dt.date.today()
        if self.missed:
            return self.State.MISSED
        if self.actual_date:
            if (
                self.earliest_date
                and self.latest_date
                and not (self.earliest_date <= self.actual_date <= self.latest_date)
            ):
                return self.State.OUT_OF_WINDOW
            return self.State.DONE
        if self.target_date is None:
            return self.State.NOT_SCHEDULED
        if today < (self.earliest_date or self.target_date):
            return self.State.UPCOMING
        if today <= (self.latest_date or self.target_date):
            return self.State.DUE
        return self.State.OVERDUE

    def state_label(self, today: dt.date | None = None) -> str:
        return self.State(self.state(today)).label
