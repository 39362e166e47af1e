"""The synthetic study: every value inside the protocol's hard limits and codelists, hard edit
checks never fire, eligibility agrees with the protocol's criteria, streaming is exact."""

from __future__ import annotations

import math
from datetime import date, datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from trialdesk.core.protocol import load_protocol
from trialdesk.core.rules import Truth
from trialdesk.core.simulate.synth import SynthOptions, generate_chunk, generate_study
from trialdesk.core.simulate.synth.tables import MULTI_SEP, entered_fields
from trialdesk.paths import DEFAULT_PROTOCOL


@cache
def _protocol():  # type: ignore[no-untyped-def]
    return load_protocol(DEFAULT_PROTOCOL)


@cache
def _context_cached() -> dict[str, dict[str, Any]]:
    return _context()


@cache
def _tables() -> dict[str, pd.DataFrame]:
    return generate_chunk(
        _protocol(), seed=20261124, chunk_index=0, start=0, n=400, options=SynthOptions()
    )


def _python(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    if kind == "date":
        return pd.Timestamp(value).date()
    if kind == "datetime":
        return pd.Timestamp(value).to_pydatetime()
    if kind == "multichoice":
        return frozenset(str(value).split(MULTI_SEP))
    if kind in ("integer", "decimal"):
        return float(value)
    if kind == "boolean":
        return bool(value)
    return str(value)


def _records(code: str) -> list[dict[str, Any]]:
    form = _protocol().form(code)
    df = _tables()[code]
    kinds = {f.code: str(f.type) for f in entered_fields(form)}
    rows = df.to_dict("records")
    return [
        {**{k: r[k] for k in ("participant_id", "visit", "seq")},
         **{f: _python(r[f], kinds[f]) for f in kinds}}
        for r in rows
    ]  # fmt: skip


def _context() -> dict[str, dict[str, Any]]:
    """Per participant, the single-record forms keyed "form.field" (for cross-form rules)."""
    out: dict[str, dict[str, Any]] = {}
    forms = ("consent", "screening", "demog")
    for code in forms:
        for r in _records(code):
            ctx = out.setdefault(r["participant_id"], {})
            ctx.update({f"{code}.{k}": v for k, v in r.items() if k not in ("visit", "seq")})
    for ctx in out.values():
        for code in forms:
            ctx.update({f"{code}.{k}": v for k, v in _protocol().derive(code, ctx).items()})
    return out


FORMS = sorted(_protocol().forms)


def test_every_form_of_the_protocol_has_a_table_with_every_entered_field() -> None:
    tables = _tables()
    for code in FORMS:
        df = tables[code]
        assert len(df) > 0, code
        expected = ["participant_id", "visit", "seq"]
        expected += [f.code for f in entered_fields(_protocol().form(code))]
        assert list(df.columns) == expected


@pytest.mark.parametrize("code", FORMS)
def test_generated_values_respect_hard_limits_codelists_and_lengths(code: str) -> None:
    protocol = _protocol()
    df = _tables()[code]
    for fld in entered_fields(protocol.form(code)):
        col = df[fld.code].dropna()
        if fld.is_numeric:
            x = col.to_numpy(dtype=float)
            if fld.hard_min is not None:
                assert (x >= fld.hard_min).all(), (fld.code, x.min())
            if fld.hard_max is not None:
                assert (x <= fld.hard_max).all(), (fld.code, x.max())
            if fld.decimals is not None:
                assert np.allclose(x, np.round(x, fld.decimals))
        if fld.codelist:
            allowed = set(protocol.codelist(fld.codelist).items)
            values = col.astype(str)
            if str(fld.type) == "multichoice":
                values = values.str.split(MULTI_SEP).explode()
            assert set(values) <= allowed, (fld.code, set(values) - allowed)
        if fld.max_length:
            assert col.astype(str).str.len().max() <= fld.max_length if len(col) else True
        if fld.required and not (fld.show_if or fld.required_if):
            assert df[fld.code].notna().all(), fld.code


@pytest.mark.parametrize("code", FORMS)
def test_derived_values_respect_hard_limits_and_hard_checks_never_fire(code: str) -> None:
    protocol = _protocol()
    form = protocol.form(code)
    ctx = _context_cached()
    hard = [c for c in form.checks.values() if c.severity == "hard"]
    derived = [f for f in form.fields.values() if f.derived]
    for r in _records(code):
        values = {**ctx.get(r["participant_id"], {}), **{f"{code}.{k}": v for k, v in r.items()}}
        values.update({f"{code}.{k}": v for k, v in protocol.derive(code, values).items()})
        for fld in derived:
            v = values[f"{code}.{fld.code}"]
            if isinstance(v, int | float) and not isinstance(v, bool):
                assert fld.hard_min is None or v >= fld.hard_min, (fld.code, v)
                assert fld.hard_max is None or v <= fld.hard_max, (fld.code, v)
        for check in hard:
            truth = protocol.compile(check.expression, context=code).truth(values)
            assert truth is not Truth.FALSE, (code, check.code, r)
        for fld in form.fields.values():
            if fld.required_if:
                needed = protocol.compile(fld.required_if, context=code).truth(values)
                if needed is Truth.TRUE:
                    assert values[f"{code}.{fld.code}"] is not None, (fld.code, r)


def test_screen_failure_reasons_are_the_protocols_failing_criteria() -> None:
    protocol = _protocol()
    ctx = _context_cached()
    log = _tables()["participants"]
    assert 0.1 < log["screen_failure"].mean() < 0.5
    for row in log.itertuples():
        result = protocol.evaluate_eligibility(ctx[row.participant_id])
        expected = ";".join(result.failing())
        got = "" if pd.isna(row.screen_failure_reasons) else row.screen_failure_reasons
        assert got == expected, row.participant_id
        assert row.screen_failure == (result.eligible is not Truth.TRUE)


def test_randomized_participants_are_balanced_and_have_the_primary_visit() -> None:
    alloc = _tables()["allocation"]
    counts = alloc["arm"].value_counts()
    assert set(counts.index) == {"EXO", "PBO"}
    assert abs(counts["EXO"] - counts["PBO"]) <= 8  # permuted blocks in 4 strata
    d7 = _tables()["mirna"].query("visit == 'D7'")
    share = len(d7) / len(alloc)
    assert 0.8 < share < 0.97  # 10 % dropout before day 7 (plus 1 % never dosed)


def test_blood_pressure_and_proteinuria_are_correlated_and_bp_falls_after_delivery() -> None:
    vitals = _tables()["vitals"].query("timepoint in ['VISIT', 'PRE_DOSE']")
    urine = _tables()["urine"]
    both = vitals.merge(urine, on=["participant_id", "visit"])
    r = np.corrcoef(both["sbp"].astype(float), np.log(both["upcr"].astype(float)))[0, 1]
    assert r > 0.2
    by_visit = vitals.groupby("visit")["sbp"].mean()
    assert by_visit["SCR"] > by_visit["M3"] + 8
    wide = vitals.pivot_table(index="participant_id", columns="visit", values="sbp")
    assert wide["SCR"].astype(float).corr(wide["M3"].astype(float)) > 0.3  # within-person


def test_the_chosen_effect_shows_in_the_ct_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = generate_study(
        _protocol(), participants=3000, seed=5, out=tmp_path, chunk_size=1000,
        options=SynthOptions(mir126_log2fc=1.0, mir126_sd=1.0),
    )  # fmt: skip
    n_arm = res.per_arm["EXO"] * 0.88
    se = math.sqrt(2 / n_arm)
    assert abs(res.observed_log2fc_difference - 1.0) < 4 * se
    # ΔΔCt from the entered Ct values equals −log2 FC: check one participant end to end.
    mirna = pd.read_csv(tmp_path / "mirna.csv")
    row = mirna.query("visit == 'D7'").iloc[0]
    ddct = (row.ct_mir126 - row.ct_cel39) - row.calibrator_dct
    assert abs(ddct) < 10


def test_chunks_are_reproducible_and_streaming_writes_every_chunk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = generate_chunk(_protocol(), seed=3, chunk_index=1, start=100, n=50, options=SynthOptions())
    b = generate_chunk(_protocol(), seed=3, chunk_index=1, start=100, n=50, options=SynthOptions())
    for code in a:
        pd.testing.assert_frame_equal(a[code], b[code])
    res = generate_study(
        _protocol(), participants=250, seed=3, out=tmp_path, fmt="parquet", chunk_size=100
    )
    assert sorted(res.files) == sorted(
        f"{c}.parquet" for c in [*FORMS, "participants", "allocation"]
    )
    chunk1 = generate_chunk(
        _protocol(), seed=3, chunk_index=1, start=100, n=100, options=SynthOptions()
    )
    vitals = pq.read_table(tmp_path / "vitals.parquet").to_pandas()
    assert len(vitals) == res.rows["vitals"]
    ids = set(chunk1["vitals"]["participant_id"])
    assert len(vitals[vitals["participant_id"].isin(ids)]) == len(chunk1["vitals"])
    assert pq.read_table(tmp_path / "participants.parquet").num_rows == 250


def test_dates_and_values_of_screen_failures_stop_at_screening() -> None:
    log = _tables()["participants"]
    failed = set(log.loc[log["screen_failure"], "participant_id"])
    for code in ("dosing", "mirna", "imaging", "edema", "ae", "disposition"):
        assert not failed & set(_tables()[code]["participant_id"]), code


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="dropout = 1.5"):
        SynthOptions(dropout=1.5)


def test_python_conversion_helpers() -> None:
    assert _python(pd.Timestamp("2025-01-02"), "date") == date(2025, 1, 2)
    assert _python(pd.Timestamp("2025-01-02 03:04"), "datetime") == datetime(2025, 1, 2, 3, 4)
    assert _python(pd.NA, "text") is None
