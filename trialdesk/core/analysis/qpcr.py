"""Plasma miR-126-3p by RT-qPCR: from raw Ct replicates to the log2 fold change from baseline.

The rules (every threshold is a field of :class:`QpcrRules`; defaults from
``/work/shared/notes/clinical.md`` §F8, which marks them [convention] / [proposed] until the
protocol fixes them):

1. **Replicates.** A numeric Ct outside ``ct_range`` (5-45 cycles) is dropped as a keying or
   instrument error. ``"Undetermined"`` (or None / NaN: no amplification) and ``"failed"``
   (the well failed the instrument's QC) are dropped from the mean, each with its reason.
   The Ct of the target is the arithmetic mean of the kept replicates; their sample SD
   (n - 1) above ``max_replicate_sd`` (0.5 cycles) **flags** the sample for a repeat run but
   keeps the mean. One kept replicate: the spread cannot be checked (said so).
2. **Detection limit.** A mean Ct above ``detection_limit`` (35 cycles, or the assay's LOQ) is
   **censored**: the true Ct is only known to be at least the limit, and the result carries
   that lower bound (never 0, never dropped). No amplified replicate at all, with at least one
   "Undetermined", is censored the same way. No usable replicate (all failed or out of range)
   is missing, with the reason.
3. **Normalisation.** ΔCt = Ct(miR-126-3p) - Ct(normaliser), the normaliser being the
   cel-miR-39 spike-in, or the mean Ct of several normalisers (e.g. cel-miR-39 and miR-16-5p:
   the arithmetic mean of Ct is the geometric mean of quantities). A normaliser that is not
   measured (censored or missing) leaves ΔCt not computed (the spike-in failing to amplify is
   an extraction failure). Optionally the spike-in is compared with its plate median: a
   deviation above ``spike_in_max_deviation`` (2 cycles) is flagged as a likely extraction
   failure.
4. **Change from baseline.** ΔΔCt = ΔCt(sample) - ΔCt(the participant's own day-0 sample);
   log2 fold change = -ΔΔCt (the scale analysed: symmetric, closer to normal); fold change =
   2^-ΔΔCt. Bounds propagate: a censored target Ct makes ΔCt a lower bound, so ΔΔCt a lower
   bound and the log2 fold change an **upper** bound; a censored baseline gives a lower bound
   on the log2 fold change; both censored: not estimable.
5. **Hemolysis.** ΔCq = Ct(miR-23a-3p) - Ct(miR-451a): above ``hemolysis_threshold`` (7) the
   sample is hemolysed; from ``hemolysis_moderate`` (5) to 7 moderate risk; below 5
   acceptable. A hemolysed sample is flagged (or, with ``exclude_hemolysed``, its fold change
   is not reported). miR-16 is itself hemolysis-sensitive, which a result using it says.

Every result lists the reasons for what it reports.

References
----------
Livak KJ, Schmittgen TD. Analysis of relative gene expression data using real-time
quantitative PCR and the 2^-ΔΔCT method. *Methods* 2001;25:402-408.
Blondal T, et al. Assessing sample and miRNA profile quality in serum and plasma or other
biofluids. *Methods* 2013;59:S1-S6 (ΔCq miR-23a - miR-451a > 7: hemolysis risk).
Kirschner MB, et al. Haemolysis during sample preparation alters microRNA content of plasma.
*PLoS One* 2011;6:e24145 (miR-16 and miR-451 rise with hemolysis).
Bustin SA, et al. The MIQE guidelines. *Clin Chem* 2009;55:611-622.
"""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from trialdesk.core.design import _validate as v

TARGET = "miR-126-3p"
SPIKE_IN = "cel-miR-39"
ENDOGENOUS_REFERENCE = "miR-16-5p"
HEMOLYSIS_HIGH = "miR-23a-3p"  # stable in red cells' absence: Ct(23a) - Ct(451a)
HEMOLYSIS_LOW = "miR-451a"  # red-cell miRNA: rises (lower Ct) with hemolysis

