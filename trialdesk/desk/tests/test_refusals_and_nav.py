"""Issue 11 items 5: refusals inside the layout, and a navigation that matches the role.

Every persona, on a page its role does not open, gets a 403 inside the layout that says why
(our refusal's words), who grants roles and the way back; htmx gets a short fragment. The menu
of the study home holds exactly the pages the persona opens: every link answers 200 (after at
most one redirect), and every page of the menu's catalogue that is not shown answers 403.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from trialdesk.desk import nav
from trialdesk.studies.registry import get_protocol
from trialdesk.testing.urls import reverse

PERSONAS = (
    "coord_a",
    "inv_a",
    "monitor",
    "dm",
    "pharm_a",
    "stat",
    "ustat",
    "dsmb",
    "safety",
    "admin",
)

#: A page each persona's role does not open (the admin: a clinical page).
FORBIDDEN = {
    "coord_a": "crfs:data-quality",
    "inv_a": "people:people",
    "monitor": "randomization:pharmacy",
    "dm": "visits:to-sign",
    "pharm_a": "participants:list",
    "stat": "participants:list",
    "ustat": "crfs:queries",
    "dsmb": "enrolment:log",
    "safety": "participants:list",
    "admin": "participants:list",
}


def _arm_words() -> set[str]:
    words = set()
    for arm in get_protocol().arms.values():
        words.update({arm.code, arm.name.en, arm.name.id})
    return words


def _assert_in_layout(page: str) -> None:
    assert "<header" in page and "<nav>" in page, "the refusal is not inside the layout"
    assert "<main>" in page


def _assert_no_internals(page: str) -> None:
    for leak in ("Traceback", "PermissionDenied", "Refused(", "Http404", "matches the given query"):
        assert leak not in page


@pytest.mark.parametrize("username", PERSONAS)
def test_refusal_is_inside_the_layout_with_the_reason(login, username):
    client = login(username)
    response = client.get(reverse(FORBIDDEN[username]))
    assert response.status_code == 403
    page = response.content.decode()
    _assert_in_layout(page)
    assert "your role does not allow this page" in page  # the reason, in plain words
    assert "Your roles in this study:" in page  # what the person holds
    assert "Ade Admin" in page or username == "admin"  # who grants roles
    assert f'href="{reverse("studies:home")}"' in page  # the way back
    _assert_no_internals(page)
    for word in _arm_words():
        assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", page), word


@pytest.mark.parametrize("username", ["admin", "stat", "pharm_a"])
def test_admin_and_oversight_roles_are_refused_clinical_pages(login, username):
    client = login(username)
    for name in ("participants:list", "visits:worklist", "crfs:queries", "visits:to-sign"):
        response = client.get(reverse(name))
        assert response.status_code == 403, name
        _assert_in_layout(response.content.decode())


def test_htmx_refusal_is_a_short_fragment(login):
    response = login("stat").get(reverse("participants:list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    page = response.content.decode()
    assert "<html" not in page and "<nav>" not in page
    assert "your role does not allow this page" in page
    assert 'role="alert"' in page


def test_site_refusal_names_the_action_and_site(login, participant_b):
    # inv_a is an investigator at site 01: site 02's identity page is refused by our own check.
    response = login("inv_a").get(
        reverse("participants:identity", kwargs={"subject_id": participant_b.subject_id})
    )
    assert response.status_code in (403, 404)
    page = response.content.decode()
    _assert_in_layout(page)
    _assert_no_internals(page)


def test_not_found_is_inside_the_layout_and_says_nothing_internal(login):
    response = login("coord_a").get(reverse("participants:detail", kwargs={"subject_id": "99-999"}))
    assert response.status_code == 404
    page = response.content.decode()
    _assert_in_layout(page)
    assert "There is no such page, or it is not open to you." in page
    _assert_no_internals(page)


def test_unknown_study_is_a_plain_404_in_the_layout(login):
    response = login("coord_a").get("/staff/NCT00000000/")
    assert response.status_code == 404
    page = response.content.decode()
    _assert_in_layout(page)
    assert "NCT00000000" not in page.split("<main>")[1]


def test_djangos_own_permission_denied_shows_no_exception_text(personas):
    from trialdesk.site import errors

    request = RequestFactory().get("/staff/")
    request.user = personas["coord_a"]
    request.study = None
    response = errors.permission_denied(request, PermissionDenied("internal: table x, row 7"))
    page = response.content.decode()
    assert response.status_code == 403
    assert "internal" not in page and "row 7" not in page
    assert "your role does not allow this" in page


def test_a_reason_naming_an_arm_is_replaced(personas, loaded_protocol):
    from trialdesk.accounts.access import Refused
    from trialdesk.site import errors
    from trialdesk.studies.models import Study

    arm = next(iter(get_protocol().arms.values()))
    request = RequestFactory().get("/staff/")
    request.user = personas["coord_a"]
    request.study = Study.objects.get()
    from django.urls import set_urlconf

    from trialdesk.site.urls import urlconf_for

    set_urlconf(urlconf_for(request.study.code))
    try:
        response = errors.permission_denied(request, Refused(f"only the {arm.name.en} arm"))
    finally:
        set_urlconf(None)
    assert arm.name.en not in response.content.decode()


def test_bad_request_is_inside_the_layout(personas):
    from django.core.exceptions import SuspiciousOperation

    from trialdesk.site import errors

    request = RequestFactory().get("/staff/")
    request.user = personas["coord_a"]
    request.study = None
    response = errors.bad_request(request, SuspiciousOperation("Invalid HTTP_HOST header: x"))
    page = response.content.decode()
    assert response.status_code == 400
    assert "<header" in page and "HTTP_HOST" not in page


def test_the_handlers_are_installed_in_every_urlconf(loaded_protocol):
    from django.urls import get_resolver

    from trialdesk.site import errors
    from trialdesk.site.urls import urlconf_for

    for conf in (None, urlconf_for(loaded_protocol.study_id)):
        resolver = get_resolver(conf)
        assert resolver.resolve_error_handler(403) is errors.permission_denied
        assert resolver.resolve_error_handler(404) is errors.page_not_found
        assert resolver.resolve_error_handler(400) is errors.bad_request


# -- the navigation ---------------------------------------------------------------------------

NAV = re.compile(r"<nav>(.*?)</nav>", re.S)
HREF = re.compile(r'href="([^"]+)"')


def _get_following_once(client, url):
    response = client.get(url)
    if response.status_code in (301, 302):
        response = client.get(response["Location"])
    return response


@pytest.mark.parametrize("username", PERSONAS)
def test_every_nav_link_opens_for_the_persona(login, username):
    client = login(username)
    home = client.get(reverse("studies:home"))
    assert home.status_code == 200
    links = HREF.findall(NAV.search(home.content.decode()).group(1))
    for url in links:
        response = _get_following_once(client, url)
        assert response.status_code == 200, (username, url, response.status_code)


@pytest.mark.parametrize("username", PERSONAS)
def test_the_nav_shows_exactly_the_pages_the_role_opens(login, username):
    client = login(username)
    nav_html = NAV.search(client.get(reverse("studies:home")).content.decode()).group(1)
    shown = set(HREF.findall(nav_html))
    for name, _label in nav.LINKS:
        url = reverse(name)
        status = _get_following_once(client, url).status_code
        if url in shown:
            assert status == 200, (username, name, status)
        else:
            assert status == 403, (username, name, status)


EXPECTED_NAV = {
    "coord_a": {
        "participants:list",
        "visits:worklist",
        "crfs:queries",
        "enrolment:log",
        "leads:list",
        "randomization:overview",
        "visits:deviations",
        "safety:dashboard",
        "dsmb:rules",
    },
    "inv_a": {
        "participants:list",
        "visits:worklist",
        "crfs:queries",
        "enrolment:log",
        "leads:list",
        "visits:to-sign",
        "randomization:overview",
        "visits:deviations",
        "safety:dashboard",
        "dsmb:rules",
        "dsmb:reports",
    },
    "monitor": {
        "analyses:home",
        "participants:list",
        "visits:worklist",
        "crfs:queries",
        "enrolment:log",
        "randomization:overview",
        "visits:deviations",
        "audit:trail",
        "safety:dashboard",
        "dsmb:rules",
        "dsmb:reports",
    },
    "dm": {
        "analyses:home",
        "participants:list",
        "visits:worklist",
        "crfs:queries",
        "enrolment:log",
        "randomization:overview",
        "crfs:data-quality",
        "visits:deviations",
        "audit:trail",
        "safety:dashboard",
        "dsmb:rules",
        "dsmb:reports",
    },
    "pharm_a": {"enrolment:log", "randomization:overview", "randomization:pharmacy", "dsmb:rules"},
    "stat": {"analyses:home", "dsmb:rules", "dsmb:reports"},
    "ustat": {
        "analyses:home",
        "randomization:overview",
        "people:role-requests",
        "dsmb:rules",
        "dsmb:reports",
    },
    "dsmb": {"safety:dashboard", "dsmb:rules", "dsmb:reports"},
    "safety": {"safety:dashboard", "dsmb:rules", "dsmb:reports"},
    "admin": {
        "analyses:home",
        "people:people",
        "people:sites",
        "people:role-requests",
        "dsmb:rules",
    },
}


@pytest.mark.parametrize("username", PERSONAS)
def test_nav_links_by_role(login, username):
    client = login(username)
    nav_html = NAV.search(client.get(reverse("studies:home")).content.decode()).group(1)
    shown = set(HREF.findall(nav_html))
    assert shown == {reverse(name) for name in EXPECTED_NAV[username]}


@pytest.mark.parametrize("username", ["stat", "dsmb", "ustat"])
def test_oversight_roles_see_progress_counts_that_name_no_arm(login, username):
    page = login(username).get(reverse("studies:home")).content.decode()
    assert 'id="study-progress"' in page
    assert "Schedule of activities" in page
    main = page.split("<main>")[1]
    if username != "ustat":
        for word in _arm_words():
            assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", main), word


def test_admin_home_offers_people_sites_and_role_requests(login):
    page = login("admin").get(reverse("studies:home")).content.decode()
    main = page.split("<main>")[1]
    assert 'id="study-administration"' in main
    for name in ("people:people", "people:sites", "people:role-requests"):
        assert f'href="{reverse(name)}"' in main
    assert 'id="capture-counts"' not in main and 'id="study-progress"' not in main
