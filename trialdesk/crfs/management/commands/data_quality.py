"""`trialdesk manage data_quality`: the batch data-quality run from the command line."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Re-evaluate every edit check, limit and derivation over all stored eCRF data."

    def add_arguments(self, parser):
        parser.add_argument("--user", default="", help="data manager running it (recorded)")
        parser.add_argument("--study", default=None, help="the study (default: the only one)")

    def handle(self, *args, user: str = "", study: str | None = None, **options):
        from trialdesk.crfs.actions import do_run_data_quality
        from trialdesk.studies.registry import NoProtocolLoaded, StudyNotChosen, resolve_study

        try:
            study = resolve_study(study)
        except (NoProtocolLoaded, StudyNotChosen) as exc:
            raise CommandError(str(exc)) from exc

        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no user {user!r}")
        self.stdout.write(do_run_data_quality(actor, study=study).summary())
