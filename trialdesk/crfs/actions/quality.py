"""The batch data-quality run: re-evaluate every check over stored data."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import ngettext

from trialdesk.audit.actions import record
from trialdesk.crfs.actions.checks import sync_auto_queries
from trialdesk.crfs.actions.common import S
from trialdesk.crfs.actions.values import check_stored_form
from trialdesk.crfs.models import (
    FormInstance,
)
from trialdesk.studies.registry import get_protocol, resolve_study


@dataclass
class QualityRunResult:
    forms_checked: int = 0
    queries_opened: int = 0
    queries_closed: int = 0
    derived_fixed: int = 0
    hard_violations: int = 0

    def summary(self) -> str:
        """For people (the data-quality page, the command line): counts with proper plurals."""
        checked = ngettext("%(n)d form checked", "%(n)d forms checked", self.forms_checked)
        found = [
            ngettext("%(n)d query opened", "%(n)d queries opened", self.queries_opened)
            % {"n": self.queries_opened},
            ngettext("%(n)d query closed", "%(n)d queries closed", self.queries_closed)
            % {"n": self.queries_closed},
            ngettext(
                "%(n)d derived value recomputed",
                "%(n)d derived values recomputed",
                self.derived_fixed,
            )
            % {"n": self.derived_fixed},
            ngettext(
                "%(n)d stored value now beyond hard limits (queried)",
                "%(n)d stored values now beyond hard limits (queried)",
                self.hard_violations,
            )
            % {"n": self.hard_violations},
        ]
        return f"{checked % {'n': self.forms_checked}}: {', '.join(found)}"


def do_run_data_quality(acting_user=None, *, participants=None, study=None) -> QualityRunResult:
    """Re-evaluate all checks over one study's stored data (`participants` of it, or all of
    them); one durable transaction per participant."""
    from trialdesk.participants.models import Participant

    study = resolve_study(study)
    p = get_protocol(study)
    summary = QualityRunResult()
    qs = Participant.objects.filter(study_id=study)
    if participants is not None:
        qs = qs.filter(pk__in=[getattr(x, "pk", x) for x in participants])
    for participant in qs:
        with transaction.atomic(durable=True):
            for fi in (
                FormInstance.objects.filter(participant=participant)
                .exclude(status=S.NOT_STARTED)
                .select_related("visit", "participant__site")
            ):
                if fi.form_code not in p.forms:
                    continue
                result, outcome = check_stored_form(p, fi, acting_user, "")
                opened, closed = sync_auto_queries(fi, result, acting_user, "")
                summary.forms_checked += 1
                summary.queries_opened += opened
                summary.queries_closed += closed
                summary.derived_fixed += len(outcome.changed)
                summary.hard_violations += sum(
                    1 for q in result.queries if "impossible" in q.message or q.check == "hard"
                )
    with transaction.atomic(durable=True):
        record(
            "status",
            actor=acting_user,
            study=study,
            object_type="crfs.data_quality_run",
            object_id="batch",
            new={
                "forms_checked": summary.forms_checked,
                "queries_opened": summary.queries_opened,
                "queries_closed": summary.queries_closed,
                "derived_fixed": summary.derived_fixed,
            },
            reason="batch data-quality run",
        )
    return summary
