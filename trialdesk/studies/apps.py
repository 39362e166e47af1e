from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "trialdesk.studies"
    label = "studies"

    def ready(self) -> None:
        from trialdesk.studies.reconcilers import register_all

        register_all()
