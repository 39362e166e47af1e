from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trialdesk.core.text import LIMITS


class RegisterForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, label=_("Site"))
    name = forms.CharField(label=_("Full name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    address = forms.CharField(
        label=_("Address"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    mrn = forms.CharField(label=_("Medical record number"), max_length=40, required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()


class IdentityForm(forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    address = forms.CharField(
        label=_("Address"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    mrn = forms.CharField(label=_("Medical record number"), max_length=40, required=False)
    reason = forms.CharField(label=_("Reason for change"), max_length=LIMITS["reason"])
