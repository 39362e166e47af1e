"""Finding 2: a blinded administrator unblinded herself through Django's admin.

Each test performs one route of the attack (Django admin, the staff page, the action, a sock
puppet, a password reset) as the administrator and asserts it now fails, with nothing written
and every allowed change in the audit trail."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import make_password
from django.core import mail

from trialdesk.accounts import actions
from trialdesk.accounts.models import Membership, Role, RoleRequest, Site, User
from trialdesk.audit.models import AuditEvent
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse

REASON = "new pharmacist for site 01, per delegation log"


@pytest.fixture
def superadmin(personas):
    """The administrator `trialdesk init` makes: superuser and staff, holding the admin role."""
    user = actions.do_create_user(
        username="root_admin",
        email="",
        printed_name="Administrator",
        acting_user=None,
        reason="initial admin (test)",
        password_hash=make_password(PASSWORD),
        is_superuser=True,
    )
    actions.do_grant_membership(
        user, role=Role.ADMIN, site=None, acting_user=None, reason="initial admin"
    )
    return user


def _pharmacy(client):
    return client.get(reverse("randomization:pharmacy"))


def test_admin_cannot_add_herself_pharmacist_through_django_admin(client, superadmin):
    client.force_login(superadmin)
    site = Site.objects.get(code="01")
    before = (Membership.objects.count(), AuditEvent.objects.count())
    add = client.post(
        "/admin/accounts/membership/add/",
        {"user": superadmin.pk, "role": Role.PHARMACIST, "site": site.pk, "active": "on"},
    )
    assert add.status_code == 403
    # The route the reviewer took: the user's change page with its membership inline.
    change = client.post(
        f"/admin/accounts/user/{superadmin.pk}/change/",
        {
            "username": superadmin.username,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": superadmin.memberships.get().pk,
            "memberships-0-user": superadmin.pk,
            "memberships-0-role": Role.ADMIN,
            "memberships-0-active": "on",
            "memberships-1-user": superadmin.pk,
            "memberships-1-role": Role.PHARMACIST,
            "memberships-1-site": site.pk,
            "memberships-1-active": "on",
        },
    )
    assert change.status_code == 403
    # Viewing stays possible (read-only), with no way to save.
    view = client.get(f"/admin/accounts/user/{superadmin.pk}/change/")
    assert view.status_code == 200 and b'name="_save"' not in view.content
    assert (Membership.objects.count(), AuditEvent.objects.count()) == before
    assert not superadmin.memberships.filter(role=Role.PHARMACIST).exists()
    assert _pharmacy(client).status_code == 403


def test_django_admin_writes_nothing_to_users_or_sites(client, superadmin, personas):
    client.force_login(superadmin)
    pharm = personas["pharm_a"]
    hash_before = User.objects.get(pk=pharm.pk).password
    pw = client.post(
        f"/admin/accounts/user/{pharm.pk}/password/",
        {"password1": "Brand-New-Pass-123", "password2": "Brand-New-Pass-123"},
    )
    assert pw.status_code == 403
    assert User.objects.get(pk=pharm.pk).password == hash_before
    assert client.post("/admin/accounts/user/add/", {"username": "x"}).status_code == 403
    site = Site.objects.get(code="02")
    assert (
        client.post(f"/admin/accounts/site/{site.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert client.post("/admin/accounts/site/add/", {"code": "99", "name": "x"}).status_code == 403
    assert Site.objects.filter(pk=site.pk).exists() and not Site.objects.filter(code="99").exists()


@pytest.mark.parametrize("role,site", [(Role.PHARMACIST, "01"), (Role.MONITOR, None)])
def test_admin_cannot_grant_herself_any_role(login, personas, role, site):
    admin = personas["admin"]
    client = login("admin")
    before = AuditEvent.objects.count()
    response = client.post(
        reverse("people:person", args=[admin.pk]),
        {"action": "grant", "role": role, "site": site or "", "reason": REASON},
    )
    assert response.status_code == 422
    assert "their own account" in response.content.decode()
    assert not admin.memberships.filter(role=role).exists()
    assert not RoleRequest.objects.exists()
    assert AuditEvent.objects.count() == before
    with pytest.raises(actions.AccountsError, match="their own account"):
        actions.do_grant_membership(
            admin, role=Role.MONITOR, site=None, acting_user=admin, reason=REASON
        )


def test_sock_puppet_pharmacist_needs_a_second_persons_approval(login, personas, client):
    admin = personas["admin"]
    page = login("admin")
    created = page.post(
        reverse("people:people"),
        {
            "username": "puppet",
            "email": "admin-herself@example.org",
            "printed_name": "P. Uppet",
            "reason": "new pharmacist at site 01",
        },
    )
    assert created.status_code == 302
    puppet = User.objects.get(username="puppet")
    assert not puppet.has_usable_password()  # the admin never set or saw a password
    granted = page.post(
        reverse("people:person", args=[puppet.pk]),
        {"action": "grant", "role": Role.PHARMACIST, "site": "01", "reason": REASON},
    )
    assert granted.status_code == 302
    req = RoleRequest.objects.get(user=puppet)
    assert req.status == RoleRequest.Status.PENDING and req.requested_by == admin
    assert not Membership.objects.filter(user=puppet).exists()  # not effective yet
    client.force_login(puppet)
    assert _pharmacy(client).status_code == 404  # no role in the study: it does not exist for her

    # The admin cannot approve it: not a grantor (nor another admin), page or action.
    page = login("admin")
    assert page.get(reverse("people:role-request", args=[req.pk])).status_code == 403
    with pytest.raises(Exception, match="your role does not allow"):
        actions.do_decide_role_request(req, admin, approve=True, password=PASSWORD, reason="ok ok")
    # Nor can the grantee decide her own request.
    with pytest.raises(Exception, match="your role does not allow"):
        actions.do_decide_role_request(req, puppet, approve=True, password=PASSWORD, reason="ok")
    assert not Membership.objects.filter(user=puppet).exists()

    # A grantor who is neither requester nor grantee approves, re-entering her password.
    page = login("ustat")
    wrong = page.post(
        reverse("people:role-request", args=[req.pk]),
        {"action": "approve", "password": "nope", "reason": "checked the delegation log"},
    )
    assert wrong.status_code == 422 and not Membership.objects.filter(user=puppet).exists()
    ok = page.post(
        reverse("people:role-request", args=[req.pk]),
        {"action": "approve", "password": PASSWORD, "reason": "checked the delegation log"},
    )
    assert ok.status_code == 302
    m = Membership.objects.get(user=puppet)
    assert (m.role, m.site.code, m.active) == (Role.PHARMACIST, "01", True)
    events = AuditEvent.objects.filter(object_type="accounts.membership", object_id=str(m.pk))
    assert events.get().actor_username == "ustat"
    assert "requested by admin" in events.get().reason


def test_a_grantor_cannot_approve_a_request_for_herself_or_her_own_request(personas):
    ustat, admin = personas["ustat"], personas["admin"]
    site = Site.objects.get(code="01")
    req = actions.do_request_role(
        ustat, role=Role.PHARMACIST, site=site, acting_user=admin, reason=REASON
    )
    with pytest.raises(actions.AccountsError, match="their own role"):
        actions.do_decide_role_request(req, ustat, approve=True, password=PASSWORD, reason="mine")
    assert not Membership.objects.filter(user=ustat, role=Role.PHARMACIST).exists()


def test_unblinded_role_cannot_be_granted_directly_from_the_web(personas):
    with pytest.raises(actions.AccountsError, match="unblinded role"):
        actions.do_grant_membership(
            personas["coord_a"],
            role=Role.UNBLINDED_STATISTICIAN,
            site=None,
            acting_user=personas["admin"],
            reason=REASON,
        )
    assert not personas["coord_a"].memberships.filter(role=Role.UNBLINDED_STATISTICIAN).exists()


def test_admin_cannot_learn_or_set_another_users_password(
    login, personas, client, django_capture_on_commit_callbacks
):
    pharm = personas["pharm_a"]
    page = login("admin")
    # No action lets a web user set a password, make a superuser, or move the e-mail address
    # the reset link goes to.
    with pytest.raises(actions.AccountsError, match="operator"):
        actions.do_create_user(
            username="x1",
            email="x1@example.org",
            printed_name="",
            acting_user=personas["admin"],
            reason=REASON,
            password_hash=make_password("Known-to-the-admin-1"),
        )
    with pytest.raises(actions.AccountsError, match="operator"):
        actions.do_change_user(pharm, acting_user=personas["admin"], reason=REASON, email="a@b.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = page.post(
            reverse("people:person", args=[pharm.pk]),
            {
                "action": "reset",
                "reason": "forgot her password",
                "password": "Known-to-the-admin-1",
            },
        )
    assert response.status_code == 302
    followed = page.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [pharm.email]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in followed and token not in response.content.decode()
    assert User.objects.get(pk=pharm.pk).check_password(PASSWORD)  # nothing changed yet
    event = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(pharm.pk)).last()
    assert event.actor_username == "admin" and token not in str(event.new_value)

    # The pharmacist (not the admin) follows the link from her mailbox and sets a password.
    client.logout()
    form = client.get(link, follow=True)
    new = "Her-Own-Secret-4567"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert User.objects.get(pk=pharm.pk).check_password(new)
    set_event = AuditEvent.objects.filter(object_type="accounts.user", actor_username="pharm_a")
    assert set_event.filter(action="change").exists()
    # The link works once.
    assert b"not valid" in client.get(link, follow=True).content


def test_every_role_change_and_reset_is_audited(login, personas):
    coord = personas["coord_a"]
    page = login("admin")
    url = reverse("people:person", args=[coord.pk])
    steps = [
        {"action": "grant", "role": Role.MONITOR, "site": "", "reason": REASON},
        {"action": "reset", "reason": "locked herself out"},
        {"action": "rename", "printed_name": "Siti C.", "reason": "name on the delegation log"},
    ]
    for post in steps:
        before = AuditEvent.objects.count()
        assert page.post(url, post).status_code == 302, post
        assert AuditEvent.objects.count() == before + 1, post
    m = coord.memberships.get(role=Role.MONITOR)
    before = AuditEvent.objects.count()
    assert (
        page.post(url, {"action": "revoke", "membership": m.pk, "reason": REASON}).status_code
        == 302
    )
    assert AuditEvent.objects.count() == before + 1
    last = AuditEvent.objects.last()
    assert (last.object_type, last.new_value["active"], last.actor_username) == (
        "accounts.membership",
        False,
        "admin",
    )
    before = AuditEvent.objects.count()
    assert page.post(url, {"action": "deactivate", "reason": "left the study"}).status_code == 302
    assert AuditEvent.objects.count() == before + 1
    assert not User.objects.get(pk=coord.pk).is_active


def test_refusals_name_the_field_and_write_nothing(login, personas):
    page = login("admin")
    url = reverse("people:person", args=[personas["coord_b"].pk])
    before = AuditEvent.objects.count()
    cases = [
        ({"action": "grant", "role": "overlord", "site": "", "reason": REASON}, "overlord"),
        ({"action": "grant", "role": Role.COORDINATOR, "site": "", "reason": REASON}, "site"),
        ({"action": "grant", "role": Role.MONITOR, "site": "", "reason": ""}, "reason"),
        ({"action": "grant", "role": Role.MONITOR, "site": "77", "reason": REASON}, "77"),
        ({"action": "fly"}, "choose one of"),
    ]
    for post, needle in cases:
        response = page.post(url, post)
        assert response.status_code == 422 and needle in response.content.decode(), post
    assert AuditEvent.objects.count() == before


def test_blinded_staff_cannot_reach_the_people_pages(login, personas):
    for username in ("coord_a", "pharm_a", "monitor"):
        client = login(username)
        assert client.get(reverse("people:people")).status_code == 403
        assert (
            client.post(
                reverse("people:person", args=[personas["dsmb"].pk]),
                {"action": "grant", "role": Role.MONITOR, "reason": REASON},
            ).status_code
            == 403
        )
