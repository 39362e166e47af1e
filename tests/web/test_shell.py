"""The web shell: login, lockout, roles, site scoping of the staff home, public page."""

from __future__ import annotations

import pytest

from trialdesk.accounts.access import Access
from trialdesk.accounts.models import Site
from trialdesk.audit.chain import verify
from trialdesk.audit.models import AuditEvent
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse


def test_staff_home_requires_login(client, loaded_protocol):
    response = client.get(reverse("studies:home"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_login_with_password_lands_on_staff_home_and_is_audited(client, personas):
    response = client.post(
        reverse("accounts:login"), {"username": "coord_a", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("studies:home")
    assert AuditEvent.objects.filter(action="login", actor_username="coord_a").count() == 1
    assert verify().ok


def test_password_is_hashed_with_argon2(personas):
    assert personas["coord_a"].password.startswith("argon2$argon2id$")


def test_wrong_password_is_refused_and_audited(client, personas):
    response = client.post(reverse("accounts:login"), {"username": "coord_a", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert AuditEvent.objects.filter(action="login_failed", object_id="coord_a").exists()


def test_account_locks_after_repeated_failures(client, personas, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "inv_a", "password": "wrong"})
    # Even the right password is refused while locked.
    response = client.post(reverse("accounts:login"), {"username": "inv_a", "password": PASSWORD})
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_staff_home_shows_study_and_schedule_of_activities(login):
    from trialdesk.studies.registry import get_protocol

    protocol = get_protocol()
    page = login("coord_a").get(reverse("studies:home")).content.decode()
    assert protocol.study.id in page
    for visit in protocol.visits.values():
        assert visit.label.en in page
    for form in protocol.forms.values():
        assert form.label.en in page


def test_staff_home_lists_only_the_users_sites(login):
    page = login("coord_b").get(reverse("studies:home")).content.decode()
    assert "02 " in page
    assert "Hasan Sadikin" not in page.split("Your sites")[1].split("</dd>")[0]


@pytest.mark.parametrize(
    ("username", "unblinded"),
    [
        ("coord_a", False),
        ("inv_a", False),
        ("monitor", False),
        ("dm", False),
        ("stat", False),
        ("dsmb", False),
        ("admin", False),
        ("pharm_a", True),
        ("ustat", True),
        ("safety", True),
    ],
)
def test_blinding_follows_the_role(personas, username, unblinded):
    assert Access.for_user(personas[username]).is_unblinded is unblinded


def test_site_scoping_of_access(personas):
    coord_b = Access.for_user(personas["coord_b"])
    site_ids = coord_b.site_ids("coordinator")
    assert site_ids is not None and len(site_ids) == 1
    every_site = set(Site.objects.filter(study_id="NCT07183384").values_list("pk", flat=True))
    assert Access.for_user(personas["monitor"]).site_ids("monitor") == every_site  # study-wide


def test_public_page_is_open_and_names_the_study(client, loaded_protocol):
    response = client.get("/")
    assert response.status_code == 200
    assert b"NCT07183384" in response.content


def test_debug_is_off_by_default(settings):
    assert settings.DEBUG is False
