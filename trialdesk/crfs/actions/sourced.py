"""eCRF items filled from an action's record (``FormField.source``): one source of truth.

Consent, the eligibility signature, allocation, preparation and dosing are recorded by their
own actions (enrolment, randomization). Each of those actions calls `fill_from_record` inside
its own transaction with the record's values; the matching items of every form that names them
as ``source`` are written here, audited as changes by the person who recorded the action, with
the record named as the reason. The data-entry page shows them read-only with a link to the
record, and a save that sends them is refused (``common.unexpected_fields``).
"""

from __future__ import annotations

from trialdesk.core.protocol.sources import RECORD_LABELS, record_of
from trialdesk.crfs import engine, hooks
from trialdesk.crfs.actions.checks import sync_auto_queries
from trialdesk.crfs.actions.common import CrfError, S, SaveOutcome, _lock_form
from trialdesk.crfs.actions.copies import _typed, differs, put_system_value, system_target
from trialdesk.crfs.actions.values import _after_change, check_stored_form, refresh_dependents
from trialdesk.crfs.models import FormInstance, ItemValue
from trialdesk.studies.registry import get_protocol
from trialdesk.studies.timezones import site_zone


def sourced_fields(protocol, record: str) -> dict[str, list]:
    """form code → the fields of that form filled from `record` (in protocol order)."""
    out: dict[str, list] = {}
    for form in protocol.forms.values():
        for fld in form.fields.values():
            if fld.source and record_of(fld.source) == record:
                out.setdefault(form.code, []).append(fld)
    return out


def home_visit(participant, protocol, form_code: str):
    """The first scheduled visit that collects `form_code` (its first occurrence), or None."""
    for spec in protocol.visits.values():
        if form_code in spec.forms:
            visit = participant.visits.filter(code=spec.code, repeat=1).first()
            if visit is not None:
                return visit
    return None


def fill_from_record(participant, record: str, values: dict, acting_user, role, *, reason: str):
    """Write the items sourced from `record` (``values``: attribute → value) into every form
    that has them; call inside the action's durable transaction. Returns the forms changed."""
    protocol = get_protocol(participant)
    targets = sourced_fields(protocol, record)
    if not targets:
        return []
    zone = site_zone(participant.site)
    why = f"from the {RECORD_LABELS.get(record, record)}: {reason}" if reason else ""
    why = why or f"from the {RECORD_LABELS.get(record, record)}"
    changed_forms = []
    for form_code, fields in targets.items():
        visit = home_visit(participant, protocol, form_code)
        if visit is None:
            continue
        fi, _ = FormInstance.objects.get_or_create(
            visit=visit, form_code=form_code, repeat=1, defaults={"participant": participant}
        )
        fi = _lock_form(fi)
        existing = {r.item: r for r in ItemValue.objects.filter(form=fi)}
        outcome = SaveOutcome(fi, engine.FormResult())
        for fld in fields:
            attr = fld.source.split(".", 1)[1]
            if attr not in values:
                continue
            target = system_target(fld, _typed(fld, values[attr], zone))
            row = existing.get(fld.code)
            if not differs(row, target):
                continue
            if fi.status == S.LOCKED:
                raise CrfError(
                    f"form {form_code} is locked by data management, so {fld.code} cannot be "
                    f"filled from the {RECORD_LABELS.get(record, record)}: ask the data "
                    "manager to unlock it first"
                )
            put_system_value(fi, fld, target, row, acting_user, role, why)
            outcome.changed.append(fld.code)
        if not outcome.changed:
            continue
        _after_change(fi, acting_user, role, why, outcome, complete=False)
        result, _ = check_stored_form(protocol, fi, acting_user, role, why)
        sync_auto_queries(fi, result, acting_user, role)
        refresh_dependents(protocol, fi, acting_user, role)
        hooks.form_saved(fi, outcome.changed, acting_user, role)
        changed_forms.append(form_code)
    return changed_forms
