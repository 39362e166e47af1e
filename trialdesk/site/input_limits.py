"""Free-text limits for every request (issue 9, finding 9), as a backstop behind the views.

The limits live in one table, `trialdesk.core.text` (FIELDS: form key → kind, LIMITS: kind →
characters). Views check the fields they read and answer with their own page; this middleware
applies the same table to every POST (form-encoded, multipart, and the top level of a JSON
body) before any view runs, so a path that forgets is still covered, and turns a
`TextTooLong` raised anywhere below (the audit `record()` backstop) into a 422 that names the
field, its length and the maximum — never a 500. A NUL character in any path parameter, query
parameter or form field is refused the same way (422 naming the parameter).

Views whose keys are the protocol's own fields (the eCRF page, where a text field's limit comes
from the protocol) opt out by carrying `own_text_limits = True` (an attribute, so no app imports
this module); they check every key themselves.
"""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.shortcuts import render

from trialdesk.core.text import FIELDS, TextTooLong, check_text

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _texts(request):
    """(key, value) pairs of the request body that the limits table knows."""
    if request.content_type in FORM_TYPES:
        for key, values in request.POST.lists():
            if key in FIELDS:
                yield from ((key, v) for v in values)
    elif request.content_type in JSON_TYPES and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            return  # the view answers malformed JSON itself
        if isinstance(body, dict):
            for key, value in body.items():
                if key in FIELDS and isinstance(value, str):
                    yield key, value


def _nul_parameter(request, view_kwargs) -> str:
    """The first path parameter, query parameter or form field holding a NUL character: no
    text here may contain one (PostgreSQL cannot store it and refuses it with an exception,
    which would be a 500)."""
    for name, value in view_kwargs.items():
        if isinstance(value, str) and "\x00" in value:
            return name
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in v for v in values):
            return name.replace("\x00", "\\0")
    if request.method == "POST" and request.content_type in FORM_TYPES:
        for name, values in request.POST.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return name.replace("\x00", "\\0")
    return ""


def refused(request, exc: TextTooLong):
    message = str(exc)
    if request.content_type in JSON_TYPES or "/api/" in request.path:
        return JsonResponse({"detail": message, "errors": {exc.field: message}}, status=422)
    return render(request, "invalid_request.html", {"message": message}, status=422)


class InputLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in ("POST", "PUT", "PATCH"):
            # Read the raw body before request.POST: parsing multipart consumes the stream, and
            # a view that reads request.body afterwards (the ninja APIs) would fail. Bounded by
            # DATA_UPLOAD_MAX_MEMORY_SIZE (Django answers 400 beyond it).
            request.body  # noqa: B018
        nul = _nul_parameter(request, view_kwargs)
        if nul:
            return refused(request, TextTooLong(f"{nul}: a NUL character is not allowed", nul))
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        if getattr(view_func, "own_text_limits", False):
            return None
        try:
            for key, value in _texts(request):
                check_text(key, value)
        except TextTooLong as exc:
            return refused(request, exc)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, TextTooLong):
            return refused(request, exception)
        return None
