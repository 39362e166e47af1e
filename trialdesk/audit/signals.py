"""Login, logout and failed-login events. These are the only receivers: auth happens in Django's
views, so the event is written here, in its own transaction."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from trialdesk.audit.actions import record


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    with transaction.atomic():
        record("login", actor=user, object_type="user", object_id=user.pk)


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is None:
        return
    with transaction.atomic():
        record("logout", actor=user, object_type="user", object_id=user.pk)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    with transaction.atomic():
        record("login_failed", object_type="user", object_id=username)
