"""Two studies on one deployment: NCT07183384 (A) and TD-IRON-PP (B, protocols/iron-pp.yaml).

A user of one study gets 404 for every object of the other, by page, API and export; one
study's arms never reach the other's blinded roles (the blinding crawler runs in B too); lists,
counts and audit views stay within their study; the same person holds a different role in
each; study IDs repeat across studies; the command line refuses to guess the study.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.test import Client

from tests.web.test_blinding_crawl import TOKEN, crawl, leaks, pattern_urls
from trialdesk.accounts.actions import do_grant_membership
from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.models import FormInstance, Query
from trialdesk.enrolment.models import Consent
from trialdesk.participants.models import Participant
from trialdesk.randomization import actions
from trialdesk.randomization.models import Allocation, Slot
from trialdesk.testing.personas import PASSWORD, Persona, create_personas
from trialdesk.visits.models import Visit

A, B = "NCT07183384", "TD-IRON-PP"
B_PEOPLE = {
    p.username: p
    for p in [
        Persona("coord_iron", "coordinator", "01", "Rina Coordinator"),
        Persona("inv_iron", "investigator", "01", "Dr. Lia Investigator"),
        Persona("pharm_iron", "pharmacist", "01", "Tari Pharmacist"),
        Persona("dm_iron", "data_manager", None, "Eko Data-Manager"),
        Persona("stat_iron", "statistician", None, "Nia Statistician"),
        Persona("ustat_iron", "unblinded_statistician", None, "Yudi Unblinded"),
        Persona("dsmb_iron", "dsmb", None, "Wati DSMB"),
    ]
}
TOKEN_RE = re.compile(r"<(?:(\w+):)?(\w+)>")


@pytest.fixture
def two_studies(db):
    from trialdesk.enrolment.testing import ready_in_any_study
    from trialdesk.paths import PROTOCOLS_DIR
    from trialdesk.studies.actions import do_load_protocol
    from trialdesk.testing.participants import make_participant

    do_load_protocol(PROTOCOLS_DIR / "nct07183384.yaml", reason="test: study A")
    do_load_protocol(PROTOCOLS_DIR / "iron-pp.yaml", reason="test: study B")
    a = create_personas(A)
    b = create_personas(B, personas=B_PEOPLE, site_names={"01": "RSHS", "03": "RS Ujungberung"})
    # The same person in both studies: coordinator at A's site 01, blinded monitor in B.
    do_grant_membership(
        a["coord_a"],
        role="monitor",
        site=None,
        acting_user=None,
        reason="test: both studies",
        study=B,
    )
    people = {**a, **b}
    pa = make_participant(people, "01", anchor=dt.date.today() - dt.timedelta(days=7), study=A)
    from trialdesk.accounts.models import Site

    site_b = Site.objects.get(study_id=B, code="01")
    pb = [
        ready_in_any_study(site_b, b["coord_iron"], b["inv_iron"], PASSWORD, seed=s)
        for s in (11, 12, 13)
    ]
    actions.do_generate_list(b["ustat_iron"], slots_per_stratum=8, study=B)
    for p in pb:
        actions.do_randomize_participant(p, b["coord_iron"])
    first = Allocation.objects.get(participant=pb[0])
    t = dt.datetime.now(dt.UTC)
    actions.do_record_preparation(
        first, b["pharm_iron"], lot="IRON-LOT-42", volume_ml=Decimal("100"), prepared_at=t
    )
    fi_b = FormInstance.objects.filter(participant=pb[0]).first()
    from trialdesk.crfs.actions import do_open_query

    query_b = do_open_query(fi_b, b["dm_iron"], item="", text="Please confirm this form")
    return {"people": people, "a": pa, "b": pb, "fi_b": fi_b, "query_b": query_b}


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _b_objects(two) -> dict[str, list[str]]:
    pb = two["b"]
    return {
        "subject_ids": [p.subject_id for p in pb],
        "int_ids": sorted(
            {
                *Visit.objects.filter(participant__in=pb).values_list("pk", flat=True)[:6],
                two["fi_b"].pk,
                two["query_b"].pk,
                *Consent.objects.filter(participant__in=pb).values_list("pk", flat=True),
            }
        ),
        "form_codes": ["screening", "labs"],
        "items": ["hemoglobin"],
    }


def test_study_ids_are_unique_within_a_study_not_across(two_studies):
    a_ids = set(Participant.objects.filter(study_id=A).values_list("subject_id", flat=True))
    b_ids = set(Participant.objects.filter(study_id=B).values_list("subject_id", flat=True))
    assert "01-001" in a_ids and "01-001" in b_ids  # the same label, two people, two studies


def test_a_user_of_study_a_gets_404_for_every_page_and_api_of_study_b(two_studies):
    people = two_studies["people"]
    urls = [u for u in pattern_urls(_b_objects(two_studies), B) if f"/{B}/" in u]
    assert len(urls) > 200 and any(u.startswith(f"/api/v1/{B}/") for u in urls)
    for who in ("dm", "coord_b", "stat", "inv_a", "pharm_a", "admin"):
        client = _login(people[who])
        codes = {url: client.get(url).status_code for url in urls}
        assert set(codes.values()) == {404}, [(u, c) for u, c in codes.items() if c != 404][:5]


def test_study_b_objects_are_404_inside_study_a(two_studies):
    """coord_a works in both studies: inside A's URLs, B's objects do not exist for her."""
    people, two = two_studies["people"], two_studies
    coord, dm = _login(people["coord_a"]), _login(people["dm"])
    only_b = next(p.subject_id for p in two["b"] if p.subject_id != two["a"].subject_id)
    visit_b = Visit.objects.filter(participant=two["b"][0]).first()
    fi, q = two["fi_b"], two["query_b"]
    consent = Consent.objects.filter(participant__in=two["b"]).first()
    for client, url in [
        (coord, f"/staff/{A}/participants/{only_b}/"),
        (coord, f"/staff/{A}/enrolment/participants/{only_b}/"),
        (coord, f"/staff/{A}/randomization/participants/{only_b}/"),
        (coord, f"/staff/{A}/crfs/visit/{visit_b.pk}/{fi.form_code}/1/"),
        (coord, f"/staff/{A}/crfs/form/{fi.pk}/history/hemoglobin/"),
        (coord, f"/staff/{A}/enrolment/consents/{consent.pk}/pdf/"),
        (dm, f"/staff/{A}/audit/participant/{only_b}/"),
        (coord, f"/api/v1/{A}/crfs/participants/{only_b}/visits/SCR/forms/screening"),
        (coord, f"/api/v1/{A}/randomization/participants/{only_b}"),
        (coord, f"/api/v1/{A}/enrolment/participants/{only_b}"),
    ]:
        assert client.get(url).status_code == 404, url
    for client, url in (
        (coord, f"/staff/{A}/crfs/query/{q.pk}/"),
        (coord, f"/staff/{A}/visits/{visit_b.pk}/date/"),
        (dm, f"/staff/{A}/crfs/form/{fi.pk}/query/"),
        (_login(people["monitor"]), f"/staff/{A}/crfs/form/{fi.pk}/verify/"),
    ):
        assert client.post(url, {"step": "answer", "text": "x" * 20}).status_code == 404, url
    assert Query.objects.get(pk=q.pk).messages.count() == two["query_b"].messages.count()


def test_lists_counts_exports_and_audit_views_stay_in_their_study(two_studies):
    people, two = two_studies["people"], two_studies
    dm = _login(people["dm"])
    listing = dm.get(f"/staff/{A}/participants/").content.decode()
    assert listing.count("01-001") >= 1 and "01-002" not in listing  # B's 01-002 is not here
    rows = dm.get(f"/api/v1/{A}/randomization/allocations")
    assert rows.status_code in (200, 403) and "IRON" not in rows.content.decode()
    export = b"".join(dm.get(f"/staff/{A}/audit/export/?format=json").streaming_content)
    events = [json.loads(line) for line in export.splitlines()]
    assert events and {e["study_code"] for e in events} == {A}
    trail = dm.get(f"/staff/{A}/audit/participant/01-001/").content.decode()
    b_only = AuditEvent.objects.filter(study_code=B, participant="01-001").exclude(
        object_type__in=AuditEvent.objects.filter(study_code=A, participant="01-001").values(
            "object_type"
        )
    )
    assert b_only.exists() and all(e.object_type not in trail for e in b_only)
    home = dm.get(f"/staff/{A}/").content.decode()
    assert "IRON" not in home and "ferric" not in home.lower()
    # B's data manager sees B's three participants and nothing of A's.
    dm_b = _login(people["dm_iron"])
    listing_b = dm_b.get(f"/staff/{B}/participants/").content.decode()
    assert all(p.subject_id in listing_b for p in two["b"])
    assert dm_b.get(f"/staff/{A}/participants/").status_code == 404


def test_the_same_person_acts_in_each_study_in_that_studys_role(two_studies):
    people, two = two_studies["people"], two_studies
    coord = _login(people["coord_a"])
    home = coord.get("/staff/", follow=False)
    assert home.status_code == 200  # two studies: she chooses
    body = home.content.decode()
    assert A in body and B in body and "Monitor" in body and "Site coordinator" in body
    # In B she is a monitor: she reads the casebook but cannot enter data.
    pb = two["b"][0]
    assert coord.get(f"/staff/{B}/participants/{pb.subject_id}/").status_code == 200
    visit = Visit.objects.get(participant=pb, code="SCR")
    url = f"/staff/{B}/crfs/visit/{visit.pk}/vitals/1/"
    assert coord.post(url, {"revision": "0", "sbp": "120"}).status_code == 403
    assert "To sign" not in coord.get(f"/staff/{B}/").content.decode()


@pytest.mark.slow
def test_blinding_crawler_in_study_b_and_across_studies(two_studies):
    """B's blinded roles (and A's people) never see B's arms, lot or unused list positions."""
    from trialdesk.studies.registry import get_protocol

    people, two = two_studies["people"], two_studies
    protocol = get_protocol(B)
    arms = [
        *protocol.arms,
        *(a.name.en for a in protocol.arms.values()),
        *(a.name.id for a in protocol.arms.values()),
    ]
    unused = Slot.objects.filter(rlist__study_id=B, used=False)
    needles = sorted(
        {
            *arms,
            "IRON-LOT-42",
            *unused.values_list("kit_code", flat=True)[:40],
            *unused.values_list("randomization_number", flat=True)[:40],
        }
    )
    ctx = _b_objects(two)
    for who in ("coord_iron", "inv_iron", "dm_iron", "stat_iron", "dsmb_iron", "coord_a"):
        seen = crawl(_login(people[who]), ctx, needles, study=B)
        assert len(seen) > 40
        found = leaks({}, seen)
        if who == "dsmb_iron":  # the board's closed session (its own pages) is by arm
            found = [leak for leak in found if f"/staff/{B}/dsmb/" not in leak[0]]
        assert not found, (who, found[:5])
    # The pharmacist of B sees the arm of the kit she prepared (the crawl can see a leak).
    seen = crawl(_login(people["pharm_iron"]), ctx, needles, study=B)
    assert any(n in protocol.arms or n == "IRON-LOT-42" for _u, n, _c in leaks({}, seen))
    # Study A's blinded people, crawling A, never meet B's arms (A has no allocations at all).
    ctx_a = {"subject_ids": [two["a"].subject_id]}
    for who in ("dm", "monitor", "stat"):
        seen = crawl(_login(people[who]), ctx_a, needles, study=A)
        assert not leaks({}, seen), (who, leaks({}, seen)[:5])
    assert TOKEN  # the crawler drops CSRF-like tokens before counting (as in study A)


