"""How much one code break tells about the neighbours (the pre-study report).

A code break reveals one participant's arm to blinded people. With permuted blocks the arms
near it are no longer 50:50: in a block of 2 the partner's arm is certain. Two exact numbers,
computed with fractions (no simulation) for permuted blocks whose sizes are drawn uniformly
from ``block_sizes`` (as ``blocks.permuted_blocks`` does) and for simple randomization:

``partner``
    Someone who knows the block boundaries guesses the arm of another member of the revealed
    participant's block (a block of size s is that participant's block with probability
    ∝ s · P(size s), the size-biased law). Blocks of 2 at 1:1: 1; blocks of 4: 2/3.
``next_neighbour``
    Someone who knows only the order of allocation in the stratum (not the block boundaries,
    which trialdesk never shows) guesses the arm of the next participant in the same stratum.
    The revealed participant sits at position i of a block of size s with stationary
    probability P(size s) / E[size]; when i < s the neighbour is in the same block, otherwise
    it opens a new one (arm independent, with the ratio's probabilities). 1:1 blocks of 2:
    1/2 · 1 + 1/2 · 1/2 = 3/4; blocks of 4: 3/4 · 2/3 + 1/4 · 1/2 = 5/8; sizes {2, 4}: 2/3.

Both use the best guess (the arm with the highest posterior probability given the revealed
arm). ``baseline`` is what a guess without any code break achieves: the largest ratio share
(1/2 at 1:1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from trialdesk.core.randomization.blocks import check_ratio


@dataclass(frozen=True)
class GuessabilityResult:
    method: str
    ratio: tuple[int, ...]
    block_sizes: tuple[int, ...]
    baseline: Fraction
    partner: Fraction | None
    next_neighbour: Fraction

    def summary(self) -> str:
        partner = (
            f"a member of the same block {float(self.partner):.3f}; "
            if self.partner is not None
            else ""
        )
        return (
            f"after one code break the best guess of a neighbour's arm is right with "
            f"probability: {partner}the next participant in the stratum "
            f"{float(self.next_neighbour):.3f} (without a code break "
            f"{float(self.baseline):.3f})"
        )


def neighbour_guessability(
    *, method: str, ratio: Sequence[int], block_sizes: Sequence[int] = ()
) -> GuessabilityResult:
    """Exact guess-success probabilities after one code break (see the module docstring).
    ``method`` is ``permuted_block`` or ``simple``; minimization has no fixed list (ValueError).
    """
    ratio = tuple(int(r) for r in ratio)
    shares = [Fraction(r, sum(ratio)) for r in ratio]
    baseline = max(shares)
    if method == "simple":
        return GuessabilityResult(method, ratio, (), baseline, None, baseline)
    if method != "permuted_block":
        raise ValueError(f"guessability is computed for permuted_block and simple, not {method}")
    sizes = tuple(sorted({int(b) for b in block_sizes}))
    check_ratio(ratio, sizes)
    p_size = Fraction(1, len(sizes))
    mean_size = sum(p_size * s for s in sizes)
    partner = Fraction(0)
    nxt = Fraction(0)
    for a, share_a in enumerate(shares):
        same = [_within(ratio, s, a) for s in sizes]  # P(other member = b | a), per size
        p_same_block = [p_size * s / mean_size for s in sizes]  # size-biased
        partner += share_a * max(
            sum(w * row[b] for w, row in zip(p_same_block, same, strict=True))
            for b in range(len(ratio))
        )
        # position i < s (s - 1 of s positions) → same block; i = s → new block
        p_next = [
            sum(
                p_size / mean_size * ((s - 1) * row[b] + shares[b])
                for s, row in zip(sizes, same, strict=True)
            )
            for b in range(len(ratio))
        ]
        nxt += share_a * max(p_next)
    return GuessabilityResult(method, ratio, sizes, baseline, partner, nxt)


def _within(ratio: tuple[int, ...], size: int, revealed: int) -> list[Fraction]:
    """P(another member of a block of ``size`` has arm b | one member has arm ``revealed``)."""
    counts = [r * size // sum(ratio) for r in ratio]
    counts[revealed] -= 1
    return [Fraction(c, size - 1) for c in counts]
