"""The statistical analysis plan executed on one snapshot: every analysis of the protocol's
``analyses`` section, the primary endpoint's sensitivity analyses and the group-sequential final
look, as one JSON-ready dict. Pure given (snapshot tables, protocol, seed, interim): no database
access, so the same inputs give the same bytes (``results_bytes``).

Methods (``core.analysis``, each checked against R in ``tests/core/analysis``):

- ``ancova``: ``lm(outcome ~ arm + baseline + strata)`` with emmeans adjusted means; for the
  primary analysis also multiple imputation of missing outcomes (``m`` = ``MI_IMPUTATIONS``,
  Bayesian normal linear regression, Rubin's rules), complete-case (the primary model itself:
  the ANCOVA uses complete rows) and per-protocol populations;
- ``mmrm``: ``nlme::gls`` with unstructured correlation and visit-specific variances (REML),
  the treatment effect at each visit;
- ``proportional_odds``: ``MASS::polr`` cumulative logit, common odds ratio;
- ``fisher_exact``: participants with at least one event (``ae.serious``: a serious AE) by arm,
  Fisher's exact test, risk difference (Newcombe) and relative risk;
- ``roc``: the marker against the protocol's reference standard: AUC, DeLong CI, Youden
  cut-off, sensitivity and specificity (Wilson), the quoted figures set beside;
- the primary endpoint's final look (``core.analysis.final_look``) when an interim was run.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from trialdesk.analyses import datasets as ds

MI_IMPUTATIONS = 100
#: Significant digits kept in the results JSON (the figures are stable well beyond this).
DIGITS = 12


class AnalysisError(ValueError):
    pass


def control_arm(protocol) -> str:
    """The comparator arm, as the DSMB's closed report chooses it."""
    from trialdesk.dsmb.report_data import control_arm as comparator

    return comparator(protocol, list(protocol.arms)) or list(protocol.arms)[-1]


def _levels(protocol) -> dict[str, list[str]]:
    """Factor level orders: the arm with the control first, then each stratification factor."""
    ctrl = control_arm(protocol)
    out = {"arm": [ctrl, *[a for a in protocol.arms if a != ctrl]]}
    for code, factor in protocol.stratification.items():
        out[code] = list(factor.levels)
    return out


def _usable_strata(frame: pd.DataFrame, covariates) -> list[str]:
    """Strata with at least two observed levels (a constant factor cannot be estimated)."""
    return [c for c in covariates if frame[c].dropna().nunique() >= 2]


def _run_ancova(frame, analysis, protocol, *, rng=None) -> dict:
    from trialdesk.core.analysis.ancova import ancova
    from trialdesk.core.analysis.imputation import multiple_imputation_ancova

    strata = _usable_strata(frame, analysis.covariates)
    common = {
        "outcome": "outcome",
        "arm": "arm",
        "control": control_arm(protocol),
        "baseline": "baseline" if analysis.baseline else None,
        "strata": strata,
        "levels": {k: v for k, v in _levels(protocol).items() if k in ("arm", *strata)},
    }
    fit = ancova(frame, **common)
    used = frame.dropna(subset=["outcome", *(["baseline"] if analysis.baseline else []), *strata])
    out = {
        "model": fit.to_dict(),
        "summary": fit.summary(),
        "strata_used": strata,
        "n_by_arm": {str(k): int(v) for k, v in used.groupby("arm").size().items()},
    }
    if rng is not None and frame["outcome"].isna().any():
        try:
            mi = multiple_imputation_ancova(frame, rng=rng, m=MI_IMPUTATIONS, **common)
            out["multiple_imputation"] = mi.to_dict()
        except ValueError as exc:
            out["multiple_imputation"] = {"not_estimable": str(exc)}
    return out