def test_the_command_line_refuses_to_guess_the_study(two_studies):
    from trialdesk.commands.users import users

    result = CliRunner().invoke(
        users, ["grant", "stat", "--role", "monitor", "--reason", "test: no study named"]
    )
    assert result.exit_code == 2
    assert A in result.output and B in result.output and "--study" in result.output
    result = CliRunner().invoke(
        users,
        ["grant", "stat", "--role", "monitor", "--study", B, "--reason", "test: study named"],
    )
    assert result.exit_code == 0, result.output
    assert people_roles("stat") == {(A, "statistician"), (B, "monitor")}


def people_roles(username: str) -> set[tuple[str, str]]:
    from trialdesk.accounts.models import Membership

    return set(
        Membership.objects.filter(user__username=username, active=True).values_list(
            "study_id", "role"
        )
    )


def test_study_wide_actions_on_the_pages_act_in_the_pages_study(two_studies):
    """Nothing on a page falls back to "the only study": with two loaded, list generation and
    verification, data quality and account pages act in the URL's study."""
    from trialdesk.randomization.models import RandomizationList

    people = two_studies["people"]
    ustat = _login(people["ustat"])  # unblinded statistician of A only
    url = f"/staff/{A}/randomization/list/"
    assert ustat.post(url, {"action": "generate", "slots_per_stratum": "4"}).status_code == 302
    assert RandomizationList.objects.filter(study_id=A, active=True).count() == 1
    assert RandomizationList.objects.filter(study_id=B, active=True).count() == 1  # untouched
    assert ustat.post(url, {"action": "verify"}).status_code == 302
    dm = _login(people["dm"])
    assert dm.post(f"/staff/{A}/crfs/data-quality/").status_code in (200, 302)
    admin = _login(people["admin"])
    page = admin.get(f"/staff/{A}/people/").content.decode()
    assert "coord_a" in page and "coord_iron" not in page  # B's people are B's admin's
    sites = admin.get(f"/staff/{A}/people/sites/").content.decode()
    assert "RS Ujungberung" not in sites


