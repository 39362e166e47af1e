"""Lists of the composed pages as django-tables2 tables with django-filter FilterSets: the
participant list, the study-wide audit trail and the deviation log (docs/lists.md).

A FilterSet only narrows the queryset the view hands it; the view has already scoped it to the
request's study and to the sites the person may see. Nothing here names an arm.
"""

from __future__ import annotations

import datetime as dt
import re

import django_filters
import django_tables2 as tables
from django import forms
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trialdesk.audit.models import AuditEvent
from trialdesk.crfs.models import FormInstance, ItemValue, Query, QueryMessage, Signature
from trialdesk.desk.trail import _label, describe
from trialdesk.participants.models import Participant
from trialdesk.visits.models import Visit

PER_PAGE = 25
TEMPLATE = "_table.html"


def _as_text(queryset):
    """Primary keys as text, for ``AuditEvent.object_id`` (a CharField)."""
    return queryset.annotate(_id_text=Cast("pk", CharField())).values("_id_text")


# -- participants ----------------------------------------------------------------------------


class ParticipantFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="subject_id", lookup_expr="icontains", label=_("Study ID")
    )
    site = django_filters.ModelChoiceFilter(queryset=None, label=_("Site"), empty_label=_("All"))
    status = django_filters.ChoiceFilter(
        choices=Participant.Status.choices, label=_("Status"), empty_label=_("All")
    )

    class Meta:
        model = Participant
        fields = ["q", "site", "status"]

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["site"].queryset = sites


class ParticipantTable(tables.Table):
    subject_id = tables.Column(verbose_name=_("Study ID"))
    site = tables.Column(accessor="site__code", verbose_name=_("Site"))
    status = tables.Column(verbose_name=_("Status"))
    anchor_date = tables.DateColumn(format="Y-m-d", verbose_name=_("Day 0"), default="—")
    open_queries = tables.Column(verbose_name=_("Open queries"))
    open_alerts = tables.Column(verbose_name=_("Open alerts"))

    class Meta:
        template_name = TEMPLATE
        order_by = ("subject_id",)
        empty_text = _("No participants match.")

    def render_subject_id(self, value):
        return format_html(
            '<a href="{}">{}</a>', reverse("participants:detail", args=[value]), value
        )

    def render_open_alerts(self, value):
        return format_html('<strong class="error">{}</strong>', value) if value else "0"


# -- the study-wide audit trail --------------------------------------------------------------


def _form_q(form_code: str, participants) -> Q:
    """Events about the forms of ``form_code`` (their values, queries, signatures)."""
    fis = FormInstance.objects.filter(participant__in=participants, form_code=form_code)
    return _about_forms(fis)


def _about_forms(fis) -> Q:
    return (
        Q(object_type="crfs.forminstance", object_id__in=_as_text(fis))
        | Q(
            object_type="crfs.itemvalue",
            object_id__in=_as_text(ItemValue.objects.filter(form__in=fis)),
        )
        | Q(object_type="crfs.query", object_id__in=_as_text(Query.objects.filter(form__in=fis)))
        | Q(
            object_type="crfs.querymessage",
            object_id__in=_as_text(QueryMessage.objects.filter(query__form__in=fis)),
        )
        | Q(
            object_type="crfs.signature",
            object_id__in=_as_text(Signature.objects.filter(form__in=fis)),
        )
    )


def _visit_q(visit_code: str, participants) -> Q:
    visits = Visit.objects.filter(participant__in=participants, code=visit_code)
    deviation_ids = [f"visit:{pk}" for pk in visits.values_list("pk", flat=True)]
    return (
        Q(object_type="visits.visit", object_id__in=_as_text(visits))
        | Q(object_type="visits.deviation", object_id__in=deviation_ids)
        | _about_forms(FormInstance.objects.filter(visit__in=visits))
    )


