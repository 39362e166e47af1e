from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "trialdesk.outreach"
    label = "outreach"
    verbose_name = "Outreach (contact requests, notices of trials)"
