"""Read-side rules of enrolment, used by actions here and in other apps (never writes).

``require_consent(participant, activity)`` is the one place withdrawal scope is enforced:
activities are ``visit`` (procedures, samples, dosing), ``data`` (any new eCRF value),
``sample_use`` (analysing stored samples), ``randomize`` and ``dose``.
"""

from __future__ import annotations

from django.utils import timezone

from trialdesk.enrolment.models import Consent, EligibilityAssessment, Withdrawal

#: What each withdrawal scope forbids from the moment of withdrawal.
FORBIDDEN_AFTER = {
    Withdrawal.Scope.NO_FURTHER_VISITS: {"visit", "randomize", "dose"},
    Withdrawal.Scope.NO_FURTHER_DATA: {"visit", "randomize", "dose", "data"},
    Withdrawal.Scope.DESTROY_SAMPLES: {"visit", "randomize", "dose", "data", "sample_use"},
}
ACTIVITIES = frozenset().union(*FORBIDDEN_AFTER.values())


class ConsentError(PermissionError):
    """The participant's consent does not cover what was asked; the message says why."""


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
    if activity not in ACTIVITIES:
        raise ValueError(f"unknown activity {activity!r}; known: {', '.join(sorted(ACTIVITIES))}")
    consent = current_consent(participant)
    if consent is None:
        raise ConsentError(f"{participant.study_id} has no recorded informed consent")
    withdrawal = active_withdrawal(participant)
    if withdrawal and activity in FORBIDDEN_AFTER[withdrawal.scope]:
        raise ConsentError(
            f"{participant.study_id} withdrew consent on {withdrawal.withdrawn_at:%Y-%m-%d} "
            f"({withdrawal.get_scope_display()}): {activity.replace('_', ' ')} is not allowed"
        )
    return consent


def refuse_after_withdrawal(participant, activity: str, on_date=None) -> None:
    """ConsentError if an active withdrawal forbids ``activity`` on ``on_date`` (default: now).

    Unlike require_consent this does not demand a consent record (screening data may be
    entered while consent is being recorded); it only enforces withdrawal: what was
    collected before the withdrawal may still be entered, nothing after it.
    """
    if activity not in ACTIVITIES:
        raise ValueError(f"unknown activity {activity!r}; known: {', '.join(sorted(ACTIVITIES))}")
    withdrawal = active_withdrawal(participant)
    if withdrawal is None or activity not in FORBIDDEN_AFTER[withdrawal.scope]:
        return
    withdrawn_on = timezone.localdate(withdrawal.withdrawn_at)
    if on_date is not None and on_date < withdrawn_on:
        return
    raise ConsentError(
        f"{participant.study_id} withdrew consent on {withdrawn_on:%Y-%m-%d} "
        f"({withdrawal.get_scope_display()}): {activity.replace('_', ' ')} is not allowed"
    )


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

        if values_hash(get_protocol(), now_values) != assessment.values_sha256:
            reasons.append("data changed after eligibility was confirmed: assess and sign again")
    return reasons


def now():
    return timezone.now()


def consort_counts(*, site_ids=None, include_arms: bool = False) -> dict:
    """Screening-log numbers for the CONSORT diagram. Per-arm numbers only when the caller
    has checked that the viewer is unblinded (``include_arms=True``)."""
    from collections import Counter

    from trialdesk.enrolment.models import ScreeningEntry

    entries = ScreeningEntry.objects.all()
    if site_ids is not None:
        entries = entries.filter(site_id__in=site_ids)
    outcomes = Counter(entries.values_list("outcome", flat=True))
    criteria = Counter(
        code
        for failed in entries.filter(outcome="ineligible").values_list("failed_criteria", flat=True)
        for code in failed
    )
    out = {
        "screened": sum(outcomes.values()),
        "in_screening": outcomes.get("in_screening", 0),
        "randomized": outcomes.get("enrolled", 0),
        "not_enrolled": {
            k: v for k, v in outcomes.items() if k not in ("in_screening", "enrolled")
        },
        "failed_criteria": dict(criteria),
    }
    if include_arms:
        from trialdesk.randomization.models import Allocation

        allocations = Allocation.objects.filter(participant__screening__in=entries)
        out["by_arm"] = dict(Counter(allocations.values_list("arm", flat=True)))
    return out


def samples_to_destroy(site_ids=None):
    """Participants whose withdrawal asks for their stored samples to be destroyed (the lab's
    work list; using those samples is refused by ``require_consent(p, "sample_use")``)."""
    rows = Withdrawal.objects.filter(scope=Withdrawal.Scope.DESTROY_SAMPLES).select_related(
        "participant__site"
    )
    if site_ids is not None:
        rows = rows.filter(participant__site_id__in=site_ids)
    return rows.order_by("withdrawn_at")
