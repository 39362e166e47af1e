"""URLs in tests: each study has its own URLconf (trialdesk.site.urls), so a study's page is
resolved and reversed in it."""

from __future__ import annotations

import re

from django.urls import resolve

_STUDY = re.compile(r"^/(?:staff|api/v1)/(?P<code>[A-Z0-9][A-Z0-9-]+)/")


def resolve_path(path: str):
    """``resolve`` a path of any study (in its URLconf), or of the deployment."""
    from trialdesk.site.urls import urlconf_for

    match = _STUDY.match(path)
    return resolve(path, urlconf=urlconf_for(match["code"]) if match else None)


def study_url(viewname: str, *args, study: str | None = None, **kwargs) -> str:
    """``reverse`` in `study` (the only study when None)."""
    from trialdesk.site.urls import study_reverse
    from trialdesk.studies.registry import resolve_study

    return study_reverse(resolve_study(study), viewname, args=args or None, kwargs=kwargs or None)


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
