from django.urls import path

from trialdesk.audit import views

app_name = "audit"
urlpatterns = [
    path("export/", views.export, name="export"),
    path("participant/<str:study_id>/", views.participant_trail, name="participant"),
]
