"""Which participants a request may see: site staff their sites', study-wide roles every site's.

Anything out of scope is a 404 (not a 403): a coordinator at site B learns nothing, not even
that a study ID exists at site A.
"""

from __future__ import annotations

from django.http import Http404

from trialdesk.accounts.access import get_access
from trialdesk.accounts.models import Role
from trialdesk.participants.models import Participant

#: Roles that read clinical data (DSMB, statisticians and admins see reports, not casebooks).
READ_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER)
ENTRY_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR)
#: Who reads a participant's enrolment and randomization records: the casebook readers and the
#: pharmacist (who dispenses kits). Lives here so enrolment and randomization share one list.
ENROLMENT_READ_ROLES = (*READ_ROLES, Role.PHARMACIST)


def visible_participants(request):
    ids = get_access(request).site_ids(*READ_ROLES)
    qs = Participant.objects.select_related("site")
    return qs.filter(site_id__in=ids)


def participant_or_404(request, subject_id: str) -> Participant:
    participant = visible_participants(request).filter(subject_id=subject_id).first()
    if participant is None:
        raise Http404("no such participant at your sites")
    return participant


def in_scope_or_404(request, participant) -> None:
    if not visible_participants(request).filter(pk=participant.pk).exists():
        raise Http404("no such participant at your sites")


def participant_in_scope(request, subject_id: str, roles=ENROLMENT_READ_ROLES) -> Participant:
    """The participant ``subject_id`` at a site where the user holds one of ``roles``, else 404."""
    ids = get_access(request).site_ids(*roles)
    qs = Participant.objects.select_related("site").filter(subject_id=subject_id)
    p = qs.filter(site_id__in=ids).first()
    if p is None:
        raise Http404("no such participant at your sites")
    return p
