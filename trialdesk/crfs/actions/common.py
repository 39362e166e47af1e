"""What every eCRF write shares: errors, roles, input checks, the form lock, the audit helper."""

from __future__ import annotations

from dataclasses import dataclass, field

from trialdesk.accounts.models import Role
from trialdesk.audit.actions import record
from trialdesk.core.protocol.sources import RECORD_LABELS, record_of
from trialdesk.core.text import TextTooLong, check_text
from trialdesk.crfs import engine
from trialdesk.crfs.models import (
    FormInstance,
    ItemValue,
)
from trialdesk.studies.registry import get_protocol

S = FormInstance.Status
ENTRY_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR)
QUERY_ROLES = (Role.MONITOR, Role.DATA_MANAGER, Role.INVESTIGATOR)


class CrfError(ValueError):
    """A write was refused; `errors` maps field code (or "__form__"/"__reason__") → message."""

    def __init__(self, message: str, errors: dict[str, str] | None = None, result=None):
        super().__init__(message)
        self.errors = errors or {"__form__": message}
        self.result = result


def reserved_fields(form, user, site_id) -> dict[str, str]:
    """Fields of ``form`` the protocol reserves to a role (``entered_by``) that ``user`` does not
    hold at ``site_id``: code → the role allowed."""
    from trialdesk.accounts.access import Access

    access = Access.of(user)
    return {
        fld.code: fld.entered_by
        for fld in form.fields.values()
        if fld.entered_by and not access.can((fld.entered_by,), site_id)
    }


def reserved_message(fld, role_code: str) -> str:
    role = Role(role_code).label
    return (
        f"{fld.code} ({fld.label.en}): only a user with the role {role} may enter or change "
        "this item; your role may not"
    )


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
        elif fld.source:
            where = RECORD_LABELS.get(record_of(fld.source), "record")
            problems[key] = (
                f"{key}: filled from the {where}; it cannot be entered here (record or "
                f"correct it on the {where})"
            )
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
    #: What the person should know although the save went through (e.g. a protocol deviation).
    warnings: list[str] = field(default_factory=list)


def _audit(action, fi: FormInstance, user, role, *, obj=None, old=None, new=None, reason=""):
    record(
        action,
        actor=user,
        role=role,
        site=fi.participant.site,
        obj=obj or fi,
        participant=fi.participant.subject_id,
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
    p = get_protocol(visit.participant)
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
