"""Saving a form: values, derived values, dependent forms, withdrawal and revision checks;
re-deriving a stored form (used by dependants and the batch run)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from trialdesk.accounts.access import require_at
from trialdesk.core.protocol.models import NONE_OF_THESE
from trialdesk.crfs import engine, hooks
from trialdesk.crfs.actions.checks import _raise_alerts, sync_auto_queries
from trialdesk.crfs.actions.common import (
    ENTRY_ROLES,
    CrfError,
    S,
    SaveOutcome,
    StaleRevision,
    _audit,
    _lock_form,
    _set_status,
    _system_values,
    clean_text,
    forms_at_visit,
    repeat_problem,
    reserved_fields,
    reserved_message,
    unexpected_fields,
)
from trialdesk.crfs.actions.copies import copied_values, copy_fields, write_copies
from trialdesk.crfs.actions.signatures import void_signatures
from trialdesk.crfs.models import (
    FormInstance,
    ItemValue,
)
from trialdesk.crfs.values import form_context
from trialdesk.participants.withdrawal import ConsentError, refuse_after_withdrawal
from trialdesk.studies.locking import refused_when_locked
from trialdesk.studies.registry import get_protocol
from trialdesk.studies.timezones import site_zone
from trialdesk.visits.actions import (
    VisitError,
    record_deviation,
    record_visit_date,
    window_facts,
    window_problem,
)


@refused_when_locked("change eCRF data")
def do_save_form(
    visit,
    form_code: str,
    acting_user,
    *,
    raw: dict,
    units: dict | None = None,
    reason: str = "",
    complete: bool = False,
    repeat: int = 1,
    expected_revision: int | None = None,
    lang: str = "en",
) -> SaveOutcome:
    """Validate and store one form. Hard errors refuse the whole save (nothing is written).

    `expected_revision` is the form's revision the caller read; the web page and the API always
    pass it (a stale one raises StaleRevision, checked under the row lock). Only programmatic
    callers (demo loader, test fixtures) may pass None.
    """
    p = get_protocol(visit.participant)
    form = p.form(form_code)
    if form_code not in forms_at_visit(visit):
        raise CrfError(f"form {form_code} is not collected at visit {visit.code}")
    problem = repeat_problem(repeat)
    if problem:
        raise CrfError(problem, {"repeat": problem})
    reason = clean_text("reason", reason)
    unexpected = unexpected_fields(form, raw, units or {})
    if unexpected:
        raise CrfError(
            "the form was not saved: it names fields that cannot be entered: "
            + ", ".join(sorted(unexpected)),
            unexpected,
        )
    if visit.missed:
        raise CrfError(
            f"visit {visit.code} was recorded as missed ({visit.missed_reason}): record its date "
            "if it took place after all"
        )
    participant = visit.participant
    role = require_at(acting_user, ENTRY_ROLES, participant.site_id, "enter data")
    with transaction.atomic(durable=True):
        _refuse_if_withdrawn(p, form, visit)
        fi, _ = FormInstance.objects.get_or_create(
            visit=visit, form_code=form_code, repeat=repeat, defaults={"participant": participant}
        )
        fi = _lock_form(fi)
        if expected_revision is not None and expected_revision != fi.revision:
            raise StaleRevision(expected_revision, fi.revision)
        if fi.status == S.LOCKED:
            raise CrfError(f"form {form_code} is locked by data management: it cannot be changed")
        reserved = reserved_fields(form, acting_user, participant.site_id)
        raw, units = _keep_reserved(form, fi, reserved, raw, units or {})
        context = form_context(participant, visit, exclude_form=fi)
        copies = copied_values(participant, form, fi.visit)  # read now, not as last stored
        system = {**_system_values(p, form, fi), **copies}
        result = engine.evaluate_form(p, form, raw, units or {}, context, system=system, lang=lang)
        if result.errors:
            raise CrfError(
                "the form was not saved: correct the values marked", result.errors, result
            )
        if complete and result.missing_required:
            raise CrfError(
                "the form cannot be marked complete: required values are missing",
                result.missing_required,
                result,
            )
        outcome = SaveOutcome(fi, result)
        _store_values(p, form, fi, result, acting_user, role, reason, outcome, reserved)
        outcome.changed += write_copies(form, fi, copies, acting_user, role)
        _date_the_visit(form, fi.visit, result, acting_user, reason, outcome)
        _after_change(fi, acting_user, role, reason, outcome, complete)
        outcome.queries_opened, outcome.queries_closed = sync_auto_queries(
            fi, result, acting_user, role
        )
        outcome.alerts = _raise_alerts(fi, result, acting_user, role)
        if outcome.changed:
            refresh_dependents(p, fi, acting_user, role)
            refresh_copies(fi, acting_user, role)
            hooks.form_saved(fi, outcome.changed, acting_user, role)
    return outcome


def _date_the_visit(form, visit, result, user, reason: str, outcome) -> None:
    """The form's visit-date field (``Form.visit_date_code``) dates the visit when no date is
    recorded yet, so a same-day screening is done, not overdue. A changed date outside the
    visit's window is kept (the data are what happened) and recorded as a protocol deviation,
    and the person is told."""
    code = form.visit_date_code()
    if code is None or code not in result.parsed:
        return
    value = result.parsed[code].json
    day = _local_day(value, visit.participant.site)
    if day is None:
        return
    if code in outcome.changed:
        problem = window_problem(visit, day)
        if problem:
            facts = {**window_facts(visit, day), "form": form.code, "item": code}
            record_deviation(
                visit, user, what=f"{form.code}.{code}: {problem}", reason=reason, facts=facts
            )
            outcome.warnings.append(f"{problem}: saved, and recorded as a protocol deviation")
    if visit.actual_date is None and day <= dt.date.today():
        try:
            record_visit_date(visit, day, user, reason=f"visit dated by form {form.code}")
        except VisitError:  # e.g. after a withdrawal: the visit stays undated, the data stay
            return
        visit.refresh_from_db(fields=["actual_date", "missed", "missed_reason"])


def _local_day(value, site) -> dt.date | None:
    """The calendar day of a stored date or date-time, in the site's zone."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(site_zone(site)).date() if when.tzinfo else when.date()


