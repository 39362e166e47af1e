"""The final-analysis report: HTML (inline SVG figures) and PDF (reportlab; the same SVGs drawn
with svglib), from a run's results and its snapshot's tables. No database access.

Sections: the run's identity (snapshot hash, protocol hash and version, software, seed), the
CONSORT flow diagram, Table 1, the primary analysis with its sensitivity analyses and the
group-sequential final look, the secondary analyses with a forest plot, the ordinal and the
diagnostic (ROC) analyses, safety (AE tables by arm, the SAE comparison), and labs and vitals
over time by arm.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import pandas as pd

from trialdesk.analyses import datasets as ds
from trialdesk.analyses import figures as fg
from trialdesk.analyses import tables as tb
from trialdesk.analyses.runner import control_arm
from trialdesk.dsmb.report_render import PDF_TEXT as DSMB_PDF_TEXT

#: Baseline characteristics shown in Table 1 when the protocol has them (form.item at the first
#: visit), after the stratification factors and each analysis's baseline.
TABLE1_ITEMS = (
    ("screening.age", "Age", "years", 0),
    ("screening.postpartum_day", "Postpartum day at screening", "days", 0),
    ("demog.bmi", "Body-mass index", "kg/m²", 1),
    ("demog.ga_weeks", "Gestational age at delivery", "weeks", 0),
    ("vitals.sbp", "Systolic blood pressure", "mmHg", 0),
    ("vitals.dbp", "Diastolic blood pressure", "mmHg", 0),
    ("hematology.hgb", "Hemoglobin", "g/dL", 1),
)
#: Labs and vitals shown over time by arm (when the protocol has them).
OVER_TIME_ITEMS = ("vitals.sbp", "vitals.dbp", "hematology.hgb", "hematology.plt")


def _f(x: Any, d: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:.{d}f}"


def _p(x: Any) -> str:
    if x is None or isinstance(x, str):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _ci(e: dict, d: int = 3) -> str:
    return f"{_f(e.get('ci_lower'), d)} to {_f(e.get('ci_upper'), d)}"


def _arm_labels(protocol) -> dict[str, str]:
    return {code: arm.name.en for code, arm in protocol.arms.items()}


def _arm_order(protocol) -> list[str]:
    ctrl = control_arm(protocol)
    return [*[a for a in protocol.arms if a != ctrl], ctrl]


# -- the CONSORT counts ----------------------------------------------------------------------
def consort_counts(tables: dict, protocol, results: dict) -> dict:
    screening = pd.DataFrame(tables["screening"])
    allocs = pd.DataFrame(tables["allocations"])
    dosing = {r["subject_id"] for r in tables["dosing"]}
    withdrawn = {r["subject_id"] for r in tables["withdrawals"]}
    labels = {
        "ineligible": "not_meeting_criteria",
        "declined": "declined",
        "not_reached": "other",
        "other": "other",
        "in_screening": "other",
    }
    excluded: dict[str, dict[str, int]] = {
        "not_meeting_criteria": {},
        "declined": {},
        "other": {},
    }
    if not screening.empty:
        for _, row in screening[screening["outcome"] != "enrolled"].iterrows():
            group = labels.get(row["outcome"], "other")
            if row["outcome"] == "ineligible" and row["failed_criteria"]:
                reason = str(row["failed_criteria"][0])
            else:
                reason = str(row["outcome"]).replace("_", " ")
            excluded[group][reason] = excluded[group].get(reason, 0) + 1
    primary = results.get("primary")
    used = results["analyses"].get(primary, {}).get("model", {}) if primary else {}
    arms = []
    for code in _arm_order(protocol):
        mine = set(allocs.loc[allocs["arm"] == code, "subject_id"]) if not allocs.empty else set()
        received = len(mine & dosing)
        analysed = results["populations"]["mitt"][code]
        if used:
            analysed = _primary_n(results, code, analysed)
        arms.append(
            {
                "label": _arm_labels(protocol)[code],
                "allocated": len(mine),
                "received": received,
                "not_received": {"not dosed": len(mine) - received} if len(mine) > received else 0,
                "lost_to_follow_up": 0,
                "discontinued": {"withdrew": len(mine & withdrawn)} if mine & withdrawn else 0,
                "analysed": analysed,
                "excluded_from_analysis": (
                    {"no primary endpoint value": received - analysed} if received > analysed else 0
                ),
            }
        )
    n_excl = sum(sum(g.values()) for g in excluded.values())
    return {
        "assessed": len(screening) if not screening.empty else len(allocs),
        "excluded": {k: (v or 0) for k, v in excluded.items()} if n_excl else {"other": 0},
        "randomized": len(allocs),
        "arms": arms,
    }


def _primary_n(results: dict, arm: str, default: int) -> int:
    counts = results["analyses"][results["primary"]].get("n_by_arm", {})
    return int(counts.get(arm, default))


# -- Table 1 ---------------------------------------------------------------------------------
def table1(tables: dict, protocol) -> tb.Table:
    adsl = ds.adsl(tables, protocol)
    vals = ds.values(tables)
    first = next(iter(protocol.visits))
    specs = [
        tb.VariableSpec(
            column=code,
            label=f.label.en,
            kind="categorical",
            levels={lv: level.label.en for lv, level in f.levels.items()},
        )
        for code, f in protocol.stratification.items()
    ]
    seen = set()
    for a in protocol.analyses.values():
        if a.baseline and a.baseline_visit and a.baseline not in seen:
            seen.add(a.baseline)
            col = f"baseline:{a.baseline}"
            adsl[col] = adsl["subject_id"].map(ds.item_at(vals, a.baseline, a.baseline_visit))
            specs.append(
                tb.VariableSpec(
                    column=col,
                    label=f"{a.baseline} at {a.baseline_visit}",
                    kind="continuous",
                    decimals=2,
                )
            )
    for item, label, unit, decimals in TABLE1_ITEMS:
        form, name = item.split(".", 1)
        if form not in protocol.forms or name not in protocol.form(form).fields:
            continue
        adsl[item] = adsl["subject_id"].map(ds.item_at(vals, item, first))
        if not adsl[item].notna().any():
            continue  # not recorded in this snapshot: no empty block
        specs.append(
            tb.VariableSpec(
                column=item, label=label, kind="continuous", unit=unit, decimals=decimals
            )
        )
    return tb.table1(adsl, "arm", specs, _arm_order(protocol), _arm_labels(protocol))


# -- result tables ---------------------------------------------------------------------------
def _table(title: str, columns, rows, footnotes=()) -> tb.Table:
    return tb.Table(
        title=title, columns=tuple(columns), rows=tuple(rows), footnotes=tuple(footnotes)
    )


def primary_table(results: dict, protocol) -> tb.Table | None:
    code = results.get("primary")
    res = results["analyses"].get(code, {}) if code else {}
    if "model" not in res:
        return None
    m = res["model"]
    rows = [
        (f"Adjusted mean, {e['name']}", _f(e["estimate"]), _f(e["standard_error"]), _ci(e), "")
        for e in m["adjusted_means"]
    ]
    for d in m["differences"]:
        rows.append(
            (
                f"Difference {d['name']} (primary, n = {m['n']})",
                _f(d["estimate"]),
                _f(d["standard_error"]),
                _ci(d),
                _p(d["p_value"]),
            )
        )
    mi = res.get("multiple_imputation")
    if mi and "differences" in mi:
        pooled = mi["differences"][0]
        rows.append(
            (
                f"Multiple imputation (m = {mi.get('m')}, Rubin's rules)",
                _f(pooled.get("estimate")),
                _f(pooled.get("standard_error")),
                _ci(pooled),
                _p(pooled.get("p_value")),
            )
        )
    pp = res.get("per_protocol")
    if pp and "not_estimable" in pp:
        rows.append(("Per-protocol", "not estimable", "", pp["not_estimable"], ""))
    if pp and pp.get("differences"):
        d = pp["differences"][0]
        rows.append(
            (
                f"Per-protocol (n = {pp['n']})",
                _f(d["estimate"]),
                _f(d["standard_error"]),
                _ci(d),
                _p(d["p_value"]),
            )
        )
    clean = res.get("qc_clean")
    if clean and clean.get("differences"):
        d = clean["differences"][0]
        rows.append(
            (
                f"Without censored or hemolysed samples (n = {clean['n']})",
                _f(d["estimate"]),
                _f(d["standard_error"]),
                _ci(d),
                _p(d["p_value"]),
            )
        )
    look = results.get("final_look")
    notes = [res.get("description", ""), res.get("complete_case_note", "")]
    qc = res.get("qpcr")
    if qc:
        diff = qc["max_difference_from_stored"]
        notes.append(
            f"Recomputed from the raw Ct values for {qc['n']} participants: {qc['censored']} "
            f"with a censored Ct (above {qc['rules']['detection_limit_ct']:g} cycles; their "
            f"change is a bound, so it is missing for the model and imputed in the MI "
            f"analysis: {', '.join(qc.get('set_missing', [])) or 'none'}), {qc['hemolysed']} "
            f"with a hemolysed sample (ΔCq miR-23a − miR-451a above "
            f"{qc['rules']['hemolysis_dcq_above']:g}); largest difference between the stored "
            f"and the recomputed log2 fold change {_f(diff, 4) if diff is not None else '–'}."
        )
    if look and "adjusted_p_value" in look:
        lo, hi = look["confidence_interval"]
        rows.append(
            (
                "Group-sequential final look (median-unbiased, stage-wise ordering)",
                _f(look["median_unbiased"]),
                "–",
                f"{_f(lo)} to {_f(hi)}",
                _p(look["adjusted_p_value"]),
            )
        )
        notes.append(look["summary"])
    return _table(
        f"Primary analysis: {protocol.endpoints[protocol.analyses[code].endpoint].measure}",
        ("", "Estimate", "SE", "95 % CI", "p"),
        rows,
        [n for n in notes if n],
    )


def secondary_rows(results: dict, protocol) -> list[dict]:
    """Forest-plot rows: every non-primary ANCOVA difference and each MMRM visit effect."""
    out = []
    for code, res in results["analyses"].items():
        if code == results.get("primary") or "model" not in res:
            continue
        m = res["model"]
        if res["method"] == "ancova":
            for d in m["differences"]:
                out.append({"label": f"{code}: {d['name']}", **_forest(d)})
        elif res["method"] == "mmrm":
            for d in m["treatment_effects"]:
                out.append({"label": f"{code} {d['name']}", **_forest(d)})
    return out


def _forest(d: dict) -> dict:
    return {
        "estimate": d["estimate"],
        "ci_low": d["ci_lower"],
        "ci_high": d["ci_upper"],
        "p": d.get("p_value"),
    }


def secondary_table(rows: list[dict]) -> tb.Table:
    return _table(
        "Secondary analyses: differences from the control arm",
        ("Analysis", "Estimate", "95 % CI", "p"),
        [
            (r["label"], _f(r["estimate"]), f"{_f(r['ci_low'])} to {_f(r['ci_high'])}", _p(r["p"]))
            for r in rows
        ],
    )


def other_tables(results: dict) -> list[tb.Table]:
    out = []
    for code, res in results["analyses"].items():
        method = res.get("method")
        if "not_estimable" in res and code != results.get("primary"):
            out.append(
                _table(
                    f"{code} ({method})", ("", "Result"), [("not estimable", res["not_estimable"])]
                )
            )
            continue
        if method == "proportional_odds":
            rows = [
                (
                    o["name"],
                    _f(o["odds_ratio"]),
                    f"{_f(o['ci_lower'])} to {_f(o['ci_upper'])}",
                    _p(o.get("p_value")),
                )
                for o in res["model"].get("odds_ratios", [])
            ]
            out.append(
                _table(
                    f"{code}: proportional-odds model, odds ratios",
                    ("Term", "OR", "95 % CI", "p"),
                    rows,
                    [res["summary"]],
                )
            )
        elif method == "fisher_exact":
            m = res["model"]
            rows = [
                (
                    f"{a['arm']}: with the event",
                    f"{a['events']}/{a['n']} ({a['proportion']:.1%}); "
                    f"exact 95 % CI {_f(a['clopper_pearson'][0])} to {_f(a['clopper_pearson'][1])}",
                )
                for a in (m["treatment"], m["control"])
            ]
            nc = m["risk_difference_newcombe_ci"]
            rows.append(
                (
                    "Risk difference (Newcombe 95 % CI)",
                    f"{_f(m['risk_difference'])} ({_f(nc[0])} to {_f(nc[1])})",
                )
            )
            rr = m["relative_risk_ci"]
            rows.append(
                (
                    "Relative risk (95 % CI)",
                    "undefined (a zero cell)"
                    if rr is None
                    else f"{_f(m['relative_risk'])} ({_f(rr[0])} to {_f(rr[1])})",
                )
            )
            rows.append(("Fisher's exact test", f"p = {_p(m['fisher_p_value'])}"))
            out.append(
                _table(
                    f"{code}: participants with the event by arm",
                    ("", "Result"),
                    rows,
                    [res.get("description", "")],
                )
            )
        elif method == "roc":
            q = res["quoted"]
            rows = [
                (
                    "AUC (DeLong 95 % CI)",
                    f"{_f(res['auc'])} ({_f(res['auc_ci'][0])} to {_f(res['auc_ci'][1])})",
                )
            ]
            at = res["at_youden"]
            rows.append(("Youden cut-off", _f(res["youden"][0]["threshold"])))
            rows.append(("Sensitivity at the cut-off", _f(at.get("sensitivity"))))
            rows.append(("Specificity at the cut-off", _f(at.get("specificity"))))
            for c in q.get("checks", []):
                rows.append(
                    (
                        f"Quoted {c['quantity']} {_f(c['quoted'])}",
                        "inside the observed CI" if c.get("inside") else "outside the observed CI",
                    )
                )
            out.append(
                _table(
                    f"{code}: diagnostic performance",
                    ("", "Result"),
                    rows,
                    [res["summary"], res.get("description", "")],
                )
            )
    return out


# -- safety and over time --------------------------------------------------------------------
def ae_section(tables: dict, protocol) -> tb.AETables:
    adsl = ds.adsl(tables, protocol)
    safety = adsl[adsl["safety"]]
    aes = pd.DataFrame(tables["adverse_events"])
    arm_of = dict(zip(adsl["subject_id"], adsl["arm"], strict=True))
    frame = pd.DataFrame(
        {
            "participant_id": aes["subject_id"] if not aes.empty else [],
            "arm": aes["subject_id"].map(arm_of) if not aes.empty else [],
            "ctcae_term": aes["ctcae_term"] if not aes.empty else [],
            "term": aes["term"] if not aes.empty else [],
            "grade": aes["grade"] if not aes.empty else [],
            "serious": aes["serious"].astype(bool) if not aes.empty else [],
            "related": aes["related"].astype(bool) if not aes.empty else [],
            "susar": aes["susar"].astype(bool) if not aes.empty else [],
        }
    )
    frame = frame[frame["participant_id"].isin(set(safety["subject_id"]))]
    n_by_arm = {a: int((safety["arm"] == a).sum()) for a in protocol.arms}
    return tb.ae_tables(frame, n_by_arm, _arm_order(protocol), _arm_labels(protocol))


def over_time_frame(tables: dict, protocol) -> pd.DataFrame:
    adsl = ds.adsl(tables, protocol)
    vals = ds.values(tables)
    items = [i for i in OVER_TIME_ITEMS if i in set(vals["item"])]
    v = vals[vals["item"].isin(items) & vals["value"].notna()].sort_values(["subject_id", "repeat"])
    v = v.drop_duplicates(["subject_id", "visit", "item"])
    arm_of = dict(zip(adsl["subject_id"], adsl["arm"], strict=True))
    v = v.assign(arm=v["subject_id"].map(arm_of)).dropna(subset=["arm"])
    frame = v.rename(columns={"subject_id": "participant_id"})[
        ["participant_id", "arm", "visit", "sequence", "item", "value"]
    ]
    return tb.over_time(frame, _arm_order(protocol), _arm_labels(protocol), items=items or None)


# -- the whole report ------------------------------------------------------------------------
def blocks(results: dict, tables: dict, protocol) -> list[tuple[str, str, Any]]:
    """(heading, kind, content) in report order; kind is "p" (text), "table" (Table) or
    "figure" (SVG bytes with its title as heading)."""
    out: list[tuple[str, str, Any]] = []
    meta = results["meta"]
    out.append(
        (
            "Identity of this analysis",
            "p",
            f"Study {meta['study']}, snapshot {meta['snapshot']} ({meta['snapshot_kind']}), "
            f"SHA-256 {meta['snapshot_sha256']}; data cut at audit event {meta['audit_seq']}; "
            f"protocol version {meta['protocol_version']}, SHA-256 {meta['protocol_sha256']}; "
            f"{meta['software']}; seed {meta['seed']}."
            + (
                f" Interim run {meta['interim']['run']} (n = {meta['interim']['n']}, "
                f"z = {meta['interim']['z']:.4f}) precedes it."
                if meta.get("interim")
                else " No interim analysis precedes it."
            ),
        )
    )
    pops = results["populations"]
    out.append(
        (
            "Analysis populations",
            "table",
            _table(
                "Participants per population and arm",
                ("Population", *protocol.arms),
                [(pop, *[str(pops[pop][a]) for a in protocol.arms]) for pop in ds.POPULATIONS],
            ),
        )
    )
    out.append(
        (
            "CONSORT flow diagram",
            "figure",
            fg.consort_svg(consort_counts(tables, protocol, results)),
        )
    )
    out.append(("Baseline characteristics (Table 1)", "table", table1(tables, protocol)))
    primary = primary_table(results, protocol)
    if primary is not None:
        out.append(("Primary analysis (ANCOVA)", "table", primary))
        code = results["primary"]
        frame = ds.endpoint_frame(tables, protocol, protocol.analyses[code]).dropna(
            subset=["outcome"]
        )
        if not frame.empty:
            out.append(
                (
                    "Primary endpoint by arm",
                    "figure",
                    fg.primary_endpoint_svg(
                        frame,
                        "arm",
                        "outcome",
                        _arm_order(protocol),
                        _arm_labels(protocol),
                        protocol.analyses[code].outcome,
                    ),
                )
            )
    rows = secondary_rows(results, protocol)
    if rows:
        out.append(("Secondary analyses", "table", secondary_table(rows)))
        out.append(
            (
                "Secondary analyses (forest plot)",
                "figure",
                fg.forest_svg(
                    [{k: r[k] for k in ("label", "estimate", "ci_low", "ci_high")} for r in rows],
                    "difference from the control arm",
                ),
            )
        )
    for t in other_tables(results):
        out.append((t.title.split(":")[0], "table", t))
    for code, res in results["analyses"].items():
        if res.get("method") == "roc" and "curve" in res:
            quoted = next(
                (c for c in res["quoted"].get("checks", []) if c["quantity"] == "specificity"), None
            )
            sens = next(
                (c for c in res["quoted"].get("checks", []) if c["quantity"] == "sensitivity"), None
            )
            point = (1 - quoted["quoted"], sens["quoted"]) if quoted and sens else None
            out.append(
                (
                    f"ROC curve ({code})",
                    "figure",
                    fg.roc_svg(
                        [
                            {
                                "label": code,
                                "fpr": res["curve"]["fpr"],
                                "tpr": res["curve"]["tpr"],
                                "auc": res["auc"],
                            }
                        ],
                        quoted_point=point,
                    ),
                )
            )
    aes = ae_section(tables, protocol)
    out.append(("Adverse events by arm", "table", aes.summary))
    out.append(("Adverse events by CTCAE term and highest grade", "table", aes.by_term_grade))
    summary = over_time_frame(tables, protocol)
    for item in dict.fromkeys(summary["item"]) if not summary.empty else []:
        out.append((f"{item} over time", "table", tb.over_time_table(summary, item)))
        out.append((f"{item} over time (figure)", "figure", fg.over_time_svg(summary, item)))
    return out


def html(results: dict, tables: dict, protocol, parts=None) -> str:
    parts = parts if parts is not None else blocks(results, tables, protocol)
    meta = results["meta"]
    body = [
        f'<section class="analysis-report"><h1>Final analysis — {escape(meta["study"])}, '
        f"snapshot {meta['snapshot']}</h1>"
    ]
    for heading, kind, content in parts:
        body.append(f"<h2>{escape(heading)}</h2>")
        if kind == "p":
            body.append(f"<p>{escape(content)}</p>")
        elif kind == "table":
            body.append(f'<div class="scroll">{content.to_html()}</div>')
        else:
            svg = content.decode()
            svg = svg[svg.index("<svg") :]
            body.append(f'<figure class="analysis-figure">{svg}</figure>')
    body.append("</section>")
    return "\n".join(body)


#: The DSMB report's spelling-out of characters reportlab's standard fonts lack, plus a few more.
PDF_TEXT = {
    **DSMB_PDF_TEXT,
    **str.maketrans({"²": "2", "–": "-", "—": "-", "·": "x", "≤": "<="}),
}


def pdf(results: dict, tables: dict, protocol, parts=None) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from svglib.svglib import svg2rlg

    parts = parts if parts is not None else blocks(results, tables, protocol)
    styles = getSampleStyleSheet()
    body, h1, h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
    small = body.clone("small", fontSize=7, leading=8.5)

    def para(text, style=body):
        return Paragraph(escape(str(text).translate(PDF_TEXT)), style)

    meta = results["meta"]
    story: list = [para(f"Final analysis - {meta['study']}, snapshot {meta['snapshot']}", h1)]
    width = A4[0] - 30 * mm
    for heading, kind, content in parts:
        story.append(para(heading, h2))
        if kind == "p":
            story.append(para(content))
        elif kind == "table":
            cell = small if len(content.columns) > 4 else body
            data = [[para(c, cell) for c in content.columns]]
            data += [[para(c, cell) for c in row] for row in content.rows]
            t = Table(data, hAlign="LEFT", repeatRows=1)
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
            for note in content.footnotes:
                story.append(para(note, small))
        else:
            drawing = svg2rlg(io.BytesIO(content))
            if drawing is not None:
                scale = min(1.0, width / drawing.width, (200 * mm) / drawing.height)
                drawing.scale(scale, scale)
                drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
                story.append(drawing)
        story.append(Spacer(1, 3 * mm))
    buf = io.BytesIO()
    SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Final analysis {meta['study']} snapshot {meta['snapshot']}",
        author="trialdesk",
        invariant=True,
    ).build(story)
    return buf.getvalue()


def render(results: dict, tables: dict, protocol) -> tuple[str, bytes]:
    parts = blocks(results, tables, protocol)
    return html(results, tables, protocol, parts), pdf(results, tables, protocol, parts)