class AuditFilter(django_filters.FilterSet):
    user = django_filters.ChoiceFilter(
        field_name="actor_username", label=_("User"), empty_label=_("All")
    )
    start = django_filters.DateFilter(
        method="filter_start",
        label=_("From (UTC date)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = django_filters.DateFilter(
        method="filter_end",
        label=_("To (UTC date)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    participant = django_filters.CharFilter(
        field_name="participant", lookup_expr="iexact", label=_("Participant")
    )
    form = django_filters.ChoiceFilter(method="filter_form", label=_("Form"), empty_label=_("All"))
    visit = django_filters.ChoiceFilter(
        method="filter_visit", label=_("Visit"), empty_label=_("All")
    )
    action = django_filters.ChoiceFilter(
        choices=AuditEvent.Action.choices, label=_("Action"), empty_label=_("All")
    )

    class Meta:
        model = AuditEvent
        fields = ["user", "start", "end", "participant", "form", "visit", "action"]

    def __init__(self, *args, protocol, participants, **kwargs):
        super().__init__(*args, **kwargs)
        self.participants = participants
        users = self.queryset.order_by().values_list("actor_username", flat=True).distinct()
        self.filters["user"].extra["choices"] = [(u, u) for u in sorted(set(users)) if u]
        self.filters["form"].extra["choices"] = [
            (code, _label(f.label)) for code, f in protocol.forms.items()
        ]
        self.filters["visit"].extra["choices"] = [
            (code, _label(v.label)) for code, v in protocol.visits.items()
        ]

    def filter_start(self, queryset, name, value):
        return queryset.filter(
            occurred_at__gte=dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
        )

    def filter_end(self, queryset, name, value):
        end = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
        return queryset.filter(occurred_at__lt=end)

    def filter_form(self, queryset, name, value):
        return queryset.filter(_form_q(value, self.participants))

    def filter_visit(self, queryset, name, value):
        return queryset.filter(_visit_q(value, self.participants))

    def summary(self) -> str:
        """The filter in a file name: ``participant-01-001_from-2026-01-01`` ("all": none)."""
        data = getattr(self.form, "cleaned_data", None) or {}
        parts = [f"{name}-{value}" for name, value in data.items() if value not in (None, "", [])]
        text = re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts))[:120]
        return text or "all"


class AuditTable(tables.Table):
    """One event per row, in words (``desk.trail.describe``, run once per page)."""

    seq = tables.Column(verbose_name="#")
    occurred_at = tables.Column(verbose_name=_("Time (UTC)"), order_by=("seq",))
    actor_username = tables.Column(verbose_name=_("User"))
    action = tables.Column(verbose_name=_("Action"))
    participant = tables.Column(verbose_name=_("Participant"))
    visit = tables.Column(verbose_name=_("Visit"), empty_values=(), orderable=False)
    form = tables.Column(verbose_name=_("Form"), empty_values=(), orderable=False)
    item = tables.Column(verbose_name=_("Item"), empty_values=(), orderable=False)
    change = tables.Column(verbose_name=_("Old → new"), empty_values=(), orderable=False)
    reason = tables.Column(verbose_name=_("Reason"), orderable=False)

    class Meta:
        template_name = TEMPLATE
        order_by = ("-seq",)
        attrs = {"class": "history"}
        empty_text = _("No events match.")

    def __init__(self, *args, protocol, **kwargs):
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        self._described: dict | None = None

    def _row(self, record):
        if self._described is None:
            page = self.page.object_list if getattr(self, "page", None) else self.rows
            self._described = {d.seq: d for d in describe([r.record for r in page], self.protocol)}
        found = self._described.get(record.seq)
        if found is None:  # a row outside the page (not rendered by the template)
            found = describe([record], self.protocol)[0]
        return found

    def render_occurred_at(self, record):
        return self._row(record).when

    def render_actor_username(self, record):
        described = self._row(record)
        return f"{described.user} ({described.role})" if described.role else described.user

    def render_action(self, record):
        return self._row(record).action

    def render_participant(self, value):
        return value

    def render_visit(self, record):
        return self._row(record).visit or "—"

    def render_form(self, record):
        return self._row(record).form or "—"

    def render_item(self, record):
        return self._row(record).item or "—"

    def render_change(self, record):
        d = self._row(record)
        if d.old and d.new:
            return format_html("{} → {}", d.old, d.new)
        return d.new or d.old or "—"


# -- the deviation log -----------------------------------------------------------------------

_WINDOW = re.compile(
    r"(?P<day>\d{4}-\d{2}-\d{2}) is outside visit .*'s window "
    r"\((?P<earliest>\d{4}-\d{2}-\d{2}) to (?P<latest>\d{4}-\d{2}-\d{2})\)"
)
DEVIATION_TYPES = (
    ("early", _("Out of window: early")),
    ("late", _("Out of window: late")),
    ("other", _("Other")),
)


