"""Allocation lists: generated from a seed, hashed, reproducible, re-verifiable.

The seed is the secret: whoever holds it can regenerate the list, so it is never stored with
the list. The list's SHA-256 (over its parameters and every entry, not the seed) goes in the
audit trail; re-verification regenerates from a re-entered seed and compares hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from trialdesk.core.randomization import blocks

#: Kit codes avoid letters and digits that are easily confused (0/O, 1/I, 2/Z, 5/S, 8/B).
KIT_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"
KIT_LENGTH = 6


@dataclass(frozen=True)
class ListSpec:
    """What a list is generated from (everything except the seed).

    ``strata`` are opaque stratum keys in a fixed order (e.g. ``site=01|onset=early``);
    ``factors`` name the minimization factors (minimization only).
    """

    method: str
    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    strata: tuple[str, ...] = ("all",)
    slots_per_stratum: int = 100
    block_sizes: tuple[int, ...] = ()
    minimization_probability: float | None = None
    factors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.arms) != len(self.ratio):
            raise ValueError(f"{len(self.arms)} arms but ratio has {len(self.ratio)} parts")
        if len(set(self.strata)) != len(self.strata) or not self.strata:
            raise ValueError(f"strata must be distinct and non-empty: {self.strata}")
        if self.slots_per_stratum < 1:
            raise ValueError(f"slots_per_stratum = {self.slots_per_stratum}: must be ≥ 1")
        if self.method not in GENERATORS:
            raise ValueError(f"unknown method {self.method!r}; known: {', '.join(GENERATORS)}")


@dataclass(frozen=True)
class ListEntry:
    """One slot. ``arm`` is empty for minimization (decided at allocation from ``draw`` and
    ``tie_draw``, two uniforms fixed in advance so the allocation is reproducible)."""

    stratum: str
    sequence: int
    randomization_number: str
    kit_code: str
    arm: str = ""
    block: int = 0
    block_size: int = 0
    draw: float = 0.0
    tie_draw: float = 0.0


@dataclass(frozen=True)
class AllocationList:
    spec: ListSpec
    entries: tuple[ListEntry, ...] = field(repr=False)

    @property
    def sha256(self) -> str:
        return list_hash(self.spec, self.entries)

    def stratum(self, key: str) -> list[ListEntry]:
        return [e for e in self.entries if e.stratum == key]

    def summary(self) -> str:
        per = {s: len(self.stratum(s)) for s in self.spec.strata}
        return (
            f"{self.spec.method} list, {len(self.entries)} slots in {len(per)} strata "
            f"(arms {':'.join(map(str, self.spec.ratio))}), sha256 {self.sha256}"
        )


def list_hash(spec: ListSpec, entries: tuple[ListEntry, ...] | list[ListEntry]) -> str:
    """SHA-256 of the canonical JSON of the spec and the entries (floats as repr strings)."""
    payload = {
        "spec": asdict(spec),
        "entries": [
            {**asdict(e), "draw": repr(float(e.draw)), "tie_draw": repr(float(e.tie_draw))}
            for e in entries
        ],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def rng_from_seed(seed: int) -> np.random.Generator:
    """The only generator used for allocation lists (explicit PCG64, never global state)."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.Generator(np.random.PCG64(seed))


def generate_list(spec: ListSpec, *, seed: int) -> AllocationList:
    """The list for ``spec`` from ``seed``: same seed and spec → the same list, bit for bit."""
    rng = rng_from_seed(seed)
    per_stratum = [GENERATORS[spec.method](spec, rng) for _ in spec.strata]
    entries: list[ListEntry] = []
    codes = _kit_codes(rng, sum(len(rows) for rows in per_stratum))
    for stratum, rows in zip(spec.strata, per_stratum, strict=True):
        for seq, row in enumerate(rows, start=1):
            number = f"R{len(entries) + 1:04d}"
            entries.append(
                ListEntry(stratum, seq, number, codes[len(entries)], **row)  # type: ignore[arg-type]
            )
    return AllocationList(spec, tuple(entries))


def _permuted(spec: ListSpec, rng: np.random.Generator) -> list[dict]:
    m = blocks.permuted_blocks(
        ratio=spec.ratio,
        block_sizes=spec.block_sizes,
        min_length=spec.slots_per_stratum,
        n_lists=1,
        rng=rng,
    )
    n = int(m.valid[0].sum())
    return [
        {
            "arm": spec.arms[m.arms[0, j]],
            "block": int(m.block[0, j]) + 1,
            "block_size": int(m.block_size[0, j]),
        }
        for j in range(n)
    ]


def _simple(spec: ListSpec, rng: np.random.Generator) -> list[dict]:
    arms = blocks.simple(ratio=spec.ratio, length=spec.slots_per_stratum, n_lists=1, rng=rng)
    return [{"arm": spec.arms[a]} for a in arms[0]]


def _minimization(spec: ListSpec, rng: np.random.Generator) -> list[dict]:
    if spec.minimization_probability is None or not 0 < spec.minimization_probability <= 1:
        raise ValueError("minimization needs minimization_probability in (0, 1]")
    if not spec.factors:
        raise ValueError("minimization needs at least one factor")
    draws = rng.random((spec.slots_per_stratum, 2))
    return [{"draw": float(d), "tie_draw": float(t)} for d, t in draws]


def _kit_codes(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct random kit codes, drawn after the arms so they carry no information."""
    alphabet = np.array(list(KIT_ALPHABET))
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < n:
        for row in rng.integers(0, len(alphabet), size=(n - len(codes), KIT_LENGTH)):
            code = "".join(alphabet[row])
            if code not in seen:
                seen.add(code)
                codes.append(code)
    return codes


#: Allocation methods by protocol name (explicit registry; nothing registers itself).
GENERATORS: Mapping[str, Callable[[ListSpec, np.random.Generator], list[dict]]] = {
    "permuted_block": _permuted,
    "simple": _simple,
    "minimization": _minimization,
}
