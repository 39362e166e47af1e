"""Every write to participants: creation (next site number under a lock), identity changes,
status changes. Each runs in one durable transaction with its audit event."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max

from trialdesk.accounts.access import role_at
from trialdesk.accounts.models import Site
from trialdesk.audit.actions import record
from trialdesk.participants import hooks
from trialdesk.participants.models import Identity, Participant
from trialdesk.participants.pii import PersonalData, encrypt, read_identity
from trialdesk.studies.locking import refused_when_locked


class ParticipantError(ValueError):
    """A participant write was refused; the message says why."""


def create_participant(
    site: Site, acting_user, *, identity: PersonalData | dict | None = None, reason: str = ""
) -> Participant:
    """Not durable: the body of `do_create_participant`, for callers already in an action."""
    Site.objects.select_for_update().get(pk=site.pk)  # serialises number allocation per site
    last = Participant.objects.filter(site=site).aggregate(m=Max("number"))["m"] or 0
    number = last + 1
    participant = Participant.objects.create(
        study_id=site.study_id,
        site=site,
        number=number,
        subject_id=Participant.format_subject_id(site.code, number),
        created_by=acting_user,
    )
    if identity is not None:
        data = (
            identity if isinstance(identity, PersonalData) else PersonalData.from_mapping(identity)
        )
        Identity.objects.create(participant=participant, ciphertext=encrypt(data))
    record(
        "create",
        actor=acting_user,
        role=role_at(acting_user, site),
        site=site,
        obj=participant,
        participant=participant.subject_id,
        new={
            "study_id": participant.subject_id,
            "status": participant.status,
            "identity": "stored (encrypted)" if identity is not None else "none",
        },
        reason=reason or "participant registered",
    )
    hooks.run(hooks.on_created, participant, acting_user)  # visits: the initial visits
    return participant


@refused_when_locked("add participants")
def do_create_participant(
    site: Site, acting_user, *, identity: PersonalData | dict | None = None, reason: str = ""
) -> Participant:
    """Register a participant at `site`: next site number under a row lock, PII encrypted."""
    with transaction.atomic(durable=True):
        return create_participant(site, acting_user, identity=identity, reason=reason)


def do_view_identity(participant: Participant, acting_user) -> PersonalData:
    """Decrypt the identifying data for the site staff who asked, and record that they did.

    The event names who looked at whose identity and when, never the data itself.
    """
    with transaction.atomic(durable=True):
        data = read_identity(participant)
        record(
            "view",
            actor=acting_user,
            role=role_at(acting_user, participant.site),
            site=participant.site,
            object_type="participants.identity",
            object_id=participant.pk,
            participant=participant.subject_id,
            new={"identity": "viewed"},
        )
    return data


@refused_when_locked("change identifying data")
def do_update_identity(
    participant: Participant, acting_user, *, identity: PersonalData | dict, reason: str
) -> None:
    """Replace the identifying data; the audit event says that it changed, not to what."""
    if not reason.strip():
        raise ParticipantError("a reason is required to change identifying data")
    data = identity if isinstance(identity, PersonalData) else PersonalData.from_mapping(identity)
    with transaction.atomic(durable=True):
        row, created = Identity.objects.select_for_update().get_or_create(
            participant=participant, defaults={"ciphertext": encrypt(data)}
        )
        if not created:
            row.ciphertext = encrypt(data)
            row.save(update_fields=["ciphertext", "updated_at"])
        record(
            "create" if created else "change",
            actor=acting_user,
            role=role_at(acting_user, participant.site),
            site=participant.site,
            obj=row,
            participant=participant.subject_id,
            new={"identity": "stored (encrypted)"},
            reason=reason,
        )


def set_status(participant: Participant, status: str, acting_user, *, reason: str) -> None:
    """Not durable: change the participant's status inside the caller's action."""
    if status not in Participant.Status.values:
        raise ParticipantError(
            f"status {status!r} is not one of {', '.join(Participant.Status.values)}"
        )
    old = participant.status
    if old == status:
        return
    Participant.objects.filter(pk=participant.pk).update(status=status)
    participant.status = status
    record(
        "status",
        actor=acting_user,
        role=role_at(acting_user, participant.site),
        site=participant.site,
        obj=participant,
        participant=participant.subject_id,
        old={"status": old},
        new={"status": status},
        reason=reason,
    )


@refused_when_locked("change a participant's status")
def do_set_status(participant: Participant, status: str, acting_user, *, reason: str) -> None:
    if not reason.strip():
        raise ParticipantError("a reason is required to change a participant's status")
    with transaction.atomic(durable=True):
        set_status(participant, status, acting_user, reason=reason)


@refused_when_locked("move the schedule")
def do_set_anchor_date(
    participant: Participant, anchor_date: dt.date, acting_user, *, reason: str = ""
) -> None:
    """Set day 0 (dosing) and schedule the visits; for dosing done outside the enrolment flow."""
    with transaction.atomic(durable=True):
        set_anchor_date(participant, anchor_date, acting_user, reason=reason)


def set_anchor_date(participant, anchor_date, acting_user, *, reason: str = "") -> None:
    old = participant.anchor_date
    Participant.objects.filter(pk=participant.pk).update(anchor_date=anchor_date)
    participant.anchor_date = anchor_date
    record(
        "change",
        actor=acting_user,
        role=role_at(acting_user, participant.site),
        site=participant.site,
        obj=participant,
        participant=participant.subject_id,
        old={"anchor_date": old},
        new={"anchor_date": anchor_date},
        reason=reason or "day 0 set",
    )
    hooks.run(hooks.on_anchor_set, participant, acting_user)  # visits: the schedule