UNDETERMINED = "undetermined"
FAILED = "failed"

Replicate = float | str | None

# statuses
MEASURED = "measured"
CENSORED = "censored"
MISSING = "missing"


def _finite(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise v.reject(name, value, f"{name} must be a number of cycles") from None
    if not math.isfinite(x):
        raise v.reject(name, value, f"{name} must be a finite number of cycles")
    return x


@dataclass(frozen=True, kw_only=True)
class QpcrRules:
    """The thresholds of the Ct rules (module docstring). All in cycles."""

    detection_limit: float = 35.0
    max_replicate_sd: float = 0.5
    ct_range: tuple[float, float] = (5.0, 45.0)
    hemolysis_threshold: float = 7.0
    hemolysis_moderate: float = 5.0
    spike_in_max_deviation: float = 2.0
    exclude_hemolysed: bool = False

    def __post_init__(self) -> None:
        lo, hi = (_finite("ct_range", x) for x in self.ct_range)
        if not lo < hi:
            raise v.reject(
                "ct_range", self.ct_range, "give (lowest, highest) with lowest < highest"
            )
        if not lo < _finite("detection_limit", self.detection_limit) <= hi:
            raise v.reject(
                "detection_limit", self.detection_limit, f"a Ct inside ct_range ({lo:g}, {hi:g}]"
            )
        v.positive("max_replicate_sd", self.max_replicate_sd)
        v.positive("spike_in_max_deviation", self.spike_in_max_deviation)
        if not _finite("hemolysis_moderate", self.hemolysis_moderate) < _finite(
            "hemolysis_threshold", self.hemolysis_threshold
        ):
            raise v.reject(
                "hemolysis_moderate",
                self.hemolysis_moderate,
                f"must be below hemolysis_threshold = {self.hemolysis_threshold:g}",
            )


DEFAULT_RULES = QpcrRules()


# --- values known exactly or as a bound ------------------------------------------------------


@dataclass(frozen=True)
class Bounded:
    """A quantity known exactly, only as a bound (censored), or not at all.

    ``bound`` is None for an exact value, ``"lower"`` when the true value is at least
    ``value``, ``"upper"`` when it is at most ``value``; ``value`` is None when nothing is
    known (not estimable).
    """

    value: float | None
    bound: str | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    @property
    def censored(self) -> bool:
        return self.value is not None and self.bound is not None

    @property
    def exact(self) -> bool:
        return self.value is not None and self.bound is None

    def __neg__(self) -> Bounded:
        if self.value is None:
            return UNKNOWN
        return Bounded(-self.value, _FLIP.get(self.bound) if self.bound else None)

    def __sub__(self, other: Bounded) -> Bounded:
        """a - b: lower - exact = lower, exact - lower = upper, lower - upper = lower, ...;
        two bounds in the same direction leave nothing known."""
        if self.value is None or other.value is None:
            return UNKNOWN
        b = other.bound and _FLIP[other.bound]
        if self.bound and b and self.bound != b:
            return UNKNOWN
        return Bounded(self.value - other.value, self.bound or b)

    def transformed(self, fn: Callable[[float], float]) -> Bounded:
        """Apply an increasing function (keeps the bound's direction)."""
        if self.value is None:
            return UNKNOWN
        return Bounded(fn(self.value), self.bound)

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return "not estimable"
        sign = {None: "", "lower": ">= ", "upper": "<= "}[self.bound]
        return f"{sign}{self.value:.{digits}f}"

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "censored": self.censored, "bound": self.bound}


_FLIP = {"lower": "upper", "upper": "lower"}
UNKNOWN = Bounded(None, None)


