"""Writing a run's files: the results JSON, the report and the analysis datasets."""

from __future__ import annotations

import json
from pathlib import Path

from trialdesk.analyses import datasets as ds
from trialdesk.analyses import snapshot as snap
from trialdesk.studies.registry import get_protocol


def analysis_datasets(run) -> dict:
    """name -> DataFrame: ``adsl`` (participants and populations), ``values`` (every eCRF
    value, long), ``adae`` (adverse events with the arm) and one frame per protocol analysis
    as the model sees it."""
    import pandas as pd

    tables = snap.load(run.snapshot)
    protocol = get_protocol(run.snapshot.study_id)
    adsl = ds.adsl(tables, protocol)
    out = {"adsl": adsl, "values": ds.values(tables)}
    aes = pd.DataFrame(tables["adverse_events"])
    if not aes.empty:
        aes = aes.merge(adsl[["subject_id", "arm"]], on="subject_id", how="left")
    out["adae"] = aes
    for code, analysis in protocol.analyses.items():
        if analysis.method in ("ancova", "mmrm", "proportional_odds"):
            out[f"ad_{code}"] = ds.endpoint_frame(tables, protocol, analysis)
    return out


def write_outputs(run, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = out_dir / "datasets"
    data_dir.mkdir(exist_ok=True)
    written = []
    for name, content in (
        ("results.json", bytes(run.results)),
        ("report.pdf", bytes(run.pdf)),
        ("report.html", run.html.encode()),
    ):
        path = out_dir / name
        path.write_bytes(content)
        written.append(path)
    meta = json.loads(bytes(run.results))["meta"]
    for name, frame in analysis_datasets(run).items():
        frame = frame.copy()
        for col in frame.columns:  # Parquet needs one type per column
            if frame[col].dtype == object:
                frame[col] = frame[col].map(lambda x: None if x is None else str(x))
        frame.attrs = {}
        csv = data_dir / f"{name}.csv"
        frame.to_csv(csv, index=False, lineterminator="\n")
        parquet = data_dir / f"{name}.parquet"
        frame.to_parquet(parquet, index=False)
        written += [csv, parquet]
    manifest = out_dir / "datasets" / "README.txt"
    manifest.write_text(
        f"Analysis datasets of {meta['study']} snapshot {meta['snapshot']} "
        f"(sha256 {meta['snapshot_sha256']}), protocol sha256 {meta['protocol_sha256']} "
        f"(version {meta['protocol_version']}), {meta['software']}, seed {meta['seed']}.\n",
        encoding="utf-8",
    )
    written.append(manifest)
    return written
