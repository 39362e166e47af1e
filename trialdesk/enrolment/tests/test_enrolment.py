from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from trialdesk.accounts.models import Site
from trialdesk.enrolment import services
from trialdesk.enrolment.actions import (
    EnrolmentError,
    do_assess_eligibility,
    do_close_screening,
    do_confirm_eligibility,
    do_record_consent,
    do_withdraw_consent,
)
from trialdesk.enrolment.models import ScreeningEntry
from trialdesk.enrolment.testing import screened, screening_data
from trialdesk.testing.personas import PASSWORD


@pytest.fixture
def site_a(personas):
    return Site.objects.get(code="01")


def test_an_eligible_participant_meets_every_criterion_and_can_be_signed_off(personas, site_a):
    p = screened(site_a, personas["coord_a"])
    a = do_assess_eligibility(p, personas["coord_a"])
    assert a.result == "eligible", [(c["code"], c["passes"]) for c in a.criteria]
    assert {c["code"]: c["passes"] for c in a.criteria} == dict.fromkeys(
        ["I1", "I2", "I3", "I4", "I5", "I6", "E1", "E2", "E3", "E4", "E5"], "met"
    )
    i5 = next(c for c in a.criteria if c["code"] == "I5")
    assert any(
        e["name"] == "screening.postpartum_day" and e["value"] == "8" for e in i5["evidence"]
    )
    assert any(e["name"] == "demog.delivery_date" for e in i5["evidence"])  # derived input
    sig = do_confirm_eligibility(a, personas["inv_a"], password=PASSWORD)
    assert sig.printed_name == "Dr. Ayu Investigator" and "meets every inclusion" in sig.meaning


def test_wrong_password_or_wrong_role_does_not_sign(personas, site_a):
    p = screened(site_a, personas["coord_a"])
    a = do_assess_eligibility(p, personas["coord_a"])
    with pytest.raises(EnrolmentError, match="password is not correct"):
        do_confirm_eligibility(a, personas["inv_a"], password="nope")
    with pytest.raises(PermissionDenied):
        do_confirm_eligibility(a, personas["coord_a"], password=PASSWORD)
    with pytest.raises(PermissionDenied):
        do_confirm_eligibility(a, personas["inv_b"], password=PASSWORD)
    assert not hasattr(a, "signature")


@pytest.mark.parametrize(
    ("override", "code", "expected"),
    [
        ({"screening.sex": "M"}, "I1", "not met"),
        ({"screening.date_of_birth": "2012-01-01"}, "I2", "not met"),
        ({"screening.date_of_birth": None}, "I2", "unknown"),
        ({"screening.pe_diagnosis_confirmed": "no"}, "I4", "not met"),
        ({"demog.delivery_date": None}, "I5", "unknown"),
        ({"screening.able_to_consent": "no"}, "I6", "not met"),
        ({"consent.participant_signed": None}, "I6", "unknown"),
        ({"screening.chronic_htn_prepregnancy": "yes"}, "E1", "not met"),
        ({"screening.major_cvd": "yes", "screening.major_cvd_specify": "MI"}, "E2", "not met"),
        ({"screening.active_infection": "yes"}, "E3", "not met"),
        ({"screening.active_infection": None}, "E3", "unknown"),
        ({"screening.endothelial_injury_history": "yes"}, "E4", "not met"),
        ({"screening.vaping_active": "yes"}, "E5", "not met"),
        ({"screening.vaping_active": None}, "E5", "unknown"),
    ],
)
def test_each_criterion_not_met_or_unknown_blocks_sign_off(
    personas, site_a, override, code, expected
):
    data = screening_data(today=timezone.localdate(), **override)
    p = screened(site_a, personas["coord_a"], data=data)
    a = do_assess_eligibility(p, personas["coord_a"])
    assert {c["code"]: c["passes"] for c in a.criteria}[code] == expected
    assert a.result == ("not_eligible" if expected == "not met" else "unknown")
    with pytest.raises(EnrolmentError, match="only an assessment in which every criterion is met"):
        do_confirm_eligibility(a, personas["inv_a"], password=PASSWORD)


