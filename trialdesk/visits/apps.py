from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "trialdesk.visits"
    label = "visits"

    def ready(self) -> None:
        from trialdesk.participants import hooks
        from trialdesk.visits import services
        from trialdesk.visits.reconcilers import register_all

        register_all()
        hooks.register_on_created(services.create_initial_visits)
        hooks.register_on_anchor_set(services.schedule_on_anchor)