def _refuse_if_withdrawn(p, form, visit) -> None:
    """Withdrawal of consent to further data: refuse values from visits on or after it.

    Safety logs (AEs, concomitant medication) and the disposition form stay open: the sponsor
    must still report safety and record how participation ended.
    """
    if form.log or form.code == "disposition":
        return
    try:
        refuse_after_withdrawal(visit.participant, "data", visit.actual_date or visit.target_date)
    except ConsentError as exc:
        raise CrfError(f"the form was not saved: {exc}") from exc


def dependents(p, form_code: str) -> frozenset[str]:
    """Forms whose derivations or checks read a field of `form_code` (cached per protocol)."""
    cache = _DEPENDENTS.setdefault(id(p), {})
    if not cache:
        for form in p.forms.values():
            texts = [f.derived for f in form.fields.values() if f.derived]
            texts += [c.expression for c in form.checks.values()]
            for text in texts:
                for name in p.compile(text, context=form.code).names:
                    source = name.split(".", 1)[0]
                    if source != form.code:
                        cache.setdefault(source, set()).add(form.code)
    return frozenset(cache.get(form_code, ()))


_DEPENDENTS: dict[int, dict[str, set[str]]] = {}


def refresh_dependents(p, fi: FormInstance, user, role) -> None:
    """Keep other forms' derived values and automatic queries current after this change
    (e.g. a corrected delivery date changes the screening form's postpartum day)."""
    codes = dependents(p, fi.form_code)
    if not codes:
        return
    others = (
        FormInstance.objects.filter(participant=fi.participant, form_code__in=codes)
        .exclude(pk=fi.pk)
        .exclude(status__in=[S.NOT_STARTED, S.LOCKED])
        .select_related("visit", "participant__site")
    )
    for other in others:
        reason = f"derived value recomputed: {fi.form_code} changed"
        result, _outcome = check_stored_form(p, other, user, role, reason)
        sync_auto_queries(other, result, user, role)


