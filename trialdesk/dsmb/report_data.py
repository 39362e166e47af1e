"""The numbers of the DSMB reports, as pandas DataFrames read from the database (no writes).

Two kinds:

* **open** (pooled; the DSMB and the study team): CONSORT counts, enrolment by month,
  retention, visit completion, data completeness, queries by age, AEs by grade and seriousness.
  Nothing here is split by arm, and nothing names an arm.
* **closed** (by arm; the DSMB and the unblinded statistician only): the open tables plus AEs
  by arm × grade × relatedness, the SAE listing with the arm, the primary endpoint by arm with
  the difference and its 95 % CI (pooled-variance t), the planned group-sequential boundaries
  with the observed z, and labs and vitals over visits by arm.

Counting, stated once:

* an AE counts as one event (``safety.AdverseEvent``, one per AE log repeat with a term);
* a visit is *due* when its latest window date is before the cut date and it is scheduled;
  *done* when it has a date; a form is *expected* at every dated visit's schedule, *complete*
  from status "complete" on;
* the primary endpoint is the protocol's ``endpoints`` entry of kind ``primary``: its field at
  its last listed visit, as stored (entered or derived);
* the data cut is the audit trail's last sequence number when the report is built; the tables
  are read in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Max
from django.utils import timezone
from scipy import stats

from trialdesk.accounts.models import Site
from trialdesk.audit.models import AuditEvent
from trialdesk.core.sequential.planned import planned_design
from trialdesk.crfs.models import FormInstance, ItemValue, Query
from trialdesk.dsmb.interim import CONTROL_TYPES
from trialdesk.enrolment.models import Withdrawal
from trialdesk.enrolment.services import consort_counts
from trialdesk.participants.models import Participant
from trialdesk.randomization.models import Allocation, Dosing
from trialdesk.safety.models import AdverseEvent
from trialdesk.studies.registry import get_protocol
from trialdesk.visits.models import Visit

OPEN, CLOSED = "open", "closed"
#: labs and vitals shown over visits by arm in the closed report (form.item)
LAB_VITAL_ITEMS = ("hematology.hgb", "vitals.sbp")
QUERY_AGES = (
    (0, 7, "0–7 days"),
    (8, 30, "8–30 days"),
    (31, 90, "31–90 days"),
    (91, None, "> 90 days"),
)
DONE_STATUSES = (
    FormInstance.Status.COMPLETE,
    FormInstance.Status.VERIFIED,
    FormInstance.Status.SIGNED,
    FormInstance.Status.LOCKED,
)
HAS_VALUE = (ItemValue.Status.ENTERED, ItemValue.Status.DERIVED)


@dataclass
class ReportData:
    study: str
    kind: str
    data_cut_seq: int
    cut_at: dt.datetime
    tables: dict[str, pd.DataFrame]
    design: Any = None  # GroupSequentialDesign or None (closed only)
    design_note: str = ""
    observed_z: float | None = None
    information_fraction: float | None = None
    notes: list[str] = field(default_factory=list)

    def numbers(self) -> dict[str, Any]:
        """Every number of the report as canonical JSON-able data (hashed when stored)."""
        out: dict[str, Any] = {
            "study": self.study,
            "kind": self.kind,
            "data_cut_seq": self.data_cut_seq,
            "tables": {name: _records(df) for name, df in sorted(self.tables.items())},
        }
        if self.kind == CLOSED:
            out["observed_z"] = _num(self.observed_z)
            out["information_fraction"] = _num(self.information_fraction)
            if self.design is not None:
                out["critical_values"] = [_num(c) for c in self.design.critical_values]
                out["futility_bounds"] = [_num(c) for c in self.design.futility_bounds or ()]
        return out


def _num(x):
    if x is None:
        return None
    if isinstance(x, np.integer | int) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, np.floating | float):
        return None if math.isnan(float(x)) else round(float(x), 6)
    return x


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): _num(v) if not isinstance(v, str) else v for k, v in r.items()}
        for r in df.to_dict("records")
    ]


def data_cut_seq() -> int:
    return AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0


# --------------------------------------------------------------------------- open (pooled)
def _consort(study) -> pd.DataFrame:
    site_ids = list(Site.objects.filter(study=study).values_list("pk", flat=True))
    c = consort_counts(site_ids=site_ids)
    dosed = Dosing.objects.filter(participant__study=study).count()
    withdrawn = Participant.objects.filter(study=study, status=Participant.Status.WITHDRAWN).count()
    rows = [("Screened", c["screened"]), ("In screening", c["in_screening"])]
    rows += [(f"Not enrolled: {k}", v) for k, v in sorted(c["not_enrolled"].items())]
    rows += [("Randomized", c["randomized"]), ("Dosed", dosed), ("Withdrawn", withdrawn)]
    return pd.DataFrame(rows, columns=["measure", "n"])


def _enrolment(study) -> pd.DataFrame:
    when = list(
        Allocation.objects.filter(participant__study=study).values_list("allocated_at", flat=True)
    )
    if not when:
        return pd.DataFrame(
            {
                "month": pd.Series(dtype=str),
                "randomized": pd.Series(dtype=int),
                "cumulative": pd.Series(dtype=int),
            }
        )
    months = pd.Series([w.astimezone(dt.UTC).strftime("%Y-%m") for w in when])
    df = months.value_counts().sort_index().rename_axis("month").reset_index(name="randomized")
    df["cumulative"] = df["randomized"].cumsum()
    return df


def _retention(study) -> pd.DataFrame:
    randomized = Participant.objects.filter(study=study, allocation__isnull=False)
    status = pd.Series(list(randomized.values_list("status", flat=True)), dtype=object)
    rows = [("Randomized", len(status))]
    labels = dict(Participant.Status.choices)
    for code in (
        Participant.Status.ENROLLED,
        Participant.Status.COMPLETED,
        Participant.Status.WITHDRAWN,
        Participant.Status.LOST,
    ):
        rows.append((f"Status: {labels[code]}", int((status == code).sum())))
    scopes = dict(Withdrawal.Scope.choices)
    w = Withdrawal.objects.filter(participant__study=study).values_list("scope", flat=True)
    for scope, n in sorted(pd.Series(list(w), dtype=object).value_counts().items()):
        rows.append((f"Withdrawal: {scopes.get(scope, scope)}", int(n)))
    return pd.DataFrame(rows, columns=["measure", "n"])


def _visit_completion(study, today: dt.date) -> pd.DataFrame:
    rows = Visit.objects.filter(participant__study=study, unscheduled=False).values_list(
        "code", "sequence", "latest_date", "actual_date", "missed"
    )
    df = pd.DataFrame(list(rows), columns=["visit", "sequence", "latest", "actual", "missed"])
    if df.empty:
        return pd.DataFrame(columns=["visit", "due", "done", "missed", "percent_done"])
    df["done"] = df["actual"].notna()
    # due: the window has closed, or the visit took place (done early is done, and due)
    df["due"] = df["latest"].map(lambda d: d is not None and d < today) | df["done"]
    df["missed"] = df["missed"].astype(bool)
    out = (
        df.groupby(["sequence", "visit"], sort=True)
        .agg(due=("due", "sum"), done=("done", "sum"), missed=("missed", "sum"))
        .reset_index()
    )
    out = out[(out["due"] > 0) | (out["done"] > 0)].drop(columns="sequence")
    out["percent_done"] = [
        round(100.0 * d / u, 1) if u else None for d, u in zip(out["done"], out["due"], strict=True)
    ]
    return out.reset_index(drop=True)


def _completeness(study, protocol) -> pd.DataFrame:
    """Forms expected at every dated visit (schedule) vs forms complete or beyond."""
    expected: dict[str, int] = {}
    for code in Visit.objects.filter(
        participant__study=study, actual_date__isnull=False, unscheduled=False
    ).values_list("code", flat=True):
        visit = protocol.visits.get(code)
        for form_code in getattr(visit, "forms", None) or ():
            form = protocol.forms.get(form_code)
            if form is None or getattr(form, "repeating", False):
                continue
            expected[form_code] = expected.get(form_code, 0) + 1
    done = FormInstance.objects.filter(
        participant__study=study,
        status__in=DONE_STATUSES,
        visit__unscheduled=False,
        visit__actual_date__isnull=False,
    ).values_list("form_code", flat=True)
    counts = pd.Series(list(done), dtype=object).value_counts()
    rows = [(f, n, min(int(counts.get(f, 0)), n)) for f, n in sorted(expected.items())]
    df = pd.DataFrame(rows, columns=["form", "expected", "complete"])
    df["percent_complete"] = [
        round(100.0 * c / e, 1) if e else None
        for c, e in zip(df["complete"], df["expected"], strict=True)
    ]
    return df


def _queries(study, now: dt.datetime) -> pd.DataFrame:
    rows = Query.objects.filter(participant__study=study).values_list("status", "created_at")
    labels = dict(Query.Status.choices)
    out = []
    for status in (Query.Status.OPEN, Query.Status.ANSWERED):
        ages = [(now - c).days for s, c in rows if s == status]
        for lo, hi, label in QUERY_AGES:
            out.append(
                (
                    str(labels[status]),
                    label,
                    sum(1 for a in ages if a >= lo and (hi is None or a <= hi)),
                )
            )
    closed = sum(1 for s, _c in rows if s == Query.Status.CLOSED)
    out.append((str(labels[Query.Status.CLOSED]), "all", closed))
    return pd.DataFrame(out, columns=["status", "age", "n"])


def ae_frame(study) -> pd.DataFrame:
    """One row per AE (pooled columns; ``participant_id`` to join the arm for the closed report)."""
    rows = (
        AdverseEvent.objects.filter(participant__study=study)
        .exclude(term="", ctcae_term="")
        .values_list(
            "participant_id",
            "participant__subject_id",
            "ctcae_term",
            "term",
            "grade",
            "serious",
            "relatedness",
            "related",
            "susar",
            "outcome",
            "onset_at",
        )
    )
    cols = [
        "participant_id",
        "subject_id",
        "ctcae_term",
        "term",
        "grade",
        "serious",
        "relatedness",
        "related",
        "susar",
        "outcome",
        "onset_at",
    ]
    df = pd.DataFrame(list(rows), columns=cols)
    df["grade"] = df["grade"].replace("", "not graded")
    df["relatedness"] = df["relatedness"].replace("", "not assessed")
    return df


def _ae_by_grade(aes: pd.DataFrame) -> pd.DataFrame:
    if aes.empty:
        return pd.DataFrame(columns=["grade", "non_serious", "serious", "total"])
    t = pd.crosstab(aes["grade"], aes["serious"].map({True: "serious", False: "non_serious"}))
    for c in ("non_serious", "serious"):
        if c not in t:
            t[c] = 0
    t = t[["non_serious", "serious"]]
    t["total"] = t.sum(axis=1)
    return t.sort_index().reset_index()


def _ae_summary(aes: pd.DataFrame) -> pd.DataFrame:
    rows = [
        ("Adverse events", len(aes)),
        ("Participants with an AE", aes["participant_id"].nunique()),
        ("Serious adverse events", int(aes["serious"].sum()) if len(aes) else 0),
        ("Related (possibly or more)", int(aes["related"].sum()) if len(aes) else 0),
        ("SUSARs", int(aes["susar"].sum()) if len(aes) else 0),
    ]
    return pd.DataFrame(rows, columns=["measure", "n"])


# --------------------------------------------------------------------------- closed (by arm)
def _arms(study) -> dict[int, str]:
    return dict(
        Allocation.objects.filter(participant__study=study).values_list("participant_id", "arm")
    )


def _n_by_arm(study, arm_of, arms) -> pd.DataFrame:
    dosed = set(
        Dosing.objects.filter(participant__study=study).values_list("participant_id", flat=True)
    )
    rows = [
        (
            a,
            sum(1 for v in arm_of.values() if v == a),
            sum(1 for p, v in arm_of.items() if v == a and p in dosed),
        )
        for a in arms
    ]
    return pd.DataFrame(rows, columns=["arm", "randomized", "dosed"])


def _ae_by_arm(aes: pd.DataFrame) -> pd.DataFrame:
    if aes.empty:
        return pd.DataFrame(columns=["arm", "grade", "relatedness", "n"])
    g = aes.groupby(["arm", "grade", "relatedness"]).size().reset_index(name="n")
    return g.sort_values(["arm", "grade", "relatedness"]).reset_index(drop=True)


def _sae_listing(aes: pd.DataFrame) -> pd.DataFrame:
    s = aes[aes["serious"]].copy() if len(aes) else aes.copy()
    s["onset"] = s["onset_at"].map(
        lambda d: (
            d.astimezone(dt.UTC).strftime("%Y-%m-%d") if d is not None and not pd.isna(d) else ""
        )
    )
    s["term"] = [c or t for c, t in zip(s["ctcae_term"], s["term"], strict=True)]
    cols = ["subject_id", "term", "grade", "onset", "outcome", "relatedness", "arm"]
    return s[cols].sort_values(["subject_id", "onset"]).reset_index(drop=True)


def primary_endpoint(protocol) -> tuple[str, str, str] | None:
    """(form, item, visit) of the protocol's primary endpoint, or None."""
    for ep in (getattr(protocol, "endpoints", None) or {}).values():
        if getattr(ep, "kind", "") == "primary" and getattr(ep, "field", None):
            form, item = ep.field.split(".", 1)
            visits = list(getattr(ep, "visits", None) or [])
            return form, item, visits[-1] if visits else ""
    return None


