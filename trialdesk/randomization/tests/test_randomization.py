from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from trialdesk.audit.models import AuditEvent
from trialdesk.enrolment.actions import do_withdraw_consent
from trialdesk.enrolment.services import NotReady
from trialdesk.randomization import actions
from trialdesk.randomization.models import Allocation, Slot
from trialdesk.randomization.tests.helpers import ready, setup_list

API = "/api/v1/NCT07183384/randomization"


def test_only_the_unblinded_statistician_generates_and_the_list_reverifies(personas):
    with pytest.raises(PermissionDenied):
        actions.do_generate_list(personas["stat"], slots_per_stratum=4)
    rlist = setup_list(personas)
    assert set(rlist.slots.values_list("stratum", flat=True)) == {
        "delivery_mode=CS|pe_severe=SEVERE",
        "delivery_mode=CS|pe_severe=NOT_SEVERE",
        "delivery_mode=VAGINAL|pe_severe=SEVERE",
        "delivery_mode=VAGINAL|pe_severe=NOT_SEVERE",
    }
    event = AuditEvent.objects.filter(object_type="randomization.randomizationlist").first()
    assert rlist.sha256 not in json.dumps(event.new_value)  # monitors read the trail
    assert event.new_value["source"] == "generated"
    check = actions.do_verify_list(personas["ustat"])
    assert check.ok and check.problems == ()


def test_allocation_takes_slots_in_list_order_within_the_stratum(personas):
    rlist = setup_list(personas)
    ps = [ready(personas, delivery_mode="CS_EMERGENCY", severe=True) for _ in range(3)]
    got = [actions.do_randomize_participant(p, personas["coord_a"]) for p in ps]
    stratum = "delivery_mode=CS|pe_severe=SEVERE"
    expected = list(Slot.objects.filter(rlist=rlist, stratum=stratum).order_by("sequence")[:3])
    assert [a.slot_id for a in got] == [s.pk for s in expected]
    assert [a.arm for a in got] == [s.arm for s in expected]
    ps[0].refresh_from_db()
    assert ps[0].status == "enrolled" and ps[0].screening.outcome == "enrolled"
    event = AuditEvent.objects.filter(action="randomize").last()
    assert event.new_value["kit_code"] == got[-1].kit_code
    assert "EXO" not in json.dumps(event.new_value) and "PBO" not in json.dumps(event.new_value)


def test_repeat_request_is_refused_and_the_allocation_kept(personas, login):
    setup_list(personas)
    p = ready(personas)
    client = login("coord_a")
    first = client.post(f"{API}/participants/{p.subject_id}/randomize")
    assert first.status_code == 201, first.content
    again = client.post(f"{API}/participants/{p.subject_id}/randomize")
    assert again.status_code == 409 and "already randomized" in again.json()["detail"]
    assert Allocation.objects.filter(participant=p).count() == 1
    assert again.json()["detail"].count(first.json()["randomization_number"]) == 1


def test_not_ready_participants_are_refused_with_every_reason(personas):
    setup_list(personas)
    from trialdesk.accounts.models import Site
    from trialdesk.enrolment.testing import screened

    p = screened(Site.objects.get(code="01"), personas["coord_a"])
    with pytest.raises(NotReady) as err:
        actions.do_randomize_participant(p, personas["coord_a"])
    assert "no recorded informed consent" in str(err.value)
    assert "eligibility has not been assessed" in str(err.value)
    assert not Allocation.objects.exists()


def test_withdrawn_consent_blocks_randomization(personas):
    setup_list(personas)
    p = ready(personas)
    do_withdraw_consent(
        p, personas["coord_a"], scope="no_further_visits", withdrawn_at=timezone.now()
    )
    with pytest.raises(NotReady, match="withdrew consent"):
        actions.do_randomize_participant(p, personas["coord_a"])


def test_blinded_api_never_returns_the_arm_and_pharmacist_does(personas, client):
    setup_list(personas)
    p = ready(personas)
    a = actions.do_randomize_participant(p, personas["inv_a"])
    for who in ("coord_a", "inv_a", "monitor", "dm"):
        client.force_login(personas[who])
        body = client.get(f"{API}/participants/{p.subject_id}").json()
        assert body["arm"] is None and body["kit_code"] == a.kit_code
    client.force_login(personas["pharm_a"])
    assert client.get(f"{API}/participants/{p.subject_id}").json()["arm"] == a.arm
    client.force_login(personas["coord_b"])
    assert client.get(f"{API}/participants/{p.subject_id}").status_code == 404


