"""Mixed model for repeated measures (MMRM): arm x visit, unstructured covariance, REML.

Model (R, as in ``tests/reference/analysis_models.R``)::

    nlme::gls(y ~ arm * visit + baseline + strata, data = long,
              correlation = corSymm(form = ~ visit_index | id),
              weights = varIdent(form = ~ 1 | visit), method = "REML", na.action = na.omit)

with the control arm and the first visit as reference levels. ``corSymm`` x ``varIdent`` x
sigma^2 is exactly an unstructured K x K covariance Sigma of a participant's visits, so it is
estimated here as Sigma itself: REML over the Cholesky factor of Sigma (log diagonal), with the
analytic gradient, BFGS and then Newton steps on the elements of Sigma until the gradient
vanishes (to 1e-10 in units of the outcome's variance, a tighter maximum than nlme's default
optimiser reaches); the fixed effects are the GLS estimate given Sigma,
Var(beta) = (X' V^-1 X)^-1. Every pair of visits must have a participant seen at both.
A participant with missing visits (dropout, or a visit missed in between) contributes the
sub-matrix of Sigma for the visits she has: rows with a missing value are left out (na.omit).

Why ``form = ~ visit_index | id`` and not ``~ 1 | id``: with ``~ 1 | id`` nlme pairs a
participant's rows with Sigma's rows by their *position*, so a participant who missed D7 would
have her M1 value treated as D7. The visit index makes the pairing by visit; with monotone
dropout only, the two agree.

Reported:

* fixed effects with R's names and order (``(Intercept)``, ``armEXO``, ``visitM1``, ...,
  baseline, strata, ``armEXO:visitM1``, ...);
* the treatment effect at each visit, arm minus control within visit, and the adjusted means
  per arm and visit as ``emmeans(fit, ~ arm | visit)``: baseline at its mean over the rows used,
  strata averaged with equal weights;
* degrees of freedom (``df_method``):

  - ``"satterthwaite"`` (default): df = 2 (k'Ck)^2 / (g' A g), C = Var(beta),
    g_j = k' dC/dtheta_j k, A the inverse observed REML information of the K(K + 1)/2
    covariance parameters (Hessian by central differences of the analytic gradient). The value
    does not depend on how Sigma is parameterised. It equals emmeans' ``mode =
    "satterthwaite"`` computed with an accurate Hessian; emmeans itself uses nlme's ``apVar``
    (a finite-difference Hessian that is off by several per cent here) and, for this model,
    falls back to ``"appx-satterthwaite"``, so its printed df differ by up to ~20 %;
  - ``"df.error"``: N - p - (number of covariance parameters other than sigma), emmeans'
    ``mode = "df.error"``;
  - ``"residual"``: N - p, what ``summary(gls)`` uses for its t tests.

  Estimates and standard errors do not depend on the choice. Fixed-effect coefficients always
  use N - p, as ``summary(gls)``.
* the REML log-likelihood as nlme reports it, sigma, the SD per visit, the variance ratios
  (SD of a visit / SD of the first visit, ``varIdent``'s parameters relative to the first
  visit) and the correlation matrix (``corSymm``).

Kenward-Roger degrees of freedom and its adjusted covariance are not implemented.

References: Mallinckrodt CH et al. Recommendations for the primary analysis of continuous
endpoints in longitudinal clinical trials. *Drug Inf J* 2008;42:303-319. Satterthwaite FE.
An approximate distribution of estimates of variance components. *Biometrics Bull*
1946;2:110-114. Pinheiro JC, Bates DM. *Mixed-Effects Models in S and S-PLUS*, 2000, §5.1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg, optimize

from trialdesk.core.analysis import _frame as fr
from trialdesk.core.analysis._estimate import (
    Estimate,
    check_level,
    linear_contrasts,
    matrix_tuple,
)
from trialdesk.core.design import _validate as v

DfMethod = Literal["satterthwaite", "df.error", "residual"]
DF_METHODS: tuple[str, ...] = ("satterthwaite", "df.error", "residual")


@dataclass(frozen=True, kw_only=True)
class MmrmResult:
    """The fitted MMRM.

    Attributes
    ----------
    visits : tuple[str, ...]
        Visit levels in model order (the first is the reference).
    fixed_effects : tuple[Estimate, ...]
        R's coefficient names and order; t inference on N - p df (``summary(gls)``).
    treatment_effects : tuple[Estimate, ...]
        Each treatment arm minus control at each visit (name ``"EXO - PBO at M3"``), with the
        df of ``df_method``.
    adjusted_means : tuple[Estimate, ...]
        Per arm and visit (name ``"EXO at M3"``), df of ``df_method``.
    covariance : K x K matrix
        The estimated unstructured covariance Sigma of the visits.
    correlation : K x K matrix
        Sigma scaled to a correlation (nlme's ``corSymm``).
    sd_by_visit : tuple[float, ...]
        sqrt(diag Sigma); ``sigma`` is the first visit's.
    variance_ratios : tuple[float, ...]
        SD of each visit / SD of the first visit (nlme's ``varIdent`` ratios; 1 for the first).
    log_likelihood : float
        The REML log-likelihood as ``logLik(fit)`` reports it.
    n_covariance_parameters : int
        K(K + 1)/2: correlations, variance ratios and sigma.
    """

    outcome: str
    arm: str
    control: str
    arms: tuple[str, ...]
    visit: str
    visits: tuple[str, ...]
    subject: str
    baseline: str | None
    strata: tuple[str, ...]
    n_subjects: int
    n_observations: int
    n_excluded: int
    fixed_effects: tuple[Estimate, ...]
    fixed_effects_covariance: tuple[tuple[float, ...], ...]
    treatment_effects: tuple[Estimate, ...]
    adjusted_means: tuple[Estimate, ...]
    df_method: str
    baseline_mean: float | None
    covariance: tuple[tuple[float, ...], ...]
    correlation: tuple[tuple[float, ...], ...]
    sd_by_visit: tuple[float, ...]
    variance_ratios: tuple[float, ...]
    sigma: float
    log_likelihood: float
    n_covariance_parameters: int
    iterations: int
    gradient_norm: float
    level: float

    def treatment_effect(self, visit: str, arm: str | None = None) -> Estimate:
        """Arm (default: the only treatment arm) minus control at ``visit``."""
        arm = arm if arm is not None else self.arms[1]
        name = f"{arm} - {self.control} at {visit}"
        for e in self.treatment_effects:
            if e.name == name:
                return e
        raise v.reject("visit", visit, f"one of {list(self.visits)} (arm one of {self.arms[1:]})")

    def fixed_effect(self, name: str) -> Estimate:
        for e in self.fixed_effects:
            if e.name == name:
                return e
        raise v.reject("name", name, f"one of {[e.name for e in self.fixed_effects]}")

    def confidence_interval(
        self, level: float | None = None, *, visit: str | None = None
    ) -> tuple[float, float]:
        """CI of the treatment effect at ``visit`` (default: the last visit)."""
        return self.treatment_effect(visit or self.visits[-1]).confidence_interval(level)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": "mmrm",
            "outcome": self.outcome,
            "arm": self.arm,
            "control": self.control,
            "arms": list(self.arms),
            "visit": self.visit,
            "visits": list(self.visits),
            "subject": self.subject,
            "baseline": self.baseline,
            "strata": list(self.strata),
            "n_subjects": self.n_subjects,
            "n_observations": self.n_observations,
            "n_excluded": self.n_excluded,
            "fixed_effects": [e.to_dict() for e in self.fixed_effects],
            "fixed_effects_covariance": [list(r) for r in self.fixed_effects_covariance],
            "treatment_effects": [e.to_dict() for e in self.treatment_effects],
            "adjusted_means": [e.to_dict() for e in self.adjusted_means],
            "df_method": self.df_method,
            "baseline_mean": self.baseline_mean,
            "covariance": [list(r) for r in self.covariance],
            "correlation": [list(r) for r in self.correlation],
            "sd_by_visit": list(self.sd_by_visit),
            "variance_ratios": list(self.variance_ratios),
            "sigma": self.sigma,
            "log_likelihood": self.log_likelihood,
            "n_covariance_parameters": self.n_covariance_parameters,
            "iterations": self.iterations,
            "gradient_norm": self.gradient_norm,
            "level": self.level,
        }

    def summary(self) -> str:
        terms = [f"{self.arm} * {self.visit}", *([self.baseline] if self.baseline else [])]
        sds = zip(self.visits, self.sd_by_visit, strict=True)
        lines = [
            f"MMRM (REML, unstructured covariance): {self.outcome} ~ "
            + " + ".join([*terms, *self.strata]),
            f"{self.n_subjects} participants, {self.n_observations} observations "
            f"({self.n_excluded} rows with a missing value left out); REML log-likelihood "
            f"{self.log_likelihood:.4f}",
            "SD by visit: " + ", ".join(f"{vis} {sd:.4g}" for vis, sd in sds),
            f"treatment effect by visit ({self.df_method} df):",
            *(f"  {e.line()}" for e in self.treatment_effects),
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Long:
    """The long data as per-participant K-slot arrays (zeros where a visit is missing)."""

    x: np.ndarray  # (n_subjects, K, p)
    y: np.ndarray  # (n_subjects, K)
    observed: np.ndarray  # (n_subjects, K) bool
    names: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.observed.sum())

    @property
    def p(self) -> int:
        return self.x.shape[2]


@dataclass(frozen=True)
class _Fit:
    minus2: float  # -2 REML log-likelihood without constants
    beta: np.ndarray
    c: np.ndarray  # (X' V^-1 X)^-1
    h: np.ndarray  # V^-1 X per subject, (n, K, p)
    grad_sigma: np.ndarray  # d(-2 l) / d Sigma as a symmetric K x K matrix (trace form)


def _reml(sigma: np.ndarray, data: _Long) -> _Fit:
    """-2 REML log-likelihood (up to a constant) and its Sigma gradient at ``sigma``."""
    k = sigma.shape[0]
    n_sub = data.y.shape[0]
    inv = np.zeros((n_sub, k, k))
    logdet = 0.0
    patterns, index = np.unique(data.observed, axis=0, return_inverse=True)
    for j, pattern in enumerate(patterns):
        o = np.flatnonzero(pattern)
        chol = linalg.cho_factor(sigma[np.ix_(o, o)], lower=True)
        members = np.flatnonzero(index.ravel() == j)
        inv[np.ix_(members, o, o)] = linalg.cho_solve(chol, np.eye(len(o)))
        logdet += len(members) * 2.0 * float(np.log(np.diag(chol[0])).sum())
    h = inv @ data.x
    a = np.einsum("skp,skq->pq", data.x, h)
    a_chol = linalg.cho_factor(a, lower=True)
    beta = linalg.cho_solve(a_chol, np.einsum("skp,sk->p", h, data.y))
    c = linalg.cho_solve(a_chol, np.eye(a.shape[0]))
    r = data.y - data.x @ beta
    u = np.einsum("skl,sl->sk", inv, r)
    quad = float(np.einsum("sk,sk->", r, u))
    minus2 = logdet + 2.0 * float(np.log(np.diag(a_chol[0])).sum()) + quad
    grad = inv.sum(axis=0) - np.einsum("skp,pq,slq->kl", h, c, h) - np.einsum("sk,sl->kl", u, u)
    return _Fit(minus2=minus2, beta=beta, c=c, h=h, grad_sigma=grad)


def _from_cholesky(theta: np.ndarray, k: int) -> np.ndarray:
    low = np.zeros((k, k))
    low[np.tril_indices(k)] = theta
    low[np.diag_indices(k)] = np.exp(np.diag(low))
    return low


def _cholesky_objective(theta: np.ndarray, data: _Long, k: int) -> tuple[float, np.ndarray]:
    low = _from_cholesky(theta, k)
    try:
        fit = _reml(low @ low.T, data)
    except (linalg.LinAlgError, ValueError):
        return math.inf, np.zeros_like(theta)
    d_low = 2.0 * fit.grad_sigma @ low
    d_low[np.diag_indices(k)] *= np.diag(low)
    return fit.minus2, d_low[np.tril_indices(k)]


def _vech_gradient(grad_sigma: np.ndarray) -> np.ndarray:
    """Gradient with respect to the distinct elements Sigma_ab (a >= b)."""
    full = 2.0 * grad_sigma - np.diag(np.diag(grad_sigma))
    return full[np.tril_indices(grad_sigma.shape[0])]


def _unvech(values: np.ndarray, k: int) -> np.ndarray:
    m = np.zeros((k, k))
    m[np.tril_indices(k)] = values
    return m + np.tril(m, -1).T


def _element_scale(sigma: np.ndarray) -> np.ndarray:
    """sqrt(Sigma_aa Sigma_bb) for each distinct element: the natural size of Sigma_ab."""
    sd = np.sqrt(np.diag(sigma))
    return np.outer(sd, sd)[np.tril_indices(sigma.shape[0])]


def _scaled_gradient_norm(fit: _Fit, sigma: np.ndarray) -> float:
    """max |d(-2 l)/d Sigma_ab| sqrt(Sigma_aa Sigma_bb): free of the outcome's units."""
    return float(np.max(np.abs(_vech_gradient(fit.grad_sigma) * _element_scale(sigma))))


def _vech_hessian(sigma: np.ndarray, data: _Long) -> np.ndarray:
    """Hessian of -2 l over the elements of Sigma, central differences of the analytic gradient."""
    k = sigma.shape[0]
    vech = sigma[np.tril_indices(k)]
    steps = 1e-5 * _element_scale(sigma)
    hess = np.empty((len(vech), len(vech)))
    for j, step in enumerate(steps):
        e = np.zeros(len(vech))
        e[j] = step
        up = _vech_gradient(_reml(_unvech(vech + e, k), data).grad_sigma)
        down = _vech_gradient(_reml(_unvech(vech - e, k), data).grad_sigma)
        hess[:, j] = (up - down) / (2.0 * step)
    return 0.5 * (hess + hess.T)


def _maximise(data: _Long, start: np.ndarray) -> tuple[np.ndarray, _Fit, int, float]:
    """REML estimate of Sigma: BFGS on the Cholesky factor, then Newton on Sigma's elements."""
    k = start.shape[0]
    low = np.linalg.cholesky(start)
    theta0 = low.copy()
    theta0[np.diag_indices(k)] = np.log(np.diag(low))
    res = optimize.minimize(
        _cholesky_objective,
        theta0[np.tril_indices(k)],
        args=(data, k),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-7, "maxiter": 2000},
    )
    low = _from_cholesky(res.x, k)
    sigma = low @ low.T
    fit = _reml(sigma, data)
    iterations = int(res.nit)
    while iterations < res.nit + 20 and _scaled_gradient_norm(fit, sigma) > 1e-10:
        try:
            step = np.linalg.solve(_vech_hessian(sigma, data), _vech_gradient(fit.grad_sigma))
        except (linalg.LinAlgError, np.linalg.LinAlgError, ValueError):
            break
        for shrink in (1.0, 0.5, 0.25, 0.125):
            trial = sigma - _unvech(shrink * step, k)
            try:
                new = _reml(trial, data)
            except (linalg.LinAlgError, ValueError):
                continue
            if new.minus2 <= fit.minus2 + 1e-9:
                sigma, fit = trial, new
                break
        else:
            break
        iterations += 1
    grad_norm = _scaled_gradient_norm(fit, sigma)
    if not grad_norm < 1e-4:
        raise v.reject(
            "mmrm",
            f"REML gradient {grad_norm:.3g} after {iterations} iterations",
            "data from which the unstructured covariance can be estimated (more participants "
            "per visit, or fewer visits)",
        )
    return sigma, fit, iterations, grad_norm


def _satterthwaite_df(weights: np.ndarray, info_inv: np.ndarray, fit: _Fit) -> np.ndarray:
    """Satterthwaite df of each row k of ``weights``: 2 (k'Ck)^2 / (g' A g).

    ``info_inv`` is A, the inverse observed REML information of the elements of Sigma.
    dC/dSigma_ab = C X'V^-1 E_ab V^-1 X C, so g_ab = k' dC k = w' Q_ab w with w = C k.
    """
    k = fit.h.shape[1]
    w = weights @ fit.c  # (m, p)
    hw = np.einsum("skp,mp->msk", fit.h, w)  # (m, subjects, K)
    m_ab = np.einsum("msa,msb->mab", hw, hw)
    sym = m_ab + np.transpose(m_ab, (0, 2, 1)) - m_ab * np.eye(k)[None]
    g = sym[:, *np.tril_indices(k)]
    var_c = np.einsum("mp,pq,mq->m", weights, fit.c, weights)
    return 2.0 * var_c**2 / np.einsum("mi,ij,mj->m", g, info_inv, g)


def _contrast_df(
    df_method: str, rows: list[np.ndarray], sigma: np.ndarray, fit: _Fit, long: _Long
) -> list[float | list[float]]:
    """The df of each block of contrast rows under ``df_method``."""
    if df_method == "satterthwaite":
        info_inv = np.linalg.inv(0.5 * _vech_hessian(sigma, long))
        return [[float(d) for d in _satterthwaite_df(r, info_inv, fit)] for r in rows]
    k = sigma.shape[0]
    if df_method == "df.error":  # N - p - (covariance parameters other than sigma)
        return [float(long.n - long.p - (k * (k + 1) // 2 - 1))] * len(rows)
    return [float(long.n - long.p)] * len(rows)


def _long_arrays(
    subjects: np.ndarray,
    visit_codes: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    k: int,
) -> _Long:
    ids, sub = np.unique(subjects, return_inverse=True)
    n_sub, p = len(ids), x.shape[1]
    xe = np.zeros((n_sub, k, p))
    ye = np.zeros((n_sub, k))
    observed = np.zeros((n_sub, k), dtype=bool)
    xe[sub, visit_codes] = x
    ye[sub, visit_codes] = y
    observed[sub, visit_codes] = True
    return _Long(x=xe, y=ye, observed=observed, names=names)


def _design(
    cov: fr.Covariates,
    visit_factor: fr.Factor,
    arms: np.ndarray,
    visits: np.ndarray,
    baseline: np.ndarray | None,
    strata: Sequence[np.ndarray],
) -> tuple[np.ndarray, tuple[str, ...]]:
    """R's model matrix for y ~ arm * visit + baseline + strata."""
    a = cov.arm.dummies(arms)
    vis = visit_factor.dummies(visits)
    rest = cov.matrix(arms, baseline, strata)[:, a.shape[1] :]
    inter = (a[:, None, :] * vis[:, :, None]).reshape(len(arms), -1)
    inter_names = tuple(f"{an}:{vn}" for vn in visit_factor.names for an in cov.arm.names)
    x = np.hstack([np.ones((len(arms), 1)), a, vis, rest, inter])
    names = ("(Intercept)", *cov.arm.names, *visit_factor.names, *cov.names[a.shape[1] :])
    return x, names + inter_names


def _grid(
    cov: fr.Covariates, visit_factor: fr.Factor, baseline_mean: float | None
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """emmeans' reference grid: one row per (arm, visit), covariates averaged."""
    rows, labels = [], []
    adjust = cov.adjustment_row(baseline_mean)
    n_arm, n_vis = len(cov.arm.levels) - 1, len(visit_factor.levels) - 1
    for vi, visit in enumerate(visit_factor.levels):
        for ai, arm in enumerate(cov.arm.levels):
            a = np.eye(n_arm + 1)[ai][1:]
            vv = np.eye(n_vis + 1)[vi][1:]
            rows.append(np.concatenate([[1.0], a, vv, adjust, np.outer(vv, a).ravel()]))
            labels.append((arm, visit))
    return np.array(rows), labels


def mmrm(
    data: fr.Data,
    *,
    outcome: str,
    arm: str,
    control: str,
    visit: str,
    subject: str,
    visits: Sequence[str] | None = None,
    baseline: str | None = None,
    strata: Sequence[str] = (),
    levels: Mapping[str, Sequence[str]] | None = None,
    df_method: DfMethod = "satterthwaite",
    level: float = 0.95,
) -> MmrmResult:
    """Fit the MMRM to long data (one row per participant and visit).

    Parameters
    ----------
    data : DataFrame or mapping of columns
        Long format; rows with a missing outcome or covariate are left out.
    outcome, arm, visit, subject, baseline : str
        Column names. ``subject`` identifies a participant (her rows share one covariance
        block); a participant has at most one row per visit and one arm.
    control : str
        The control arm (reference level).
    visits : sequence of str, optional
        Visit order (the first is the reference level). Default: order of first appearance.
    strata, levels, level
        As for :func:`trialdesk.core.analysis.ancova.ancova`.
    df_method : {"satterthwaite", "df.error", "residual"}
        Degrees of freedom of the visit-wise treatment effects and adjusted means.
    """
    level = check_level(level)
    if df_method not in DF_METHODS:
        raise v.reject("df_method", df_method, f"one of {list(DF_METHODS)}")
    model = _model(
        data,
        roles={"outcome": outcome, "arm": arm, "visit": visit, "subject": subject},
        control=control,
        visits=visits,
        baseline=baseline,
        strata=tuple(strata),
        levels=dict(levels or {}),
    )
    k = len(model.visit_factor.levels)
    sigma, fit, iterations, grad_norm = _maximise(model.long, _start(model.long, k))
    return _result(
        model=model,
        sigma=sigma,
        fit=fit,
        df_method=df_method,
        level=level,
        names={"outcome": outcome, "visit": visit, "subject": subject},
        iterations=iterations,
        grad_norm=grad_norm,
    )


@dataclass(frozen=True)
class _Model:
    """The rows used, coded: per-participant arrays, factors and the covariate mean."""

    long: _Long
    cov: fr.Covariates
    visit_factor: fr.Factor
    baseline_mean: float | None
    n_excluded: int


def _model(
    data: fr.Data,
    *,
    roles: dict[str, str],
    control: str,
    visits: Sequence[str] | None,
    baseline: str | None,
    strata: tuple[str, ...],
    levels: dict[str, Sequence[str]],
) -> _Model:
    """Select the complete rows, check them and build the model matrix."""
    columns: dict[str, str | None] = {**roles, "baseline": baseline}
    columns.update({f"strata[{i}]": s for i, s in enumerate(strata)})
    used = [c for c in columns.values() if c is not None]
    if len(set(used)) != len(used):
        raise v.reject("columns", used, "a different column for each role")
    frame = fr.as_frame(data, columns)
    y = fr.numeric(frame, "outcome", roles["outcome"])
    arms, vis, subj = (fr.labels(frame, roles[r]) for r in ("arm", "visit", "subject"))
    base = None if baseline is None else fr.numeric(frame, "baseline", baseline)
    strat = [fr.labels(frame, s) for s in strata]
    keep = ~np.isnan(y) if base is None else ~np.isnan(y) & ~np.isnan(base)
    for col in (arms, vis, subj, *strat):
        keep &= np.array([x is not None for x in col])
    if not keep.any():
        raise v.reject("data", f"{len(frame)} rows", "at least one row complete in every column")
    _check_subjects(subj[keep], vis[keep], arms[keep], roles["subject"])
    arm = roles["arm"]
    cov = fr.Covariates(
        arm=fr.factor("arm", arm, arms[keep], levels=levels.get(arm), reference=control),
        baseline=baseline,
        strata=tuple(
            fr.factor("strata", s, x[keep], levels=levels.get(s))
            for s, x in zip(strata, strat, strict=True)
        ),
    )
    visit_factor = fr.factor(
        "visit", roles["visit"], vis[keep], levels=_visit_order(vis, keep, visits)
    )
    xb = None if base is None else base[keep]
    x, names = _design(cov, visit_factor, arms[keep], vis[keep], xb, [s[keep] for s in strat])
    fr.check_full_rank(x, names, role="mmrm term")
    k = len(visit_factor.levels)
    long = _long_arrays(subj[keep], visit_factor.codes(vis[keep]), x, y[keep], names, k)
    _check_pairs(long.observed, visit_factor.levels)
    if long.n - long.p < 1:
        raise v.reject("n", long.n, f"more observations than the {long.p} fixed effects")
    return _Model(
        long=long,
        cov=cov,
        visit_factor=visit_factor,
        baseline_mean=None if xb is None else float(np.mean(xb)),
        n_excluded=int((~keep).sum()),
    )


def _visit_order(vis: np.ndarray, keep: np.ndarray, visits: Sequence[str] | None) -> list[str]:
    if visits is not None:
        order = [str(x) for x in visits]
        if len(order) < 2:
            raise v.reject("visits", order, "at least two visits")
        return order
    seen: dict[str, None] = {}
    for x in vis[keep]:
        seen.setdefault(str(x), None)
    return list(seen)


def _check_subjects(subj: np.ndarray, vis: np.ndarray, arms: np.ndarray, column: str) -> None:
    pairs: set[tuple[str, str]] = set()
    arm_of: dict[str, str] = {}
    for s, visit, a in zip(subj, vis, arms, strict=True):
        if (s, visit) in pairs:
            raise v.reject(f"{column}", s, f"one row per visit; visit {visit} appears twice")
        pairs.add((s, visit))
        if arm_of.setdefault(s, a) != a:
            raise v.reject(f"{column}", s, f"one arm per participant; found {arm_of[s]} and {a}")


def _check_pairs(observed: np.ndarray, visits: tuple[str, ...]) -> None:
    """Every pair of visits needs a participant seen at both (else Sigma_ab is not estimable)."""
    both = observed.T.astype(int) @ observed.astype(int)
    a, b = np.unravel_index(np.argmin(both), both.shape)
    if both[a, b] == 0:
        raise v.reject(
            "visits",
            (visits[a], visits[b]),
            "visits that some participant attended both of (an unstructured covariance needs "
            "every pair)",
        )


def _start(long: _Long, k: int) -> np.ndarray:
    """Start from the pairwise covariance of OLS residuals, or their variances by visit."""
    obs = long.observed
    x2 = long.x[obs]
    beta = np.linalg.lstsq(x2, long.y[obs], rcond=None)[0]
    r = np.where(obs, long.y - long.x @ beta, np.nan)
    start = np.diag(np.nanvar(r, axis=0) + 1e-8)
    for a in range(k):
        for b in range(a):
            both = obs[:, a] & obs[:, b]
            if both.sum() > 2:
                start[a, b] = start[b, a] = float(np.mean(r[both, a] * r[both, b]))
    if np.linalg.eigvalsh(start).min() <= 1e-8 * np.trace(start):
        start = np.diag(np.diag(start))
    return start


def _result(
    *,
    model: _Model,
    sigma: np.ndarray,
    fit: _Fit,
    df_method: str,
    level: float,
    names: dict[str, str],
    iterations: int,
    grad_norm: float,
) -> MmrmResult:
    long, cov, visit_factor = model.long, model.cov, model.visit_factor
    k = len(visit_factor.levels)
    n_cov = k * (k + 1) // 2
    n, p = long.n, long.p
    fixed = linear_contrasts(long.names, np.eye(p), fit.beta, fit.c, n - p, level)
    grid, labels = _grid(cov, visit_factor, model.baseline_mean)
    arms = cov.arm.levels
    n_arm = len(arms)
    diff_rows, diff_names = [], []
    for vi, visit in enumerate(visit_factor.levels):
        block = grid[vi * n_arm : (vi + 1) * n_arm]
        for ai in range(1, n_arm):
            diff_rows.append(block[ai] - block[0])
            diff_names.append(f"{arms[ai]} - {arms[0]} at {visit}")
    diffs_w = np.array(diff_rows)
    df_diff, df_mean = _contrast_df(df_method, [diffs_w, grid], sigma, fit, long)
    effects = linear_contrasts(diff_names, diffs_w, fit.beta, fit.c, df_diff, level)
    means = linear_contrasts(
        [f"{a} at {vis}" for a, vis in labels], grid, fit.beta, fit.c, df_mean, level
    )
    sd = np.sqrt(np.diag(sigma))
    # the standard REML log-likelihood, as nlme's logLik(gls): no 1/2 log|X'X| term
    log_lik = -0.5 * (fit.minus2 + (n - p) * math.log(2.0 * math.pi))
    return MmrmResult(
        outcome=names["outcome"],
        arm=cov.arm.column,
        control=arms[0],
        arms=arms,
        visit=names["visit"],
        visits=visit_factor.levels,
        subject=names["subject"],
        baseline=cov.baseline,
        strata=tuple(f.column for f in cov.strata),
        n_subjects=int(long.y.shape[0]),
        n_observations=n,
        n_excluded=model.n_excluded,
        fixed_effects=fixed,
        fixed_effects_covariance=matrix_tuple(fit.c),
        treatment_effects=effects,
        adjusted_means=means,
        df_method=df_method,
        baseline_mean=model.baseline_mean,
        covariance=matrix_tuple(sigma),
        correlation=matrix_tuple(sigma / np.outer(sd, sd)),
        sd_by_visit=tuple(float(s) for s in sd),
        variance_ratios=tuple(float(s / sd[0]) for s in sd),
        sigma=float(sd[0]),
        log_likelihood=log_lik,
        n_covariance_parameters=n_cov,
        iterations=iterations,
        gradient_norm=grad_norm,
        level=level,
    )
