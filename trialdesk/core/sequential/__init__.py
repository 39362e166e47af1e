"""Group-sequential designs and interim monitoring (pure; no Django)."""

from trialdesk.core.sequential.design import (
    CrossingProbabilities,
    GroupSequentialDesign,
    crossing_probabilities,
    drift_for_means,
    group_sequential_design,
)
from trialdesk.core.sequential.interim import (
    FinalInference,
    InterimResult,
    conditional_power,
    final_inference,
    interim_analysis,
    repeated_confidence_interval,
    stagewise_adjusted_p_value,
)

__all__ = [
    "CrossingProbabilities",
    "GroupSequentialDesign",
    "crossing_probabilities",
    "drift_for_means",
    "group_sequential_design",
    "FinalInference",
    "InterimResult",
    "final_inference",
    "conditional_power",
    "interim_analysis",
    "repeated_confidence_interval",
    "stagewise_adjusted_p_value",
]
