"""What `trialdesk audit verify` compares for enrolment (registered in EnrolmentConfig.ready).

The screening entry's outcome is also set by randomization and by a withdrawal without an event
of its own, so only what its own events say (date, referral, participant) is compared.
"""

from __future__ import annotations

from collections.abc import Iterator

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.reconcile import Reconciler, State, day, instant, new_of, register
from trialdesk.enrolment.models import (
    Consent,
    EligibilityAssessment,
    EligibilitySignature,
    ScreeningEntry,
    Withdrawal,
)


def _screening() -> Iterator[tuple[int, State]]:
    rows = ScreeningEntry.objects.values_list(
        "pk", "screened_on", "referral", "participant__subject_id"
    )
    for pk, screened_on, referral, subject_id in rows.iterator(chunk_size=2000):
        yield pk, {"screened_on": day(screened_on), "referral": referral, "participant": subject_id}


def _screening_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    return {
        "screened_on": day(new.get("screened_on")),
        "referral": new.get("referral"),
        "participant": event.participant,
    }


def _assessments() -> Iterator[tuple[int, State]]:
    rows = EligibilityAssessment.objects.values_list(
        "pk", "result", "values_sha256", "assessed_by_id", "participant__subject_id"
    )
    for pk, result, values_sha256, by, subject_id in rows.iterator(chunk_size=2000):
        yield (
            pk,
            {
                "result": result,
                "values_sha256": values_sha256,
                "assessed_by": by,
                "participant": subject_id,
            },
        )


def _assessment_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    return {
        "result": new.get("result"),
        "values_sha256": new.get("values_sha256"),
        "assessed_by": event.actor_id,
        "participant": event.participant,
    }


def _eligibility_signatures() -> Iterator[tuple[int, State]]:
    """Keyed by the assessment: the signature's events are the assessment's `sign` events."""
    rows = EligibilitySignature.objects.values_list(
        "assessment_id", "printed_name", "meaning", "signed_by_id", "signed_at"
    )
    for assessment, printed_name, meaning, by, signed_at in rows.iterator(chunk_size=2000):
        yield (
            assessment,
            {
                "printed_name": printed_name,
                "meaning": meaning,
                "signer": by,
                "signed_at": instant(signed_at),
            },
        )


def _eligibility_signature_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    if not new.get("signed"):
        return state  # a refused attempt (wrong password) writes no row
    want = {
        "printed_name": new.get("printed_name"),
        "meaning": new.get("meaning"),
        "signer": event.actor_id,
    }
    if "signed_at" in new:
        want["signed_at"] = instant(new["signed_at"])
    return want


CONSENT_KEYS = ("version", "consented_at", "method", "witness", "pdf_sha256")


def _consents() -> Iterator[tuple[int, State]]:
    rows = Consent.objects.values_list(
        "pk",
        "version",
        "consented_at",
        "method",
        "witness_name",
        "pdf_sha256",
        "obtained_by_id",
        "participant__subject_id",
    )
    for pk, version, at, method, witness, pdf_sha256, by, subject_id in rows.iterator(
        chunk_size=2000
    ):
        yield (
            pk,
            {
                "version": version,
                "consented_at": instant(at),
                "method": method,
                "witness": witness,
                "pdf_sha256": pdf_sha256,
                "obtained_by": by,
                "participant": subject_id,
            },
        )


def _consent_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    want = {k: new.get(k) for k in CONSENT_KEYS}
    want["consented_at"] = instant(want["consented_at"])
    return {**want, "obtained_by": event.actor_id, "participant": event.participant}


def _withdrawals() -> Iterator[tuple[int, State]]:
    rows = Withdrawal.objects.values_list("pk", "scope", "withdrawn_at", "participant__subject_id")
    for pk, scope, at, subject_id in rows.iterator(chunk_size=2000):
        yield pk, {"scope": scope, "withdrawn_at": instant(at), "participant": subject_id}


def _withdrawal_apply(state: State, event: AuditEvent) -> State:
    new = new_of(event)
    return {
        "scope": new.get("scope"),
        "withdrawn_at": instant(new.get("withdrawn_at")),
        "participant": event.participant,
    }


def register_all() -> None:
    register("enrolment.screeningentry", Reconciler(_screening, _screening_apply, ("create",)))
    register(
        "enrolment.eligibilityassessment",
        Reconciler(_assessments, _assessment_apply, ("create",)),
    )
    register(
        "enrolment.eligibilitysignature",
        Reconciler(
            _eligibility_signatures,
            _eligibility_signature_apply,
            ("sign",),
            events_of="enrolment.eligibilityassessment",
        ),
    )
    register("enrolment.consent", Reconciler(_consents, _consent_apply, ("create",)))
    register("enrolment.withdrawal", Reconciler(_withdrawals, _withdrawal_apply, ("create",)))
