"""Analyses of observed data (pure; no Django)."""

from trialdesk.core.analysis.interim import (
    InterimComputation,
    TwoSampleStatistic,
    compute_interim,
    monitoring_design,
    two_sample_z,
)

__all__ = [
    "InterimComputation",
    "TwoSampleStatistic",
    "compute_interim",
    "monitoring_design",
    "two_sample_z",
]
