"""The queue of contact requests as a django-tables2 table with a django-filter FilterSet
(docs/lists.md). The view scopes the queryset to the study and the person's sites first; no
identifying data is in the list (it is read, audited, on the request's own page)."""

from __future__ import annotations

import django_filters
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trialdesk.outreach.models import Lead


class LeadFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Lead.Status.choices, label=_("Status"), empty_label=_("All")
    )
    site = django_filters.ModelChoiceFilter(queryset=None, label=_("Site"), empty_label=_("All"))

    class Meta:
        model = Lead
        fields = ["status", "site"]

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["site"].queryset = sites


class LeadTable(tables.Table):
    pk = tables.Column(verbose_name=_("Request"))
    created_at = tables.DateTimeColumn(format="Y-m-d H:i e", verbose_name=_("Received"))
    site = tables.Column(accessor="site__code", verbose_name=_("Site"))
    status = tables.Column(verbose_name=_("Status"))
    distance_km = tables.Column(verbose_name=_("Distance (km)"))
    language = tables.Column(verbose_name=_("Language"))

    class Meta:
        template_name = "_table.html"
        order_by = ("-created_at",)
        empty_text = _("No contact requests match.")

    def render_pk(self, value):
        return format_html('<a href="{}">#{}</a>', reverse("leads:detail", args=[value]), value)
