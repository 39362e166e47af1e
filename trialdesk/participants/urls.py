from django.urls import path

from trialdesk.participants import views

app_name = "participants"
#: The list ("") and casebook ("<subject_id>/") are composed pages: trialdesk.site.urls adds them
#: from trialdesk.desk to this namespace.
urlpatterns = [
    path("new/", views.register, name="register"),
    path("<str:subject_id>/identity/", views.identity, name="identity"),
]