def test_postpartum_day_15_fails_i5(personas, site_a):
    today = timezone.localdate()
    data = screening_data(
        today=today,
        **{
            "demog.delivery_date": (today - dt.timedelta(days=15)).isoformat(),
            "demog.pe_diagnosis_date": (today - dt.timedelta(days=20)).isoformat(),
        },
    )
    p = screened(site_a, personas["coord_a"], data=data)
    a = do_assess_eligibility(p, personas["coord_a"])
    assert {c["code"]: c["passes"] for c in a.criteria}["I5"] == "not met"


def test_consent_version_must_be_valid_on_the_consent_date(personas, site_a):
    p = screened(site_a, personas["coord_a"])
    now = timezone.now()
    with pytest.raises(
        EnrolmentError, match=r"ICF-1.0 is valid 2024-06-15 to 2025-09-18.*ICF-2.0 was valid"
    ):
        do_record_consent(p, personas["coord_a"], version="ICF-1.0", consented_at=now)
    with pytest.raises(EnrolmentError, match="not in the protocol"):
        do_record_consent(p, personas["coord_a"], version="ICF-9", consented_at=now)
    with pytest.raises(EnrolmentError, match="in the future"):
        do_record_consent(
            p, personas["coord_a"], version="ICF-2.0", consented_at=now + dt.timedelta(days=1)
        )
    c = do_record_consent(p, personas["coord_a"], version="ICF-2.0", consented_at=now)
    assert c.method == "paper" and services.require_consent(p, "data") == c


def test_withdrawal_scope_is_enforced(personas, site_a):
    p = screened(site_a, personas["coord_a"])
    t0 = timezone.now() - dt.timedelta(hours=2)
    do_record_consent(p, personas["coord_a"], version="ICF-2.0", consented_at=t0)
    do_withdraw_consent(
        p, personas["coord_a"], scope="no_further_visits", withdrawn_at=t0 + dt.timedelta(hours=1)
    )
    services.require_consent(p, "data")  # data from records still allowed
    services.require_consent(p, "sample_use")
    for activity in ("visit", "randomize", "dose"):
        with pytest.raises(services.ConsentError, match="not allowed"):
            services.require_consent(p, activity)
    with pytest.raises(EnrolmentError, match="only widen the scope"):
        do_withdraw_consent(
            p, personas["coord_a"], scope="no_further_visits", withdrawn_at=timezone.now()
        )
    do_withdraw_consent(
        p, personas["coord_a"], scope="destroy_samples", withdrawn_at=timezone.now()
    )
    for activity in ("data", "sample_use"):
        with pytest.raises(services.ConsentError):
            services.require_consent(p, activity)
    p.refresh_from_db()
    assert p.status == "screen_failed"
    assert p.screening.outcome == ScreeningEntry.Outcome.DECLINED
    assert [w.participant for w in services.samples_to_destroy()] == [p]


def test_screening_log_records_the_reason_for_non_enrolment(personas, site_a):
    data = screening_data(today=timezone.localdate(), **{"screening.active_infection": "yes"})
    p = screened(site_a, personas["coord_a"], data=data)
    with pytest.raises(EnrolmentError, match="assess first"):
        do_close_screening(p, personas["coord_a"], outcome="ineligible")
    do_assess_eligibility(p, personas["coord_a"])
    entry = do_close_screening(p, personas["coord_a"], outcome="ineligible")
    assert entry.failed_criteria == ["E3"]
    p.refresh_from_db()
    assert p.status == "screen_failed"


def test_e_consent_pdf_is_stored_with_its_hash(personas, site_a):
    import base64
    import hashlib
    import io

    from reportlab.graphics import renderPM  # noqa: F401  (reportlab present)

    png = _tiny_png()
    p = screened(site_a, personas["coord_a"])
    c = do_record_consent(
        p,
        personas["coord_a"],
        version="ICF-2.0",
        consented_at=timezone.now(),
        witness_name="Ibu Rina",
        signature_data_url="data:image/png;base64," + base64.b64encode(png).decode(),
    )
    assert c.method == "electronic" and bytes(c.pdf).startswith(b"%PDF")
    assert hashlib.sha256(bytes(c.pdf)).hexdigest() == c.pdf_sha256
    with pytest.raises(RuntimeError, match="change refused"):
        c.save()
    with pytest.raises(EnrolmentError, match="PNG data URL"):
        do_record_consent(
            p,
            personas["coord_a"],
            version="ICF-2.0",
            consented_at=timezone.now(),
            signature_data_url="data:text/html,<script>",
        )
    del io


