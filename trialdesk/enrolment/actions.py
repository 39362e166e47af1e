"""Every enrolment write: screening, eligibility assessment and signature, consent, withdrawal.

Each ``do_*`` runs in one durable transaction with its audit events; role and site checks are
repeated here whatever calls them.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction
from django.utils import timezone

from trialdesk.accounts import reauth
from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.crfs.actions.sourced import fill_from_record
from trialdesk.enrolment import eligibility, pdf, services
from trialdesk.enrolment.models import (
    Consent,
    EligibilityAssessment,
    EligibilitySignature,
    ScreeningEntry,
    Withdrawal,
)
from trialdesk.participants.actions import create_participant, set_status
from trialdesk.participants.models import Participant
from trialdesk.studies.locking import refused_when_locked
from trialdesk.studies.registry import get_protocol

SITE_STAFF = (Role.COORDINATOR, Role.INVESTIGATOR)
ELIGIBILITY_MEANING = (
    "I confirm that I have reviewed the eligibility criteria and the source data, and that "
    "this participant meets every inclusion criterion and no exclusion criterion"
)


class EnrolmentError(ValueError):
    """A write was refused; the message says what was wrong and what is allowed."""


def _audit(action, user, role, participant, obj, *, old=None, new=None, reason=""):
    record(
        action,
        actor=user,
        role=role,
        site=participant.site,
        obj=obj,
        participant=participant.subject_id,
        old=old,
        new=new,
        reason=reason,
    )


@refused_when_locked("screen participants")
def do_screen_participant(
    site, acting_user, *, screened_on: dt.date, referral: str = "", identity=None
) -> ScreeningEntry:
    """Register a screened woman (pseudonymous study id) and open her screening-log entry."""
    role = require_at(acting_user, SITE_STAFF, site, "screen participants")
    if screened_on > timezone.localdate():
        raise EnrolmentError(f"screening date {screened_on} is in the future")
    with transaction.atomic(durable=True):
        participant = create_participant(
            site, acting_user, identity=identity, reason="screening started"
        )
        entry = ScreeningEntry.objects.create(
            participant=participant,
            site=site,
            screened_on=screened_on,
            referral=referral,
            created_by=acting_user,
        )
        _audit(
            "create",
            acting_user,
            role,
            participant,
            entry,
            new={"screened_on": screened_on, "referral": referral},
        )
    return entry


@refused_when_locked("close screening")
def do_close_screening(participant, acting_user, *, outcome: str, note: str = "") -> ScreeningEntry:
    """Record why a screened woman was not enrolled (criterion failed, declined, not reached)."""
    role = require_at(acting_user, SITE_STAFF, participant.site, "close screening")
    O = ScreeningEntry.Outcome  # noqa: E741
    allowed = [O.INELIGIBLE, O.DECLINED, O.NOT_REACHED, O.OTHER]
    if outcome not in allowed:
        raise EnrolmentError(f"outcome {outcome!r} is not one of {', '.join(allowed)}")
    if outcome == O.OTHER and not note.strip():
        raise EnrolmentError("say what the other reason is")
    with transaction.atomic(durable=True):
        entry = ScreeningEntry.objects.select_for_update().get(participant=participant)
        if entry.outcome != O.IN_SCREENING:
            raise EnrolmentError(f"screening is already closed ({entry.get_outcome_display()})")
        failed = []
        if outcome == O.INELIGIBLE:
            latest = services.latest_assessment(participant)
            failed = [
                c["code"] for c in (latest.criteria if latest else []) if c["passes"] == "not met"
            ]
            if not failed:
                raise EnrolmentError(
                    "no criterion is failed in the latest assessment: assess first"
                )
        entry.outcome, entry.failed_criteria, entry.outcome_note = outcome, failed, note
        entry.closed_at = timezone.now()
        entry.save(update_fields=["outcome", "failed_criteria", "outcome_note", "closed_at"])
        _audit(
            "status",
            acting_user,
            role,
            participant,
            entry,
            old={"outcome": O.IN_SCREENING},
            new={"outcome": outcome, "failed": failed},
            reason=note,
        )
        set_status(
            participant,
            Participant.Status.SCREEN_FAILED,
            acting_user,
            reason=f"screening closed: {entry.get_outcome_display()}",
        )
    return entry


@refused_when_locked("assess eligibility")
def do_assess_eligibility(participant, acting_user) -> EligibilityAssessment:
    """Evaluate every criterion on the current eCRF data and keep the result with evidence."""
    role = require_at(acting_user, SITE_STAFF, participant.site, "assess eligibility")
    from trialdesk.studies.registry import active_version

    protocol = get_protocol(participant)
    values = services.participant_values(participant)
    result = eligibility.assess(protocol, values)
    with transaction.atomic(durable=True):
        row = EligibilityAssessment.objects.create(
            participant=participant,
            assessed_at=timezone.now(),
            assessed_by=acting_user,
            result=result.result,
            criteria=result.criteria,
            values_sha256=result.values_sha256,
            protocol_sha256=active_version(participant).sha256,
        )
        _audit(
            "create",
            acting_user,
            role,
            participant,
            row,
            new={
                "result": result.result,
                "failing": result.failing,
                "undetermined": result.undetermined,
                "values_sha256": result.values_sha256,
            },
        )
    return row


def _failed_signature(user, role, participant, assessment, why: str) -> None:
    with transaction.atomic(durable=True):
        _audit("sign", user, role, participant, assessment, new={"signed": False}, reason=why)


@refused_when_locked("confirm eligibility")
def do_confirm_eligibility(
    assessment: EligibilityAssessment,
    acting_user,
    *,
    password: str,
    meaning: str = ELIGIBILITY_MEANING,
    request=None,
) -> EligibilitySignature:
    """The investigator's signature (21 CFR 11.50/11.200: password re-entered, printed name,
    date and time, meaning) on an assessment whose every criterion is met. With `request`, a
    wrong password counts toward the login lockout, which ends the session (accounts.reauth)."""
    participant = assessment.participant
    role = require_at(acting_user, (Role.INVESTIGATOR,), participant.site, "confirm eligibility")
    if not acting_user.printed_name.strip():
        raise EnrolmentError("your account has no printed name: ask an administrator to set it")
    try:
        reauth.check_password(acting_user, password, request=request)
    except reauth.Refused as exc:
        _failed_signature(acting_user, role, participant, assessment, str(exc))
        raise EnrolmentError(f"{exc}: the signature was not applied") from None
    if assessment.result != EligibilityAssessment.Result.ELIGIBLE:
        raise EnrolmentError(
            f"eligibility is {assessment.get_result_display().lower()}: only an assessment in "
            "which every criterion is met can be confirmed"
        )
    latest = services.latest_assessment(participant)
    if latest is None or latest.pk != assessment.pk:
        raise EnrolmentError("a newer assessment exists: confirm that one")
    values = services.participant_values(participant)
    current = eligibility.values_hash(get_protocol(participant), values)
    if current != assessment.values_sha256:
        raise EnrolmentError("data changed after this assessment: assess again, then sign")
    with transaction.atomic(durable=True):
        sig = EligibilitySignature.objects.create(
            assessment=assessment,
            signed_by=acting_user,
            printed_name=acting_user.printed_name,
            signed_at=timezone.now(),
            meaning=meaning,
            role=role,
        )
        _audit(
            "sign",
            acting_user,
            role,
            participant,
            assessment,
            new={
                "signed": True,
                "printed_name": sig.printed_name,
                "signed_at": sig.signed_at,
                "meaning": meaning,
                "values_sha256": assessment.values_sha256,
            },
        )
        # The eCRF's "investigator confirms eligibility" item is this signature (one record).
        fill_from_record(
            participant,
            "eligibility",
            {"signed": True, "signed_at": sig.signed_at},
            acting_user,
            role,
            reason=f"eligibility signed by {sig.printed_name}",
        )
    return sig


def _check_version(protocol, version: str, when: dt.datetime) -> None:
    spec = protocol.consent_versions.get(version)
    if spec is None:
        raise EnrolmentError(
            f"consent version {version!r} is not in the protocol "
            f"(known: {', '.join(protocol.consent_versions)})"
        )
    day = timezone.localtime(when).date()
    valid_to = spec.valid_to.isoformat() if spec.valid_to else "open"
    if day < spec.valid_from or (spec.valid_to and day > spec.valid_to):
        current = protocol.consent_version_on(day)
        hint = f"; version {current.code} was valid then" if current else ""
        raise EnrolmentError(
            f"consent version {version} is valid {spec.valid_from} to {valid_to}, "
            f"not on {day}{hint}"
        )


@refused_when_locked("record consent")
def do_record_consent(
    participant,
    acting_user,
    *,
    version: str,
    consented_at: dt.datetime,
    witness_name: str = "",
    signature_data_url: str = "",
) -> Consent:
    """Record informed consent (paper, or electronic with the drawn signature as a PDF)."""
    role = require_at(acting_user, SITE_STAFF, participant.site, "record consent")
    protocol = get_protocol(participant)
    if consented_at > timezone.now():
        raise EnrolmentError(f"consent time {consented_at:%Y-%m-%d %H:%M} is in the future")
    _check_version(protocol, version, consented_at)
    if services.active_withdrawal(participant):
        raise EnrolmentError(f"{participant.subject_id} has withdrawn consent")
    pdf_bytes, digest, method = None, "", Consent.Method.PAPER
    if signature_data_url:
        try:
            png = pdf.decode_signature(signature_data_url)
        except ValueError as exc:
            raise EnrolmentError(str(exc)) from exc
        pdf_bytes = pdf.consent_pdf(
            study=protocol.study.id,
            version=version,
            version_label=protocol.consent_versions[version].label,
            subject_id=participant.subject_id,
            consented_at=timezone.localtime(consented_at).isoformat(timespec="minutes"),
            obtained_by=acting_user.display_name(),
            witness=witness_name,
            signature_png=png,
        )
        digest, method = hashlib.sha256(pdf_bytes).hexdigest(), Consent.Method.ELECTRONIC
    with transaction.atomic(durable=True):
        row = Consent.objects.create(
            participant=participant,
            version=version,
            consented_at=consented_at,
            obtained_by=acting_user,
            witness_name=witness_name,
            method=method,
            pdf=pdf_bytes,
            pdf_sha256=digest,
            recorded_by=acting_user,
        )
        _audit(
            "create",
            acting_user,
            role,
            participant,
            row,
            new={
                "version": version,
                "consented_at": consented_at,
                "method": method,
                "witness": witness_name,
                "pdf_sha256": digest,
            },
        )
        fill_from_record(
            participant,
            "consent",
            {
                "consented_at": consented_at,
                "version": version,
                "obtained_by": acting_user.display_name(),
                "witness_present": bool(witness_name.strip()),
            },
            acting_user,
            role,
            reason=f"consent version {version} recorded",
        )
    return row


@refused_when_locked("record withdrawals")
def do_withdraw_consent(
    participant, acting_user, *, scope: str, withdrawn_at: dt.datetime, reason: str = ""
) -> Withdrawal:
    """Withdrawal with its scope; from now on ``services.require_consent`` enforces it."""
    role = require_at(acting_user, SITE_STAFF, participant.site, "record a withdrawal")
    if scope not in Withdrawal.Scope.values:
        raise EnrolmentError(f"scope {scope!r} is not one of {', '.join(Withdrawal.Scope.values)}")
    if withdrawn_at > timezone.now():
        raise EnrolmentError("the withdrawal time is in the future")
    consent = services.current_consent(participant)
    if consent is None:
        raise EnrolmentError(f"{participant.subject_id} has no consent to withdraw")
    if withdrawn_at < consent.consented_at:
        raise EnrolmentError("the withdrawal is dated before the consent")
    with transaction.atomic(durable=True):
        previous = services.active_withdrawal(participant)
        if previous and list(Withdrawal.Scope.values).index(scope) <= list(
            Withdrawal.Scope.values
        ).index(previous.scope):
            raise EnrolmentError(
                f"consent is already withdrawn ({previous.get_scope_display()}); a new "
                "withdrawal can only widen the scope"
            )
        row = Withdrawal.objects.create(
            participant=participant,
            consent=consent,
            scope=scope,
            withdrawn_at=withdrawn_at,
            reason=reason,
            recorded_by=acting_user,
        )
        _audit(
            "create",
            acting_user,
            role,
            participant,
            row,
            new={"scope": scope, "withdrawn_at": withdrawn_at},
            reason=reason,
        )
        new_status = (
            Participant.Status.WITHDRAWN
            if participant.status == "enrolled"
            else Participant.Status.SCREEN_FAILED
            if participant.status == "screening"
            else participant.status
        )
        set_status(
            participant,
            new_status,
            acting_user,
            reason=f"consent withdrawn: {row.get_scope_display()}",
        )
        entry = ScreeningEntry.objects.filter(
            participant=participant, outcome=ScreeningEntry.Outcome.IN_SCREENING
        )
        entry.update(
            outcome=ScreeningEntry.Outcome.DECLINED,
            closed_at=timezone.now(),
            outcome_note="withdrew consent before randomization",
        )
    return row
