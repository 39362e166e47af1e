"""miR-126-3p from raw Ct: hand-computed examples (replicates, censoring, ΔΔCt, hemolysis).

The worked examples (all Ct in cycles):

baseline (day 0)  miR-126-3p 30.1, 30.3, 30.2 -> 30.2 (SD 0.1); cel-miR-39 20.0, 20.1, 20.2
                  -> 20.1; ΔCt = 10.1; miR-23a 24.0, 24.2 -> 24.1, miR-451a 19.0, 19.2 -> 19.1:
                  ΔCq 5.0 -> moderate risk (5-7 inclusive)
day 7             miR-126-3p 29.0, Undetermined, 29.2 -> 29.1 (one replicate dropped);
                  cel-miR-39 20.3, 20.5 -> 20.4; ΔCt = 8.7; ΔΔCt = 8.7 - 10.1 = -1.4;
                  log2 FC = 1.4; FC = 2^1.4 = 2.6390
day 7, censored   miR-126-3p 35.8, 36.4 -> mean 36.1 > 35: Ct >= 35; ΔCt >= 35 - 20.4 = 14.6;
                  ΔΔCt >= 4.5; log2 FC <= -4.5; FC <= 2^-4.5 = 0.04419
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trialdesk.core.analysis.qpcr import (
    ACCEPTABLE,
    CENSORED,
    ENDOGENOUS_REFERENCE,
    HEMOLYSED,
    INDETERMINATE,
    MEASURED,
    MISSING,
    MODERATE,
    Bounded,
    QpcrRules,
    analyse_sample,
    fold_change,
    hemolysis_check,
    summarise_replicates,
)
from trialdesk.core.design import DesignInputError

BASELINE = {
    "miR-126-3p": [30.1, 30.3, 30.2],
    "cel-miR-39": [20.0, 20.1, 20.2],
    "miR-23a-3p": [24.0, 24.2],
    "miR-451a": [19.0, 19.2],
}
DAY7 = {"miR-126-3p": [29.0, "Undetermined", 29.2], "cel-miR-39": [20.3, 20.5]}
DAY7_CENSORED = {"miR-126-3p": [35.8, 36.4], "cel-miR-39": [20.3, 20.5]}


def test_replicate_mean_sd_and_a_dropped_undetermined_replicate() -> None:
    s = summarise_replicates(target="miR-126-3p", replicates=[29.0, "Undetermined", 29.2])
    assert s.status == MEASURED and s.ct.exact
    assert s.ct.value == pytest.approx(29.1, abs=1e-12)
    assert s.sd == pytest.approx(math.sqrt(0.02), abs=1e-12)  # sample SD of 29.0 and 29.2
    assert s.used == (29.0, 29.2)
    assert s.reasons == ("replicate 2 undetermined (no amplification): dropped from the mean",)


def test_numpy_replicates_are_accepted() -> None:
    s = summarise_replicates(target="x", replicates=np.array([30.0, np.nan, 30.2]))
    assert s.ct.value == pytest.approx(30.1) and "undetermined" in s.reasons[0]
    one = summarise_replicates(target="x", replicates=[np.int64(30)])
    assert one.ct.value == 30.0 and json.dumps(one.to_dict())


def test_failed_and_out_of_range_replicates_are_dropped_with_reasons() -> None:
    s = summarise_replicates(target="x", replicates=[30.1, "failed", 52.0, 30.3])
    assert s.ct.value == pytest.approx(30.2, abs=1e-12)
    assert "replicate 2 failed (well QC): dropped" in s.reasons
    assert "replicate 3 = 52 is outside 5-45 cycles: dropped" in s.reasons
    all_failed = summarise_replicates(target="x", replicates=["failed", "FAILED"])
    assert all_failed.status == MISSING and not all_failed.ct.known
    assert all_failed.reasons[-1] == "no usable replicate: Ct missing"


def test_spread_above_half_a_cycle_is_flagged_not_dropped() -> None:
    s = summarise_replicates(target="x", replicates=[30.0, 30.9])
    assert s.spread_flag and s.sd == pytest.approx(0.9 / math.sqrt(2), abs=1e-12)
    assert s.ct.value == pytest.approx(30.45)
    assert "replicate SD 0.636 > 0.5 cycles: flagged for a repeat run" in s.reasons
    tighter = summarise_replicates(
        target="x", replicates=[30.0, 30.3], rules=QpcrRules(max_replicate_sd=0.2)
    )
    assert tighter.spread_flag
    one = summarise_replicates(target="x", replicates=[30.0])
    assert not one.spread_flag and "spread cannot be checked" in one.reasons[0]


def test_censored_at_the_detection_limit_never_zero() -> None:
    s = summarise_replicates(target="miR-126-3p", replicates=[35.8, 36.4])
    assert s.status == CENSORED
    assert s.ct == Bounded(35.0, "lower")
    assert "mean Ct 36.10 > detection limit 35: censored (true Ct >= 35)" in s.reasons
    nothing = summarise_replicates(target="miR-126-3p", replicates=["Undetermined", None])
    assert nothing.status == CENSORED and nothing.ct == Bounded(35.0, "lower")
    at_40 = summarise_replicates(
        target="miR-126-3p", replicates=[35.8, 36.4], rules=QpcrRules(detection_limit=40.0)
    )
    assert at_40.status == MEASURED and at_40.ct.value == pytest.approx(36.1)
    exactly = summarise_replicates(target="x", replicates=[35.0, 35.0])
    assert exactly.status == MEASURED  # the limit itself is measured (> 35 is censored)


def test_delta_ct_against_the_spike_in() -> None:
    base = analyse_sample(sample_id="P001-D0", ct=BASELINE)
    assert base.normaliser_ct.value == pytest.approx(20.1, abs=1e-12)
    assert base.delta_ct.exact and base.delta_ct.value == pytest.approx(10.1, abs=1e-12)
    assert base.hemolysis is not None
    assert base.hemolysis.category == MODERATE
    assert base.hemolysis.delta_cq.value == pytest.approx(5.0, abs=1e-12)


def test_fold_change_worked_example() -> None:
    base = analyse_sample(sample_id="P001-D0", ct=BASELINE)
    day7 = analyse_sample(sample_id="P001-D7", ct=DAY7)
    fc = fold_change(sample=day7, baseline=base)
    assert fc.status == "estimated" and not fc.censored
    assert fc.delta_delta_ct.value == pytest.approx(-1.4, abs=1e-12)
    assert fc.log2_fold_change.value == pytest.approx(1.4, abs=1e-12)
    assert fc.fold_change.value == pytest.approx(2.0**1.4, rel=1e-12)
    assert fc.fold_change.value == pytest.approx(2.6390, abs=1e-4)
    assert any("replicate 2 undetermined" in r for r in fc.reasons)  # the why travels along
    assert any("moderate hemolysis risk" in r for r in fc.reasons)
    assert not fc.hemolysed


def test_censored_target_gives_an_upper_bound_on_log2_fold_change() -> None:
    base = analyse_sample(sample_id="P001-D0", ct=BASELINE)
    day7 = analyse_sample(sample_id="P001-D7", ct=DAY7_CENSORED)
    assert day7.delta_ct == Bounded(pytest.approx(14.6, abs=1e-12), "lower")
    fc = fold_change(sample=day7, baseline=base)
    assert fc.censored and fc.status == CENSORED
    assert fc.delta_delta_ct.bound == "lower"
    assert fc.delta_delta_ct.value == pytest.approx(4.5, abs=1e-12)
    assert fc.log2_fold_change.bound == "upper"
    assert fc.log2_fold_change.value == pytest.approx(-4.5, abs=1e-12)
    assert fc.fold_change.bound == "upper"
    assert fc.fold_change.value == pytest.approx(2.0**-4.5, rel=1e-12)
    assert "censored Ct: the log2 fold change is an upper bound (<= -4.50)" in fc.reasons
    d = fc.to_dict()
    assert d["censored"] is True and d["log2_fold_change"]["bound"] == "upper"
    json.dumps(d)


def test_censored_baseline_gives_a_lower_bound_and_both_censored_nothing() -> None:
    base_c = analyse_sample(
        sample_id="D0", ct={"miR-126-3p": ["Undetermined"] * 3, "cel-miR-39": [20.1]}
    )
    day7 = analyse_sample(sample_id="D7", ct=DAY7)
    fc = fold_change(sample=day7, baseline=base_c)
    # ΔCt(base) >= 35 - 20.1 = 14.9; ΔΔCt <= 8.7 - 14.9 = -6.2; log2 FC >= 6.2
    assert fc.log2_fold_change == Bounded(pytest.approx(6.2, abs=1e-12), "lower")
    both = fold_change(sample=analyse_sample(sample_id="D7", ct=DAY7_CENSORED), baseline=base_c)
    assert both.status == "not estimable" and not both.log2_fold_change.known
    assert "both samples censored: the change is not estimable" in both.reasons


def test_failed_spike_in_leaves_delta_ct_uncomputed() -> None:
    s = analyse_sample(
        sample_id="X", ct={"miR-126-3p": [30.0, 30.2], "cel-miR-39": ["Undetermined", "failed"]}
    )
    assert not s.delta_ct.known
    assert any("extraction failure" in r for r in s.reasons)
    base = analyse_sample(sample_id="P001-D0", ct=BASELINE)
    fc = fold_change(sample=s, baseline=base)
    assert fc.status == "not estimable"


def test_two_normalisers_use_the_mean_ct_and_mir16_hemolysis_warning() -> None:
    ct = {
        "miR-126-3p": [30.0],
        "cel-miR-39": [20.0],
        ENDOGENOUS_REFERENCE: [22.0],
        "miR-23a-3p": [27.5],
        "miR-451a": [20.0],
    }
    s = analyse_sample(sample_id="X", ct=ct, normalisers=("cel-miR-39", ENDOGENOUS_REFERENCE))
    assert s.normaliser_ct.value == pytest.approx(21.0)
    assert s.delta_ct.value == pytest.approx(9.0)
    assert s.hemolysis is not None and s.hemolysis.category == HEMOLYSED  # ΔCq 7.5 > 7
    assert any("hemolysis-sensitive" in r for r in s.reasons)


def test_hemolysed_samples_are_flagged_or_excluded() -> None:
    hemolysed = dict(BASELINE, **{"miR-23a-3p": [26.6], "miR-451a": [19.2]})  # ΔCq 7.4
    base = analyse_sample(sample_id="D0", ct=hemolysed)
    day7 = analyse_sample(sample_id="D7", ct=DAY7)
    flagged = fold_change(sample=day7, baseline=base)
    assert flagged.hemolysed and flagged.status == "estimated"
    assert any("hemolysed: the fold change is reported but flagged" in r for r in flagged.reasons)
    excluded = fold_change(sample=day7, baseline=base, rules=QpcrRules(exclude_hemolysed=True))
    assert excluded.status == "excluded" and not excluded.log2_fold_change.known


@pytest.mark.parametrize(
    ("mir23a", "mir451a", "category"),
    [
        (Bounded(24.0), Bounded(20.0), ACCEPTABLE),  # 4.0
        (Bounded(25.0), Bounded(20.0), MODERATE),  # 5.0: moderate (5-7 inclusive)
        (Bounded(27.0), Bounded(20.0), MODERATE),  # 7.0: not > 7
        (Bounded(27.01), Bounded(20.0), HEMOLYSED),
        (Bounded(35.0, "lower"), Bounded(20.0), HEMOLYSED),  # >= 15
        (Bounded(35.0, "lower"), Bounded(30.0), INDETERMINATE),  # >= 5
        (Bounded(24.0), Bounded(35.0, "lower"), ACCEPTABLE),  # <= -11
        (Bounded(None), Bounded(20.0), INDETERMINATE),
    ],
)
def test_hemolysis_categories_with_bounds(mir23a: Bounded, mir451a: Bounded, category: str) -> None:
    assert hemolysis_check(mir23a=mir23a, mir451a=mir451a).category == category


def test_spike_in_plate_median_check() -> None:
    ok = analyse_sample(sample_id="X", ct=DAY7, spike_in_plate_median=19.5)
    assert ok.spike_in_deviation == pytest.approx(0.9) and not ok.reasons
    bad = analyse_sample(sample_id="X", ct=DAY7, spike_in_plate_median=18.0)
    assert any("+2.40 cycles from the plate median" in r for r in bad.reasons)


def test_bounded_arithmetic() -> None:
    exact, low, up = Bounded(2.0), Bounded(5.0, "lower"), Bounded(1.0, "upper")
    assert low - exact == Bounded(3.0, "lower")
    assert exact - low == Bounded(-3.0, "upper")
    assert low - up == Bounded(4.0, "lower")
    assert not (low - low).known and not (up - up).known
    assert -low == Bounded(-5.0, "upper")


def test_summaries_render() -> None:
    base = analyse_sample(sample_id="P001-D0", ct=BASELINE)
    fc = fold_change(sample=analyse_sample(sample_id="P001-D7", ct=DAY7_CENSORED), baseline=base)
    assert "log2 fold change <= -4.50" in fc.summary()
    assert "ΔCt 10.10" in base.summary()
    json.dumps(base.to_dict())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: QpcrRules(detection_limit=50), r"detection_limit = 50 .*inside ct_range"),
        (lambda: QpcrRules(max_replicate_sd=0), r"max_replicate_sd = 0 .*positive"),
        (lambda: QpcrRules(hemolysis_moderate=8), r"hemolysis_moderate = 8 .*below"),
        (
            lambda: summarise_replicates(target="miR-126-3p", replicates=[30.0, "n.d"]),
            r"ct\['miR-126-3p'\]\[1\] = 'n.d' .*'Undetermined'",
        ),
        (lambda: summarise_replicates(target="x", replicates=[]), r"at least one replicate"),
        (lambda: summarise_replicates(target="x", replicates="30.1"), r"a list of replicate"),
        (
            lambda: analyse_sample(sample_id="X", ct={"miR-126-3p": [30.0]}),
            r"assays \['cel-miR-39'\] are needed",
        ),
        (
            lambda: analyse_sample(sample_id="X", ct=DAY7, normalisers=("miR-126-3p",)),
            r"normalisers = \['miR-126-3p'\] .*other than the target",
        ),
    ],
)
def test_bad_input_names_field_value_and_what_is_allowed(call, message: str) -> None:
    with pytest.raises(DesignInputError, match=message):
        call()


def test_baseline_must_use_the_same_normalisers() -> None:
    base = analyse_sample(sample_id="D0", ct=dict(BASELINE, **{ENDOGENOUS_REFERENCE: [22.0]}),
                          normalisers=("cel-miR-39", ENDOGENOUS_REFERENCE))  # fmt: skip
    with pytest.raises(DesignInputError, match="same target and normalisers"):
        fold_change(sample=analyse_sample(sample_id="D7", ct=DAY7), baseline=base)
