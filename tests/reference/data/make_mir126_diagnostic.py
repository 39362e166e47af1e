"""Writes mir126_diagnostic.csv: a synthetic miR-126-3p diagnostic data set (not trial data).

Derivation cohort: 42 preeclampsia cases and 44 normotensive postpartum controls (the
denominators at which the protocol's quoted 85.71 % and 81.82 % are attainable: 36/42, 36/44);
validation cohort: 30 cases, 28 controls. Two markers per participant (paired):

* ``mir126_cel39``: miR-126-3p, log2 expression relative to the cel-miR-39 spike-in
  (-ΔCt), lower in preeclampsia (so pROC's "auto" picks direction ">");
* ``mir126_mir16``: the same target normalised to miR-16 instead, correlated with the first.

Values are rounded to 0.1 cycle, which produces ties within and across groups, as real Ct data
do. Run: python tests/reference/data/make_mir126_diagnostic.py (then Rscript
tests/reference/analysis_roc.R).
"""

import csv
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("mir126_diagnostic.csv")


def main() -> None:
    rng = np.random.default_rng(20260715)
    rows = []
    for cohort, n_case, n_ctrl in (("derivation", 42, 44), ("validation", 30, 28)):
        for group, n, mean in (("control", n_ctrl, -6.0), ("case", n_case, -7.15)):
            shared = rng.normal(0.0, 1.0, n)
            a = mean + shared
            b = mean + 0.3 + 0.8 * shared + rng.normal(0.0, 0.75, n)
            for x, y in zip(a, b, strict=True):
                rows.append((cohort, group, round(float(x), 1), round(float(y), 1)))
    with OUT.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "cohort", "group", "mir126_cel39", "mir126_mir16"])
        for i, row in enumerate(rows, start=1):
            w.writerow([f"P{i:03d}", *row])


if __name__ == "__main__":
    main()
