from __future__ import annotations

import base64

import pytest
from django.utils import timezone

from trialdesk.accounts.models import Site
from trialdesk.enrolment.actions import do_record_consent
from trialdesk.enrolment.testing import screened
from trialdesk.paths import DEFAULT_PROTOCOL
from trialdesk.randomization import actions
from trialdesk.randomization.models import Allocation, RandomizationList, Slot
from trialdesk.randomization.tests.helpers import TEST_SEED, ready


@pytest.fixture
def minimization_protocol(personas, tmp_path):
    from trialdesk.studies.actions import do_load_protocol

    text = DEFAULT_PROTOCOL.read_text(encoding="utf-8")
    old = "  method: permuted_block\n"
    assert old in text and "  block_sizes: [2, 4]\n" in text
    text = text.replace(old, "  method: minimization\n  minimization_probability: 0.8\n")
    text = text.replace("  block_sizes: [2, 4]\n", "")
    path = tmp_path / "minimization.yaml"
    path.write_text(text, encoding="utf-8")
    do_load_protocol(path, reason="test: minimization variant")


def test_minimization_allocates_dynamically_from_pre_drawn_uniforms(
    personas, minimization_protocol, settings
):
    # The reproducible-test mode: a typed seed fixes the draws, so the balance is known.
    settings.RANDOMIZATION_TEST_SEEDS = True
    rlist = actions.do_generate_list(personas["ustat"], seed=TEST_SEED, slots_per_stratum=30)
    assert rlist.method == "minimization" and set(rlist.slots.values_list("arm", flat=True)) == {""}
    people = [
        ready(personas, delivery_mode=m, severe=s)
        for m, s in [
            ("CS_EMERGENCY", True),
            ("CS_EMERGENCY", True),
            ("VAGINAL_SPONT", False),
            ("CS_ELECTIVE", False),
            ("VAGINAL_SPONT", True),
            ("CS_EMERGENCY", True),
        ]
    ]
    got = [actions.do_randomize_participant(p, personas["coord_a"]) for p in people]
    assert [a.slot.sequence for a in got] == [1, 2, 3, 4, 5, 6]
    arms = [a.arm for a in got]
    assert set(arms) <= {"EXO", "PBO"} and abs(arms.count("EXO") - arms.count("PBO")) <= 2
    assert got[0].factor_levels == {"delivery_mode": "CS", "pe_severe": "SEVERE"}
    assert all(a.slot.arm == a.arm for a in Allocation.objects.select_related("slot"))
    with pytest.raises(actions.RandomizationError, match="no list to import"):
        actions.do_import_list(personas["ustat"], csv_text="stratum,sequence\n")


def test_list_pages_belong_to_the_unblinded_statistician(personas, login):
    client = login("stat")
    for url in (
        "/staff/NCT07183384/randomization/list/",
        "/staff/NCT07183384/randomization/report/",
        "/staff/NCT07183384/randomization/pharmacy/",
    ):
        assert client.get(url).status_code == 403
    client = login("ustat")
    r = client.post(
        "/staff/NCT07183384/randomization/list/",
        {"action": "generate", "seed": str(TEST_SEED), "slots_per_stratum": "10"},
        follow=True,
    )
    assert "reproducible-test mode is off" in r.content.decode()
    assert not RandomizationList.objects.exists()
    r = client.post(
        "/staff/NCT07183384/randomization/list/",
        {"action": "generate", "slots_per_stratum": "10"},
        follow=True,
    )
    rlist = RandomizationList.objects.get(active=True)
    assert rlist.sha256 in r.content.decode() and rlist.source == "generated"
    r = client.post("/staff/NCT07183384/randomization/list/", {"action": "verify"}, follow=True)
    assert "The list is intact and sound" in r.content.decode()
    Slot.objects.filter(pk=rlist.slots.first().pk).update(kit_code="TAMPER")
    r = client.post("/staff/NCT07183384/randomization/list/", {"action": "verify"}, follow=True)
    assert "does NOT verify" in r.content.decode()
    r = client.get("/staff/NCT07183384/randomization/report/?simulations=2000")
    body = r.content.decode()
    assert r.status_code == 200 and "convergence-guess success" in body and "EXO" in body
    assert '<svg id="imbalance-chart"' in body and body.count("<rect ") >= 2
    # blocks of 2 and 4 (the protocol's): one code break, the next participant's arm 2/3
    assert 'id="guessability"' in body and "0.667 (2/3)" in body and "0.778 (7/9)" in body


def test_e_consent_pdf_download_checks_the_hash(personas, login):
    from trialdesk.enrolment.models import Consent
    from trialdesk.enrolment.tests.test_enrolment import _tiny_png

    p = screened(Site.objects.get(code="01"), personas["coord_a"])
    c = do_record_consent(
        p,
        personas["coord_a"],
        version="ICF-2.0",
        consented_at=timezone.now(),
        signature_data_url="data:image/png;base64," + base64.b64encode(_tiny_png()).decode(),
    )
    r = login("monitor").get(f"/staff/NCT07183384/enrolment/consents/{c.pk}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    Consent.objects.filter(pk=c.pk).update(pdf_sha256="0" * 64)  # simulate tampering
    assert (
        login("monitor").get(f"/staff/NCT07183384/enrolment/consents/{c.pk}/pdf/").status_code
        == 500
    )
    assert (
        login("coord_b").get(f"/staff/NCT07183384/enrolment/consents/{c.pk}/pdf/").status_code
        == 404
    )
