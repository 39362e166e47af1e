"""The design report: sample-size justification, interim boundaries, safety stopping tables,
and how guessable neighbours' arms are after one emergency code break.

The numbers come from ``trialdesk.core`` (design, sequential, safety_monitoring); this module
only collects them into :class:`DesignReport` and renders HTML (jinja2) and PNG figures
(matplotlib, Agg backend). The protocol is read through one adapter,
:func:`inputs_from_protocol`, into the plain :class:`DesignInputs`, so the report can also be
built from inputs typed by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trialdesk.core.design import PowerResult, evaluable_per_group, power_two_means
from trialdesk.core.design.power import enrolment_for_dropout
from trialdesk.core.randomization import GuessabilityResult, neighbour_guessability
from trialdesk.core.safety_monitoring import (
    OperatingCharacteristics,
    SafetyBoundary,
    bayesian_boundary,
)
from trialdesk.core.safety_monitoring.monitor import SafetyBoundary as _Boundary
from trialdesk.core.safety_monitoring.rules import PosteriorRow, posterior_table
from trialdesk.core.sequential import GroupSequentialDesign, power_means, sample_size_means
from trialdesk.core.sequential.planned import planned_design

OC_RATES = (0.007, 0.02, 0.05, 0.10, 0.20, 0.30)


@dataclass(frozen=True, kw_only=True)
class SafetyRuleInputs:
    """One safety stopping rule: either Bayesian parameters or explicit count steps."""

    code: str
    label: str
    kind: str  # "beta_binomial" | "count_boundary"
    n_max: int
    action: str = ""
    prior_mean: float | None = None
    prior_n: float | None = None
    threshold: float | None = None
    posterior_probability: float | None = None
    min_n: int = 1
    steps: tuple[tuple[int, int], ...] = ()  # (n_max, events): up to n_max treated, stop at >=


@dataclass(frozen=True, kw_only=True)
class DesignInputs:
    """What the report needs from a protocol (plain data)."""

    study_id: str
    title: str
    test: str
    alpha: float
    sided: int
    power: float
    dropout: float
    n_per_arm: int
    effect: float
    block_size: int = 2
    allocation_method: str = "permuted_block"
    ratio: tuple[int, ...] = (1, 1)
    block_sizes: tuple[int, ...] = ()  # empty: blocks of ``block_size`` only
    information_fractions: tuple[float, ...] = (1.0,)
    efficacy_spending: str = "none"
    futility_spending: str | None = None
    binding_futility: bool = False
    safety_rules: tuple[SafetyRuleInputs, ...] = ()
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, kw_only=True)
class SafetyRuleReport:
    rule: SafetyRuleInputs
    boundary: SafetyBoundary
    characteristics: tuple[OperatingCharacteristics, ...]
    #: Bayesian rules: the posterior at the last look for every count up to the one that fires.
    posterior: tuple[PosteriorRow, ...] = ()

    def ranges(self) -> list[tuple[str, str]]:
        """Rows 'n from-to' -> 'stop at >= x', merging checkpoints with the same count."""
        rows: list[tuple[str, str]] = []
        pairs = list(zip(self.boundary.checkpoints, self.boundary.stop_counts, strict=True))
        start = 0
        for i in range(1, len(pairs) + 1):
            if i == len(pairs) or pairs[i][1] != pairs[start][1]:
                lo, hi = pairs[start][0], pairs[i - 1][0]
                c = pairs[start][1]
                rows.append((f"{lo}" if lo == hi else f"{lo}–{hi}", "–" if c > hi else f"≥ {c}"))
                start = i
        return rows


@dataclass(frozen=True, kw_only=True)
class DesignReport:
    """Everything the design report shows, computed from :class:`DesignInputs`.

    Attributes
    ----------
    fixed : PowerResult
        Sample size of the fixed (no interim) design for the protocol's effect.
    implied : PowerResult
        Effect detectable with the protocol's n per arm after dropout.
    design : GroupSequentialDesign or None
        The interim design (None when the protocol has no interim).
    power_with_interim : float or None
        Power of the protocol's sample size once the interim look is accounted for.
    n_per_arm_needed : int or None
        Enrolment per arm that keeps the stated power with the interim (inflation factor).
    """

    inputs: DesignInputs
    fixed: PowerResult
    implied: PowerResult
    design: GroupSequentialDesign | None
    design_note: str
    power_with_interim: float | None
    n_evaluable_needed: int | None
    n_per_arm_needed: int | None
    safety: tuple[SafetyRuleReport, ...]
    guessability: GuessabilityResult | None = None

    @property
    def sample_size_ok(self) -> bool:
        return self.inputs.n_per_arm >= self.fixed.n_enrolled[0]

    @property
    def interim_ok(self) -> bool:
        return self.n_per_arm_needed is None or self.inputs.n_per_arm >= self.n_per_arm_needed

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": asdict(self.inputs),
            "fixed": self.fixed.to_dict(),
            "implied": self.implied.to_dict(),
            "design": None if self.design is None else self.design.to_dict(),
            "design_note": self.design_note,
            "power_with_interim": self.power_with_interim,
            "n_evaluable_needed": self.n_evaluable_needed,
            "n_per_arm_needed": self.n_per_arm_needed,
            "safety": [
                {
                    "code": s.rule.code,
                    **s.boundary.to_dict(),
                    "operating_characteristics": [
                        {"rate": oc.rate, "probability_stop": oc.probability_stop,
                         "expected_n": oc.expected_n}
                        for oc in s.characteristics
                    ],
                    "posterior": [asdict(row) for row in s.posterior],
                }
                for s in self.safety
            ],
            "guessability": _guess_dict(self.guessability),
        }  # fmt: skip


def _guess_dict(g: GuessabilityResult | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {
        "method": g.method,
        "block_sizes": list(g.block_sizes),
        "baseline": float(g.baseline),
        "partner": None if g.partner is None else float(g.partner),
        "next_neighbour": float(g.next_neighbour),
        "exact": {
            "partner": None if g.partner is None else str(g.partner),
            "next_neighbour": str(g.next_neighbour),
        },
    }


def inputs_from_protocol(protocol: Any) -> DesignInputs:
    """Adapter from ``trialdesk.core.protocol.Protocol`` to :class:`DesignInputs`."""
    ss = protocol.sample_size
    interim = protocol.interim
    arms = {code: arm for code, arm in protocol.arms.items()}
    ratio_sum = sum(a.ratio for a in arms.values()) or 2
    blocks = tuple(getattr(protocol.allocation, "block_sizes", ()) or ())
    rules = tuple(_rule_inputs(r, ss.n_per_arm, len(arms)) for r in protocol.safety_rules.values())
    return DesignInputs(
        study_id=protocol.study.id,
        title=protocol.study.title,
        test=ss.test,
        alpha=ss.alpha,
        sided=ss.sides,
        power=ss.power,
        dropout=ss.dropout,
        n_per_arm=ss.n_per_arm,
        effect=_standardized(ss.effect),
        block_size=min(blocks) if blocks else ratio_sum,
        allocation_method=str(protocol.allocation.method),
        ratio=tuple(a.ratio for a in arms.values()),
        block_sizes=blocks,
        information_fractions=tuple(interim.information_fractions) if interim else (1.0,),
        efficacy_spending=interim.efficacy_spending if interim else "none",
        futility_spending=interim.futility_spending if interim else None,
        binding_futility=bool(interim.binding_futility) if interim else False,
        safety_rules=rules,
        notes=tuple(n for n in (ss.note, interim.note if interim else None) if n),
    )


def _standardized(effect: Any) -> float:
    if effect.standardized is not None:
        return float(effect.standardized)
    return float(effect.mean_difference) / float(effect.sd)


def _rule_inputs(rule: Any, n_per_arm: int, n_arms: int) -> SafetyRuleInputs:
    n_max = n_per_arm if rule.arm else n_per_arm * n_arms
    if rule.type == "beta_binomial":
        return SafetyRuleInputs(
            code=rule.code,
            label=rule.label,
            kind=rule.type,
            n_max=n_max,
            action=rule.action,
            prior_mean=rule.prior_mean,
            prior_n=rule.prior_n,
            threshold=rule.threshold,
            posterior_probability=rule.posterior_probability,
            min_n=rule.min_n,
        )
    steps = tuple((s.n_max, s.events) for s in rule.boundary)
    return SafetyRuleInputs(
        code=rule.code,
        label=rule.label,
        kind=rule.type,
        n_max=max(n_max, steps[-1][0]) if rule.arm is None else n_max,
        action=rule.action,
        steps=steps,
    )


# --- computing the report -----------------------------------------------------------------


def build_report(inputs: DesignInputs) -> DesignReport:
    """Compute every number of the report from plain inputs."""
    test = inputs.test if inputs.test in ("t", "z") else "t"

    def solve(n: float | None, effect: float | None) -> PowerResult:
        return power_two_means(
            n_per_group=n,
            effect=effect,
            power=inputs.power,
            alpha=inputs.alpha,
            sided=inputs.sided,
            test=test,
            dropout=inputs.dropout,
            block_size=inputs.block_size,
        )

    fixed = solve(None, inputs.effect)
    evaluable = evaluable_per_group(n_enrolled=inputs.n_per_arm, dropout=inputs.dropout)
    implied = solve(evaluable, None)
    design, note = _interim_design(inputs)
    power_gsd = n_eval_needed = n_needed = None
    if design is not None:
        # rpact's getPowerMeans / getSampleSizeMeans (core.sequential.means): the t-adjusted
        # drift at the protocol's evaluable N (both arms, 1:1) and n_max = n_fixed(t test) x
        # the inflation factor.
        power_gsd, n_eval_needed = _interim_power_and_size(inputs, design, evaluable, test)
        n_needed = enrolment_for_dropout(
            n_evaluable=(n_eval_needed, n_eval_needed),
            dropout=inputs.dropout,
            block_size=inputs.block_size,
            allocation=(1, 1),
        )[0]
    safety = tuple(_safety(rule) for rule in inputs.safety_rules)
    return DesignReport(
        guessability=_guessability(inputs),
        inputs=inputs,
        fixed=fixed,
        implied=implied,
        design=design,
        design_note=note,
        power_with_interim=power_gsd,
        n_evaluable_needed=n_eval_needed,
        n_per_arm_needed=n_needed,
        safety=safety,
    )


def _interim_power_and_size(
    inputs: DesignInputs, design: GroupSequentialDesign, evaluable: int, test: str
) -> tuple[float, int]:
    """Power of the protocol's evaluable N with the interim, and the evaluable n per arm that
    restores the target power (rpact's conventions, 1:1 allocation, standardized effect)."""
    normal = test == "z"
    power = power_means(
        design=design,
        alternative=inputs.effect,
        max_n=2 * evaluable,
        normal_approximation=normal,
    ).power
    size = sample_size_means(design=design, alternative=inputs.effect, normal_approximation=normal)
    return power, math.ceil(size.max_n / 2 - 1e-9)


def _guessability(inputs: DesignInputs) -> GuessabilityResult | None:
    """Exact guess success after one code break (None for minimization: no fixed list)."""
    if inputs.allocation_method not in ("permuted_block", "simple"):
        return None
    return neighbour_guessability(
        method=inputs.allocation_method,
        ratio=inputs.ratio,
        block_sizes=inputs.block_sizes or (inputs.block_size,),
    )


def _interim_design(inputs: DesignInputs) -> tuple[GroupSequentialDesign | None, str]:
    return planned_design(
        alpha=inputs.alpha,
        sided=inputs.sided,
        power=inputs.power,
        information_fractions=inputs.information_fractions,
        efficacy_spending=inputs.efficacy_spending,
        futility_spending=inputs.futility_spending,
        binding_futility=inputs.binding_futility,
    )


def _safety(rule: SafetyRuleInputs) -> SafetyRuleReport:
    checkpoints = list(range(max(rule.min_n, 1), rule.n_max + 1))
    if rule.kind == "beta_binomial":
        assert rule.threshold is not None and rule.posterior_probability is not None
        assert rule.prior_mean is not None and rule.prior_n is not None
        boundary = bayesian_boundary(
            checkpoints=checkpoints,
            threshold=rule.threshold,
            posterior_probability=rule.posterior_probability,
            prior_mean=rule.prior_mean,
            prior_sample_size=rule.prior_n,
        )
    else:
        boundary = _count_boundary(rule, checkpoints)
    ocs = tuple(boundary.operating_characteristics(OC_RATES))
    posterior: tuple[PosteriorRow, ...] = ()
    if rule.kind == "beta_binomial":
        assert rule.prior_mean is not None and rule.prior_n is not None
        assert rule.threshold is not None
        last = min(boundary.stop_counts[-1], rule.n_max)  # the count that fires at n_max
        posterior = tuple(
            posterior_table(
                n=rule.n_max,
                counts=range(last + 1),
                prior_mean=rule.prior_mean,
                prior_n=rule.prior_n,
                threshold=rule.threshold,
            )
        )
    return SafetyRuleReport(rule=rule, boundary=boundary, characteristics=ocs, posterior=posterior)


def _count_boundary(rule: SafetyRuleInputs, checkpoints: list[int]) -> SafetyBoundary:
    counts = []
    for n in checkpoints:
        step = next((e for m, e in rule.steps if n <= m), None)
        counts.append(step if step is not None else n + 1)
    return _Boundary(
        checkpoints=tuple(checkpoints),
        stop_counts=tuple(counts),
        rule="count",
        description=f"{rule.label}: stop counts as written in the protocol",
    )


# --- rendering ---------------------------------------------------------------------------


def render_report(report: DesignReport, out_dir: Path) -> dict[str, Path]:
    """Write index.html, boundaries.png, safety.png and design.json into ``out_dir``."""
    import jinja2

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"html": out_dir / "index.html", "json": out_dir / "design.json"}
    if report.design is not None:
        files["boundaries"] = _plot_boundaries(report, out_dir / "boundaries.png")
    if report.safety:
        files["safety"] = _plot_safety(report, out_dir / "safety.png")
        files["safety_oc"] = _plot_safety_oc(report, out_dir / "safety_oc.png")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("trialdesk.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("design_report.html").render(r=report, files=files, fmt=_fmt)
    files["html"].write_text(html, encoding="utf-8")
    files["json"].write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    return files


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}f}"


