"""Every write to eCRF data: saving a form (values, derived values, auto-queries, alerts),
the form life cycle (verify, sign, lock, unlock), queries and alerts, the batch data-quality run.

Each `do_*` runs in one durable transaction and writes its audit events in it. Role checks are
repeated here (views check first): signing, verifying and locking are operational checks of
21 CFR 11.10(f)/(g), and must hold whatever calls them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts import reauth
from trialdesk.accounts.access import require_at
from trialdesk.accounts.models import Membership, Role
from trialdesk.audit.actions import record
from trialdesk.core.text import TextTooLong, check_text
from trialdesk.crfs import engine
from trialdesk.crfs.models import (
    ClinicalAlert,
    FormInstance,
    ItemValue,
    Query,
    QueryMessage,
    Signature,
)
from trialdesk.crfs.values import form_context
from trialdesk.studies.registry import get_protocol

S = FormInstance.Status
ENTRY_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR)
QUERY_ROLES = (Role.MONITOR, Role.DATA_MANAGER, Role.INVESTIGATOR)
SIGNATURE_MEANING = (
    "I have reviewed the data on this form and confirm that it is accurate and complete "
    "(investigator's responsibility)"
)


class CrfError(ValueError):
    """A write was refused; `errors` maps field code (or "__form__"/"__reason__") → message."""

    def __init__(self, message: str, errors: dict[str, str] | None = None, result=None):
        super().__init__(message)
        self.errors = errors or {"__form__": message}
        self.result = result


class StaleRevision(CrfError):
    """The form changed since the caller read it (optimistic concurrency): HTTP 409."""

    def __init__(self, expected: int, current: int):
        super().__init__(
            f"someone else saved this form after you opened it (your revision {expected}, "
            f"the form is now at revision {current}): nothing was saved; reload the form to see "
            "their changes",
            {"revision": f"stale: the form is now at revision {current}"},
        )
        self.expected, self.current = expected, current


def clean_text(field_name: str, text: str | None, kind: str | None = None) -> str:
    """Free text within its limit (trialdesk.core.text.LIMITS), stripped; else CrfError."""
    try:
        return check_text(field_name, text, kind)
    except TextTooLong as exc:
        raise CrfError(str(exc), {field_name: str(exc)}) from exc


#: Repeats of one form at one visit (AE and medication logs): 1 to MAX_REPEAT.
MAX_REPEAT = 999
#: Keys of a page POST that are not field values.
CONTROL_KEYS = frozenset({"csrfmiddlewaretoken", "revision", "reason", "save", "complete"})


def repeat_problem(repeat) -> str | None:
    """None when `repeat` is a storable form repeat, else the message naming the range."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        return f"repeat = {repeat} is outside the allowed range 1 to {MAX_REPEAT}"
    return None


def unexpected_fields(form, values=(), units=()) -> dict[str, str]:
    """Keys that are not entry fields of `form` → why each is refused (finding 11: nothing a
    client sends is silently dropped)."""
    problems: dict[str, str] = {}
    for key in values:
        fld = form.fields.get(key)
        if fld is None:
            problems[key] = f"{key}: form {form.code} has no such field"
        elif fld.derived:
            problems[key] = f"{key}: a derived value, calculated by the system; it cannot be sent"
        elif fld.entry != "site":
            problems[key] = f"{key}: a system field, set by the system; it cannot be sent"
    for key in units:
        fld = form.fields.get(key)
        if key in problems:
            continue
        if fld is None or fld.derived or fld.entry != "site":
            problems[key] = f"{key}: form {form.code} has no entry field of that name for a unit"
        elif not fld.units:
            problems[key] = f"{key}: this field has one fixed unit ({fld.unit or 'none'})"
    return problems


@dataclass
class SaveOutcome:
    form: FormInstance
    result: engine.FormResult
    changed: list[str] = field(default_factory=list)
    queries_opened: int = 0
    queries_closed: int = 0
    alerts: int = 0
    voided: bool = False


def _audit(action, fi: FormInstance, user, role, *, obj=None, old=None, new=None, reason=""):
    record(
        action,
        actor=user,
        role=role,
        site=fi.participant.site,
        obj=obj or fi,
        participant=fi.participant.study_id,
        old=old,
        new=new,
        reason=reason,
    )


