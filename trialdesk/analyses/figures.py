"""The final analysis's figures as SVG bytes, from plain data (no database, no Django).

* :func:`consort_svg` — the CONSORT 2010 flow diagram, drawn by hand (xml.etree) so that every
  box grows to fit its wrapped text;
* :func:`primary_endpoint_svg` — every participant's value (jittered) with the mean and its
  95 % CI per arm;
* :func:`forest_svg` — estimates with 95 % CIs against a null line;
* :func:`roc_svg` — ROC curves with the chance diagonal and an optional quoted operating point;
* :func:`over_time_svg` — mean ± SE by visit per arm (the frame of
  :func:`trialdesk.analyses.tables.over_time`).

Reproducible: the same input gives the same bytes, run after run (matplotlib's ``svg.hashsalt``
fixed, no date in the metadata, jitter from a fixed seed). Text stays text
(``svg.fonttype = 'none'``), so it is searchable, readable by screen readers and scales. Every
figure has a ``<title>`` and a ``<desc>`` (what it shows, in words), axis labels, and tells
arms and series apart by marker and line style as well as colour. The SVGs carry a
``viewBox``: a page scales them to the screen with ``max-width: 100%; height: auto``.

Matplotlib is used through ``matplotlib.figure.Figure`` only, never pyplot: no global figure
registry and no backend switch, so it is safe in a web process; the SVG backend renders.
"""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from scipy import stats

from .tables import arm_label_map, check_arms, require_columns

#: rcParams in force while a figure is built and saved.
STYLE: dict[str, Any] = {
    "svg.hashsalt": "trialdesk-analyses",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}
#: Okabe–Ito colours (distinguishable with the common colour-vision deficiencies); markers and
#: line styles carry the same distinction without colour.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)))
#: The seed of the jitter in :func:`primary_endpoint_svg` (a figure, not an analysis).
JITTER_SEED = 20_251_130


def _style_of(i: int) -> dict[str, Any]:
    k = i % len(COLOURS)
    return {"color": COLOURS[k], "marker": MARKERS[k], "linestyle": LINESTYLES[k]}


def _t(text: Any) -> str:
    """Text for matplotlib: a "$" is shown, never read as the start of mathtext."""
    return str(text).replace("$", r"\$")


@contextmanager
def _style():
    with mpl.rc_context(STYLE):
        yield


def _render(fig: Figure, *, title: str, desc: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Title": title})
    svg = buf.getvalue().decode("utf-8")
    # matplotlib writes <title> as the root's first child; add the description after it, and
    # the image role on the root element (screen readers then read title and desc).
    svg = svg.replace("<svg ", '<svg role="img" ', 1)
    end = svg.index("</title>") + len("</title>")
    svg = f"{svg[:end]}\n <desc>{escape(desc)}</desc>{svg[end:]}"
    return svg.encode("utf-8")


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        raise ValueError(f"{what}: a number is needed, got {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{what}: a finite number is needed, got {x!r}")
    return x


def _fmt(x: float, decimals: int) -> str:
    s = f"{x:.{decimals}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


# =========================================================================== CONSORT
#: Geometry of the CONSORT diagram, in SVG user units (px at scale 1).
FONT_SIZE = 14
LINE_HEIGHT = 18
PAD = 8
COL_W = 240
GAP = 24
MARGIN = 12
BAND_H = 26
V_GAP = 26
INDENT = 14
FONT_FAMILY = "DejaVu Sans, Arial, Helvetica, Roboto, sans-serif"
SVG_NS = "http://www.w3.org/2000/svg"

EXCLUSION_GROUPS = {
    "not_meeting_criteria": "Not meeting inclusion criteria",
    "declined": "Declined to participate",
    "other": "Other reasons",
}
ARM_REQUIRED = ("label", "allocated", "received", "analysed")
ARM_REASON_GROUPS = {
    "not_received": "Did not receive allocated intervention",
    "lost_to_follow_up": "Lost to follow-up",
    "discontinued": "Discontinued intervention",
    "excluded_from_analysis": "Excluded from analysis",
}
TOP_KEYS = ("assessed", "excluded", "randomized", "arms")

Group = tuple[int, list[tuple[str, int]]]  # (total, [(reason, n), ...])


def _count(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int | np.integer) or x < 0:
        raise ValueError(f"consort_svg: {what} must be a whole number ≥ 0, got {x!r}")
    return int(x)


def _group(value: Any, what: str) -> Group:
    """A reason group: a number (no reasons given) or a mapping reason → n (total = sum)."""
    if isinstance(value, Mapping):
        reasons = []
        for reason, n in value.items():
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(
                    f"consort_svg: {what}: each reason is non-empty text, got {reason!r}"
                )
            reasons.append((" ".join(reason.split()), _count(n, f"{what}[{reason!r}]")))
        return sum(n for _, n in reasons), reasons
    return _count(value, what), []


def _unknown_keys(d: Mapping, allowed: Sequence[str], what: str) -> None:
    extra = [k for k in d if k not in allowed]
    if extra:
        raise ValueError(
            f"consort_svg: {what}: unknown key(s) {', '.join(map(repr, extra))}; "
            f"allowed: {', '.join(allowed)}"
        )


def _parse_arm(arm: Any, i: int) -> dict[str, Any]:
    what = f"arms[{i}]"
    if not isinstance(arm, Mapping):
        raise ValueError(f"consort_svg: {what} must be a mapping, got {type(arm).__name__}")
    _unknown_keys(arm, (*ARM_REQUIRED, *ARM_REASON_GROUPS), what)
    missing = [k for k in ARM_REQUIRED if k not in arm]
    if missing:
        raise ValueError(f"consort_svg: {what}: missing key(s) {', '.join(missing)}")
    label = arm["label"]
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"consort_svg: {what}.label must be non-empty text")
    out: dict[str, Any] = {"label": " ".join(label.split())}
    for k in ("allocated", "received", "analysed"):
        out[k] = _count(arm[k], f"{what}.{k}")
    for k in ARM_REASON_GROUPS:
        out[k] = _group(arm.get(k, 0), f"{what}.{k}")
    return out


