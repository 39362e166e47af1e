from django.urls import path

from trialdesk.enrolment import views

app_name = "enrolment"
urlpatterns = [
    path("", views.screening_log, name="log"),
    path("participants/<str:subject_id>/", views.participant, name="participant"),
    path("consents/<int:pk>/pdf/", views.consent_pdf, name="consent-pdf"),
]
