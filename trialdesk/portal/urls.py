from django.urls import path

from trialdesk.portal import views

app_name = "portal"

urlpatterns = [
    path("studies/<str:code>/", views.study, name="study"),
    path("studies/<str:code>/self-check/", views.self_check, name="self-check"),
    path("studies/<str:code>/notes/", views.note_create, name="note-create"),
    path("notes/<str:token>/", views.note_open, name="note"),
    path("notes/<str:token>/revoke/", views.note_revoke, name="note-revoke"),
]
