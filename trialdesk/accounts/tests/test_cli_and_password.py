"""The operator's `trialdesk users ...` and `createadmin` call the same audited actions (as the
"system" actor); a person changes her own password only by re-entering the current one, and
guessing it there counts toward the login lockout."""

from __future__ import annotations

from click.testing import CliRunner

from trialdesk.accounts.models import Membership, User
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.reconcile import reconcile
from trialdesk.commands.users import users
from trialdesk.commands.web import createadmin
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse


def _run(command, *args):
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.output


def test_operator_bootstraps_a_grantor_through_the_cli(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        code, out = _run(
            users, "create", "ustat2", "--email", "u2@example.org", "--reason", "second grantor"
        )
    assert code == 0, out
    user = User.objects.get(username="ustat2")
    assert not user.has_usable_password() and mailoutbox[-1].to == ["u2@example.org"]
    code, out = _run(
        users, "grant", "ustat2", "--role", "unblinded_statistician", "--reason", "bootstrap"
    )
    assert code == 0, out
    m = Membership.objects.get(user=user)
    event = AuditEvent.objects.filter(object_type="accounts.membership", object_id=str(m.pk)).get()
    assert (event.role, event.actor_username) == ("system", "")
    code, out = _run(users, "grant", "ustat2", "--role", "coordinator", "--reason", "no site")
    assert code == 1 and "choose the site" in out
    code, out = _run(users, "list")
    assert "ustat2\tu2@example.org\tNCT07183384:unblinded_statistician" in out
    code, out = _run(
        users, "revoke", "ustat2", "--role", "unblinded_statistician", "--reason", "left the study"
    )
    assert code == 0, out
    assert not Membership.objects.get(user=user).active
    assert [p for p in reconcile() if p.object_type.startswith("accounts.")] == []


def test_createadmin_is_audited_as_the_system(personas):
    code, out = _run(createadmin, "--username", "ops")
    assert code == 0 and "password" in out
    ops = User.objects.get(username="ops")
    assert ops.is_superuser and ops.memberships.get().role == "admin"
    code, out = _run(createadmin, "--username", "ops", "--reset")
    assert code == 0
    reset = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(ops.pk)).last()
    assert reset.role == "system" and reset.new_value == {"password": "reset by the operator"}
    assert [p for p in reconcile() if p.object_type.startswith("accounts.")] == []


def test_a_person_changes_her_password_by_reentering_it(client, personas, settings):
    client.post(reverse("accounts:login"), {"username": "monitor", "password": PASSWORD})
    url = reverse("accounts:password")
    new = "Monitor-Fresh-Secret-2027"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = client.post(
            url, {"old_password": "guess", "new_password1": new, "new_password2": new}
        )
        assert wrong.status_code == 422 and "not changed" in wrong.content.decode()
    ok = client.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert ok.status_code == 302 and "_auth_user_id" in client.session  # still logged in
    assert User.objects.get(username="monitor").check_password(new)
    event = AuditEvent.objects.filter(object_type="accounts.user", actor_username="monitor").last()
    assert event.new_value == {"password": "set by the user (changed by the user)"}
    # One more wrong re-entry locks the account (the right one did not reset the counter).
    locked = client.post(url, {"old_password": "x", "new_password1": new, "new_password2": new})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
