from django.urls import path

from trialdesk.dsmb import views

app_name = "dsmb"
urlpatterns = [
    path("", views.rules, name="rules"),
    path("interim/", views.interim, name="interim"),
    path("decisions/new/", views.decision_new, name="decision-new"),
    path("decisions/<int:pk>/", views.decision, name="decision"),
    path("decisions/<int:pk>/sign/", views.sign, name="sign"),
    path("decisions/<int:pk>/minutes/", views.minutes, name="minutes"),
    path("reports/", views.report_list, name="reports"),
    path("reports/generate/", views.report_generate, name="report-generate"),
    path("reports/<int:pk>/", views.report_view, name="report"),
    path("reports/<int:pk>/pdf/", views.report_pdf, name="report-pdf"),
]