def item_values(study, form: str, item: str, visits=None) -> pd.DataFrame:
    """participant_id, visit, value of one item (entered or derived, not empty)."""
    qs = ItemValue.objects.filter(
        participant__study=study,
        form__form_code=form,
        item=item,
        status__in=HAS_VALUE,
        num_value__isnull=False,
    )
    if visits:
        qs = qs.filter(form__visit__code__in=visits)
    rows = qs.values_list(
        "participant_id", "form__visit__code", "form__visit__sequence", "num_value"
    )
    return pd.DataFrame(list(rows), columns=["participant_id", "visit", "sequence", "value"])


def _efficacy(study, protocol, arm_of, arms) -> tuple[pd.DataFrame, pd.DataFrame, float | None]:
    ep = primary_endpoint(protocol)
    empty = pd.DataFrame(columns=["arm", "n", "mean", "sd"])
    if ep is None:
        return empty, pd.DataFrame(), None
    form, item, visit = ep
    v = item_values(study, form, item, [visit] if visit else None)
    v["arm"] = v["participant_id"].map(arm_of)
    v = v.dropna(subset=["arm"])
    rows = []
    for a in arms:
        x = v.loc[v["arm"] == a, "value"].astype(float)
        rows.append(
            (a, len(x), x.mean() if len(x) else None, x.std(ddof=1) if len(x) > 1 else None)
        )
    by_arm = pd.DataFrame(rows, columns=["arm", "n", "mean", "sd"])
    diff = pd.DataFrame(
        columns=["comparison", "difference", "se", "ci_low", "ci_high", "t", "df", "p"]
    )
    z = None
    control = control_arm(protocol, arms)
    for treat in [a for a in arms if a != control]:
        x = v.loc[v["arm"] == treat, "value"].astype(float).to_numpy()
        y = v.loc[v["arm"] == control, "value"].astype(float).to_numpy()
        if len(x) < 2 or len(y) < 2:
            continue
        d = x.mean() - y.mean()
        dof = len(x) + len(y) - 2
        sp2 = ((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / dof
        se = math.sqrt(sp2 * (1 / len(x) + 1 / len(y)))
        q = stats.t.ppf(0.975, dof)
        t = d / se if se > 0 else float("nan")
        p = 2 * stats.t.sf(abs(t), dof) if se > 0 else float("nan")
        row = pd.DataFrame(
            [(f"{treat} - {control}", d, se, d - q * se, d + q * se, t, dof, p)],
            columns=diff.columns,
        )
        diff = row if diff.empty else pd.concat([diff, row], ignore_index=True)
        if z is None and se > 0:
            z = t  # the boundary plot shows the first experimental arm against the control
    return by_arm, diff, z


def control_arm(protocol, arms: list[str]) -> str | None:
    """The comparator every other arm is compared with: the first arm of a comparator type in
    protocol order, else the last arm (None with fewer than two arms)."""
    if len(arms) < 2:
        return None
    for code in arms:
        arm = protocol.arms.get(code)
        if arm is not None and arm.type in CONTROL_TYPES:
            return code
    return arms[-1]


def _labs_vitals(study, arm_of, arms) -> pd.DataFrame:
    frames = []
    for spec in LAB_VITAL_ITEMS:
        form, item = spec.split(".", 1)
        v = item_values(study, form, item)
        if v.empty:
            continue
        v["arm"] = v["participant_id"].map(arm_of)
        v = v.dropna(subset=["arm"])
        g = (
            v.groupby(["sequence", "visit", "arm"])["value"]
            .agg(["count", "mean", "std"])
            .reset_index()
        )
        g.insert(0, "item", spec)
        frames.append(g)
    if not frames:
        return pd.DataFrame(columns=["item", "visit", "arm", "n", "mean", "sd"])
    out = (
        pd.concat(frames)
        .sort_values(["item", "sequence", "arm"])
        .rename(columns={"count": "n", "std": "sd"})
    )
    return out.drop(columns="sequence").reset_index(drop=True)


def _boundaries(design) -> pd.DataFrame:
    cols = ["look", "information_fraction", "efficacy_z", "futility_z"]
    if design is None:
        return pd.DataFrame(columns=cols)
    fut = list(design.futility_bounds or ())
    rows = [
        (k + 1, t, c, fut[k] if k < len(fut) else None)
        for k, (t, c) in enumerate(
            zip(design.information_fraction, design.critical_values, strict=True)
        )
    ]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- entry point
def build(
    study, kind: str, *, cut_seq: int | None = None, now: dt.datetime | None = None
) -> ReportData:
    if kind not in (OPEN, CLOSED):
        raise ValueError(f"report kind: open or closed, not {kind!r}")
    study_code = study if isinstance(study, str) else study.pk
    protocol = get_protocol(study_code)
    now = now or timezone.now()
    today = timezone.localdate(now)
    aes = ae_frame(study_code)
    tables = {
        "consort": _consort(study_code),
        "enrolment_by_month": _enrolment(study_code),
        "retention": _retention(study_code),
        "visit_completion": _visit_completion(study_code, today),
        "data_completeness": _completeness(study_code, protocol),
        "queries": _queries(study_code, now),
        "ae_summary": _ae_summary(aes),
        "ae_by_grade": _ae_by_grade(aes),
    }
    data = ReportData(
        study_code, kind, cut_seq if cut_seq is not None else data_cut_seq(), now, tables
    )
    if kind == OPEN:
        return data
    arms = list(protocol.arms)
    arm_of = _arms(study_code)
    aes["arm"] = aes["participant_id"].map(arm_of).fillna("not randomized")
    by_arm, diff, z = _efficacy(study_code, protocol, arm_of, arms)
    tables.update(
        {
            "n_by_arm": _n_by_arm(study_code, arm_of, arms),
            "ae_by_arm": _ae_by_arm(aes),
            "sae_listing": _sae_listing(aes),
            "efficacy_by_arm": by_arm,
            "efficacy_difference": diff,
            "labs_vitals_by_arm": _labs_vitals(study_code, arm_of, arms),
        }
    )
    interim = protocol.interim
    ss = protocol.sample_size
    if interim is not None:
        data.design, data.design_note = planned_design(
            alpha=ss.alpha,
            sided=ss.sides,
            power=ss.power,
            information_fractions=tuple(interim.information_fractions),
            efficacy_spending=interim.efficacy_spending,
            futility_spending=interim.futility_spending,
            binding_futility=bool(interim.binding_futility),
        )
    tables["interim_boundaries"] = _boundaries(data.design)
    data.observed_z = z
    n_eval = int(by_arm["n"].sum()) if len(by_arm) else 0
    planned = ss.n_per_arm * len(arms)
    data.information_fraction = min(1.0, n_eval / planned) if planned else None
    return data
