"""Stream a synthetic study to disk, one table per form, chunk by chunk."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trialdesk.core.simulate.synth import forms as F
from trialdesk.core.simulate.synth.cohort import make_cohort
from trialdesk.core.simulate.synth.options import SynthOptions
from trialdesk.core.simulate.synth.tables import TableWriter, arrow_schema, build_table

if TYPE_CHECKING:
    from trialdesk.core.protocol import Protocol

__all__ = ["SynthResult", "generate_chunk", "generate_study"]

LOG_FORMS = {"ae": F.adverse_events, "conmed": F.conmeds}
EXTRA_TABLES = ("participants", "allocation")


@dataclass(frozen=True)
class SynthResult:
    """What was written, with a few checks of the generated truth."""

    out: str
    fmt: str
    participants: int
    screened: int
    screen_failures: int
    randomized: int
    per_arm: dict[str, int]
    rows: dict[str, int]
    seed: int
    chunk_size: int
    options: dict[str, Any]
    observed_log2fc_difference: float | None
    seconds: float
    peak_rss_mb: float
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        rows = ", ".join(f"{k} {v}" for k, v in self.rows.items())
        arms = ", ".join(f"{k} {v}" for k, v in self.per_arm.items())
        diff = self.observed_log2fc_difference
        return (
            f"{self.participants} participants screened, {self.screen_failures} screen "
            f"failures, {self.randomized} randomized ({arms}).\n"
            f"Rows: {rows}.\n"
            f"True day-7 effect on miR-126-3p {self.options['mir126_log2fc']:g} log2 units; "
            f"observed difference {'n/a' if diff is None else f'{diff:.3f}'}.\n"
            f"Written to {self.out} ({self.fmt}) in {self.seconds:.1f} s, "
            f"peak RSS {self.peak_rss_mb:.0f} MB."
        )


def generate_chunk(
    protocol: Protocol,
    *,
    seed: int,
    chunk_index: int,
    start: int,
    n: int,
    options: SynthOptions,
) -> dict[str, pd.DataFrame]:
    """All tables for participants ``start … start + n − 1``: a pure function of its inputs."""
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk_index,)))
    )
    experimental, control = _arms(protocol)
    sites = tuple(code for code, s in protocol.sites.items() if s.active) or tuple(protocol.sites)
    start_date = protocol.study.start_date or protocol.study.registration_date
    c = make_cohort(
        rng,
        start=start,
        n=n,
        options=options,
        sites=sites,
        study_start=np.datetime64(start_date, "D"),
        experimental=experimental,
        control=control,
    )
    windows = {
        code: (v.day, v.window_before, v.window_after)
        for code, v in protocol.visits.items()
        if v.day is not None
    }
    inst = F.visit_instances(c, rng, options, windows)
    ctx: dict[str, Any] = {
        "seed": seed,
        "chunk_index": chunk_index,
        "options": options,
        "fever": np.zeros(c.n, dtype=bool),
        "consent_version_on": _consent_lookup(protocol),
    }
    raw: dict[str, dict[str, Any]] = {}
    for code, builder in LOG_FORMS.items():  # AEs first: vitals show the fevers
        if code in protocol.forms:
            raw[code] = builder(c, rng, ctx)
    for code in protocol.forms:
        if code in raw:
            continue
        visits = [v for v, visit in protocol.visits.items() if code in visit.forms]
        rows = inst.take(np.isin(inst.visit, visits))
        if code == "disposition":
            raw[code] = F.disposition(c, rows, rng, ctx)
        elif code in F.VISIT_FORMS:
            raw[code] = F.VISIT_FORMS[code](c, rows, rng, ctx)
        else:  # a form this generator does not know: keys only, fields by fallback
            raw[code] = {"participant_id": c.pid[rows.p], "visit": rows.visit,
                         "seq": np.ones(len(rows), dtype=np.int64)}  # fmt: skip
    tables = {code: build_table(protocol, protocol.forms[code], raw[code], rng) for code in raw}
    tables["participants"] = _participants(c)
    tables["allocation"] = _allocation(c)
    if "mirna" in raw:
        tables["_primary"] = _primary(c, raw["mirna"])
    return tables


def _arms(protocol: Protocol) -> tuple[str, str]:
    experimental = [c for c, a in protocol.arms.items() if a.type == "experimental"]
    others = [c for c, a in protocol.arms.items() if a.type != "experimental"]
    if len(experimental) != 1 or len(others) != 1:
        raise ValueError("the synthetic generator supports one experimental and one control arm")
    return experimental[0], others[0]


def _consent_lookup(protocol: Protocol) -> Callable[[np.datetime64], str]:
    cache: dict[Any, str] = {}

    def version(day: np.datetime64) -> str:
        if day not in cache:
            v = protocol.consent_version_on(day.astype(object))
            cache[day] = v.code if v is not None else next(iter(protocol.consent_versions))
        return cache[day]

    return version


def _participants(c) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Screening log without allocation (safe for blinded users)."""
    return pd.DataFrame(
        {
            "participant_id": c.pid,
            "site": c.site,
            "screened_on": pd.to_datetime(c.screen_date).astype("datetime64[s]"),
            "screen_failure": ~c.eligible,
            "screen_failure_reasons": pd.array(np.where(c.fail_reasons == "", None, c.fail_reasons), "string"),
            "randomized": c.randomized,
            "dosed": c.dosed,
            "status": pd.array(np.where(c.randomized, c.status, None), "string"),
        }
    )  # fmt: skip


