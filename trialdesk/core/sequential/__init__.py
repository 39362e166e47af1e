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
from trialdesk.core.sequential.means import (
    EffectScaleBoundaries,
    MeansPowerResult,
    MeansSampleSizeResult,
    power_means,
    sample_size_means,
    t_adjusted_drift,
)

__all__ = [
    "CrossingProbabilities",
    "EffectScaleBoundaries",
    "MeansPowerResult",
    "MeansSampleSizeResult",
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
    "power_means",
    "sample_size_means",
    "stagewise_adjusted_p_value",
    "t_adjusted_drift",
]
