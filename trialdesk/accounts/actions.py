"""Every change of users, roles (memberships) and sites, each audited in its own transaction.

Who may do what (docs/security/accounts.md):
- `acting_user=None` is the operator's CLI (the "system" actor): bootstrap accounts, set an
  initial password, make an administrator. It has the database anyway; it is audited as such.
- An administrator (ACCOUNT_MANAGER_ROLES) creates and deactivates people, grants and revokes
  blinded roles, edits sites and sends password-reset links. Never to herself, and she never
  learns or sets anyone's password.
- An unblinded role (UNBLINDED_ROLES) is never granted by one person: an administrator requests
  it with a reason; a grantor (UNBLINDED_GRANTOR_ROLES) who is neither the requester nor the
  grantee approves it, re-entering the password.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from trialdesk.accounts import reauth
from trialdesk.accounts.access import Access, only_study_code, require_at
from trialdesk.accounts.models import (
    ACCOUNT_MANAGER_ROLES,
    SITE_ROLES,
    UNBLINDED_GRANTOR_ROLES,
    UNBLINDED_ROLES,
    Membership,
    Role,
    RoleRequest,
    Site,
    User,
)
from trialdesk.audit.actions import record

SYSTEM = "system"
REASON_MAX = 2000
MIN_REASON = 5


class AccountsError(ValueError):
    """A change was refused; `field` names the input at fault (for forms and the CLI)."""

    def __init__(self, message: str, field: str = "__all__") -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- checks
def _manager_role(acting_user, study: str | None = None) -> str:
    """The administrator role the acting user holds in `study` (an administrator manages the
    people, roles and sites of her own study; the operator's CLI acts as "system")."""
    if acting_user is None:
        return SYSTEM
    return require_at(
        acting_user, ACCOUNT_MANAGER_ROLES, None, "manage people, roles and sites", study=study
    )


def _study(site: Site | None, study: str | None) -> str:
    """The study a membership or request is in: its site's, else the one named."""
    if site is not None:
        if study is not None and site.study_id != study:
            raise AccountsError(f"site {site.code} is not a site of study {study}", "site")
        return site.study_id
    if not study:
        study = only_study_code()
    if not study:
        raise AccountsError("say which study the role is in", "study")
    return study


def _reason(reason: str, *, minimum: int = MIN_REASON) -> str:
    reason = (reason or "").strip()
    if len(reason) < minimum:
        raise AccountsError(f"give a reason (at least {minimum} characters)", "reason")
    if len(reason) > REASON_MAX:
        raise AccountsError(
            f"the reason has {len(reason)} characters; at most {REASON_MAX} are allowed", "reason"
        )
    return reason


def _not_self(acting_user, user, what: str) -> None:
    if acting_user is not None and acting_user.pk == user.pk:
        raise AccountsError(f"nobody can {what} their own account: ask another administrator")


def _role_and_site(role: str, site: Site | None) -> None:
    if role not in Role.values:
        raise AccountsError(f"role {role!r} is unknown (allowed: {', '.join(Role.values)})", "role")
    if role in SITE_ROLES and site is None:
        raise AccountsError(f"role {role!r} is held at one site: choose the site", "site")
    if role not in SITE_ROLES and site is not None:
        raise AccountsError(
            f"role {role!r} is study-wide: leave the site empty (site roles: "
            f"{', '.join(sorted(SITE_ROLES))})",
            "site",
        )


def user_state(user: User) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "printed_name": user.printed_name,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }


def membership_state(m: Membership) -> dict:
    return {
        "user_id": m.user_id,
        "username": m.user.username,
        "role": m.role,
        "site_id": m.site_id,
        "site": m.site.code if m.site_id else None,
        "active": m.active,
    }


def site_state(site: Site) -> dict:
    return {"code": site.code, "name": site.name, "city": site.city, "active": site.active}


