"""Vectorised sequence generators: many lists at once as an integer matrix of arm indices.

One code path serves both the single list a study uses (``n_lists=1``) and the 10⁵ lists of a
simulation, so what the statistical tests check is exactly what allocates participants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlockMatrix:
    """``arms[i, j]``: arm index of position j of list i; ``block[i, j]``: its block number;
    ``block_size[i, j]``: the size of that block; ``block_end[i, j]``: True at a block's last
    position. Rows are padded past their last complete block: ``valid`` marks real positions."""

    arms: np.ndarray
    block: np.ndarray
    block_size: np.ndarray
    block_end: np.ndarray
    valid: np.ndarray


def check_ratio(ratio: Sequence[int], block_sizes: Sequence[int]) -> None:
    """Refuse block sizes that cannot hold the allocation ratio exactly."""
    if not ratio or any(int(r) < 1 for r in ratio):
        raise ValueError(f"allocation ratio {tuple(ratio)} must be positive integers")
    total = sum(int(r) for r in ratio)
    if not block_sizes:
        raise ValueError("permuted blocks need at least one block size")
    bad = [b for b in block_sizes if int(b) < total or int(b) % total]
    if bad:
        raise ValueError(
            f"block sizes {bad} are not multiples of the ratio total {total} "
            f"(ratio {':'.join(map(str, ratio))}); allowed: {total}, {2 * total}, {3 * total}, …"
        )


def _templates(ratio: Sequence[int], sizes: Sequence[int]) -> np.ndarray:
    """Row k: the unshuffled arm indices of a block of ``sizes[k]`` (padded with -1)."""
    total = sum(ratio)
    table = np.full((len(sizes), max(sizes)), -1, dtype=np.int16)
    for k, size in enumerate(sizes):
        row = np.repeat(np.arange(len(ratio)), np.asarray(ratio) * (size // total))
        table[k, : len(row)] = row
    return table


def permuted_blocks(
    *,
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    min_length: int,
    n_lists: int,
    rng: np.random.Generator,
) -> BlockMatrix:
    """``n_lists`` independent permuted-block lists, each of whole blocks and at least
    ``min_length`` long; every block's size is drawn uniformly from ``block_sizes``."""
    check_ratio(ratio, block_sizes)
    sizes = np.asarray(sorted(set(int(b) for b in block_sizes)))
    n_blocks = -(-min_length // int(sizes.min()))
    size_idx = rng.integers(0, len(sizes), size=(n_lists, n_blocks))
    size_per_block = sizes[size_idx]
    ends = np.cumsum(size_per_block, axis=1)
    width = int(n_blocks * sizes.max())
    marks = np.zeros((n_lists, width + 1), dtype=np.int32)
    rows = np.repeat(np.arange(n_lists), n_blocks - 1)
    marks[rows, ends[:, :-1].ravel()] = 1
    block = np.cumsum(marks, axis=1)[:, :width]
    inside = np.arange(width)[None, :] < ends[:, -1:]
    starts = ends - size_per_block
    pos = np.arange(width)[None, :] - np.take_along_axis(starts, block, axis=1)
    kind = np.take_along_axis(size_idx, block, axis=1)
    unshuffled = _templates(list(ratio), list(sizes))[kind, np.clip(pos, 0, sizes.max() - 1)]
    unshuffled = np.where(inside, unshuffled, -1)
    # Sorting by (block, uniform key) permutes each block uniformly and keeps blocks in order;
    # the padding after the last block sorts into a group of its own.
    group = np.where(inside, block, n_blocks)
    order = np.argsort(group + rng.random((n_lists, width)), axis=1, kind="stable")
    arms = np.take_along_axis(unshuffled, order, axis=1)
    size = np.take_along_axis(size_per_block, block, axis=1)
    first_end = _first_end_at_least(ends, min_length)
    valid = np.arange(width)[None, :] < first_end[:, None]
    block_end = np.zeros_like(valid)
    block_end[np.repeat(np.arange(n_lists), n_blocks), (ends - 1).ravel()] = True
    return BlockMatrix(arms.astype(np.int16), block, size, block_end & valid, valid & inside)


def _first_end_at_least(ends: np.ndarray, length: int) -> np.ndarray:
    """Per row, the first cumulative block end that reaches ``length``."""
    idx = np.argmax(ends >= length, axis=1)
    return ends[np.arange(len(ends)), idx]


def simple(
    *, ratio: Sequence[int], length: int, n_lists: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_lists`` × ``length`` arm indices, each drawn independently with P(arm k) ∝ ratio[k]."""
    if not ratio or any(int(r) < 1 for r in ratio):
        raise ValueError(f"allocation ratio {tuple(ratio)} must be positive integers")
    p = np.asarray(ratio, dtype=float) / sum(ratio)
    return rng.choice(len(ratio), size=(n_lists, length), p=p).astype(np.int16)
