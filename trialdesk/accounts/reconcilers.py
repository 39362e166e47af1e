"""`audit verify` for accounts: users, memberships and sites must match their last audited state.

A role raised by a direct UPDATE, a membership inserted behind the application, a user made
superuser or staff in the database, a site renamed: each is named (trialdesk/audit/reconcile.py).
Registered from AccountsConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable

from trialdesk.audit.reconcile import Reconciler, State, register

USER_KEYS = ("username", "email", "is_active", "is_staff", "is_superuser")
MEMBERSHIP_KEYS = ("user_id", "role", "site_id", "active")
SITE_KEYS = ("code", "name", "city", "active")
ROLE_REQUEST_KEYS = ("role", "status")


def _present(*keys: str) -> Callable:
    """Fold the keys an event carries (older events carry fewer: those are not invented)."""

    def apply(state: State, event) -> State:
        new = event.new_value or {}
        return {**state, **{k: new[k] for k in keys if k in new}}

    return apply


def _rows(model_path: str, keys: tuple[str, ...]) -> Callable[[], dict[str, State]]:
    def load() -> dict[str, State]:
        from django.apps import apps

        model = apps.get_model(model_path)
        rows = model.objects.values_list("pk", *keys).iterator()
        return {str(row[0]): dict(zip(keys, row[1:], strict=True)) for row in rows}

    return load


def register_all() -> None:
    register(
        "accounts.user",
        Reconciler(
            _rows("accounts.User", USER_KEYS), _present(*USER_KEYS), ("create", "change", "status")
        ),
    )
    register(
        "accounts.membership",
        Reconciler(
            _rows("accounts.Membership", MEMBERSHIP_KEYS),
            _present(*MEMBERSHIP_KEYS),
            ("create", "status"),
        ),
    )
    register(
        "accounts.site",
        Reconciler(_rows("accounts.Site", SITE_KEYS), _present(*SITE_KEYS), ("create", "change")),
    )
    register(
        "accounts.rolerequest",
        Reconciler(
            _rows("accounts.RoleRequest", ROLE_REQUEST_KEYS),
            _present(*ROLE_REQUEST_KEYS),
            ("create", "status"),
        ),
    )
