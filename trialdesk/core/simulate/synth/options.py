"""What the synthetic world looks like; every number is an assumption a user may change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SynthOptions:
    """Knobs of the synthetic study.

    ``mir126_log2fc`` is the true treatment effect on the primary endpoint: the difference
    between arms in mean day-7 log2 fold change of miR-126-3p (−ΔΔCt), in log2 units;
    ``mir126_sd`` is the SD of that change within an arm (so the standardized effect is their
    ratio; 0.67 / 1.0 matches the protocol's planned d = 0.67).
    """

    mir126_log2fc: float = 0.67
    mir126_sd: float = 1.0
    dropout: float = 0.10  # primary endpoint missing (no day-7 visit)
    later_dropout: float = 0.03  # per later visit
    missed_visit: float = 0.04  # an intermittent missed follow-up visit
    early_termination_visit: float = 0.5  # dropouts who come for an ET visit
    unscheduled_visit: float = 0.05  # participants with one unscheduled visit
    randomized_if_eligible: float = 0.98
    related_sae_rate: tuple[float, float] = (0.005, 0.02)  # (control, experimental)
    fever_rate: tuple[float, float] = (0.03, 0.10)  # within 72 h of dosing
    background_ae_per_participant: float = 1.2
    recruitment_days: int = 540

    def __post_init__(self) -> None:
        for name in ("dropout", "later_dropout", "missed_visit", "early_termination_visit",
                     "unscheduled_visit", "randomized_if_eligible"):  # fmt: skip
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} = {value}: must be a probability in [0, 1]")
        if not self.mir126_sd > 0:
            raise ValueError(f"mir126_sd = {self.mir126_sd}: must be > 0")
        if self.recruitment_days < 1:
            raise ValueError("recruitment_days must be >= 1")
