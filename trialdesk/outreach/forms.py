"""The public forms: validation whose every message names the field, the value and what is
allowed (never an exception's text)."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.outreach import places

PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,19}$")
LIMITS = {"first_name": 100, "last_name": 100, "other_language": 100, "message": 2000}


def shown(value: str, limit: int = 60) -> str:
    """A value as quoted back in a message (long values cut)."""
    value = value.strip()
    return value if len(value) <= limit else value[:limit] + "…"


def _text(form, name: str, *, required: bool) -> str:
    value = (form.data.get(name) or "").strip()
    label = str(form.fields[name].label)
    if required and not value:
        raise ValidationError(_("%(field)s is required; please fill it in.") % {"field": label})
    if len(value) > LIMITS[name]:
        raise ValidationError(
            _("%(field)s: %(n)d characters is too long; at most %(max)d are allowed.")
            % {"field": label, "n": len(value), "max": LIMITS[name]}
        )
    return value


def clean_email_value(label: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("%(field)s is required; please fill it in.") % {"field": label})
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(
            _("%(field)s: “%(value)s” is not an e-mail address; write it as name@example.org.")
            % {"field": label, "value": shown(value)}
        ) from None
    return value


def _coordinate(form, name: str, low: int, high: int):
    raw = (form.data.get(name) or "").strip()
    if not raw:
        return None
    label = str(form.fields[name].label)
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not (low <= value <= high) or value != value:
        raise ValidationError(
            _("%(field)s: “%(value)s” is not allowed; a number from %(low)d to %(high)d.")
            % {"field": label, "value": shown(raw), "low": low, "high": high}
        )
    return value


class ContactForm(forms.Form):
    place = forms.CharField(
        label=gettext_lazy("City, regency or postcode"), required=False, max_length=1000, strip=True
    )
    latitude = forms.CharField(
        label=gettext_lazy("Latitude"), required=False, widget=forms.HiddenInput
    )
    longitude = forms.CharField(
        label=gettext_lazy("Longitude"), required=False, widget=forms.HiddenInput
    )
    first_name = forms.CharField(label=gettext_lazy("First name"), required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), required=False)
    email = forms.CharField(label=gettext_lazy("E-mail"), required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False)
    other_language = forms.CharField(label=gettext_lazy("Other language you speak"), required=False)
    message = forms.CharField(label=gettext_lazy("Message"), required=False, widget=forms.Textarea)
    consent = forms.BooleanField(
        label=gettext_lazy(
            "I agree that the study team of the centre chosen may store these details and "
            "contact me about this study."
        ),
        required=False,
    )

    def clean_first_name(self):
        return _text(self, "first_name", required=True)

    def clean_last_name(self):
        return _text(self, "last_name", required=True)

    def clean_other_language(self):
        return _text(self, "other_language", required=False)

    def clean_message(self):
        return _text(self, "message", required=False)

    def clean_email(self):
        return clean_email_value(str(self.fields["email"].label), self.data.get("email", ""))

    def clean_phone(self):
        value = (self.data.get("phone") or "").strip()
        if value and not PHONE.match(value):
            raise ValidationError(
                _(
                    "%(field)s: “%(value)s” is not a phone number; use digits, spaces and "
                    "+ ( ) -, 6 to 20 characters (for example +62 812 3456 7890)."
                )
                % {"field": self.fields["phone"].label, "value": shown(value)}
            )
        return value

    def clean_latitude(self):
        return _coordinate(self, "latitude", -90, 90)

    def clean_longitude(self):
        return _coordinate(self, "longitude", -180, 180)

    def clean_consent(self):
        if not self.data.get("consent"):
            raise ValidationError(
                _(
                    "Consent: the box is not ticked; we can pass on your request only if you "
                    "agree that the study team may store your details and contact you."
                )
            )
        return True

    def clean(self):
        data = super().clean()
        lat, lon = data.get("latitude"), data.get("longitude")
        if "latitude" in self.errors or "longitude" in self.errors:
            return data
        if lat is not None and lon is not None:
            data["where"] = (lat, lon, "location")
            return data
        text = (self.data.get("place") or "").strip()
        if not text:
            self.add_error(
                "place",
                _(
                    "City, regency or postcode is required (or share your location); for "
                    "example Bandung or 40115."
                ),
            )
            return data
        place = places.resolve(text)
        if place is None:
            self.add_error(
                "place",
                _(
                    "City, regency or postcode: “%(value)s” is not in our list of Indonesian "
                    "cities, regencies and postcodes; write a city or regency (for example "
                    "Bandung or Kabupaten Garut) or a 5-digit postcode, or share your location."
                )
                % {"value": shown(text)},
            )
            return data
        data["where"] = (place.latitude, place.longitude, "place")
        data["place_name"] = place.name
        return data

    def identity(self) -> dict[str, str]:
        keys = ("first_name", "last_name", "email", "phone", "other_language", "message")
        return {k: self.cleaned_data.get(k, "") or "" for k in keys}


class SubscribeForm(forms.Form):
    email = forms.CharField(label=gettext_lazy("E-mail"), required=False)
    conditions = forms.MultipleChoiceField(
        label=gettext_lazy("Conditions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    region = forms.CharField(label=gettext_lazy("Region or city"), required=False)
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the notices"),
        choices=[("en", "English"), ("id", "Bahasa Indonesia")],
        required=False,
    )

    def __init__(self, *args, conditions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["conditions"].choices = [(c, c) for c in conditions]
        self.allowed_conditions = conditions
        self.fields["conditions"].error_messages["invalid_choice"] = _(
            "Conditions: “%%(value)s” is not one of %(allowed)s."
        ) % {"allowed": ", ".join(conditions)}

    def clean_email(self):
        return clean_email_value(str(self.fields["email"].label), self.data.get("email", ""))

    def clean_conditions(self):
        chosen = self.data.getlist("conditions") if hasattr(self.data, "getlist") else []
        if not chosen:
            raise ValidationError(
                _("Conditions: choose at least one of %(allowed)s.")
                % {"allowed": ", ".join(self.allowed_conditions)}
            )
        for value in chosen:
            if value not in self.allowed_conditions:
                raise ValidationError(
                    _("Conditions: “%(value)s” is not one of %(allowed)s.")
                    % {"value": shown(value), "allowed": ", ".join(self.allowed_conditions)}
                )
        return chosen

    def clean_region(self):
        value = (self.data.get("region") or "").strip()
        if len(value) > 100:
            raise ValidationError(
                _("%(field)s: %(n)d characters is too long; at most %(max)d are allowed.")
                % {"field": self.fields["region"].label, "n": len(value), "max": 100}
            )
        return value

    def clean_language(self):
        value = (self.data.get("language") or "en").strip()
        if value not in ("en", "id"):
            raise ValidationError(
                _("Language: “%(value)s” is not allowed; choose en (English) or id (Indonesian).")
                % {"value": shown(value)}
            )
        return value