def qpcr_check(tables: dict, protocol, analysis) -> dict:
    """The outcome recomputed from the raw Ct values (``core.analysis.qpcr``): per
    participant the ΔCt at the baseline and analysis visits and the log2 fold change, whether a
    Ct is censored (above the detection limit: the change is then a bound, not a value) or a
    sample hemolysed, and how far the stored (derived) outcome is from the recomputation."""
    from trialdesk.core.analysis import qpcr

    spec = analysis.qpcr
    vals = ds.values(tables)
    names = {spec.target: qpcr.TARGET}
    names.update({n: f"normaliser {i}" for i, n in enumerate(spec.normalisers)})
    if spec.hemolysis:
        names[spec.hemolysis[0]] = qpcr.HEMOLYSIS_HIGH
        names[spec.hemolysis[1]] = qpcr.HEMOLYSIS_LOW
    normalisers = [names[n] for n in spec.normalisers]

    def sample(subject: str, visit: str):
        ct = {}
        for item, assay in names.items():
            value = ds.item_at(vals, item, visit).get(subject)
            ct[assay] = [] if value is None or value != value else [float(value)]
        if not ct[qpcr.TARGET] and not ct[normalisers[0]]:
            return None
        return qpcr.analyse_sample(sample_id=f"{subject} {visit}", ct=ct, normalisers=normalisers)

    stored = ds.item_at(vals, analysis.outcome, analysis.visit)
    rows, excluded = [], []
    for subject in sorted(set(vals.loc[vals["item"] == spec.target, "subject_id"])):
        base, at = sample(subject, analysis.baseline_visit), sample(subject, analysis.visit)
        if base is None or at is None:
            continue
        fc = qpcr.fold_change(sample=at, baseline=base)
        have = stored.get(subject)
        exact = fc.log2_fold_change.exact
        diff = None if have is None or not exact else abs(have - fc.log2_fold_change.value)
        rows.append(
            {
                "subject_id": subject,
                "status": fc.status,
                "log2_fold_change": fc.log2_fold_change.to_dict(),
                "hemolysed": fc.hemolysed,
                "stored": have,
                "difference_from_stored": diff,
                "reasons": list(fc.reasons),
            }
        )
        if fc.status != qpcr.ESTIMATED or fc.hemolysed:
            excluded.append(subject)
    diffs = [r["difference_from_stored"] for r in rows if r["difference_from_stored"] is not None]
    return {
        "n": len(rows),
        "censored": sum(r["status"] == qpcr.CENSORED for r in rows),
        "hemolysed": sum(r["hemolysed"] for r in rows),
        "not_estimable": sum(r["status"] == qpcr.NOT_ESTIMABLE for r in rows),
        "max_difference_from_stored": max(diffs) if diffs else None,
        "flagged": [r for r in rows if r["status"] != qpcr.ESTIMATED or r["hemolysed"]],
        "excluded_from_qc_clean": excluded,
        "rules": {
            "detection_limit_ct": qpcr.DEFAULT_RULES.detection_limit,
            "hemolysis_dcq_above": qpcr.DEFAULT_RULES.hemolysis_threshold,
        },
    }


def _run_mmrm(frame, analysis, protocol) -> dict:
    from trialdesk.core.analysis.mmrm import mmrm

    strata = _usable_strata(frame, analysis.covariates)
    visits = [v for v in analysis.visits if frame.loc[frame["visit"] == v, "outcome"].notna().any()]
    frame = frame[frame["visit"].isin(visits)]
    fit = mmrm(
        frame,
        outcome="outcome",
        arm="arm",
        control=control_arm(protocol),
        visit="visit",
        subject="subject_id",
        visits=visits,
        baseline="baseline" if analysis.baseline else None,
        strata=strata,
        levels={k: v for k, v in _levels(protocol).items() if k in ("arm", *strata)},
    )
    return {"model": fit.to_dict(), "summary": fit.summary(), "visits_used": visits}


def _run_ordinal(frame, analysis, protocol) -> dict:
    from trialdesk.core.analysis.ordinal import proportional_odds

    form, item = analysis.outcome.split(".", 1)
    field = protocol.form(form).fields[item]
    codes = list(protocol.codelist(field.codelist).items) if field.codelist else None
    present = set(frame["outcome"].dropna().astype(str))
    categories = [c for c in codes if c in present] if codes else None
    frame = frame.assign(outcome=frame["outcome"].map(lambda x: None if x is None else str(x)))
    if categories is not None and len(categories) < 2:
        return {"not_estimable": f"only {len(categories)} category observed at {analysis.visit}"}
    strata = _usable_strata(frame, analysis.covariates)
    fit = proportional_odds(
        frame,
        outcome="outcome",
        arm="arm",
        control=control_arm(protocol),
        strata=strata,
        categories=categories,
        levels={k: v for k, v in _levels(protocol).items() if k in ("arm", *strata)},
    )
    return {"model": fit.to_dict(), "summary": fit.summary(), "categories": categories}


