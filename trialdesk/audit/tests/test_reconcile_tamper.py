"""Finding 4: every direct database edit the reviewer made behind the application's back is
named by `trialdesk audit verify` (one case per table and column; SQLite and PostgreSQL).

The study is built through the real actions: a randomized, prepared, dosed participant whose
code was broken, with eligibility signed and consent recorded; another participant with a
signed vitals form, a visit date and an answered query. Each case then edits one table the way
a database administrator could and checks that verify names the row and what differs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.db import connection
from django.utils import timezone

from trialdesk.accounts.models import Site
from trialdesk.commands.audit import audit
from trialdesk.crfs.actions import do_answer_query, do_open_query, do_save_form, do_sign_form
from trialdesk.crfs.models import FormInstance, ItemValue, QueryMessage
from trialdesk.crfs.tests.test_entry import vitals
from trialdesk.enrolment.models import Consent, EligibilityAssessment, EligibilitySignature
from trialdesk.randomization import actions as rand
from trialdesk.randomization.models import Slot
from trialdesk.randomization.tests.helpers import ready, setup_list
from trialdesk.testing.participants import visit_of
from trialdesk.testing.personas import PASSWORD
from trialdesk.visits.actions import do_record_visit_date


@pytest.fixture
def study(personas, participant_a):
    setup_list(personas)
    p = ready(personas)
    allocation = rand.do_randomize_participant(p, personas["coord_a"])
    now = timezone.now()
    prep = rand.do_record_preparation(
        allocation, personas["pharm_a"], lot="LOT-A-07", volume_ml=Decimal("100"), prepared_at=now
    )
    dose = rand.do_record_dosing(
        p,
        personas["coord_a"],
        route="IV",
        volume_ml=Decimal("100"),
        started_at=timezone.now(),
        stopped_at=timezone.now() + dt.timedelta(minutes=30),
        administered_by=personas["inv_a"],
    )
    unblinding = rand.do_emergency_unblind(
        p, personas["inv_a"], reason="suspected anaphylaxis, management depends on the arm"
    )
    visit = visit_of(participant_a, "D7")
    do_record_visit_date(visit, timezone.localdate() - dt.timedelta(days=1), personas["coord_a"])
    do_save_form(
        visit,
        "vitals",
        personas["coord_a"],
        raw={k: v for k, v in vitals().items() if not k.endswith("__unit")},
        complete=True,
        expected_revision=0,
    )
    fi = FormInstance.objects.get(visit=visit, form_code="vitals")
    signature = do_sign_form(fi, personas["inv_a"], password=PASSWORD)
    query = do_open_query(fi, personas["monitor"], item="hr", text="Please confirm the rate.")
    do_answer_query(query, personas["coord_a"], text="Confirmed from the source.")
    assessment = EligibilityAssessment.objects.get(participant=p)
    other_arm = next(a for a in Slot.objects.values_list("arm", flat=True) if a != allocation.arm)
    return {
        "p": p,
        "a": allocation,
        "other_arm": other_arm,
        "prep": prep,
        "dose": dose,
        "unblinding": unblinding,
        "visit": visit,
        "participant_a": participant_a,
        "site_b": Site.objects.get(code="02"),
        "assessment": assessment,
        "elig_sig": EligibilitySignature.objects.get(assessment=assessment),
        "consent": Consent.objects.get(participant=p),
        "query": query,
        "answer": QueryMessage.objects.filter(query=query).order_by("id").last(),
        "signature": signature,
        "item": ItemValue.objects.get(form=fi, item="hr"),
        "other_user": personas["inv_b"],
    }


def _sql(statement: str, params) -> None:
    with connection.cursor() as cur:
        cur.execute(statement, params)


# name: ([(sql, params from the study)], [texts verify must print])
CASES = {
    "allocation arm swapped (allocation and slot)": (
        [
            ("UPDATE randomization_allocation SET arm = %s WHERE id = %s", "other_arm", "a.pk"),
            ("UPDATE randomization_slot SET arm = %s WHERE id = %s", "other_arm", "a.slot_id"),
        ],
        ["randomization.allocation:{a.pk}", "randomization.slot:{a.pk}", "arm: audited"],
    ),
    "allocation arm swapped in the slot only": (
        [("UPDATE randomization_slot SET arm = %s WHERE id = %s", "other_arm", "a.slot_id")],
        ["randomization.slot:{a.pk}", "arm: audited"],
    ),
    "preparation lot": (
        [("UPDATE randomization_preparation SET lot = %s WHERE id = %s", "'LOT-P-01'", "prep.pk")],
        ["randomization.preparation:{prep.pk}", "lot: audited"],
    ),
    "preparation volume": (
        [("UPDATE randomization_preparation SET volume_ml = %s WHERE id = %s", "90", "prep.pk")],
        ["randomization.preparation:{prep.pk}", "volume_ml: audited '100', found '90'"],
    ),
    "dosing volume": (
        [("UPDATE randomization_dosing SET volume_ml = %s WHERE id = %s", "50", "dose.pk")],
        ["randomization.dosing:{dose.pk}", "volume_ml: audited '100', found '50'"],
    ),
    "dosing time": (
        [("UPDATE randomization_dosing SET started_at = %s WHERE id = %s", "earlier", "dose.pk")],
        ["randomization.dosing:{dose.pk}", "started_at: audited"],
    ),
    "visit date": (
        [("UPDATE visits_visit SET actual_date = %s WHERE id = %s", "last_week", "visit.pk")],
        ["visits.visit:{visit.pk}", "actual_date: audited"],
    ),
    "participant status": (
        [("UPDATE participants_participant SET status = %s WHERE id = %s", "'completed'", "p.pk")],
        ["participants.participant:{p.pk}", "status: audited 'enrolled', found 'completed'"],
    ),
    "participant site": (
        [("UPDATE participants_participant SET site_id = %s WHERE id = %s", "site_b.pk", "p.pk")],
        ["participants.participant:{p.pk}", "site: audited '01', found '02'"],
    ),
    "eligibility result": (
        [
            (
                "UPDATE enrolment_eligibilityassessment SET result = %s WHERE id = %s",
                "'not_eligible'",
                "assessment.pk",
            )
        ],
        ["enrolment.eligibilityassessment:{assessment.pk}", "result: audited 'eligible'"],
    ),
    "eligibility signature signer": (
        [
            (
                "UPDATE enrolment_eligibilitysignature SET signed_by_id = %s WHERE id = %s",
                "other_user.pk",
                "elig_sig.pk",
            )
        ],
        ["enrolment.eligibilitysignature:{assessment.pk}", "signer: audited"],
    ),
    "consent version": (
        [("UPDATE enrolment_consent SET version = %s WHERE id = %s", "'ICF-1.0'", "consent.pk")],
        ["enrolment.consent:{consent.pk}", "version: audited 'ICF-2.0', found 'ICF-1.0'"],
    ),
    "consent time": (
        [("UPDATE enrolment_consent SET consented_at = %s WHERE id = %s", "earlier", "consent.pk")],
        ["enrolment.consent:{consent.pk}", "consented_at: audited"],
    ),
    "query message deleted": (
        [("DELETE FROM crfs_querymessage WHERE id = %s", "answer.pk")],
        ["crfs.querymessage:{query.pk}", "messages: audited 2, found 1"],
    ),
    "unblinding row deleted": (
        [("DELETE FROM randomization_unblinding WHERE id = %s", "unblinding.pk")],
        ["randomization.unblinding:{unblinding.pk}", "deleted outside the application"],
    ),
    "signature signer": (
        [
            (
                "UPDATE crfs_signature SET signer_id = %s WHERE id = %s",
                "other_user.pk",
                "signature.pk",
            )
        ],
        ["crfs.signature:{signature.pk}", "signer: audited"],
    ),
    "signature time": (
        [("UPDATE crfs_signature SET signed_at = %s WHERE id = %s", "earlier", "signature.pk")],
        ["crfs.signature:{signature.pk}", "signed_at: audited"],
    ),
    "item numeric value": (
        [("UPDATE crfs_itemvalue SET num_value = %s WHERE id = %s", "60", "item.pk")],
        ["crfs.itemvalue:{item.pk}", "num_value: audited 80.0, found 60.0"],
    ),
    "item version": (
        [("UPDATE crfs_itemvalue SET version = %s WHERE id = %s", "2", "item.pk")],
        ["crfs.itemvalue:{item.pk}", "version: audited 1, found 2"],
    ),
}


def _value(study, expr: str):
    constants = {
        "earlier": timezone.now() - dt.timedelta(days=2),
        "last_week": timezone.localdate() - dt.timedelta(days=7),
    }
    if expr in constants:
        return constants[expr]
    if expr.startswith("'"):
        return expr.strip("'")
    if expr.isdigit():
        return int(expr)
    name, *attrs = expr.split(".")
    value = study[name]
    for attr in attrs:
        value = getattr(value, attr)
    return value


def _verify():
    return CliRunner().invoke(audit, ["verify"])


def test_the_untouched_study_verifies(study):
    result = _verify()
    assert result.exit_code == 0, result.output
    assert "clinical data matches the audit trail" in result.output


@pytest.mark.parametrize("case", list(CASES))
def test_direct_edit_is_named_by_verify(study, case):
    statements, expected = CASES[case]
    for sql, *params in statements:
        _sql(sql, [_value(study, x) for x in params])
    result = _verify()
    assert result.exit_code == 1, result.output
    for text in expected:
        assert text.format(**study) in result.output, result.output


def test_blinded_values_do_not_reach_the_trail_or_the_report(study):
    """The arm and the lot are compared through keyed digests: neither is in an event, and a
    mismatch report shows digests, not arms or lots."""
    import json

    from trialdesk.audit.models import AuditEvent

    dumped = json.dumps(list(AuditEvent.objects.values_list("old_value", "new_value")))
    a = study["a"]
    assert a.arm not in dumped and "LOT-A-07" not in dumped
    _sql("UPDATE randomization_allocation SET arm = %s WHERE id = %s", [study["other_arm"], a.pk])
    _sql("UPDATE randomization_preparation SET lot = 'LOT-P-01' WHERE id = %s", [study["prep"].pk])
    output = _verify().output
    assert a.arm not in output and study["other_arm"] not in output
    assert "LOT-A-07" not in output and "LOT-P-01" not in output
