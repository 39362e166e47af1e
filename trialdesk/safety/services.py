"""The AE record kept in step with the AE eCRF log form (``crfs.hooks.on_form_saved``).

Every change to the protocol's AE form (``adverse_events.form``) makes a new ``AEVersion`` with
the form's full values, updates the ``AdverseEvent`` snapshot and the reporting clocks:

- serious → ``sae_initial``: due ``clocks.sae_initial_hours`` after the site's awareness;
- SUSAR (serious, related, not expected — unanswered counts as unexpected, ICH E2A) →
  ``susar_7d`` when fatal or life-threatening, else ``susar_15d``, from the same awareness;
- an open clock the AE no longer calls for is closed with a ``void_reason`` (kept, audited).

Without an awareness time (the protocol names no field, or it is blank) a clock starts when the
system first recorded the AE as qualifying. Runs inside the save's transaction: raising refuses
the save (a CTCAE term not in the shipped list).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from trialdesk.audit.actions import record
from trialdesk.crfs.actions import CrfError
from trialdesk.crfs.models import ItemValue
from trialdesk.randomization.models import Dosing
from trialdesk.safety import ctcae, findings
from trialdesk.safety.models import AdverseEvent, AEVersion, ReportClock
from trialdesk.studies.registry import get_protocol
from trialdesk.studies.timezones import site_zone

K = ReportClock.Kind


def ae_spec(participant_or_study):
    return get_protocol(participant_or_study).adverse_events


def stored_values(fi) -> dict[str, object]:
    """The form's current canonical values (cleared and not-applicable items left out)."""
    live = (ItemValue.Status.ENTERED, ItemValue.Status.DERIVED)
    return {row.item: row.value for row in fi.items.all() if row.status in live}


def _instant(value, zone) -> dt.datetime | None:
    """A stored datetime (naive, site wall time) or date as an aware instant."""
    if not value:
        return None
    if len(str(value)) == 10:
        value = f"{value}T00:00"
    when = dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=zone)


def check_ctcae_term(spec, values: dict) -> None:
    code = spec.fields.ctcae_term
    text = values.get(code) if code else None
    if text and ctcae.lookup(str(text)) is None:
        message = ctcae.refusal(code, str(text))
        raise CrfError(f"the form was not saved: {message}", {code: message})


def on_form_saved(fi, changed: list[str], acting_user, role) -> None:
    """Registered from SafetyConfig.ready()."""
    participant = fi.participant
    spec = ae_spec(participant)
    if spec is None:
        return
    if fi.form_code != spec.form:
        findings.on_form_saved(fi, spec, changed, acting_user, role)
        return
    values = stored_values(fi)
    check_ctcae_term(spec, values)
    now = timezone.now()
    ae = AdverseEvent.objects.select_for_update().filter(form=fi).first()
    created = ae is None
    if created:
        ae = AdverseEvent(participant=participant, form=fi, created_at=now)
    old = None if created else ae.snapshot()
    _apply_values(ae, spec, values, site_zone(participant.site))
    ae.dosing_reaction = reaction_for(ae)
    ae.version += 1
    ae.updated_at = now
    ae.save()
    version = AEVersion.objects.create(
        adverse_event=ae,
        number=ae.version,
        values=values,
        changed=sorted(changed),
        form_revision=fi.revision,
        recorded_at=now,
        recorded_by=acting_user,
        role=role or "",
    )
    common = {"actor": acting_user, "role": role or "", "site": participant.site}
    common["participant"] = participant.subject_id
    record("create" if created else "change", obj=ae, old=old, new=ae.snapshot(), **common)
    record("create", obj=version, new=version_snapshot(version), **common)
    sync_clocks(ae, spec, now, acting_user, role, common)
    findings.link_ae(ae, acting_user, role)


