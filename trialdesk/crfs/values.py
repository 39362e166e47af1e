"""Reading stored values back as the rule language sees them."""

from __future__ import annotations

from trialdesk.crfs.engine import from_json
from trialdesk.crfs.models import ItemValue
from trialdesk.studies.registry import get_protocol


def _rows(participant, *, visit=None, exclude_form=None):
    qs = ItemValue.objects.filter(
        participant=participant, status__in=[ItemValue.Status.ENTERED, ItemValue.Status.DERIVED]
    ).select_related("form__visit")
    if visit is not None:
        qs = qs.filter(form__visit=visit)
    if exclude_form is not None:
        qs = qs.exclude(form=exclude_form)
    # Oldest first so that later visits (then later edits) overwrite earlier ones.
    return qs.order_by(
        "form__visit__actual_date", "form__visit__sequence", "form__repeat", "updated_at", "id"
    )


def _collect(protocol, rows) -> dict[str, object]:
    out: dict[str, object] = {}
    for row in rows:
        form = protocol.forms.get(row.form.form_code)
        if form is None or row.item not in form.fields or form.repeating:
            continue
        out[f"{row.form.form_code}.{row.item}"] = from_json(form.fields[row.item], row.value)
    return out


def participant_values(participant) -> dict[str, object]:
    """ "form.field" → canonical value: the latest non-deleted value across the participant's
    visits (non-repeating forms only). For eligibility, stratification and reports."""
    return _collect(get_protocol(participant), _rows(participant))


def form_context(participant, visit, exclude_form=None) -> dict[str, object]:
    """Values an edit check on a form at `visit` sees: the participant's latest values,
    overlaid by those from the same visit."""
    protocol = get_protocol(participant)
    values = _collect(protocol, _rows(participant, exclude_form=exclude_form))
    values.update(_collect(protocol, _rows(participant, visit=visit, exclude_form=exclude_form)))
    return values


def form_values(form_instance) -> dict[str, ItemValue]:
    return {row.item: row for row in form_instance.items.all()}
