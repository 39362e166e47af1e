"""Design-space sweep: the same boundary shape at several maximum sample sizes × effects.

All cells' chunks go to one pool (or one dask cluster) together, so a large grid keeps every
worker busy; each cell is still reproducible on its own (same seed, same chunk indices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialdesk.core.simulate.boundary import SafetyRule, SimulationBoundary
from trialdesk.core.simulate.engine import Tally
from trialdesk.core.simulate.result import OperatingCharacteristicsResult, result_from_tally
from trialdesk.core.simulate.runner import DEFAULT_CHUNK_SIZE, ChunkTask, Progress, run_tasks
from trialdesk.core.simulate.scenario import Scenario

__all__ = ["GridResult", "plot_grid", "simulate_grid"]


@dataclass(frozen=True)
class GridResult:
    """One OperatingCharacteristicsResult per (n_max, scenario), row-major in n_max."""

    n_max: tuple[int, ...]
    effects: tuple[float, ...]
    cells: tuple[OperatingCharacteristicsResult, ...]

    def cell(self, n_max: int, effect: float) -> OperatingCharacteristicsResult:
        i, j = self.n_max.index(n_max), self.effects.index(effect)
        return self.cells[i * len(self.effects) + j]

    def to_rows(self) -> list[dict[str, Any]]:
        rows = []
        for cell in self.cells:
            row = {"n_max": cell.n_per_look[-1]}
            row.update(cell.to_dict())
            rows.append(row)
        return rows

    def summary(self) -> str:
        lines = ["n_max  effect  P(reject)  stop interim  E[n]"]
        for c in self.cells:
            lines.append(
                f"{c.n_per_look[-1]:5d}  {c.effect:6.3g}  {c.reject:.4f}     "
                f"{c.stop_interim:.4f}        {c.expected_n:.1f}"
            )
        return "\n".join(lines)


def simulate_grid(
    *,
    boundary: SimulationBoundary,
    n_max: Sequence[int],
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
) -> GridResult:
    """Operating characteristics on the grid n_max × scenarios (bounds kept on the z scale)."""
    size = chunk_size or DEFAULT_CHUNK_SIZE.get(analysis, 100_000)
    cells = [(boundary.with_n_max(n), sc) for n in n_max for sc in scenarios]
    tasks = [
        ChunkTask(b, sc, analysis, seed, i, min(size, replicates - start), safety_rule, label=j)
        for j, (b, sc) in enumerate(cells)
        for i, start in enumerate(range(0, replicates, size))
    ]
    tallies = run_tasks(
        tasks, workers=workers, scheduler=scheduler, executor=executor, progress=progress
    )
    totals = [Tally(looks=boundary.looks) for _ in cells]
    for task, tally in zip(tasks, tallies, strict=True):
        totals[task.label] = totals[task.label] + tally
    results = tuple(
        result_from_tally(t, boundary=b, scenario=sc, analysis=analysis, seed=seed, chunk_size=size)
        for t, (b, sc) in zip(totals, cells, strict=True)
    )
    return GridResult(
        n_max=tuple(int(n) for n in n_max),
        effects=tuple(sc.effect for sc in scenarios),
        cells=results,
    )


def plot_grid(result: GridResult, path: Path, *, title: str = "") -> Path:
    """Power and expected n against maximum sample size, one line per effect."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_p, ax_n = fig.subplots(1, 2)
    for effect in result.effects:
        cells = [result.cell(n, effect) for n in result.n_max]
        p = [c.reject for c in cells]
        err = [2 * c.mcse_reject for c in cells]
        ax_p.errorbar(result.n_max, p, yerr=err, marker="o", capsize=3, label=f"δ = {effect:g}")
        ax_n.plot(result.n_max, [c.expected_n for c in cells], marker="o", label=f"δ = {effect:g}")
    ax_p.set(xlabel="maximum total n", ylabel="P(reject H0)", ylim=(0, 1))
    ax_p.axhline(0.8, color="grey", lw=0.5, ls="--")
    ax_n.set(xlabel="maximum total n", ylabel="expected total n")
    ax_n.plot(result.n_max, result.n_max, color="grey", lw=0.5, ls="--")
    ax_p.legend()
    fig.suptitle(title or "Design grid (error bars: ±2 Monte Carlo SE)")
    fig.savefig(path)
    return path
