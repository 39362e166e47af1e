"""Test helpers: a screened woman with eCRF data entered through the data-capture action."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def screening_data(
    *, today: dt.date, delivery_mode: str = "CS_EMERGENCY", severe: bool = True, **overrides
) -> dict[str, dict[str, str]]:
    """form → raw answers of an eligible participant (override any "form.field")."""
    delivered = today - dt.timedelta(days=8)
    data = {
        "screening": {
            "visit_date": today.isoformat(),
            "date_of_birth": "1995-03-02",
            "sex": "F",
            "pe_diagnosis_confirmed": "yes",
            "chronic_htn_prepregnancy": "no",
            "major_cvd": "no",
            "active_infection": "no",
            "endothelial_injury_history": "no",
            "smoking_active": "no",
            "vaping_active": "no",
            "alcohol_active": "no",
            "drug_addiction": "no",
            "able_to_consent": "yes",
            # pe_diagnosis_confirmed is the investigator's own item (entered_by: investigator);
            # investigator_signoff is filled by the eligibility signature (source)
        },
        "demog": {
            "gravida": "1",
            "para": "1",
            "abortus": "0",
            "delivery_date": delivered.isoformat(),
            "delivery_mode": delivery_mode,
            "ga_weeks": "37",
            "ga_days": "2",
            "pe_diagnosis_date": (delivered - dt.timedelta(days=10)).isoformat(),
            "pe_criteria": "ACOG2020",
            "highest_sbp": "165" if severe else "150",
            "highest_dbp": "105",
            "proteinuria_upcr": "0.6",
            "sf_severe_bp": "yes" if severe else "no",
            "sf_thrombocytopenia": "no",
            "sf_liver": "no",
            "sf_renal": "no",
            "sf_pulmonary_edema": "no",
            "sf_cerebral_visual": "no",
        },
        # Time, version and who obtained it come from the consent record (do_record_consent).
        "consent": {"participant_signed": "yes", "copy_given": "yes"},
    }
    for key, value in overrides.items():
        form, field = key.split(".")
        if value is None:
            data[form].pop(field, None)
        else:
            data[form][field] = value
    return data


def enter(participant, user, data: dict[str, dict[str, str]], investigator=None) -> None:
    """Save the forms as ``user``; items the protocol reserves to a role ``user`` does not hold
    (``entered_by: investigator``) are then saved by ``investigator`` (default: the site's
    first active investigator), as a site works."""
    from trialdesk.crfs.actions import do_save_form, reserved_fields
    from trialdesk.studies.registry import get_protocol
    from trialdesk.visits.models import Visit

    visit = Visit.objects.get(participant=participant, code="SCR")
    protocol = get_protocol(participant)
    for form in ("demog", "screening", "consent"):
        if form in data:
            reserved = reserved_fields(protocol.form(form), user, participant.site_id)
            raw = {k: v for k, v in data[form].items() if k not in reserved}
            do_save_form(visit, form, user, raw=raw, reason="test data")
            if any(k in reserved for k in data[form]):
                other = investigator or _investigator_at(participant.site)
                do_save_form(visit, form, other, raw=data[form], reason="test data")


def _investigator_at(site):
    from trialdesk.accounts.models import Membership, Role

    m = (
        Membership.objects.filter(site=site, role=Role.INVESTIGATOR, active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if m is None:
        raise LookupError(f"no investigator at site {site.code}")
    return m.user


def screened(site, coordinator, *, data=None, **kw):
    """A participant in screening with the eligible data (or ``data``) entered."""
    from trialdesk.enrolment.actions import do_screen_participant

    today = timezone.localdate()
    entry = do_screen_participant(site, coordinator, screened_on=today)
    enter(entry.participant, coordinator, data or screening_data(today=today, **kw))
    return entry.participant


def ready_to_randomize(site, coordinator, investigator, password, **kw):
    """Screened, eligible, consented and signed off: the state randomization needs."""
    from trialdesk.enrolment.actions import (
        do_assess_eligibility,
        do_confirm_eligibility,
        do_record_consent,
    )

    participant = screened(site, coordinator, **kw)
    do_record_consent(
        participant,
        coordinator,
        version="ICF-2.0",
        consented_at=timezone.now() - dt.timedelta(hours=1),
    )
    assessment = do_assess_eligibility(participant, coordinator)
    do_confirm_eligibility(assessment, investigator, password=password)
    return participant


def ready_in_any_study(site, coordinator, investigator, password, *, seed: int = 7):
    """As ``ready_to_randomize`` for any study: the screening visit's forms are filled from the
    study's protocol alone (core.simulate.synth.generic, an eligible participant), the
    investigator adds her own items, then consent, assessment and sign-off."""
    from trialdesk.core.simulate.synth.generic import GenericSynth
    from trialdesk.crfs.actions import do_save_form, reserved_fields
    from trialdesk.enrolment.actions import (
        do_assess_eligibility,
        do_confirm_eligibility,
        do_record_consent,
        do_screen_participant,
    )
    from trialdesk.studies.registry import get_protocol
    from trialdesk.visits.models import Visit

    protocol = get_protocol(site.study_id)
    today = timezone.localdate()
    participant = do_screen_participant(site, coordinator, screened_on=today).participant
    person = GenericSynth(protocol, seed, eligible_rate=1.0).participant(
        participant.subject_id, anchor=today + dt.timedelta(days=1), site=site.code
    )
    first = next(v for v in protocol.visits.values() if v.day is not None)
    visit = Visit.objects.get(participant=participant, code=first.code)
    for form_code in first.forms:
        form = protocol.form(form_code)
        raw = person.form(first.code, form_code, visit_date=today, roles=("investigator",))
        reserved = reserved_fields(form, coordinator, site.pk)
        do_save_form(
            visit,
            form_code,
            coordinator,
            raw={k: v for k, v in raw.items() if k not in reserved},
            reason="test data",
        )
        if reserved:
            do_save_form(visit, form_code, investigator, raw=raw, reason="test data")
    version = next(iter(protocol.consent_versions))
    do_record_consent(
        participant,
        coordinator,
        version=version,
        consented_at=timezone.now() - dt.timedelta(hours=1),
    )
    assessment = do_assess_eligibility(participant, coordinator)
    do_confirm_eligibility(assessment, investigator, password=password)
    return participant
