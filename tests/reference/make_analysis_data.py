"""Generate the committed EXO-PE analysis datasets (run once; the CSVs are committed).

    .venv/bin/python tests/reference/make_analysis_data.py

Simulated, not trial data: 80 women randomized 1:1 to EXO (MSC exosomes) or PBO (placebo),
stratified by delivery_mode (CS / VAGINAL) and pe_severe (SEVERE / NOT_SEVERE); baseline dct is
the day-0 ΔCt of miR-126-3p; the outcome is the log2 fold change (−ΔΔCt) at D7, M1, M3, M6, M12
and M24 with monotone dropout and a few intermittent missing visits. The participant-level file
adds the D7 outcome (missing where the long file misses D7), a facial-edema grade 0-3 at D7 and
whether the woman had a serious adverse event. tests/reference/analysis_models.R reads both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "data"
VISITS = ("D7", "M1", "M3", "M6", "M12", "M24")
PBO_MEAN = np.array([0.10, 0.05, 0.00, 0.00, -0.05, 0.00])
EXO_EFFECT = np.array([0.60, 0.50, 0.40, 0.30, 0.20, 0.10])
SD = np.array([0.90, 0.95, 1.00, 1.10, 1.20, 1.30])


def _participants(rng: np.random.Generator, n: int = 80) -> pd.DataFrame:
    ids = [f"EXO-PE-{i:03d}" for i in range(1, n + 1)]
    delivery = rng.choice(["CS", "VAGINAL"], size=n, p=[0.55, 0.45])
    severe = rng.choice(["SEVERE", "NOT_SEVERE"], size=n, p=[0.6, 0.4])
    arm = np.empty(n, dtype=object)
    # permuted blocks of 4 within each stratum, as the allocation list does
    for stratum in {(d, s) for d, s in zip(delivery, severe, strict=True)}:
        idx = [i for i in range(n) if (delivery[i], severe[i]) == stratum]
        blocks = np.concatenate(
            [rng.permutation(["EXO", "EXO", "PBO", "PBO"]) for _ in range(len(idx) // 4 + 1)]
        )
        arm[idx] = blocks[: len(idx)]
    dct = np.round(rng.normal(7.5, 1.1, size=n), 3)
    return pd.DataFrame(
        {"id": ids, "arm": arm, "delivery_mode": delivery, "pe_severe": severe, "dct": dct}
    )


def _long(rng: np.random.Generator, base: pd.DataFrame) -> pd.DataFrame:
    n, k = len(base), len(VISITS)
    # exchangeable-plus-AR(1) correlation, heteroscedastic by visit
    lag = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    corr = 0.35 + 0.55 * 0.6**lag
    np.fill_diagonal(corr, 1.0)
    cov = corr * np.outer(SD, SD)
    err = rng.multivariate_normal(np.zeros(k), cov, size=n)
    exo = (base["arm"] == "EXO").to_numpy()[:, None]
    cs = (base["delivery_mode"] == "CS").to_numpy()[:, None]
    severe = (base["pe_severe"] == "SEVERE").to_numpy()[:, None]
    mu = (
        PBO_MEAN
        + exo * EXO_EFFECT
        + 0.25 * (base["dct"].to_numpy()[:, None] - 7.5)
        + 0.20 * cs
        - 0.30 * severe
    )
    y = np.round(mu + err, 4)
    # monotone dropout: hazard 4 % per visit, higher when the last value was low
    observed = np.ones((n, k), dtype=bool)
    for i in range(n):
        for j in range(1, k):
            hazard = 0.04 + 0.06 * (y[i, j - 1] < -0.5)
            if not observed[i, j - 1] or rng.random() < hazard:
                observed[i, j:] = False
                break
    # the D7 sample is missing more often when the baseline ΔCt is high (low expression: the
    # assay fails more often), i.e. missing at random given the baseline
    d7_missing = rng.random(n) < np.where(base["dct"].to_numpy() > 8.2, 0.25, 0.05)
    observed[d7_missing, 0] = False
    # a few intermittent missed visits (visit missed, participant stays)
    for i in rng.choice(n, size=6, replace=False):
        j = rng.integers(0, k - 1)
        if observed[i, j + 1]:
            observed[i, j] = False
    rows = []
    for i in range(n):
        for j, visit in enumerate(VISITS):
            value = y[i, j] if observed[i, j] else np.nan
            rows.append({**base.iloc[i].to_dict(), "visit": visit, "log2fc": value})
    return pd.DataFrame(rows)


def _edema(rng: np.random.Generator, base: pd.DataFrame) -> np.ndarray:
    eta = (
        -0.9 * (base["arm"] == "EXO").to_numpy()
        + 1.0 * (base["pe_severe"] == "SEVERE").to_numpy()
        + 0.4 * (base["delivery_mode"] == "CS").to_numpy()
    )
    latent = eta + rng.logistic(size=len(base))
    return np.searchsorted(np.array([0.0, 1.4, 2.6]), latent)


def main() -> None:
    rng = np.random.Generator(np.random.PCG64(20260113))
    base = _participants(rng)
    long = _long(rng, base)
    wide = base.copy()
    wide["log2fc_d7"] = long.loc[long["visit"] == "D7", "log2fc"].to_numpy()
    wide["edema_d7"] = _edema(rng, base)
    p_sae = np.where(wide["arm"] == "EXO", 0.08, 0.15)
    wide["sae"] = np.where(rng.random(len(wide)) < p_sae, "yes", "no")
    OUT.mkdir(exist_ok=True)
    wide.to_csv(OUT / "exo_pe_d7.csv", index=False, na_rep="NA")
    long.to_csv(OUT / "exo_pe_long.csv", index=False, na_rep="NA")


if __name__ == "__main__":
    main()
