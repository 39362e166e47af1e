from django.apps import AppConfig


class AnalysesConfig(AppConfig):
    name = "trialdesk.analyses"
    label = "analyses"

    def ready(self) -> None:
        from .reconcilers import register_all

        register_all()
