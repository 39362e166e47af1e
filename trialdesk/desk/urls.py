"""The composed pages, by the URL namespace they appear in (``trialdesk.site.urls`` mounts them,
so links such as ``participants:detail`` and ``studies:home`` keep their names)."""

from django.urls import path

from trialdesk.desk import logs, views

studies = [path("", views.staff_home, name="home")]
participants = [
    path("", views.participant_list, name="list"),
    path("<str:subject_id>/", views.casebook, name="detail"),
]
visits = [
    path("worklist/", views.worklist, name="worklist"),
    path("to-sign/", views.signing_worklist, name="to-sign"),
    path("deviations/", logs.deviation_log, name="deviations"),
    path("deviations.csv", logs.deviation_csv, name="deviations-csv"),
]
audit = [
    path("", logs.study_trail, name="trail"),
    path("trail.csv", logs.study_trail_csv, name="trail-csv"),
    path("export/", views.export, name="export"),
    path("participant/<str:subject_id>/", views.participant_trail, name="participant"),
]
