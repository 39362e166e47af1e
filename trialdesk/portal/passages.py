"""A study's public page as sections of passages, each with a stable id (``summary-1``,
``faq-2``) that a private note points at. Texts come from the protocol's ``public`` section
in the visitor's language; a paragraph's lines that begin with "- " are a list."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from trialdesk.core.protocol.models import PUBLIC_SECTIONS, Text

HEADINGS = {
    "summary": _("Why is this study being done?"),
    "what_happens": _("What will happen in this study?"),
    "what_participants_do": _("What will participants need to do?"),
    "who_can_join": _("Who can join this study?"),
    "benefits": _("What are the possible benefits?"),
    "risks": _("What are the possible risks?"),
    "duration": _("How long will the study last?"),
    "compensation": _("Is there payment or compensation?"),
}


@dataclass(frozen=True)
class Passage:
    id: str
    lead: tuple[str, ...]  # lines of prose
    items: tuple[str, ...]  # list items
    question: str = ""  # FAQ passages: the question

    @property
    def text(self) -> str:
        lines = ([self.question] if self.question else []) + list(self.lead)
        return "\n".join(lines + [f"- {item}" for item in self.items])

    @property
    def preview(self) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= 70 else flat[:67] + "…"


@dataclass(frozen=True)
class Section:
    code: str
    heading: str
    passages: tuple[Passage, ...]


def pick(text: Text, language: str) -> str:
    return text.id if language == "id" else text.en


def _paragraph(pid: str, paragraph: str) -> Passage:
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    lead = tuple(line for line in lines if not line.startswith("- "))
    items = tuple(line[2:].strip() for line in lines if line.startswith("- "))
    return Passage(pid, lead, items)


def sections(protocol, language: str) -> list[Section]:
    """The lay sections, then the FAQ (one passage per question)."""
    public = protocol.public
    if public is None:
        return []
    out = []
    for code in PUBLIC_SECTIONS:
        paragraphs = [p for p in pick(getattr(public, code), language).split("\n\n") if p.strip()]
        passages = tuple(_paragraph(f"{code}-{n}", p) for n, p in enumerate(paragraphs, 1))
        out.append(Section(code, str(HEADINGS[code]), passages))
    faq = tuple(
        Passage(f"faq-{n}", (pick(item.answer, language),), (), pick(item.question, language))
        for n, item in enumerate(public.faq, 1)
    )
    if faq:
        out.append(Section("faq", str(_("Questions about clinical trials")), faq))
    return out


def find(protocol, language: str, passage_id: str) -> Passage | None:
    for section in sections(protocol, language):
        for passage in section.passages:
            if passage.id == passage_id:
                return passage
    return None


def summary_lead(protocol, language: str) -> str:
    """The first paragraph of the summary: the directory's short text."""
    text = pick(protocol.public.summary, language)
    return text.split("\n\n", 1)[0].strip()
