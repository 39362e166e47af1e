"""Password re-entry (21 CFR 11.200 signatures, unblinding decisions, role approvals).

One check for every re-entry point. With the request it goes through Django's `authenticate`,
so django-axes counts a wrong password exactly as a failed login (same limit, same cool-off,
same user+IP counter: login failures and re-entry failures add up) and refuses even the right
password while the account is locked. When the lockout triggers, the session ends (logout) and
`request.axes_locked_out` is set, so AxesMiddleware answers as it does for a locked-out login.

Without a request (the operator's CLI, an action called from code) there is no client to count
against: the password is checked, nothing more. Every web path passes its request.
"""

from __future__ import annotations

from django.contrib.auth import authenticate, logout
from django.utils.translation import gettext as _


class Refused(Exception):
    """The re-entered password was not accepted; `locked` when the account is (now) locked."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


def check_password(user, password: str, *, request=None) -> None:
    """Return if `password` is `user`'s; raise Refused otherwise (ending the session on lockout)."""
    password = password or ""
    if request is None:
        if not password or not user.check_password(password):
            raise Refused(_("the password is not correct"))
        return
    found = authenticate(request, username=user.get_username(), password=password)
    if getattr(request, "axes_locked_out", False):
        if getattr(request, "user", None) is not None:
            logout(request)
        raise Refused(
            _("the account is locked after repeated wrong passwords; you have been logged out"),
            locked=True,
        )
    if found is None or found.pk != user.pk:
        raise Refused(_("the password is not correct"))
