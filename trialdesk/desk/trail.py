"""The audit trail in words: one formatter for the study-wide trail page, its CSV and the
deviation log.

An event names its object by type and id (``crfs.itemvalue:1129``); a reader needs the visit,
the form and the item as the protocol calls them, and the value with its unit. ``describe``
resolves a batch of events at once (one query per object type, not one per event) and never
looks at an allocation, a kit's arm or a lot: what it shows is what the event carries (arms and
lots travel as digests) plus labels from the protocol.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.apps import apps
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trialdesk.core.protocol.models import NONE_OF_THESE
from trialdesk.crfs.models import FormInstance, ItemValue, Query, QueryMessage, Signature
from trialdesk.visits.models import Visit


def _action_words() -> dict[str, str]:
    """An action in words (the event's ``action`` column), in the page's language."""
    return {
        "create": _("created"),
        "change": _("changed"),
        "delete": _("deleted"),
        "status": _("status changed"),
        "login": _("logged in"),
        "login_failed": _("log-in failed"),
        "logout": _("logged out"),
        "export": _("exported"),
        "randomize": _("randomized"),
        "unblind": _("unblinded"),
        "sign": _("signed"),
        "load": _("loaded"),
        "view": _("viewed"),
    }


def _label(text) -> str:
    """A protocol label (``{"en": …, "id": …}``) in the page's language."""
    if text is None:
        return ""
    return text.id if (get_language() or "en").startswith("id") else text.en


def _noun(object_type: str) -> str:
    if object_type == "visits.deviation":
        return _("protocol deviation")
    if object_type == "crfs.itemvalue":
        return _("value")
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


@dataclass
class Described:
    """An event as a reader sees it."""

    seq: int
    when: str  # "2026-03-02 01:12:44 UTC"
    user: str
    role: str
    action: str  # in words: "value changed"
    participant: str
    visit: str
    form: str
    item: str
    old: str
    new: str
    reason: str

    CSV_HEADER = (
        "seq", "time_utc", "user", "role", "action", "participant", "visit", "form", "item",
        "old", "new", "reason",
    )  # fmt: skip

    def csv_row(self) -> list:
        return [
            self.seq, self.when, self.user, self.role, self.action, self.participant, self.visit,
            self.form, self.item, self.old, self.new, self.reason,
        ]  # fmt: skip


def utc_text(when: dt.datetime) -> str:
    return f"{when.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _ids(events, object_type: str) -> set[int]:
    out = set()
    for e in events:
        if e.object_type == object_type and str(e.object_id).isdigit():
            out.add(int(e.object_id))
    return out


def _value_text(snapshot, field) -> str:
    """An item value as entered, with its unit ("72 kg"), or why it has none."""
    if not isinstance(snapshot, dict):
        return ""
    status = snapshot.get("status")
    if status == ItemValue.Status.CLEARED:
        return _("(cleared)")
    if status == ItemValue.Status.NOT_APPLICABLE:
        return _("(not applicable)")
    entered = snapshot.get("entered")
    if entered == NONE_OF_THESE or snapshot.get("value") == [] and entered in ("", None):
        return _("None of these") if entered == NONE_OF_THESE else ""
    if entered in ("", None):
        value = snapshot.get("value")
        if value is None:
            return ""
        entered = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        unit = snapshot.get("unit") or ""
    else:
        unit = snapshot.get("entered_unit") or ""
    if not unit and field is not None:
        unit = getattr(field, "unit", None) or ""
    text = f"{entered} {unit}".strip()
    if status == ItemValue.Status.DERIVED:
        text += " " + _("(derived)")
    return text


def _plain(value) -> str:
    """Any other event value, as "key: value; …" (None left out)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, str) and _ISO_INSTANT.fullmatch(value):
        try:  # an instant in the payload: shown as the trail's other times, in UTC
            return utc_text(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    return str(value)


_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def _rows(model, events, object_type: str, related: str) -> dict:
    """The rows the events of ``object_type`` name, by primary key, in one query."""
    found = model.objects.filter(pk__in=_ids(events, object_type)).select_related(related)
    return {row.pk: row for row in found}


def describe(events, protocol) -> list[Described]:
    """The events in words, in the order given."""
    events = list(events)
    values = _rows(ItemValue, events, "crfs.itemvalue", "form__visit")
    forms = _rows(FormInstance, events, "crfs.forminstance", "visit")
    queries = _rows(Query, events, "crfs.query", "form__visit")
    messages = _rows(QueryMessage, events, "crfs.querymessage", "query__form__visit")
    signatures = _rows(Signature, events, "crfs.signature", "form__visit")
    visit_ids = _ids(events, "visits.visit") | {
        int(e.object_id.split(":", 1)[1])
        for e in events
        if e.object_type == "visits.deviation" and re.fullmatch(r"visit:\d+", e.object_id)
    }
    visits = {row.pk: row for row in Visit.objects.filter(pk__in=visit_ids)}
    words = _action_words()
    out = []
    for e in events:
        fi, item, visit = None, "", None
        if e.object_type == "crfs.itemvalue":
            row = values.get(int(e.object_id)) if e.object_id.isdigit() else None
            fi = row.form if row else None
            item = row.item if row else (e.new_value or e.old_value or {}).get("item", "")
        elif e.object_type == "crfs.forminstance" and e.object_id.isdigit():
            fi = forms.get(int(e.object_id))
        elif e.object_type == "crfs.query" and e.object_id.isdigit():
            q = queries.get(int(e.object_id))
            fi, item = (q.form, q.item) if q else (None, "")
        elif e.object_type == "crfs.querymessage" and e.object_id.isdigit():
            m = messages.get(int(e.object_id))
            fi, item = (m.query.form, m.query.item) if m else (None, "")
        elif e.object_type == "crfs.signature" and e.object_id.isdigit():
            s = signatures.get(int(e.object_id))
            fi = s.form if s else None
        elif e.object_type == "visits.visit" and e.object_id.isdigit():
            visit = visits.get(int(e.object_id))
        elif e.object_type == "visits.deviation" and e.object_id.startswith("visit:"):
            tail = e.object_id.split(":", 1)[1]
            visit = visits.get(int(tail)) if tail.isdigit() else None
        if fi is not None:
            visit = fi.visit
        form_spec = protocol.forms.get(fi.form_code) if fi is not None else None
        field = form_spec.fields.get(item) if form_spec is not None and item else None
        visit_spec = protocol.visits.get(visit.code) if visit is not None else None
        visit_text = ""
        if visit is not None:
            visit_text = _label(visit_spec.label) if visit_spec is not None else visit.code
            if visit.unscheduled:
                visit_text += f" #{visit.repeat}"
        form_text = ""
        if fi is not None:
            form_text = _label(form_spec.label) if form_spec is not None else fi.form_code
            if fi.repeat > 1:
                form_text += f" #{fi.repeat}"
        if e.object_type == "crfs.itemvalue" and field is not None and field.identifier:
            # Personal data (identifier: true): the trail says that it changed, not to what.
            hidden = _("(identifying data, not shown)")
            old, new = (hidden if e.old_value else ""), (hidden if e.new_value else "")
        elif e.object_type == "crfs.itemvalue":
            old, new = _value_text(e.old_value, field), _value_text(e.new_value, field)
        else:
            old, new = _plain(e.old_value), _plain(e.new_value)
        verb = words.get(e.action, e.action)
        if e.object_type == "crfs.itemvalue":  # a value is entered, changed or cleared
            verb = {"create": _("entered"), "delete": _("cleared")}.get(e.action, verb)
        out.append(
            Described(
                seq=e.seq,
                when=utc_text(e.occurred_at),
                user=e.actor_username or "system",
                role=e.role,
                action=f"{_noun(e.object_type)} {verb}" if e.object_type else verb,
                participant=e.participant,
                visit=visit_text,
                form=form_text,
                item=_label(field.label) if field is not None else item,
                old=old,
                new=new,
                reason=e.reason,
            )
        )
    return out
