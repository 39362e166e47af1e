from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "trialdesk.audit"
    label = "audit"

    def ready(self) -> None:
        from trialdesk.audit import signals  # noqa: F401  (login/logout events)
