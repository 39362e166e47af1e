from django.contrib import admin
from django.urls import include, path

from trialdesk.desk import urls as desk
from trialdesk.participants import urls as participants
from trialdesk.studies import views as study_views
from trialdesk.visits import urls as visits


def _with(app_urls, composed: list, namespace: str):
    """An app's own URLs plus the composed pages (trialdesk.desk) shown in its namespace."""
    return include((list(app_urls.urlpatterns) + composed, namespace))


urlpatterns = [
    path("", study_views.public_home, name="public-home"),
    path("accounts/", include("trialdesk.accounts.urls")),
    path("", include((desk.studies, "studies"))),
    path("admin/", admin.site.urls),
    path("participants/", _with(participants, desk.participants, "participants")),
    path("visits/", _with(visits, desk.visits, "visits")),
    path("crfs/", include("trialdesk.crfs.urls")),
    path("audit/", include((desk.audit, "audit"))),
    path("i18n/", include("django.conf.urls.i18n")),
    path("enrolment/", include("trialdesk.enrolment.urls")),
    path("randomization/", include("trialdesk.randomization.urls")),
]
