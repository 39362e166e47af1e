from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "trialdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from trialdesk.accounts.reconcilers import register_all

        register_all()