def _lock_form(fi_or_pk) -> FormInstance:
    pk = getattr(fi_or_pk, "pk", fi_or_pk)
    return (
        FormInstance.objects.select_for_update()
        .select_related("participant__site", "visit")
        .get(pk=pk)
    )


def forms_at_visit(visit) -> list[str]:
    """Form codes that may be entered at `visit`: the visit's own, plus the log forms."""
    p = get_protocol()
    spec = p.visits.get(visit.code)
    own = list(spec.forms) if spec else []
    return own + [code for code in p.log_forms() if code not in own]


def _system_values(p, form, fi) -> dict[str, object]:
    rows = ItemValue.objects.filter(form=fi, status=ItemValue.Status.ENTERED)
    out = {}
    for row in rows:
        fld = form.fields.get(row.item)
        if fld is not None and fld.entry == "system":
            out[row.item] = engine.from_json(fld, row.value)
    return out


# --------------------------------------------------------------------------- saving a form
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
    p = get_protocol()
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
        context = form_context(participant, visit, exclude_form=fi)
        result = engine.evaluate_form(
            p, form, raw, units or {}, context, system=_system_values(p, form, fi), lang=lang
        )
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
        _store_values(p, form, fi, result, acting_user, role, reason, outcome)
        _after_change(fi, acting_user, role, reason, outcome, complete)
        outcome.queries_opened, outcome.queries_closed = sync_auto_queries(
            fi, result, acting_user, role
        )
        outcome.alerts = _raise_alerts(fi, result, acting_user, role)
        if outcome.changed:
            refresh_dependents(p, fi, acting_user, role)
    return outcome


def _refuse_if_withdrawn(p, form, visit) -> None:
    """Withdrawal of consent to further data: refuse values from visits on or after it.

    Safety logs (AEs, concomitant medication) and the disposition form stay open: the sponsor
    must still report safety and record how participation ended.
    """
    if form.log or form.code == "disposition":
        return
    from trialdesk.enrolment.services import ConsentError, refuse_after_withdrawal

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


def _store_values(p, form, fi, result, user, role, reason, outcome: SaveOutcome) -> None:
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


def _set_status(fi, status, user, role, reason, **extra) -> None:
    old = fi.status
    fi.status = status
    for k, v in extra.items():
        setattr(fi, k, v)
    fi.save()
    _audit(
        "status",
        fi,
        user,
        role,
        old={"status": old},
        new={"status": status, "form": fi.form_code},
        reason=reason,
    )


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


def void_signatures(fi, user, role, why: str) -> bool:
    voided = False
    for sig in Signature.objects.select_for_update().filter(form=fi, voided_at__isnull=True):
        sig.voided_at, sig.void_reason = timezone.now(), why
        sig.save(update_fields=["voided_at", "void_reason"])
        _audit(
            "status",
            fi,
            user,
            role,
            obj=sig,
            old={"signature": "valid"},
            new={"signature": "void", "signed_by": sig.printed_name},
            reason=why,
        )
        voided = True
    return voided


# --------------------------------------------------------------------------- auto queries, alerts
def _value_snapshot(fi, item: str):
    row = ItemValue.objects.filter(form=fi, item=item).first() if item else None
    return row.value if row else None


def _issue_key(origin, item, check) -> tuple[str, str, str]:
    return (origin, item, check)


