from django.apps import AppConfig


class DsmbConfig(AppConfig):
    name = "trialdesk.dsmb"
    label = "dsmb"

    def ready(self) -> None:
        from trialdesk.crfs.hooks import register_on_form_saved
        from trialdesk.randomization.hooks import register_gate

        from . import actions, services
        from .reconcilers import register_all

        register_all()
        register_on_form_saved(actions.on_form_saved)
        register_gate(services.gate)
