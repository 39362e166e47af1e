"""What is true in a simulated world: effect, dropout, SAE rates, recruitment."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["Scenario"]


@dataclass(frozen=True)
class Scenario:
    """One true state of the world.

    ``effect`` is the standardized mean difference (treatment − control) / SD of the primary
    endpoint; ``sd`` only converts it back into endpoint units for reporting. ``dropout`` is the
    probability that a randomized participant has no primary-endpoint value (MCAR, or MAR on the
    baseline with ``dropout_baseline_log_odds`` per SD of baseline, ANCOVA only).
    ``sae_rate`` is the per-participant probability of a serious adverse event, (control,
    treatment). ``recruitment_per_month`` and ``followup_days`` (time from dosing to the primary
    endpoint) add the participants enrolled while an interim waits for its data ("overrun") and
    give the expected duration.
    """

    effect: float = 0.0
    sd: float = 1.0
    dropout: float = 0.0
    sae_rate: tuple[float, float] = (0.0, 0.0)
    baseline_correlation: float = 0.5
    dropout_baseline_log_odds: float = 0.0
    recruitment_per_month: float | None = None
    followup_days: float = 7.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.effect):
            raise ValueError(f"effect = {self.effect}: must be finite")
        if not self.sd > 0:
            raise ValueError(f"sd = {self.sd}: must be > 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout = {self.dropout}: allowed 0 <= dropout < 1")
        if len(self.sae_rate) != 2 or not all(0 <= p <= 1 for p in self.sae_rate):
            raise ValueError(f"sae_rate = {self.sae_rate}: need (control, treatment) in [0, 1]")
        if not -1 < self.baseline_correlation < 1:
            raise ValueError(f"baseline_correlation = {self.baseline_correlation}: in (-1, 1)")
        if self.recruitment_per_month is not None and not self.recruitment_per_month > 0:
            raise ValueError("recruitment_per_month must be > 0 when given")
        if self.followup_days < 0:
            raise ValueError("followup_days must be >= 0")

    def with_effect(self, effect: float) -> Scenario:
        return replace(self, effect=float(effect))

    def overrun(self) -> int:
        """Participants enrolled while the interim waits for follow-up of those already in."""
        if self.recruitment_per_month is None:
            return 0
        return int(round(self.recruitment_per_month * self.followup_days / 30.4375))
