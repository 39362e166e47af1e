"""Split replicates into chunks and run them inline, on local cores or on a dask cluster.

Whatever runs the chunks, tallies are combined in chunk order, so a result depends only on
(design, scenario, analysis, seed, replicates, chunk size) — not on the number of workers or on
the order in which chunks finish. At most ``2 × workers`` chunks are in flight at a time, and
each returns a tally of a few hundred bytes, so memory stays bounded whatever the replicate
count.

On a dask cluster every worker must be able to import ``trialdesk`` (same version): tasks are
small picklable :class:`ChunkTask` objects and the chunk function is ``run_chunk``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

from trialdesk.core.simulate.boundary import SafetyRule, SimulationBoundary
from trialdesk.core.simulate.engine import Tally, simulate_chunk
from trialdesk.core.simulate.result import OperatingCharacteristicsResult, result_from_tally
from trialdesk.core.simulate.scenario import Scenario

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ChunkTask",
    "run_tasks",
    "simulate_operating_characteristics",
    "simulate_scenarios",
]

#: Replicates per chunk. Part of what a result is reproducible for: changing it changes draws.
DEFAULT_CHUNK_SIZE = {"z": 250_000, "t": 250_000, "ancova": 10_000}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ChunkTask:
    """Everything one chunk needs; picklable, so it can go to a process or a dask worker."""

    boundary: SimulationBoundary
    scenario: Scenario
    analysis: str
    seed: int
    chunk_index: int
    replicates: int
    safety_rule: SafetyRule | None = None
    label: int = 0  # which scenario the chunk belongs to


def run_chunk(task: ChunkTask) -> Tally:
    return simulate_chunk(
        boundary=task.boundary,
        scenario=task.scenario,
        analysis=task.analysis,
        seed=task.seed,
        chunk_index=task.chunk_index,
        replicates=task.replicates,
        safety_rule=task.safety_rule,
    )


def _chunks(replicates: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    for i, start in enumerate(range(0, replicates, chunk_size)):
        yield i, min(chunk_size, replicates - start)


def simulate_cells(
    *,
    cells: Sequence[tuple[SimulationBoundary, Scenario]],
    replicates: int,
    seed: int,
    analysis: str = "z",
    safety_rule: SafetyRule | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: str = "process",
    progress: Progress | None = None,
) -> list[OperatingCharacteristicsResult]:
    """Operating characteristics of each (boundary, scenario) cell, all chunks in one pool."""
    if replicates < 1:
        raise ValueError(f"replicates = {replicates}: must be >= 1")
    size = chunk_size or DEFAULT_CHUNK_SIZE.get(analysis, 100_000)
    tasks = [
        ChunkTask(b, sc, analysis, seed, i, r, safety_rule, label=j)
        for j, (b, sc) in enumerate(cells)
        for i, r in _chunks(replicates, size)
    ]
    tallies = run_tasks(
        tasks, workers=workers, scheduler=scheduler, executor=executor, progress=progress
    )
    totals = [Tally(looks=b.looks) for b, _ in cells]
    for task, tally in zip(tasks, tallies, strict=True):
        totals[task.label] = totals[task.label] + tally
    return [
        result_from_tally(t, boundary=b, scenario=sc, analysis=analysis, seed=seed, chunk_size=size)
        for t, (b, sc) in zip(totals, cells, strict=True)
    ]


def simulate_scenarios(
    *,
    boundary: SimulationBoundary,
    scenarios: Sequence[Scenario],
    replicates: int,
    seed: int,
    analysis: str = "z",
    safety_rule: SafetyRule | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: str = "process",
    progress: Progress | None = None,
) -> list[OperatingCharacteristicsResult]:
    """Operating characteristics for several scenarios (e.g. H0 and H1) in one pool."""
    return simulate_cells(
        cells=[(boundary, sc) for sc in scenarios],
        replicates=replicates,
        seed=seed,
        analysis=analysis,
        safety_rule=safety_rule,
        chunk_size=chunk_size,
        workers=workers,
        scheduler=scheduler,
        executor=executor,
        progress=progress,
    )


def simulate_operating_characteristics(
    *,
    boundary: SimulationBoundary,
    scenario: Scenario,
    replicates: int,
    seed: int,
    analysis: str = "z",
    safety_rule: SafetyRule | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: str = "process",
    progress: Progress | None = None,
) -> OperatingCharacteristicsResult:
    """Operating characteristics of ``boundary`` under one ``scenario``."""
    (result,) = simulate_scenarios(
        boundary=boundary,
        scenarios=[scenario],
        replicates=replicates,
        seed=seed,
        analysis=analysis,
        safety_rule=safety_rule,
        chunk_size=chunk_size,
        workers=workers,
        scheduler=scheduler,
        executor=executor,
        progress=progress,
    )
    return result


def run_tasks(
    tasks: Sequence[Any],
    *,
    fn: Callable[[Any], Any] = run_chunk,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: str = "process",
    progress: Callable[[int], None] | None = None,
    weight: Callable[[Any], int] = lambda t: t.replicates,
) -> list[Any]:
    """Run ``fn`` over ``tasks`` and return the results in task order.

    ``scheduler`` (a dask.distributed address) wins over local execution; locally, ``workers``
    defaults to all cores, and one worker (or one task) runs inline without a pool.
    ``executor`` is "process" or "thread" (numpy releases the GIL in its bulk loops).
    """
    if scheduler:
        return _run_dask(tasks, fn, scheduler, progress, weight)
    n = workers or os.cpu_count() or 1
    if n <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            results.append(fn(task))
            if progress:
                progress(weight(task))
        return results
    if executor == "process" and not _main_importable():
        executor = "thread"  # a child could not re-import a __main__ read from stdin
    if executor == "thread":
        pool: futures.Executor = futures.ThreadPoolExecutor(max_workers=n)
    elif executor == "process":
        # forkserver: safe with threads in the parent (rich, dask); the preload makes the
        # server import numpy/scipy once, so workers start in milliseconds.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["trialdesk.core.simulate.runner"])
        pool = futures.ProcessPoolExecutor(max_workers=n, mp_context=ctx)
    else:
        raise ValueError(f"executor = {executor!r}: allowed are process, thread")
    with pool:
        return _run_windowed(tasks, lambda t: pool.submit(fn, t), futures.wait, n, progress, weight)


def _main_importable() -> bool:
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.exists(path)


def _run_windowed(tasks, submit, wait, n, progress, weight) -> list[Any]:  # type: ignore[no-untyped-def]
    results: list[Any] = [None] * len(tasks)
    pending: dict[Any, int] = {}
    it = iter(enumerate(tasks))
    for i, task in it:
        pending[submit(task)] = i
        if len(pending) >= 2 * n:
            break
    while pending:
        done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
        for fut in done:
            i = pending.pop(fut)
            results[i] = fut.result()
            if progress:
                progress(weight(tasks[i]))
            nxt = next(it, None)
            if nxt is not None:
                pending[submit(nxt[1])] = nxt[0]
    return results


def _run_dask(tasks, fn, scheduler, progress, weight) -> list[Any]:  # type: ignore[no-untyped-def]
    from distributed import Client, as_completed

    results: list[Any] = [None] * len(tasks)
    with Client(scheduler, set_as_default=False) as client:
        window = 2 * max(1, sum(client.nthreads().values()))
        index: dict[str, int] = {}
        it = iter(enumerate(tasks))

        def submit_next() -> Any:
            nxt = next(it, None)
            if nxt is None:
                return None
            fut = client.submit(fn, nxt[1], pure=False)
            index[fut.key] = nxt[0]
            return fut

        first = [f for f in (submit_next() for _ in range(window)) if f is not None]
        # Our own client's loop: never look for a global default client.
        queue = as_completed(first, loop=client.loop)
        for fut in queue:
            i = index.pop(fut.key)
            results[i] = fut.result()
            fut.release()
            if progress:
                progress(weight(tasks[i]))
            nxt = submit_next()
            if nxt is not None:
                queue.add(nxt)
    return results
