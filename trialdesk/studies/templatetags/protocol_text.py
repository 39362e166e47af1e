"""`{{ label|tr }}`: a protocol Text in the active language (Bahasa Indonesia or English)."""

from django import template
from django.utils import translation

register = template.Library()


@register.filter
def tr(text):
    if text is None:
        return ""
    language = (translation.get_language() or "en").split("-")[0]
    return getattr(text, language, None) or getattr(text, "en", None) or str(text)
