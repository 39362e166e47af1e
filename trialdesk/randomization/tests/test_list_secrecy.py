"""Issue 9, findings 1, 8 and 13: the allocation list cannot be recomputed or located by
blinded roles, typed seeds are for the reproducible-test mode only, and a preparation cannot
predate its allocation. Real URLs, real database, named personas."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from trialdesk.audit.models import AuditEvent
from trialdesk.randomization import actions
from trialdesk.randomization.actions import lists
from trialdesk.randomization.models import Allocation, Preparation, RandomizationList, Slot
from trialdesk.randomization.tests.helpers import TEST_SEED, ready, setup_list
from trialdesk.testing.allocation_attack import brute_force, old_scheme_list

API = "/api/v1/NCT07183384/randomization"
MIX = [("CS_EMERGENCY", True), ("VAGINAL_SPONT", False), ("CS_ELECTIVE", False)]


def _randomize(personas, n_each: int = 1) -> list[Allocation]:
    people = [ready(personas, delivery_mode=m, severe=s) for m, s in MIX * n_each]
    return [actions.do_randomize_participant(p, personas["coord_a"]) for p in people]


def test_a_blinded_coordinator_cannot_recompute_the_list_from_the_allocations_api(personas, login):
    rlist = setup_list(personas)
    _randomize(personas, n_each=2)
    client = login("coord_a")
    rows = client.get(f"{API}/allocations").json()
    assert len(rows) == 6 and all(r["arm"] is None and r["stratum"] is None for r in rows)
    kit_codes = [r["kit_code"] for r in rows]
    spec = actions.spec_of(rlist)
    # The attack works against the pre-issue-9 generator (the control) ...
    old = [code for _, code in old_scheme_list(spec, 17)]
    assert brute_force(spec, old[5:40:7], range(20)) == 17
    # ... and finds nothing in 20,001 seeds now: kit codes are not drawn from the arm seed.
    assert brute_force(spec, kit_codes, range(20_001)) is None
    # Nor do the randomization numbers count through the list (R0001, R0002, … told the slot).
    numbers = [r["randomization_number"] for r in rows]
    assert all(n.startswith("R-") and len(n) == 8 for n in numbers)
    values = [int(n.removeprefix("R-")) for n in numbers]
    assert any(b - a != 1 for a, b in zip(values, values[1:], strict=False))
    for url in (
        "/staff/NCT07183384/randomization/",
        f"/staff/NCT07183384/randomization/participants/{rows[0]['subject_id']}/",
    ):
        body = client.get(url).content.decode()
        assert rlist.sha256 not in body and rlist.sha256[:12] not in body
        assert "delivery_mode=" not in body  # the stratum key (with the order, a position)


def test_every_list_gets_its_own_128_bit_system_seed(personas, monkeypatch):
    seeds, draw = [], lists.new_seed

    def capture() -> int:
        seeds.append(draw())
        return seeds[-1]

    monkeypatch.setattr(lists, "new_seed", capture)  # where the list is drawn
    first = list(setup_list(personas).slots.order_by("pk").values_list("arm", flat=True))
    second = list(setup_list(personas).slots.order_by("pk").values_list("arm", flat=True))
    assert len(seeds) == 2 and seeds[0] != seeds[1] and min(seeds).bit_length() > 64
    assert first != second
    assert RandomizationList.objects.filter(active=True).count() == 1
    for event in AuditEvent.objects.filter(object_type="randomization.randomizationlist"):
        text = json.dumps(event.new_value)
        assert str(seeds[0]) not in text and str(seeds[1]) not in text


def test_a_typed_seed_is_refused_outside_the_test_mode_and_in_a_live_study(personas, settings):
    with pytest.raises(actions.RandomizationError, match="reproducible-test mode is off"):
        actions.do_generate_list(personas["ustat"], seed=TEST_SEED, slots_per_stratum=10)
    assert not RandomizationList.objects.exists()
    settings.RANDOMIZATION_TEST_SEEDS = True
    rlist = actions.do_generate_list(personas["ustat"], seed=TEST_SEED, slots_per_stratum=10)
    assert rlist.source == "test_seed"
    assert actions.do_verify_list(personas["ustat"], seed=TEST_SEED).ok
    wrong = actions.do_verify_list(personas["ustat"], seed=TEST_SEED + 1)
    assert not wrong and wrong.problems == ("the seed does not regenerate the list's arms",)
    _randomize(personas)  # the study is live from the first allocation
    with pytest.raises(actions.RandomizationError, match="refused in a live study"):
        actions.do_generate_list(personas["ustat"], seed=TEST_SEED, slots_per_stratum=10)
    settings.RANDOMIZATION_TEST_SEEDS = False
    p = ready(personas)
    with pytest.raises(actions.RandomizationError, match="made from a typed test seed"):
        actions.do_randomize_participant(p, personas["coord_a"])
    assert not Allocation.objects.filter(participant=p).exists()


def test_a_system_list_re_verifies_without_a_seed_and_names_tampering(personas):
    rlist = setup_list(personas)
    assert actions.do_verify_list(personas["ustat"]).ok
    with pytest.raises(actions.RandomizationError, match="drawn by the system and never kept"):
        actions.do_verify_list(personas["ustat"], seed=TEST_SEED)
    slot = rlist.slots.order_by("pk").first()
    Slot.objects.filter(pk=slot.pk).update(arm="PBO" if slot.arm == "EXO" else "EXO")
    check = actions.do_verify_list(personas["ustat"])
    assert not check.ok
    assert f"stratum {slot.stratum}, block {slot.block}: arms do not follow the ratio" in (
        check.problems
    )
    assert "the stored slots no longer match the list's SHA-256 of generation" in check.problems
    event = AuditEvent.objects.filter(object_type="randomization.randomizationlist").last()
    assert event.new_value == {"verified": False, "problems": 2}


def test_the_randomize_event_carries_no_list_position(personas, login):
    rlist = setup_list(personas)
    [a, *_] = _randomize(personas)
    event = AuditEvent.objects.get(action="randomize", participant=a.participant.subject_id)
    assert set(event.new_value) == {"randomization_number", "kit_code", "arm_digest"}
    assert event.new_value["randomization_number"] == a.randomization_number
    assert event.new_value["kit_code"] == a.kit_code
    # The keyed digest lets `audit verify` compare the arm without revealing it.
    assert a.arm not in str(event.new_value)
    body = (
        login("monitor")
        .get(f"/staff/NCT07183384/audit/participant/{a.participant.subject_id}/")
        .content.decode()
    )
    assert a.kit_code in body and rlist.sha256[:12] not in body and "slot_sequence" not in body


@pytest.mark.parametrize(
    ("shift", "accepted"),
    [(dt.timedelta(minutes=-90), False), (dt.timedelta(0), True), (dt.timedelta(days=1), False)],
)
def test_a_preparation_before_its_allocation_is_refused(personas, login, shift, accepted):
    setup_list(personas)
    [a, *_] = _randomize(personas)
    allocated = timezone.now() - dt.timedelta(hours=2)
    Allocation.objects.filter(pk=a.pk).update(allocated_at=allocated)
    when = timezone.localtime(allocated + shift)
    r = login("pharm_a").post(
        f"/staff/NCT07183384/randomization/participants/{a.participant.subject_id}/",
        {"action": "prepare", "lot": "LOT-1", "volume_ml": "100",
         "prepared_at": f"{when:%Y-%m-%d %H:%M}"},
        follow=True,
    )  # fmt: skip
    body = r.content.decode()
    assert Preparation.objects.filter(allocation=a).exists() == accepted
    if not accepted:
        assert f"prepared_at = {when:%Y-%m-%d %H:%M}" in body
        assert "allowed: from" in body and "(allocation)" in body
        assert ("before the allocation" in body) == (shift < dt.timedelta(0))
    with pytest.raises(actions.RandomizationError, match="before the allocation"):
        actions.do_record_preparation(
            a,
            personas["pharm_a"],
            lot="LOT-1",
            volume_ml=Decimal("100"),
            prepared_at=allocated - dt.timedelta(minutes=1, seconds=1),
        )
