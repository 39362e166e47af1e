"""From a table of observed values to the arrays of a model, with R's conventions.

* ``data`` is a :class:`pandas.DataFrame` or a mapping of column name to equal-length values.
* Missing: ``None``, NaN and empty strings. A model uses the rows complete in every column it
  needs (R's ``na.action = na.omit``) and reports how many it left out.
* Factors use treatment coding (R's ``contr.treatment``): the first level is the reference and
  each other level gets a 0/1 column named ``<column><level>`` as R names it (``armEXO``,
  ``delivery_modeVAGINAL``). Levels are the sorted distinct values of the rows used, unless
  given; the arm's reference is the control arm. Values are compared as strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from trialdesk.core.design import _validate as v

Data: TypeAlias = pd.DataFrame | Mapping[str, Sequence[Any]]


def as_frame(data: Data, columns: Mapping[str, str | None]) -> pd.DataFrame:
    """The table as a DataFrame; every named column (role -> column name) must exist."""
    if isinstance(data, pd.DataFrame):
        frame = data.reset_index(drop=True)
    elif isinstance(data, Mapping):
        try:
            frame = pd.DataFrame({str(k): list(col) for k, col in data.items()})
        except (TypeError, ValueError) as exc:
            raise v.reject(
                "data", type(data).__name__, f"columns of equal length ({exc})"
            ) from None
    else:
        raise v.reject("data", type(data).__name__, "a pandas DataFrame or a mapping of columns")
    for role, name in columns.items():
        if name is not None and name not in frame.columns:
            raise v.reject(role, name, f"a column of data; the columns are {list(frame.columns)}")
    if len(frame) == 0:
        raise v.reject("data", "0 rows", "at least one row")
    return frame


def missing(series: pd.Series) -> np.ndarray:
    """True where a value is missing (None, NaN or an empty/blank string)."""
    blank = series.map(lambda x: isinstance(x, str) and not x.strip())
    return np.asarray(series.isna() | blank.astype(bool), dtype=bool)


def numeric(frame: pd.DataFrame, role: str, column: str) -> np.ndarray:
    """A numeric column as float, NaN where missing; any other value is rejected."""
    series = frame[column]
    values = pd.to_numeric(series.where(~missing(series)), errors="coerce")
    bad = values.isna().to_numpy() & ~missing(series)
    if bad.any():
        raise v.reject(f"{role} ({column})", series[bad].iloc[0], "a number or missing")
    out = values.to_numpy(dtype=float)
    if np.isinf(out).any():
        raise v.reject(f"{role} ({column})", float(out[np.isinf(out)][0]), "a finite number")
    return out


def labels(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A categorical column as strings (object array), None where missing."""
    series = frame[column]
    miss = missing(series)
    return np.array(
        [None if m else _label(x) for x, m in zip(series, miss, strict=True)], dtype=object
    )


def _label(x: object) -> str:
    # 1.0 and 1 are the same level (a CSV read as float), so is True/"True"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True)
class Factor:
    """A categorical variable with its levels (reference first) and treatment coding."""

    column: str
    levels: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{self.column}{level}" for level in self.levels[1:])

    def codes(self, values: np.ndarray) -> np.ndarray:
        index = {level: i for i, level in enumerate(self.levels)}
        return np.array([index[x] for x in values], dtype=int)

    def dummies(self, values: np.ndarray) -> np.ndarray:
        codes = self.codes(values)
        return (codes[:, None] == np.arange(1, len(self.levels))[None, :]).astype(float)

    def mean_dummy(self) -> np.ndarray:
        """The equally weighted average of the level rows (emmeans' default for a factor)."""
        return np.full(len(self.levels) - 1, 1.0 / len(self.levels))


def factor(
    role: str,
    column: str,
    values: np.ndarray,
    *,
    levels: Sequence[str] | None = None,
    reference: str | None = None,
) -> Factor:
    """The factor for ``values`` (missing already removed): at least two levels present."""
    present = sorted({str(x) for x in values})
    if levels is None:
        order = present
    else:
        order = [str(x) for x in levels]
        if len(set(order)) != len(order):
            raise v.reject(f"levels of {column}", order, "distinct level names")
        unknown = sorted(set(present) - set(order))
        if unknown:
            raise v.reject(f"{role} ({column})", unknown[0], f"one of the levels {order}")
        absent = [x for x in order if x not in present]
        if absent:
            raise v.reject(
                f"{role} ({column})", absent[0], f"a level with complete rows; present: {present}"
            )
    if reference is not None:
        if str(reference) not in order:
            raise v.reject(f"reference level of {column}", reference, f"one of {order}")
        order = [str(reference)] + [x for x in order if x != str(reference)]
    if len(order) < 2:
        raise v.reject(
            f"{role} ({column})", order, "at least two levels among the rows the model uses"
        )
    return Factor(column=column, levels=tuple(order))


@dataclass(frozen=True)
class Covariates:
    """Arm, an optional numeric baseline and stratification factors, as R's model matrix."""

    arm: Factor
    baseline: str | None
    strata: tuple[Factor, ...]

    def matrix(
        self, arm: np.ndarray, baseline: np.ndarray | None, strata: Sequence[np.ndarray]
    ) -> np.ndarray:
        """Columns arm dummies, baseline, strata dummies (no intercept)."""
        blocks = [self.arm.dummies(arm)]
        if self.baseline is not None and baseline is not None:
            blocks.append(np.asarray(baseline, dtype=float)[:, None])
        blocks += [f.dummies(x) for f, x in zip(self.strata, strata, strict=True)]
        return np.hstack(blocks)

    @property
    def names(self) -> tuple[str, ...]:
        out = list(self.arm.names)
        if self.baseline is not None:
            out.append(self.baseline)
        for f in self.strata:
            out += f.names
        return tuple(out)

    def adjustment_row(self, baseline_mean: float | None) -> np.ndarray:
        """Baseline at its mean and each stratum averaged equally (the arm part left out)."""
        parts = [] if self.baseline is None else [np.array([baseline_mean], dtype=float)]
        parts += [f.mean_dummy() for f in self.strata]
        return np.concatenate(parts) if parts else np.zeros(0)


def check_full_rank(x: np.ndarray, names: Sequence[str], role: str = "model") -> None:
    """Reject a design matrix whose columns are linearly dependent, naming the first one."""
    rank = np.linalg.matrix_rank(x)
    if rank == x.shape[1]:
        return
    for j in range(1, x.shape[1] + 1):
        if np.linalg.matrix_rank(x[:, :j]) < j:
            raise v.reject(
                role,
                names[j - 1],
                "a term that is not a linear combination of the earlier ones (the strata or "
                "the baseline are confounded with the arm or with each other in the rows used)",
            )
