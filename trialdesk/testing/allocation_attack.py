"""The security review's attack on the allocation list (issue 9, finding 1), for tests.

Before issue 9 the list's kit codes were drawn from the arm generator right after the arms
(``rng.integers`` over the kit alphabet), the seed was a small integer typed by a person, and a
blinded coordinator could read kit codes from the allocations API. Trying seeds with the open
generator until the kit codes match gave the seed and with it every arm. ``old_scheme_list``
is that generator (the control: the attack must find its seed); ``brute_force`` is the attack,
made fast by replaying only the draws the arms consume (a PCG64 stream position does not
depend on what the draws were used for).
"""

from __future__ import annotations

import numpy as np

from trialdesk.core.randomization import ListSpec, rng_from_seed
from trialdesk.core.randomization.lists import GENERATORS, KIT_ALPHABET, KIT_LENGTH


def old_scheme_list(spec: ListSpec, seed: int) -> list[tuple[str, str]]:
    """(arm, kit code) per slot, as the pre-issue-9 generator made them from ``seed``."""
    rng = rng_from_seed(seed)
    arms = [row["arm"] for _ in spec.strata for row in GENERATORS[spec.method](spec, rng)]
    alphabet = np.array(list(KIT_ALPHABET))
    draws = rng.integers(0, len(alphabet), size=(len(arms), KIT_LENGTH))
    return [(arm, "".join(alphabet[row])) for arm, row in zip(arms, draws, strict=True)]


def _old_kit_numbers(spec: ListSpec, seed: int, weights: np.ndarray) -> set[int]:
    """Every kit code the old generator gives ``seed`` (permuted blocks) as an integer,
    replaying only the draws of ``blocks.permuted_blocks``: block sizes (which fix the list's
    length), then the shuffle keys, per stratum."""
    rng = rng_from_seed(seed)
    sizes = sorted(set(spec.block_sizes))
    n_blocks = -(-spec.slots_per_stratum // sizes[0])
    n = 0
    for _ in spec.strata:
        end = 0
        for k in rng.integers(0, len(sizes), size=(1, n_blocks))[0].tolist():
            end += sizes[k]
            if end >= spec.slots_per_stratum:
                break
        n += end
        rng.random((1, n_blocks * sizes[-1]))
    return set((rng.integers(0, len(KIT_ALPHABET), (n, KIT_LENGTH)) @ weights).tolist())


def brute_force(spec: ListSpec, kit_codes: list[str], seeds: range) -> int | None:
    """The first seed in ``seeds`` whose old-scheme list holds every one of ``kit_codes`` (the
    codes a blinded coordinator reads from the allocations API), or None."""
    weights = len(KIT_ALPHABET) ** np.arange(KIT_LENGTH, dtype=np.int64)
    codes = np.array([[KIT_ALPHABET.index(c) for c in code] for code in kit_codes])
    wanted = set((codes @ weights).tolist())
    for seed in seeds:
        if wanted <= _old_kit_numbers(spec, seed, weights):
            return seed
    return None
