from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "trialdesk.participants"
    label = "participants"
