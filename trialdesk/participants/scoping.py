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


def visible_participants(request):
    ids = get_access(request).site_ids(*READ_ROLES)
    qs = Participant.objects.select_related("site")
    return qs if ids is None else qs.filter(site_id__in=ids)


def participant_or_404(request, study_id: str) -> Participant:
    participant = visible_participants(request).filter(study_id=study_id).first()
    if participant is None:
        raise Http404("no such participant at your sites")
    return participant


def in_scope_or_404(request, participant) -> None:
    if not visible_participants(request).filter(pk=participant.pk).exists():
        raise Http404("no such participant at your sites")
