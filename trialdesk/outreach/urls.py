"""Public pages (at the root URLconf, namespace ``outreach``) and the staff queue (in each
study's URLconf under /staff/<study>/outreach/, namespace ``leads``)."""

from django.urls import path

from trialdesk.outreach import notices, views

public = (
    [
        path("studies/<str:code>/contact/", views.contact, name="contact"),
        path("notices/", notices.signup, name="notices"),
        path("notices/confirm/<str:token>/", notices.confirm, name="confirm"),
        path("notices/unsubscribe/<str:token>/", notices.unsubscribe, name="unsubscribe"),
    ],
    "outreach",
)

staff = (
    [
        path("leads/", views.leads, name="list"),
        path("leads/<int:pk>/", views.lead, name="detail"),
    ],
    "leads",
)
