from django.urls import path

from . import views

app_name = "analyses"

urlpatterns = [
    path("", views.home, name="home"),
    path("lock/", views.lock, name="lock"),
    path("unlock/", views.unlock, name="unlock"),
    path("unblind/", views.unblind, name="unblind"),
    path("run/", views.run, name="run-new"),
    path("runs/<int:pk>/", views.run_page, name="run"),
    path("runs/<int:pk>/<str:name>", views.run_file, name="run-file"),
]
