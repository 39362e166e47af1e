from django.contrib import admin
from django.urls import include, path

from trialdesk.studies import views as study_views

urlpatterns = [
    path("", study_views.public_home, name="public-home"),
    path("accounts/", include("trialdesk.accounts.urls")),
    path("", include("trialdesk.studies.urls")),
    path("admin/", admin.site.urls),
    path("participants/", include("trialdesk.participants.urls")),
    path("visits/", include("trialdesk.visits.urls")),
    path("crfs/", include("trialdesk.crfs.urls")),
    path("audit/", include("trialdesk.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("enrolment/", include("trialdesk.enrolment.urls")),
    path("randomization/", include("trialdesk.randomization.urls")),
]