# --- replicates ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReplicateSummary:
    """The Ct of one target in one sample, from its replicates.

    Attributes
    ----------
    target : str
    replicates : tuple
        The raw replicates as given.
    used : tuple[float, ...]
        Replicates kept for the mean.
    ct : Bounded
        Mean Ct; when censored, the lower bound (the detection limit); unknown when missing.
    sd : float or None
        Sample SD of the kept replicates (two or more).
    status : str
        ``"measured"``, ``"censored"`` or ``"missing"``.
    spread_flag : bool
        SD above ``max_replicate_sd``: repeat the assay.
    reasons : tuple[str, ...]
    """

    target: str
    replicates: tuple[Replicate, ...]
    used: tuple[float, ...]
    ct: Bounded
    sd: float | None
    status: str
    spread_flag: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "replicates": [_raw_json(r) for r in self.replicates],
            "used": list(self.used),
            "ct": self.ct.to_dict(),
            "sd": self.sd,
            "status": self.status,
            "spread_flag": self.spread_flag,
            "reasons": list(self.reasons),
        }

    def summary(self) -> str:
        sd = "" if self.sd is None else f", SD {self.sd:.3f}"
        head = f"{self.target}: Ct {self.ct.text()} ({self.status}, n = {len(self.used)}{sd})"
        return "\n".join([head, *(f"  - {r}" for r in self.reasons)])


def summarise_replicates(
    *, target: str, replicates: Sequence[Replicate], rules: QpcrRules = DEFAULT_RULES
) -> ReplicateSummary:
    """Mean Ct of one target's replicates under the replicate and detection-limit rules."""
    if isinstance(replicates, str | bytes) or not hasattr(replicates, "__len__"):
        raise v.reject(f"ct[{target!r}]", replicates, "a list of replicate Ct values")
    if len(replicates) == 0:
        raise v.reject(
            f"ct[{target!r}]", [], "at least one replicate (a number, 'Undetermined', 'failed')"
        )
    used: list[float] = []
    reasons: list[str] = []
    undetermined = 0
    for i, raw in enumerate(replicates, start=1):
        kind, value = _parse(target, i, raw)
        if kind == "number" and value is not None:
            lo, hi = rules.ct_range
            if lo <= value <= hi:
                used.append(value)
                continue
            reasons.append(f"replicate {i} = {value:g} is outside {lo:g}-{hi:g} cycles: dropped")
        elif kind == UNDETERMINED:
            undetermined += 1
            reasons.append(f"replicate {i} undetermined (no amplification): dropped from the mean")
        else:
            reasons.append(f"replicate {i} failed (well QC): dropped")
    return _summary(target, tuple(replicates), used, undetermined, reasons, rules)


def _parse(target: str, i: int, raw: Replicate) -> tuple[str, float | None]:
    if raw is None:
        return UNDETERMINED, None
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word == UNDETERMINED:
            return UNDETERMINED, None
        if word == FAILED:
            return FAILED, None
        try:
            raw = float(word)
        except ValueError:
            raise v.reject(
                f"ct[{target!r}][{i - 1}]",
                raw,
                "a Ct number, 'Undetermined' (no amplification) or 'failed' (well QC)",
            ) from None
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        raise v.reject(f"ct[{target!r}][{i - 1}]", raw, "a Ct number, 'Undetermined' or 'failed'")
    value = float(raw)
    if math.isnan(value):
        return UNDETERMINED, None
    return "number", value


def _summary(
    target: str,
    replicates: tuple[Replicate, ...],
    used: list[float],
    undetermined: int,
    reasons: list[str],
    rules: QpcrRules,
) -> ReplicateSummary:
    limit = rules.detection_limit
    if not used:
        if undetermined:
            reasons.append(
                f"no replicate amplified: Ct censored at the detection limit (Ct >= {limit:g})"
            )
            return _replicates(target, replicates, used, Bounded(limit, "lower"), None,
                               CENSORED, False, reasons)  # fmt: skip
        reasons.append("no usable replicate: Ct missing")
        return _replicates(target, replicates, used, UNKNOWN, None, MISSING, False, reasons)
    mean = math.fsum(used) / len(used)
    sd = statistics.stdev(used) if len(used) > 1 else None
    spread = sd is not None and sd > rules.max_replicate_sd
    if sd is None:
        reasons.append("one usable replicate: the spread cannot be checked")
    elif spread:
        reasons.append(
            f"replicate SD {sd:.3f} > {rules.max_replicate_sd:g} cycles: flagged for a repeat run"
        )
    if mean > limit:
        reasons.append(
            f"mean Ct {mean:.2f} > detection limit {limit:g}: censored (true Ct >= {limit:g})"
        )
        return _replicates(target, replicates, used, Bounded(limit, "lower"), sd, CENSORED,
                           spread, reasons)  # fmt: skip
    return _replicates(target, replicates, used, Bounded(mean), sd, MEASURED, spread, reasons)


