"""A protocol's safety rules evaluated on live counts, and their exact operating characteristics.

Pure (no Django): the DSMB app passes plain counts (events, participants dosed in the monitored
arm) and the rule's parameters; the design report passes the rule and the true rates.

* :func:`count_stop_at` / :func:`evaluate_count_rule` - the protocol's count boundary, steps
  ``(n_max, events)``: with n participants treated, the first step with n <= n_max applies (n = 0
  reads as 1; beyond the last step the last count applies: monitoring does not switch off).
* :func:`evaluate_bayesian_rule` - fires when n >= min_n and P(rate > threshold | data) >
  posterior_probability (Beta prior with mean ``prior_mean`` and weight ``prior_n``).
* :func:`stop_probability_by_n` - exact P(the rule has fired by the time n participants are
  treated), n = 1..n_max, by dynamic programming over participants (each participant an event
  with probability p; absorb at the boundary). No simulation.
* :func:`posterior_table` - posterior mean and equal-tailed credible interval at each count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from trialdesk.core.safety_monitoring.monitor import beta_prior, posterior_probability_exceeds


@dataclass(frozen=True, kw_only=True)
class RuleEvaluation:
    """One rule on the counts as they are now."""

    events: int
    n: int
    fires: bool
    stop_count: int | None  # events that fire the rule at this n (None: cannot fire yet)
    posterior: float | None = None  # Bayesian rule: P(rate > threshold | data)


def count_stop_at(steps: Sequence[tuple[int, int]], n: int) -> int:
    """Events that fire a count boundary with ``n`` participants treated."""
    if not steps:
        raise ValueError("a count boundary needs at least one step")
    m = max(int(n), 1)
    for n_max, events in steps:
        if m <= n_max:
            return int(events)
    return int(steps[-1][1])


def evaluate_count_rule(steps: Sequence[tuple[int, int]], *, events: int, n: int) -> RuleEvaluation:
    stop = count_stop_at(steps, n)
    return RuleEvaluation(events=events, n=n, fires=events >= stop, stop_count=stop)


def bayesian_stop_at(
    *,
    n: int,
    prior_mean: float,
    prior_n: float,
    threshold: float,
    posterior_probability: float,
    min_n: int = 1,
) -> int | None:
    """Smallest event count with P(rate > threshold | x of n) > cut-off (None: none, or n < min_n)."""
    if n < max(min_n, 1):
        return None
    a, b = beta_prior(prior_mean=prior_mean, prior_sample_size=prior_n)
    x = np.arange(n + 1)
    post = stats.beta.sf(threshold, a + x, b + n - x)
    hits = np.nonzero(post > posterior_probability)[0]
    return int(hits[0]) if hits.size else None


def evaluate_bayesian_rule(
    *,
    events: int,
    n: int,
    prior_mean: float,
    prior_n: float,
    threshold: float,
    posterior_probability: float,
    min_n: int = 1,
) -> RuleEvaluation:
    """The Bayesian rule now; ``n`` is raised to ``events`` when fewer are counted as treated."""
    n = max(int(n), int(events))
    post = (
        posterior_probability_exceeds(
            events=events,
            n=n,
            threshold=threshold,
            prior_mean=prior_mean,
            prior_sample_size=prior_n,
        )
        if n >= 1
        else None
    )
    stop = bayesian_stop_at(
        n=n,
        prior_mean=prior_mean,
        prior_n=prior_n,
        threshold=threshold,
        posterior_probability=posterior_probability,
        min_n=min_n,
    )
    fires = n >= min_n and post is not None and post > posterior_probability
    return RuleEvaluation(events=events, n=n, fires=fires, stop_count=stop, posterior=post)


def stop_probability_by_n(stop_counts: Sequence[int | None], rate: float) -> list[float]:
    """Exact P(fired by n), n = 1..len(stop_counts), treating one participant at a time.

    ``stop_counts[n - 1]`` is the count that fires the rule with n treated (None: cannot fire).
    State: the distribution of the event count among participants not yet stopped; each new
    participant adds an event with probability ``rate``; mass at or above the boundary is
    absorbed (stopped) and carried in the result.
    """
    p = float(rate)
    if not 0.0 <= p <= 1.0:
        raise ValueError("rate must be in [0, 1]")
    dist = np.array([1.0])
    stopped = 0.0
    out = []
    for c in stop_counts:
        new = np.zeros(dist.size + 1)
        new[:-1] += dist * (1.0 - p)
        new[1:] += dist * p
        dist = new
        if c is not None and c < dist.size:
            stopped += float(dist[c:].sum())
            dist[c:] = 0.0
        out.append(stopped)
    return out


@dataclass(frozen=True, kw_only=True)
class PosteriorRow:
    events: int
    n: int
    mean: float
    lower: float
    upper: float
    p_exceeds: float


def posterior_table(
    *,
    n: int,
    counts: Sequence[int],
    prior_mean: float,
    prior_n: float,
    threshold: float,
    level: float = 0.90,
) -> list[PosteriorRow]:
    """Posterior Beta(a + x, b + n - x): mean, equal-tailed ``level`` interval, P(> threshold)."""
    a, b = beta_prior(prior_mean=prior_mean, prior_sample_size=prior_n)
    tail = (1.0 - level) / 2.0
    rows = []
    for x in counts:
        post = stats.beta(a + x, b + n - x)
        rows.append(
            PosteriorRow(
                events=int(x),
                n=int(n),
                mean=float(post.mean()),
                lower=float(post.ppf(tail)),
                upper=float(post.ppf(1.0 - tail)),
                p_exceeds=float(post.sf(threshold)),
            )
        )
    return rows
