from django.apps import AppConfig


class AnalysesConfig(AppConfig):
    name = "trialdesk.analyses"
    label = "analyses"
