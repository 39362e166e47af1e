from django.urls import path

from trialdesk.visits import views

app_name = "visits"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("<int:pk>/date/", views.record_date, name="date"),
    path("<int:pk>/missed/", views.mark_missed, name="missed"),
    path("unscheduled/<str:study_id>/", views.add_unscheduled, name="unscheduled"),
]
