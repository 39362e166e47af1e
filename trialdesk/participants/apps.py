from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "trialdesk.participants"
    label = "participants"

    def ready(self) -> None:
        from trialdesk.participants.reconcilers import register_all

        register_all()
