"""Session hardening: Secure cookies over HTTPS, and an idle timeout under an absolute maximum.

Hand-written (30 lines) rather than a library: the maintained options either need page
JavaScript (django-session-security, whose inline script the CSP forbids) or have not been
released since 2020 (django-session-timeout) and do not enforce an absolute maximum when the
session is renewed on activity.
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import resolve_url

STARTED = "_trialdesk_started"
SEEN = "_trialdesk_seen"


class SecureCookiesOverHttps:
    """Mark every cookie (session, CSRF, messages, language) Secure on an HTTPS response
    (request.is_secure() trusts SECURE_PROXY_SSL_HEADER behind a proxy), even when
    TRIALDESK_SECURE_COOKIES is off."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response


class SessionTimeout:
    """Log out after SESSION_IDLE_SECONDS without a request, and SESSION_MAX_SECONDS after
    login whatever the activity (the cookie's own age is renewed on every request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and self._expired(request):
            logout(request)
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
                return response
            return redirect_to_login(request.get_full_path())
        response = self.get_response(request)
        if request.user.is_authenticated:  # also right after the login view
            now = time.time()
            request.session.setdefault(STARTED, now)
            request.session[SEEN] = now
        return response

    @staticmethod
    def _expired(request) -> bool:
        now = time.time()
        started = request.session.get(STARTED, now)
        seen = request.session.get(SEEN, now)
        return (
            now - seen > settings.SESSION_IDLE_SECONDS
            or now - started > settings.SESSION_MAX_SECONDS
        )


#: What a study code may look like in a URL (core.protocol.models.Study.id).
STUDY_CODE = r"(?:NCT\d{8}|[A-Z][A-Z0-9-]{2,31})"
STUDY_PATH = re.compile(rf"^/(?:staff|api/v1)/(?P<code>{STUDY_CODE})(?:/|$)")


class StudyFromURL:
    """Read the study from ``/staff/<study>/…`` or ``/api/v1/<study>/…``.

    Sets ``request.study`` (None outside a study) and the study's URLconf
    (``trialdesk.site.urls.urlconf_for``). An unknown study, or one the logged-in user holds no
    active role in, is a 404: a user of study A learns nothing about study B, not even that it
    exists. The user's access in the study is worked out here, once (``accounts.access``).
    Placed after the authentication middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from trialdesk.accounts.access import _CACHE, Access
        from trialdesk.site.urls import urlconf_for
        from trialdesk.studies.models import Study

        request.study = None
        match = STUDY_PATH.match(request.path_info)
        if match:
            study = Study.objects.filter(code=match["code"]).first()
            if study is None:
                raise Http404("no such study")
            user = request.user
            if user.is_authenticated:
                access = Access.for_user(user, study.code)
                if not access.grants and not user.is_superuser:
                    raise Http404("no such study")
                setattr(request, _CACHE, access)
                setattr(user, _CACHE, access)
            request.study = study
            request.urlconf = urlconf_for(study.code)
        return self.get_response(request)
