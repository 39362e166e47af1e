"""The AE list: a django-tables2 table with a django-filter FilterSet (docs/lists.md)."""

from __future__ import annotations

import django_filters
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from trialdesk.safety.models import AdverseEvent

PER_PAGE = 25
YES_NO = ((True, _("Yes")), (False, _("No")))


class AEFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="participant__subject_id", lookup_expr="icontains", label=_("Study ID")
    )
    site = django_filters.ModelChoiceFilter(
        field_name="participant__site", queryset=None, label=_("Site"), empty_label=_("All")
    )
    serious = django_filters.ChoiceFilter(choices=YES_NO, label=_("Serious"), empty_label=_("All"))
    susar = django_filters.ChoiceFilter(choices=YES_NO, label=_("SUSAR"), empty_label=_("All"))
    grade = django_filters.CharFilter(field_name="grade", label=_("Grade"))

    class Meta:
        model = AdverseEvent
        fields = ["q", "site", "serious", "susar", "grade"]

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["site"].queryset = sites


class AETable(tables.Table):
    pk = tables.Column(verbose_name=_("AE"))
    subject = tables.Column(accessor="participant__subject_id", verbose_name=_("Study ID"))
    site = tables.Column(accessor="participant__site__code", verbose_name=_("Site"))
    term = tables.Column(verbose_name=_("Term"))
    ctcae_term = tables.Column(verbose_name=_("CTCAE term"), default="—")
    grade = tables.Column(verbose_name=_("Grade"))
    serious = tables.BooleanColumn(verbose_name=_("Serious"))
    related = tables.BooleanColumn(verbose_name=_("Related"))
    susar = tables.BooleanColumn(verbose_name=_("SUSAR"))
    onset_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name=_("Onset"), default="—")
    version = tables.Column(verbose_name=_("Version"))

    class Meta:
        template_name = "_table.html"
        order_by = ("-onset_at",)
        empty_text = _("No adverse events match.")

    def render_pk(self, value):
        return format_html('<a href="{}">AE {}</a>', reverse("safety:ae", args=[value]), value)
