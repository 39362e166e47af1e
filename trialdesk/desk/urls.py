"""The composed pages, by the URL namespace they appear in (``trialdesk.site.urls`` mounts them,
so links such as ``participants:detail`` and ``studies:home`` keep their names)."""

from django.urls import path

from trialdesk.desk import views

studies = [path("", views.staff_home, name="home")]
participants = [
    path("", views.participant_list, name="list"),
    path("<str:subject_id>/", views.casebook, name="detail"),
]
visits = [
    path("worklist/", views.worklist, name="worklist"),
    path("to-sign/", views.signing_worklist, name="to-sign"),
]
audit = [
    path("export/", views.export, name="export"),
    path("participant/<str:subject_id>/", views.participant_trail, name="participant"),
]
