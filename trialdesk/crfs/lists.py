"""The query list as a django-tables2 table with a django-filter FilterSet (docs/lists.md):
searched by the query's text, filtered by state, form, site and age, sorted, paged.

A query has no assignee field: who it waits for follows from its state (open: the site answers;
answered: the data manager or monitor closes or re-opens it; closed: nobody).
"""

from __future__ import annotations

import datetime as dt

import django_filters
import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trialdesk.crfs.models import Query

PER_PAGE = 25

STATES = (
    ("open", _("Open or answered (not closed)")),
    (Query.Status.OPEN, _("Open: waiting for the site")),
    (Query.Status.ANSWERED, _("Answered: waiting for review")),
    (Query.Status.CLOSED, _("Closed")),
    ("all", _("All")),
)
AGES = (
    ("7", _("Older than 7 days")),
    ("14", _("Older than 14 days")),
    ("30", _("Older than 30 days")),
)


def waiting_for(status: str) -> str:
    """Who acts next on a query in ``status`` (the model has no assignee)."""
    if status == Query.Status.OPEN:
        return str(_("site (coordinator or investigator)"))
    if status == Query.Status.ANSWERED:
        return str(_("data manager or monitor"))
    return "—"


class QueryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="text", lookup_expr="icontains", label=_("Search"))
    status = django_filters.ChoiceFilter(
        choices=STATES, method="filter_status", label=_("State"), empty_label=None
    )
    form = django_filters.ChoiceFilter(
        field_name="form__form_code", label=_("Form"), empty_label=_("All")
    )
    site = django_filters.ChoiceFilter(
        field_name="participant__site__code", label=_("Site"), empty_label=_("All")
    )
    age = django_filters.ChoiceFilter(
        choices=AGES, method="filter_age", label=_("Age"), empty_label=_("Any")
    )

    class Meta:
        model = Query
        fields = ["q", "status", "form", "site", "age"]

    def __init__(self, data=None, *args, forms, sites, **kwargs):
        data = data.copy() if data is not None else None
        if data is not None and not data.get("status"):
            data["status"] = "open"  # the list opens on what needs work
        super().__init__(data, *args, **kwargs)
        self.filters["form"].extra["choices"] = forms
        self.filters["site"].extra["choices"] = [(s.code, s.code) for s in sites]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.exclude(status=Query.Status.CLOSED)
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def filter_age(self, queryset, name, value):
        return queryset.filter(created_at__lt=timezone.now() - dt.timedelta(days=int(value)))


class QueryTable(tables.Table):
    participant = tables.Column(accessor="participant__subject_id", verbose_name=_("Participant"))
    visit = tables.Column(accessor="form__visit__code", verbose_name=_("Visit"))
    form = tables.Column(accessor="form__form_code", verbose_name=_("Form"))
    item = tables.Column(verbose_name=_("Item"), default="—")
    status = tables.Column(verbose_name=_("Status"))
    age = tables.Column(
        accessor="created_at", verbose_name=_("Age (days)"), order_by=("-created_at", "-id")
    )
    waiting = tables.Column(
        accessor="status", verbose_name=_("Waiting for"), orderable=False, empty_values=()
    )
    opened_by = tables.Column(
        accessor="opened_by__username", verbose_name=_("Raised by"), default=_("system")
    )
    text = tables.Column(verbose_name=_("Query"), orderable=False)

    class Meta:
        template_name = "_table.html"
        attrs = {"class": "queries"}
        order_by = ("-age",)
        empty_text = _("No queries match.")

    def render_form(self, record):
        fi = record.form
        url = reverse("crfs:form", args=[fi.visit_id, fi.form_code, fi.repeat])
        return format_html('<a href="{}#query-{}">{}</a>', url, record.pk, fi.form_code)

    def render_status(self, record):
        return record.get_status_display()

    def render_age(self, value):
        return (timezone.now() - value).days

    def render_waiting(self, record):
        return waiting_for(record.status)