def _target_rows(form, result: engine.FormResult) -> dict[str, dict]:
    """What each item row should hold after this save."""
    rows: dict[str, dict] = {}
    for fld in form.fields.values():
        code = fld.code
        if fld.entry == "system" and not fld.derived:
            continue
        if code in result.hidden:
            rows[code] = _row(ItemValue.Status.NOT_APPLICABLE)
        elif fld.derived:
            value = engine.to_json(fld, result.derived.get(code))
            num = (
                float(value)
                if isinstance(value, int | float) and not isinstance(value, bool)
                else None
            )
            status = ItemValue.Status.DERIVED if value is not None else ItemValue.Status.CLEARED
            rows[code] = _row(status, value=value, num=num, unit=fld.unit or "")
        elif code in result.parsed:
            pv = result.parsed[code]
            rows[code] = _row(
                ItemValue.Status.ENTERED, pv.json, pv.num, pv.unit, pv.entered, pv.entered_unit
            )
        else:
            rows[code] = _row(ItemValue.Status.CLEARED)
    return rows


def _row(status, value=None, num=None, unit="", entered="", entered_unit="") -> dict:
    return {
        "status": status,
        "value": value,
        "num_value": num,
        "unit": unit,
        "entered_value": entered,
        "entered_unit": entered_unit,
    }


def _same(row: ItemValue, target: dict) -> bool:
    return all(getattr(row, k) == v for k, v in target.items() if k != "num_value")


def _keep_reserved(form, fi, reserved, raw, units):
    """A reserved field the caller did not send keeps its stored value (the page shows it
    read-only to other roles, and an API client need not echo it); sent, it is compared."""
    if not reserved:
        return raw, units
    raw, units = dict(raw), dict(units)
    rows = {r.item: r for r in ItemValue.objects.filter(form=fi, item__in=list(reserved))}
    for code in reserved:
        row = rows.get(code)
        if code in raw or row is None or row.status != ItemValue.Status.ENTERED:
            continue
        fld = form.fields[code]
        multi = fld.type.value == "multichoice"
        raw[code] = (list(row.value or []) or [NONE_OF_THESE]) if multi else row.entered_value
        if row.entered_unit:
            units.setdefault(code, row.entered_unit)
    return raw, units


def _store_values(
    p, form, fi, result, user, role, reason, outcome: SaveOutcome, reserved=None
) -> None:
    existing = {row.item: row for row in ItemValue.objects.filter(form=fi)}
    targets = _target_rows(form, result)
    changes = []
    for code, target in targets.items():
        row = existing.get(code)
        if row is None:
            if target["status"] in (ItemValue.Status.CLEARED, ItemValue.Status.NOT_APPLICABLE):
                continue  # nothing was there, nothing is there
            changes.append((code, None, target))
        elif not _same(row, target):
            changes.append((code, row, target))
    edits = [c for c in changes if c[2]["status"] != ItemValue.Status.DERIVED]
    refused = {
        code: reserved_message(form.fields[code], reserved[code])
        for code, _row, _target in edits
        if code in (reserved or {})
    }
    if refused:
        raise CrfError(
            "the form was not saved: " + "; ".join(refused[c] for c in sorted(refused)),
            refused,
            result,
        )
    if edits and fi.past_complete and not reason.strip():
        raise CrfError(
            "this form was already complete: give a reason for change",
            {"__reason__": "a reason for change is required for changes after 'complete'"},
            result,
        )
    for code, row, target in changes:
        if row is None:
            row = ItemValue.objects.create(
                form=fi, participant=fi.participant, item=code, updated_by=user, **target
            )
            _audit("create", fi, user, role, obj=row, new=row.snapshot(), reason=reason or "entry")
        else:
            old = row.snapshot()
            for k, v in target.items():
                setattr(row, k, v)
            row.version += 1
            row.updated_by = user
            row.save()
            action = "delete" if target["status"] == ItemValue.Status.CLEARED else "change"
            _audit(
                action,
                fi,
                user,
                role,
                obj=row,
                old=old,
                new=row.snapshot(),
                reason=reason
                or (
                    "derived value recomputed"
                    if row.status == "derived"
                    else "correction before completion"
                ),
            )
        outcome.changed.append(code)


def _after_change(fi, user, role, reason, outcome: SaveOutcome, complete: bool) -> None:
    if outcome.changed:
        fi.revision += 1
        fi.save(update_fields=["revision", "updated_at"])
    if outcome.changed and fi.status in (S.VERIFIED, S.SIGNED):
        outcome.voided = void_signatures(fi, user, role, "data changed after signing/verification")
        _set_status(
            fi,
            S.COMPLETE,
            user,
            role,
            f"changed after {fi.status}: {reason}",
            verified_by=None,
            verified_at=None,
        )
    if fi.status == S.NOT_STARTED:
        _set_status(fi, S.IN_PROGRESS, user, role, "data entry started")
    if complete and fi.status == S.IN_PROGRESS:
        _set_status(fi, S.COMPLETE, user, role, reason or "marked complete")


