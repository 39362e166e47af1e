"""Group-sequential designs and interim monitoring (pure; no Django)."""

from trialdesk.core.sequential.design import (
    CrossingProbabilities,
    GroupSequentialDesign,
    crossing_probabilities,
    group_sequential_design,
)

__all__ = [
    "CrossingProbabilities",
    "GroupSequentialDesign",
    "crossing_probabilities",
    "group_sequential_design",
]
