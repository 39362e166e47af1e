"""Access read once per request, and never stale outside one."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from trialdesk.accounts.access import Access, get_access, require_at, role_at
from trialdesk.accounts.actions import do_grant_membership, do_revoke_membership
from trialdesk.accounts.models import Membership, Role, Site


def test_the_acting_role_is_the_site_role_there_else_the_study_wide_one(personas):
    coord = personas["coord_a"]
    site_a, site_b = Site.objects.get(code="01"), Site.objects.get(code="02")
    do_grant_membership(
        coord, role=Role.MONITOR, site=None, acting_user=personas["admin"], reason="cover"
    )
    access = Access.for_user(coord)
    assert access.acting_role(site_a.pk) == role_at(coord, site_a) == Role.COORDINATOR
    assert access.acting_role(site_b.pk) == role_at(coord, site_b) == Role.MONITOR
    assert access.acting_role(None) == role_at(coord, None) == Role.MONITOR
    assert Access.for_user(personas["dsmb"]).acting_role(site_a.pk) == Role.DSMB


def test_a_request_reuses_its_access_for_the_actions_checks(personas, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = personas["coord_a"]
    access = get_access(request)
    site = Site.objects.get(code="01")
    with django_assert_num_queries(0):
        assert get_access(request) is access and Access.of(request.user) is access
        assert require_at(request.user, (Role.COORDINATOR,), site, "enter data") == "coordinator"


def test_outside_a_request_a_revoked_role_is_refused_at_once(personas):
    coord, site = personas["coord_a"], Site.objects.get(code="01")
    assert require_at(coord, (Role.COORDINATOR,), site, "enter data") == "coordinator"
    membership = Membership.objects.get(user=coord, role=Role.COORDINATOR)
    do_revoke_membership(membership, acting_user=personas["admin"], reason="left the study")
    with pytest.raises(PermissionDenied, match="enter data at site 01"):
        require_at(coord, (Role.COORDINATOR,), site, "enter data")
