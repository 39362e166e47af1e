"""Notices of other trials: sign-up with double opt-in, confirmation, unsubscribe, and the
sending (``trialdesk notices send``, also a periodic task of ``trialdesk tick``).

Nothing but the confirmation request is ever sent to an unconfirmed address; every message
carries an unsubscribe link. Tokens are signed (``django.core.signing``) with the deployment's
secret: a confirmation link lasts 7 days and only for the latest sign-up of that address.
"""

from __future__ import annotations

from django.core import signing
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from trialdesk.accounts.models import Site
from trialdesk.outreach import abuse, mail, places
from trialdesk.outreach.forms import SubscribeForm
from trialdesk.outreach.models import NoticeSent, Subscription
from trialdesk.outreach.sealed import keyed_hash, normalise_email, seal, unseal
from trialdesk.studies.registry import get_protocol, study_codes

CONFIRM_MAX_AGE = 7 * 86400


def conditions_offered() -> list[str]:
    seen: dict[str, str] = {}
    for code in study_codes():
        for condition in get_protocol(code).study.conditions:
            seen.setdefault(condition.casefold(), condition)
    return sorted(seen.values(), key=str.casefold)


def regions_offered() -> list[str]:
    cities = Site.objects.filter(active=True, study_id__in=study_codes()).values_list(
        "city", flat=True
    )
    return sorted({c for c in cities if c})


def do_subscribe(email: str, *, conditions: list[str], region: str, language: str) -> None:
    """Store (or renew) a pending sign-up and send the confirmation request. An address that
    is already confirmed is left as it is and gets nothing (no one can change another's
    choices, nor learn whether an address is signed up)."""
    address = normalise_email(email)
    digest = keyed_hash("subscription-email", address)
    with transaction.atomic(durable=True):
        sub = Subscription.objects.select_for_update().filter(email_hash=digest).first()
        if sub is not None and sub.is_active:
            return
        if sub is None:
            sub = Subscription(email_hash=digest, email_ciphertext=seal({"email": address}))
        sub.conditions, sub.region, sub.language = conditions, region, language
        sub.confirmed_at = sub.unsubscribed_at = None
        sub.generation += 1
        sub.save()
        transaction.on_commit(lambda: mail.subscription_confirmation(sub, address))


@abuse.public_post("notices")
def signup(request):
    form = SubscribeForm(request.POST or None, conditions=conditions_offered())
    context = {"form": form, "regions": regions_offered()}
    if request.method != "POST":
        return render(request, "outreach/notices.html", context)
    if abuse.honeypot_filled(request):
        return render(request, "outreach/notices_sent.html", context)
    if not form.is_valid():
        return render(request, "outreach/notices.html", context, status=422)
    refusal = abuse.check_rate(request, "notices", email=form.cleaned_data["email"])
    if refusal:
        return abuse.refusal(request, refusal, 429)
    data = form.cleaned_data
    do_subscribe(
        data["email"],
        conditions=data["conditions"],
        region=data["region"],
        language=data["language"],
    )
    return render(request, "outreach/notices_sent.html", context)


def _from_token(token: str, salt: str, max_age=None) -> tuple[Subscription, dict]:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
        return Subscription.objects.get(pk=int(payload["s"])), payload
    except (signing.BadSignature, Subscription.DoesNotExist, KeyError, TypeError, ValueError):
        raise Http404("no such link") from None


def confirm(request, token: str):
    try:
        sub, payload = _from_token(token, mail.CONFIRM_SALT, CONFIRM_MAX_AGE)
    except Http404:
        return render(request, "outreach/notices_link.html", {"outcome": "invalid"}, status=404)
    if payload.get("g") != sub.generation or sub.unsubscribed_at is not None:
        return render(request, "outreach/notices_link.html", {"outcome": "invalid"}, status=404)
    if sub.confirmed_at is None:
        Subscription.objects.filter(pk=sub.pk, confirmed_at=None).update(
            confirmed_at=timezone.now()
        )
    return render(request, "outreach/notices_link.html", {"outcome": "confirmed"})


def unsubscribe(request, token: str):
    try:
        sub, _payload = _from_token(token, mail.UNSUBSCRIBE_SALT)
    except Http404:
        return render(request, "outreach/notices_link.html", {"outcome": "invalid"}, status=404)
    if request.method == "POST":  # a link prefetcher's GET unsubscribes no one
        if sub.unsubscribed_at is None:
            Subscription.objects.filter(pk=sub.pk).update(unsubscribed_at=timezone.now())
        return render(request, "outreach/notices_link.html", {"outcome": "unsubscribed"})
    return render(request, "outreach/notices_link.html", {"outcome": "ask"})


# -- sending -----------------------------------------------------------------------------------


def recruiting_studies() -> list[tuple[str, object, list]]:
    """(code, protocol, active sites) of every study that is recruiting and has an open centre."""
    out = []
    for code in study_codes():
        protocol = get_protocol(code)
        if getattr(protocol.study, "recruitment", "recruiting") != "recruiting":
            continue
        centres = [site for site, _lat, _lon in places.active_centres(code)]
        if centres:
            out.append((code, protocol, centres))
    return out


def _region_matches(region: str, centres) -> bool:
    if not region.strip():
        return True
    wanted = region.strip().casefold()
    for site in centres:
        city = (site.city or "").casefold()
        if city and (wanted in city or city in wanted or places.same_province(region, site.city)):
            return True
    return False


def matches(sub: Subscription, protocol, centres) -> bool:
    chosen = {c.casefold() for c in sub.conditions}
    offered = {c.casefold() for c in protocol.study.conditions}
    return bool(chosen & offered) and _region_matches(sub.region, centres)


def send_notices() -> int:
    """One notice per confirmed subscriber per matching recruiting study, never twice (the
    ``NoticeSent`` row is written before the mail goes: at most once)."""
    studies = recruiting_studies()
    sent = 0
    subs = Subscription.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
    for sub in subs.order_by("pk"):
        for code, protocol, centres in studies:
            if not matches(sub, protocol, centres):
                continue
            if NoticeSent.objects.filter(subscription=sub, study_id=code).exists():
                continue
            try:
                with transaction.atomic():
                    NoticeSent.objects.create(subscription=sub, study_id=code)
            except IntegrityError:  # another run sent it meanwhile
                continue
            mail.notice(
                sub,
                unseal(sub.email_ciphertext)["email"],
                study_code=code,
                title=protocol.study.title,
                conditions=list(protocol.study.conditions),
                centres=[f"{s.name}, {s.city}" for s in centres],
            )
            sent += 1
    return sent


def tick() -> str:
    """The periodic task (``trialdesk tick``): due notices, and expired rate counters."""
    sent = send_notices()
    purged = abuse.purge_expired()
    parts = [f"{sent} notice(s) sent"] if sent else []
    parts += [f"{purged} expired rate counter(s) removed"] if purged else []
    return "; ".join(parts)
