"""Start Django for a CLI command (settings from the environment, as the web app)."""

from __future__ import annotations

import os


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.site.settings")
    import django

    django.setup()


def study_option(func):
    """``--study CODE`` on a command that touches a study's data (see ``resolve_study``)."""
    import click

    return click.option(
        "--study",
        default=None,
        metavar="CODE",
        help="the study (e.g. NCT07183384); may be left out when only one study is loaded",
    )(func)


def resolve_study(study: str | None) -> str:
    """The study to act on: the one named (which must exist), else the only one; with several
    loaded and none named, refuse and list them."""
    import click

    from trialdesk.studies.registry import NoProtocolLoaded, StudyNotChosen, study_codes
    from trialdesk.studies.registry import resolve_study as resolve

    try:
        code = resolve(study)
    except (NoProtocolLoaded, StudyNotChosen) as exc:
        raise click.UsageError(str(exc)) from exc
    if code not in study_codes():
        known = ", ".join(study_codes()) or "none"
        raise click.UsageError(f"no study {code!r} is loaded (studies: {known})")
    return code
