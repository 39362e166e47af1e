from django.apps import AppConfig


class CrfsConfig(AppConfig):
    name = "trialdesk.crfs"
    label = "crfs"
