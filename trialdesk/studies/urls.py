from django.urls import path

from trialdesk.studies import views

app_name = "studies"
urlpatterns = [
    path("staff/", views.home, name="home"),
]
