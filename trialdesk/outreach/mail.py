"""The e-mails of outreach, plain text only (nothing in them is ever rendered as HTML), each
in the language of the person it goes to. Sent after the transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.core.signing import dumps
from django.template.loader import render_to_string
from django.utils import translation

from trialdesk.accounts.models import Membership, Role

#: The coordinators' queue (a study page; ``trialdesk.site`` mounts it, which we cannot import).
QUEUE_PATH = "/staff/{code}/outreach/leads/"
CONFIRM_SALT = "trialdesk.outreach.confirm"
UNSUBSCRIBE_SALT = "trialdesk.outreach.unsubscribe"


def public_url(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def _send(template: str, context: dict, to: list[str], language: str) -> None:
    with translation.override(language):
        text = render_to_string(f"outreach/email/{template}.txt", context)
    subject, _sep, body = text.strip().partition("\n")
    send_mail(subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, to)


def coordinator_addresses(site) -> list[str]:
    rows = Membership.objects.filter(
        site=site, study_id=site.study_id, role=Role.COORDINATOR, active=True, user__is_active=True
    ).values_list("user__email", flat=True)
    return sorted({e for e in rows if e})


def lead_mails(lead, identity: dict[str, str], study_title: str) -> None:
    """Her confirmation, and to the centre's coordinators only that a request came in."""
    context = {"lead": lead, "site": lead.site, "study_title": study_title}
    _send("lead_confirmation", context, [identity["email"]], lead.language)
    to = coordinator_addresses(lead.site)
    if to:
        queue = public_url(QUEUE_PATH.format(code=lead.study_id))
        _send("lead_notification", {**context, "queue": queue}, to, settings.LANGUAGE_CODE)


def confirm_token(subscription) -> str:
    return dumps({"s": subscription.pk, "g": subscription.generation}, salt=CONFIRM_SALT)


def unsubscribe_token(subscription) -> str:
    return dumps({"s": subscription.pk}, salt=UNSUBSCRIBE_SALT)


def _links(subscription) -> dict[str, str]:
    from django.urls import reverse

    return {
        "confirm": public_url(reverse("outreach:confirm", args=[confirm_token(subscription)])),
        "unsubscribe": public_url(
            reverse("outreach:unsubscribe", args=[unsubscribe_token(subscription)])
        ),
    }


def subscription_confirmation(subscription, email: str) -> None:
    _send("notices_confirm", _links(subscription), [email], subscription.language)


def notice(subscription, email: str, *, study_code: str, title: str, conditions, centres) -> None:
    context = {
        **_links(subscription),
        "title": title,
        "code": study_code,
        "conditions": conditions,
        "centres": centres,
        "page": public_url(f"/studies/{study_code}/contact/"),
    }
    _send("notice", context, [email], subscription.language)
