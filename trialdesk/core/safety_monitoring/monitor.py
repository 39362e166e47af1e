"""Beta-binomial and exact-binomial (Pocock-type) safety stopping boundaries.

See the package docstring for the rules and references. A boundary is a pair of tuples,
``checkpoints`` (cumulative participants in the monitored arm) and ``stop_counts`` (stop when
the cumulative event count reaches it); a stop count of n + 1 means the rule cannot stop at
that checkpoint. The same field names are used by ``trialdesk.core.simulate.SafetyRule``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from trialdesk.core.design import _validate as v


@dataclass(frozen=True, kw_only=True)
class OperatingCharacteristics:
    """Exact probabilities of stopping for one true event rate.

    Attributes
    ----------
    rate : float
        True event rate per participant.
    stop_by_checkpoint : tuple[float, ...]
        P(the rule first stops at checkpoint j).
    probability_stop : float
        P(the rule stops at any checkpoint).
    expected_n : float
        Expected number of participants when monitoring ends (stop, or the last checkpoint).
    """

    rate: float
    stop_by_checkpoint: tuple[float, ...]
    probability_stop: float
    expected_n: float

    @property
    def cumulative_stop(self) -> tuple[float, ...]:
        return tuple(float(x) for x in np.cumsum(self.stop_by_checkpoint))


@dataclass(frozen=True, kw_only=True)
class SafetyBoundary:
    """Smallest cumulative event count that stops the trial at each checkpoint.

    Attributes
    ----------
    checkpoints : tuple[int, ...]
        Cumulative participants in the monitored arm at each look.
    stop_counts : tuple[int, ...]
        Stop when events >= stop_counts[j] at checkpoint j (n + 1: cannot stop there).
    rule : str
        ``"bayesian"`` or ``"pocock"``.
    description : str
        The rule in words, with its parameters.
    threshold, posterior_probability, prior_a, prior_b : float or None
        Bayesian rule parameters.
    p0, alpha, nominal_level : float or None
        Pocock-type rule: acceptable rate, overall stopping probability allowed at p0, and
        the constant nominal level at each checkpoint.
    """

    checkpoints: tuple[int, ...]
    stop_counts: tuple[int, ...]
    rule: str
    description: str
    threshold: float | None = None
    posterior_probability: float | None = None
    prior_a: float | None = None
    prior_b: float | None = None
    p0: float | None = None
    alpha: float | None = None
    nominal_level: float | None = None

    def operating_characteristics(self, rates: Sequence[float]) -> list[OperatingCharacteristics]:
        """Exact stopping probabilities at each true rate (binomial convolution)."""
        return [self._oc(v.probability("rate", r)) for r in rates]

    def _oc(self, rate: float) -> OperatingCharacteristics:
        stops = _stop_probabilities(self.checkpoints, self.stop_counts, rate)
        total = float(sum(stops))
        expected = sum(n * p for n, p in zip(self.checkpoints, stops, strict=True))
        expected += self.checkpoints[-1] * (1.0 - total)
        return OperatingCharacteristics(
            rate=rate,
            stop_by_checkpoint=tuple(stops),
            probability_stop=total,
            expected_n=float(expected),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "description": self.description,
            "checkpoints": list(self.checkpoints),
            "stop_counts": list(self.stop_counts),
            "nominal_level": self.nominal_level,
        }

    def summary(self, rates: Sequence[float] = ()) -> str:
        lines = [self.description, "  n participants   stop if events >="]
        for n, c in zip(self.checkpoints, self.stop_counts, strict=True):
            lines.append(f"  {n:14d}   {c if c <= n else '-'}")
        for oc in self.operating_characteristics(rates):
            lines.append(
                f"  true rate {oc.rate:.4g}: P(stop) {oc.probability_stop:.4f}, "
                f"expected n {oc.expected_n:.1f}"
            )
        return "\n".join(lines)


def beta_prior(*, prior_mean: float, prior_sample_size: float) -> tuple[float, float]:
    """Beta(a, b) with mean a / (a + b) = prior_mean and a + b = prior_sample_size."""
    m = v.probability("prior_mean", prior_mean)
    s = v.positive("prior_sample_size", prior_sample_size)
    return m * s, (1.0 - m) * s


def posterior_probability_exceeds(
    *, events: int, n: int, threshold: float, prior_mean: float, prior_sample_size: float
) -> float:
    """P(rate > threshold | events of n) under the Beta prior (beta-binomial conjugacy).

    References
    ----------
    Thall & Simon (1994); the posterior is Beta(a + events, b + n - events).
    """
    a, b = beta_prior(prior_mean=prior_mean, prior_sample_size=prior_sample_size)
    x, m = _counts(events, n)
    t = v.probability("threshold", threshold)
    return float(stats.beta.sf(t, a + x, b + m - x))


def bayesian_boundary(
    *,
    checkpoints: Sequence[int],
    threshold: float,
    posterior_probability: float,
    prior_mean: float,
    prior_sample_size: float,
) -> SafetyBoundary:
    """Smallest event count at each checkpoint with P(rate > threshold | data) > cut-off.

    Parameters
    ----------
    checkpoints : sequence of int
        Cumulative participants in the monitored arm at each look (increasing).
    threshold : float
        Unacceptable event rate.
    posterior_probability : float
        Stop when the posterior probability of exceeding ``threshold`` is above this.
    prior_mean, prior_sample_size : float
        Beta prior mean (e.g. the 0.7 % SAE incidence from the literature) and weight a + b.

    References
    ----------
    Thall & Simon (1994); Geller et al. (2003).
    """
    ns = _checkpoints(checkpoints)
    a, b = beta_prior(prior_mean=prior_mean, prior_sample_size=prior_sample_size)
    t = v.probability("threshold", threshold)
    gamma = v.probability("posterior_probability", posterior_probability)
    counts = tuple(_smallest_posterior_count(n, t, gamma, a, b) for n in ns)
    return SafetyBoundary(
        checkpoints=ns,
        stop_counts=counts,
        rule="bayesian",
        description=(
            f"Beta({a:.4g}, {b:.4g}) prior (mean {prior_mean:g}, weight {prior_sample_size:g}); "
            f"stop if P(rate > {t:g} | data) > {gamma:g}"
        ),
        threshold=t,
        posterior_probability=gamma,
        prior_a=a,
        prior_b=b,
    )


def pocock_count_boundary(*, checkpoints: Sequence[int], p0: float, alpha: float) -> SafetyBoundary:
    """Exact-binomial boundary with a constant nominal level (Ivanova et al. 2005).

    At checkpoint n_j stop when P(X >= x | n_j, p0) <= alpha*, the nominal level alpha* being
    the largest for which P(the rule ever stops | true rate p0) <= ``alpha`` (computed
    exactly). Because counts are discrete the attained level is at most ``alpha``.

    References
    ----------
    Ivanova, Qaqish & Schell (2005); Pocock (1977) for the constant-nominal-level idea.
    """
    ns = _checkpoints(checkpoints)
    p = v.probability("p0", p0)
    a = v.probability("alpha", alpha)
    lo, hi = 0.0, a
    for _ in range(200):  # bisection on a step function: keep the largest level that is valid
        mid = 0.5 * (lo + hi)
        if _overall_stop(ns, _tail_counts(ns, p, mid), p) <= a:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * a:
            break
    counts = _tail_counts(ns, p, lo)
    attained = max(
        (float(stats.binom.sf(c - 1, n, p)) for n, c in zip(ns, counts, strict=True) if c <= n),
        default=0.0,
    )
    return SafetyBoundary(
        checkpoints=ns,
        stop_counts=counts,
        rule="pocock",
        description=(
            f"exact binomial, Pocock-type: stop if P(X >= events | n, p0 = {p:g}) <= "
            f"{attained:.4g} "
            f"(overall P(stop | p0) <= {a:g})"
        ),
        p0=p,
        alpha=a,
        nominal_level=attained,
    )


def _smallest_posterior_count(n: int, t: float, gamma: float, a: float, b: float) -> int:
    x = np.arange(n + 1)
    post = stats.beta.sf(t, a + x, b + n - x)
    hits = np.nonzero(post > gamma)[0]
    return int(hits[0]) if hits.size else n + 1


def _tail_counts(ns: tuple[int, ...], p: float, level: float) -> tuple[int, ...]:
    """Smallest x with P(X >= x | n, p) <= level, at each n (n + 1 if none)."""
    out = []
    for n in ns:
        tails = stats.binom.sf(np.arange(n + 1) - 1, n, p)  # P(X >= x), x = 0..n
        hits = np.nonzero(tails <= level)[0]
        out.append(int(hits[0]) if hits.size else n + 1)
    return tuple(out)


def _overall_stop(ns: tuple[int, ...], counts: tuple[int, ...], p: float) -> float:
    return float(sum(_stop_probabilities(ns, counts, p)))


def _stop_probabilities(ns: Sequence[int], counts: Sequence[int], p: float) -> list[float]:
    """P(first stop at checkpoint j): convolve binomial increments, absorb at the bound."""
    dist = np.array([1.0])
    prev = 0
    out = []
    for n, c in zip(ns, counts, strict=True):
        dist = np.convolve(dist, stats.binom.pmf(np.arange(n - prev + 1), n - prev, p))
        stop = float(dist[c:].sum()) if c <= n else 0.0
        if c <= n:
            dist[c:] = 0.0
        out.append(stop)
        prev = n
    return out


def _checkpoints(values: Sequence[int]) -> tuple[int, ...]:
    ns = tuple(int(x) for x in values)
    if not ns or any(float(x) != n for x, n in zip(values, ns, strict=True)):
        raise v.reject("checkpoints", list(values), "checkpoints must be whole numbers")
    if ns[0] < 1 or any(b <= a for a, b in zip(ns, ns[1:], strict=False)):
        raise v.reject("checkpoints", list(ns), "checkpoints must increase strictly from 1 on")
    return ns


def _counts(events: int, n: int) -> tuple[int, int]:
    if int(n) != n or n < 0:
        raise v.reject("n", n, "n must be a whole number >= 0")
    if int(events) != events or not 0 <= events <= n:
        raise v.reject("events", events, f"events must be a whole number from 0 to n = {n}")
    return int(events), int(n)
