from django.urls import path

from trialdesk.participants import views

app_name = "participants"
urlpatterns = [
    path("", views.participant_list, name="list"),
    path("new/", views.register, name="register"),
    path("<str:study_id>/", views.detail, name="detail"),
    path("<str:study_id>/identity/", views.identity, name="identity"),
]
