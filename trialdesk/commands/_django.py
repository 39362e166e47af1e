"""Start Django for a CLI command (settings from the environment, as the web app)."""

from __future__ import annotations

import os


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.site.settings")
    import django

    django.setup()
