"""URLs in tests: each study has its own URLconf (trialdesk.site.urls), so a study's page is
resolved and reversed in it."""

from __future__ import annotations

from django.urls import resolve


def resolve_path(path: str):
    """``resolve`` a path of any study (in its URLconf), or of the deployment."""
    from trialdesk.site.middleware import STUDY_PATH
    from trialdesk.site.urls import urlconf_for

    match = STUDY_PATH.match(path)
    return resolve(path, urlconf=urlconf_for(match["code"]) if match else None)


def reverse(viewname: str, args=None, kwargs=None, study: str | None = None) -> str:
    """``django.urls.reverse`` for tests: a study's page in `study` (the only study when None),
    a deployment page (log in, the study list) as it is."""
    from django.urls import NoReverseMatch
    from django.urls import reverse as django_reverse

    from trialdesk.site.urls import study_reverse
    from trialdesk.studies.registry import NoProtocolLoaded, resolve_study

    try:
        code = resolve_study(study)
    except NoProtocolLoaded:
        return django_reverse(viewname, args=args, kwargs=kwargs)
    try:
        return study_reverse(code, viewname, args=args, kwargs=kwargs)
    except NoReverseMatch:
        return django_reverse(viewname, args=args, kwargs=kwargs)
