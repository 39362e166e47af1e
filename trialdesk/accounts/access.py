"""Who may do what, where. Every view and endpoint asks here; nothing decides access on its own.

`Access` is computed once per request from the user's active memberships.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from trialdesk.accounts.models import UNBLINDED_ROLES, Membership, Role, Site


@dataclass(frozen=True)
class Access:
    """The roles a user holds, per site (None = study-wide)."""

    user_id: int | None
    grants: frozenset[tuple[str, int | None]]  # (role, site_id or None)
    is_superuser: bool = False

    @classmethod
    def for_user(cls, user) -> Access:
        if not getattr(user, "is_authenticated", False):
            return cls(user_id=None, grants=frozenset())
        rows = Membership.objects.filter(user=user, active=True).values_list("role", "site_id")
        return cls(user_id=user.pk, grants=frozenset(rows), is_superuser=user.is_superuser)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(role for role, _site in self.grants)

    def has_role(self, *roles: str) -> bool:
        return any(role in roles for role, _site in self.grants)

    @property
    def is_unblinded(self) -> bool:
        """True only for roles entitled to see allocation; superusers are blinded too."""
        return any(role in UNBLINDED_ROLES for role, _site in self.grants)

    def site_ids(self, *roles: str) -> frozenset[int] | None:
        """Site ids where the user holds any of `roles`; None means every site (study-wide)."""
        wanted = roles or tuple(self.roles)
        sites: set[int] = set()
        for role, site_id in self.grants:
            if role not in wanted:
                continue
            if site_id is None:
                return None
            sites.add(site_id)
        return frozenset(sites)

    def can(self, roles: Iterable[str], site_id: int | None = None) -> bool:
        """Does the user hold one of `roles` at `site_id` (or study-wide)?"""
        roles = tuple(roles)
        return any(
            role in roles and (grant_site is None or site_id is None or grant_site == site_id)
            for role, grant_site in self.grants
        )

    def sites(self, *roles: str):
        ids = self.site_ids(*roles)
        # Inactive sites stay visible to their staff (closed to enrolment, not to follow-up).
        qs = Site.objects.all()
        return qs if ids is None else qs.filter(pk__in=ids)


def role_at(user, site) -> str:
    """The role `user` acts in at `site` (a site role there, else a study-wide one), for audit."""
    if user is None:
        return ""
    active = Membership.objects.filter(user=user, active=True)
    at_site = active.filter(site=site).values_list("role", flat=True).first() if site else None
    return at_site or active.filter(site=None).values_list("role", flat=True).first() or ""


def require_at(user, roles: Iterable[str], site, what: str) -> str:
    """PermissionDenied unless `user` holds one of `roles` at `site` (a Site, its pk, or None
    for study-wide work); returns the role acted in, for the audit event."""
    if isinstance(site, int):
        site = Site.objects.get(pk=site)
    if not Access.for_user(user).can(roles, getattr(site, "pk", None)):
        where = f" at site {site.code}" if site else ""
        raise PermissionDenied(f"your role does not allow you to {what}{where}")
    return role_at(user, site)


def get_access(request: HttpRequest) -> Access:
    cached = getattr(request, "_trialdesk_access", None)
    if cached is None:
        cached = Access.for_user(request.user)
        request._trialdesk_access = cached
    return cached


def require_role(*roles: str):
    """View decorator: 403 unless the logged-in user holds one of `roles` somewhere.

    Site scoping of individual objects is still the view's job (`Access.can(roles, site_id)`).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not get_access(request).has_role(*roles):
                raise PermissionDenied("your role does not allow this page")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


ALL_STAFF_ROLES = tuple(Role.values)
