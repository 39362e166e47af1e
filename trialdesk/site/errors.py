"""Refusals and missing pages inside the layout (``handler400``, ``handler403``, ``handler404``).

A person who is refused sees, inside the usual page, why in plain words and what to do: who
grants roles in the study, and a link back to the study's home (or the list of studies). The
reason is the message of a ``trialdesk.accounts.access.Refused`` (written for people: a role, an
action, a site); any other exception's text — Django's own ``PermissionDenied``, a
``SuspiciousOperation``, an ``Http404`` from a lookup — never reaches the page. An htmx request
gets the same words as a short fragment.

Blinding: a reason that would name one of the study's arms (it never should) is replaced by the
generic one.
"""

from __future__ import annotations

import re

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from trialdesk.accounts.access import Refused, get_access
from trialdesk.accounts.models import Membership, Role
from trialdesk.studies.registry import get_protocol


def bad_request(request, exception=None):
    return _page(
        request,
        400,
        _("Request not understood"),
        _(
            "The page could not understand what your browser sent (a form that was changed or "
            "is too old, or a link that was cut short)."
        ),
        _("Go back, reload the page and try again."),
    )


def permission_denied(request, exception=None):
    reason = str(exception) if isinstance(exception, Refused) and str(exception) else ""
    if not reason or _names_an_arm(request, reason):
        reason = _("your role does not allow this")
    reason = _("Why: %(reason)s.") % {"reason": reason.rstrip(".")}
    return _page(
        request,
        403,
        _("Not open to you"),
        reason,
        _grant_advice(request),
    )


def page_not_found(request, exception=None):
    # Never the exception's text: a 404 also stands for "another study's object".
    return _page(
        request,
        404,
        _("Page not found"),
        _("There is no such page, or it is not open to you."),
        _("Check the address, or start again from the study's home."),
    )


# -- helpers ----------------------------------------------------------------------------------


def _page(request, status: int, title: str, reason: str, advice: str):
    back_url, back_label = _way_back(request)
    context = {
        "title": title,
        "reason": reason,
        "advice": advice,
        "back_url": back_url,
        "back_label": back_label,
        "status": status,
    }
    template = "refused.html"
    if request.headers.get("HX-Request"):
        template = "_refused.html"
    return render(request, template, context, status=status)


def _way_back(request) -> tuple[str, str]:
    study = getattr(request, "study", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "/", _("Home page")
    try:
        if study is not None:
            return reverse("studies:home"), _("Back to the study's home")
        return reverse("my-studies"), _("Your studies")
    except NoReverseMatch:  # pragma: no cover - every URLconf has both
        return "/", _("Home page")


def _grant_advice(request) -> str:
    study = getattr(request, "study", None)
    user = getattr(request, "user", None)
    if study is None or user is None or not user.is_authenticated:
        return _("Roles are granted per study by its administrator.")
    access = get_access(request)
    held = ", ".join(sorted(str(Role(r).label) for r in access.roles)) or "—"
    admins = sorted(
        {
            m.user.display_name()
            for m in Membership.objects.filter(study=study, role=Role.ADMIN, active=True)
            .exclude(user=user)
            .select_related("user")
        }
    )
    who = ", ".join(admins) if admins else _("the study's administrator")
    return _(
        "Your roles in this study: %(held)s. If your work needs this page, ask %(who)s to grant "
        "the role (an unblinded role also needs a second person's approval)."
    ) % {"held": held, "who": who}


def _names_an_arm(request, text: str) -> bool:
    study = getattr(request, "study", None)
    if study is None:
        return False
    try:
        arms = get_protocol(study).arms.values()
    except Exception:  # noqa: BLE001 - no protocol: nothing to compare with, refuse the text
        return True
    words = set()
    for arm in arms:
        words.update({arm.code, arm.name.en, arm.name.id})
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.I) for w in words if w)
