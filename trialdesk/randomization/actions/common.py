"""What every randomization write shares: the roles and the errors (which never name an arm)."""

from __future__ import annotations

from django.utils import timezone

from trialdesk.accounts.models import Role
from trialdesk.randomization.models import (
    Allocation,
)

RANDOMIZERS = (Role.COORDINATOR, Role.INVESTIGATOR)
LIST_OWNERS = (Role.UNBLINDED_STATISTICIAN,)


class RandomizationError(ValueError):
    """A randomization write was refused; the message never names an arm."""


class AlreadyRandomized(RandomizationError):
    def __init__(self, allocation: Allocation):
        super().__init__(
            f"{allocation.participant.subject_id} is already randomized: "
            f"{allocation.randomization_number}, kit {allocation.kit_code}, "
            f"{timezone.localtime(allocation.allocated_at):%Y-%m-%d %H:%M}"
        )
        self.allocation = allocation