def reaction_for(ae: AdverseEvent) -> Dosing | None:
    """The dosing reaction this AE reports: kept once linked while the AE is coded with a
    reaction term; linked when it is so coded and the participant's dosing recorded a
    reaction that no other AE reports yet; unlinked when the term changes to another."""
    if ae.ctcae_term not in ctcae.INFUSION_TERMS:
        return None
    if ae.dosing_reaction_id:
        return ae.dosing_reaction
    taken = AdverseEvent.objects.filter(dosing_reaction__isnull=False).exclude(pk=ae.pk)
    return (
        Dosing.objects.filter(participant=ae.participant, infusion_reaction=True)
        .exclude(pk__in=taken.values("dosing_reaction"))
        .first()
    )


def version_snapshot(version: AEVersion) -> dict:
    return {
        "adverse_event": version.adverse_event_id,
        "number": version.number,
        "form_revision": version.form_revision,
        "changed": list(version.changed),
    }


def _apply_values(ae: AdverseEvent, spec, values: dict, zone) -> None:
    f = spec.fields

    def get(code):
        return values.get(code) if code else None

    ae.term = str(get(f.term) or "")
    found = ctcae.lookup(str(get(f.ctcae_term) or ""))
    ae.ctcae_term = found["term"] if found else ""
    ae.grade = str(get(f.grade) or "")
    ae.serious = bool(get(f.serious))
    ae.seriousness = sorted(get(f.seriousness) or []) if ae.serious else []
    ae.relatedness = str(get(f.relatedness) or "")
    ae.related = ae.relatedness in spec.related
    expected = get(f.expected)
    ae.expected = None if expected is None else bool(expected)
    ae.outcome = str(get(f.outcome) or "")
    ae.life_threatening = bool(
        set(ae.seriousness) & set(spec.life_threatening) or ae.outcome in spec.fatal_outcomes
    )
    ae.susar = ae.serious and ae.related and ae.expected is not True
    ae.onset_at = _instant(get(f.onset), zone)
    ae.aware_at = _instant(get(f.awareness), zone)


def required_kinds(ae: AdverseEvent) -> list[str]:
    kinds = []
    if ae.serious:
        kinds.append(K.SAE_INITIAL)
    if ae.susar:
        kinds.append(K.SUSAR_7D if ae.life_threatening else K.SUSAR_15D)
    return kinds


def deadline(kind: str, started: dt.datetime, clocks) -> dt.datetime:
    if kind == K.SAE_INITIAL:
        return started + dt.timedelta(hours=clocks.sae_initial_hours)
    days = clocks.susar_fatal_days if kind == K.SUSAR_7D else clocks.susar_other_days
    return started + dt.timedelta(days=days)


def sync_clocks(ae: AdverseEvent, spec, now, acting_user, role, common: dict) -> None:
    wanted = required_kinds(ae)
    existing = {c.kind: c for c in ae.clocks.select_for_update()}
    for kind in wanted:
        clock = existing.get(kind)
        started = ae.aware_at or (clock.started_at if clock else now)
        due = deadline(kind, started, spec.clocks)
        if clock is None:
            clock = ReportClock.objects.create(
                adverse_event=ae, kind=kind, started_at=started, due_at=due
            )
            record("create", obj=clock, new=clock.snapshot(), **common)
            continue
        old = clock.snapshot()
        if clock.void_reason:  # the AE qualifies again: the clock runs again
            clock.closed_at, clock.closed_by, clock.void_reason = None, None, ""
        elif not clock.is_open or (clock.started_at, clock.due_at) == (started, due):
            continue
        clock.started_at, clock.due_at = started, due
        clock.save()
        record("change", obj=clock, old=old, new=clock.snapshot(), **common)
    for kind, clock in existing.items():
        if kind in wanted or not clock.is_open:
            continue
        old = clock.snapshot()
        clock.closed_at, clock.closed_by = now, acting_user
        clock.void_reason = f"no longer required by the adverse event (version {ae.version})"
        clock.save()
        record("status", obj=clock, old=old, new=clock.snapshot(), **common)