def _run_safety_binary(tables, protocol, analysis) -> dict:
    from trialdesk.core.analysis.binary import binary_comparison

    base = ds.adsl(tables, protocol)
    base = base[base[analysis.population]]
    aes = pd.DataFrame(tables["adverse_events"])
    flag = analysis.outcome.split(".", 1)[1]  # ae.serious -> serious
    hit = set(aes.loc[aes[flag].astype(bool), "subject_id"]) if not aes.empty else set()
    frame = base[["subject_id", "arm"]].assign(
        outcome=base["subject_id"].map(lambda s: "yes" if s in hit else "no")
    )
    fit = binary_comparison(frame, outcome="outcome", arm="arm", control=control_arm(protocol))
    return {"model": fit.to_dict(), "summary": fit.summary()}


def _run_roc(tables, protocol, analysis) -> dict:
    from trialdesk.core.analysis.roc import (
        compare_with_quoted,
        optimal_cutoffs,
        performance_at,
        roc_from_response,
    )

    base = ds.adsl(tables, protocol)
    vals = ds.values(tables)
    marker = base["subject_id"].map(ds.item_at(vals, analysis.outcome, analysis.visit))
    ref = base["subject_id"].map(
        ds.item_at(vals, analysis.reference, analysis.reference_visit, text=True)
    )
    keep = marker.notna() & ref.isin(["yes", "no"])
    if keep.sum() < 4 or ref[keep].nunique() < 2:
        return {"not_estimable": "fewer than two participants in a reference group"}
    roc = roc_from_response(
        response=list(ref[keep]), predictor=list(marker[keep]), levels=("no", "yes")
    )
    cuts = optimal_cutoffs(roc=roc, method="youden")
    best = cuts[0]
    perf = performance_at(roc=roc, threshold=best.threshold)
    quoted = compare_with_quoted(roc=roc, threshold=best.threshold, threshold_from_data=True)
    lo, hi = roc.confidence_interval()
    return {
        "n_cases": len(roc.cases),
        "n_controls": len(roc.controls),
        "auc": roc.auc,
        "auc_ci": [lo, hi],
        "direction": roc.direction,
        "youden": [c.to_dict() for c in cuts],
        "at_youden": perf.to_dict(),
        "quoted": quoted.to_dict(),
        "curve": {
            "fpr": [1.0 - s for s in roc.specificities],
            "tpr": list(roc.sensitivities),
        },
        "summary": f"AUC {roc.auc:.3f} (95 % CI {lo:.3f} to {hi:.3f}), "
        f"{len(roc.cases)} cases, {len(roc.controls)} controls",
    }


def _final_look(primary: dict, interim: dict | None, protocol) -> dict | None:
    """The primary ANCOVA's difference at the final look (when an interim was run)."""
    if interim is None or protocol.interim is None or protocol.sample_size is None:
        return None
    from trialdesk.core.analysis.final_look import final_look
    from trialdesk.core.sequential.planned import monitoring_design

    ss, plan = protocol.sample_size, protocol.interim
    design, _converted = monitoring_design(
        information_fractions=plan.information_fractions,
        alpha=ss.alpha,
        sided=ss.sides,
        power=ss.power,
        efficacy_spending=plan.efficacy_spending,
        futility_spending=plan.futility_spending,
        binding=bool(plan.binding_futility),
    )
    diff = primary["model"]["differences"][0]
    n_final = primary["model"]["n"]
    if interim["n"] >= n_final:
        return {"not_estimable": "the final analysis has no more participants than the interim"}
    look = final_look(
        design=design,
        n_interim=interim["n"],
        n_final=n_final,
        z=diff["statistic"],
        estimate=diff["estimate"],
        standard_error=diff["standard_error"],
        interim_z=interim["z"],
    )
    return {**look.to_dict(), "summary": look.summary()}