def _plot_boundaries(report: DesignReport, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = report.design
    assert d is not None
    n = [round(t * report.inputs.n_per_arm) for t in d.information_fraction]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.plot(n, d.critical_values, "o-", color="#b2182b", label="efficacy: reject H0")
    if d.sided == 2:
        ax.plot(n, [-c for c in d.critical_values], "o-", color="#b2182b")
    if d.futility_bounds:
        fut = [*d.futility_bounds, d.critical_values[-1]]
        kind = "binding" if d.binding else "non-binding"
        ax.plot(n, fut, "s--", color="#2166ac", label=f"futility ({kind})")
    for x, c in zip(n, d.critical_values, strict=True):
        ax.annotate(f"{c:.3f}", (x, c), textcoords="offset points", xytext=(6, 4))
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("participants per arm at the look (planned)")
    ax.set_ylabel("z statistic")
    ax.set_title(f"{report.inputs.study_id}: {d.spending} boundaries, K = {d.k}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _plot_safety(report: DesignReport, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for s in report.safety:
        pts = [
            (n, c)
            for n, c in zip(s.boundary.checkpoints, s.boundary.stop_counts, strict=True)
            if c <= n
        ]
        if pts:
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=s.rule.label)
    ax.set_xlabel("participants followed in the monitored arm")
    ax.set_ylabel("events that trigger the rule")
    ax.set_title("Safety stopping boundaries")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


#: True event rates for the operating-characteristic curve (exact at each point).
OC_CURVE_RATES = tuple(i / 200 for i in range(1, 81))  # 0.5 to 40 % in steps of 0.5 %


def _plot_safety_oc(report: DesignReport, path: Path) -> Path:
    """P(the rule triggers by the last participant) against the true event rate: exact
    binomial convolution at every point, the protocol's rates marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.0), dpi=120)
    for s in report.safety:
        curve = s.boundary.operating_characteristics(OC_CURVE_RATES)
        line = ax.plot(
            [oc.rate * 100 for oc in curve],
            [oc.probability_stop for oc in curve],
            label=s.rule.label,
        )
        ax.plot(
            [oc.rate * 100 for oc in s.characteristics],
            [oc.probability_stop for oc in s.characteristics],
            "o",
            color=line[0].get_color(),
        )
    ax.set_xlabel("true event rate (%)")
    ax.set_ylabel("probability that the rule triggers")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Safety rules: operating characteristics (exact)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
