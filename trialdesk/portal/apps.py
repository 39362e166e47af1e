from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "trialdesk.portal"
    label = "portal"
    verbose_name = "Public portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from trialdesk.audit.reconcile import exempt

        exempt(
            "portal.note",
            "a visitor's private note (body encrypted, passcode hashed), not trial data: "
            "auditing it would trace every visitor (docs/public-portal.md)",
        )
        exempt(
            "portal.clientthrottle",
            "a passcode-attempt counter under a keyed hash of the address: expires, holds no "
            "data of anyone",
        )
