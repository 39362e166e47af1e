"""The navigation of a study's pages: each link shown exactly to the roles that may open it.

A link's roles are not written here: they are read from the view it points to (the roles of
its ``require_role``, kept as ``view.required_roles``), so the menu cannot drift from the
access checks. ``trialdesk/desk/tests/test_nav.py`` opens every link as every persona.
"""

from __future__ import annotations

from django.urls import resolve, reverse
from django.utils.translation import gettext_lazy as _

from trialdesk.accounts.access import get_access

#: (URL name, label), in menu order. Pages that need an object (a participant, a form) or that
#: download a file (the audit export) are reached from these pages, not from the menu.
LINKS = (
    ("participants:list", _("Participants")),
    ("visits:worklist", _("Worklist")),
    ("crfs:queries", _("Queries")),
    ("enrolment:log", _("Screening")),
    ("leads:list", _("Contact requests")),
    ("visits:to-sign", _("To sign")),
    ("randomization:overview", _("Randomization")),
    ("randomization:pharmacy", _("Pharmacy")),
    ("safety:dashboard", _("Safety")),
    ("dsmb:rules", _("Safety rules")),
    ("dsmb:reports", _("DSMB reports")),
    ("analyses:home", _("Final analysis")),
    ("crfs:data-quality", _("Data quality")),
    ("visits:deviations", _("Deviations")),
    ("audit:trail", _("Audit trail")),
    ("people:people", _("People")),
    ("people:sites", _("Sites")),
    ("people:role-requests", _("Role requests")),
)


def required_roles(url: str) -> frozenset[str]:
    """The roles the view at ``url`` lets in (empty: any logged-in person of the study)."""
    return frozenset(getattr(resolve(url).func, "required_roles", ()))


def links_for(request) -> list[dict]:
    """The menu of the request's study for the request's user: [{"url", "label", "name"}]."""
    user = getattr(request, "user", None)
    if getattr(request, "study", None) is None or not getattr(user, "is_authenticated", False):
        return []
    roles = get_access(request).roles
    out = []
    for name, label in LINKS:
        url = reverse(name)
        needed = required_roles(url)
        if not needed or roles & needed:
            out.append({"name": name, "url": url, "label": label})
    return out


def nav(request) -> dict:
    """Template context processor: ``nav_links`` for base.html."""
    return {"nav_links": links_for(request)}
