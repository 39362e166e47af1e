"""Allocation lists: generated from a secret seed, hashed, checked.

The seed is the secret: whoever holds it can regenerate every arm. A live list's seed is
``new_seed()`` — 128 bits from the operating system's CSPRNG (``secrets``) — used once to seed
the arm generator and then dropped: it is never stored, shown or logged. Kit codes and
randomization numbers are drawn from a second, independent CSPRNG source (``labels``), so
knowing any number of them says nothing about the arm stream, and randomization numbers are
not sequential (they do not tell a slot's position). ``check_list`` re-verifies a stored list
without its seed (every block balanced, sizes allowed, sequences complete, labels unique and
well formed); ``arms_from_seed_match`` re-derives the arms from a seed, for the documented
reproducible-test mode only. The list's SHA-256 (over its parameters and every entry) is the
unblinded side's fingerprint of the stored list; it is never shown to blinded roles.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from trialdesk.core.randomization import blocks

#: Kit codes avoid letters and digits that are easily confused (0/O, 1/I, 2/Z, 5/S, 8/B).
KIT_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"
KIT_LENGTH = 6
#: Randomization numbers: "R-" and six digits, drawn at random (never the slot's position).
NUMBER_PREFIX = "R-"
NUMBER_DIGITS = 6
#: Bits of a generated seed (a brute force over 2**128 seeds is out of reach).
SEED_BITS = 128


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
        slots = f"{len(self.entries)} slot{'' if len(self.entries) == 1 else 's'}"
        strata = f"{len(per)} {'stratum' if len(per) == 1 else 'strata'}"
        return (
            f"{self.spec.method} list, {slots} in {strata} "
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


def new_seed() -> int:
    """A fresh allocation seed from the operating system's CSPRNG (``SEED_BITS`` bits)."""
    return secrets.randbits(SEED_BITS)


def rng_from_seed(seed: int) -> np.random.Generator:
    """The only generator used for allocation lists (explicit PCG64, never global state)."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.Generator(np.random.PCG64(seed))


def generate_list(
    spec: ListSpec, *, seed: int, labels: random.Random | None = None
) -> AllocationList:
    """The list for ``spec``: arms from ``seed`` (same seed and spec → the same arms, blocks
    and draws, bit for bit); kit codes and randomization numbers from ``labels``, an
    independent source (default: the operating system's CSPRNG, ``secrets.SystemRandom``)."""
    rng = rng_from_seed(seed)
    labels = labels if labels is not None else secrets.SystemRandom()
    per_stratum = [GENERATORS[spec.method](spec, rng) for _ in spec.strata]
    n = sum(len(rows) for rows in per_stratum)
    codes = _distinct(labels, n, KIT_ALPHABET, KIT_LENGTH, "")
    numbers = _distinct(labels, n, "0123456789", NUMBER_DIGITS, NUMBER_PREFIX)
    entries: list[ListEntry] = []
    for stratum, rows in zip(spec.strata, per_stratum, strict=True):
        for seq, row in enumerate(rows, start=1):
            i = len(entries)
            entries.append(ListEntry(stratum, seq, numbers[i], codes[i], **row))  # type: ignore[arg-type]
    return AllocationList(spec, tuple(entries))


ARM_COLUMNS = ("stratum", "sequence", "arm", "block", "block_size", "draw", "tie_draw")


def arms_from_seed_match(spec: ListSpec, entries: Sequence[ListEntry], *, seed: int) -> bool:
    """Whether ``seed`` regenerates the arms, blocks and draws of ``entries`` (kit codes and
    randomization numbers come from an independent source and are not compared)."""

    def key(e: ListEntry) -> tuple:
        return tuple(getattr(e, c) for c in ARM_COLUMNS)

    again = generate_list(spec, seed=seed, labels=random.Random(0))
    return sorted(map(key, again.entries)) == sorted(map(key, entries))


def check_list(spec: ListSpec, entries: Sequence[ListEntry]) -> list[str]:
    """Everything wrong with a stored list, without its seed (empty when it is sound):
    strata and sequences complete, arms known, kit codes and randomization numbers unique,
    and for permuted blocks every block of an allowed size holding the ratio exactly."""
    problems: list[str] = []
    known = set(spec.strata)
    for stratum in sorted({e.stratum for e in entries} - known):
        problems.append(f"stratum {stratum!r} is not one of {', '.join(spec.strata)}")
    for stratum in spec.strata:
        rows = sorted((e for e in entries if e.stratum == stratum), key=lambda e: e.sequence)
        if [e.sequence for e in rows] != list(range(1, len(rows) + 1)) or not rows:
            problems.append(f"stratum {stratum}: sequences do not run 1, 2, 3, … without gaps")
        if spec.method == "permuted_block":
            problems.extend(_block_problems(spec, stratum, rows))
    arms = set(spec.arms) | ({""} if spec.method == "minimization" else set())
    bad = sorted({e.arm for e in entries} - arms)
    if bad:
        problems.append(f"{len(bad)} arm code(s) are not the protocol's arms")
    for attr in ("kit_code", "randomization_number"):
        counts = Counter(getattr(e, attr) for e in entries)
        if any(c > 1 for c in counts.values()) or "" in counts:
            problems.append(f"every {attr.replace('_', ' ')} must be present and unique")
    return problems


def _block_problems(spec: ListSpec, stratum: str, rows: list[ListEntry]) -> list[str]:
    if all(e.block == 0 for e in rows):
        return []  # an imported list carries no block structure to check
    total = sum(spec.ratio)
    out = []
    for block in sorted({e.block for e in rows}):
        arms = [e.arm for e in rows if e.block == block]
        sizes = {e.block_size for e in rows if e.block == block}
        size = sizes.pop() if len(sizes) == 1 else -1
        expected = {a: r * size // total for a, r in zip(spec.arms, spec.ratio, strict=True)}
        if size not in spec.block_sizes or len(arms) != size:
            out.append(f"stratum {stratum}, block {block}: size is not one of {spec.block_sizes}")
        elif {a: arms.count(a) for a in spec.arms} != expected:
            out.append(f"stratum {stratum}, block {block}: arms do not follow the ratio")
    return out


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


def _distinct(source: random.Random, n: int, alphabet: str, length: int, prefix: str) -> list[str]:
    """``n`` distinct codes of ``length`` characters drawn uniformly from ``alphabet``."""
    if n > len(alphabet) ** length // 10:
        raise ValueError(f"{n} codes are too many for {length} characters of {alphabet!r}")
    codes: dict[str, None] = {}
    while len(codes) < n:
        codes.setdefault(prefix + "".join(source.choice(alphabet) for _ in range(length)))
    return list(codes)


#: Allocation methods by protocol name (explicit registry; nothing registers itself).
GENERATORS: Mapping[str, Callable[[ListSpec, np.random.Generator], list[dict]]] = {
    "permuted_block": _permuted,
    "simple": _simple,
    "minimization": _minimization,
}