def _stored_result(p, form, fi) -> engine.FormResult:
    result = engine.FormResult()
    system = {}
    for row in ItemValue.objects.filter(form=fi, status=ItemValue.Status.ENTERED):
        fld = form.fields.get(row.item)
        if fld is None or fld.derived:
            continue
        value = engine.from_json(fld, row.value)
        if fld.entry == "system":
            system[row.item] = value
            continue
        result.parsed[row.item] = engine.Parsed(
            value, row.value, row.num_value, row.unit, row.entered_value, row.entered_unit
        )
    result.system = system  # type: ignore[attr-defined]
    return result


def check_stored_form(
    p, fi, user=None, role="", reason="derived value recomputed by the data-quality run"
) -> tuple[engine.FormResult, SaveOutcome]:
    """Re-run every check on a stored form (inside the caller's transaction)."""
    form = p.form(fi.form_code)
    result = _stored_result(p, form, fi)
    for code, pv in list(result.parsed.items()):
        fld = form.fields[code]
        if pv.num is not None:
            try:
                engine._check_hard(fld, pv.num, engine.fmt_num(pv.num), fld.unit or "")
            except engine.FieldInvalid as exc:
                result.queries.append(engine.Issue(code, str(exc), origin="soft_limit"))
    engine.evaluate_parsed(
        p, form, result, form_context(fi.participant, fi.visit, exclude_form=fi), result.system
    )  # type: ignore[attr-defined]
    for code, message in result.errors.items():  # hard checks on stored data become queries
        result.queries.append(
            engine.Issue("" if code == "__form__" else code, message, origin="check", check="hard")
        )
    outcome = SaveOutcome(fi, result)
    # Only derived values may be rewritten by the batch run; entered values are never touched.
    existing = {r.item: r for r in ItemValue.objects.filter(form=fi)}
    targets = _target_rows(form, result)
    for code in result.derived:
        target, row = targets[code], existing.get(code)
        if row is None:
            if target["status"] != ItemValue.Status.DERIVED:
                continue
            row = ItemValue.objects.create(
                form=fi, participant=fi.participant, item=code, updated_by=user, **target
            )
            _audit("create", fi, user, role, obj=row, new=row.snapshot(), reason=reason)
        elif row.status in (ItemValue.Status.DERIVED, ItemValue.Status.CLEARED) and not _same(
            row, target
        ):
            old = row.snapshot()
            for k, v in target.items():
                setattr(row, k, v)
            row.version += 1
            row.save()
            _audit("change", fi, user, role, obj=row, old=old, new=row.snapshot(), reason=reason)
        else:
            continue
        outcome.changed.append(code)
    return result, outcome


def refresh_copies(fi, acting_user, role) -> None:
    """After ``fi`` changed: every other instance of its form for the participant that copies
    a value from ``fi``'s visit gets the new value, and its derivations and checks run again."""
    protocol = get_protocol(fi.participant)
    form = protocol.form(fi.form_code)
    sources = {f.copy_of.rpartition(".")[0] for f in copy_fields(form)}
    if fi.visit.code not in sources:
        return
    others = (
        FormInstance.objects.filter(participant=fi.participant, form_code=fi.form_code)
        .exclude(visit=fi.visit)
        .select_related("visit", "participant__site")
    )
    for other in others:
        other = _lock_form(other)
        copies = copied_values(fi.participant, form, other.visit)
        if other.status == S.LOCKED:
            continue  # a locked form keeps its values; the data-quality run reports the drift
        changed = write_copies(form, other, copies, acting_user, role)
        if not changed:
            continue
        outcome = SaveOutcome(other, engine.FormResult())
        outcome.changed = changed
        reason = f"copied value changed at visit {fi.visit.code}"
        _after_change(other, acting_user, role, reason, outcome, complete=False)
        result, _ = check_stored_form(protocol, other, acting_user, role, reason)
        sync_auto_queries(other, result, acting_user, role)
        hooks.form_saved(other, changed, acting_user, role)
