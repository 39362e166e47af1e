"""Power and sample size for two-group trials (pure; no Django).

Public API: :func:`power_two_means`, :func:`power_two_proportions`,
:func:`evaluable_per_group`, :func:`enrolment_for_dropout`, :class:`PowerResult`,
:class:`DesignInputError`.
"""

from trialdesk.core.design._validate import DesignInputError
from trialdesk.core.design.power import (
    PowerResult,
    enrolment_for_dropout,
    evaluable_per_group,
    power_two_means,
    power_two_proportions,
)

__all__ = [
    "DesignInputError",
    "PowerResult",
    "enrolment_for_dropout",
    "evaluable_per_group",
    "power_two_means",
    "power_two_proportions",
]