def _replicates(
    target: str,
    replicates: tuple[Replicate, ...],
    used: list[float],
    ct: Bounded,
    sd: float | None,
    status: str,
    spread: bool,
    reasons: list[str],
) -> ReplicateSummary:
    return ReplicateSummary(
        target=target,
        replicates=replicates,
        used=tuple(used),
        ct=ct,
        sd=sd,
        status=status,
        spread_flag=spread,
        reasons=tuple(reasons),
    )


# --- hemolysis -------------------------------------------------------------------------------

HEMOLYSED = "hemolysed"
MODERATE = "moderate risk"
ACCEPTABLE = "acceptable"
INDETERMINATE = "indeterminate"


@dataclass(frozen=True, kw_only=True)
class HemolysisResult:
    """ΔCq = Ct(miR-23a-3p) - Ct(miR-451a) and its category."""

    delta_cq: Bounded
    category: str
    reasons: tuple[str, ...]

    @property
    def hemolysed(self) -> bool:
        return self.category == HEMOLYSED

    def to_dict(self) -> dict[str, object]:
        return {
            "delta_cq": self.delta_cq.to_dict(),
            "category": self.category,
            "hemolysed": self.hemolysed,
            "reasons": list(self.reasons),
        }


def hemolysis_check(
    *, mir23a: Bounded, mir451a: Bounded, rules: QpcrRules = DEFAULT_RULES
) -> HemolysisResult:
    """Classify ΔCq(miR-23a - miR-451a): > threshold hemolysed, moderate..threshold moderate
    risk, below moderate acceptable; a bound decides only when it settles the category."""
    d = mir23a - mir451a
    hi, mid = rules.hemolysis_threshold, rules.hemolysis_moderate
    category = _hemolysis_category(d, hi, mid)
    rule = f"ΔCq(miR-23a - miR-451a) {d.text()}"
    reasons = {
        HEMOLYSED: f"{rule} > {hi:g}: hemolysed",
        MODERATE: f"{rule} in {mid:g}-{hi:g}: moderate hemolysis risk",
        ACCEPTABLE: f"{rule} < {mid:g}: acceptable",
        INDETERMINATE: f"{rule}: hemolysis cannot be classified (a marker is censored or missing)",
    }
    return HemolysisResult(delta_cq=d, category=category, reasons=(reasons[category],))


def _hemolysis_category(d: Bounded, hi: float, mid: float) -> str:
    if d.value is None:
        return INDETERMINATE
    x = d.value
    if d.bound is None:
        return HEMOLYSED if x > hi else MODERATE if x >= mid else ACCEPTABLE
    if d.bound == "lower" and x > hi:
        return HEMOLYSED
    if d.bound == "upper" and x < mid:
        return ACCEPTABLE
    return INDETERMINATE


