from django.apps import AppConfig


class DsmbConfig(AppConfig):
    name = "trialdesk.dsmb"
    label = "dsmb"

    def ready(self) -> None:
        from trialdesk.crfs.hooks import register_on_form_saved
        from trialdesk.randomization.hooks import register_gate
        from trialdesk.safety.panels import register_dashboard_panel

        from . import actions, services, views
        from .reconcilers import register_all

        register_all()
        register_on_form_saved(actions.on_form_saved)
        register_dashboard_panel(views.rules_panel)
        register_gate(services.gate)
