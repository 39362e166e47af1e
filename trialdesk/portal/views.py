"""The public pages: no login, no JavaScript needed, nothing about participants.

The directory and study pages read only the protocol (its ``public`` section, study and
sites). The self-check evaluates answers with the protocol's own criteria and stores nothing.
Notes are the one thing a visitor writes (actions.py)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from trialdesk.core.protocol.selfcheck import evaluate_self_check, questions
from trialdesk.participants.pii import decrypt_text
from trialdesk.portal import actions, passages
from trialdesk.portal.forms import EXPIRY, NoteForm, PasscodeForm, RevokeForm, SelfCheckForm
from trialdesk.portal.models import Note
from trialdesk.studies.models import Study
from trialdesk.studies.registry import get_protocol, study_codes


def _language() -> str:
    return "id" if (get_language() or "en").startswith("id") else "en"


def _protocol(code: str):
    """The study's protocol, if it is loaded and has public texts (else 404)."""
    if code not in study_codes():
        raise Http404("no such study")
    protocol = get_protocol(code)
    if protocol.public is None:
        raise Http404("no public page")
    return protocol


def contact_url(code: str) -> str:
    """The outreach contact page of the study (nearest centre, lead)."""
    return reverse("outreach:contact", args=[code])


def _sites(protocol):
    return list(protocol.sites.values())


def directory(request):
    language = _language()
    studies = []
    for code in study_codes():
        protocol = get_protocol(code)
        if protocol.public is None or protocol.study.recruitment != "recruiting":
            continue
        cities = sorted({s.city for s in protocol.sites.values() if s.active})
        studies.append(
            {
                "code": code,
                "study": protocol.study,
                "summary": passages.summary_lead(protocol, language),
                "cities": cities,
            }
        )
    return render(request, "portal/directory.html", {"studies": studies})


def _study_context(protocol, language, form=None, selected=""):
    sections = passages.sections(protocol, language)
    every = [p for s in sections for p in s.passages]
    if form is None:
        initial = {"passage": selected} if selected else {}
        form = NoteForm(every, initial=initial)
    return {
        "protocol": protocol,
        "study": protocol.study,
        "code": protocol.study.id,
        "sections": sections,
        "sites": _sites(protocol),
        "note_form": form,
        "contact_url": contact_url(protocol.study.id),
        "recruiting": protocol.study.recruitment == "recruiting",
    }


def study(request, code: str):
    protocol = _protocol(code)
    selected = request.GET.get("passage", "")
    language = _language()
    if selected and passages.find(protocol, language, selected) is None:
        selected = ""
    return render(
        request, "portal/study.html", _study_context(protocol, language, selected=selected)
    )


@never_cache
@require_http_methods(["GET", "POST"])
def self_check(request, code: str):
    protocol = _protocol(code)
    language = _language()
    asked = questions(protocol)
    form = SelfCheckForm(asked, language, request.POST or None)
    context = {
        "study": protocol.study,
        "code": code,
        "form": form,
        "recruiting": protocol.study.recruitment == "recruiting" and bool(asked),
        "contact_url": contact_url(code),
        "result": None,
    }
    status = 200
    if request.method == "POST" and context["recruiting"]:
        if form.is_valid():
            result = evaluate_self_check(protocol, form.answers())
            context["result"] = result
            context["reasons"] = [
                {"kind": c.kind, "label": passages.pick(c.label, language)} for c in result.failing
            ]
        else:
            status = 422
    return render(request, "portal/self_check.html", context, status=status)


@never_cache
@require_http_methods(["POST"])
def note_create(request, code: str):
    protocol = _protocol(code)
    language = _language()
    sections = passages.sections(protocol, language)
    every = [p for s in sections for p in s.passages]
    form = NoteForm(every, request.POST)
    if not form.is_valid():
        context = _study_context(protocol, language, form=form)
        return render(request, "portal/study.html", context, status=422)
    passage = passages.find(protocol, language, form.cleaned_data["passage"])
    created = actions.do_create_note(
        study=get_object_or_404(Study, code=code),
        passage=passage,
        language=language,
        body=form.cleaned_data["note"],
        passcode=form.cleaned_data["passcode"],
        expires_in=EXPIRY[form.cleaned_data["expires"]],
    )
    link = request.build_absolute_uri(reverse("portal:note", args=[created.note.token]))
    return render(
        request,
        "portal/note_created.html",
        {
            "note": created.note,
            "link": link,
            "owner_secret": created.owner_secret,
            "study": protocol.study,
        },
        status=201,
    )


def _client(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _gone(note: Note) -> str | None:
    if note.revoked_at is not None:
        return "revoked"
    if note.expires_at is not None and timezone.now() >= note.expires_at:
        return "expired"
    return None


@never_cache
@require_http_methods(["GET", "POST"])
def note_open(request, token: str):
    note = get_object_or_404(Note, token=token)
    context = {"note": note, "gone": _gone(note), "form": PasscodeForm(request.POST or None)}
    if context["gone"]:
        return render(request, "portal/note.html", context, status=410)
    if request.method == "GET":
        return render(request, "portal/note.html", context)
    return _note_attempt(request, note, context)


def _note_attempt(request, note: Note, context):
    form = context["form"]
    if actions.client_blocked(_client(request)):
        context["refusal"] = "client"
        return render(request, "portal/note.html", context, status=429)
    if note.locked_until and timezone.now() < note.locked_until:
        context["refusal"] = "locked"
        return render(request, "portal/note.html", context, status=429)
    if not form.is_valid():
        return render(request, "portal/note.html", context, status=422)
    if not actions.do_try_passcode(note, form.cleaned_data["passcode"], _client(request)):
        note.refresh_from_db()
        locked = note.locked_until and timezone.now() < note.locked_until
        context["refusal"] = "locked" if locked else "wrong"
        context["form"] = PasscodeForm()
        return render(request, "portal/note.html", context, status=429 if locked else 403)
    context.update(opened=True, body=decrypt_text(note.body_ciphertext))
    return render(request, "portal/note.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def note_revoke(request, token: str):
    note = get_object_or_404(Note, token=token)
    form = RevokeForm(request.POST or None)
    context = {"note": note, "form": form, "gone": _gone(note)}
    if request.method == "GET" or context["gone"] == "revoked":
        return render(request, "portal/note_revoke.html", context)
    if actions.client_blocked(_client(request)):
        context["refusal"] = "client"
        return render(request, "portal/note_revoke.html", context, status=429)
    if not form.is_valid():
        return render(request, "portal/note_revoke.html", context, status=422)
    if not actions.do_revoke_note(note, form.cleaned_data["secret"], _client(request)):
        context["refusal"] = "wrong"
        return render(request, "portal/note_revoke.html", context, status=403)
    context["revoked"] = True
    return render(request, "portal/note_revoke.html", context)