# --- one sample ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SampleQpcr:
    """One plasma sample: target and normaliser Ct, ΔCt, hemolysis and spike-in checks.

    Attributes
    ----------
    sample_id : str
    target : str
    normalisers : tuple[str, ...]
    replicates : dict[str, ReplicateSummary]
        Every assay given, by name.
    normaliser_ct : Bounded
        Mean Ct of the normalisers (unknown unless all are measured).
    delta_ct : Bounded
        Ct(target) - Ct(normaliser).
    hemolysis : HemolysisResult or None
        None when miR-23a-3p and miR-451a were not both run.
    spike_in_deviation : float or None
        Spike-in Ct minus the plate median, when the median was given.
    reasons : tuple[str, ...]
        Sample-level reasons (the per-assay reasons are in ``replicates``).
    """

    sample_id: str
    target: str
    normalisers: tuple[str, ...]
    replicates: dict[str, ReplicateSummary]
    normaliser_ct: Bounded
    delta_ct: Bounded
    hemolysis: HemolysisResult | None
    spike_in_deviation: float | None
    reasons: tuple[str, ...]

    @property
    def flags(self) -> tuple[str, ...]:
        """Every reason of the sample and of the target and normaliser assays."""
        names = (self.target, *self.normalisers)
        return tuple(r for n in names for r in self.replicates[n].reasons) + self.reasons

    def to_dict(self) -> dict[str, object]:
        return {
            "sample_id": self.sample_id,
            "target": self.target,
            "normalisers": list(self.normalisers),
            "replicates": {k: r.to_dict() for k, r in self.replicates.items()},
            "normaliser_ct": self.normaliser_ct.to_dict(),
            "delta_ct": self.delta_ct.to_dict(),
            "hemolysis": None if self.hemolysis is None else self.hemolysis.to_dict(),
            "spike_in_deviation": self.spike_in_deviation,
            "reasons": list(self.reasons),
        }

    def summary(self) -> str:
        lines = [
            f"sample {self.sample_id}: ΔCt {self.delta_ct.text()} ({self.target} - "
            f"{' + '.join(self.normalisers)})",
            *(r.summary() for r in self.replicates.values()),
        ]
        return "\n".join(lines + [f"- {r}" for r in self.reasons])


def analyse_sample(
    *,
    sample_id: str,
    ct: Mapping[str, Sequence[Replicate]],
    target: str = TARGET,
    normalisers: Sequence[str] = (SPIKE_IN,),
    rules: QpcrRules = DEFAULT_RULES,
    spike_in_plate_median: float | None = None,
) -> SampleQpcr:
    """ΔCt of one sample from raw replicate Cts.

    Parameters
    ----------
    sample_id : str
    ct : mapping assay name -> replicates
        E.g. ``{"miR-126-3p": [30.1, 30.3, "Undetermined"], "cel-miR-39": [20.0, 20.1],
        "miR-23a-3p": [...], "miR-451a": [...]}``. A replicate is a Ct number,
        ``"Undetermined"``/None/NaN (no amplification) or ``"failed"`` (well QC).
    target : str
        The assay analysed (miR-126-3p).
    normalisers : sequence of str
        The protocol's normaliser(s): cel-miR-39 alone, or with miR-16-5p (mean Ct).
    rules : QpcrRules
    spike_in_plate_median : float, optional
        Plate median of the cel-miR-39 Ct, to flag extraction failures.
    """
    norms = _normaliser_names(normalisers, target)
    _require(ct, (target, *norms))
    summaries = {
        name: summarise_replicates(target=name, replicates=reps, rules=rules)
        for name, reps in ct.items()
    }
    reasons: list[str] = []
    norm_ct = _normaliser_ct([summaries[n] for n in norms], reasons)
    delta = summaries[target].ct - norm_ct if norm_ct.known else UNKNOWN
    if not summaries[target].ct.known:
        reasons.append(f"{target} Ct missing: ΔCt not computed")
    elif delta.censored:
        reasons.append(f"{target} censored: ΔCt is a lower bound ({delta.text()})")
    hemolysis = _hemolysis(summaries, rules)
    if hemolysis is not None:
        reasons.extend(hemolysis.reasons)
        if ENDOGENOUS_REFERENCE in norms and hemolysis.category in (HEMOLYSED, MODERATE):
            reasons.append(
                f"{ENDOGENOUS_REFERENCE} is hemolysis-sensitive: the normaliser is affected"
            )
    deviation = _spike_in(summaries, spike_in_plate_median, rules, reasons)
    return SampleQpcr(
        sample_id=str(sample_id),
        target=target,
        normalisers=norms,
        replicates=summaries,
        normaliser_ct=norm_ct,
        delta_ct=delta,
        hemolysis=hemolysis,
        spike_in_deviation=deviation,
        reasons=tuple(reasons),
    )


