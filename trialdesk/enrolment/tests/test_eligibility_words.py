"""Issue 11 item 3: eligibility in clinical words, rules on request, investigator-only items.

Real URLs, real database, named personas: the coordinator (coord_a) and the investigator
(inv_a) of site 01.
"""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone

from trialdesk.accounts.models import Site
from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.models import FormInstance, ItemValue
from trialdesk.enrolment.actions import (
    do_assess_eligibility,
    do_confirm_eligibility,
)
from trialdesk.enrolment.testing import screened, screening_data
from trialdesk.testing.participants import visit_of, with_revision
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse


@pytest.fixture
def site_a(personas):
    return Site.objects.get(code="01")


def _reads(page: str, code: str) -> str:
    row = re.search(rf'<tr [^>]*id="criterion-{code}">(.*?)</tr>', page, re.S)
    assert row, f"criterion {code} is not on the page"
    return re.search(r'<td class="reads">([^<]*)</td>', row.group(1)).group(1)


def test_exclusion_criteria_read_absent_present_unknown_and_rules_are_hidden(
    personas, site_a, login
):
    p = screened(
        site_a,
        personas["coord_a"],
        **{
            "screening.chronic_htn_prepregnancy": "yes",  # E1: the excluding condition present
            "screening.major_cvd": None,  # E2: not recorded
        },
    )
    do_assess_eligibility(p, personas["coord_a"])
    page = login("coord_a").get(reverse("enrolment:participant", args=[p.subject_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert _reads(html, "E1") == "present"
    assert _reads(html, "E2") == "unknown"
    assert _reads(html, "E3") == "absent"  # no active infection: absent, not "met"
    assert _reads(html, "I1") == "met"
    assert 'id="eligibility-result">Not eligible' in html  # "present" excludes
    # Every rule expression sits inside a closed <details>: shown only on request.
    rules = re.findall(r"<code>(screening\.[^<]*|18 &lt;=[^<]*)</code>", html)
    assert rules, "the rules are no longer on the page at all"
    assert len(re.findall(r'<details class="rule"><summary>show rule</summary><code>', html)) == 11
    assert '<details class="rule" open' not in html
    outside = re.sub(r"<details.*?</details>", "", html, flags=re.S)
    assert "screening.chronic_htn_prepregnancy" not in outside


def _screening_url(p):
    return reverse("crfs:form", args=[visit_of(p, "SCR").pk, "screening", 1])


def _item(p, item="pe_diagnosis_confirmed"):
    fi = FormInstance.objects.get(visit=visit_of(p, "SCR"), form_code="screening")
    return ItemValue.objects.filter(form=fi, item=item).first()


def _screening_raw(**over):
    raw = screening_data(today=timezone.localdate())["screening"]
    raw.pop("pe_diagnosis_confirmed")  # the investigator's own item: each test sends it or not
    raw.update(over)
    return raw


def _unconfirmed(personas, site_a):
    """Screened by the coordinator; the investigator has not yet entered her own item."""
    return screened(site_a, personas["coord_a"], **{"screening.pe_diagnosis_confirmed": None})


def test_coordinator_cannot_set_the_investigator_only_item_on_the_page(personas, site_a, login):
    p = _unconfirmed(personas, site_a)
    assert _item(p) is None
    coord = login("coord_a")
    url = _screening_url(p)
    page = coord.get(url).content.decode()
    assert 'name="pe_diagnosis_confirmed"' not in page  # read-only for the coordinator
    assert "entered by the Investigator only" in page
    response = coord.post(url, with_revision(url, _screening_raw(pe_diagnosis_confirmed="yes")))
    html = response.content.decode()
    assert "pe_diagnosis_confirmed" in html and "only a user with the role Investigator" in html
    assert _item(p) is None
    # The investigator may.
    inv = login("inv_a")
    assert 'name="pe_diagnosis_confirmed"' in inv.get(url).content.decode()
    inv.post(url, with_revision(url, _screening_raw(pe_diagnosis_confirmed="yes")))
    assert _item(p).value is True
    # The coordinator's page leaves it out: her other corrections save, the item stays.
    coord = login("coord_a")  # one test client: log the coordinator in again
    coord.post(url, with_revision(url, _screening_raw(smoking_active="yes")))
    assert _item(p).value is True
    assert _item(p, "smoking_active").value is True
    # ... and changing it by a crafted POST is refused.
    coord.post(url, with_revision(url, _screening_raw(pe_diagnosis_confirmed="no")))
    assert _item(p).value is True


def _api(client, p, values):
    url = f"/api/v1/NCT07183384/crfs/participants/{p.subject_id}/visits/SCR/forms/screening"
    revision = client.get(url).json()["revision"]
    body = {"revision": revision, "values": values}
    return client.post(url, json.dumps(body), content_type="application/json")


def test_coordinator_cannot_set_the_investigator_only_item_through_the_api(personas, site_a, login):
    p = _unconfirmed(personas, site_a)
    response = _api(login("coord_a"), p, _screening_raw(pe_diagnosis_confirmed="yes"))
    assert response.status_code == 422, response.content
    message = response.json()["errors"]["pe_diagnosis_confirmed"]
    assert "pe_diagnosis_confirmed" in message and "Investigator" in message
    assert _item(p) is None
    response = _api(login("inv_a"), p, _screening_raw(pe_diagnosis_confirmed="yes"))
    assert response.status_code == 200, response.content
    assert _item(p).value is True
    # A coordinator's API save that omits the item keeps it; one that clears it is refused.
    assert _api(login("coord_a"), p, _screening_raw(smoking_active="yes")).status_code == 200
    assert _api(login("coord_a"), p, _screening_raw(pe_diagnosis_confirmed="")).status_code == 422
    assert _item(p).value is True


def test_the_signoff_item_is_the_eligibility_signature_and_cannot_be_typed(personas, site_a, login):
    p = screened(site_a, personas["coord_a"])
    for who in ("coord_a", "inv_a"):  # nobody types it, not even the investigator
        response = _api(login(who), p, _screening_raw(investigator_signoff="yes"))
        assert response.status_code == 422, response.content
        message = response.json()["errors"]["investigator_signoff"]
        assert "filled from the eligibility sign-off" in message
    assert _item(p, "investigator_signoff") is None
    # The coordinator's form cannot be complete while the sign-off is missing.
    a = do_assess_eligibility(p, personas["coord_a"])
    do_confirm_eligibility(a, personas["inv_a"], password=PASSWORD)
    row = _item(p, "investigator_signoff")
    assert row.value is True and row.updated_by == personas["inv_a"]
    event = AuditEvent.objects.filter(object_id=str(row.pk), object_type="crfs.itemvalue").last()
    assert event.actor_username == "inv_a"
    assert "from the eligibility sign-off" in event.reason
    # The page shows it read-only with a link to the enrolment record.
    page = login("coord_a").get(_screening_url(p)).content.decode()
    assert 'name="investigator_signoff"' not in page
    assert reverse("enrolment:participant", args=[p.subject_id]) in page
