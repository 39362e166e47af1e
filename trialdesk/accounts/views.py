"""Log in/out, the password-reset link, and the staff pages that manage people, roles and sites.

Each POST validates its input and calls one action in trialdesk/accounts/actions.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.accounts import actions
from trialdesk.accounts.access import require_role
from trialdesk.accounts.models import (
    UNBLINDED_GRANTOR_ROLES,
    UNBLINDED_ROLES,
    Membership,
    Role,
    RoleRequest,
    Site,
    User,
)

MANAGERS = tuple(actions.ACCOUNT_MANAGER_ROLES)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """The one-time link: the person sets her password; the action audits it."""

    template_name = "accounts/reset_confirm.html"
    success_url = reverse_lazy("accounts:reset-done")

    def form_valid(self, form):
        try:
            actions.do_set_own_password(
                self.user, password=form.cleaned_data["new_password1"], how="one-time link"
            )
        except actions.AccountsError as exc:
            form.add_error("new_password1", str(exc))
            return self.form_invalid(form)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.success_url)


class ResetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/reset_done.html"


def change_password(request):
    """The person changes her own password; the current one is re-entered through reauth, so
    guessing it here counts toward the login lockout like any other re-entry."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next={request.path}")
    error, status = "", 200
    if request.method == "POST":
        post = request.POST
        try:
            if post.get("new_password1", "") != post.get("new_password2", ""):
                raise actions.AccountsError(_("the two new passwords differ"), "new_password2")
            changed = actions.do_change_own_password(
                request.user,
                current=post.get("old_password", ""),
                password=post.get("new_password1", ""),
                request=request,
            )
        except actions.AccountsError as exc:
            error, status = str(exc), 422
        else:
            update_session_auth_hash(request, changed)  # stay logged in with the new hash
            messages.success(request, _("Your password was changed."))
            return redirect("my-studies")
    return render(request, "accounts/change_password.html", {"error": error}, status=status)


def _link_base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _site(request, raw: str) -> Site | None:
    if not raw:
        return None
    site = Site.objects.filter(study=request.study, code=raw).first()
    if site is None:
        raise actions.AccountsError(f"site {raw!r} does not exist", "site")
    return site


#: Refusal for "add an existing account": the same words whether the user name is unknown
#: or the e-mail does not match, so the form tells nothing about other studies' people.
NO_SUCH_ACCOUNT = "no account has that user name and e-mail: check both, or create a new account"


def _add_existing(request, post):
    """Give a role in this study to an account that so far works only in other studies. The
    administrator must know both its user name and its e-mail: nothing else is revealed."""
    username = post.get("username", "").strip()
    email = post.get("email", "").strip()
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or not email or user.email.strip().lower() != email.lower():
        raise actions.AccountsError(NO_SUCH_ACCOUNT, "username")
    _grant(request, user, post)
    return user


@require_role(*MANAGERS)
def people(request):
    if request.method == "POST" and request.POST.get("action") == "add_existing":
        try:
            user = _add_existing(request, request.POST)
        except actions.AccountsError as exc:
            return _people_page(request, error=str(exc), status=422)
        messages.success(request, DONE["grant"])
        return redirect("people:person", pk=user.pk)
    if request.method == "POST":
        post = request.POST
        try:
            user = actions.do_create_user(
                username=post.get("username", ""),
                email=post.get("email", ""),
                printed_name=post.get("printed_name", ""),
                acting_user=request.user,
                reason=post.get("reason", ""),
                link_base=_link_base(request),
                study=request.study.code,
            )
        except actions.AccountsError as exc:
            return _people_page(request, error=str(exc), status=422)
        messages.success(request, _("Account created; a link to set the password was e-mailed."))
        return redirect("people:person", pk=user.pk)
    return _people_page(request)


def _people_page(request, error: str = "", status: int = 200):
    """The study's people: everyone with a role in it, and accounts with no role anywhere yet."""
    users = _manageable_users(request).prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(study=request.study).select_related("site"),
        )
    )
    context = {
        "users": users,
        "error": error,
        "roles": Role.choices,
        "sites": Site.objects.filter(study=request.study, active=True).order_by("code"),
    }
    return render(request, "accounts/people.html", context, status=status)


def _manageable_users(request):
    """Whom a study's administrator manages: people with a role in the study, and accounts
    with no role in any study (just created). People of other studies only are not shown."""
    in_study = Membership.objects.filter(study=request.study).values("user_id")
    return (
        User.objects.filter(Q(pk__in=in_study) | Q(memberships__isnull=True))
        .distinct()
        .order_by("username")
    )