def _tiny_png() -> bytes:
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_consort_counts_come_from_the_screening_log(personas, site_a):
    bad = screening_data(
        today=timezone.localdate(),
        **{"screening.major_cvd": "yes", "screening.major_cvd_specify": "MI"},
    )
    p1 = screened(site_a, personas["coord_a"], data=bad)
    do_assess_eligibility(p1, personas["coord_a"])
    do_close_screening(p1, personas["coord_a"], outcome="ineligible")
    p2 = screened(site_a, personas["coord_a"])
    do_close_screening(p2, personas["coord_a"], outcome="declined")
    screened(site_a, personas["coord_a"])
    counts = services.consort_counts()
    assert counts == {
        "screened": 3,
        "in_screening": 1,
        "randomized": 0,
        "not_enrolled": {"ineligible": 1, "declined": 1},
        "failed_criteria": {"E2": 1},
    }
    assert "by_arm" not in counts


def test_attested_preeclampsia_shows_the_acog_cross_check_as_evidence(personas, site_a):
    weak = screening_data(
        today=timezone.localdate(),
        severe=False,
        **{"demog.highest_sbp": "132", "demog.highest_dbp": "84"},
    )
    p = screened(site_a, personas["coord_a"], data=weak)
    a = do_assess_eligibility(p, personas["coord_a"])
    i4 = next(c for c in a.criteria if c["code"] == "I4")
    assert i4["passes"] == "met"  # the investigator's attestation decides (notes §2.4) …
    check = next(k for k in i4["cross_checks"] if k["check"] == "demog.diagnosis_supported")
    assert check["state"] == "fires" and check["severity"] == "query"  # … the data query it
    shown = {e["name"]: e["value"] for e in check["evidence"]}
    assert shown["demog.pe_confirmed_acog"] == "no" and shown["demog.highest_sbp"] == "132"


def test_a_change_to_eligibility_data_after_sign_off_needs_a_new_signature(personas, site_a):
    from trialdesk.crfs.actions import do_save_form
    from trialdesk.enrolment.testing import ready_to_randomize

    p = ready_to_randomize(site_a, personas["coord_a"], personas["inv_a"], PASSWORD)
    assert services.readiness(p) == []
    visit = p.visits.get(code="SCR")
    data = screening_data(today=timezone.localdate())
    do_save_form(
        visit,
        "demog",
        personas["coord_a"],
        raw={**data["demog"], "ethnicity": "SUNDA"},
        reason="unrelated to eligibility",
    )
    assert services.readiness(p) == []
    do_save_form(
        visit,
        "screening",
        personas["coord_a"],
        raw={**data["screening"], "active_infection": "yes"},
        reason="fever found",
    )
    assert services.readiness(p) == [
        "data changed after eligibility was confirmed: assess and sign again"
    ]


def test_json_api_assesses_and_lists_within_the_site_scope(personas, site_a, login):
    p = screened(site_a, personas["coord_a"])
    client = login("coord_a")
    r = client.post(f"/api/v1/NCT07183384/enrolment/participants/{p.subject_id}/eligibility")
    assert r.status_code == 201 and r.json()["result"] == "eligible"
    assert "no recorded informed consent" in " ".join(r.json()["ready_to_randomize"])
    assert (
        client.get("/api/v1/NCT07183384/enrolment/screening-log").json()[0]["subject_id"]
        == p.subject_id
    )
    client = login("coord_b")
    assert (
        client.get(
            f"/api/v1/NCT07183384/enrolment/participants/{p.subject_id}/eligibility"
        ).status_code
        == 404
    )
    assert client.get("/api/v1/NCT07183384/enrolment/screening-log").json() == []
    client = login("monitor")
    assert (
        client.post(
            f"/api/v1/NCT07183384/enrolment/participants/{p.subject_id}/eligibility"
        ).status_code
        == 403
    )


def test_screening_date_in_arabic_indic_digits_is_refused(login):
    client = login("coord_a")
    site = Site.objects.get(code="01")
    response = client.post(
        "/staff/NCT07183384/enrolment/",
        {"site": str(site.pk), "screened_on": "٢٠٢٦-٠١-٠١"},
        follow=True,
    )
    assert "a screening date (YYYY-MM-DD)" in response.content.decode()
    assert not ScreeningEntry.objects.exists()
