"""Analysis datasets built from a snapshot's tables (pure pandas: no database access).

- ``adsl``: one row per randomized participant: ``subject_id``, ``site``, ``arm``, each
  stratification factor's level (as allocated), ``dosed``, ``status``, ``withdrawn`` and the
  population flags:

  * ``itt``: randomized (analysed as randomized);
  * ``mitt``: randomized and dosed (as randomized) — the protocol's primary population;
  * ``safety``: dosed (as allocated; a blinded kit cannot be given from the other arm);
  * ``per_protocol``: mITT, dosed without interruption, and no recorded protocol deviation at
    the visits the analysis uses (checked per analysis, see :func:`endpoint_frame`).

- ``values``: every numeric or coded eCRF value, long: ``subject_id``, ``visit``,
  ``sequence``, ``form``, ``repeat``, ``item`` (``form.item``), ``value`` (number or None),
  ``text`` (the value as text, for coded items).

- :func:`endpoint_frame` joins, for one analysis of the protocol, the outcome at its visit(s),
  the baseline at the baseline visit and the covariates, on a population.
"""

from __future__ import annotations

import pandas as pd

POPULATIONS = ("itt", "mitt", "per_protocol", "safety")


class DatasetError(ValueError):
    pass


def adsl(tables: dict, protocol) -> pd.DataFrame:
    parts = pd.DataFrame(tables["participants"])
    alloc = pd.DataFrame(tables["allocations"])
    factors = list(protocol.stratification)
    columns = ["subject_id", "site", "arm", *factors, "dosed", "interrupted", "status"]
    if alloc.empty:
        return pd.DataFrame(columns=[*columns, "withdrawn", *POPULATIONS])
    frame = alloc[["subject_id", "arm"]].copy()
    for code in factors:
        frame[code] = [(levels or {}).get(code) for levels in alloc["factor_levels"]]
    frame = frame.merge(parts[["subject_id", "site", "status"]], on="subject_id", how="left")
    dosing = pd.DataFrame(tables["dosing"])
    dosed = set(dosing["subject_id"]) if not dosing.empty else set()
    interrupted = (
        set(dosing.loc[dosing["interrupted"].astype(bool), "subject_id"])
        if not dosing.empty
        else set()
    )
    frame["dosed"] = frame["subject_id"].isin(dosed)
    frame["interrupted"] = frame["subject_id"].isin(interrupted)
    withdrawals = pd.DataFrame(tables["withdrawals"])
    frame["withdrawn"] = (
        frame["subject_id"].isin(set(withdrawals["subject_id"])) if not withdrawals.empty else False
    )
    frame["itt"] = True
    frame["mitt"] = frame["dosed"]
    frame["safety"] = frame["dosed"]
    frame["per_protocol"] = frame["dosed"] & ~frame["interrupted"]
    return frame.sort_values("subject_id").reset_index(drop=True)


def values(tables: dict) -> pd.DataFrame:
    rows = []
    for r in tables["items"]:
        v = r["value"]
        number = r.get("number")
        if isinstance(v, bool):
            text = "yes" if v else "no"
        elif isinstance(v, list):
            text = ",".join(str(x) for x in v)
        else:
            text = None if v is None else str(v)
        rows.append(
            {
                "subject_id": r["subject_id"],
                "visit": r["visit"],
                "sequence": r["sequence"],
                "form": r["form"],
                "repeat": r["repeat"],
                "item": f"{r['form']}.{r['item']}",
                "value": number,
                "text": text,
            }
        )
    cols = ["subject_id", "visit", "sequence", "form", "repeat", "item", "value", "text"]
    return pd.DataFrame(rows, columns=cols)


def deviations_at(tables: dict, visits: set[str]) -> set[str]:
    """Participants with a recorded protocol deviation at any of ``visits``."""
    return {d["subject_id"] for d in tables["deviations"] if d.get("visit") in visits}


def item_at(vals: pd.DataFrame, item: str, visit: str, *, text: bool = False) -> pd.Series:
    """One value per participant of ``item`` at ``visit`` (the first repeat), by subject ID."""
    rows = vals[(vals["item"] == item) & (vals["visit"] == visit)].sort_values(
        ["subject_id", "repeat"]
    )
    rows = rows.drop_duplicates("subject_id")
    return rows.set_index("subject_id")["text" if text else "value"]


def endpoint_frame(tables: dict, protocol, analysis, *, population: str | None = None):
    """One row per participant of the analysis's population: ``subject_id``, ``arm``, the
    covariates, ``baseline`` (when the analysis has one) and ``outcome`` at ``analysis.visit``
    (missing stays missing: the model or the imputation decides what to do with it). For an
    analysis over ``visits`` (MMRM), long: one row per participant and visit with ``visit``.
    """
    pop = population or analysis.population
    if pop not in POPULATIONS:
        raise DatasetError(f"population = '{pop}' is not known; allowed: {', '.join(POPULATIONS)}")
    base = adsl(tables, protocol)
    vals = values(tables)
    used = {v for v in (analysis.visit, analysis.baseline_visit, *analysis.visits) if v}
    if pop == "per_protocol":
        deviated = deviations_at(tables, used)
        base = base[base["per_protocol"] & ~base["subject_id"].isin(deviated)]
    else:
        base = base[base[pop]]
    keep = ["subject_id", "arm", *analysis.covariates]
    missing = [c for c in analysis.covariates if c not in base.columns]
    if missing:
        raise DatasetError(
            f"covariates = {missing} are not stratification factors of the protocol; allowed: "
            f"{', '.join(protocol.stratification)}"
        )
    frame = base[keep].copy()
    if analysis.baseline:
        frame["baseline"] = frame["subject_id"].map(
            item_at(vals, analysis.baseline, analysis.baseline_visit)
        )
    if analysis.visits:
        long = []
        for visit in analysis.visits:
            part = frame.copy()
            part["visit"] = visit
            part["outcome"] = part["subject_id"].map(item_at(vals, analysis.outcome, visit))
            long.append(part)
        return pd.concat(long, ignore_index=True)
    text = analysis.method in ("fisher_exact", "chi_square", "logistic", "proportional_odds")
    frame["outcome"] = frame["subject_id"].map(
        item_at(vals, analysis.outcome, analysis.visit, text=text)
    )
    return frame.reset_index(drop=True)
