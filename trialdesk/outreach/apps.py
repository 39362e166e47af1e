from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "trialdesk.outreach"
    label = "outreach"
    verbose_name = "Outreach (contact requests, notices of trials)"

    def ready(self) -> None:
        from .reconcilers import register_all

        register_all()
