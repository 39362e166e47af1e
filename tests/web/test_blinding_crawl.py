"""Blinding-leak crawler.

Every blinded persona walks every reachable page, API endpoint and export: the links from
/staff/ and the other entry pages, plus every URL pattern of the site filled with real object
ids. Each response is searched for the arm codes, arm names and the product lots (a lot maps a
kit to an arm). The crawl runs twice: before anyone is randomized (state A) and after
randomization, preparation, dosing and an emergency code break (state B). Text that is the same
in both states is the protocol describing its arms (the study design is public); a needle that
appears in B more often than in A on any URL, or on a URL that only exists in B, is an
allocation leak. Blinded roles: zero leaks. The same crawl as the pharmacist finds leaks, so
the test can fail.

The list is made as a live study makes it (issue 9, finding 1): the system draws the seed,
which the test captures only to search for it. Besides arms and lots, nothing derived from the
list may reach a blinded role in state B, wherever it appears (no A/B difference): the seed,
the list's SHA-256 (or its 12-character prefix), the names of list-position fields, and the
kit codes and randomization numbers of slots nobody has been allocated (they would reveal the
list itself). The list's stratum keys are the protocol's design (the list's audit event names
them) but a participant's stratum is not shown to blinded roles: they join the A/B needles. The unblinded statistician's list page shows
the hash, so that search can fail too.

State B also holds an open and a closed DSMB report; PDFs are searched in their extracted text
as well as their bytes. The closed report (page and PDF) is the one place the DSMB persona
sees arms: it is the DSMB's closed session, and the test checks that the search finds them
there (and nowhere else); every other crawler gets a 404 for it.

Blinded crawlers: every blinded role, the administrator, and a superuser who also holds the
administrator role. The emergency unblinding is made by an extra investigator who is not
crawled: the code break is, by design, shown to its requester.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from trialdesk.accounts.models import Membership, Role, Site
from trialdesk.participants.models import Participant
from trialdesk.randomization import actions
from trialdesk.randomization.actions import lists
from trialdesk.randomization.models import Allocation, RandomizationList, Slot
from trialdesk.randomization.tests.helpers import ready, setup_list
from trialdesk.site.urls import urlconf_for

BLINDED = [
    "coord_a",
    "coord_b",
    "inv_a",
    "inv_b",
    "monitor",
    "dm",
    "stat",
    "dsmb",
    "admin",
    "root",
]
#: Names of list-position fields that must never be rendered for a blinded role.
POSITION_WORDS = ["slot_sequence", "list_sha256", "block_size"]
LOTS = {"EXO": "GMPLOT-EXO-7731", "PBO": "NACL-LOT-5520"}
INT_IDS = range(1, 8)
STUDY = "NCT07183384"  # each study has its own URLconf (trialdesk.site.urls)
SKIP = re.compile(r"\(\?P<rest>|logout|^/admin/|^/static/")
#: The crawl itself follows links into Django's (read-only) admin too, for the superuser.
CRAWL_SKIP = re.compile(r"logout|^/static/|^/admin/.*(delete|history|password)")
TOKEN = re.compile(r"[A-Za-z0-9]{32,}")
HREF = re.compile(r"""(?:href|action|hx-get)=["']([^"'#]+)["']""")


def _patterns(resolvers, prefix=""):
    for p in resolvers:
        if isinstance(p, URLResolver):
            yield from _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield "/" + prefix + str(p.pattern)


def _candidates(name: str, kind: str, ctx: dict) -> list[str]:
    if name == "subject_id":
        return ctx["subject_ids"]
    if kind == "int" or name.endswith("pk") or name in ("repeat",):
        return ["1"] if name == "repeat" else [str(i) for i in ctx.get("int_ids", INT_IDS)]
    if name == "form_code":
        return ctx.get("form_codes", ["screening", "dosing"])
    if name == "item":
        return ctx.get("items", ["sex", "consent_version"])
    if name == "code":  # the public portal's /studies/<code>/ pages
        return [STUDY]
    return ctx["subject_ids"][:1]


def pattern_urls(ctx, study: str = STUDY) -> list[str]:
    """Every URL pattern of `study`'s URLconf (its pages and the deployment's), filled in."""
    urls = []
    token = re.compile(r"<(?:(\w+):)?(\w+)>")
    for raw in _patterns(get_resolver(urlconf_for(study)).url_patterns):
        raw = raw.replace("^", "").replace("$", "")
        if SKIP.search(raw):
            continue
        slots = token.findall(raw)
        choices = [_candidates(name, kind, ctx) for kind, name in slots]
        for combo in itertools.product(*choices):
            url = raw
            for value in combo:
                url = token.sub(value, url, count=1)
            urls.append(url)
    return urls


def crawl(client: Client, ctx: dict, needles: list[str], study: str = STUDY) -> dict[str, Counter]:
    seen: dict[str, Counter] = {}
    queue = [
        "/staff/",
        f"/staff/{study}/enrolment/",
        f"/staff/{study}/randomization/",
        f"/staff/{study}/participants/",
        "/admin/",
    ]
    queue += pattern_urls(ctx, study)
    while queue:
        url = queue.pop()
        if url in seen or CRAWL_SKIP.search(url) or not url.startswith("/"):
            continue
        response = client.get(url)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        # Random per-request tokens (CSRF) can spell "PBO" by chance: drop long alphanumeric runs.
        body = TOKEN.sub("", raw.decode("latin-1"))
        if "pdf" in response.get("Content-Type", ""):
            body += pdf_text(raw)  # compressed streams: search the text a reader sees
        seen[url] = Counter({n: body.count(n) for n in needles if n in body})
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            queue.extend(h.split("?")[0] if "logout" in h else h for h in HREF.findall(body))
    return seen


def pdf_text(raw: bytes) -> str:
    from pypdf import PdfReader

    try:
        return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(raw)).pages)
    except Exception:  # not a parseable PDF (a test's stand-in minutes): the raw bytes count
        return ""


def leaks(before: dict[str, Counter], after: dict[str, Counter]) -> list[tuple[str, str, int]]:
    out = []
    for url, counts in after.items():
        base = before.get(url, Counter())
        out.extend((url, n, c - base[n]) for n, c in counts.items() if c > base[n])
    return out


@pytest.fixture
def study(personas, monkeypatch):
    seeds, draw = [], lists.new_seed

    def capture() -> int:  # the system's seed, kept by the test only to search for it
        seeds.append(draw())
        return seeds[-1]

    monkeypatch.setattr(lists, "new_seed", capture)  # where the list is drawn
    rlist = setup_list(personas)
    assert rlist.source == "generated" and len(seeds) == 1 and seeds[0].bit_length() > 64
    root = get_user_model().objects.create_superuser("root", "", "x" * 16)
    Membership.objects.create(user=root, role=Role.ADMIN, site=None, study_id="NCT07183384")
    personas = {**personas, "root": root}
    people = [
        ready(personas, "01", delivery_mode="CS_EMERGENCY"),
        ready(personas, "01", delivery_mode="VAGINAL_SPONT", severe=False),
        ready(personas, "02", delivery_mode="CS_ELECTIVE"),
        ready(personas, "02", delivery_mode="VAGINAL_ASSISTED", severe=False),
    ]
    inv_x = get_user_model().objects.create_user(
        "inv_x", password="x" * 16, printed_name="Dr. X Unblinder"
    )
    Membership.objects.create(user=inv_x, role=Role.INVESTIGATOR, site=Site.objects.get(code="02"))
    return {"people": people, "inv_x": inv_x, "seed": seeds[0], "personas": personas}


def randomize_everyone(personas, study):
    for p in study["people"]:
        coord = personas["coord_a" if p.site.code == "01" else "coord_b"]
        a = actions.do_randomize_participant(p, coord)
        if p.site.code == "01":
            t = timezone.now() - dt.timedelta(hours=3)
            Allocation.objects.filter(pk=a.pk).update(allocated_at=t - dt.timedelta(hours=1))
            prep = actions.do_record_preparation(
                a, personas["pharm_a"], lot=LOTS[a.arm], volume_ml=Decimal("100"), prepared_at=t
            )
            assert prep.lot == LOTS[a.arm]
            actions.do_record_dosing(
                p,
                coord,
                route="IV",
                volume_ml=Decimal("100"),
                started_at=t + dt.timedelta(hours=1),
                stopped_at=t + dt.timedelta(hours=2),
                administered_by=personas["inv_a"],
            )
    actions.do_emergency_unblind(
        study["people"][2], study["inv_x"], reason="severe reaction, treatment depends on the arm"
    )
    assert actions.do_verify_list(personas["ustat"]).ok  # its audit event is on the trail too


def list_secrets(seed: int) -> list[str]:
    """What must never reach a blinded role, however often it appears."""
    rlist = RandomizationList.objects.get(active=True)
    unused = Slot.objects.filter(rlist=rlist, used=False)
    return sorted(
        {
            str(seed),
            f"{seed:x}",
            rlist.sha256,
            rlist.sha256[:12],
            *POSITION_WORDS,
            *unused.values_list("kit_code", flat=True),
            *unused.values_list("randomization_number", flat=True),
        }
    )


@pytest.mark.slow
def test_blinded_roles_never_see_an_allocation_and_the_pharmacist_does(study):
    from trialdesk.studies.registry import get_protocol

    personas = study["personas"]
    protocol = get_protocol()
    needles = sorted(
        {
            *protocol.arms,
            *(a.name.en for a in protocol.arms.values()),
            *(a.name.id for a in protocol.arms.values()),
            *LOTS.values(),
        }
    )
    needles += sorted(set(Slot.objects.values_list("stratum", flat=True)))
    ctx = {"subject_ids": list(Participant.objects.values_list("subject_id", flat=True))}
    users = [*BLINDED, "pharm_a"]
    clients = {}
    for who in users:
        clients[who] = Client()
        clients[who].force_login(personas[who])
    # An anonymous visitor walks the public portal (and meets the login page everywhere else).
    clients["visitor"] = Client()
    users.append("visitor")
    started = time.perf_counter()
    before = {who: crawl(clients[who], ctx, needles) for who in users}
    randomize_everyone(personas, study)
    # DSMB reports of state B: the open one is seen by the blinded study roles, the closed one
    # (by arm) by the DSMB and the unblinded statistician only; every other role gets a 404.
    from trialdesk.dsmb.reports import do_generate_report

    open_report = do_generate_report(STUDY, personas["stat"], "open")
    closed_report = do_generate_report(STUDY, personas["ustat"], "closed")
    ctx["int_ids"] = sorted({*INT_IDS, open_report.pk, closed_report.pk})
    closed_urls = {
        f"/staff/{STUDY}/dsmb/reports/{closed_report.pk}/",
        f"/staff/{STUDY}/dsmb/reports/{closed_report.pk}/pdf/",
    }
    secrets = list_secrets(study["seed"])
    assert len(secrets) > 100  # unused kit codes and numbers of four strata
    after = {who: crawl(clients[who], ctx, needles + secrets) for who in users}

    arm_needles = set(needles)
    found = {
        who: [
            leak
            for leak in leaks(before[who], after[who])
            if leak[1] in arm_needles and not (who == "dsmb" and leak[0] in closed_urls)
        ]
        for who in BLINDED
    }
    assert found == dict.fromkeys(BLINDED, [])
    visitor = [
        leak for leak in leaks(before["visitor"], after["visitor"]) if leak[1] in arm_needles
    ]
    assert visitor == []
    assert not any(n in secrets for counts in after["visitor"].values() for n in counts)
    assert f"/studies/{STUDY}/self-check/" in after["visitor"]  # it walked the portal
    # the DSMB's closed session is by arm (the search finds it, in the page and in the PDF)
    dsmb_closed = {url for url, n, _ in leaks(before["dsmb"], after["dsmb"]) if n in arm_needles}
    assert dsmb_closed == closed_urls, dsmb_closed
    reached = {
        who: [url for url in closed_urls if after[who].get(url) is not None] for who in BLINDED
    }
    assert all(len(urls) == 2 for urls in reached.values()), reached  # crawled (a 404 for them)
    # Nothing derived from the list, in any page, API response or export, in any number.
    exposed = {
        who: sorted(
            {(url, n) for url, counts in after[who].items() for n in counts if n in secrets}
        )
        for who in BLINDED
    }
    assert exposed == dict.fromkeys(BLINDED, [])
    pages = sum(len(v) for v in after.values())
    print(
        f"crawled {pages} URL×persona pairs after randomization; "
        f"{time.perf_counter() - started:.0f} s for both states"
    )
    assert pages > 300, pages  # the crawl really walked the site
    assert len(after["root"]) > 50, len(after["root"])  # the superuser walked it too
    admin_pages = [url for url in after["root"] if url.startswith("/admin/accounts/")]
    assert len(admin_pages) >= 4, admin_pages  # ... including Django's (read-only) admin
    ustat = Client()
    ustat.force_login(personas["ustat"])  # the list's owner does see its hash: the search works
    owner = ustat.get("/staff/NCT07183384/randomization/list/").content.decode()
    assert RandomizationList.objects.get(active=True).sha256 in owner
    pharmacist = leaks(before["pharm_a"], after["pharm_a"])
    leaked_urls = {url for url, _, _ in pharmacist}
    assert "/staff/NCT07183384/randomization/pharmacy/" in leaked_urls
    assert any(n in LOTS.values() for _, n, _ in pharmacist)
