"""Who may do what, where. Every view and endpoint asks here; nothing decides access on its own.

Access is per study: `Access` holds the user's active memberships *in one study* (the request's,
``request.study``, set from the URL by ``trialdesk.site.middleware.StudyFromURL``), so a role in
study A grants nothing in study B. Without a study (command line, tests, an action given only a
site) it is the site's study, else the only study the user works in.

`Access` is computed once per request from the user's active memberships: ``get_access(request)``
reads them and keeps the result on the request and on ``request.user``, and the checks actions
repeat (``require_at``, ``role_at``) reuse it when the acting user is that request's user
(``Access.of``). Outside a request (CLI, tests calling actions) every check reads afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext

from trialdesk.accounts.models import UNBLINDED_ROLES, Membership, Role, Site


class Refused(PermissionDenied):
    """A refusal written for people: its message says, in plain words, why (shown on the 403
    page by ``trialdesk.site.errors``). It names a role, an action or a site, never an arm and
    never an exception's internals. A bare ``PermissionDenied`` (Django's own) shows a generic
    text instead."""


@dataclass(frozen=True)
class Access:
    """The roles a user holds in one study, per site (None = study-wide)."""

    user_id: int | None
    study: str  # the study's code; "" when the user works in none (or several, unnamed)
    grants: frozenset[tuple[str, int | None]]  # (role, site_id or None)
    is_superuser: bool = False
    #: The grants in membership order (oldest first): which role the user acts in (`acting_role`).
    in_order: tuple[tuple[str, int | None], ...] = ()
    #: Every site of the study (what a study-wide grant covers), read only for such a grant.
    study_site_ids: frozenset[int] = frozenset()

    @classmethod
    def for_user(cls, user, study: str | None = None) -> Access:
        if not getattr(user, "is_authenticated", False):
            return cls(user_id=None, study=study or "", grants=frozenset())
        if study is None:
            study = _only_study_of(user) or only_study_code() or ""
        rows = tuple(
            Membership.objects.filter(user=user, study_id=study, active=True)
            .order_by("pk")
            .values_list("role", "site_id")
        )
        everywhere = frozenset()
        if any(site_id is None for _role, site_id in rows):
            everywhere = frozenset(Site.objects.filter(study_id=study).values_list("pk", flat=True))
        return cls(
            user_id=user.pk,
            study=study,
            grants=frozenset(rows),
            is_superuser=user.is_superuser,
            in_order=rows,
            study_site_ids=everywhere,
        )

    @classmethod
    def of(cls, user, study: str | None = None) -> Access:
        """The access this request already worked out for ``user`` (see ``get_access``), when
        it is for ``study`` (or no study is named), else read now. Only ``get_access`` caches,
        on the request's own user object, so an action called outside a request never sees a
        stale answer."""
        cached = getattr(user, _CACHE, None)
        if (
            cached is not None
            and cached.user_id == getattr(user, "pk", None)
            and (study is None or cached.study == study)
        ):
            return cached
        return cls.for_user(user, study)

    def acting_role(self, site_id: int | None) -> str:
        """The role acted in at ``site_id``: the first site role there, else the first
        study-wide one (as the audit trail has always named it)."""
        if site_id is not None:
            for role, grant_site in self.in_order:
                if grant_site == site_id:
                    return role
        return next((role for role, grant_site in self.in_order if grant_site is None), "")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(role for role, _site in self.grants)

    def has_role(self, *roles: str) -> bool:
        return any(role in roles for role, _site in self.grants)

    @property
    def is_unblinded(self) -> bool:
        """True only for roles entitled to see allocation; superusers are blinded too."""
        return any(role in UNBLINDED_ROLES for role, _site in self.grants)

    def site_ids(self, *roles: str) -> frozenset[int]:
        """Ids of the study's sites where the user holds any of `roles` (a study-wide role:
        every site of the study). Never more than the study's own sites, so a queryset
        filtered by them never reaches into another study."""
        wanted = roles or tuple(self.roles)
        sites: set[int] = set()
        for role, site_id in self.grants:
            if role not in wanted:
                continue
            if site_id is None:
                return self.study_site_ids
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
        """The study's sites where the user holds one of `roles` (all of them study-wide)."""
        # Inactive sites stay visible to their staff (closed to enrolment, not to follow-up).
        return Site.objects.filter(study_id=self.study, pk__in=self.site_ids(*roles))


_CACHE = "_trialdesk_access"


def _only_study_of(user) -> str:
    """The one study `user` holds active roles in; "" for none or several (grants nothing)."""
    codes = studies_of(user)
    return codes[0] if len(codes) == 1 else ""


def only_study_code() -> str | None:
    """The code of the deployment's only study, else None. Accounts knows a study only as the
    target of its foreign keys (it imports nothing from ``studies``, which sits above it)."""
    study_model = Site._meta.get_field("study").related_model
    codes = list(study_model.objects.values_list("pk", flat=True)[:2])
    return codes[0] if len(codes) == 1 else None


def studies_of(user) -> list[str]:
    """The codes of the studies `user` holds an active role in, in order."""
    if not getattr(user, "is_authenticated", False):
        return []
    return sorted(
        set(Membership.objects.filter(user=user, active=True).values_list("study_id", flat=True))
    )


def _study_of(site, study) -> str | None:
    if site is not None and not isinstance(site, int):
        return site.study_id
    return None if study is None else str(getattr(study, "pk", study))


def role_at(user, site, *, study=None) -> str:
    """The role `user` acts in at `site` (a site role there, else a study-wide one) in the
    site's study (or `study`, for study-wide work), for audit."""
    if user is None:
        return ""
    return Access.of(user, _study_of(site, study)).acting_role(getattr(site, "pk", site))


def require_at(user, roles: Iterable[str], site, what: str, *, study=None) -> str:
    """PermissionDenied unless `user` holds one of `roles` at `site` (a Site, its pk, or None
    for study-wide work in `study`); returns the role acted in, for the audit event."""
    if isinstance(site, int):
        site = Site.objects.get(pk=site)
    access = Access.of(user, _study_of(site, study))
    if not access.can(roles, getattr(site, "pk", None)):
        where = f" at site {site.code}" if site else ""
        raise Refused(f"your role does not allow you to {what}{where}")
    return access.acting_role(getattr(site, "pk", None))


def get_access(request: HttpRequest) -> Access:
    """The request's access in the request's study, read once; kept on the request and on
    ``request.user`` (the object views pass to actions as ``acting_user``), so the actions' own
    checks reuse it."""
    cached = getattr(request, _CACHE, None)
    if cached is None:
        study = getattr(request, "study", None)
        cached = Access.for_user(request.user, None if study is None else study.pk)
        setattr(request, _CACHE, cached)
        if getattr(request.user, "is_authenticated", False):
            setattr(request.user, _CACHE, cached)
    return cached


def require_role(*roles: str):
    """View decorator: 403 unless the logged-in user holds one of `roles` somewhere.

    Site scoping of individual objects is still the view's job (`Access.can(roles, site_id)`).
    The roles stay on the view (``view.required_roles``): the navigation (``desk.nav``) shows a
    page's link exactly to the roles that may open it.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not get_access(request).has_role(*roles):
                raise Refused(gettext("your role does not allow this page"))
            return view(request, *args, **kwargs)

        wrapper.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper

    return decorator


ALL_STAFF_ROLES = tuple(Role.values)