# --------------------------------------------------------------------------- users
def do_create_user(
    *,
    username: str,
    email: str,
    printed_name: str,
    acting_user,
    reason: str,
    password_hash: str | None = None,
    is_superuser: bool = False,
    link_base: str = "",
    study: str | None = None,
) -> User:
    """A new person. Created from the web, the account has no usable password: a one-time link
    to set one goes to the person's e-mail, so the administrator never knows it. Only the
    operator's CLI (acting_user None) may set a password or make a superuser."""
    role = _manager_role(acting_user, study)
    reason = _reason(reason)
    username = (username or "").strip()
    email = (email or "").strip()
    if acting_user is not None and (password_hash or is_superuser):
        raise AccountsError("only the operator's command line sets passwords or superusers")
    try:
        User.username_validator(username)
        if not username:
            raise ValidationError("empty")
    except ValidationError:
        raise AccountsError(
            f"user name {username!r} is not allowed (letters, digits and @/./+/-/_ only)",
            "username",
        ) from None
    if acting_user is not None and not email:
        raise AccountsError(
            "give the person's e-mail: the link to set a password goes there", "email"
        )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise AccountsError(f"e-mail {email!r} is not an e-mail address", "email") from None
    if len(printed_name) > 200:
        raise AccountsError("the printed name has at most 200 characters", "printed_name")
    with transaction.atomic(durable=True):
        if User.objects.filter(username__iexact=username).exists():
            raise AccountsError(f"user name {username!r} is taken", "username")
        user = User(
            username=username,
            email=email,
            printed_name=printed_name.strip(),
            is_staff=is_superuser,
            is_superuser=is_superuser,
        )
        if password_hash:
            user.password = password_hash
        else:
            user.set_unusable_password()
        user.save()
        record(
            "create", actor=acting_user, role=role, obj=user, new=user_state(user), reason=reason
        )
        if acting_user is not None and email:
            _send_reset_on_commit(user, link_base, welcome=True)
    return user


def do_deactivate_user(user: User, *, acting_user, reason: str, study: str | None = None) -> User:
    """The person can no longer log in (her open sessions end at their next request)."""
    role = _manager_role(acting_user, study)
    reason = _reason(reason)
    _not_self(acting_user, user, "deactivate")
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.is_active:
            raise AccountsError(f"{user.username} is already inactive")
        user.is_active = False
        user.save(update_fields=["is_active"])
        record(
            "status",
            actor=acting_user,
            role=role,
            obj=user,
            old={"is_active": True},
            new={"is_active": False},
            reason=reason,
        )
    return user


def do_change_user(
    user: User,
    *,
    acting_user,
    reason: str,
    printed_name: str | None = None,
    email: str | None = None,
    study: str | None = None,
) -> User:
    """Printed name (administrator) or e-mail (operator only: the reset link goes there, so an
    administrator who could change it could take over the account)."""
    role = _manager_role(acting_user, study)
    reason = _reason(reason)
    if email is not None and acting_user is not None:
        raise AccountsError("only the operator's command line changes an e-mail address", "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise AccountsError(f"e-mail {email!r} is not an e-mail address", "email") from None
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        old = user_state(user)
        if printed_name is not None:
            user.printed_name = printed_name.strip()[:200]
        if email is not None:
            user.email = email
        user.save(update_fields=["printed_name", "email"])
        record(
            "change",
            actor=acting_user,
            role=role,
            obj=user,
            old=old,
            new=user_state(user),
            reason=reason,
        )
    return user


# --------------------------------------------------------------------------- passwords
def _reset_link(user: User, link_base: str) -> str:
    from django.urls import reverse

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:reset-confirm", kwargs={"uidb64": uid, "token": token})
    return link_base.rstrip("/") + path


def _send_reset_on_commit(user: User, link_base: str, *, welcome: bool = False) -> None:
    user_pk = user.pk

    def send() -> None:
        fresh = User.objects.get(pk=user_pk)
        context = {"user": fresh, "link": _reset_link(fresh, link_base), "welcome": welcome}
        body = render_to_string("accounts/password_reset_email.txt", context)
        subject = "trialdesk: set your password" if welcome else "trialdesk: reset your password"
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [fresh.email])

    transaction.on_commit(send)


def do_send_password_reset(
    user: User, *, acting_user, reason: str, link_base: str, study: str | None = None
) -> None:
    """A one-time link (Django's token: it expires and dies once used or once the password
    changes) goes to the person's own e-mail; the administrator never sees it."""
    role = _manager_role(acting_user, study)
    reason = _reason(reason)
    if not user.is_active:
        raise AccountsError(f"{user.username} is inactive: no reset link is sent")
    if not user.email:
        raise AccountsError(
            f"{user.username} has no e-mail address: the operator sets one with "
            "`trialdesk users set-email`",
            "email",
        )
    with transaction.atomic(durable=True):
        record(
            "status",
            actor=acting_user,
            role=role,
            obj=user,
            new={"password_reset": "one-time link sent to the user's e-mail"},
            reason=reason,
        )
        _send_reset_on_commit(user, link_base)


