"""The portal's forms. Every rejection names the question or field, the value and what is
allowed; no exception text reaches the visitor."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from trialdesk.core.text import LIMITS
from trialdesk.portal.passages import pick

NOTE_MAX = LIMITS["note"]
PASSCODE_MIN = 6
PASSCODE_MAX = 128
EXPIRY = {
    "never": None,
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
EXPIRY_CHOICES = [
    ("never", _("Never (until I revoke it)")),
    ("1d", _("After 1 day")),
    ("7d", _("After 7 days")),
    ("30d", _("After 30 days")),
]
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class SelfCheckForm(forms.Form):
    """One field per self-check question of the protocol, labelled in the visitor's language."""

    def __init__(self, questions, language, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = {q.code: q for q in questions}
        for q in questions:
            label = pick(q.question, language)
            help_text = pick(q.help, language) if q.help else ""
            if q.answer == "yes_no":
                self.fields[q.code] = forms.ChoiceField(
                    label=label, help_text=help_text, choices=YES_NO, widget=forms.RadioSelect
                )
            else:
                self.fields[q.code] = forms.CharField(
                    label=label, help_text=help_text, max_length=12
                )
                self.fields[q.code].widget.attrs.update(inputmode="numeric", autocomplete="off")

    def clean(self):
        data = super().clean()
        for code, question in self.questions.items():
            raw = self.data.get(code, "")
            if code not in self.errors and code in data:
                data[code] = self._answer(code, question, data[code], raw)
        return data

    def _answer(self, code, question, value, raw):
        if question.answer == "yes_no":
            return value == "yes"
        low = int(question.min) if question.min is not None else 0
        high = int(question.max) if question.max is not None else 150
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            self.add_error(
                code,
                _("“%(value)s” is not allowed here: write a whole number from %(low)s to %(high)s.")
                % {"value": raw, "low": low, "high": high},
            )
        return number

    def answers(self) -> dict[str, object]:
        return {code: self.cleaned_data.get(code) for code in self.questions}


class NoteForm(forms.Form):
    passage = forms.ChoiceField(label=_("Passage"))
    note = forms.CharField(
        label=_("Your note"), max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    passcode = forms.CharField(
        label=_("Passcode (at least 6 characters)"),
        min_length=PASSCODE_MIN,
        max_length=PASSCODE_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    expires = forms.ChoiceField(label=_("The link stops working"), choices=EXPIRY_CHOICES)

    def __init__(self, passages, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["passage"].choices = [(p.id, p.preview) for p in passages]


class PasscodeForm(forms.Form):
    passcode = forms.CharField(
        label=_("Passcode"),
        max_length=PASSCODE_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


class RevokeForm(forms.Form):
    secret = forms.CharField(
        label=_("Revoke code"),
        max_length=64,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
