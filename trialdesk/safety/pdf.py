"""A CIOMS-I-style report of a serious adverse event (reportlab).

The patient is named by study ID only (no initials, no identity); the suspect product by the
protocol's blinded wording (``adverse_events.suspect_product``) — never the arm, the kit or the
lot. Concomitant drugs come from the protocol's ``conmed`` log form when there is one.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from trialdesk.crfs.models import FormInstance
from trialdesk.randomization.models import Dosing
from trialdesk.safety.services import stored_values
from trialdesk.studies.registry import get_protocol
from trialdesk.studies.timezones import site_zone

CONMED_FORM = "conmed"


def _label(protocol, form_code: str, field: str | None, code) -> str:
    """The English label of a coded answer (codes joined for a multichoice)."""
    if not field or code in (None, "", []):
        return "—"
    fld = protocol.form(form_code).fields.get(field)
    if fld is None or not fld.codelist:
        return str(code)
    items = protocol.codelist(fld.codelist).items
    codes = code if isinstance(code, list) else [code]
    return "; ".join(items[c].label.en if c in items else str(c) for c in codes)


def _when(value, zone) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def conmeds(participant) -> list[tuple[str, str, str]]:
    """(drug, indication, dates) of the participant's concomitant medication log."""
    rows = []
    instances = FormInstance.objects.filter(participant=participant, form_code=CONMED_FORM)
    for fi in instances.order_by("pk"):
        v = stored_values(fi)
        if not v.get("drug"):
            continue
        dates = f"{v.get('start_date') or '?'} – " + (
            "ongoing" if v.get("ongoing") else str(v.get("stop_date") or "?")
        )
        rows.append((str(v["drug"]), str(v.get("indication") or ""), dates))
    return rows


def cioms_pdf(ae, *, reporter: str, report_kind: str, arm: str | None = None) -> bytes:
    """The CIOMS-I form of ``ae``. ``arm`` (the allocated arm's label) only for the unblinded
    copy a SUSAR's expedited report needs; the caller checks who may have it and audits it."""
    participant = ae.participant
    protocol = get_protocol(participant)
    spec = protocol.adverse_events
    f = spec.fields
    zone = site_zone(participant.site)
    values = stored_values(ae.form)
    styles = getSampleStyleSheet()
    body, head = styles["BodyText"], styles["Heading3"]

    def para(text: str) -> Paragraph:
        return Paragraph(escape(text), body)

    def table(rows) -> Table:
        t = Table(
            [[para(a), para(b)] for a, b in rows], colWidths=[55 * mm, 115 * mm], hAlign="LEFT"
        )
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ]
            )
        )
        return t

    dosing = Dosing.objects.filter(participant=participant).first()
    description = ae.term or "—"
    if ae.ctcae_term:
        description += f" (CTCAE v5.0: {ae.ctcae_term})"
    description += f"; severity {_label(protocol, spec.form, f.grade, ae.grade)}"
    if values.get("end_at"):
        description += f"; ended {values['end_at'].replace('T', ' ')} (site time)"
    story = [
        Paragraph(
            escape(f"CIOMS I — Suspect adverse reaction report ({report_kind})"), styles["Title"]
        ),
        *([para("UNBLINDED — for expedited regulatory reporting only")] if arm else []),
        para(
            f"Study {protocol.study.id}; "
            f"site {participant.site.code}; adverse event version {ae.version}; "
            f"generated {_when(timezone.now(), zone)}"
        ),
        Spacer(1, 4 * mm),
        Paragraph("I. Reaction information", head),
        table(
            [
                ("1. Patient", f"Study ID {participant.subject_id} (no identifying data)"),
                ("Reaction onset", _when(ae.onset_at, zone)),
                ("Site became aware", _when(ae.aware_at, zone)),
                ("Describe reaction(s)", description),
                (
                    "Seriousness criteria",
                    _label(protocol, spec.form, f.seriousness, ae.seriousness)
                    if ae.serious
                    else "not serious",
                ),
                ("Outcome", _label(protocol, spec.form, f.outcome, ae.outcome)),
            ]
        ),
        Paragraph("II. Suspect drug information", head),
        table(
            [
                ("Suspect product", spec.suspect_product),
                *([("Allocated arm (unblinded)", arm)] if arm else []),
                (
                    "Therapy date",
                    _when(dosing.started_at, zone) if dosing else "not dosed or not recorded",
                ),
                (
                    "Relationship to the product",
                    _label(protocol, spec.form, f.relatedness, ae.relatedness),
                ),
                (
                    "Expected (reference safety information)",
                    {True: "yes", False: "no"}.get(ae.expected, "not assessed (unexpected)"),
                ),
                ("SUSAR", "yes" if ae.susar else "no"),
            ]
        ),
        Paragraph("III. Concomitant drugs and history", head),
    ]
    meds = conmeds(participant)
    story.append(
        table([(drug, f"{indication}; {dates}") for drug, indication, dates in meds])
        if meds
        else para("None recorded in the concomitant medication log.")
    )
    story += [
        Paragraph("IV. Reporter", head),
        table(
            [
                ("Reporter", reporter),
                ("Site", f"{participant.site.code} {participant.site.name}"),
                ("Sponsor", protocol.study.sponsor),
            ]
        ),
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        invariant=1,
        pageCompression=0,  # text searchable in the raw file (and no random bytes)
        title=f"CIOMS I {participant.subject_id} AE {ae.pk} v{ae.version}",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
    )
    doc.build(story)
    return buf.getvalue()
