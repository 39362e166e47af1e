from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    name = "trialdesk.enrolment"
    label = "enrolment"

    def ready(self) -> None:
        from trialdesk.enrolment.reconcilers import register_all

        register_all()
