from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "trialdesk.accounts"
    label = "accounts"
