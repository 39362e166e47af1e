"""Allocation: permuted blocks with random block sizes per stratum, simple randomization,
Pocock–Simon minimization with a random element; list hashing and re-verification; balance
and predictability by simulation; guessability after a code break. Pure Python + numpy;
arm generators are always ``numpy.random.Generator(PCG64(seed))`` and passed explicitly; a
live list's seed is ``new_seed()`` (128 bits from ``secrets``), kit codes and randomization
numbers come from an independent CSPRNG source.

Public API
----------
ListSpec, ListEntry, AllocationList, generate_list(spec, *, seed, labels=None),
new_seed(), check_list(spec, entries), arms_from_seed_match(spec, entries, *, seed),
list_hash(spec, entries), rng_from_seed(seed), GENERATORS (method → generator; registry)
neighbour_guessability(*, method, ratio, block_sizes) -> GuessabilityResult
minimization_assign(...), level_counts(history, arms), MinimizationResult
simulate_balance(*, spec, n_participants, n_simulations, rng, ...) -> BalanceResult
blocks.permuted_blocks / blocks.simple: the vectorised sequence generators behind both.
"""

from __future__ import annotations

from trialdesk.core.randomization.guess import GuessabilityResult, neighbour_guessability
from trialdesk.core.randomization.lists import (
    GENERATORS,
    SEED_BITS,
    AllocationList,
    ListEntry,
    ListSpec,
    arms_from_seed_match,
    check_list,
    generate_list,
    list_hash,
    new_seed,
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
    "SEED_BITS",
    "AllocationList",
    "BalanceResult",
    "GuessabilityResult",
    "ListEntry",
    "ListSpec",
    "MinimizationResult",
    "arms_from_seed_match",
    "check_list",
    "generate_list",
    "guess_success",
    "level_counts",
    "list_hash",
    "minimization_assign",
    "neighbour_guessability",
    "new_seed",
    "rng_from_seed",
    "simulate_balance",
]
