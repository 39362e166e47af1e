from django.apps import AppConfig


class DsmbConfig(AppConfig):
    name = "trialdesk.dsmb"
    label = "dsmb"
