"""The final analysis's tables and figures (analyses/tables.py, analyses/figures.py): pure
functions, no database.

Table 1 and the over-time summary are checked against computations written differently here
(pandas ``describe``/``crosstab``, the ``statistics`` module); the AE tables against a frame
built by hand whose answers are stated as sets of participants; the SVGs parsed as XML, searched
for their labels and numbers, and produced twice (and once in another process) to prove that
the bytes do not change.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

from trialdesk.analyses import figures, tables
from trialdesk.analyses.tables import VariableSpec

SVG = "{http://www.w3.org/2000/svg}"
ARMS = ["EXO", "PBO", "LOW"]
LABELS = {"EXO": "Exosomes", "PBO": "Placebo", "LOW": "Low dose <1 mL"}


# --------------------------------------------------------------------------- helpers
def pct(n: int, d: int) -> str:
    return f"{n} ({100 * n / d:.1f}%)"


def cells(table: tables.Table, group: str, label: str) -> list[str]:
    """The cells (after the first) of the row ``label`` under heading ``group``."""
    found = [
        r[1:]
        for g, r in zip(table.groups or [""] * len(table.rows), table.rows, strict=True)
        if g == group and r[0] == label
    ]
    assert len(found) == 1, (group, label, found)
    return list(found[0])


def svg_root(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox"), "a viewBox lets the page scale the figure"
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}title").text
    assert root.find(f"{SVG}desc") is not None and root.find(f"{SVG}desc").text
    return root


def svg_text(data: bytes) -> str:
    """Every piece of text in the SVG (drawn text, title, desc), NBSP read as a space."""
    return " ".join(t.strip() for t in svg_root(data).itertext() if t.strip()).replace(
        "\u00a0", " "
    )


@pytest.fixture
def adsl() -> pd.DataFrame:
    rng = np.random.default_rng(20251130)
    n = {"EXO": 23, "PBO": 21, "LOW": 1}
    arm = [a for a, k in n.items() for _ in range(k)]
    df = pd.DataFrame(
        {
            "usubjid": [f"S{i:03d}" for i in range(len(arm))],
            "arm": arm,
            "age": rng.normal(29, 5, len(arm)).round(0),
            "hgb": rng.normal(9.8, 1.1, len(arm)),
            "sex": rng.choice(["F", "M"], len(arm), p=[0.7, 0.3]),
            "parity": rng.choice(["0", "1", "2+"], len(arm)),
        }
    )
    df.loc[[2, 30], "hgb"] = np.nan
    df.loc[[5, 6, 40], "parity"] = None
    return df


VARIABLES = [
    VariableSpec("age", "Age", "continuous", unit="years", decimals=0),
    VariableSpec("hgb", "Hemoglobin", "continuous", unit="g/dL", decimals=2),
    VariableSpec("sex", "Sex", "categorical", levels={"F": "Female", "M": "Male"}),
    VariableSpec("parity", "Parity", "categorical"),
]


# --------------------------------------------------------------------------- Table 1
def test_table1_continuous_matches_pandas_describe(adsl):
    t = tables.table1(adsl, "arm", VARIABLES, ARMS, LABELS)
    groups = [adsl[adsl["arm"] == a] for a in ARMS] + [adsl]
    for spec in VARIABLES[:2]:
        d = spec.decimals
        got = {k: cells(t, spec.heading, k) for k in ("n", "Mean (SD)", "Median [IQR]", "Min–max")}
        for i, g in enumerate(groups):
            s = g[spec.column].describe()  # count, mean, std, min, 25%, 50%, 75%, max
            assert got["n"][i] == str(int(s["count"]))
            sd = "–" if pd.isna(s["std"]) else f"{s['std']:.{d}f}"
            assert got["Mean (SD)"][i] == f"{s['mean']:.{d}f} ({sd})"
            assert got["Median [IQR]"][i] == f"{s['50%']:.{d}f} [{s['25%']:.{d}f}–{s['75%']:.{d}f}]"
            assert got["Min–max"][i] == f"{s['min']:.{d}f}–{s['max']:.{d}f}"


def test_table1_categorical_percentages_and_missing(adsl):
    t = tables.table1(adsl, "arm", VARIABLES, ARMS, LABELS)
    for spec, levels in ((VARIABLES[2], {"F": "Female", "M": "Male"}), (VARIABLES[3], None)):
        col = adsl[spec.column]
        counts = pd.crosstab(adsl["arm"], col)  # NaN rows are left out of a crosstab
        known = counts.sum(axis=1)
        missing = col.isna().groupby(adsl["arm"]).sum()
        codes = list(levels) if levels else sorted(col.dropna().unique())
        for code in codes:
            row = cells(t, spec.heading, levels[code] if levels else code)
            expected = [pct(int(counts.loc[a, code]), int(known[a])) for a in ARMS]
            expected.append(pct(int(counts[code].sum()), int(known.sum())))
            assert row == expected
        assert cells(t, spec.heading, "Missing") == [str(int(missing[a])) for a in ARMS] + [
            str(int(col.isna().sum()))
        ]


def test_table1_headers_blocks_and_undefined_sd(adsl):
    t = tables.table1(adsl, "arm", VARIABLES, ARMS, LABELS)
    n = adsl["arm"].value_counts()
    assert t.columns == (
        "Characteristic",
        *(f"{LABELS[a]} (N = {n[a]})" for a in ARMS),
        f"Overall (N = {len(adsl)})",
    )
    # one heading row per variable, then its statistics
    headings = [r[0] for g, r in zip(t.groups, t.rows, strict=True) if g == ""]
    assert headings == [v.heading for v in VARIABLES]
    assert cells(t, "Age, years", "Mean (SD)")[2].endswith("(–)")  # one participant: no SD
    assert not any("p" == c.lower() or "p-value" in c.lower() for c in t.columns)
    assert any("CONSORT" in f for f in t.footnotes)
    without = tables.table1(adsl, "arm", VARIABLES, ARMS, LABELS, overall=False)
    assert len(without.columns) == len(ARMS) + 1


def test_table1_levels_order_and_empty_arm(adsl):
    spec = VariableSpec("sex", "Sex", "categorical", levels=["M", "F"])
    t = tables.table1(adsl, "arm", [spec], ["EXO", "PBO", "LOW", "NONE"])
    assert [r[0] for r in t.rows[1:]] == ["M", "F", "Missing"]
    assert t.columns[4] == "NONE (N = 0)"
    assert [r[4] for r in t.rows[1:]] == ["0", "0", "0"]  # no percentage of nobody


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda d: tables.table1(d, "arm", [VariableSpec("bmi", "BMI", "continuous")], ARMS),
            "'bmi'",
        ),
        (lambda d: tables.table1(d, "group", VARIABLES, ARMS), "'group'"),
        (lambda d: tables.table1(d, "arm", VARIABLES, ["EXO", "PBO"]), "LOW not in arm_order"),
        (lambda d: tables.table1(d, "arm", VARIABLES, ARMS, {"EXO": "x"}), "no label"),
        (lambda d: tables.table1(d, "arm", [VariableSpec("sex", "S", "continuous")], ARMS), "'F'"),
        (
            lambda d: tables.table1(
                d, "arm", [VariableSpec("sex", "S", "categorical", levels={"F": "F"})], ARMS
            ),
            "'M' outside its levels ('F')",
        ),
        (lambda d: tables.table1(d, "arm", [], ARMS), "variables is empty"),
    ],
)
def test_table1_bad_input_is_named(adsl, call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(adsl)


def test_variable_spec_checks_kind_and_decimals():
    with pytest.raises(ValueError, match="'continuous' or 'categorical'"):
        VariableSpec("x", "X", "numeric")
    with pytest.raises(ValueError, match="0 to 6"):
        VariableSpec("x", "X", "continuous", decimals=9)
    with pytest.raises(ValueError, match="levels are for categorical"):
        VariableSpec("x", "X", "continuous", levels=["a"])


def test_table_to_records_html_and_dataframe(adsl):
    t = tables.table1(adsl, "arm", VARIABLES, ARMS, LABELS, title="Table 1 <baseline>")
    records = t.to_records()
    assert len(records) == len(t.rows)
    assert records[1] == {"group": "Age, years", **dict(zip(t.columns, t.rows[1], strict=True))}
    json.dumps(records)  # JSON-able as it is
    df = t.to_dataframe()
    assert list(df.columns) == ["group", *t.columns] and len(df) == len(t.rows)
    root = ET.fromstring(t.to_html())  # well-formed, escaped
    assert root.tag == "table"
    assert root.find("caption").text == "Table 1 <baseline>"
    assert [th.get("scope") for th in root.find("thead").iter("th")] == ["col"] * len(t.columns)
    bodies = root.findall("tbody")
    assert len(bodies) == len(VARIABLES)
    assert [b.find("tr/th").text for b in bodies] == [v.heading for v in VARIABLES]
    assert all(b.find("tr/th").get("scope") == "rowgroup" for b in bodies)
    assert "Low dose &lt;1 mL" in t.to_html()
    assert len(root.findall("tfoot/tr")) == len(t.footnotes)


# --------------------------------------------------------------------------- AE tables
def ae_frame(with_withdrawal: bool = True) -> pd.DataFrame:
    rows = [
        # participant, arm, ctcae_term, term, grade, serious, related, susar, withdrawal
        (1, "A", "Headache", "head ache", "G1", False, True, False, False),
        (1, "A", "Headache", "headache again", "G3", True, False, False, False),
        (2, "A", "Nausea", "nausea", "G2", False, True, False, False),
        (2, "A", "Headache", "headache", "G2", False, False, False, False),
        (3, "A", "Nausea", "sick", "", True, True, True, True),
        (4, "B", "Headache", "headache", "G1", False, False, False, False),
        (5, "B", "", "Odd feeling", "G4", True, False, False, False),
        (6, "B", "Nausea", "vomiting", "G5", True, True, True, False),
    ]
    cols = [*tables.AE_COLUMNS, "led_to_withdrawal"]
    df = pd.DataFrame(rows, columns=cols)
    return df if with_withdrawal else df.drop(columns="led_to_withdrawal")


N_SAFETY = {"A": 10, "B": 8}
AE_ARMS = ["A", "B"]


def test_ae_summary_known_answers():
    t = tables.ae_tables(ae_frame(), N_SAFETY, AE_ARMS, {"A": "Active", "B": "Control"}).summary
    expected = {  # participants, worked out by hand from ae_frame()
        "Participants with ≥ 1 AE": ({1, 2, 3}, {4, 5, 6}),
        "Participants with ≥ 1 serious AE (SAE)": ({1, 3}, {5, 6}),
        "Participants with ≥ 1 related AE": ({1, 2, 3}, {6}),
        "Participants with ≥ 1 AE of grade ≥ 3": ({1}, {5, 6}),
        "Participants with ≥ 1 SUSAR": ({3}, {6}),
        "Participants with ≥ 1 AE leading to withdrawal": ({3}, set()),
    }
    total = sum(N_SAFETY.values())
    for label, (a, b) in expected.items():
        assert cells(t, "", label) == [
            pct(len(a), N_SAFETY["A"]),
            pct(len(b), N_SAFETY["B"]),
            pct(len(a | b), total),
        ], label
    assert cells(t, "", "Adverse events reported (events)") == ["5", "3", "8"]
    assert t.columns == ("", "Active (N = 10)", "Control (N = 8)", "Overall (N = 18)")


def test_ae_by_term_counts_each_participant_once_at_the_highest_grade():
    t = tables.ae_tables(ae_frame(), N_SAFETY, AE_ARMS).by_term_grade
    # Headache: 1 (G1, G3 -> G3), 2 (G2) in A; 4 (G1) in B
    # Nausea: 2 (G2), 3 (not graded) in A; 6 (G5) in B;  Odd feeling (uncoded): 5 (G4) in B
    expected = {
        "Headache": {"Any grade": ({1, 2}, {4}), "Grade 1": (set(), {4}),
                     "Grade 2": ({2}, set()), "Grade 3": ({1}, set())},
        "Nausea": {"Any grade": ({2, 3}, {6}), "Grade 2": ({2}, set()),
                   "Grade 5": (set(), {6}), "Grade not recorded": ({3}, set())},
        "Odd feeling *": {"Any grade": (set(), {5}), "Grade 4": (set(), {5})},
    }  # fmt: skip
    headings = [r[0] for g, r in zip(t.groups, t.rows, strict=True) if g == ""]
    assert headings == ["Headache", "Nausea", "Odd feeling *"]  # 3, 3 (alphabetical), 1
    for term, rows in expected.items():
        assert [r[0] for g, r in zip(t.groups, t.rows, strict=True) if g == term] == list(rows)
        for label, (a, b) in rows.items():
            assert cells(t, term, label) == [
                pct(len(a), 10),
                pct(len(b), 8),
                pct(len(a | b), 18),
            ], (term, label)
    assert any(f.startswith("*") for f in t.footnotes)


def test_ae_tables_without_withdrawal_column_say_so():
    t = tables.ae_tables(ae_frame(with_withdrawal=False), N_SAFETY, AE_ARMS).summary
    assert cells(t, "", "Participants with ≥ 1 AE leading to withdrawal") == ["not recorded"] * 3
    assert any("led_to_withdrawal" in f for f in t.footnotes)


def test_ae_tables_with_no_aes():
    empty = ae_frame().iloc[0:0]
    res = tables.ae_tables(empty, N_SAFETY, AE_ARMS)
    assert cells(res.summary, "", "Participants with ≥ 1 AE") == ["0 (0.0%)"] * 3
    assert res.by_term_grade.rows == ()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.assign(grade=d["grade"].replace("G3", "3")), "'3'; allowed: G1, G2"),
        (lambda d: d.assign(serious=d["serious"].map({True: "yes", False: "no"})), "'serious'"),
        (lambda d: d.drop(columns="ctcae_term"), "missing column\\(s\\) 'ctcae_term'"),
        (lambda d: d.assign(arm=d["arm"].replace("B", "C")), "C not in arm_order"),
        (lambda d: d.assign(arm=["A", "B", *d["arm"][2:]]), "more than one arm: 1"),
    ],
)
def test_ae_tables_bad_input_is_named(change, message):
    with pytest.raises(ValueError, match=message):
        tables.ae_tables(change(ae_frame()), N_SAFETY, AE_ARMS)


def test_ae_tables_checks_the_safety_population():
    with pytest.raises(ValueError, match="missing \\['B'\\]"):
        tables.ae_tables(ae_frame(), {"A": 10}, AE_ARMS)
    with pytest.raises(ValueError, match="'B' \\(3 > 2\\)"):
        tables.ae_tables(ae_frame(), {"A": 10, "B": 2}, AE_ARMS)


# --------------------------------------------------------------------------- over time
@pytest.fixture
def lab_values() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    visits = [("SCR", -1), ("D0", 0), ("D7", 7), ("D28", 28)]  # alphabetical order differs
    rows = [
        (p, "EXO" if p % 2 else "PBO", v, s, item, float(rng.normal(10, 2)))
        for p in range(15)
        for v, s in visits
        for item in ("vitals.sbp", "hematology.hgb")
        if not (p == 3 and v == "D7")  # a missed measurement
    ]
    rows.append((99, "PBO", "D28", 28, "hematology.hgb", 11.0))
    return pd.DataFrame(rows, columns=tables.OVER_TIME_COLUMNS)


def test_over_time_matches_statistics_module(lab_values):
    out = tables.over_time(lab_values, ["PBO", "EXO"], {"PBO": "Placebo", "EXO": "Exosomes"})
    assert list(out.columns) == [
        "item", "visit", "sequence", "arm", "arm_label", "n", "mean", "sd", "se", "median",
    ]  # fmt: skip
    assert list(dict.fromkeys(out["item"])) == ["hematology.hgb", "vitals.sbp"]
    hgb = out[out["item"] == "hematology.hgb"]
    assert list(dict.fromkeys(hgb["visit"])) == ["SCR", "D0", "D7", "D28"]
    assert list(hgb["arm"][:2]) == ["PBO", "EXO"]
    for r in out.itertuples(index=False):
        x = lab_values.loc[
            (lab_values["item"] == r.item)
            & (lab_values["visit"] == r.visit)
            & (lab_values["arm"] == r.arm),
            "value",
        ].tolist()
        assert r.n == len(x)
        assert r.mean == pytest.approx(statistics.fmean(x), rel=1e-12)
        assert r.median == pytest.approx(statistics.median(x), rel=1e-12)
        assert r.sd == pytest.approx(statistics.stdev(x), rel=1e-12)
        assert r.se == pytest.approx(statistics.stdev(x) / len(x) ** 0.5, rel=1e-12)
    t = tables.over_time_table(out, "vitals.sbp", label="Systolic BP, mm Hg", decimals=1)
    first = out[out["item"] == "vitals.sbp"].iloc[0]
    assert t.rows[0] == (
        "SCR",
        "Placebo",
        str(first["n"]),
        f"{first['mean']:.1f} ({first['sd']:.1f})",
        f"{first['median']:.1f}",
    )


def test_over_time_refuses_two_values_for_one_visit(lab_values):
    doubled = pd.concat([lab_values, lab_values.iloc[[0]]])
    with pytest.raises(ValueError, match="repeat a participant, visit and item"):
        tables.over_time(doubled, ["PBO", "EXO"])
    with pytest.raises(ValueError, match="non-numeric"):
        tables.over_time(lab_values.assign(value="high"), ["PBO", "EXO"])
    with pytest.raises(ValueError, match="more than one sequence number: D7"):
        bad = lab_values.copy()
        bad.loc[bad.index[:3], "sequence"] = 5
        bad.loc[bad.index[:3], "visit"] = "D7"
        tables.over_time(bad, ["PBO", "EXO"])


# --------------------------------------------------------------------------- figures
def endpoint_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "arm": ["EXO"] * 18 + ["PBO"] * 17 + ["PBO"],
            "value": list(rng.normal(1.2, 0.8, 18)) + list(rng.normal(0.3, 0.7, 17)) + [None],
        }
    )


def all_figures() -> dict[str, bytes]:
    """One of each figure, from fixed inputs (also run in a second process below)."""
    df = endpoint_frame()
    summary = tables.over_time(
        pd.DataFrame(
            [
                (p, "EXO" if p < 4 else "PBO", v, s, "hgb", 9.0 + p * 0.1 + s * 0.2)
                for p in range(8)
                for v, s in (("D0", 0), ("D7", 1), ("D28", 2))
            ],
            columns=tables.OVER_TIME_COLUMNS,
        ),
        ["EXO", "PBO"],
        {"EXO": "Exosomes", "PBO": "Placebo"},
    )
    return {
        "consort": figures.consort_svg(consort_counts()),
        "endpoint": figures.primary_endpoint_svg(
            df, "arm", "value", ["EXO", "PBO"], {"EXO": "Exosomes", "PBO": "Placebo"},
            "log2 fold change (D7)",
        ),
        "forest": figures.forest_svg(FOREST, "difference in means (EXO − PBO)"),
        "roc": figures.roc_svg(ROC, quoted_point=(0.15, 0.82)),
        "over_time": figures.over_time_svg(summary, "hgb", ylabel="Hemoglobin (g/dL)"),
    }  # fmt: skip


FOREST = [
    {"label": "Overall", "estimate": 0.61, "ci_low": 0.12, "ci_high": 1.1},
    {"label": "Site A", "estimate": 0.4, "ci_low": -0.3, "ci_high": 1.25},
    {"label": "Site B <2 visits", "estimate": 0.9, "ci_low": 0.05, "ci_high": 1.75},
]
ROC = [
    {"label": "miR-210", "fpr": [0, 0.1, 0.2, 0.5, 1], "tpr": [0, 0.5, 0.7, 0.9, 1], "auc": 0.83},
    {"label": "sFlt-1/PlGF", "fpr": np.linspace(0, 1, 30), "tpr": np.linspace(0, 1, 30) ** 0.4},
]


def test_figures_are_byte_identical_between_runs():
    first, second = all_figures(), all_figures()
    for name in first:
        assert first[name] == second[name], name
        svg_root(first[name])
    code = (
        "import hashlib, json; from trialdesk.analyses.tests import test_tables_figures as t; "
        "print(json.dumps({k: hashlib.sha256(v).hexdigest() for k, v in t.all_figures().items()}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    other = json.loads(out.stdout)
    assert other == {k: hashlib.sha256(v).hexdigest() for k, v in first.items()}
    for data in first.values():
        assert b"<dc:date>" not in data


def test_primary_endpoint_figure_shows_n_and_mean_ci():
    df = endpoint_frame()
    data = figures.primary_endpoint_svg(
        df, "arm", "value", ["EXO", "PBO"], {"EXO": "Exosomes", "PBO": "Placebo"}, "log2 FC"
    )
    text = svg_text(data)
    for arm, label in (("EXO", "Exosomes"), ("PBO", "Placebo")):
        x = df.loc[df["arm"] == arm, "value"].dropna()
        half = _t975(len(x) - 1) * x.std() / len(x) ** 0.5
        assert f"{label} (n = {len(x)})" in text
        assert f"{x.mean():.2f}" in text
        assert f"({x.mean() - half:.2f} to {x.mean() + half:.2f})" in text
    assert "log2 FC" in text and "Primary endpoint by arm" in text
    assert "1 participant(s) without a value" in text
    other_seed = figures.primary_endpoint_svg(
        df, "arm", "value", ["EXO", "PBO"], None, "log2 FC", seed=1
    )
    assert other_seed != data  # the jitter comes from the seed, and only from it
    with pytest.raises(ValueError, match="non-numeric value\\(s\\) 'n/a'"):
        figures.primary_endpoint_svg(
            df.assign(value="n/a"), "arm", "value", ["EXO", "PBO"], None, "y"
        )
    with pytest.raises(ValueError, match="missing column\\(s\\) 'fc'"):
        figures.primary_endpoint_svg(df, "arm", "fc", ["EXO", "PBO"], None, "y")


def _t975(dof: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, dof))


def test_forest_figure_labels_and_refusals():
    text = svg_text(figures.forest_svg(FOREST, "difference in means", null_value=0))
    for r in FOREST:
        assert r["label"] in text
        assert f"{r['estimate']:.2f} ({r['ci_low']:.2f} to {r['ci_high']:.2f})" in text
    assert "difference in means" in text and "no effect (0.00)" in text
    with pytest.raises(ValueError, match="ci_low ≤ estimate ≤ ci_high"):
        figures.forest_svg([{"label": "x", "estimate": 2, "ci_low": 0, "ci_high": 1}], "d")
    with pytest.raises(ValueError, match="missing key\\(s\\) ci_high"):
        figures.forest_svg([{"label": "x", "estimate": 2, "ci_low": 0}], "d")
    with pytest.raises(ValueError, match="finite"):
        figures.forest_svg([{"label": "x", "estimate": 1, "ci_low": 0, "ci_high": np.inf}], "d")


def test_roc_figure_has_curves_chance_and_quoted_point():
    data = figures.roc_svg(ROC, quoted_point=(0.15, 0.82), title="ROC: pre-eclampsia")
    text = svg_text(data)
    assert "miR-210 (AUC = 0.830)" in text and "sFlt-1/PlGF" in text
    assert "chance (AUC = 0.5)" in text
    assert "sensitivity 0.82, specificity 0.85" in text
    assert "1 − specificity" in text and "sensitivity (true-positive rate)" in text
    assert b"stroke-dasharray" in data  # the second curve is dashed, not only another colour
    with pytest.raises(ValueError, match="between 0 and 1"):
        figures.roc_svg([{"label": "x", "fpr": [0, 1.2], "tpr": [0, 1]}])
    with pytest.raises(ValueError, match="fpr has 3 values, tpr 2"):
        figures.roc_svg([{"label": "x", "fpr": [0, 0.5, 1], "tpr": [0, 1]}])
    with pytest.raises(ValueError, match="quoted_point"):
        figures.roc_svg(ROC, quoted_point=(0.5,))


def test_over_time_figure_visits_in_order_and_arms_told_apart(lab_values):
    summary = tables.over_time(lab_values, ["PBO", "EXO"], {"PBO": "Placebo", "EXO": "Exosomes"})
    data = figures.over_time_svg(summary, "hematology.hgb", ylabel="Hb (g/dL)")
    text = svg_text(data)
    ticks = [
        "".join(g.itertext()).strip()
        for g in svg_root(data).iter(f"{SVG}g")
        if (g.get("id") or "").startswith("xtick_")
    ]
    assert ticks == ["SCR", "D0", "D7", "D28"]  # by sequence, not alphabetically
    assert "Placebo" in text and "Exosomes" in text and "Hb (g/dL)" in text
    assert b"stroke-dasharray" in data
    with pytest.raises(ValueError, match="no rows for item 'alt'; items: hematology.hgb"):
        figures.over_time_svg(summary, "alt")


# --------------------------------------------------------------------------- CONSORT
def consort_counts(arms: int = 2) -> dict:
    arm_list = [
        {
            "label": "Exosomes (fetal adipose MSC-derived), single infusion",
            "allocated": 40,
            "received": 38,
            "not_received": {"Withdrew consent before dosing": 1, "Delivered early": 1},
            "lost_to_follow_up": {"Moved to another province": 2},
            "discontinued": {"Infusion stopped (reaction)": 1},
            "analysed": 37,
            "excluded_from_analysis": {"No day-7 sample": 2, "Haemolysed sample": 1},
        },
        {
            "label": "Placebo",
            "allocated": 41,
            "received": 41,
            "lost_to_follow_up": 1,
            "analysed": 40,
            "excluded_from_analysis": {"No day-7 sample": 1},
        },
        {"label": "Low dose", "allocated": 3, "received": 3, "analysed": 3},
    ][:arms]
    return {
        "assessed": 163 + sum(a["allocated"] for a in arm_list),
        "excluded": {
            "not_meeting_criteria": {"Hb ≥ 11 g/dL": 51, "Caesarean delivery": 30},
            "declined": 42,
            "other": {"Supernumerarycharacterwordthatcannotwrapanywhere": 7, "Moved": 3},
        },
        "randomized": sum(a["allocated"] for a in arm_list),
        "arms": arm_list,
    }


def boxes(data: bytes) -> list[tuple[str, dict, list[tuple[float, float, str, bool]]]]:
    """(role, rect attributes, [(x, y, text, bold)]) for every box of the diagram."""
    out = []
    for g in svg_root(data).iter(f"{SVG}g"):
        cls = (g.get("class") or "").split()
        if "box" not in cls:
            continue
        rect = g.find(f"{SVG}rect").attrib
        lines = [
            (float(t.get("x")), float(t.get("y")), t.text or "", t.get("font-weight") == "bold")
            for t in g.findall(f"{SVG}text")
        ]
        out.append((cls[1], rect, lines))
    return out


def box_text(lines) -> str:
    return " ".join(t for _x, _y, t, _b in lines).replace("\u00a0", " ")


def test_consort_boxes_contain_every_number_given():
    counts = consort_counts()
    found = boxes(figures.consort_svg(counts))
    by_role: dict[str, list[str]] = {}
    for role, _rect, lines in found:
        by_role.setdefault(role, []).append(box_text(lines))
    assert f"Assessed for eligibility (n = {counts['assessed']})" in by_role["assessed"][0]
    assert f"Randomized (n = {counts['randomized']})" in by_role["randomized"][0]
    excluded = by_role["excluded"][0]
    groups = counts["excluded"]
    total = sum(v if isinstance(v, int) else sum(v.values()) for v in groups.values())
    assert f"Excluded (n = {total})" in excluded
    assert f"Declined to participate (n = {groups['declined']})" in excluded
    for group in ("not_meeting_criteria", "other"):
        for reason, n in groups[group].items():
            if " " in reason:  # the unbreakable word is checked in the overflow test
                assert f"{reason} (n = {n})" in excluded
        heading = "Not meeting inclusion criteria" if group != "other" else "Other reasons"
        assert f"{heading} (n = {sum(groups[group].values())})" in excluded
    for i, arm in enumerate(counts["arms"]):
        alloc, follow, analysis = (by_role[r][i] for r in ("allocation", "follow-up", "analysis"))
        assert f"Allocated to {arm['label']} (n = {arm['allocated']})" in alloc
        assert f"Received allocated intervention (n = {arm['received']})" in alloc
        for key, box, heading in (
            ("not_received", alloc, "Did not receive allocated intervention"),
            ("lost_to_follow_up", follow, "Lost to follow-up"),
            ("discontinued", follow, "Discontinued intervention"),
            ("excluded_from_analysis", analysis, "Excluded from analysis"),
        ):
            value = arm.get(key, 0)
            reasons = value if isinstance(value, dict) else {}
            n = sum(reasons.values()) if reasons else value
            assert f"{heading} (n = {n})" in box, (key, box)
            for reason, k in reasons.items():
                assert f"{reason} (n = {k})" in box
        assert f"Analysed (n = {arm['analysed']})" in analysis


def _width(text: str, bold: bool) -> float:
    prop = FontProperties(family="DejaVu Sans", size=14, weight="bold" if bold else "normal")
    return text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0]


@pytest.mark.parametrize("arms", [1, 2, 3])
def test_consort_text_stays_inside_its_box_and_boxes_do_not_overlap(arms):
    data = figures.consort_svg(consort_counts(arms))
    root = svg_root(data)
    view = [float(v) for v in root.get("viewBox").split()]
    found = boxes(data)
    assert len(found) == 3 + 3 * arms
    rects = []
    for role, rect, lines in found:
        x, y, w, h = (float(rect[k]) for k in ("x", "y", "width", "height"))
        assert x >= 0 and y >= 0 and x + w <= view[2] and y + h <= view[3], role
        for tx, ty, text, bold in lines:
            assert x < tx and tx + _width(text, bold) <= x + w - 4, (role, text)
            assert y + 10 < ty < y + h, (role, text)
        rects.append((x, y, w, h))
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            apart = (
                a[0] + a[2] <= b[0]
                or b[0] + b[2] <= a[0]
                or a[1] + a[3] <= b[1]
                or b[1] + b[3] <= a[1]
            )
            assert apart, (a, b)


def test_consort_long_word_is_broken_not_overflowing():
    found = boxes(figures.consort_svg(consort_counts()))
    excluded = next(lines for role, _r, lines in found if role == "excluded")
    flat = "".join(t for _x, _y, t, _b in excluded)  # the pieces of a broken word, rejoined
    assert "Supernumerarycharacterwordthatcannotwrapanywhere" in flat
    assert max(len(t) for _x, _y, t, _b in excluded) < len("Supernumerarycharacterwordthatcannot")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(randomized=80), "add up to 81, randomized is 80"),
        (lambda c: c["arms"][1].update(analyzed=40), "unknown key\\(s\\) 'analyzed'"),
        (lambda c: c["arms"][1].update(received=39), "received 39 \\+ did not receive 0"),
        (lambda c: c["arms"][0].pop("label"), "missing key\\(s\\) label"),
        (lambda c: c.update(assessed=100), "more than assessed 100"),
        (lambda c: c["excluded"].update(declined=-1), "whole number ≥ 0, got -1"),
        (lambda c: c["excluded"].update(refused=3), "allowed: not_meeting_criteria"),
        (lambda c: c["arms"][1].update(analysed=41), "more than allocated 41"),
        (lambda c: c.update(arms=[]), "non-empty list"),
    ],
)
def test_consort_refuses_inconsistent_counts(change, message):
    counts = consort_counts()
    change(counts)
    with pytest.raises(ValueError, match=message):
        figures.consort_svg(counts)


def test_consort_description_reads_the_flow_in_words():
    counts = consort_counts()
    desc = svg_root(figures.consort_svg(counts)).find(f"{SVG}desc").text
    assert f"Assessed for eligibility: {counts['assessed']}." in desc
    assert f"Randomized: {counts['randomized']}." in desc
    assert "Placebo: allocated 41, received 41" in desc
