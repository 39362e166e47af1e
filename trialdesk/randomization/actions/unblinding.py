"""Emergency unblinding, with the protocol's approval step where it has one, and its notices."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from trialdesk.accounts import reauth
from trialdesk.accounts.access import Access, require_at
from trialdesk.accounts.models import Membership, Role
from trialdesk.audit.actions import record
from trialdesk.participants.models import Participant
from trialdesk.randomization.actions.common import RandomizationError
from trialdesk.randomization.models import (
    Allocation,
    Unblinding,
)
from trialdesk.studies.registry import get_protocol

UNBLINDERS = (Role.INVESTIGATOR,)
S = Unblinding.Status


def do_emergency_unblind(participant: Participant, acting_user, *, reason: str) -> Unblinding:
    """An investigator breaks the code for one participant. Without approval in the protocol
    only she sees the arm, at once; with it the request waits for ``do_decide_unblinding``."""
    role = require_at(acting_user, UNBLINDERS, participant.site, "break the blind")
    if len(reason.strip()) < 10:
        raise RandomizationError("give the medical reason for unblinding (at least 10 characters)")
    policy = get_protocol(participant).unblinding
    with transaction.atomic(durable=True):
        allocation = Allocation.objects.select_for_update().filter(participant=participant).first()
        if allocation is None:
            raise RandomizationError(f"{participant.subject_id} is not randomized")
        if allocation.unblindings.filter(status=S.PENDING).exists():
            raise RandomizationError(
                f"an unblinding request for {participant.subject_id} already awaits approval"
            )
        now = timezone.now()
        pending = policy.approval_required
        row = Unblinding.objects.create(
            allocation=allocation,
            requested_by=acting_user,
            requested_at=now,
            reason=reason,
            approval_required=pending,
            status=S.PENDING if pending else S.REVEALED,
            approved_at=None if pending else now,
        )
        if not pending:
            _mark_unblinded(allocation, now)
        record(
            "create" if pending else "unblind",
            actor=acting_user,
            role=role,
            site=participant.site,
            obj=row,
            participant=participant.subject_id,
            new={
                "randomization_number": allocation.randomization_number,
                "status": row.status,
                "approval_required": pending,
            },
            reason=reason,
        )
        transaction.on_commit(lambda: _notify_unblinding(row.pk))
    return row


def _mark_unblinded(allocation: Allocation, when: dt.datetime) -> None:
    """The participant counts as unblinded in every report from the first code break on."""
    if allocation.unblinded_at is None:
        Allocation.objects.filter(pk=allocation.pk).update(unblinded_at=when)


def can_decide_unblinding(row: Unblinding, user) -> bool:
    """A pending request may be decided by anyone but its requester holding one of the
    protocol's approver roles at the participant's site (site roles) or study-wide."""
    participant = row.allocation.participant
    roles = get_protocol(participant).unblinding.approver_roles
    return (
        row.status == S.PENDING
        and user.pk != row.requested_by_id
        and Access.for_user(user, participant.study_id).can(roles, participant.site_id)
    )


def do_decide_unblinding(
    row: Unblinding, acting_user, *, approve: bool, password: str, reason: str, request=None
) -> Unblinding:
    """Approve (the arm is then shown to the requester and the approver) or reject a pending
    request; the decision is signed by re-entering the password (with `request`, a wrong one
    counts toward the login lockout, which ends the session: accounts.reauth)."""
    participant = row.allocation.participant
    verb = "approve" if approve else "reject"
    roles = get_protocol(participant).unblinding.approver_roles
    role = require_at(acting_user, roles, participant.site, f"{verb} unblinding requests")
    if acting_user.pk == row.requested_by_id:
        raise RandomizationError(
            f"you requested this unblinding: another person with an approver role "
            f"({', '.join(roles)}) must {verb} it"
        )
    if len(reason.strip()) < 5:
        raise RandomizationError(f"give the reason why you {verb} (at least 5 characters)")
    try:
        reauth.check_password(acting_user, password, request=request)
    except reauth.Refused as exc:
        _failed_decision(row, acting_user, role, verb)
        raise RandomizationError(f"{exc}: the request was not {verb}d") from None
    with transaction.atomic(durable=True):
        locked = Unblinding.objects.select_for_update().get(pk=row.pk)
        if locked.status != S.PENDING:
            raise RandomizationError(
                f"this request is already decided ({locked.get_status_display().lower()})"
            )
        now = timezone.now()
        if approve:
            locked.status, locked.approved_by, locked.approved_at = S.REVEALED, acting_user, now
            _mark_unblinded(locked.allocation, now)
        else:
            locked.status, locked.rejected_by, locked.rejected_at = S.REJECTED, acting_user, now
        locked.decision_reason = reason
        locked.save(
            update_fields=[
                "status",
                "approved_by",
                "approved_at",
                "rejected_by",
                "rejected_at",
                "decision_reason",
            ]
        )
        record(
            "unblind" if approve else "status",
            actor=acting_user,
            role=role,
            site=participant.site,
            obj=locked,
            participant=participant.subject_id,
            old={"status": S.PENDING},
            new={
                "status": locked.status,
                "randomization_number": locked.allocation.randomization_number,
                "printed_name": acting_user.display_name(),
                "signed": True,
            },
            reason=reason,
        )
        transaction.on_commit(lambda: _notify_unblinding(locked.pk))
    return locked


def _failed_decision(row: Unblinding, user, role: str, verb: str) -> None:
    with transaction.atomic(durable=True):
        record(
            "sign",
            actor=user,
            role=role,
            site=row.allocation.participant.site,
            obj=row,
            participant=row.allocation.participant.subject_id,
            new={"signed": False, "decision": verb},
            reason="signature attempt with a wrong password",
        )


def _notify_unblinding(pk: int) -> None:
    """Tell the protocol's contacts, the DSMB members and the administrators what happened to
    a code break (never the arm); a pending request also goes to those who may approve it."""
    row = Unblinding.objects.select_related(
        "allocation__participant__site", "requested_by", "approved_by", "rejected_by"
    ).get(pk=pk)
    p = row.allocation.participant
    subject, body = _unblinding_message(row)
    if row.status == S.PENDING:
        approvers = _approver_emails(row)
        if approvers:
            send_mail(
                f"[trialdesk] Unblinding request for {p.subject_id} awaits your decision",
                body + f"\nDecide at /staff/{p.study_id}/randomization/unblindings/{row.pk}/"
                " (password required).",
                settings.DEFAULT_FROM_EMAIL,
                approvers,
            )
    emails = _oversight_emails(p.study_id)
    if emails:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)


def _unblinding_message(row: Unblinding) -> tuple[str, str]:
    p, a = row.allocation.participant, row.allocation
    when = f"{timezone.localtime(row.requested_at):%Y-%m-%d %H:%M}"
    who = row.requested_by.display_name()
    if row.status == S.PENDING:
        head = f"{who} requested unblinding of {p.subject_id} ({a.randomization_number}) at {when}."
        state, subject = "The request awaits approval.", "Unblinding requested"
    elif row.status == S.REJECTED:
        head = f"The unblinding of {p.subject_id} ({a.randomization_number}) requested by {who}"
        state = f"was rejected by {row.rejected_by.display_name()}: {row.decision_reason}"
        subject = "Unblinding rejected"
    else:
        head = f"{who} broke the blind for {p.subject_id} ({a.randomization_number}) at {when}."
        state = (
            f"Approved by {row.approved_by.display_name()}: {row.decision_reason}"
            if row.approved_by
            else "No approval is required by the protocol."
        )
        subject = "Emergency unblinding"
    body = f"{head}\nReason: {row.reason}\n{state}\nThe allocation is not included in this message."
    return f"[trialdesk] {subject} of {p.subject_id}", body


def _oversight_emails(study: str) -> list[str]:
    protocol = get_protocol(study)
    policy, contacts = protocol.unblinding, protocol.contacts
    listed = [getattr(contacts, code) for code in policy.notify]
    users = (
        Membership.objects.filter(study_id=study, active=True, role__in=[Role.DSMB, Role.ADMIN])
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted({*users, *(c.email for c in listed if c is not None)})


def _approver_emails(row: Unblinding) -> list[str]:
    roles = get_protocol(row.allocation.participant).unblinding.approver_roles
    site = row.allocation.participant.site_id
    study = row.allocation.participant.study_id
    rows = (
        Membership.objects.filter(study_id=study, active=True, role__in=roles, user__is_active=True)
        .filter(Q(site_id=site) | Q(site__isnull=True))
        .exclude(user_id=row.requested_by_id)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(rows))
