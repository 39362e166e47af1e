"""Allocation: permuted blocks with random block sizes per stratum, simple randomization,
Pocock–Simon minimization with a random element; list hashing and re-verification; balance
and predictability by simulation. Pure Python + numpy; generators are always
``numpy.random.Generator(PCG64(seed))`` and passed explicitly.

Public API
----------
ListSpec, ListEntry, AllocationList, generate_list(spec, *, seed), list_hash(spec, entries),
rng_from_seed(seed), GENERATORS (method → generator; explicit registry)
minimization_assign(...), level_counts(history, arms), MinimizationResult
simulate_balance(*, spec, n_participants, n_simulations, rng, ...) -> BalanceResult
blocks.permuted_blocks / blocks.simple: the vectorised sequence generators behind both.
"""

from __future__ import annotations

from trialdesk.core.randomization.lists import (
    GENERATORS,
    AllocationList,
    ListEntry,
    ListSpec,
    generate_list,
    list_hash,
    rng_from_seed,
)
from trialdesk.core.randomization.minimization import (
    MinimizationResult,
    level_counts,
    minimization_assign,
)
from trialdesk.core.randomization.simulate import BalanceResult, guess_success, simulate_balance

__all__ = [
    "GENERATORS",
    "AllocationList",
    "BalanceResult",
    "ListEntry",
    "ListSpec",
    "MinimizationResult",
    "generate_list",
    "guess_success",
    "level_counts",
    "list_hash",
    "minimization_assign",
    "rng_from_seed",
    "simulate_balance",
]
