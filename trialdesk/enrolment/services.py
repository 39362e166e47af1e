"""Read-side rules of enrolment, used by actions here and in other apps (never writes).

``require_consent(participant, activity)`` demands a consent covering the activity; the
withdrawal rule itself (scopes, activities, ``refuse_after_withdrawal``) lives with the
participant in ``trialdesk.participants.withdrawal`` because data capture obeys it too.
"""

from __future__ import annotations

from django.utils import timezone

from trialdesk.enrolment.models import Consent, EligibilityAssessment, Withdrawal
from trialdesk.participants.withdrawal import FORBIDDEN_AFTER, ConsentError, check_activity


class NotReady(ValueError):
    """Randomization refused: ``reasons`` lists every unmet condition."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def participant_values(participant) -> dict[str, object]:
    """The participant's eCRF values ("form.field" → canonical value)."""
    from trialdesk.crfs.values import participant_values as read

    return read(participant)


def current_consent(participant) -> Consent | None:
    return Consent.objects.filter(participant=participant).order_by("-consented_at", "-pk").first()


def active_withdrawal(participant) -> Withdrawal | None:
    return Withdrawal.objects.filter(participant=participant).order_by("-withdrawn_at").first()


def require_consent(participant, activity: str) -> Consent:
    """The consent covering ``activity`` now, or ConsentError naming what is missing."""
    check_activity(activity)
    consent = current_consent(participant)
    if consent is None:
        raise ConsentError(f"{participant.subject_id} has no recorded informed consent")
    withdrawal = active_withdrawal(participant)
    if withdrawal and activity in FORBIDDEN_AFTER[withdrawal.scope]:
        raise ConsentError(
            f"{participant.subject_id} withdrew consent on {withdrawal.withdrawn_at:%Y-%m-%d} "
            f"({withdrawal.get_scope_display()}): {activity.replace('_', ' ')} is not allowed"
        )
    return consent


def latest_assessment(participant) -> EligibilityAssessment | None:
    return (
        EligibilityAssessment.objects.filter(participant=participant)
        .select_related("signature")
        .order_by("-assessed_at", "-pk")
        .first()
    )


def readiness(participant, *, values: dict | None = None) -> list[str]:
    """Every reason ``participant`` cannot be randomized now (empty list: ready)."""
    from trialdesk.enrolment.eligibility import values_hash

    reasons = []
    if participant.status not in ("screening",):
        reasons.append(f"status is {participant.get_status_display().lower()}, not screening")
    try:
        require_consent(participant, "randomize")
    except ConsentError as exc:
        reasons.append(str(exc))
    assessment = latest_assessment(participant)
    if assessment is None:
        reasons.append("eligibility has not been assessed")
    elif assessment.result != EligibilityAssessment.Result.ELIGIBLE:
        reasons.append(f"the latest eligibility assessment is {assessment.get_result_display()}")
    elif not hasattr(assessment, "signature"):
        reasons.append("an investigator has not confirmed eligibility with a signature")
    else:
        now_values = participant_values(participant) if values is None else values
        from trialdesk.studies.registry import get_protocol

        if values_hash(get_protocol(participant), now_values) != assessment.values_sha256:
            reasons.append("data changed after eligibility was confirmed: assess and sign again")
    return reasons


def now():
    return timezone.now()


def screening_entries(*, site_ids=None):
    """The screening log (every participant screened), optionally at some sites only."""
    from trialdesk.enrolment.models import ScreeningEntry

    entries = ScreeningEntry.objects.all()
    return entries if site_ids is None else entries.filter(site_id__in=site_ids)


def consort_counts(*, site_ids=None) -> dict:
    """Screening-log numbers for the CONSORT diagram. Per-arm numbers are added by
    ``randomization.services.consort_by_arm`` (randomization sits above enrolment)."""
    from collections import Counter

    entries = screening_entries(site_ids=site_ids)
    outcomes = Counter(entries.values_list("outcome", flat=True))
    criteria = Counter(
        code
        for failed in entries.filter(outcome="ineligible").values_list("failed_criteria", flat=True)
        for code in failed
    )
    return {
        "screened": sum(outcomes.values()),
        "in_screening": outcomes.get("in_screening", 0),
        "randomized": outcomes.get("enrolled", 0),
        "not_enrolled": {
            k: v for k, v in outcomes.items() if k not in ("in_screening", "enrolled")
        },
        "failed_criteria": dict(criteria),
    }


def samples_to_destroy(site_ids=None):
    """Participants whose withdrawal asks for their stored samples to be destroyed (the lab's
    work list; using those samples is refused by ``require_consent(p, "sample_use")``)."""
    rows = Withdrawal.objects.filter(scope=Withdrawal.Scope.DESTROY_SAMPLES).select_related(
        "participant__site"
    )
    if site_ids is not None:
        rows = rows.filter(participant__site_id__in=site_ids)
    return rows.order_by("withdrawn_at")
