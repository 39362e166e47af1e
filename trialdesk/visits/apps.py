from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "trialdesk.visits"
    label = "visits"