def _normaliser_names(normalisers: Sequence[str], target: str) -> tuple[str, ...]:
    if isinstance(normalisers, str):
        normalisers = (normalisers,)
    norms = tuple(normalisers)
    if not norms or len(set(norms)) != len(norms) or target in norms:
        raise v.reject(
            "normalisers",
            list(norms),
            f"one or more distinct assays other than the target {target!r}",
        )
    return norms


def _require(ct: Mapping[str, Sequence[Replicate]], names: Sequence[str]) -> None:
    if not isinstance(ct, Mapping):
        raise v.reject("ct", type(ct).__name__, "a mapping of assay name to replicate Cts")
    missing = [n for n in names if n not in ct]
    if missing:
        raise v.reject("ct", sorted(ct), f"the assays {missing} are needed (give their replicates)")


def _normaliser_ct(summaries: list[ReplicateSummary], reasons: list[str]) -> Bounded:
    bad = [s.target for s in summaries if not s.ct.exact]
    if bad:
        reasons.append(
            f"normaliser {', '.join(bad)} not measured (censored or missing; a spike-in that "
            "does not amplify means an extraction failure): ΔCt not computed"
        )
        return UNKNOWN
    values = [s.ct.value for s in summaries if s.ct.value is not None]
    return Bounded(math.fsum(values) / len(values))


def _hemolysis(
    summaries: Mapping[str, ReplicateSummary], rules: QpcrRules
) -> HemolysisResult | None:
    if HEMOLYSIS_HIGH not in summaries or HEMOLYSIS_LOW not in summaries:
        return None
    return hemolysis_check(
        mir23a=summaries[HEMOLYSIS_HIGH].ct, mir451a=summaries[HEMOLYSIS_LOW].ct, rules=rules
    )


def _spike_in(
    summaries: Mapping[str, ReplicateSummary],
    plate_median: float | None,
    rules: QpcrRules,
    reasons: list[str],
) -> float | None:
    if plate_median is None:
        return None
    median = _finite("spike_in_plate_median", plate_median)
    spike = summaries.get(SPIKE_IN)
    if spike is None or not spike.ct.exact or spike.ct.value is None:
        return None
    deviation = spike.ct.value - median
    if abs(deviation) > rules.spike_in_max_deviation:
        reasons.append(
            f"{SPIKE_IN} Ct deviates {deviation:+.2f} cycles from the plate median "
            f"(> {rules.spike_in_max_deviation:g}): extraction failure flag"
        )
    return deviation


# --- change from baseline --------------------------------------------------------------------

ESTIMATED = "estimated"
NOT_ESTIMABLE = "not estimable"
EXCLUDED = "excluded"