def sync_auto_queries(fi, result: engine.FormResult, user, role) -> tuple[int, int]:
    """Open a query for each firing soft limit / query check that has none; close the automatic
    queries whose check no longer fires. A query closed on the same value is not re-opened."""
    wanted = {_issue_key(i.origin, i.item, i.check): i for i in result.queries}
    current = {
        _issue_key(q.origin, q.item, q.check_code): q
        for q in Query.objects.filter(form=fi)
        .exclude(origin=Query.Origin.MANUAL)
        .order_by("created_at", "id")
    }
    opened = closed = 0
    for key, issue in wanted.items():
        snapshot = _value_snapshot(fi, issue.item)
        q = current.get(key)
        if q and (q.is_open or q.value_snapshot == snapshot):
            continue
        query = Query.objects.create(
            form=fi,
            participant=fi.participant,
            item=issue.item,
            check_code=issue.check,
            origin=issue.origin,
            text=issue.message,
            value_snapshot=snapshot,
        )
        QueryMessage.objects.create(query=query, kind=QueryMessage.Kind.OPEN, text=issue.message)
        _audit(
            "create",
            fi,
            user,
            role,
            obj=query,
            new={
                "query": issue.message,
                "item": issue.item,
                "check": issue.check,
                "value": snapshot,
            },
            reason="opened automatically by an edit check",
        )
        opened += 1
    for key, q in current.items():
        if key not in wanted and q.is_open:
            _close(q, None, fi, role, "closed automatically: the check no longer fires")
            closed += 1
    return opened, closed


def _close(q, user, fi, role, text) -> None:
    old = q.status
    q.status = Query.Status.CLOSED
    q.save(update_fields=["status", "updated_at"])
    QueryMessage.objects.create(query=q, kind=QueryMessage.Kind.CLOSE, text=text, author=user)
    _audit(
        "status", fi, user, role, obj=q, old={"status": old}, new={"status": "closed"}, reason=text
    )


def _raise_alerts(fi, result, user, role) -> int:
    made = 0
    for issue in result.alerts:
        if ClinicalAlert.objects.filter(
            form=fi, check_code=issue.check, acknowledged_at__isnull=True
        ).exists():
            continue
        alert = ClinicalAlert.objects.create(
            form=fi, participant=fi.participant, check_code=issue.check, message=issue.message
        )
        _audit(
            "create",
            fi,
            user,
            role,
            obj=alert,
            new={"alert": issue.message, "check": issue.check},
            reason="clinical alert: investigator notified",
        )
        transaction.on_commit(lambda a=alert: notify_investigators(a))
        made += 1
    return made


