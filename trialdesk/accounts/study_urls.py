"""Managing one study's people, roles and sites (below /staff/<study>/people/)."""

from django.urls import path

from trialdesk.accounts import views

app_name = "people"
urlpatterns = [
    path("", views.people, name="people"),
    path("<int:pk>/", views.person, name="person"),
    path("role-requests/", views.role_requests, name="role-requests"),
    path("role-requests/<int:pk>/", views.role_request, name="role-request"),
    path("sites/", views.sites, name="sites"),
]
