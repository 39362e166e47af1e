"""In-silico trial: operating characteristics by simulation, and a synthetic study generator.

Public API (keyword-only, frozen results):

- :class:`SimulationBoundary` — critical values (z scale), optional futility bounds and cumulative
  n per look; :func:`boundary_from_design` adapts a design-module boundary object.
- :class:`Scenario` — true effect (SD units), dropout, SAE rate per arm, recruitment.
- :class:`SafetyRule` — SAE stopping rule (``SafetyRule.beta_binomial(...)``).
- :func:`simulate_operating_characteristics` / :func:`simulate_scenarios` →
  :class:`OperatingCharacteristicsResult` (each probability with its Monte Carlo SE).
- :func:`simulate_chunk` — the pure unit of work (design + seed + chunk index → tally).
"""

from trialdesk.core.simulate.boundary import SafetyRule, SimulationBoundary, boundary_from_design
from trialdesk.core.simulate.engine import Tally, simulate_chunk, simulate_replicates
from trialdesk.core.simulate.result import OperatingCharacteristicsResult
from trialdesk.core.simulate.runner import (
    DEFAULT_CHUNK_SIZE,
    simulate_operating_characteristics,
    simulate_scenarios,
)
from trialdesk.core.simulate.scenario import Scenario

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "OperatingCharacteristicsResult",
    "SafetyRule",
    "Scenario",
    "SimulationBoundary",
    "Tally",
    "boundary_from_design",
    "simulate_chunk",
    "simulate_operating_characteristics",
    "simulate_replicates",
    "simulate_scenarios",
]