PERSON_STEPS = {
    "grant": lambda r, u, p: _grant(r, u, p),
    "revoke": lambda r, u, p: actions.do_revoke_membership(
        get_object_or_404(Membership, pk=p.get("membership"), user=u, study=r.study),
        acting_user=r.user,
        reason=p.get("reason", ""),
    ),
    "deactivate": lambda r, u, p: actions.do_deactivate_user(
        u, acting_user=r.user, reason=p.get("reason", ""), study=r.study.code
    ),
    "reset": lambda r, u, p: actions.do_send_password_reset(
        u,
        acting_user=r.user,
        reason=p.get("reason", ""),
        link_base=_link_base(r),
        study=r.study.code,
    ),
    "rename": lambda r, u, p: actions.do_change_user(
        u,
        acting_user=r.user,
        reason=p.get("reason", ""),
        printed_name=p.get("printed_name", ""),
        study=r.study.code,
    ),
}


def _grant(request, user, post):
    role, site = post.get("role", ""), _site(request, post.get("site", ""))
    act = actions.do_request_role if role in UNBLINDED_ROLES else actions.do_grant_membership
    return act(
        user,
        role=role,
        site=site,
        acting_user=request.user,
        reason=post.get("reason", ""),
        study=request.study.code,
    )


DONE = {
    "grant": gettext_lazy("Done. An unblinded role waits for a grantor's approval."),
    "revoke": gettext_lazy("Role revoked."),
    "deactivate": gettext_lazy("Account deactivated."),
    "reset": gettext_lazy("A one-time link to set a new password was e-mailed to the person."),
    "rename": gettext_lazy("Printed name changed."),
}


@require_role(*MANAGERS)
def person(request, pk: int):
    user = get_object_or_404(_manageable_users(request), pk=pk)
    error, status = "", 200
    if request.method == "POST":
        step = PERSON_STEPS.get(request.POST.get("action", ""))
        if step is None:
            error, status = _("choose one of: ") + ", ".join(PERSON_STEPS), 422
        else:
            try:
                step(request, user, request.POST)
            except actions.AccountsError as exc:
                error, status = str(exc), 422
            else:
                messages.success(request, DONE[request.POST["action"]])
                return redirect("people:person", pk=user.pk)
    context = {
        "person": user,
        "memberships": user.memberships.filter(study=request.study)
        .select_related("site")
        .order_by("-active", "role"),
        "requests": user.role_requests.filter(study=request.study).select_related(
            "site", "requested_by", "decided_by"
        ),
        "roles": Role.choices,
        "unblinded": sorted(UNBLINDED_ROLES),
        "sites": Site.objects.filter(study=request.study),
        "error": error,
        "is_self": user.pk == request.user.pk,
    }
    return render(request, "accounts/person.html", context, status=status)


@require_role(*MANAGERS, *UNBLINDED_GRANTOR_ROLES)
def role_requests(request):
    rows = RoleRequest.objects.filter(study=request.study).select_related(
        "user", "site", "requested_by", "decided_by"
    )
    return render(request, "accounts/role_requests.html", {"rows": rows[:200]})


@require_role(*UNBLINDED_GRANTOR_ROLES)
def role_request(request, pk: int):
    req = get_object_or_404(
        RoleRequest.objects.filter(study=request.study).select_related(
            "user", "site", "requested_by"
        ),
        pk=pk,
    )
    error, status = "", 200
    if request.method == "POST":
        what = request.POST.get("action")
        if what not in ("approve", "reject"):
            error, status = _("choose approve or reject"), 422
        else:
            try:
                actions.do_decide_role_request(
                    req,
                    request.user,
                    approve=what == "approve",
                    password=request.POST.get("password", ""),
                    reason=request.POST.get("reason", ""),
                    request=request,
                )
            except actions.AccountsError as exc:
                error, status = str(exc), 422
            else:
                messages.success(request, _("Decision recorded."))
                return redirect("people:role-requests")
    context = {
        "req": req,
        "error": error,
        "can_decide": actions.can_decide_role_request(req, request.user),
    }
    return render(request, "accounts/role_request.html", context, status=status)


@require_role(*MANAGERS)
def sites(request):
    error, status = "", 200
    if request.method == "POST":
        post = request.POST
        try:
            actions.do_save_site(
                study=request.study.code,
                code=post.get("code", ""),
                name=post.get("name", ""),
                city=post.get("city", ""),
                active=post.get("active") == "on",
                acting_user=request.user,
                reason=post.get("reason", ""),
            )
        except actions.AccountsError as exc:
            error, status = str(exc), 422
        else:
            messages.success(request, _("Site saved."))
            return redirect("people:sites")
    return render(
        request,
        "accounts/sites.html",
        {"sites": Site.objects.filter(study=request.study), "error": error},
        status=status,
    )