def test_emergency_unblinding_is_shown_to_the_requester_only(
    personas, client, mailoutbox, django_capture_on_commit_callbacks
):
    personas["dsmb"].email = "dsmb@example.org"
    personas["dsmb"].save()
    setup_list(personas)
    p = ready(personas)
    a = actions.do_randomize_participant(p, personas["coord_a"])
    with pytest.raises(PermissionDenied):
        actions.do_emergency_unblind(p, personas["coord_a"], reason="anaphylaxis, need to know")
    client.force_login(personas["inv_a"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/staff/NCT07183384/randomization/participants/{p.subject_id}/unblind/",
            {"reason": "suspected anaphylaxis, management depends on it"},
            follow=True,
        )
    assert r.status_code == 200 and a.arm in r.content.decode()
    url = r.redirect_chain[-1][0]
    for other in ("monitor", "inv_b", "pharm_a", "dsmb"):  # not even its existence is shown
        client.force_login(personas[other])
        assert client.get(url).status_code == 404
    a.refresh_from_db()
    assert a.unblinded_at is not None
    assert AuditEvent.objects.filter(action="unblind", participant=p.subject_id).exists()
    assert len(mailoutbox) == 1 and a.arm not in mailoutbox[0].body
    assert p.subject_id in mailoutbox[0].subject


def test_preparation_and_dosing_set_day_zero(personas):
    setup_list(personas)
    p = ready(personas)
    a = actions.do_randomize_participant(p, personas["coord_a"])
    start = timezone.now() - dt.timedelta(hours=2)
    # randomized three hours ago (the test compresses the day)
    Allocation.objects.filter(pk=a.pk).update(allocated_at=start - dt.timedelta(hours=1))
    with pytest.raises(actions.RandomizationError, match="no prepared kit"):
        actions.do_record_dosing(
            p,
            personas["coord_a"],
            route="IV",
            volume_ml=Decimal("100"),
            started_at=start,
            stopped_at=start + dt.timedelta(hours=1),
            administered_by=personas["inv_a"],
        )
    with pytest.raises(PermissionDenied):
        actions.do_record_preparation(
            a, personas["coord_a"], lot="L1", volume_ml=Decimal("100"), prepared_at=start
        )
    with pytest.raises(actions.RandomizationError, match="needs the injection site"):
        actions.do_record_dosing(
            p,
            personas["coord_a"],
            route="IM",
            volume_ml=Decimal("5"),
            started_at=start,
            stopped_at=start + dt.timedelta(minutes=1),
            administered_by=personas["inv_a"],
        )
    actions.do_record_preparation(
        a,
        personas["pharm_a"],
        lot="EXO-2025-07",
        volume_ml=Decimal("100"),
        prepared_at=start - dt.timedelta(hours=1),
    )
    with pytest.raises(actions.RandomizationError, match="stop time must be after"):
        actions.do_record_dosing(
            p,
            personas["coord_a"],
            route="IV",
            volume_ml=Decimal("100"),
            started_at=start,
            stopped_at=start,
            administered_by=personas["inv_a"],
        )
    with pytest.raises(actions.RandomizationError, match="describe the infusion reaction"):
        actions.do_record_dosing(
            p,
            personas["coord_a"],
            route="IV",
            volume_ml=Decimal("100"),
            started_at=start,
            stopped_at=start + dt.timedelta(hours=1),
            administered_by=personas["inv_a"],
            infusion_reaction=True,
        )
    dose = actions.do_record_dosing(
        p,
        personas["coord_a"],
        route="IV",
        volume_ml=Decimal("100"),
        started_at=start,
        stopped_at=start + dt.timedelta(hours=1),
        administered_by=personas["inv_a"],
        infusion_reaction=True,
        reaction_description="flushing, fever 38.2",
        ae_reference="AE-1",
    )
    p.refresh_from_db()
    assert (
        p.anchor_date == timezone.localtime(start).date() and dose.preparation.lot == "EXO-2025-07"
    )
    assert p.visits.filter(code="D7", target_date=p.anchor_date + dt.timedelta(days=7)).exists()
    with pytest.raises(actions.RandomizationError, match="already dosed"):
        actions.do_record_dosing(
            p,
            personas["coord_a"],
            route="IV",
            volume_ml=Decimal("100"),
            started_at=start,
            stopped_at=start + dt.timedelta(hours=1),
            administered_by=personas["inv_a"],
        )
    prep_event = AuditEvent.objects.filter(object_type="randomization.preparation").get()
    assert "EXO-2025-07" not in json.dumps(prep_event.new_value)


def test_import_checks_the_csv_and_hashes_it(personas):
    strata = [
        "delivery_mode=CS|pe_severe=SEVERE",
        "delivery_mode=CS|pe_severe=NOT_SEVERE",
        "delivery_mode=VAGINAL|pe_severe=SEVERE",
        "delivery_mode=VAGINAL|pe_severe=NOT_SEVERE",
    ]
    rows = ["stratum,sequence,randomization_number,kit_code,arm"]
    n = 0
    for s in strata:
        for seq, arm in enumerate(["EXO", "PBO"], start=1):
            n += 1
            rows.append(f"{s},{seq},R{n:03d},K{n:04d},{arm}")
    rlist = actions.do_import_list(personas["ustat"], csv_text="\n".join(rows))
    assert rlist.source == "imported" and rlist.slots.count() == 8
    assert actions.do_verify_list(personas["ustat"])  # imported: the stored hash re-checks
    bad = "\n".join(rows[:-1] + [rows[-1].replace(",PBO", ",XYZ")])
    with pytest.raises(actions.RandomizationError, match="line 9: arm code"):
        actions.do_import_list(personas["ustat"], csv_text=bad)


def test_unique_constraints_back_up_the_lock(personas):
    from django.db import IntegrityError, transaction

    setup_list(personas)
    p1, p2 = ready(personas), ready(personas)
    a = actions.do_randomize_participant(p1, personas["coord_a"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(
            participant=p2,
            slot=a.slot,
            stratum=a.stratum,
            randomization_number="X1",
            kit_code="X1",
            arm=a.arm,
            allocated_at=timezone.now(),
            allocated_by=personas["coord_a"],
        )
    other = Slot.objects.exclude(pk=a.slot_id).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(
            participant=p1,
            slot=other,
            stratum=other.stratum,
            randomization_number="X2",
            kit_code="X2",
            arm=other.arm,
            allocated_at=timezone.now(),
            allocated_by=personas["coord_a"],
        )
