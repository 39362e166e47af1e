"""Values an eCRF item takes from elsewhere: the typed form of a record's value (used by
``sourced``) and ``copy_of`` items, the same form's value at another visit (e.g. the pre-dose
ΔCt every later qPCR sample is calibrated to). ``values.do_save_form`` reads the copies fresh
before evaluating a form, stores them, and refreshes the other visits' copies after a save of
the source visit (``values.refresh_copies``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from trialdesk.crfs import engine
from trialdesk.crfs.actions.common import _audit
from trialdesk.crfs.models import ItemValue


def _typed(fld, value, zone):
    """A record's Python value as the form stores it (site-local wall time for datetimes)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None and zone is not None:
        value = value.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    if isinstance(value, Decimal):
        value = float(value)
    return engine.to_json(fld, value)


def _shown(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T":
        return value.replace("T", " ")
    return "" if value is None else str(value)


def copy_fields(form) -> list:
    return [f for f in form.fields.values() if f.copy_of]


def copied_values(participant, form, visit) -> dict:
    """This form's ``copy_of`` fields at ``visit``, read now from their source visit (None when
    the source has no value yet). The source visit itself copies nothing."""
    out: dict = {}
    for fld in copy_fields(form):
        source_visit, _, item = fld.copy_of.rpartition(".")
        if visit.code == source_visit:
            continue
        row = (
            ItemValue.objects.filter(
                participant=participant,
                form__form_code=form.code,
                form__visit__code=source_visit,
                form__visit__repeat=1,
                item=item,
                status__in=(ItemValue.Status.ENTERED, ItemValue.Status.DERIVED),
            )
            .order_by("form__repeat")
            .first()
        )
        value = None if row is None else engine.from_json(form.fields[item], row.value)
        out[fld.code] = value
    return out


def system_target(fld, stored) -> dict:
    """The item row a system-filled value makes (``stored``: as ``_typed`` gives it)."""
    return {
        "status": ItemValue.Status.ENTERED if stored is not None else ItemValue.Status.CLEARED,
        "value": stored,
        "num_value": float(stored)
        if isinstance(stored, int | float) and not isinstance(stored, bool)
        else None,
        "unit": fld.unit or "",
        "entered_value": _shown(stored),
        "entered_unit": "",
    }


def differs(row, target: dict) -> bool:
    """Whether writing ``target`` would change ``row`` (a missing row with nothing to hold
    does not change)."""
    if row is None:
        return target["value"] is not None
    return any(getattr(row, k) != v for k, v in target.items())


def put_system_value(fi, fld, target: dict, row, acting_user, role, why: str):
    """Write one system-filled item (a record's value or a copy), audited with ``why``."""
    if row is None:
        row = ItemValue.objects.create(
            form=fi, participant=fi.participant, item=fld.code, updated_by=acting_user, **target
        )
        _audit("create", fi, acting_user, role, obj=row, new=row.snapshot(), reason=why)
        return row
    old = row.snapshot()
    for k, v in target.items():
        setattr(row, k, v)
    row.version += 1
    row.updated_by = acting_user
    row.save()
    _audit("change", fi, acting_user, role, obj=row, old=old, new=row.snapshot(), reason=why)
    return row


def write_copies(form, fi, copies: dict, acting_user, role) -> list[str]:
    """Store the copied values on ``fi`` (audited, the source named); returns what changed."""
    existing = {r.item: r for r in ItemValue.objects.filter(form=fi, item__in=list(copies))}
    changed = []
    for code, value in copies.items():
        fld = form.fields[code]
        target = system_target(fld, _typed(fld, value, None))
        row = existing.get(code)
        if not differs(row, target):
            continue
        why = f"copied from {fld.copy_of} (visit {fld.copy_of.rpartition('.')[0]})"
        put_system_value(fi, fld, target, row, acting_user, role, why)
        changed.append(code)
    return changed
