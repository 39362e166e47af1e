from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "trialdesk.visits"
    label = "visits"

    def ready(self) -> None:
        from trialdesk.visits.reconcilers import register_all

        register_all()
