from django.apps import AppConfig


class RandomizationConfig(AppConfig):
    name = "trialdesk.randomization"
    label = "randomization"

    def ready(self) -> None:
        from trialdesk.randomization.reconcilers import register_all

        register_all()
