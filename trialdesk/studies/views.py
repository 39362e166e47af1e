from django.shortcuts import render

from trialdesk.studies.registry import get_protocol


def public_home(request):
    """Placeholder for the public study page (participant portal issue)."""
    protocol = get_protocol()
    return render(request, "studies/public.html", {"protocol": protocol})
