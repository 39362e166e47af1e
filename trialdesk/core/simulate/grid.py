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
from trialdesk.core.simulate.result import OperatingCharacteristicsResult
from trialdesk.core.simulate.runner import Progress, simulate_cells
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
    cells = [(boundary.with_n_max(n), sc) for n in n_max for sc in scenarios]
    results = simulate_cells(
        cells=cells,
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
    return GridResult(
        n_max=tuple(int(n) for n in n_max),
        effects=tuple(sc.effect for sc in scenarios),
        cells=tuple(results),
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
