"""`trialdesk audit verify` names users, memberships and sites written behind the application
(finding 2, and the membership line of finding 4): a database writer cannot unblind herself
quietly either."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.db import connection

from trialdesk.accounts.models import Membership, Role, Site, User
from trialdesk.audit.reconcile import reconcile
from trialdesk.commands.audit import audit


def _verify() -> str:
    result = CliRunner().invoke(audit, ["verify"])
    return result.output


def _named(object_type: str, pk) -> list[str]:
    return [str(p) for p in reconcile() if p.object_type == object_type and p.object_id == str(pk)]


def test_personas_and_sites_reconcile_cleanly(personas):
    assert [p for p in reconcile() if p.object_type.startswith("accounts.")] == []


def test_membership_role_raised_by_direct_update_is_named(personas):
    m = personas["admin"].memberships.get()
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE accounts_membership SET role = %s, site_id = %s WHERE id = %s",
            [Role.PHARMACIST, Site.objects.get(code="01").pk, m.pk],
        )
    problems = _named("accounts.membership", m.pk)
    assert problems and "role: audited 'admin', found 'pharmacist'" in problems[0]
    output = _verify()
    assert f"accounts.membership:{m.pk}" in output and "pharmacist" in output


def test_membership_inserted_behind_the_application_is_named(personas):
    m = Membership.objects.create(
        user=personas["admin"], role=Role.PHARMACIST, site=Site.objects.get(code="01")
    )
    assert "no audit event" in _named("accounts.membership", m.pk)[0]
    assert f"accounts.membership:{m.pk}" in _verify()


@pytest.mark.parametrize("field", ["is_superuser", "is_staff"])
def test_user_made_superuser_or_staff_directly_is_named(personas, field):
    user = personas["admin"]
    User.objects.filter(pk=user.pk).update(**{field: True})
    problems = _named("accounts.user", user.pk)
    assert problems and f"{field}: audited False, found True" in problems[0]
    assert f"accounts.user:{user.pk}" in _verify()


def test_revoked_membership_reactivated_directly_is_named(personas):
    from trialdesk.accounts.actions import do_revoke_membership

    m = personas["pharm_a"].memberships.get()
    do_revoke_membership(m, acting_user=personas["admin"], reason="left the study")
    Membership.objects.filter(pk=m.pk).update(active=True)
    assert "active: audited False, found True" in _named("accounts.membership", m.pk)[0]


def test_user_inserted_and_site_renamed_behind_the_application_are_named(personas):
    user = User.objects.create(username="ghost")
    Site.objects.filter(code="02").update(name="Elsewhere")
    assert "no audit event" in _named("accounts.user", user.pk)[0]
    site = Site.objects.get(code="02")
    assert "Elsewhere" in _named("accounts.site", site.pk)[0]


def test_role_request_approved_behind_the_application_is_named(personas):
    from trialdesk.accounts.actions import do_request_role
    from trialdesk.accounts.models import RoleRequest

    req = do_request_role(
        personas["monitor"],
        role=Role.PHARMACIST,
        site=Site.objects.get(code="01"),
        acting_user=personas["admin"],
        reason="covering the pharmacy during leave",
    )
    RoleRequest.objects.filter(pk=req.pk).update(status=RoleRequest.Status.APPROVED)
    problems = _named("accounts.rolerequest", req.pk)
    assert problems and "status: audited 'pending', found 'approved'" in problems[0]
