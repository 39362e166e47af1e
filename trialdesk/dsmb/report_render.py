"""The DSMB reports rendered: matplotlib figures (Agg, PNG), HTML (Django template) and PDF.

The PDF is drawn with reportlab (already the house PDF library: CIOMS forms, consent
documents), not WeasyPrint: WeasyPrint needs Pango and other system libraries this deployment
does not install, and reportlab writes the same bytes for the same input apart from its
timestamps, which are pinned here to the report's data-cut time (``invariant``), so a PDF
can be regenerated and compared.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .report_data import CLOSED, ReportData  # noqa: E402

#: (table name, heading), in the order shown; closed-only tables follow the open ones.
OPEN_SECTIONS = (
    ("consort", "Participant flow (CONSORT counts)"),
    ("enrolment_by_month", "Enrolment over time"),
    ("retention", "Retention"),
    ("visit_completion", "Visit completion"),
    ("data_completeness", "Data completeness"),
    ("queries", "Query status"),
    ("ae_summary", "Adverse events (pooled)"),
    ("ae_by_grade", "Adverse events by grade and seriousness (pooled)"),
)
CLOSED_SECTIONS = (
    ("n_by_arm", "Participants by arm"),
    ("efficacy_by_arm", "Primary endpoint by arm"),
    ("efficacy_difference", "Primary endpoint: difference between arms (95 % CI)"),
    ("interim_boundaries", "Planned group-sequential boundaries (z scale)"),
    ("ae_by_arm", "Adverse events by arm, grade and relatedness"),
    ("sae_listing", "Serious adverse event listing"),
    ("labs_vitals_by_arm", "Labs and vitals over time by arm"),
)
FIGURE_AFTER = {
    "enrolment_by_month": "enrolment",
    "ae_by_grade": "ae_grade",
    "interim_boundaries": "boundary",
    "labs_vitals_by_arm": "labs_vitals",
}
FIGURE_TITLES = {
    "enrolment": "Cumulative randomized participants by month",
    "ae_grade": "Adverse events by grade (pooled)",
    "boundary": "Group-sequential boundaries (z scale) and the observed z",
    "labs_vitals": "Labs and vitals: means by visit and arm",
}


def _title(data: ReportData) -> str:
    kind = "Closed" if data.kind == CLOSED else "Open"
    return f"{data.study}: {kind} DSMB report"


def sections(data: ReportData) -> list[tuple[str, str]]:
    return list(OPEN_SECTIONS) + (list(CLOSED_SECTIONS) if data.kind == CLOSED else [])


# --------------------------------------------------------------------------- figures
def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def figures(data: ReportData) -> dict[str, bytes]:
    out = {}
    t = data.tables
    fig, ax = plt.subplots(figsize=(6, 3))
    e = t["enrolment_by_month"]
    if len(e):
        ax.step(list(e["month"]), list(e["cumulative"]), where="mid", marker="o")
    ax.set_xlabel("month (UTC)")
    ax.set_ylabel("randomized (cumulative)")
    fig.tight_layout()
    out["enrolment"] = _png(fig)

    fig, ax = plt.subplots(figsize=(6, 3))
    g = t["ae_by_grade"]
    if len(g):
        grades = list(g["grade"])
        ax.bar(grades, list(g["non_serious"]), label="non-serious")
        ax.bar(grades, list(g["serious"]), bottom=list(g["non_serious"]), label="serious")
        ax.legend()
    ax.set_ylabel("events")
    fig.tight_layout()
    out["ae_grade"] = _png(fig)

    if data.kind != CLOSED:
        return out
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if data.design is not None:
        fr = list(data.design.information_fraction)
        ax.plot(fr, list(data.design.critical_values), "o-", color="firebrick", label="efficacy")
        if data.design.futility_bounds:
            fb = list(data.design.futility_bounds)
            ax.plot(fr[: len(fb)], fb, "s--", color="steelblue", label="futility")
    if data.observed_z is not None and data.information_fraction:
        ax.plot([data.information_fraction], [data.observed_z], "k*", ms=12, label="observed z")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("information fraction")
    ax.set_ylabel("z")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(
            0.5, 0.5, "no interim design and no endpoint data", ha="center", transform=ax.transAxes
        )
    fig.tight_layout()
    out["boundary"] = _png(fig)

    lv = t["labs_vitals_by_arm"]
    items = list(dict.fromkeys(lv["item"])) if len(lv) else []
    fig, axes = plt.subplots(1, max(1, len(items)), figsize=(6, 3), squeeze=False)
    if not items:
        axes[0][0].text(
            0.5, 0.5, "no lab or vital data", ha="center", transform=axes[0][0].transAxes
        )
    for ax, item in zip(axes[0], items, strict=False):
        sub = lv[lv["item"] == item]
        for arm, rows in sub.groupby("arm", sort=True):
            ax.plot(list(rows["visit"]), list(rows["mean"]), "o-", label=str(arm))
        ax.set_title(item, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    out["labs_vitals"] = _png(fig)
    return out


# --------------------------------------------------------------------------- HTML
def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:.1f}"
    return str(v)


def _rows(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    return [str(c) for c in df.columns], [[_fmt(v) for v in r] for r in df.itertuples(index=False)]


def html(data: ReportData, figs: dict[str, bytes], *, report_id: str = "") -> str:
    blocks = []
    for name, heading in sections(data):
        cols, rows = _rows(data.tables[name])
        fig = FIGURE_AFTER.get(name)
        blocks.append(
            {
                "name": name,
                "heading": heading,
                "columns": cols,
                "rows": rows,
                "figure": base64.b64encode(figs[fig]).decode() if fig in figs else "",
                "figure_title": FIGURE_TITLES.get(fig or "", ""),
            }
        )
    return render_to_string(
        "dsmb/report_body.html",
        {
            "title": _title(data),
            "data": data,
            "closed": data.kind == CLOSED,
            "blocks": blocks,
            "design_note": data.design_note,
            "report_id": report_id,
            "cut_utc": data.cut_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        },
    )


# --------------------------------------------------------------------------- PDF
#: reportlab's standard fonts (WinAnsi) have no Greek letters or minus sign: spell them out.
PDF_TEXT = str.maketrans({"α": "alpha", "β": "beta", "−": "-", "Δ": "Delta", "≥": ">="})


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(str(text).translate(PDF_TEXT)), style)


def pdf(data: ReportData, figs: dict[str, bytes]) -> bytes:
    styles = getSampleStyleSheet()
    body, h1, h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=_title(data),
        author="trialdesk",
        invariant=True,
    )
    story: list = [
        _p(_title(data), h1),
        _p(
            (
                f"Data cut: audit sequence {data.data_cut_seq} "
                f"({data.cut_at.astimezone(dt.UTC).strftime('%Y-%m-%d %H:%M')} UTC)."
            ),
            body,
        ),
    ]
    if data.kind == CLOSED:
        story.append(
            Paragraph(
                "CLOSED SESSION: by-arm results for the DSMB and the unblinded statistician "
                "only. Do not distribute.",
                body,
            )
        )
    story.append(Spacer(1, 4 * mm))
    for name, heading in sections(data):
        if name == "n_by_arm":
            story.append(PageBreak())
        story.append(_p(heading, h2))
        df = data.tables[name]
        cols, rows = _rows(df)
        if not rows:
            story.append(Paragraph("No data at this cut.", body))
        else:
            cell = small if len(cols) > 5 else body
            t = Table(
                [[_p(c, cell) for c in cols]] + [[_p(v, cell) for v in r] for r in rows],
                hAlign="LEFT",
                repeatRows=1,
            )
            t.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story.append(t)
        fig = FIGURE_AFTER.get(name)
        if fig in figs:
            story.append(Spacer(1, 2 * mm))
            story.append(_p(FIGURE_TITLES[fig], body))
            story.append(Image(io.BytesIO(figs[fig]), width=150 * mm, height=75 * mm))
        if name == "interim_boundaries" and data.design_note:
            story.append(_p(data.design_note, small))
        story.append(Spacer(1, 3 * mm))
    doc.build(story)
    return buf.getvalue()
