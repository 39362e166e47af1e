"""Registration and the identity page. The participant list and casebook compose data capture
and live in trialdesk.desk."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialdesk.accounts.access import Refused, get_access, require_role
from trialdesk.participants.actions import (
    do_create_participant,
    do_update_identity,
    do_view_identity,
)
from trialdesk.participants.forms import IdentityForm, RegisterForm
from trialdesk.participants.scoping import ENTRY_ROLES, participant_or_404


@require_role(*ENTRY_ROLES)
def register(request):
    sites = get_access(request).sites(*ENTRY_ROLES)
    form = RegisterForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        participant = do_create_participant(
            data["site"],
            request.user,
            identity={k: data[k] for k in ("name", "phone", "address", "mrn")},
        )
        messages.success(request, _("Registered %(id)s") % {"id": participant.subject_id})
        return redirect("participants:detail", subject_id=participant.subject_id)
    return render(
        request, "participants/register.html", {"form": form}, status=422 if form.errors else 200
    )


@require_role(*ENTRY_ROLES)
def identity(request, subject_id: str):
    participant = participant_or_404(request, subject_id)
    if not get_access(request).can(ENTRY_ROLES, participant.site_id):
        raise Refused("only the participant's site staff see identifying data")
    current = do_view_identity(participant, request.user)
    form = IdentityForm(request.POST or None, initial=current.__dict__)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        do_update_identity(participant, request.user, identity=data, reason=data["reason"])
        messages.success(request, _("Identifying data updated"))
        return redirect("participants:identity", subject_id=subject_id)
    return render(
        request,
        "participants/identity.html",
        {"participant": participant, "form": form},
        status=422 if form.errors else 200,
    )
