from django.apps import AppConfig


class DeskConfig(AppConfig):
    """Pages that compose several apps (staff home, casebook, worklist, audit pages). The top
    layer: it may read every app; no app imports it (docs/architecture.md)."""

    name = "trialdesk.desk"
    label = "desk"
