"""Abuse controls for public POSTs (contact requests, notice sign-ups, the portal's forms).

- rate limits in fixed windows, per IP address and per e-mail address, counted in the database
  (``RateCounter``) so they hold across processes; the key is a keyed hash, never the raw IP
  or address;
- a honeypot field that people never see and bots fill in;
- a request size limit.

Generic on purpose: ``trialdesk.portal`` (above this app) uses the same helpers.

    @public_post("contact")                       # size and per-IP limit on every POST
    def view(request): ...
        refusal = check_rate(request, "contact", email=address)   # per-address limit
        if refusal: ...                           # words for people: what, limit, when again

Limits are settings (``PUBLIC_RATE_LIMIT_IP``, ``PUBLIC_RATE_LIMIT_ADDRESS`` as (hits,
seconds); ``PUBLIC_POST_MAX_BYTES``), overridable per scope with ``PUBLIC_RATE_LIMITS_BY_SCOPE
= {scope: {"ip": (n, s), "address": (n, s)}}``.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.outreach.models import RateCounter
from trialdesk.outreach.sealed import keyed_hash, normalise_email

DEFAULT_IP_LIMIT = (5, 600)  # 5 posts per 10 minutes per IP address and form
DEFAULT_ADDRESS_LIMIT = (3, 86400)  # 3 per day per e-mail address and form
DEFAULT_MAX_BYTES = 16 * 1024
HONEYPOT_FIELD = "website"
_COUNTED = "_outreach_ip_counted"


def limit(scope: str, kind: str) -> tuple[int, int]:
    by_scope = getattr(settings, "PUBLIC_RATE_LIMITS_BY_SCOPE", {}).get(scope, {})
    if kind in by_scope:
        return tuple(by_scope[kind])  # type: ignore[return-value]
    if kind == "ip":
        return tuple(getattr(settings, "PUBLIC_RATE_LIMIT_IP", DEFAULT_IP_LIMIT))  # type: ignore
    return tuple(getattr(settings, "PUBLIC_RATE_LIMIT_ADDRESS", DEFAULT_ADDRESS_LIMIT))  # type: ignore


def client_ip(request) -> str:
    """The client's address as the server saw it (a reverse proxy must set REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _window_start(now: dt.datetime, seconds: int) -> dt.datetime:
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, tz=dt.UTC)


def hit(scope: str, kind: str, value: str, *, now: dt.datetime | None = None):
    """Count one hit; (hits in the window, limit, seconds, window end)."""
    allowed, seconds = limit(scope, kind)
    start = _window_start(now or timezone.now(), seconds)
    key = keyed_hash(f"rate-{kind}", value)
    with transaction.atomic():
        row, _created = RateCounter.objects.get_or_create(
            scope=scope, key_hash=key, window_start=start
        )
        RateCounter.objects.filter(pk=row.pk).update(hits=F("hits") + 1)
        hits = RateCounter.objects.values_list("hits", flat=True).get(pk=row.pk)
    return hits, allowed, seconds, start + dt.timedelta(seconds=seconds)


def _span(seconds: int) -> str:
    if seconds % 86400 == 0:
        n = seconds // 86400
        return _("a day") if n == 1 else _("%(n)d days") % {"n": n}
    if seconds % 3600 == 0:
        return _("%(n)d hours") % {"n": seconds // 3600}
    return _("%(n)d minutes") % {"n": max(1, seconds // 60)}


def check_rate(request, scope: str, *, email: str | None = None) -> str:
    """Count this request against ``scope``'s limits; "" if allowed, else the refusal in
    words. The IP address is counted once per request however often this is called; the
    e-mail address (when given) each call."""
    counted = getattr(request, _COUNTED, set())
    if scope not in counted:
        counted.add(scope)
        setattr(request, _COUNTED, counted)
        hits, allowed, seconds, until = hit(scope, "ip", client_ip(request))
        if hits > allowed:
            return _(
                "Too many requests from your connection: at most %(n)d in %(span)s are "
                "allowed for this form. Please try again after %(time)s UTC."
            ) % {"n": allowed, "span": _span(seconds), "time": f"{until:%Y-%m-%d %H:%M}"}
    if email:
        address = normalise_email(email)
        hits, allowed, seconds, until = hit(scope, "address", address)
        if hits > allowed:
            return _(
                "Too many requests for the e-mail address %(email)s: at most %(n)d in "
                "%(span)s are allowed. Please try again after %(time)s UTC."
            ) % {
                "email": address,
                "n": allowed,
                "span": _span(seconds),
                "time": f"{until:%Y-%m-%d %H:%M}",
            }
    return ""


def honeypot_filled(request, field: str = HONEYPOT_FIELD) -> bool:
    """True when the hidden field (``outreach/_honeypot.html``) came back filled in."""
    return bool(request.POST.get(field, "").strip())


def body_too_large(request, max_bytes: int | None = None) -> str:
    """ "" if the request body is within the limit, else the refusal in words."""
    limit_bytes = max_bytes or getattr(settings, "PUBLIC_POST_MAX_BYTES", DEFAULT_MAX_BYTES)
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = limit_bytes + 1
    if size > limit_bytes:
        return _(
            "The form sent is too large (%(size)d bytes): at most %(limit)d bytes are allowed. "
            "Please shorten your message."
        ) % {"size": size, "limit": limit_bytes}
    return ""


def refusal(request, message: str, status: int):
    return render(request, "outreach/refused.html", {"message": message}, status=status)


def public_post(scope: str, *, max_bytes: int | None = None):
    """View decorator: every POST is refused when too large (413) or over the per-IP limit of
    ``scope`` (429) before the view reads it."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                message = body_too_large(request, max_bytes)
                if message:
                    return refusal(request, message, 413)
                message = check_rate(request, scope)
                if message:
                    return refusal(request, message, 429)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete counters whose window ended more than a day ago (they can refuse nothing)."""
    longest = max(DEFAULT_ADDRESS_LIMIT[1], limit("", "address")[1], limit("", "ip")[1])
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=longest + 86400)
    deleted, _rows = RateCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted
