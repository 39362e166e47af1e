"""JSON skin on the randomization actions (django-ninja, session auth with CSRF).

Outputs carry the randomization number and kit code (random codes that tell neither arm nor
position); ``arm`` and ``stratum`` (the list's stratum key) are filled only for unblinded roles
(``null`` for everyone else, whatever the request asks).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from ninja import NinjaAPI, Schema, Status
from ninja.security import django_auth

from trialdesk.accounts.access import Refused, get_access
from trialdesk.accounts.models import Role
from trialdesk.enrolment.services import ConsentError, NotReady
from trialdesk.participants.scoping import ENROLMENT_READ_ROLES, participant_in_scope
from trialdesk.randomization import actions, services
from trialdesk.randomization.models import Allocation

api = NinjaAPI(
    urls_namespace="randomization-api",
    auth=django_auth,
    docs_url=None,
    openapi_url=None,
    title="trialdesk randomization",
)


class AllocationOut(Schema):
    subject_id: str
    randomization_number: str
    kit_code: str
    stratum: str | None = None
    allocated_at: dt.datetime
    unblinded: bool
    arm: str | None = None


class ErrorOut(Schema):
    detail: str
    reasons: list[str] = []


def out(request, allocation: Allocation) -> AllocationOut:
    unblinded = services.can_see_arm(get_access(request))
    return AllocationOut(
        subject_id=allocation.participant.subject_id,
        randomization_number=allocation.randomization_number,
        kit_code=allocation.kit_code,
        stratum=allocation.stratum if unblinded else None,
        allocated_at=allocation.allocated_at,
        unblinded=allocation.unblinded_at is not None,
        arm=allocation.arm if unblinded else None,
    )


@api.post(
    "/participants/{subject_id}/randomize",
    response={201: AllocationOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def randomize(request, subject_id: str):
    p = participant_in_scope(request, subject_id)
    try:
        allocation = actions.do_randomize_participant(p, request.user)
    except PermissionDenied as exc:
        return Status(403, ErrorOut(detail=str(exc)))
    except actions.AlreadyRandomized as exc:
        return Status(409, ErrorOut(detail=str(exc)))
    except NotReady as exc:
        return Status(422, ErrorOut(detail="not ready for randomization", reasons=exc.reasons))
    except (actions.RandomizationError, ConsentError) as exc:
        return Status(422, ErrorOut(detail=str(exc)))
    return Status(201, out(request, allocation))


@api.get("/participants/{subject_id}", response={200: AllocationOut, 404: ErrorOut})
def allocation(request, subject_id: str):
    p = participant_in_scope(request, subject_id)
    row = Allocation.objects.filter(participant=p).select_related("participant").first()
    if row is None:
        return Status(404, ErrorOut(detail=f"{subject_id} is not randomized"))
    return Status(200, out(request, row))


@api.get("/allocations", response=list[AllocationOut])
def allocations(request):
    access = get_access(request)
    if not access.has_role(*ENROLMENT_READ_ROLES, Role.UNBLINDED_STATISTICIAN):
        raise Refused("your role does not list allocations")
    ids = access.site_ids(*ENROLMENT_READ_ROLES, Role.UNBLINDED_STATISTICIAN)
    qs = Allocation.objects.select_related("participant").order_by("allocated_at")
    qs = qs.filter(participant__site_id__in=ids)
    return [out(request, a) for a in qs]
