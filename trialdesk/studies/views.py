from django.shortcuts import render

from trialdesk.studies.registry import get_protocol, study_codes


def public_home(request):
    """The deployment's studies (the public portal issue builds each study's own page)."""
    protocols = [get_protocol(code) for code in study_codes()]
    return render(request, "studies/public.html", {"protocols": protocols})
