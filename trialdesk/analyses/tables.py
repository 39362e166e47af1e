"""The final analysis's summary tables, as pure pandas functions (no database, no Django).

* :func:`table1` — baseline characteristics by arm and overall (CONSORT item 15): continuous
  variables as n, mean (SD), median [Q1–Q3], min–max; categorical variables as n (%) per level
  and the missing count. No p-values: CONSORT 2010 (explanation of item 15) advises against
  significance tests of baseline differences in a randomized trial.
* :func:`ae_tables` — participants with at least one AE, SAE, related AE, grade ≥ 3 AE, SUSAR
  and AE leading to withdrawal by arm (n (%) of the safety population), and participants by
  CTCAE term and the highest grade they had of that term.
* :func:`over_time` — labs and vitals by visit and arm (n, mean, SD, SE, median), the frame
  :func:`trialdesk.analyses.figures.over_time_svg` draws; :func:`over_time_table` formats it.

Every table is a :class:`Table`: strings formatted with fixed decimals, ready for the HTML page,
the PDF and canonical JSON (``to_records``). Conventions are in docs/final-analysis-tables.md.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

#: Shown where a statistic is undefined (no values, or an SD from one value).
NA = "–"
#: CTCAE grades in order; "" is an AE with no grade recorded.
GRADES = ("G1", "G2", "G3", "G4", "G5")
GRADE_LABELS = {g: f"Grade {g[1]}" for g in GRADES} | {"": "Grade not recorded"}
AE_COLUMNS = (
    "participant_id",
    "arm",
    "ctcae_term",
    "term",
    "grade",
    "serious",
    "related",
    "susar",
)
#: Optional column of the AE frame: True when the AE led to the participant's withdrawal.
AE_WITHDRAWAL_COLUMN = "led_to_withdrawal"
OVER_TIME_COLUMNS = ("participant_id", "arm", "visit", "sequence", "item", "value")


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class Table:
    """A formatted table: every cell a string, rows in display order.

    ``groups`` (optional, one entry per row) names the block a row belongs to: "" for a row that
    opens a block (a variable's or a term's heading row) or stands alone, the heading's text for
    the rows under it. It keeps repeated row labels ("n", "Mean (SD)") unambiguous in JSON.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    footnotes: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(tuple(r) for r in self.rows))
        object.__setattr__(self, "footnotes", tuple(self.footnotes))
        object.__setattr__(self, "groups", tuple(self.groups))
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.title!r}: row {i} has {len(row)} cells, "
                    f"the table has {len(self.columns)} columns"
                )
            if not all(isinstance(c, str) for c in row):
                raise TypeError(f"table {self.title!r}: row {i}: every cell must be a string")
        if self.groups and len(self.groups) != len(self.rows):
            raise ValueError(
                f"table {self.title!r}: {len(self.groups)} groups for {len(self.rows)} rows"
            )
        if self.groups and "group" in self.columns:
            raise ValueError(f"table {self.title!r}: 'group' is reserved when rows have groups")

    def to_records(self) -> list[dict[str, str]]:
        """One dict per row, column name → cell (plus ``group`` first when rows have groups)."""
        out = []
        for i, row in enumerate(self.rows):
            rec = {"group": self.groups[i]} if self.groups else {}
            rec.update(zip(self.columns, row, strict=True))
            out.append(rec)
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """The cells as a DataFrame of strings (a ``group`` column first when rows have groups)."""
        df = pd.DataFrame(list(self.rows), columns=list(self.columns), dtype=object)
        if self.groups:
            df.insert(0, "group", list(self.groups))
        return df

    def to_html(self) -> str:
        """A semantic, escaped ``<table>``: ``<caption>``, column headers ``<th scope="col">``,
        the first cell of each row ``<th scope="row">``, each block in its own ``<tbody>``
        opened by a ``<th scope="rowgroup">``, footnotes in ``<tfoot>``."""
        ncol = len(self.columns)
        parts = [
            f'<table class="analysis-table">\n<caption>{_e(self.title)}</caption>\n<thead><tr>'
        ]
        parts += [f'<th scope="col">{_e(c)}</th>' for c in self.columns]
        parts.append("</tr></thead>\n")
        for block in self._blocks():
            parts.append("<tbody>\n")
            for i in block:
                row, grouped = self.rows[i], bool(self.groups and self.groups[i])
                if self.groups and not grouped and not any(row[1:]):
                    parts.append(
                        f'<tr><th scope="rowgroup" colspan="{ncol}">{_e(row[0])}</th></tr>\n'
                    )
                    continue
                cls = ' class="sub"' if grouped else ""
                cells = "".join(f"<td>{_e(c)}</td>" for c in row[1:])
                parts.append(f'<tr{cls}><th scope="row">{_e(row[0])}</th>{cells}</tr>\n')
            parts.append("</tbody>\n")
        if self.footnotes:
            parts.append("<tfoot>\n")
            parts += [f'<tr><td colspan="{ncol}">{_e(f)}</td></tr>\n' for f in self.footnotes]
            parts.append("</tfoot>\n")
        parts.append("</table>")
        return "".join(parts)

    def _blocks(self) -> list[list[int]]:
        if not self.groups:
            return [list(range(len(self.rows)))] if self.rows else []
        blocks: list[list[int]] = []
        for i, g in enumerate(self.groups):
            if not g or not blocks:
                blocks.append([])
            blocks[-1].append(i)
        return blocks


