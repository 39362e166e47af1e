"""Which time zone a time is shown in.

Times are stored in UTC. A Part 11 manifestation (signature, audit trail, item history) shows
them in UTC; every other page shows them in the time zone of the site they belong to (the
protocol's ``sites.<code>.timezone``), or the deployment's (setting ``TIME_ZONE``, env
``TRIALDESK_TIME_ZONE``) when a site names none or the time belongs to no site.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings

from trialdesk.studies.registry import NoProtocolLoaded, StudyNotChosen, get_protocol

_ZONE_ATTR = "_trialdesk_zone"  # a Site instance remembers its zone for one page


def deployment_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def site_zone(site: Any) -> zoneinfo.ZoneInfo:
    """The zone of ``site`` (an ``accounts.Site``; a bare site code is read in the only study;
    None for the deployment)."""
    if site is None or site == "":
        return deployment_zone()
    cached = getattr(site, _ZONE_ATTR, None)
    if cached is not None:
        return cached
    zone = _zone_of_code(str(getattr(site, "code", site)), getattr(site, "study_id", None))
    if not isinstance(site, str):
        setattr(site, _ZONE_ATTR, zone)
    return zone


def _zone_of_code(code: str, study: str | None) -> zoneinfo.ZoneInfo:
    try:
        entry = get_protocol(study).sites.get(code)
    except (NoProtocolLoaded, StudyNotChosen):
        entry = None
    if entry is None or entry.timezone is None:
        return deployment_zone()
    return zoneinfo.ZoneInfo(entry.timezone)


def zone_label(when: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """``WIB (Asia/Jakarta)``; ``UTC`` alone; ``+08 (Asia/Singapore)`` where the zone has no
    abbreviation."""
    abbreviation = when.astimezone(zone).strftime("%Z")
    return abbreviation if abbreviation == zone.key else f"{abbreviation} ({zone.key})"
