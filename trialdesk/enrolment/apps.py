from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    name = "trialdesk.enrolment"
    label = "enrolment"