def do_set_own_password(user: User, *, password: str, how: str) -> User:
    """The person sets her own password (reset link, first login link)."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountsError(" ".join(exc.messages), "password") from None
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        user.save(update_fields=["password"])
        record(
            "change", actor=user, obj=user, new={"password": f"set by the user ({how})"}, reason=how
        )
    return user


def do_change_own_password(user: User, *, current: str, password: str, request=None) -> User:
    """The person changes her password, re-entering the current one (counted by reauth)."""
    try:
        reauth.check_password(user, current, request=request)
    except reauth.Refused as exc:
        raise AccountsError(f"{exc}: the password was not changed", "old_password") from None
    return do_set_own_password(user, password=password, how="changed by the user")


def do_operator_reset_password(user: User, *, reason: str) -> str:
    """The operator's CLI (`createadmin --reset`): a new random password, shown to the operator
    only. Audited as the system actor."""
    reason = _reason(reason)
    password = secrets.token_urlsafe(12)
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        user.password = make_password(password)
        user.save(update_fields=["password"])
        record(
            "change",
            role=SYSTEM,
            obj=user,
            new={"password": "reset by the operator"},
            reason=reason,
        )
    return password


# --------------------------------------------------------------------------- memberships
def _activate_membership(
    user: User, role: str, site: Site | None, *, study: str, actor, actor_role, reason
):
    """Create or re-activate one membership and audit it; inside the caller's transaction."""
    existing = (
        Membership.objects.select_for_update()
        .filter(user=user, study_id=study, role=role, site=site)
        .first()
    )
    if existing and existing.active:
        where = f" at site {site.code}" if site else ""
        raise AccountsError(f"{user.username} already holds {role}{where}", "role")
    if existing:
        existing.active = True
        existing.save(update_fields=["active"])
        m, action, old = existing, "status", {"active": False}
    else:
        m = Membership.objects.create(user=user, study_id=study, role=role, site=site)
        action, old = "create", None
    record(
        action,
        actor=actor,
        role=actor_role,
        site=site,
        obj=m,
        old=old,
        new=membership_state(m),
        reason=reason,
    )
    return m


def do_grant_membership(
    user: User,
    *,
    role: str,
    site: Site | None,
    acting_user,
    reason: str,
    study: str | None = None,
):
    """A blinded role in one study (at `site`, or study-wide in `study`), by an administrator
    of that study (never to herself). An unblinded role from the web goes through
    do_request_role; only the operator's CLI grants one directly (bootstrap)."""
    study = _study(site, study)
    actor_role = _manager_role(acting_user, study)
    reason = _reason(reason)
    _role_and_site(role, site)
    _not_self(acting_user, user, "grant a role to")
    if role in UNBLINDED_ROLES and acting_user is not None:
        raise AccountsError(
            f"{role} is an unblinded role: request it with a reason; a grantor "
            f"({', '.join(sorted(UNBLINDED_GRANTOR_ROLES))}) who is neither you nor "
            f"{user.username} must approve it",
            "role",
        )
    if not user.is_active:
        raise AccountsError(f"{user.username} is inactive: reactivate the account first")
    with transaction.atomic(durable=True):
        return _activate_membership(
            user, role, site, study=study, actor=acting_user, actor_role=actor_role, reason=reason
        )


def do_revoke_membership(m: Membership, *, acting_user, reason: str) -> Membership:
    actor_role = _manager_role(acting_user, m.study_id)
    reason = _reason(reason)
    _not_self(acting_user, m.user, "revoke a role of")
    with transaction.atomic(durable=True):
        m = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user", "site")
            .get(pk=m.pk)
        )
        if not m.active:
            raise AccountsError(f"{m} is already revoked")
        m.active = False
        m.save(update_fields=["active"])
        record(
            "status",
            actor=acting_user,
            role=actor_role,
            site=m.site,
            obj=m,
            old={"active": True},
            new=membership_state(m),
            reason=reason,
        )
    return m


def do_request_role(
    user: User,
    *,
    role: str,
    site: Site | None,
    acting_user,
    reason: str,
    study: str | None = None,
) -> RoleRequest:
    """First half of the two-person rule for an unblinded role (in one study)."""
    study = _study(site, study)
    actor_role = require_at(acting_user, ACCOUNT_MANAGER_ROLES, None, "request roles", study=study)
    reason = _reason(reason, minimum=10)
    _role_and_site(role, site)
    if role not in UNBLINDED_ROLES:
        raise AccountsError(f"{role} is a blinded role: grant it directly", "role")
    _not_self(acting_user, user, "request a role for")
    if not user.is_active:
        raise AccountsError(f"{user.username} is inactive")
    with transaction.atomic(durable=True):
        pending = RoleRequest.objects.filter(
            user=user, study_id=study, role=role, site=site, status=RoleRequest.Status.PENDING
        )
        if pending.exists():
            raise AccountsError(f"a request for {role} for {user.username} is already pending")
        req = RoleRequest.objects.create(
            user=user,
            study_id=study,
            role=role,
            site=site,
            reason=reason,
            requested_by=acting_user,
            requested_at=timezone.now(),
        )
        record(
            "create",
            actor=acting_user,
            role=actor_role,
            site=site,
            obj=req,
            new={
                "user": user.username,
                "role": role,
                "site": getattr(site, "code", None),
                "status": req.status,
            },
            reason=reason,
        )
    return req


