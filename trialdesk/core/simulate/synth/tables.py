"""Typed tables from column dictionaries: one column per entered field of the form, values
rounded to the field's decimals and kept inside its hard limits, written in chunks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from trialdesk.core.protocol import Form, FormField, Protocol

KEYS = ("participant_id", "visit", "seq")
MULTI_SEP = ";"

_ARROW = {
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "text": pa.string(),
    "choice": pa.string(),
    "multichoice": pa.string(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("s"),
    "time": pa.string(),
}


def entered_fields(form: Form) -> list[FormField]:
    """Fields a site or the system enters; derived fields are computed on load, not stored."""
    return [f for f in form.fields.values() if not f.derived]


def arrow_schema(form: Form) -> pa.Schema:
    keys = [pa.field("participant_id", pa.string()), pa.field("visit", pa.string()),
            pa.field("seq", pa.int64())]  # fmt: skip
    return pa.schema(keys + [pa.field(f.code, _ARROW[str(f.type)]) for f in entered_fields(form)])


def build_table(
    protocol: Protocol, form: Form, cols: dict[str, Any], rng: np.random.Generator
) -> pd.DataFrame:
    """A DataFrame with every entered field of ``form`` typed and within its hard limits.

    Fields the generator has no model for are filled by :func:`fallback` (or left empty when
    they depend on a condition), so a protocol that grows a field still gets a column.
    """
    n = len(cols["participant_id"])
    data: dict[str, Any] = {
        "participant_id": pd.array(np.asarray(cols["participant_id"]).astype(str), "string"),
        "visit": pd.array(np.asarray(cols["visit"], dtype=object), "string"),
        "seq": pd.array(np.asarray(cols["seq"], dtype=np.int64), "Int64"),
    }
    for fld in entered_fields(form):
        values = cols.get(fld.code)
        if values is None:
            values = fallback(protocol, fld, n, rng)
        data[fld.code] = typed(fld, np.asarray(values))
    return pd.DataFrame(data)


def typed(fld: FormField, values: np.ndarray) -> Any:
    kind = str(fld.type)
    if kind in ("integer", "decimal"):
        x = values.astype(float)
        x = np.round(
            x, 0 if kind == "integer" else (fld.decimals if fld.decimals is not None else 2)
        )
        lo = -np.inf if fld.hard_min is None else fld.hard_min
        hi = np.inf if fld.hard_max is None else fld.hard_max
        x = np.where(np.isnan(x), np.nan, np.clip(x, lo, hi))
        return (
            pd.array(x, "Float64") if kind == "decimal" else pd.array(x, "Float64").astype("Int64")
        )
    if kind == "boolean":
        return pd.array([None if v is None else bool(v) for v in values.tolist()], "boolean")
    if kind == "date":
        return pd.to_datetime(values.astype("datetime64[D]")).astype("datetime64[s]")
    if kind == "datetime":
        return pd.to_datetime(values.astype("datetime64[m]")).astype("datetime64[s]")
    out = values.astype(object)
    out[pd.isna(out)] = None
    return pd.array(out.astype(object), "string")


def fallback(protocol: Protocol, fld: FormField, n: int, rng: np.random.Generator) -> np.ndarray:
    """A plausible value for a field without a clinical model (inside its limits)."""
    if fld.show_if or fld.required_if:
        return np.full(n, None, dtype=object)
    kind = str(fld.type)
    if kind in ("integer", "decimal"):
        lo = _first(fld.soft_min, fld.hard_min, 0.0)
        hi = _first(fld.soft_max, fld.hard_max, lo + 100.0)
        return rng.uniform(lo, hi, n)
    if kind in ("choice", "multichoice"):
        codes = list(protocol.codelist(fld.codelist or "").items)
        return np.asarray(codes, dtype=object)[rng.integers(0, len(codes), n)]
    if kind == "boolean":
        return rng.random(n) < 0.1
    if kind == "text":
        return np.full(n, f"synthetic {fld.code}"[: fld.max_length or 200], dtype=object)
    return np.full(n, None, dtype=object)


def _first(*values: float | None) -> float:
    return next(float(v) for v in values if v is not None)


class TableWriter:
    """Appends chunks of one table to ``DIR/<form>.csv`` or ``DIR/<form>.parquet``."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.path, self.schema, self.fmt = path, schema, fmt
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        if fmt == "csv":
            pd.DataFrame({name: [] for name in schema.names}).to_csv(path, index=False)

    def write(self, df: pd.DataFrame) -> None:
        if df.empty:
            return
        self.rows += len(df)
        if self.fmt == "csv":
            df.to_csv(self.path, mode="a", header=False, index=False, date_format=None)
            return
        table = pa.Table.from_pandas(df, schema=self.schema, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, self.schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self.fmt == "parquet":
            pq.write_table(self.schema.empty_table(), self.path)