def deviation_rows(events, protocol) -> list[dict]:
    """The ``visits.deviation`` events as rows: participant, visit, form, type (early or late by
    N days), the date entered against the window, reason, who and when (UTC)."""
    events = list(events)
    described = {d.seq: d for d in describe(events, protocol)}
    rows = []
    for e in events:
        new = e.new_value if isinstance(e.new_value, dict) else {}
        what = str(new.get("deviation", ""))
        form_code = new.get("form") or (
            what.split(".", 1)[0] if "." in what.split(":", 1)[0] else ""
        )
        form_spec = protocol.forms.get(form_code)
        kind, days, entered, window = "other", None, "", ""
        match = _WINDOW.search(what)
        if new.get("type") == "out_of_window":  # structured (since the deviation log)
            early, late = int(new.get("days_early") or 0), int(new.get("days_late") or 0)
            kind, days = ("early", early) if early else ("late", late)
            entered = str(new.get("date", ""))
            window = f"{new.get('earliest', '')} – {new.get('latest', '')}"
        elif match:  # events written before the structured fields: read from the text
            day = dt.date.fromisoformat(match["day"])
            earliest = dt.date.fromisoformat(match["earliest"])
            latest = dt.date.fromisoformat(match["latest"])
            entered, window = match["day"], f"{match['earliest']} – {match['latest']}"
            if day < earliest:
                kind, days = "early", (earliest - day).days
            else:
                kind, days = "late", (day - latest).days
        d = described[e.seq]
        rows.append(
            {
                "seq": e.seq,
                "participant": e.participant,
                "site": e.site_code,
                "visit": d.visit or str(new.get("visit", "")),
                "form": _label(form_spec.label) if form_spec is not None else form_code,
                "kind": kind,
                "type": _type_text(kind, days),
                "entered": entered,
                "window": window,
                "detail": what,
                "reason": e.reason,
                "user": d.user,
                "when": d.when,
            }
        )
    return rows


def _type_text(kind: str, days: int | None) -> str:
    from django.utils.translation import ngettext

    if kind == "early":
        return ngettext(
            "Out of window: %(n)d day early", "Out of window: %(n)d days early", days
        ) % {"n": days}
    if kind == "late":
        return ngettext("Out of window: %(n)d day late", "Out of window: %(n)d days late", days) % {
            "n": days
        }
    return str(_("Other"))


DEVIATION_CSV_HEADER = (
    "seq", "participant", "site", "visit", "form", "type", "date_entered", "window", "detail",
    "reason", "user", "time_utc",
)  # fmt: skip


def deviation_csv_row(row: dict) -> list:
    return [
        row["seq"], row["participant"], row["site"], row["visit"], row["form"], row["type"],
        row["entered"], row["window"], row["detail"], row["reason"], row["user"], row["when"],
    ]  # fmt: skip


class DeviationFilter(django_filters.FilterSet):
    site = django_filters.ChoiceFilter(
        field_name="site_code", label=_("Site"), empty_label=_("All")
    )
    participant = django_filters.CharFilter(
        field_name="participant", lookup_expr="iexact", label=_("Participant")
    )
    type = django_filters.ChoiceFilter(
        choices=DEVIATION_TYPES, method="filter_type", label=_("Type"), empty_label=_("All")
    )

    class Meta:
        model = AuditEvent
        fields = ["site", "participant", "type"]

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["site"].extra["choices"] = [(s.code, s.code) for s in sites]

    def filter_type(self, queryset, name, value):
        return queryset  # the type is read from each event's text: deviation_rows filters it


class DeviationTable(tables.Table):
    participant = tables.Column(verbose_name=_("Participant"))
    visit = tables.Column(verbose_name=_("Visit"))
    form = tables.Column(verbose_name=_("Form"))
    type = tables.Column(verbose_name=_("Type"), order_by=("kind",))
    entered = tables.Column(verbose_name=_("Date entered"))
    window = tables.Column(verbose_name=_("Window"), orderable=False)
    reason = tables.Column(verbose_name=_("Reason"), orderable=False)
    user = tables.Column(verbose_name=_("Recorded by"))
    when = tables.Column(verbose_name=_("When (UTC)"), order_by=("seq",))

    class Meta:
        template_name = TEMPLATE
        order_by = ("-when",)
        empty_text = _("No protocol deviations recorded.")
