"""Time group-sequential design computations for K = 2, 5 and 10; print JSON.

Run: .venv/bin/python bench/design.py   (also part of `make bench`). Wall-clock seconds,
median of 5 runs after one warm-up; nothing here is asserted (no timed tests).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

from trialdesk.core.design import power_two_means
from trialdesk.core.sequential import group_sequential_design, interim_analysis

CASES = {
    "asOF": {"spending": "asOF"},
    "OF (classical constant search)": {"spending": "OF"},
    "asP two-sided": {"spending": "asP", "sided": 2, "alpha": 0.05},
    "asOF + bsOF non-binding": {"spending": "asOF", "futility": "bsOF"},
    "asOF + bsOF binding": {"spending": "asOF", "futility": "bsOF", "binding": True},
}


def _median_seconds(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    results = {}
    for name, kwargs in CASES.items():
        results[name] = {
            f"K={k}": round(
                _median_seconds(lambda k=k, kw=kwargs: group_sequential_design(k=k, **kw)), 5
            )
            for k in (2, 5, 10)
        }
    planned = group_sequential_design(information_fraction=[0.5, 1], alpha=0.05, sided=2)
    extra = {
        "interim_analysis K=2 (recompute + conditional power)": _median_seconds(
            lambda: interim_analysis(design=planned, information_fraction=[37 / 80], z=1.5)
        ),
        "power_two_means solve n (exact t)": _median_seconds(
            lambda: power_two_means(effect=0.67, power=0.8)
        ),
    }
    print(
        json.dumps(
            {
                "benchmark": "trialdesk.core.sequential.group_sequential_design",
                "unit": "seconds (median of 5)",
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "designs": results,
                "other": {k: round(v, 5) for k, v in extra.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
