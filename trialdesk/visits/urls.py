from django.urls import path

from trialdesk.visits import views

app_name = "visits"
#: The worklist is a composed page: trialdesk.site.urls adds it from trialdesk.desk.
urlpatterns = [
    path("<int:pk>/date/", views.record_date, name="date"),
    path("<int:pk>/missed/", views.mark_missed, name="missed"),
    path("unscheduled/<str:subject_id>/", views.add_unscheduled, name="unscheduled"),
]
