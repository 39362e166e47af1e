from django.apps import AppConfig


class CrfsConfig(AppConfig):
    name = "trialdesk.crfs"
    label = "crfs"

    def ready(self) -> None:
        from trialdesk.crfs.reconcilers import register_all

        register_all()
