from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    name = "trialdesk.enrolment"
    label = "enrolment"

    def ready(self) -> None:
        from trialdesk.enrolment import services
        from trialdesk.enrolment.reconcilers import register_all
        from trialdesk.participants import hooks

        register_all()
        hooks.register_withdrawal_source(services.active_withdrawal)