def _check_arm_sums(a: dict[str, Any], i: int) -> None:
    what = f"arms[{i}] ({a['label']})"
    if a["received"] + a["not_received"][0] != a["allocated"]:
        raise ValueError(
            f"consort_svg: {what}: received {a['received']} + did not receive "
            f"{a['not_received'][0]} must equal allocated {a['allocated']}"
        )
    if a["analysed"] + a["excluded_from_analysis"][0] > a["allocated"]:
        raise ValueError(
            f"consort_svg: {what}: analysed {a['analysed']} + excluded from analysis "
            f"{a['excluded_from_analysis'][0]} is more than allocated {a['allocated']}"
        )
    for k in ("lost_to_follow_up", "discontinued"):
        if a[k][0] > a["allocated"]:
            raise ValueError(
                f"consort_svg: {what}: {k} {a[k][0]} is more than allocated {a['allocated']}"
            )


def parse_consort(counts: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the counts of :func:`consort_svg` and return them with every reason group as
    (total, [(reason, n), ...]). Raises ValueError naming the key and what is allowed."""
    if not isinstance(counts, Mapping):
        raise ValueError(f"consort_svg: counts must be a mapping, got {type(counts).__name__}")
    _unknown_keys(counts, TOP_KEYS, "counts")
    missing = [k for k in ("assessed", "randomized", "arms") if k not in counts]
    if missing:
        raise ValueError(f"consort_svg: counts: missing key(s) {', '.join(missing)}")
    excluded = counts.get("excluded", {})
    if not isinstance(excluded, Mapping):
        raise ValueError(
            "consort_svg: excluded must be a mapping of "
            f"{', '.join(EXCLUSION_GROUPS)} to a number or to reason → n"
        )
    _unknown_keys(excluded, tuple(EXCLUSION_GROUPS), "excluded")
    arms = counts["arms"]
    if isinstance(arms, str | bytes | Mapping) or not isinstance(arms, Sequence) or not arms:
        raise ValueError("consort_svg: arms must be a non-empty list of arm mappings")
    out = {
        "assessed": _count(counts["assessed"], "assessed"),
        "randomized": _count(counts["randomized"], "randomized"),
        "excluded": {k: _group(excluded.get(k, 0), f"excluded.{k}") for k in EXCLUSION_GROUPS},
        "arms": [_parse_arm(a, i) for i, a in enumerate(arms)],
    }
    n_excluded = sum(g[0] for g in out["excluded"].values())
    if n_excluded + out["randomized"] > out["assessed"]:
        raise ValueError(
            f"consort_svg: excluded {n_excluded} + randomized {out['randomized']} is more than "
            f"assessed {out['assessed']}"
        )
    allocated = sum(a["allocated"] for a in out["arms"])
    if allocated != out["randomized"]:
        raise ValueError(
            f"consort_svg: the arms' allocated numbers add up to {allocated}, "
            f"randomized is {out['randomized']}"
        )
    for i, a in enumerate(out["arms"]):
        _check_arm_sums(a, i)
    return out


@lru_cache(maxsize=4096)
def text_width(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """Width of ``text`` in DejaVu Sans at ``size`` (user units). The diagram names DejaVu Sans
    first, and its fallbacks (Arial, Helvetica, Roboto) are narrower: a line measured here
    fits whichever of them the reader has."""
    prop = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    return float(text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0])


def _split_word(word: str, first: float, rest: float, bold: bool) -> list[str]:
    """``word`` cut between characters: the first piece at most ``first`` wide, the others
    at most ``rest``."""
    parts, cur = [], ""
    for ch in word:
        room = first if not parts else rest
        if cur and text_width(cur + ch, FONT_SIZE, bold) > room:
            parts.append(cur)
            cur = ch
        else:
            cur += ch
    return [*parts, cur] if cur else parts


def wrap(text: str, width: float, *, bold: bool = False, hang: float = 0.0) -> list[str]:
    """Greedy word wrap so that every line measures at most ``width`` (continuation lines at
    most ``width - hang``: they are drawn ``hang`` further right). Breaks only at ordinary
    spaces, so "(n\u00a0=\u00a040)" stays whole; a word longer than a whole line is cut
    between characters, starting on the current line."""
    lines: list[str] = []
    cur = ""
    for word in (w for w in text.split(" ") if w):
        room = width if not lines else width - hang
        trial = f"{cur} {word}" if cur else word
        if text_width(trial, FONT_SIZE, bold) <= room:
            cur = trial
        elif text_width(word, FONT_SIZE, bold) > width - hang:
            pieces = _split_word(trial, room, width - hang, bold)
            lines += pieces[:-1]
            cur = pieces[-1]
        else:
            lines.append(cur)
            cur = word
    return [*lines, cur] if cur else lines or [""]


# A box's content: paragraphs (text, indent level 0-2, bold).
BULLETS = ("• ", "– ")
Para = tuple[str, int, bool]


def _lines(paras: list[Para], width: float) -> list[tuple[str, float, bool]]:
    """Each paragraph wrapped into (line, x offset, bold); a bulleted paragraph ("• ", "– ")
    continues under its text, not under its bullet."""
    out = []
    for text, level, bold in paras:
        indent = level * INDENT
        hang = text_width(text[:2], FONT_SIZE, bold) if text[:2] in BULLETS else 0.0
        for i, line in enumerate(wrap(text, width - 2 * PAD - indent, bold=bold, hang=hang)):
            out.append((line, indent + (hang if i else 0.0), bold))
    return out


def _n(n: int) -> str:
    """ "(n = 40)" with no-break spaces: the count never wraps away from its "n ="."""
    return f"(n\u00a0=\u00a0{n})"


def _num(x: float) -> str:
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


class _Canvas:
    def __init__(self) -> None:
        self.items: list[ET.Element] = []

    def box(self, x: float, y: float, w: float, lines, h: float, role: str) -> None:
        g = ET.Element("g", {"class": f"box {role}"})
        ET.SubElement(
            g,
            "rect",
            {
                "x": _num(x),
                "y": _num(y),
                "width": _num(w),
                "height": _num(h),
                "fill": "#ffffff",
                "stroke": "#000000",
                "stroke-width": "1.2",
            },
        )
        for i, (text, indent, bold) in enumerate(lines):
            base = y + PAD + i * LINE_HEIGHT + LINE_HEIGHT / 2 + FONT_SIZE * 0.35
            attrs = {"x": _num(x + PAD + indent), "y": _num(base)}
            if bold:
                attrs["font-weight"] = "bold"
            ET.SubElement(g, "text", attrs).text = text
        self.items.append(g)

    def band(self, y: float, width: float, label: str) -> None:
        g = ET.Element("g", {"class": "stage"})
        ET.SubElement(
            g,
            "rect",
            {
                "x": _num(MARGIN),
                "y": _num(y),
                "width": _num(width - 2 * MARGIN),
                "height": _num(BAND_H),
                "fill": "#dbe9f6",
            },
        )
        ET.SubElement(
            g,
            "text",
            {
                "x": _num(MARGIN + 6),
                "y": _num(y + BAND_H / 2 + FONT_SIZE * 0.35),
                "font-weight": "bold",
            },
        ).text = label
        self.items.append(g)

    def line(self, x1: float, y1: float, x2: float, y2: float, arrow: bool = False) -> None:
        self.items.append(
            ET.Element(
                "line",
                {
                    "x1": _num(x1),
                    "y1": _num(y1),
                    "x2": _num(x2),
                    "y2": _num(y2),
                    "stroke": "#000000",
                    "stroke-width": "1.2",
                },
            )
        )
        if arrow:
            self._head(x1, y1, x2, y2)

    def _head(self, x1: float, y1: float, x2: float, y2: float) -> None:
        # a filled triangle at (x2, y2) pointing along the line (drawn, not a <marker>, so
        # two diagrams inlined in one page share no ids)
        ang = math.atan2(y2 - y1, x2 - x1)
        pts = [(x2, y2)]
        for da in (2.7, -2.7):
            pts.append((x2 + 8 * math.cos(ang + da), y2 + 8 * math.sin(ang + da)))
        self.items.append(
            ET.Element(
                "polygon",
                {"points": " ".join(f"{_num(px)},{_num(py)}" for px, py in pts), "fill": "#000000"},
            )
        )


def _box_h(lines) -> float:
    return 2 * PAD + len(lines) * LINE_HEIGHT


def _arm_paras(a: dict[str, Any]) -> tuple[list[Para], list[Para], list[Para]]:
    alloc = [
        (f"Allocated to {a['label']} {_n(a['allocated'])}", 0, True),
        (f"• Received allocated intervention {_n(a['received'])}", 0, False),
        *_reason_paras("• Did not receive allocated intervention", a["not_received"]),
    ]
    follow = [
        *_reason_paras("Lost to follow-up", a["lost_to_follow_up"], bold=True),
        *_reason_paras("Discontinued intervention", a["discontinued"], bold=True),
    ]
    analysis = [
        (f"Analysed {_n(a['analysed'])}", 0, True),
        *_reason_paras("• Excluded from analysis", a["excluded_from_analysis"]),
    ]
    return alloc, follow, analysis


def _reason_paras(heading: str, group: Group, *, bold: bool = False) -> list[Para]:
    total, reasons = group
    return [(f"{heading} {_n(total)}", 0, bold)] + [
        (f"– {r} {_n(n)}", 1, False) for r, n in reasons
    ]


def _consort_desc(c: dict[str, Any]) -> str:
    excl = sum(g[0] for g in c["excluded"].values())
    parts = [
        f"CONSORT flow diagram. Assessed for eligibility: {c['assessed']}.",
        f"Excluded: {excl}"
        + "".join(f"; {EXCLUSION_GROUPS[k].lower()} {g[0]}" for k, g in c["excluded"].items())
        + ".",
        f"Randomized: {c['randomized']}.",
    ]
    for a in c["arms"]:
        parts.append(
            f"{a['label']}: allocated {a['allocated']}, received {a['received']}, "
            f"did not receive {a['not_received'][0]}, lost to follow-up "
            f"{a['lost_to_follow_up'][0]}, discontinued {a['discontinued'][0]}, analysed "
            f"{a['analysed']}, excluded from analysis {a['excluded_from_analysis'][0]}."
        )
    return " ".join(parts)


def consort_svg(counts: Mapping[str, Any], *, title: str = "CONSORT 2010 flow diagram") -> bytes:
    """The CONSORT 2010 flow diagram as SVG bytes.

    ``counts``::

        {
          "assessed": 120,                      # assessed for eligibility
          "excluded": {                         # each group: a number, or reason -> n
            "not_meeting_criteria": {"Hb >= 11 g/dL": 20, "Age < 18": 5},
            "declined": 10,
            "other": {"Moved away": 5},
          },
          "randomized": 80,
          "arms": [                             # in display order, left to right
            {"label": "Exosomes", "allocated": 40, "received": 39,
             "not_received": {"Withdrew consent": 1},
             "lost_to_follow_up": {"Moved": 1}, "discontinued": 0,
             "analysed": 39, "excluded_from_analysis": {"No D7 sample": 1}},
            ...
          ],
        }

    ``excluded`` and the arms' reason groups are optional (0); a group's number is the sum of
    its reasons. Checked: whole numbers ≥ 0; excluded + randomized ≤ assessed; the arms'
    allocated add up to randomized; received + did not receive = allocated; analysed +
    excluded from analysis ≤ allocated. Text wraps inside its box and the boxes grow to fit.
    """
    c = parse_consort(counts)
    k = len(c["arms"])
    width = 2 * MARGIN + max(k, 2) * COL_W + (max(k, 2) - 1) * GAP
    cx = width / 2
    canvas = _Canvas()
    y = MARGIN
    canvas.band(y, width, "Enrolment")
    y += BAND_H + 14
    assessed = _lines([(f"Assessed for eligibility {_n(c['assessed'])}", 0, True)], COL_W)
    canvas.box(cx - COL_W / 2, y, COL_W, assessed, _box_h(assessed), "assessed")
    y_trunk = y + _box_h(assessed)
    y += _box_h(assessed) + V_GAP
    n_excl = sum(g[0] for g in c["excluded"].values())
    excl_paras: list[Para] = [(f"Excluded {_n(n_excl)}", 0, True)]
    for key, label in EXCLUSION_GROUPS.items():
        excl_paras += _reason_paras(f"• {label}", c["excluded"][key])
    ex_x = cx + GAP
    ex_w = width - MARGIN - ex_x
    excl = _lines(excl_paras, ex_w)
    canvas.box(ex_x, y, ex_w, excl, _box_h(excl), "excluded")
    canvas.line(cx, y + LINE_HEIGHT, ex_x, y + LINE_HEIGHT, arrow=True)
    y += _box_h(excl) + V_GAP
    canvas.line(cx, y_trunk, cx, y, arrow=True)
    rand = _lines([(f"Randomized {_n(c['randomized'])}", 0, True)], COL_W)
    canvas.box(cx - COL_W / 2, y, COL_W, rand, _box_h(rand), "randomized")
    y += _box_h(rand)
    total = k * COL_W + (k - 1) * GAP
    xs = [(width - total) / 2 + i * (COL_W + GAP) for i in range(k)]
    centres = [x + COL_W / 2 for x in xs]
    y_branch = y + 14
    canvas.line(cx, y, cx, y_branch)
    canvas.line(min(centres), y_branch, max(centres), y_branch)
    y = y_branch + 10
    rows = list(zip(*(_arm_paras(a) for a in c["arms"]), strict=True))
    stages = (("Allocation", "allocation"), ("Follow-up", "follow-up"), ("Analysis", "analysis"))
    y_from = [y_branch] * k
    for (band, role), paras in zip(stages, rows, strict=True):
        canvas.band(y, width, band)
        y += BAND_H + 14
        lines = [_lines(p, COL_W) for p in paras]
        h = max(_box_h(ln) for ln in lines)
        for i, (x, ln) in enumerate(zip(xs, lines, strict=True)):
            canvas.line(centres[i], y_from[i], centres[i], y, arrow=True)
            canvas.box(x, y, COL_W, ln, h, role)
        y_from = [y + h] * k
        y += h + 10
    height = y + MARGIN - 10
    return _consort_bytes(canvas, width, height, title, _consort_desc(c))


def _consort_bytes(canvas: _Canvas, width: float, height: float, title: str, desc: str) -> bytes:
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "version": "1.1",
            "role": "img",
            "width": _num(width),
            "height": _num(height),
            "viewBox": f"0 0 {_num(width)} {_num(height)}",
            "font-family": FONT_FAMILY,
            "font-size": str(FONT_SIZE),
        },
    )
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "desc").text = desc
    ET.SubElement(root, "rect", {"width": _num(width), "height": _num(height), "fill": "#ffffff"})
    root.extend(canvas.items)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


# =========================================================================== primary endpoint
def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t-based confidence interval (NaN limits with fewer than two values)."""
    m = float(np.mean(x))
    if len(x) < 2:
        return m, math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * float(np.std(x, ddof=1)) / math.sqrt(len(x))
    return m, m - half, m + half


def primary_endpoint_svg(
    df: pd.DataFrame,
    arm_col: str,
    value_col: str,
    arm_order: Sequence[Any],
    arm_labels: Mapping[Any, str] | None,
    ylabel: str,
    *,
    title: str = "Primary endpoint by arm",
    decimals: int = 2,
    seed: int = JITTER_SEED,
) -> bytes:
    """Every participant's value (horizontally jittered, fixed seed) and, beside the points,
    the arm's mean with its 95 % CI (t distribution). Rows with no value are left out and
    counted in the description; the x labels give each arm's n."""
    require_columns(df, [arm_col, value_col], "primary_endpoint_svg: df")
    labels = arm_label_map(arm_order, arm_labels)
    check_arms(df[arm_col], arm_order, f"primary_endpoint_svg: column {arm_col!r}")
    values = pd.to_numeric(df[value_col], errors="coerce")
    bad = df[value_col][values.isna() & df[value_col].notna()]
    if len(bad):
        raise ValueError(
            f"primary_endpoint_svg: column {value_col!r} has non-numeric value(s) "
            f"{', '.join(map(repr, bad.unique()[:5]))}"
        )
    rng = np.random.default_rng(seed)
    desc = [f"{title}. Individual values with the mean and 95 % CI per arm."]
    with _style():
        fig = Figure(figsize=(1.2 + 2.3 * len(arm_order), 4.2), layout="constrained")
        ax = fig.subplots()
        ticks = []
        for i, arm in enumerate(arm_order):
            x = values[(df[arm_col] == arm).to_numpy()].dropna().to_numpy(dtype=float)
            st = _style_of(i)
            jit = i + rng.uniform(-0.18, 0.18, size=len(x))
            ax.plot(
                jit,
                x,
                st["marker"],
                color=st["color"],
                alpha=0.55,
                ms=5,
                ls="none",
                label="participant" if i == 0 else None,
            )
            ticks.append(f"{_t(labels[arm])}\n(n = {len(x)})")
            desc.append(_arm_desc(labels[arm], x, decimals))
            if not len(x):
                continue
            m, lo, hi = mean_ci(x)
            yerr = None if math.isnan(lo) else [[m - lo], [hi - m]]
            ax.errorbar(
                [i + 0.32],
                [m],
                yerr=yerr,
                fmt=st["marker"],
                color="#000000",
                ms=8,
                capsize=5,
                lw=1.5,
                label="mean with 95 % CI" if i == 0 else None,
            )
            ax.annotate(
                _ci_text(m, lo, hi, decimals),
                (i + 0.32, m),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_xticks(range(len(arm_order)), ticks)
        ax.set_xlim(-0.5, len(arm_order) - 0.5 + 0.35)
        ax.set_xlabel("arm")
        ax.set_ylabel(_t(ylabel))
        ax.set_title(_t(title))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
        n_missing = int(values.isna().sum())
        if n_missing:
            desc.append(f"{n_missing} participant(s) without a value not shown.")
        return _render(fig, title=title, desc=" ".join(desc))


def _ci_text(m: float, lo: float, hi: float, d: int) -> str:
    if math.isnan(lo):
        return f"mean {_fmt(m, d)}"
    return f"{_fmt(m, d)}\n({_fmt(lo, d)} to {_fmt(hi, d)})"


def _arm_desc(label: str, x: np.ndarray, d: int) -> str:
    if not len(x):
        return f"{label}: no values."
    m, lo, hi = mean_ci(x)
    ci = "" if math.isnan(lo) else f", 95 % CI {_fmt(lo, d)} to {_fmt(hi, d)}"
    return f"{label}: n = {len(x)}, mean {_fmt(m, d)}{ci}."


# =========================================================================== forest plot
def _forest_rows(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, float, float]]:
    if isinstance(rows, Mapping) or not rows:
        raise ValueError("forest_svg: rows must be a non-empty list of dicts")
    out = []
    for i, r in enumerate(rows):
        missing = [k for k in ("label", "estimate", "ci_low", "ci_high") if k not in r]
        if missing:
            raise ValueError(
                f"forest_svg: rows[{i}]: missing key(s) {', '.join(missing)}; "
                "each row has label, estimate, ci_low, ci_high"
            )
        est, lo, hi = (
            _number(r[k], f"forest_svg: rows[{i}].{k}") for k in ("estimate", "ci_low", "ci_high")
        )
        if not lo <= est <= hi:
            raise ValueError(
                f"forest_svg: rows[{i}] ({r['label']}): need ci_low ≤ estimate ≤ ci_high, "
                f"got {lo} ≤ {est} ≤ {hi}"
            )
        out.append((str(r["label"]), est, lo, hi))
    return out


def forest_svg(
    rows: Sequence[Mapping[str, Any]],
    xlabel: str,
    null_value: float = 0,
    *,
    title: str = "Estimates with 95 % confidence intervals",
    decimals: int = 2,
) -> bytes:
    """A forest plot: one row per dict (``label``, ``estimate``, ``ci_low``, ``ci_high``), top
    to bottom in the order given, a square at the estimate and a line for the CI, a dashed
    vertical line at ``null_value``, and each estimate (CI) written on the right."""
    data = _forest_rows(rows)
    null = _number(null_value, "forest_svg: null_value")
    n = len(data)
    ys = list(range(n - 1, -1, -1))
    texts = [
        f"{_fmt(e, decimals)} ({_fmt(lo, decimals)} to {_fmt(hi, decimals)})"
        for _, e, lo, hi in data
    ]
    with _style():
        fig = Figure(figsize=(6.4, 1.4 + 0.42 * n), layout="constrained")
        ax = fig.subplots()
        ax.axvline(
            null, color="#555555", ls="--", lw=1, label=f"no effect ({_fmt(null, decimals)})"
        )
        for y, (_label, e, lo, hi) in zip(ys, data, strict=True):
            ax.plot([lo, hi], [y, y], color="#000000", lw=1.5)
            ax.plot([e], [y], "s", color="#000000", ms=7)
        ax.set_yticks(ys, [_t(r[0]) for r in data])
        ax.set_ylim(-0.7, n - 0.3)
        right = ax.secondary_yaxis("right")
        right.set_yticks(ys, texts)
        right.tick_params(length=0)
        right.spines["right"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(_t(xlabel))
        ax.set_title(_t(title))
        ax.legend(loc="best", fontsize=8)
        desc = f"{title}. Null value {_fmt(null, decimals)}. " + " ".join(
            f"{label}: {t}." for (label, *_r), t in zip(data, texts, strict=True)
        )
        return _render(fig, title=title, desc=desc)


# =========================================================================== ROC
def _unit_list(v: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"roc_svg: {what} must be a list of numbers") from None
    if arr.ndim != 1 or len(arr) < 2:
        raise ValueError(f"roc_svg: {what} must be a list of at least two numbers")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"roc_svg: {what} must lie between 0 and 1")
    return arr


def _roc_curves(
    curves: Sequence[Mapping[str, Any]],
) -> list[tuple[str, np.ndarray, np.ndarray, float | None]]:
    if isinstance(curves, Mapping) or not curves:
        raise ValueError("roc_svg: curves must be a non-empty list of dicts")
    out = []
    for i, c in enumerate(curves):
        missing = [k for k in ("label", "fpr", "tpr") if k not in c]
        if missing:
            raise ValueError(
                f"roc_svg: curves[{i}]: missing key(s) {', '.join(missing)}; "
                "each curve has label, fpr, tpr and optionally auc"
            )
        fpr = _unit_list(c["fpr"], f"curves[{i}].fpr")
        tpr = _unit_list(c["tpr"], f"curves[{i}].tpr")
        if len(fpr) != len(tpr):
            raise ValueError(f"roc_svg: curves[{i}]: fpr has {len(fpr)} values, tpr {len(tpr)}")
        auc = c.get("auc")
        if auc is not None:
            auc = _number(auc, f"roc_svg: curves[{i}].auc")
            if not 0 <= auc <= 1:
                raise ValueError(f"roc_svg: curves[{i}].auc must lie between 0 and 1, got {auc}")
        out.append((str(c["label"]), fpr, tpr, auc))
    return out


def roc_svg(
    curves: Sequence[Mapping[str, Any]],
    quoted_point: tuple[float, float] | None = None,
    *,
    title: str = "ROC curve",
    quoted_label: str = "quoted operating point",
) -> bytes:
    """ROC curves (``label``, ``fpr``, ``tpr``, optional ``auc``; fpr = 1 − specificity,
    tpr = sensitivity), each with its own line style and marker, the chance diagonal, and
    optionally a quoted operating point ``(1 − specificity, sensitivity)`` as a star."""
    data = _roc_curves(curves)
    desc = [f"{title}."]
    with _style():
        fig = Figure(figsize=(5.2, 5.2), layout="constrained")
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color="#777777", ls=":", lw=1, label="chance (AUC = 0.5)")
        for i, (label, fpr, tpr, auc) in enumerate(data):
            st = _style_of(i)
            name = label if auc is None else f"{label} (AUC = {auc:.3f})"
            ax.plot(
                fpr,
                tpr,
                color=st["color"],
                ls=st["linestyle"],
                marker=st["marker"],
                markevery=max(1, len(fpr) // 8),
                ms=5,
                lw=1.8,
                label=_t(name),
            )
            desc.append(f"{name}.")
        if quoted_point is not None:
            qx, qy = _quoted(quoted_point)
            text = f"{quoted_label}: sensitivity {qy:.2f}, specificity {1 - qx:.2f}"
            ax.plot([qx], [qy], "*", color="#000000", ms=14, label=_t(text))
            desc.append(f"{text}.")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        ax.set_xlabel("1 − specificity (false-positive rate)")
        ax.set_ylabel("sensitivity (true-positive rate)")
        ax.set_title(_t(title))
        ax.legend(loc="lower right", fontsize=8)
        return _render(fig, title=title, desc=" ".join(desc))


def _quoted(point: Any) -> tuple[float, float]:
    if isinstance(point, str) or not isinstance(point, Sequence) or len(point) != 2:
        raise ValueError("roc_svg: quoted_point must be (1 - specificity, sensitivity)")
    qx = _number(point[0], "roc_svg: quoted_point[0] (1 - specificity)")
    qy = _number(point[1], "roc_svg: quoted_point[1] (sensitivity)")
    if not (0 <= qx <= 1 and 0 <= qy <= 1):
        raise ValueError(f"roc_svg: quoted_point must lie in [0, 1] × [0, 1], got {point}")
    return qx, qy


# =========================================================================== over time
OVER_TIME_SUMMARY = ("item", "visit", "sequence", "arm", "arm_label", "n", "mean", "se")


def over_time_svg(
    summary: pd.DataFrame,
    item: str,
    *,
    ylabel: str | None = None,
    title: str | None = None,
    decimals: int = 1,
) -> bytes:
    """Mean ± SE by visit for each arm of one item of :func:`tables.over_time`'s frame. Visits
    in sequence order on the x axis, arms side by side (slightly offset) in the frame's order,
    each with its own marker and line style. A mean from one value has no error bar."""
    require_columns(summary, OVER_TIME_SUMMARY, "over_time_svg: summary")
    s = summary[summary["item"] == item]
    if s.empty:
        known = ", ".join(map(str, dict.fromkeys(summary["item"]))) or "none"
        raise ValueError(f"over_time_svg: no rows for item {item!r}; items: {known}")
    visits = list(dict.fromkeys(s.sort_values("sequence", kind="stable")["visit"]))
    pos = {v: i for i, v in enumerate(visits)}
    arms = list(dict.fromkeys(s["arm"]))
    title = title or f"{item}: mean ± SE by visit and arm"
    desc = [f"{title}."]
    with _style():
        fig = Figure(figsize=(max(5.0, 1.6 + 0.9 * len(visits)), 4.0), layout="constrained")
        ax = fig.subplots()
        for k, arm in enumerate(arms):
            a = s[s["arm"] == arm].sort_values("sequence", kind="stable")
            st = _style_of(k)
            off = (k - (len(arms) - 1) / 2) * 0.08
            x = [pos[v] + off for v in a["visit"]]
            se = a["se"].astype(float).fillna(0.0).to_numpy()
            label = str(a["arm_label"].iloc[0])
            ax.errorbar(
                x,
                a["mean"].astype(float),
                yerr=se,
                color=st["color"],
                marker=st["marker"],
                ls=st["linestyle"],
                capsize=3,
                ms=6,
                lw=1.5,
                label=_t(label),
            )
            desc.append(
                f"{label}: "
                + "; ".join(
                    f"{r.visit} n = {int(r.n)}, mean {_fmt(float(r.mean), decimals)}"
                    for r in a.itertuples(index=False)
                )
                + "."
            )
        ax.set_xticks(range(len(visits)), [_t(v) for v in visits])
        ax.set_xlabel("visit")
        ax.set_ylabel(_t(ylabel or item))
        ax.set_title(_t(title))
        ax.legend(loc="best", fontsize=8)
        return _render(fig, title=title, desc=" ".join(desc))