def test_an_administrator_adds_a_person_of_another_study_by_name_and_e_mail(two_studies):
    """A's administrator gives a role in A to B's coordinator, knowing her user name and
    e-mail; a wrong e-mail or an unknown name is refused in the same words, nothing written."""
    from trialdesk.accounts.models import Membership

    people = two_studies["people"]
    iron = people["coord_iron"]
    admin = _login(people["admin"])
    url = f"/staff/{A}/people/"
    form = {
        "action": "add_existing",
        "username": "coord_iron",
        "email": "someone-else@example.org",
        "role": "monitor",
        "site": "",
        "reason": "monitors study A as well",
    }
    wrong = admin.post(url, form)
    unknown = admin.post(url, {**form, "username": "nobody_here"})
    assert wrong.status_code == unknown.status_code == 422
    message = "no account has that user name and e-mail"
    assert message in wrong.content.decode() and message in unknown.content.decode()
    assert not Membership.objects.filter(user=iron, study_id=A).exists()
    response = admin.post(url, {**form, "email": iron.email.upper()})
    assert response.status_code == 302
    m = Membership.objects.get(user=iron, study_id=A)
    assert (m.role, m.site_id, m.active) == ("monitor", None, True)
    assert Membership.objects.filter(user=iron, study_id=B, role="coordinator").exists()
    page = admin.get(url).content.decode()
    assert "coord_iron" in page  # now one of A's people
