from django.urls import path

from trialdesk.safety import views

app_name = "safety"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("aes/", views.ae_list, name="list"),
    path("ae/<int:pk>/", views.ae_page, name="ae"),
    path("ae/<int:pk>/cioms.pdf", views.cioms, name="cioms"),
    path("ae/<int:pk>/follow-up/", views.follow_up, name="follow-up"),
    path("clock/<int:pk>/close/", views.close_clock, name="close-clock"),
    path("prompt/<int:pk>/dismiss/", views.dismiss_finding, name="dismiss"),
]
