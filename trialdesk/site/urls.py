"""URLs: the deployment's own pages at the root, each study's pages under its code.

``/`` (the public portal's trial directory; ``/studies/<code>/…`` and ``/notes/…`` are its
other public pages), ``/accounts/…`` (log in, password), ``/staff/`` (the studies a person works in),
``/admin/`` and ``/i18n/`` belong to the deployment. Everything clinical lives under
``/staff/<study>/…`` (pages) and ``/api/v1/<study>/…`` (JSON).

Each study has its own URLconf (``urlconf_for``): the deployment's patterns plus the study's,
with the study code written into the prefix. ``trialdesk.site.middleware.StudyFromURL`` reads
the code from the path, sets ``request.study`` and makes that URLconf the request's, so every
``{% url %}`` and ``reverse()`` on a study's page stays in that study without naming it, and no
view can be reached in one study with an object of another (views scope their querysets by
``request.study``). Outside a request, ``study_reverse(code, name, …)`` builds a study's URL.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path, reverse

from trialdesk.crfs.api import api as crfs_api
from trialdesk.desk import urls as desk
from trialdesk.desk import views as desk_views
from trialdesk.enrolment.api import api as enrolment_api
from trialdesk.outreach import urls as outreach
from trialdesk.participants import urls as participants
from trialdesk.portal import views as portal_views
from trialdesk.randomization.api import api as randomization_api
from trialdesk.site import errors
from trialdesk.visits import urls as visits


def _with(app_urls, composed: list, namespace: str):
    """An app's own URLs plus the composed pages (trialdesk.desk) shown in its namespace."""
    return include((list(app_urls.urlpatterns) + composed, namespace))


#: One study's pages, below /staff/<study>/.
staff_patterns = [
    path("", include((desk.studies, "studies"))),
    path("people/", include("trialdesk.accounts.study_urls")),
    path("participants/", _with(participants, desk.participants, "participants")),
    path("visits/", _with(visits, desk.visits, "visits")),
    path("crfs/", include("trialdesk.crfs.urls")),
    path("audit/", include((desk.audit, "audit"))),
    path("enrolment/", include("trialdesk.enrolment.urls")),
    path("randomization/", include("trialdesk.randomization.urls")),
    path("dsmb/", include("trialdesk.dsmb.urls")),
    path("safety/", include("trialdesk.safety.urls")),
    path("analyses/", include("trialdesk.analyses.urls")),
    path("outreach/", include(outreach.staff)),
]

#: One study's JSON endpoints, below /api/v1/<study>/ (built once: ninja registers each API once).
api_patterns = [
    path("crfs/", crfs_api.urls),
    path("enrolment/", enrolment_api.urls),
    path("randomization/", randomization_api.urls),
]

urlpatterns = [
    path("", portal_views.directory, name="public-home"),
    path("", include("trialdesk.portal.urls")),
    path("accounts/", include("trialdesk.accounts.urls")),
    path("staff/", desk_views.my_studies, name="my-studies"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include(outreach.public)),  # /studies/<code>/contact/, /notices/
    # Bookmarks from before studies had their own URLs: into the only study, if there is one.
    re_path(
        r"^(?P<rest>(?:participants|visits|crfs|audit|enrolment|randomization)/.*)$",
        desk_views.old_staff_url,
    ),
]


#: Refusals and missing pages inside the layout (trialdesk.site.errors); a study's URLconf
#: carries the same handlers, because Django looks them up on the request's URLconf.
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found


class StudyURLConf:
    """The URLconf of one study: the deployment's patterns and the study's, prefixed."""

    handler400 = staticmethod(errors.bad_request)
    handler403 = staticmethod(errors.permission_denied)
    handler404 = staticmethod(errors.page_not_found)

    def __init__(self, code: str):
        self.code = code
        self.urlpatterns = [
            path(f"staff/{code}/", include(staff_patterns)),
            path(f"api/v1/{code}/", include(api_patterns)),
            *urlpatterns,
        ]


_urlconfs: dict[str, StudyURLConf] = {}


def urlconf_for(code: str) -> StudyURLConf:
    """The study's URLconf, one object per code (Django caches a resolver per URLconf)."""
    conf = _urlconfs.get(code)
    if conf is None:
        conf = _urlconfs.setdefault(code, StudyURLConf(code))
    return conf


def study_reverse(code: str, viewname: str, args=None, kwargs=None) -> str:
    """``reverse`` in study ``code`` (outside a request, or to link to another study)."""
    return reverse(viewname, args=args, kwargs=kwargs, urlconf=urlconf_for(code))
