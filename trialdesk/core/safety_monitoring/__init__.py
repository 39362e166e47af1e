"""Safety monitoring of an adverse-event rate: stopping boundaries and their exact properties.

Two rules, both expressed as the smallest cumulative event count that stops the trial at
each checkpoint (number of participants followed in the monitored arm):

* :func:`bayesian_boundary` - beta-binomial monitoring: a Beta(a, b) prior with mean
  ``prior_mean`` and weight ``prior_sample_size`` = a + b; stop when the posterior
  P(rate > threshold | x events in n) exceeds ``posterior_probability``.
* :func:`pocock_count_boundary` - exact-binomial Pocock-type boundary: the same nominal
  level at every checkpoint, the largest one for which the probability of ever stopping
  when the true rate is the acceptable rate ``p0`` does not exceed ``alpha``.

:meth:`SafetyBoundary.operating_characteristics` gives, for true rates, the exact
probability of stopping (by checkpoint and overall) and the expected number of participants
at stopping, by convolving binomial increments over the checkpoints (no simulation).

References
----------
Thall PF, Simon R. Practical Bayesian guidelines for phase IIB clinical trials.
*Biometrics* 1994;50:337-349 (posterior-probability monitoring).
Geller NL, Follmann D, Leifer ES, Carter SL. Design of early trials in stem cell
transplantation: a hybrid frequentist-Bayesian approach. In: *Advances in Clinical Trial
Biostatistics*, Dekker, 2003 (beta-binomial safety stopping rules).
Ivanova A, Qaqish BF, Schell MJ. Continuous toxicity monitoring in phase II trials in
oncology. *Biometrics* 2005;61:540-545 (Pocock-type count boundary).
"""

from trialdesk.core.safety_monitoring.monitor import (
    OperatingCharacteristics,
    SafetyBoundary,
    bayesian_boundary,
    beta_prior,
    pocock_count_boundary,
    posterior_probability_exceeds,
)

__all__ = [
    "OperatingCharacteristics",
    "SafetyBoundary",
    "bayesian_boundary",
    "beta_prior",
    "pocock_count_boundary",
    "posterior_probability_exceeds",
]
