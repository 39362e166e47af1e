"""Lab and vital values reaching a CTCAE grade (protocol ``adverse_events.lab_grades``).

On every save of a form that carries a graded field (``crfs.hooks.on_form_saved``), a value at
or beyond a threshold opens a ``LabFinding`` (or updates its grade); a corrected value below
every threshold withdraws an open one. Saving an AE whose CTCAE term matches links the
participant's open findings of that term to it; otherwise the investigator dismisses the
prompt with a reason (``do_dismiss_finding``). Audited like every write.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.crfs.models import ItemValue
from trialdesk.safety.models import AdverseEvent, LabFinding

F = LabFinding.Status


def grade_of(lab, value: float) -> str | None:
    """The highest grade of ``lab`` that ``value`` reaches (thresholds in file order)."""
    reached = None
    for grade, limit in lab.thresholds.items():
        if (value < limit) if lab.direction == "below" else (value >= limit):
            reached = (
                grade if reached is None or _rank(lab, grade) > _rank(lab, reached) else reached
            )
    return reached


def _rank(lab, grade: str) -> int:
    return list(lab.thresholds).index(grade)


def _after_dosing(fi) -> bool:
    """A value is a candidate adverse event only once the participant is dosed, at day 0 or a
    later (or unscheduled) visit; a screening value that reaches a grade is baseline, recorded
    as medical history, not an AE."""
    return fi.participant.anchor_date is not None and (fi.visit.day is None or fi.visit.day >= 0)


def _common(fi, user, role) -> dict:
    p = fi.participant
    return {"actor": user, "role": role or "", "site": p.site, "participant": p.subject_id}


def on_form_saved(fi, spec, changed: list[str], user, role) -> None:
    labs = [lab for lab in spec.lab_grades if lab.field.split(".")[0] == fi.form_code]
    if not labs or not _after_dosing(fi):
        return
    rows = {
        row.item: row
        for row in fi.items.filter(item__in={lab.field.split(".")[1] for lab in labs})
        if row.status in (ItemValue.Status.ENTERED, ItemValue.Status.DERIVED)
    }
    now = timezone.now()
    for lab in labs:
        item = lab.field.split(".")[1]
        row = rows.get(item)
        value = row.num_value if row is not None else None
        grade = grade_of(lab, value) if value is not None else None
        finding = LabFinding.objects.select_for_update().filter(form=fi, item=item).first()
        if grade is None:
            if finding and finding.status == F.OPEN:
                old = finding.snapshot()
                finding.status, finding.decided_at = F.WITHDRAWN, now
                finding.save()
                record(
                    "status",
                    obj=finding,
                    old=old,
                    new=finding.snapshot(),
                    **_common(fi, user, role),
                )
            continue
        if finding is None:
            finding = LabFinding.objects.create(
                participant=fi.participant,
                form=fi,
                item=item,
                value=value,
                unit=row.unit,
                grade=grade,
                ctcae_term=lab.ctcae_term,
                detected_at=now,
            )
            record("create", obj=finding, new=finding.snapshot(), **_common(fi, user, role))
            link_findings_to_existing_ae(finding, user, role)
        elif (finding.value, finding.grade) != (value, grade):
            old = finding.snapshot()
            finding.value, finding.grade = value, grade
            if finding.status == F.WITHDRAWN:
                finding.status, finding.decided_at = F.OPEN, None
            finding.save()
            record(
                "change", obj=finding, old=old, new=finding.snapshot(), **_common(fi, user, role)
            )


def link_findings_to_existing_ae(finding: LabFinding, user, role) -> None:
    """A finding whose term already has an AE (onset on or before the day of the value)."""
    ae = AdverseEvent.objects.filter(
        participant=finding.participant, ctcae_term=finding.ctcae_term
    ).first()
    if ae is not None:
        _link(finding, ae, user, role)


def link_ae(ae: AdverseEvent, user, role) -> None:
    """An AE coded with a CTCAE term answers the participant's open findings of that term."""
    if not ae.ctcae_term:
        return
    open_ = LabFinding.objects.select_for_update().filter(
        participant=ae.participant, ctcae_term=ae.ctcae_term, status=F.OPEN
    )
    for finding in open_:
        _link(finding, ae, user, role)


def _link(finding: LabFinding, ae: AdverseEvent, user, role) -> None:
    old = finding.snapshot()
    finding.status, finding.adverse_event = F.AE_RECORDED, ae
    finding.decided_at, finding.decided_by = timezone.now(), user
    finding.save()
    record(
        "status", obj=finding, old=old, new=finding.snapshot(), **_common(finding.form, user, role)
    )


class FindingError(ValueError):
    pass


def do_dismiss_finding(finding: LabFinding, acting_user, *, reason: str) -> LabFinding:
    role = require_at(
        acting_user, (Role.INVESTIGATOR,), finding.participant.site, "dismiss safety prompts"
    )
    reason = (reason or "").strip()
    if not reason:
        raise FindingError("give the reason this value is not an adverse event")
    if len(reason) > 500:
        raise FindingError(f"the reason is {len(reason)} characters long; at most 500")
    with transaction.atomic(durable=True):
        finding = LabFinding.objects.select_for_update().get(pk=finding.pk)
        if finding.status != F.OPEN:
            raise FindingError(f"this prompt is no longer open ({finding.get_status_display()})")
        old = finding.snapshot()
        finding.status, finding.reason = F.DISMISSED, reason
        finding.decided_at, finding.decided_by = timezone.now(), acting_user
        finding.save()
        record(
            "status",
            obj=finding,
            old=old,
            new=finding.snapshot(),
            reason=reason,
            **_common(finding.form, acting_user, role),
        )
    return finding
