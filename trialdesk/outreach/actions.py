"""Every outreach write, each in one durable transaction with its audit event (no identifying
data in any event); e-mails go out after the commit."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.access import Refused, require_at
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.enrolment.actions import do_screen_participant
from trialdesk.outreach import mail
from trialdesk.outreach.models import Lead
from trialdesk.outreach.sealed import seal, unseal
from trialdesk.participants.pii import PersonalData
from trialdesk.studies.locking import refused_when_locked

SITE_STAFF = (Role.COORDINATOR, Role.INVESTIGATOR)
PUBLIC = "public"
S = Lead.Status
#: status → the statuses a person may set next (screened only by turning it into a screening)
NEXT = {
    S.NEW: (S.CONTACTED, S.NOT_INTERESTED),
    S.CONTACTED: (S.NOT_INTERESTED, S.NEW),
    S.NOT_INTERESTED: (S.CONTACTED,),
    S.SCREENED: (),
}


class LeadError(ValueError):
    """A change was refused; the message says what was wrong and what is allowed."""


def do_create_lead(
    study_code: str,
    site,
    *,
    identity: dict[str, str],
    distance_km: float,
    language: str,
    located_by: str,
    study_title: str,
) -> Lead:
    """Store a contact request (identity sealed) and tell her and the centre."""
    with transaction.atomic(durable=True):
        lead = Lead.objects.create(
            study_id=study_code,
            site=site,
            ciphertext=seal(identity),
            distance_km=round(distance_km, 1),
            language=language,
            located_by=located_by,
        )
        record(
            "create",
            role=PUBLIC,
            site=site,
            study=study_code,
            obj=lead,
            new={"status": lead.status, "distance_km": lead.distance_km, "language": language},
            reason="contact request from the public study page",
        )
        transaction.on_commit(lambda: mail.lead_mails(lead, identity, study_title))
    return lead


def read_lead(lead: Lead, acting_user) -> dict[str, str]:
    """Her contact details, decrypted for a coordinator or investigator of the lead's site;
    each reading is a `view` event."""
    role = require_at(acting_user, SITE_STAFF, lead.site, "see contact requests")
    with transaction.atomic(durable=True):
        record("view", actor=acting_user, role=role, site=lead.site, obj=lead, reason="contact")
    return unseal(lead.ciphertext)


@refused_when_locked("change contact requests")
def do_set_lead_status(lead: Lead, acting_user, *, status: str) -> Lead:
    role = require_at(acting_user, SITE_STAFF, lead.site, "change contact requests")
    with transaction.atomic(durable=True):
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        allowed = NEXT[S(lead.status)]
        if status not in allowed:
            names = ", ".join(str(s.label) for s in allowed) or "none"
            raise LeadError(
                f"status: {status!r} cannot follow {lead.get_status_display()}; allowed: {names}"
            )
        old = lead.status
        lead.status = status
        lead.save(update_fields=["status", "updated_at"])
        record(
            "status",
            actor=acting_user,
            role=role,
            site=lead.site,
            obj=lead,
            old={"status": old},
            new={"status": status},
        )
    return lead


@refused_when_locked("turn contact requests into screening entries")
def do_convert_lead(lead: Lead, acting_user):
    """Open a screening-log entry with her identity (no retyping) and link the lead to it."""
    require_at(acting_user, SITE_STAFF, lead.site, "screen participants")
    with transaction.atomic(durable=True):  # claim it, so two clicks make one participant
        claimed = Lead.objects.select_for_update().get(pk=lead.pk)
        if claimed.participant_id or claimed.status == S.SCREENED:
            raise LeadError("this contact request is already a screening entry")
        if claimed.status == S.NOT_INTERESTED:
            raise LeadError("she is not interested: set the status back to contacted first")
        old = claimed.status
        Lead.objects.filter(pk=lead.pk).update(status=S.SCREENED)
    person = unseal(lead.ciphertext)
    identity = PersonalData(
        name=f"{person.get('first_name', '')} {person.get('last_name', '')}".strip(),
        phone=person.get("phone", ""),
    )
    try:
        entry = do_screen_participant(
            lead.site,
            acting_user,
            screened_on=timezone.localdate(),
            referral=f"contact request {lead.pk}",
            identity=identity,
        )
    except Exception:
        Lead.objects.filter(pk=lead.pk).update(status=old)
        raise
    with transaction.atomic(durable=True):
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        lead.participant = entry.participant
        lead.save(update_fields=["participant", "updated_at"])
        record(
            "status",
            actor=acting_user,
            role=require_at(acting_user, SITE_STAFF, lead.site, "screen participants"),
            site=lead.site,
            obj=lead,
            participant=entry.participant.subject_id,
            old={"status": old},
            new={"status": S.SCREENED, "participant": entry.participant.subject_id},
        )
    return entry


__all__ = ["Refused", "LeadError", "do_create_lead", "do_set_lead_status", "do_convert_lead"]
