from django.urls import path

from trialdesk.randomization import views

app_name = "randomization"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("list/", views.list_admin, name="list-admin"),
    path("report/", views.report, name="report"),
    path("pharmacy/", views.pharmacy, name="pharmacy"),
    path("participants/<str:subject_id>/", views.participant, name="participant"),
    path("participants/<str:subject_id>/unblind/", views.unblind, name="unblind"),
    path("unblindings/", views.unblindings, name="unblindings"),
    path("unblindings/<int:pk>/", views.unblinding, name="unblinding"),
]