def _e(text: str) -> str:
    return html.escape(text, quote=True)


# --------------------------------------------------------------------------- validation
def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ValueError naming every column of ``columns`` that ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {', '.join(map(repr, missing))}; "
            f"required: {', '.join(columns)}; present: {', '.join(map(str, df.columns))}"
        )


def arm_label_map(arm_order: Sequence[Any], arm_labels: Mapping[Any, str] | None) -> dict[Any, str]:
    """arm → label for every arm of ``arm_order`` (the code itself without ``arm_labels``);
    refuses an empty or repeated ``arm_order`` and an arm with no label."""
    arms = list(arm_order)
    if not arms:
        raise ValueError("arm_order: at least one arm is needed")
    if len(set(arms)) != len(arms):
        raise ValueError(f"arm_order: each arm once, got {arms}")
    if arm_labels is None:
        return {a: str(a) for a in arms}
    missing = [a for a in arms if a not in arm_labels]
    if missing:
        raise ValueError(f"arm_labels: no label for arm(s) {missing}; arm_order is {arms}")
    return {a: str(arm_labels[a]) for a in arms}


def check_arms(values: pd.Series, arm_order: Sequence[Any], what: str) -> None:
    """Refuse a missing arm or one outside ``arm_order``, naming them and the allowed arms."""
    if values.isna().any():
        raise ValueError(f"{what}: {int(values.isna().sum())} row(s) have no arm")
    unknown = sorted({str(v) for v in values.unique() if v not in set(arm_order)})
    if unknown:
        raise ValueError(
            f"{what}: arm(s) {', '.join(unknown)} not in arm_order "
            f"({', '.join(map(str, arm_order))})"
        )


def _check_decimals(decimals: int, what: str) -> None:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
        raise ValueError(f"{what}: decimals must be an integer from 0 to 6, got {decimals!r}")


# --------------------------------------------------------------------------- formatting
def fmt_num(x: float | None, decimals: int) -> str:
    """``x`` with exactly ``decimals`` decimals, rounded as Python's ``format`` rounds (the
    binary value to the nearest), ``NA`` for None or NaN; "-0.0" is printed "0.0"."""
    if x is None or (isinstance(x, float | np.floating) and math.isnan(x)):
        return NA
    s = f"{float(x):.{decimals}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def fmt_n_pct(n: int, denominator: int, decimals: int = 1) -> str:
    """``n (p%)``; ``n`` alone with a zero denominator (no percentage of nothing)."""
    if denominator <= 0:
        return f"{n}"
    return f"{n} ({fmt_num(100.0 * n / denominator, decimals)}%)"


def _arm_header(label: str, n: int) -> str:
    return f"{label} (N = {n})"


# --------------------------------------------------------------------------- Table 1
Kind = Literal["continuous", "categorical"]


