from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "trialdesk.portal"
    label = "portal"
    verbose_name = "Public portal"
    default_auto_field = "django.db.models.BigAutoField"
