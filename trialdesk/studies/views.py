from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from trialdesk.accounts.access import get_access
from trialdesk.crfs.dashboard import capture_counts
from trialdesk.studies.registry import get_protocol


def public_home(request):
    """Placeholder for the public study page (participant portal issue)."""
    protocol = get_protocol()
    return render(request, "studies/public.html", {"protocol": protocol})


@login_required
def home(request):
    protocol = get_protocol()
    access = get_access(request)
    visits = list(protocol.visits.values())
    forms = list(protocol.forms.values())
    rows = [
        {"form": form, "cells": [form.code in visit.forms for visit in visits]} for form in forms
    ]
    return render(
        request,
        "studies/home.html",
        {
            "protocol": protocol,
            "visits": visits,
            "soa_rows": rows,
            "sites": access.sites(),
            "roles": sorted(access.roles),
            "capture": capture_counts(request),
        },
    )