def can_decide_role_request(req: RoleRequest, user) -> bool:
    return (
        req.status == RoleRequest.Status.PENDING
        and user.pk not in (req.requested_by_id, req.user_id)
        and Access.for_user(user, req.study_id).can(UNBLINDED_GRANTOR_ROLES)
    )


def do_decide_role_request(
    req: RoleRequest, acting_user, *, approve: bool, password: str, reason: str, request=None
) -> RoleRequest:
    """Second half: a grantor, neither requester nor grantee, signs the decision by re-entering
    the password (counted toward the login lockout)."""
    verb = "approve" if approve else "reject"
    actor_role = require_at(
        acting_user, UNBLINDED_GRANTOR_ROLES, None, f"{verb} role requests", study=req.study_id
    )
    if acting_user.pk == req.requested_by_id:
        raise AccountsError(f"you requested this role: another grantor must {verb} it")
    if acting_user.pk == req.user_id:
        raise AccountsError("nobody decides a request for their own role")
    reason = _reason(reason)
    try:
        reauth.check_password(acting_user, password, request=request)
    except reauth.Refused as exc:
        with transaction.atomic(durable=True):
            record(
                "login_failed",
                actor=acting_user,
                role=actor_role,
                obj=req,
                new={"decision": f"refused: {exc}"},
                reason=f"role request {verb} with a wrong password",
            )
        raise AccountsError(f"{exc}: the request was not {verb}d", "password") from None
    with transaction.atomic(durable=True):
        req = (
            RoleRequest.objects.select_for_update(of=("self",))
            .select_related("user", "site")
            .get(pk=req.pk)
        )
        if req.status != RoleRequest.Status.PENDING:
            raise AccountsError(f"this request is already {req.status}")
        req.status = RoleRequest.Status.APPROVED if approve else RoleRequest.Status.REJECTED
        req.decided_by, req.decided_at, req.decision_reason = acting_user, timezone.now(), reason
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record(
            "status",
            actor=acting_user,
            role=actor_role,
            site=req.site,
            obj=req,
            old={"status": RoleRequest.Status.PENDING},
            new={"status": req.status, "printed_name": acting_user.display_name(), "signed": True},
            reason=reason,
        )
        if approve:
            _activate_membership(
                req.user,
                req.role,
                req.site,
                study=req.study_id,
                actor=acting_user,
                actor_role=actor_role,
                reason=f"role request #{req.pk} requested by {req.requested_by.username}: "
                f"{req.reason}; approved: {reason}",
            )
    return req


# --------------------------------------------------------------------------- sites
def apply_site(
    study: str,
    code: str,
    *,
    name: str,
    city: str,
    active: bool,
    actor,
    actor_role: str,
    reason: str,
):
    """Create or change site ``code`` of study ``study`` and audit it, inside the caller's
    transaction (the protocol load syncs sites this way). Returns the site, or None when
    nothing changed."""
    site = Site.objects.select_for_update().filter(study_id=study, code=code).first()
    if site is None:
        site = Site.objects.create(study_id=study, code=code, name=name, city=city, active=active)
        record(
            "create",
            actor=actor,
            role=actor_role,
            site=site,
            obj=site,
            new=site_state(site),
            reason=reason,
        )
        return site
    old = site_state(site)
    site.name, site.city, site.active = name, city, active
    if site_state(site) == old:
        return None
    site.save(update_fields=["name", "city", "active"])
    record(
        "change",
        actor=actor,
        role=actor_role,
        site=site,
        obj=site,
        old=old,
        new=site_state(site),
        reason=reason,
    )
    return site


def _site_fields(code: str, name: str) -> None:
    if not code or len(code) > 8 or not code.replace("-", "").isalnum():
        raise AccountsError(f"site code {code!r}: 1–8 letters or digits", "code")
    if not name.strip() or len(name) > 200:
        raise AccountsError("the site name is required (at most 200 characters)", "name")


def do_save_site(
    *,
    study: str,
    code: str,
    name: str,
    city: str = "",
    active: bool = True,
    acting_user,
    reason: str,
) -> Site | None:
    """Create or change a site of `study` (by an administrator of that study)."""
    actor_role = _manager_role(acting_user, study)
    reason = _reason(reason)
    code, name, city = code.strip(), name.strip(), city.strip()[:100]
    _site_fields(code, name)
    with transaction.atomic(durable=True):
        return apply_site(
            study,
            code,
            name=name,
            city=city,
            active=active,
            actor=acting_user,
            actor_role=actor_role,
            reason=reason,
        )