@dataclass(frozen=True)
class VariableSpec:
    """One row block of Table 1.

    ``column`` is the ADSL column; ``label`` what the reader sees (``unit`` is appended as
    "label, unit"). Continuous values are shown with ``decimals`` decimals. A categorical
    variable's ``levels`` give the order and the labels of its codes (a mapping code → label, or
    a sequence of codes shown as they are); a value outside them is an error. Without
    ``levels``, the observed values are shown sorted.
    """

    column: str
    label: str
    kind: Kind
    unit: str = ""
    decimals: int = 1
    levels: Mapping[Any, str] | Sequence[Any] | None = field(default=None, hash=False)
    _levels: tuple[tuple[Any, str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("continuous", "categorical"):
            raise ValueError(
                f"variable {self.column!r}: kind must be 'continuous' or 'categorical', "
                f"not {self.kind!r}"
            )
        _check_decimals(self.decimals, f"variable {self.column!r}")
        if self.levels is not None and self.kind == "continuous":
            raise ValueError(f"variable {self.column!r}: levels are for categorical variables")
        if self.levels is None:
            return
        if isinstance(self.levels, Mapping):
            pairs = tuple((k, str(v)) for k, v in self.levels.items())
        elif isinstance(self.levels, str):
            raise TypeError(f"variable {self.column!r}: levels is a string, not a list of codes")
        else:
            pairs = tuple((k, str(k)) for k in self.levels)
        if not pairs:
            raise ValueError(f"variable {self.column!r}: levels is empty")
        object.__setattr__(self, "_levels", pairs)

    @property
    def heading(self) -> str:
        return f"{self.label}, {self.unit}" if self.unit else self.label


def table1(
    adsl: pd.DataFrame,
    arm_col: str,
    variables: Sequence[VariableSpec],
    arm_order: Sequence[Any],
    arm_labels: Mapping[Any, str] | None = None,
    *,
    title: str = "Baseline characteristics by arm",
    overall: bool = True,
    pct_decimals: int = 1,
) -> Table:
    """Table 1: baseline characteristics of ``adsl`` (one row per participant) by arm and, with
    ``overall``, for all arms together.

    Continuous: n (with a value), mean (SD), median [Q1–Q3] (linear interpolation between order
    statistics, R's type 7), min–max. Categorical: n (%) per level, the percentage of the
    participants with a value, then the missing count. Column headers carry each arm's N (its
    rows in ``adsl``). No p-values.
    """
    require_columns(adsl, [arm_col, *(v.column for v in variables)], "table1: adsl")
    labels = arm_label_map(arm_order, arm_labels)
    check_arms(adsl[arm_col], arm_order, f"table1: column {arm_col!r}")
    _check_decimals(pct_decimals, "table1: pct_decimals")
    if not variables:
        raise ValueError("table1: variables is empty")
    if adsl.columns.duplicated().any():
        raise ValueError("table1: adsl has duplicate column names")
    parts = [adsl.loc[adsl[arm_col] == a] for a in arm_order]
    columns = ["Characteristic"] + [
        _arm_header(labels[a], len(p)) for a, p in zip(arm_order, parts, strict=True)
    ]
    if overall:
        parts.append(adsl)
        columns.append(_arm_header("Overall", len(adsl)))
    rows: list[list[str]] = []
    groups: list[str] = []
    for spec in variables:
        block = (
            _continuous_rows(adsl, spec, parts)
            if spec.kind == "continuous"
            else _categorical_rows(adsl, spec, parts, pct_decimals)
        )
        rows.append([spec.heading] + [""] * len(parts))
        groups.append("")
        rows += block
        groups += [spec.heading] * len(block)
    footnotes = (
        "N: participants in the arm. Continuous variables: n with a value; mean (SD); median "
        "[first quartile–third quartile]; minimum–maximum.",
        "Categorical variables: n (%), percentages of the participants with a recorded value; "
        "missing values counted separately.",
        "No tests of baseline differences are reported (CONSORT 2010, item 15).",
    )
    return Table(title, tuple(columns), tuple(map(tuple, rows)), footnotes, tuple(groups))


def _numeric(adsl: pd.DataFrame, spec: VariableSpec) -> pd.Series:
    col = adsl[spec.column]
    if pd.api.types.is_bool_dtype(col):
        raise ValueError(f"table1: variable {spec.column!r} is boolean; declare it categorical")
    values = pd.to_numeric(col, errors="coerce")
    bad = col[values.isna() & col.notna()]
    if len(bad):
        raise ValueError(
            f"table1: continuous variable {spec.column!r} has non-numeric value(s) "
            f"{', '.join(repr(v) for v in bad.unique()[:5])}"
        )
    return values.astype(float)


def _continuous_rows(
    adsl: pd.DataFrame, spec: VariableSpec, parts: list[pd.DataFrame]
) -> list[list[str]]:
    values = _numeric(adsl, spec)
    d = spec.decimals
    rows: dict[str, list[str]] = {"n": [], "Mean (SD)": [], "Median [IQR]": [], "Min–max": []}
    for p in parts:
        x = values.loc[p.index].dropna().to_numpy()
        rows["n"].append(str(len(x)))
        if not len(x):
            for k in ("Mean (SD)", "Median [IQR]", "Min–max"):
                rows[k].append(NA)
            continue
        sd = float(np.std(x, ddof=1)) if len(x) > 1 else None
        q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        rows["Mean (SD)"].append(f"{fmt_num(x.mean(), d)} ({fmt_num(sd, d)})")
        rows["Median [IQR]"].append(f"{fmt_num(med, d)} [{fmt_num(q1, d)}–{fmt_num(q3, d)}]")
        rows["Min–max"].append(f"{fmt_num(x.min(), d)}–{fmt_num(x.max(), d)}")
    return [[k, *v] for k, v in rows.items()]


def _level_pairs(values: pd.Series, spec: VariableSpec) -> tuple[tuple[Any, str], ...]:
    observed = list(values.dropna().unique())
    if not spec._levels:
        try:
            observed = sorted(observed)
        except TypeError:
            observed = sorted(observed, key=str)
        return tuple((v, str(v)) for v in observed)
    allowed = {k for k, _ in spec._levels}
    unknown = [v for v in observed if v not in allowed]
    if unknown:
        raise ValueError(
            f"table1: variable {spec.column!r} has value(s) "
            f"{', '.join(map(repr, sorted(unknown, key=str)))} outside its levels "
            f"({', '.join(repr(k) for k, _ in spec._levels)})"
        )
    return spec._levels


def _categorical_rows(
    adsl: pd.DataFrame, spec: VariableSpec, parts: list[pd.DataFrame], pct_decimals: int
) -> list[list[str]]:
    values = adsl[spec.column]
    pairs = _level_pairs(values, spec)
    rows = [[label] for _, label in pairs] + [["Missing"]]
    for p in parts:
        v = values.loc[p.index]
        known = int(v.notna().sum())
        for row, (code, _label) in zip(rows, pairs, strict=False):
            row.append(fmt_n_pct(int((v == code).sum()), known, pct_decimals))
        rows[-1].append(str(int(v.isna().sum())))
    return rows


# --------------------------------------------------------------------------- adverse events
@dataclass(frozen=True)
class AETables:
    """The two AE tables of the final report."""

    summary: Table
    by_term_grade: Table

    def tables(self) -> dict[str, Table]:
        return {"ae_summary": self.summary, "ae_by_term_grade": self.by_term_grade}


def _flag(aes: pd.DataFrame, col: str) -> pd.Series:
    s = aes[col]
    ok = s.map(lambda v: isinstance(v, bool | np.bool_) or (v in (0, 1) and not pd.isna(v)))
    if not ok.all():
        bad = s[~ok].unique()[:5]
        raise ValueError(
            f"ae_tables: column {col!r} must be True/False (or 1/0), got "
            f"{', '.join(map(repr, bad))}"
        )
    return s.astype(bool)


def _grades(aes: pd.DataFrame) -> pd.Series:
    g = aes["grade"].map(
        lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v
    )
    bad = sorted({str(v) for v in g.unique() if v not in GRADES and v != ""})
    if bad:
        raise ValueError(
            f"ae_tables: column 'grade' has value(s) {', '.join(map(repr, bad))}; "
            f"allowed: {', '.join(GRADES)} or '' (not recorded)"
        )
    return g.astype(object)


def _clean_aes(aes: pd.DataFrame, arm_order: Sequence[Any]) -> pd.DataFrame:
    require_columns(aes, AE_COLUMNS, "ae_tables: aes")
    check_arms(aes["arm"], arm_order, "ae_tables: column 'arm'")
    out = pd.DataFrame(
        {
            "participant_id": aes["participant_id"],
            "arm": aes["arm"],
            "grade": _grades(aes),
            **{c: _flag(aes, c) for c in ("serious", "related", "susar")},
        },
        index=aes.index,
    )
    if AE_WITHDRAWAL_COLUMN in aes.columns:
        out[AE_WITHDRAWAL_COLUMN] = _flag(aes, AE_WITHDRAWAL_COLUMN)
    if out["participant_id"].isna().any():
        raise ValueError("ae_tables: some rows have no participant_id")
    arms_per = out.groupby("participant_id")["arm"].nunique()
    if (arms_per > 1).any():
        raise ValueError(
            "ae_tables: participant(s) in more than one arm: "
            f"{', '.join(map(str, arms_per[arms_per > 1].index[:5]))}"
        )
    out["term_shown"] = [_term(c, t) for c, t in zip(aes["ctcae_term"], aes["term"], strict=True)]
    return out


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""


def _term(ctcae: Any, verbatim: Any) -> str:
    if not _blank(ctcae):
        return str(ctcae).strip()
    if not _blank(verbatim):
        return f"{str(verbatim).strip()} *"
    return "Term not recorded *"


def _check_n_by_arm(n_by_arm: Mapping[Any, int], arm_order: Sequence[Any]) -> dict[Any, int]:
    missing = [a for a in arm_order if a not in n_by_arm]
    extra = [a for a in n_by_arm if a not in set(arm_order)]
    if missing or extra:
        raise ValueError(
            f"ae_tables: n_by_arm must have exactly the arms of arm_order {list(arm_order)}; "
            f"missing {missing}, not in arm_order {extra}"
        )
    out = {}
    for a in arm_order:
        n = n_by_arm[a]
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"ae_tables: n_by_arm[{a!r}] must be a whole number ≥ 0, not {n!r}")
        out[a] = int(n)
    return out


def ae_tables(
    aes: pd.DataFrame,
    n_by_arm: Mapping[Any, int],
    arm_order: Sequence[Any],
    arm_labels: Mapping[Any, str] | None = None,
    *,
    overall: bool = True,
    pct_decimals: int = 1,
) -> AETables:
    """Participants with AEs by arm, as n (%) of the safety population ``n_by_arm``.

    ``aes`` has one row per AE with the columns ``AE_COLUMNS``; ``grade`` is "G1".."G5" or ""
    (not recorded); ``serious``, ``related``, ``susar`` are booleans. An optional boolean column
    ``led_to_withdrawal`` fills the "AE leading to withdrawal" row; without it that row reads
    "not recorded". A participant counts once per row whatever their number of AEs.
    The term is ``ctcae_term``, else the verbatim ``term`` marked with an asterisk.
    """
    labels = arm_label_map(arm_order, arm_labels)
    n = _check_n_by_arm(n_by_arm, arm_order)
    _check_decimals(pct_decimals, "ae_tables: pct_decimals")
    df = _clean_aes(aes, arm_order)
    with_ae = df.groupby("arm")["participant_id"].nunique()
    over = [a for a in arm_order if with_ae.get(a, 0) > n[a]]
    if over:
        raise ValueError(
            "ae_tables: more participants with AEs than n_by_arm in arm(s) "
            + ", ".join(f"{a!r} ({int(with_ae[a])} > {n[a]})" for a in over)
        )
    cols = [_arm_header(labels[a], n[a]) for a in arm_order]
    if overall:
        cols.append(_arm_header("Overall", sum(n.values())))
    return AETables(
        summary=_ae_summary(df, n, arm_order, cols, overall, pct_decimals),
        by_term_grade=_ae_by_term_grade(df, n, arm_order, cols, overall, pct_decimals),
    )


#: (row label, mask over the cleaned AE frame); None: the withdrawal flag (optional column).
AE_SUMMARY_ROWS: tuple[tuple[str, Any], ...] = (
    ("Participants with ≥ 1 AE", lambda d: pd.Series(True, index=d.index)),
    ("Participants with ≥ 1 serious AE (SAE)", lambda d: d["serious"]),
    ("Participants with ≥ 1 related AE", lambda d: d["related"]),
    ("Participants with ≥ 1 AE of grade ≥ 3", lambda d: d["grade"].isin(("G3", "G4", "G5"))),
    ("Participants with ≥ 1 SUSAR", lambda d: d["susar"]),
    ("Participants with ≥ 1 AE leading to withdrawal", None),
)


def _participant_counts(
    df: pd.DataFrame, n: dict[Any, int], arm_order: Sequence[Any], overall: bool, dec: int
) -> list[str]:
    per_arm = df.groupby("arm")["participant_id"].nunique()
    cells = [fmt_n_pct(int(per_arm.get(a, 0)), n[a], dec) for a in arm_order]
    if overall:
        cells.append(fmt_n_pct(int(df["participant_id"].nunique()), sum(n.values()), dec))
    return cells


def _ae_summary(df, n, arm_order, cols, overall, dec) -> Table:
    rows, notes = [], []
    width = len(cols)
    for label, mask in AE_SUMMARY_ROWS:
        if mask is None:
            if AE_WITHDRAWAL_COLUMN not in df.columns:
                rows.append([label] + ["not recorded"] * width)
                notes.append(
                    "AEs leading to withdrawal: not recorded in the data given "
                    f"(no {AE_WITHDRAWAL_COLUMN!r} column)."
                )
                continue
            sub = df[df[AE_WITHDRAWAL_COLUMN]]
        else:
            sub = df[mask(df).astype(bool)]
        rows.append([label, *_participant_counts(sub, n, arm_order, overall, dec)])
    events = [str(int((df["arm"] == a).sum())) for a in arm_order]
    if overall:
        events.append(str(len(df)))
    rows.append(["Adverse events reported (events)", *events])
    footnotes = (
        "n (%): participants with at least one such AE; percentages of the safety population "
        "N of each arm. A participant with several AEs counts once per row.",
        "Grade: CTCAE v5.0. SUSAR: suspected unexpected serious adverse reaction.",
        *notes,
    )
    return Table(
        "Participants with adverse events by arm",
        ("", *cols),
        tuple(map(tuple, rows)),
        footnotes,
    )


def _grade_rank(g: str) -> int:
    return GRADES.index(g) + 1 if g in GRADES else 0


def _ae_by_term_grade(df, n, arm_order, cols, overall, dec) -> Table:
    per = df.assign(rank=df["grade"].map(_grade_rank))
    worst = per.groupby(["term_shown", "participant_id", "arm"], as_index=False)["rank"].max()
    worst["max_grade"] = worst["rank"].map(lambda r: GRADES[r - 1] if r else "")
    freq = worst.groupby("term_shown")["participant_id"].nunique()
    terms = sorted(freq.index, key=lambda t: (-int(freq[t]), t))
    rows: list[list[str]] = []
    groups: list[str] = []
    for term in terms:
        w = worst[worst["term_shown"] == term]
        rows.append([term] + [""] * len(cols))
        groups.append("")
        rows.append(["Any grade", *_participant_counts(w, n, arm_order, overall, dec)])
        groups.append(term)
        present = sorted(set(w["max_grade"]), key=_grade_rank)
        for g in [*[g for g in present if g], *[g for g in present if not g]]:
            sub = w[w["max_grade"] == g]
            rows.append([GRADE_LABELS[g], *_participant_counts(sub, n, arm_order, overall, dec)])
            groups.append(term)
    footnotes = (
        "n (%): participants with the term, each counted once at the highest grade they had "
        "of that term; percentages of the safety population N of each arm.",
        "Terms ordered by the number of participants (all arms), then alphabetically; a grade "
        "row is shown when some participant had that highest grade.",
        "* not coded to a CTCAE term: the verbatim term as reported.",
    )
    return Table(
        "Participants with adverse events by CTCAE term and highest grade",
        ("Term / highest grade", *cols),
        tuple(map(tuple, rows)),
        footnotes,
        tuple(groups),
    )


# --------------------------------------------------------------------------- over time
def over_time(
    values: pd.DataFrame,
    arm_order: Sequence[Any],
    arm_labels: Mapping[Any, str] | None = None,
    *,
    items: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Labs and vitals by item, visit and arm: n, mean, SD, SE (SD/√n), median.

    ``values`` has one row per participant, visit and item (columns ``OVER_TIME_COLUMNS``);
    a second value for the same participant, visit and item is an error (decide which one
    counts before calling); a row without a value is left out. Visits are ordered by
    ``sequence``. Returns one row per item,
    visit and arm present, with columns item, visit, sequence, arm, arm_label, n, mean, sd,
    se, median (SD and SE are NaN for n = 1), sorted by item (``items`` order), sequence and
    arm (``arm_order``).
    """
    require_columns(values, OVER_TIME_COLUMNS, "over_time: values")
    labels = arm_label_map(arm_order, arm_labels)
    check_arms(values["arm"], arm_order, "over_time: column 'arm'")
    v = values[list(OVER_TIME_COLUMNS)].copy()
    v["value"] = _over_time_numbers(v["value"])
    v = v.dropna(subset=["value"])
    item_order = _item_order(v, items)
    v = v[v["item"].isin(item_order)]
    _check_visits(v)
    dup = v.duplicated(["participant_id", "visit", "item"], keep=False)
    if dup.any():
        first = v[dup].iloc[0]
        raise ValueError(
            f"over_time: {int(dup.sum())} rows repeat a participant, visit and item "
            f"(first: participant {first['participant_id']}, visit {first['visit']}, "
            f"item {first['item']}); keep one value per visit before summarising"
        )
    g = v.groupby(["item", "visit", "sequence", "arm"])["value"]
    out = g.agg(n="count", mean="mean", sd="std", median="median").reset_index()
    out["n"] = out["n"].astype(int)
    out["se"] = out["sd"] / np.sqrt(out["n"])
    out["arm_label"] = out["arm"].map(labels)
    rank = {a: i for i, a in enumerate(arm_order)}
    out["_i"] = out["item"].map({it: i for i, it in enumerate(item_order)})
    out["_a"] = out["arm"].map(rank)
    out = out.sort_values(["_i", "sequence", "_a"]).reset_index(drop=True)
    cols = ["item", "visit", "sequence", "arm", "arm_label", "n", "mean", "sd", "se", "median"]
    return out[cols]


def _over_time_numbers(s: pd.Series) -> pd.Series:
    x = pd.to_numeric(s, errors="coerce")
    bad = s[x.isna() & s.notna()]
    if len(bad):
        raise ValueError(
            "over_time: column 'value' has non-numeric value(s) "
            f"{', '.join(repr(b) for b in bad.unique()[:5])}"
        )
    return x.astype(float)


def _item_order(v: pd.DataFrame, items: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(v["item"]))
    if items is None:
        return sorted(present, key=str)
    if isinstance(items, str):
        raise TypeError("over_time: items is a list of item names, not one string")
    return list(items)


def _check_visits(v: pd.DataFrame) -> None:
    per_visit = v.groupby("visit")["sequence"].nunique()
    if (per_visit > 1).any():
        raise ValueError(
            "over_time: visit(s) with more than one sequence number: "
            f"{', '.join(map(str, per_visit[per_visit > 1].index))}"
        )


def over_time_table(
    summary: pd.DataFrame, item: str, *, label: str | None = None, decimals: int = 1
) -> Table:
    """One item of :func:`over_time`'s frame as a table: per visit and arm n, mean (SD),
    median; visits in sequence order, arms in the frame's order."""
    require_columns(
        summary,
        ["item", "visit", "sequence", "arm_label", "n", "mean", "sd", "median"],
        "over_time_table: summary",
    )
    _check_decimals(decimals, "over_time_table")
    s = summary[summary["item"] == item]
    if s.empty:
        known = ", ".join(map(str, dict.fromkeys(summary["item"]))) or "none"
        raise ValueError(f"over_time_table: no rows for item {item!r}; items: {known}")
    rows = [
        [
            str(r.visit),
            str(r.arm_label),
            str(int(r.n)),
            f"{fmt_num(r.mean, decimals)} ({fmt_num(r.sd, decimals)})",
            fmt_num(r.median, decimals),
        ]
        for r in s.itertuples(index=False)
    ]
    return Table(
        f"{label or item} by visit and arm",
        ("Visit", "Arm", "n", "Mean (SD)", "Median"),
        tuple(map(tuple, rows)),
        ("n: participants with a value at the visit. SD undefined (–) for n = 1.",),
    )