@dataclass(frozen=True, kw_only=True)
class FoldChangeResult:
    """Change of miR-126-3p from the participant's day-0 sample.

    Attributes
    ----------
    sample, baseline : SampleQpcr
    delta_delta_ct : Bounded
        ΔCt(sample) - ΔCt(baseline).
    log2_fold_change : Bounded
        -ΔΔCt, the scale analysed (an upper bound when the sample's target is censored).
    fold_change : Bounded
        2^-ΔΔCt.
    status : str
        ``"estimated"``, ``"censored"`` (a bound only), ``"not estimable"`` or ``"excluded"``
        (hemolysed, with ``exclude_hemolysed``).
    hemolysed : bool
        Either sample classified hemolysed.
    reasons : tuple[str, ...]
        Why, including the samples' own reasons.
    """

    sample: SampleQpcr = field(repr=False)
    baseline: SampleQpcr = field(repr=False)
    delta_delta_ct: Bounded
    log2_fold_change: Bounded
    fold_change: Bounded
    status: str
    hemolysed: bool
    reasons: tuple[str, ...]

    @property
    def censored(self) -> bool:
        return self.status == CENSORED

    def to_dict(self) -> dict[str, object]:
        return {
            "sample_id": self.sample.sample_id,
            "baseline_id": self.baseline.sample_id,
            "delta_ct": self.sample.delta_ct.to_dict(),
            "baseline_delta_ct": self.baseline.delta_ct.to_dict(),
            "delta_delta_ct": self.delta_delta_ct.to_dict(),
            "log2_fold_change": self.log2_fold_change.to_dict(),
            "fold_change": self.fold_change.to_dict(),
            "status": self.status,
            "censored": self.censored,
            "hemolysed": self.hemolysed,
            "reasons": list(self.reasons),
        }

    def summary(self) -> str:
        lines = [
            f"{self.sample.target} {self.sample.sample_id} vs baseline {self.baseline.sample_id}:"
            f" ΔΔCt {self.delta_delta_ct.text()}, log2 fold change "
            f"{self.log2_fold_change.text()}, fold change {self.fold_change.text(3)} "
            f"({self.status})",
        ]
        return "\n".join(lines + [f"- {r}" for r in self.reasons])


def fold_change(
    *, sample: SampleQpcr, baseline: SampleQpcr, rules: QpcrRules = DEFAULT_RULES
) -> FoldChangeResult:
    """ΔΔCt, log2 fold change (= -ΔΔCt) and 2^-ΔΔCt against the participant's baseline."""
    if (sample.target, sample.normalisers) != (baseline.target, baseline.normalisers):
        raise v.reject(
            "baseline",
            (baseline.target, list(baseline.normalisers)),
            f"the same target and normalisers as the sample "
            f"({sample.target!r}, {list(sample.normalisers)})",
        )
    reasons = [f"sample: {r}" for r in sample.flags] + [f"baseline: {r}" for r in baseline.flags]
    ddct = sample.delta_ct - baseline.delta_ct
    hemolysed = any(s.hemolysis is not None and s.hemolysis.hemolysed for s in (sample, baseline))
    status = _fold_status(sample, baseline, ddct, reasons)
    if hemolysed and rules.exclude_hemolysed:
        reasons.append("a sample is hemolysed and the rules exclude hemolysed samples")
        status, ddct = EXCLUDED, UNKNOWN
    elif hemolysed:
        reasons.append("a sample is hemolysed: the fold change is reported but flagged")
    log2fc = -ddct
    return FoldChangeResult(
        sample=sample,
        baseline=baseline,
        delta_delta_ct=ddct,
        log2_fold_change=log2fc,
        fold_change=log2fc.transformed(lambda x: 2.0**x),
        status=status,
        hemolysed=hemolysed,
        reasons=tuple(reasons),
    )


def _fold_status(
    sample: SampleQpcr, baseline: SampleQpcr, ddct: Bounded, reasons: list[str]
) -> str:
    if ddct.exact:
        return ESTIMATED
    if ddct.censored:
        which = "upper" if ddct.bound == "lower" else "lower"
        reasons.append(f"censored Ct: the log2 fold change is an {which} bound ({(-ddct).text()})")
        return CENSORED
    if sample.delta_ct.censored and baseline.delta_ct.censored:
        reasons.append("both samples censored: the change is not estimable")
    else:
        reasons.append("ΔCt missing in a sample: the change is not estimable")
    return NOT_ESTIMABLE


# --- helpers ---------------------------------------------------------------------------------


def _raw_json(r: Replicate) -> float | str | None:
    if isinstance(r, numbers.Real) and not isinstance(r, bool):
        x = float(r)
        return None if math.isnan(x) else x
    return r
