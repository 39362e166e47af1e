"""Adverse events as the safety physician sees them (issue 12): the AE eCRF log form is the
record; this app keeps each AE's versions, its CTCAE coding and grade, seriousness and
expectedness, the expedited-reporting clocks, the CIOMS-I report and the safety dashboard."""

from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "trialdesk.safety"
    label = "safety"

    def ready(self) -> None:
        from trialdesk.crfs.hooks import register_on_form_saved
        from trialdesk.safety import reconcilers, services

        register_on_form_saved(services.on_form_saved)
        reconcilers.register_all()
