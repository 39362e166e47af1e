"""Times with their zone named. ``{% load times %}``, then:

- ``{{ value|utc }}`` → ``2026-03-02 01:12:44 UTC``: signatures, audit trail, item history
  (Part 11 manifestations);
- ``{{ value|local:site }}`` → ``2026-03-02 08:12 WIB (Asia/Jakarta)``: every other page, in
  the zone of ``site`` (an ``accounts.Site`` or a site code; omitted: the deployment's zone);
- ``{{ value|local_date:site }}`` → ``2026-03-02``: the calendar day at the site;
- ``{{ value|zone }}`` → ``WIB (Asia/Jakarta)``: the zone's name at ``value`` (of a site, or
  omitted: the deployment's), to label an input read in that zone.

Django's ``date`` filter converts to the *current* time zone without saying which, so it is
not used on datetimes (a date field, which has no zone, may still use it).
"""

from __future__ import annotations

import datetime as dt

from django import template

from trialdesk.studies.timezones import site_zone, zone_label

register = template.Library()


@register.filter
def utc(value):
    if not isinstance(value, dt.datetime):
        return "" if value is None else value
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


@register.filter
def local(value, site=None):
    if not isinstance(value, dt.datetime):
        return "" if value is None else value
    zone = site_zone(site)
    return f"{value.astimezone(zone):%Y-%m-%d %H:%M} {zone_label(value, zone)}"


@register.filter
def local_date(value, site=None):
    if not isinstance(value, dt.datetime):
        return "" if value is None else value
    return f"{value.astimezone(site_zone(site)):%Y-%m-%d}"


@register.filter
def zone(value, site=None):
    if not isinstance(value, dt.datetime):
        return ""
    return zone_label(value, site_zone(site))