def run_plan(
    tables: dict, protocol, *, seed: int, interim: dict | None = None, on_step=None
) -> dict:
    """Every analysis of ``protocol.analyses`` on the snapshot ``tables``; ``on_step(code)`` is
    called before each (a progress bar)."""
    rng = np.random.default_rng(seed)
    results: dict[str, Any] = {}
    base = ds.adsl(tables, protocol)
    results["populations"] = {
        pop: {
            arm: int(base.loc[base[pop] & (base["arm"] == arm)].shape[0]) for arm in protocol.arms
        }
        for pop in ds.POPULATIONS
    }
    analyses: dict[str, Any] = {}
    for code, analysis in protocol.analyses.items():
        if on_step is not None:
            on_step(code)
        try:
            analyses[code] = _one(code, analysis, tables, protocol, rng)
        except ValueError as exc:  # the core's DesignInputError, a dataset error
            analyses[code] = {"not_estimable": str(exc)}
        analyses[code]["method"] = analysis.method
        analyses[code]["population"] = analysis.population
        analyses[code]["description"] = analysis.description
    results["analyses"] = analyses
    primary = next(
        (
            c
            for c, a in protocol.analyses.items()
            if protocol.endpoints[a.endpoint].kind == "primary"
        ),
        None,
    )
    results["primary"] = primary
    if primary and "model" in analyses[primary]:
        results["final_look"] = _final_look(analyses[primary], interim, protocol)
    return results


def _one(code, analysis, tables, protocol, rng) -> dict:
    primary = protocol.endpoints[analysis.endpoint].kind == "primary"
    if analysis.method == "ancova":
        frame = ds.endpoint_frame(tables, protocol, analysis)
        qc = qpcr_check(tables, protocol, analysis) if primary and analysis.qpcr else None
        if qc is not None:
            # a censored Ct makes the change a bound, not a value: missing for the model (the
            # imputation analysis covers it), listed in the results, never silently dropped
            censored = {r["subject_id"] for r in qc["flagged"] if r["status"] != "estimated"}
            frame.loc[frame["subject_id"].isin(censored), "outcome"] = float("nan")
            qc["set_missing"] = sorted(censored)
        out = _run_ancova(frame, analysis, protocol, rng=rng if primary else None)
        if primary:
            pp = ds.endpoint_frame(tables, protocol, analysis, population="per_protocol")
            try:
                out["per_protocol"] = _run_ancova(pp, analysis, protocol)["model"]
            except ValueError as exc:
                out["per_protocol"] = {"not_estimable": f"{len(pp)} participants: {exc}"}
            if qc is not None:
                out["qpcr"] = qc
                clean = frame[~frame["subject_id"].isin(qc["excluded_from_qc_clean"])]
                if qc["excluded_from_qc_clean"]:
                    try:
                        out["qc_clean"] = _run_ancova(clean, analysis, protocol)["model"]
                    except ValueError as exc:
                        out["qc_clean"] = {"not_estimable": str(exc)}
            out["complete_case_note"] = (
                "the primary ANCOVA is itself the complete-case analysis (rows with a missing "
                "outcome or covariate are left out); multiple imputation is the sensitivity "
                "analysis for missing outcomes"
            )
        return out
    if analysis.method == "mmrm":
        return _run_mmrm(ds.endpoint_frame(tables, protocol, analysis), analysis, protocol)
    if analysis.method == "proportional_odds":
        return _run_ordinal(ds.endpoint_frame(tables, protocol, analysis), analysis, protocol)
    if analysis.method == "fisher_exact" and analysis.outcome.startswith("ae."):
        return _run_safety_binary(tables, protocol, analysis)
    if analysis.method == "roc":
        return _run_roc(tables, protocol, analysis)
    return {"not_estimable": f"method {analysis.method!r} is not run by the analysis plan yet"}


def _round(x: Any) -> Any:
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        return float(f"{x:.{DIGITS}g}")
    if isinstance(x, dict):
        return {str(k): _round(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_round(v) for v in x]
    if isinstance(x, np.floating | np.integer | np.bool_):
        return _round(x.item())
    return x


def results_bytes(results: dict) -> bytes:
    """The results JSON as written: sorted keys, 2-space indent, floats to 12 significant
    digits, UTF-8, final newline — byte-identical for identical inputs."""
    text = json.dumps(_round(results), sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode()