def _allocation(c) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Unblinded: the arm of each randomized participant (keep away from blinded roles)."""
    r = c.randomized
    return pd.DataFrame(
        {
            "participant_id": c.pid[r],
            "randomization_number": c.rand_number[r],
            "arm": c.arm[r],
            "stratum_delivery_mode": np.where(c.cs[r], "CS", "VAGINAL"),
            "stratum_pe_severe": np.where(c.severe[r], "SEVERE", "NOT_SEVERE"),
        }
    )


def _primary(c, mirna: dict[str, Any]) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    d7 = np.asarray(mirna["visit"]) == "D7"
    pid = np.asarray(mirna["participant_id"])[d7]
    lookup = dict(zip(c.pid, c.treated, strict=True))
    return pd.DataFrame(
        {"treated": [lookup[p] for p in pid], "log2fc": np.asarray(mirna["_log2fc"])[d7]}
    )


def generate_study(
    protocol: Protocol,
    *,
    participants: int,
    seed: int,
    out: Path,
    fmt: str = "csv",
    chunk_size: int = 5_000,
    options: SynthOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> SynthResult:
    """Write the synthetic study to ``out`` (one file per form, plus participants and
    allocation), generating ``chunk_size`` participants at a time so memory stays bounded."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format = {fmt!r}: allowed are csv, parquet")
    options = options or SynthOptions()
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    writers = _writers(protocol, out, fmt)
    counts = {"screened": 0, "failures": 0, "randomized": 0}
    per_arm: dict[str, int] = {}
    sums = np.zeros(4)  # n and Σ log2fc per arm (control, treated)
    for i, start in enumerate(range(0, participants, chunk_size)):
        n = min(chunk_size, participants - start)
        tables = generate_chunk(
            protocol, seed=seed, chunk_index=i, start=start, n=n, options=options
        )
        primary = tables.pop("_primary", None)
        if primary is not None:
            for arm in (0, 1):
                sel = primary["treated"].to_numpy() == bool(arm)
                sums[arm] += sel.sum()
                sums[2 + arm] += primary["log2fc"].to_numpy()[sel].sum()
        p = tables["participants"]
        counts["screened"] += len(p)
        counts["failures"] += int(p["screen_failure"].sum())
        counts["randomized"] += int(p["randomized"].sum())
        for arm, k in tables["allocation"]["arm"].value_counts().items():
            per_arm[str(arm)] = per_arm.get(str(arm), 0) + int(k)
        for code, df in tables.items():
            writers[code].write(df)
        del tables
        if progress:
            progress(n)
    for w in writers.values():
        w.close()
    diff = None
    if sums[0] and sums[1]:
        diff = float(sums[3] / sums[1] - sums[2] / sums[0])
    result = SynthResult(
        out=str(out),
        fmt=fmt,
        participants=participants,
        screened=counts["screened"],
        screen_failures=counts["failures"],
        randomized=counts["randomized"],
        per_arm=dict(sorted(per_arm.items())),
        rows={code: w.rows for code, w in writers.items()},
        seed=seed,
        chunk_size=chunk_size,
        options=asdict(options),
        observed_log2fc_difference=None if diff is None or math.isnan(diff) else diff,
        seconds=time.perf_counter() - t0,
        peak_rss_mb=_peak_rss_mb(),
        files=sorted(str(w.path.name) for w in writers.values()),
    )
    (out / "synth.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return result


def _writers(protocol: Protocol, out: Path, fmt: str) -> dict[str, TableWriter]:
    import pyarrow as pa

    writers = {
        code: TableWriter(out / f"{code}.{fmt}", arrow_schema(form), fmt)
        for code, form in protocol.forms.items()
    }
    extra = {
        "participants": pa.schema(
            [("participant_id", pa.string()), ("site", pa.string()),
             ("screened_on", pa.timestamp("s")), ("screen_failure", pa.bool_()),
             ("screen_failure_reasons", pa.string()), ("randomized", pa.bool_()),
             ("dosed", pa.bool_()), ("status", pa.string())]
        ),
        "allocation": pa.schema(
            [("participant_id", pa.string()), ("randomization_number", pa.string()),
             ("arm", pa.string()), ("stratum_delivery_mode", pa.string()),
             ("stratum_pe_severe", pa.string())]
        ),
    }  # fmt: skip
    for code, schema in extra.items():
        writers[code] = TableWriter(out / f"{code}.{fmt}", schema, fmt)
    return writers


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