def notify_investigators(alert: ClinicalAlert) -> None:
    site = alert.participant.site
    emails = list(
        Membership.objects.filter(role=Role.INVESTIGATOR, site=site, active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if emails:
        send_mail(
            f"[trialdesk] clinical alert for {alert.participant.study_id}",
            f"{alert.message}\n\nParticipant {alert.participant.study_id}, form {alert.form.form_code}, "
            f"visit {alert.form.visit.code}. Please review and acknowledge in trialdesk.",
            None,
            emails,
            fail_silently=True,
        )


def do_acknowledge_alert(alert: ClinicalAlert, acting_user, *, note: str = "") -> None:
    note = clean_text("note", note)
    site_id = alert.participant.site_id
    role = require_at(acting_user, (Role.INVESTIGATOR,), site_id, "acknowledge clinical alerts")
    with transaction.atomic(durable=True):
        alert = ClinicalAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at:
            return
        alert.acknowledged_by, alert.acknowledged_at = acting_user, timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        _audit(
            "status",
            alert.form,
            acting_user,
            role,
            obj=alert,
            old={"acknowledged": False},
            new={"acknowledged": True},
            reason=note or "alert acknowledged",
        )


# --------------------------------------------------------------------------- manual queries
def do_open_query(fi: FormInstance, acting_user, *, item: str, text: str) -> Query:
    text, item = clean_text("text", text), clean_text("item", item)
    if not text.strip():
        raise CrfError("write the question")
    role = require_at(acting_user, QUERY_ROLES, fi.participant.site_id, "raise queries")
    if item and item not in get_protocol().form(fi.form_code).fields:
        raise CrfError(f"form {fi.form_code} has no item {item!r}")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        q = Query.objects.create(
            form=fi,
            participant=fi.participant,
            item=item,
            origin=Query.Origin.MANUAL,
            text=text.strip(),
            opened_by=acting_user,
            value_snapshot=_value_snapshot(fi, item),
        )
        QueryMessage.objects.create(
            query=q, kind=QueryMessage.Kind.OPEN, text=text.strip(), author=acting_user
        )
        _audit(
            "create",
            fi,
            acting_user,
            role,
            obj=q,
            new={"query": q.text, "item": item},
            reason="query raised",
        )
    return q


def _query_step(q: Query, acting_user, roles, what, kind, new_status, text, allowed_from) -> Query:
    text = clean_text("text", text)
    if not text.strip():
        raise CrfError("write a message")
    fi = q.form
    role = require_at(acting_user, roles, fi.participant.site_id, what)
    with transaction.atomic(durable=True):
        q = Query.objects.select_for_update().get(pk=q.pk)
        if q.status not in allowed_from:
            raise CrfError(f"the query is {q.status}: it cannot be {kind}ed now")
        old = q.status
        q.status = new_status
        q.save(update_fields=["status", "updated_at"])
        QueryMessage.objects.create(query=q, kind=kind, text=text.strip(), author=acting_user)
        _audit(
            "status",
            fi,
            acting_user,
            role,
            obj=q,
            old={"status": old},
            new={"status": new_status},
            reason=text.strip(),
        )
    return q


def do_answer_query(q: Query, acting_user, *, text: str) -> Query:
    return _query_step(
        q,
        acting_user,
        ENTRY_ROLES,
        "answer queries",
        QueryMessage.Kind.ANSWER,
        Query.Status.ANSWERED,
        text,
        (Query.Status.OPEN, Query.Status.ANSWERED),
    )


def do_reopen_query(q: Query, acting_user, *, text: str) -> Query:
    return _query_step(
        q,
        acting_user,
        QUERY_ROLES,
        "re-open queries",
        QueryMessage.Kind.REOPEN,
        Query.Status.OPEN,
        text,
        (Query.Status.ANSWERED, Query.Status.CLOSED),
    )


def do_close_query(q: Query, acting_user, *, text: str) -> Query:
    return _query_step(
        q,
        acting_user,
        (Role.MONITOR, Role.DATA_MANAGER),
        "close queries",
        QueryMessage.Kind.CLOSE,
        Query.Status.CLOSED,
        text,
        (Query.Status.OPEN, Query.Status.ANSWERED),
    )


# --------------------------------------------------------------------------- life cycle
def content_hash(fi: FormInstance) -> str:
    rows = sorted((r.item, r.value, r.unit, r.status) for r in ItemValue.objects.filter(form=fi))
    payload = {
        "participant": fi.participant.study_id,
        "visit": fi.visit.code,
        "form": fi.form_code,
        "repeat": fi.repeat,
        "revision": fi.revision,
        "items": rows,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def do_verify_form(fi: FormInstance, acting_user) -> FormInstance:
    role = require_at(acting_user, (Role.MONITOR,), fi.participant.site_id, "source-verify forms")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status != S.COMPLETE:
            raise CrfError(
                f"only a complete form can be source-verified (this one is {fi.get_status_display().lower()})"
            )
        _set_status(
            fi,
            S.VERIFIED,
            acting_user,
            role,
            "source data verified",
            verified_by=acting_user,
            verified_at=timezone.now(),
        )
    return fi


def _failed_signature(fi, user, role, why: str = "wrong password") -> None:
    with transaction.atomic(durable=True):
        _audit(
            "login_failed",
            fi,
            user,
            role,
            new={"signature": f"refused: {why}"},
            reason="signature attempt with a wrong password",
        )


def do_sign_form(
    fi: FormInstance,
    acting_user,
    *,
    password: str,
    meaning: str = SIGNATURE_MEANING,
    request=None,
) -> Signature:
    """Sign (21 CFR 11.50/11.200): password re-entered, printed name, UTC time and meaning kept
    with the hash of the content signed. With `request`, a wrong password counts toward the
    login lockout and the lockout ends the session (accounts.reauth)."""
    role = require_at(acting_user, (Role.INVESTIGATOR,), fi.participant.site_id, "sign forms")
    try:
        reauth.check_password(acting_user, password, request=request)
    except reauth.Refused as exc:
        _failed_signature(fi, acting_user, role, str(exc))
        raise CrfError(f"{exc}: the form was not signed", {"password": str(exc)}) from None
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status not in (S.COMPLETE, S.VERIFIED):
            raise CrfError(
                f"only a complete form can be signed (this one is {fi.get_status_display().lower()})"
            )
        sig = Signature.objects.create(
            form=fi,
            signer=acting_user,
            printed_name=acting_user.display_name(),
            meaning=meaning,
            signed_at=timezone.now(),
            content_hash=content_hash(fi),
            revision=fi.revision,
        )
        _audit(
            "sign",
            fi,
            acting_user,
            role,
            obj=sig,
            new={
                "printed_name": sig.printed_name,
                "meaning": meaning,
                "signed_at": sig.signed_at,
                "content_hash": sig.content_hash,
            },
            reason=meaning,
        )
        fi.status_before_lock = ""
        _set_status(fi, S.SIGNED, acting_user, role, "signed by the investigator")
    return sig


def do_lock_form(fi: FormInstance, acting_user, *, reason: str = "") -> FormInstance:
    reason = clean_text("reason", reason)
    role = require_at(acting_user, (Role.DATA_MANAGER,), fi.participant.site_id, "lock forms")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status not in (S.COMPLETE, S.VERIFIED, S.SIGNED):
            raise CrfError(
                f"only a complete form can be locked (this one is {fi.get_status_display().lower()})"
            )
        if Query.objects.filter(form=fi).exclude(status=Query.Status.CLOSED).exists():
            raise CrfError("the form has open queries: close them before locking")
        before = fi.status
        _set_status(
            fi,
            S.LOCKED,
            acting_user,
            role,
            reason or "locked by data management",
            status_before_lock=before,
        )
    return fi


def do_unlock_form(fi: FormInstance, acting_user, *, reason: str) -> FormInstance:
    reason = clean_text("reason", reason)
    if not reason.strip():
        raise CrfError("say why the form is unlocked")
    role = require_at(acting_user, (Role.DATA_MANAGER,), fi.participant.site_id, "unlock forms")
    with transaction.atomic(durable=True):
        fi = _lock_form(fi)
        if fi.status != S.LOCKED:
            raise CrfError("the form is not locked")
        _set_status(
            fi,
            fi.status_before_lock or S.COMPLETE,
            acting_user,
            role,
            reason,
            status_before_lock="",
        )
    return fi


# --------------------------------------------------------------------------- batch data quality
@dataclass
class QualityRunResult:
    forms_checked: int = 0
    queries_opened: int = 0
    queries_closed: int = 0
    derived_fixed: int = 0
    hard_violations: int = 0

    def summary(self) -> str:
        return (
            f"{self.forms_checked} forms checked: {self.queries_opened} queries opened, "
            f"{self.queries_closed} closed, {self.derived_fixed} derived values recomputed, "
            f"{self.hard_violations} stored values now beyond hard limits (queried)"
        )


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


def do_run_data_quality(acting_user=None, *, participants=None) -> QualityRunResult:
    """Re-evaluate all checks over stored data; one durable transaction per participant."""
    from trialdesk.participants.models import Participant

    p = get_protocol()
    summary = QualityRunResult()
    qs = participants if participants is not None else Participant.objects.all()
    for participant in qs:
        with transaction.atomic(durable=True):
            for fi in (
                FormInstance.objects.filter(participant=participant)
                .exclude(status=S.NOT_STARTED)
                .select_related("visit", "participant__site")
            ):
                if fi.form_code not in p.forms:
                    continue
                result, outcome = check_stored_form(p, fi, acting_user, "")
                opened, closed = sync_auto_queries(fi, result, acting_user, "")
                summary.forms_checked += 1
                summary.queries_opened += opened
                summary.queries_closed += closed
                summary.derived_fixed += len(outcome.changed)
                summary.hard_violations += sum(
                    1 for q in result.queries if "impossible" in q.message or q.check == "hard"
                )
    with transaction.atomic(durable=True):
        record(
            "status",
            actor=acting_user,
            object_type="crfs.data_quality_run",
            object_id="batch",
            new={
                "forms_checked": summary.forms_checked,
                "queries_opened": summary.queries_opened,
                "queries_closed": summary.queries_closed,
                "derived_fixed": summary.derived_fixed,
            },
            reason="batch data-quality run",
        )
    return summary
