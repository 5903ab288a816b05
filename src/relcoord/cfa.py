"""Confirmatory factor analysis (CFA) of the RC items and measurement invariance
between two rounds, as R lavaan computes them.

Public functions
----------------
- :func:`factor_models` the two models of an instrument: ``one_factor`` (the RC
  index: all index items on one factor ``rc``) and ``two_factor`` (correlated
  ``communication`` and ``relationship`` factors).
- :func:`fit_cfa` one ML fit (one or several groups, optional equality
  constraints), with the fit measures, all parameters with SEs and
  standardised values, and optionally rater-clustered robust SEs.
- :func:`cfa_tables` per round: ``cfa(model, measure, value, note)`` and
  ``cfa_loadings(model, factor, item, loading, se, std_loading, se_cluster)``.
- :func:`invariance_table` per comparison: configural, metric and scalar
  invariance between the two rounds with ΔCFI / ΔRMSEA and a verdict
  (:func:`invariance_verdict`).

What is computed (lavaan 0.6 defaults for ``cfa(model, data, estimator = "ML")``)
----------------------------------------------------------------------------------
Rows: the respondent x target rows (one per respondent-tie, the item scores as
columns: :func:`relcoord.scores.respondent_ties`), listwise complete on the
model's items (lavaan's ``missing = "listwise"``). Per group g with N_g rows,
sample moments ``S_g`` (divisor N_g) and ``m_g``. Model-implied moments::

    Σ_g = Λ Φ Λᵀ + Θ          μ_g = ν + Λ α            (μ only with a mean structure)

Λ has each item on one factor, the factor's first item fixed at 1 (marker
identification, ``std.lv = FALSE``); Φ free (variances and covariances); Θ
diagonal. The ML discrepancy (``likelihood = "normal"``: N, not N - 1)::

    F_g = log|Σ_g| + tr(S_g Σ_g⁻¹) - log|S_g| - p + (m_g - μ_g)ᵀ Σ_g⁻¹ (m_g - μ_g)
    chisq = Σ_g N_g F_g           (at the minimum; lavaan's 2 N fmin)

SEs from the expected information, ``Cov(θ) = I(θ)⁻¹`` with
``I = Σ_g N_g [½ tr(Σ⁻¹ ∂Σ Σ⁻¹ ∂Σ) + ∂μᵀ Σ⁻¹ ∂μ]`` (lavaan's default
``information = "expected"`` for ML with complete data); fixed parameters get
SE 0, as in ``parameterEstimates``. ``std_loading`` is lavaan's ``std.all``:
``λ_jf sqrt(φ_ff) / sqrt(Σ_jj)`` with the model-implied Σ.

Fit measures, as ``fitMeasures``: baseline = independence model (free
variances, and free means with a mean structure): ``chisq_b = Σ_g N_g
(Σ_j log s_jj - log|S_g|)``, ``df_b = G p(p-1)/2``; ``CFI = 1 - max(χ² - df, 0)
/ max(χ² - df, χ²_b - df_b, 0)`` (1 when both are 0); ``TLI = 1 - (χ² - df) df_b
/ ((χ²_b - df_b) df)``; ``RMSEA = sqrt(max(χ²/(N df) - 1/N, 0)) sqrt(G)`` with N
the total number of rows, its 90 % interval from the noncentral χ² (lavaan's
``lav_fit_rmsea_ci``); SRMR = lavaan's ``srmr`` (``srmr_bentler``): the root
mean square of the residual covariances standardised by the **observed**
standard deviations, ``(s_ij - σ_ij)/sqrt(s_ii s_jj)`` over i ≤ j, with a mean
structure also the mean residuals ``(m_i - μ_i)/sqrt(s_ii)`` in the average;
several groups: ``Σ_g (N_g/N) SRMR_g``.

Invariance (``cfa(..., group = "round")``; lavaan adds a mean structure with
several groups): configural = the model in each group with free intercepts
and latent means 0; metric = ``group.equal = "loadings"``; scalar =
``group.equal = c("loadings", "intercepts")``, where lavaan frees the latent
means in the groups after the first. Equality constraints are one shared
parameter (the fit is the same as lavaan's).

Rater-clustered sensitivity (``cluster = "rater_unit"``): the rows are not
independent (a respondent rates many targets, respondents of a unit share a
view). lavaan's ``cfa(..., cluster = "rater_unit", estimator = "MLR")`` keeps
the ML estimates and replaces the SEs by a cluster-robust sandwich ("robust.
cluster.sem"), with a mean structure: ``Cov = A⁻¹ B A⁻¹ / N``, ``A`` the
observed information (the Hessian of ``F/2``), ``B = C/(C-1) · (1/N) Σ_c s_c s_cᵀ``
with ``s_c`` the sum of the casewise score vectors of cluster c and C clusters.
The sandwich has rank at most C - 1: with few clusters (the demo has 10 base
units for ~30 parameters) the SEs are unstable and only a sensitivity check.
The χ² and fit indices stay the ML ones (the Yuan-Bentler scaled test of MLR
is not computed).

Why not semopy
--------------
semopy 2.3.11 (the Python SEM package on the index) was checked on the demo
2024 rows, two-factor model: its single-group ML fit (objective ``MLW``) agrees
with lavaan (χ² 17.8066 vs 17.8059, SEs within 5e-6, CFI, TLI, RMSEA within
3e-6), but it has no SRMR and no RMSEA interval, its ``multigroup`` fits each
group separately (no ``group.equal`` constraints and no latent means, so no
metric or scalar step) and it has no cluster-robust sandwich. Those are the
parts that need care, so the ML fit is done here, without a new dependency:
the analytic gradient and the expected information above, minimised by
``scipy.optimize.minimize`` (``trust-exact``, the information as the Hessian),
and checked against lavaan 0.6-14 by ``tests/test_cfa.py`` (fixtures written
by ``tests/r/lavaan_cfa.R``; agreement better than 1e-5).

Degenerate input (fewer rows than items + 1, a constant item, a sample
covariance matrix that is not positive definite, a factor with fewer than
two items, no convergence) gives NaN values with a ``note``, never an error.

Heavy libraries imported lazily (on first use, through
:func:`relcoord.lazy.lazy_module`): scipy.optimize, scipy.stats.

Sources
-------
- Rosseel, Y. (2012). lavaan: An R package for structural equation modeling.
  J. Stat. Softw. 48(2). lavaan 0.6-14 (``lav_fit_*``, ``lav_residuals``).
- Bollen, K. A. (1989). Structural equations with latent variables. Wiley.
- Bentler, P. M. (1990). Comparative fit indexes in structural models.
- Steiger, J. H. (1998). A note on multiple sample extensions of the RMSEA.
- Chen, F. F. (2007); Cheung, G. W. & Rensvold, R. B. (2002): ΔCFI ≥ -0.01,
  ΔRMSEA ≤ 0.015.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .lazy import lazy_module

if TYPE_CHECKING:  # pragma: no cover
    from .instrument import Instrument

optimize = lazy_module("scipy.optimize")
stats = lazy_module("scipy.stats")

__all__ = [
    "CFA_COLUMNS", "LOADING_COLUMNS", "INVARIANCE_COLUMNS", "MEASURES", "STEPS",
    "CfaFit", "factor_models", "fit_cfa", "cfa_tables", "invariance_table", "invariance_verdict",
]

NAN = float("nan")
MEASURES: tuple[str, ...] = ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
                             "srmr", "n", "baseline_chisq", "baseline_df")
CFA_COLUMNS = ["model", "measure", "value", "note"]
LOADING_COLUMNS = ["model", "factor", "item", "loading", "se", "std_loading", "se_cluster"]
INVARIANCE_COLUMNS = ["model", "step", "n", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr",
                      "delta_chisq", "delta_df", "delta_pvalue", "delta_cfi", "delta_rmsea", "verdict", "note"]
STEPS: tuple[str, ...] = ("configural", "metric", "scalar")
#: group.equal of each invariance step
STEP_EQUAL: dict[str, tuple[str, ...]] = {"configural": (), "metric": ("loadings",),
                                          "scalar": ("loadings", "intercepts")}
#: Chen (2007), Cheung & Rensvold (2002): a step holds when CFI drops by at most .01 and RMSEA rises by at most .015
CFI_DROP = 0.01
RMSEA_RISE = 0.015

_KINDS = ("lambda", "phi", "theta", "nu", "alpha")
_OP = {"lambda": "=~", "phi": "~~", "theta": "~~", "nu": "~1", "alpha": "~1"}


# --------------------------------------------------------------------------- models
def factor_models(instrument: Instrument) -> dict[str, dict[str, list[str]]]:
    """``{"one_factor": {"rc": index items}, "two_factor": {"communication": ..., "relationship": ...}}``.

    The items in instrument order; the first item of each factor is its marker.
    """
    return {"one_factor": {"rc": list(instrument.index_keys)},
            "two_factor": {"communication": list(instrument.subscale_keys("communication")),
                           "relationship": list(instrument.subscale_keys("relationship"))}}


@dataclass(frozen=True)
class _Spec:
    """Parameter layout of a (multi-group) CFA: one row per matrix entry per group."""

    items: list[str]
    factors: list[str]
    n_groups: int
    meanstructure: bool
    kind: np.ndarray      # index into _KINDS
    group: np.ndarray
    row: np.ndarray
    col: np.ndarray
    free: np.ndarray      # index into θ, -1 fixed
    value: np.ndarray     # the fixed value
    n_free: int


def _spec(factors: Mapping[str, Sequence[str]], n_groups: int, meanstructure: bool,
          equal: Sequence[str] = ()) -> _Spec:
    names = list(factors)
    items = [i for f in names for i in factors[f]]
    p, m = len(items), len(names)
    unknown = set(equal) - {"loadings", "intercepts"}
    if unknown:
        raise ValueError(f"group.equal may hold 'loadings' and 'intercepts', not {sorted(unknown)}")
    rows: list[tuple[int, int, int, int, int, float]] = []   # kind, group, row, col, free, value
    shared: dict[tuple[int, int, int], int] = {}
    counter = [0]

    def new(key: tuple[int, int, int] | None) -> int:
        if key is not None and key in shared:
            return shared[key]
        k = counter[0]
        counter[0] += 1
        if key is not None:
            shared[key] = k
        return k

    for g in range(n_groups):
        j = 0
        for f, name in enumerate(names):
            for pos, _ in enumerate(factors[name]):
                if pos == 0:
                    rows.append((0, g, j, f, -1, 1.0))
                else:
                    rows.append((0, g, j, f, new((0, j, f) if "loadings" in equal else None), 0.0))
                j += 1
        for f in range(m):
            for h in range(f, m):
                rows.append((1, g, f, h, new(None), 0.0))
        for j in range(p):
            rows.append((2, g, j, j, new(None), 0.0))
        if meanstructure:
            for j in range(p):
                rows.append((3, g, j, 0, new((3, j, 0) if "intercepts" in equal else None), 0.0))
            for f in range(m):
                free_mean = g > 0 and "intercepts" in equal
                rows.append((4, g, f, 0, new(None) if free_mean else -1, 0.0))
    a = np.array(rows, dtype=float).reshape(-1, 6)
    return _Spec(items=items, factors=names, n_groups=n_groups, meanstructure=meanstructure,
                 kind=a[:, 0].astype(int), group=a[:, 1].astype(int), row=a[:, 2].astype(int),
                 col=a[:, 3].astype(int), free=a[:, 4].astype(int), value=a[:, 5], n_free=counter[0])


def _values(spec: _Spec, theta: np.ndarray) -> np.ndarray:
    v = spec.value.copy()
    is_free = spec.free >= 0
    v[is_free] = theta[spec.free[is_free]]
    return v


def _matrices(spec: _Spec, v: np.ndarray, g: int) -> tuple[np.ndarray, ...]:
    p, m = len(spec.items), len(spec.factors)
    L, P, T = np.zeros((p, m)), np.zeros((m, m)), np.zeros((p, p))
    nu, al = np.zeros(p), np.zeros(m)
    sel = spec.group == g
    for k, r, c, x in zip(spec.kind[sel], spec.row[sel], spec.col[sel], v[sel]):
        if k == 0:
            L[r, c] = x
        elif k == 1:
            P[r, c] = P[c, r] = x
        elif k == 2:
            T[r, r] = x
        elif k == 3:
            nu[r] = x
        else:
            al[r] = x
    return L, P, T, nu, al


def _implied(spec: _Spec, v: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    L, P, T, nu, al = _matrices(spec, v, g)
    return L @ P @ L.T + T, nu + L @ al


def _jacobian(spec: _Spec, v: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """∂Σ_g/∂θ (q, p, p) and ∂μ_g/∂θ (q, p)."""
    L, P, _, _, al = _matrices(spec, v, g)
    p, q = len(spec.items), spec.n_free
    dS, dm = np.zeros((q, p, p)), np.zeros((q, p))
    LP = L @ P
    sel = (spec.group == g) & (spec.free >= 0)
    for k, r, c, i in zip(spec.kind[sel], spec.row[sel], spec.col[sel], spec.free[sel]):
        if k == 0:                                   # λ_rc
            dS[i, r, :] += LP[:, c]
            dS[i, :, r] += LP[:, c]
            dm[i, r] += al[c]
        elif k == 1:                                 # φ_rc
            o = np.outer(L[:, r], L[:, c])
            dS[i] += o if r == c else o + o.T
        elif k == 2:                                 # θ_r
            dS[i, r, r] += 1.0
        elif k == 3:                                 # ν_r
            dm[i, r] += 1.0
        else:                                        # α_r
            dm[i] += L[:, r]
    return dS, dm


@dataclass(frozen=True)
class _Moments:
    n: int
    mean: np.ndarray
    cov: np.ndarray       # divisor n
    data: np.ndarray      # the complete rows


def _moments(x: np.ndarray) -> _Moments:
    n = x.shape[0]
    mean = x.mean(axis=0)
    c = x - mean
    return _Moments(n=n, mean=mean, cov=c.T @ c / n, data=x)


def _evaluate(spec: _Spec, theta: np.ndarray, mom: Sequence[_Moments], order: int = 0):
    """F = Σ_g (N_g/N) F_g; with order 1 its gradient, with order 2 also the expected Hessian."""
    v = _values(spec, theta)
    n_total = sum(m.n for m in mom)
    q = spec.n_free
    F, grad, hess = 0.0, np.zeros(q), np.zeros((q, q))
    for g, m in enumerate(mom):
        w = m.n / n_total
        Sigma, mu = _implied(spec, v, g)
        try:
            chol = np.linalg.cholesky(Sigma)
        except np.linalg.LinAlgError:
            return (np.inf, np.full(q, np.nan), np.full((q, q), np.nan))[:order + 1] if order else np.inf
        Sinv = np.linalg.inv(Sigma)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        d = m.mean - mu if spec.meanstructure else np.zeros_like(mu)
        p = len(d)
        F += w * (logdet + np.sum(m.cov * Sinv) - np.linalg.slogdet(m.cov)[1] - p + d @ Sinv @ d)
        if order >= 1:
            dS, dm = _jacobian(spec, v, g)
            Sd = Sinv @ d
            G = Sinv - Sinv @ (m.cov + np.outer(d, d)) @ Sinv
            grad += w * (np.einsum("kij,ij->k", dS, G) - 2.0 * dm @ Sd)
            if order >= 2:
                A = Sinv @ dS
                hess += w * (np.einsum("kij,lji->kl", A, A) + 2.0 * dm @ Sinv @ dm.T)
    if order == 0:
        return F
    return (F, grad, hess)[:order + 1]


def _start(spec: _Spec, mom: Sequence[_Moments]) -> np.ndarray:
    theta = np.zeros(spec.n_free)
    seen = np.zeros(spec.n_free, dtype=bool)
    items_of: dict[tuple[int, int], list[int]] = {}
    for k, g, r, c in zip(spec.kind, spec.group, spec.row, spec.col):
        if k == 0:
            items_of.setdefault((g, c), []).append(r)
    for k, g, r, c, i in zip(spec.kind, spec.group, spec.row, spec.col, spec.free):
        if i < 0 or seen[i]:
            continue
        seen[i] = True
        S = mom[g].cov
        if k == 0:
            theta[i] = 1.0
        elif k == 1:
            if r == c:
                its = items_of[(g, r)]
                off = [S[a, b] for a in its for b in its if a < b]
                theta[i] = max(np.mean(off) if off else 0.0, 0.05 * S[its[0], its[0]])
            else:
                theta[i] = 0.0
        elif k == 2:
            theta[i] = 0.5 * S[r, r]
        elif k == 3:
            theta[i] = np.mean([mm.mean[r] for mm in mom]) if spec.n_groups > 1 else mom[g].mean[r]
        else:
            theta[i] = 0.0
    return theta


def _minimise(spec: _Spec, mom: Sequence[_Moments]) -> tuple[np.ndarray, bool]:
    x0 = _start(spec, mom)
    fun = lambda t: _evaluate(spec, t, mom)
    jac = lambda t: _evaluate(spec, t, mom, order=1)[1]
    hess = lambda t: _evaluate(spec, t, mom, order=2)[2]
    res = optimize.minimize(fun, x0, jac=jac, hess=hess, method="trust-exact",
                            options={"gtol": 1e-10, "maxiter": 1000})
    g = jac(res.x)
    ok = bool(np.isfinite(res.fun) and np.all(np.isfinite(g)) and np.max(np.abs(g)) < 1e-6)
    return res.x, ok


# --------------------------------------------------------------------------- fit measures
def _cfi(x2: float, df: float, x2b: float, dfb: float) -> float:
    t1 = max(x2 - df, 0.0)
    t2 = max(x2 - df, x2b - dfb, 0.0)
    if abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8:      # R's isTRUE(all.equal(t, 0))
        return 1.0
    return 1.0 - t1 / t2


def _tli(x2: float, df: float, x2b: float, dfb: float) -> float:
    t1 = (x2 - df) * dfb
    t2 = (x2b - dfb) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    if not (np.isfinite(t1) and np.isfinite(t2)):
        return NAN
    return 1.0


def _rmsea(x2: float, df: float, n: int, G: int) -> float:
    if df <= 0:
        return 0.0
    return float(np.sqrt(max(x2 / n / df - 1.0 / n, 0.0)) * np.sqrt(G))


def _rmsea_ci(x2: float, df: float, n: int, G: int, level: float = 0.90) -> tuple[float, float]:
    """lavaan's lav_fit_rmsea_ci: noncentrality λ with P(χ²_df(λ) ≤ X²) = .95 / .05."""
    if not (np.isfinite(x2) and np.isfinite(df)):
        return NAN, NAN
    up, lo = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(lam: float) -> float:
        return float(stats.chi2.cdf(x2, df) if lam == 0 else stats.ncx2.cdf(x2, df, lam))

    if df < 1 or cdf(0.0) - up < 0:
        low = 0.0
    else:
        lam = optimize.brentq(lambda t: cdf(t) - up, 0.0, x2, xtol=1e-12)
        low = float(np.sqrt(lam / (n * df)) * np.sqrt(G))
    top = max(n, 4 * x2)
    if df < 1 or cdf(top) - lo > 0 or cdf(0.0) - lo < 0:
        high = 0.0
    else:
        lam = optimize.brentq(lambda t: cdf(t) - lo, 0.0, top, xtol=1e-12)
        high = float(np.sqrt(lam / (n * df)) * np.sqrt(G))
    return low, high


def _srmr(spec: _Spec, v: np.ndarray, mom: Sequence[_Moments]) -> float:
    n_total = sum(m.n for m in mom)
    out = 0.0
    for g, m in enumerate(mom):
        Sigma, mu = _implied(spec, v, g)
        sd = np.sqrt(np.diag(m.cov))
        r = (m.cov - Sigma) / np.outer(sd, sd)
        res = list(r[np.triu_indices_from(r)])
        if spec.meanstructure:
            res += list((m.mean - mu) / sd)
        out += m.n / n_total * float(np.sqrt(np.mean(np.square(res))))
    return out


# --------------------------------------------------------------------------- the fit
@dataclass
class CfaFit:
    """One CFA fit: ``measures`` (keys of :data:`MEASURES`, plus ``fmin`` = lavaan's F/2
    and ``n_clusters`` with a cluster), ``parameters`` (``group, lhs, op, rhs, est,
    se, std_all, se_cluster``; lavaan's ``parameterEstimates`` order within a kind),
    ``n`` rows per group, ``note`` (empty when the fit is proper)."""

    measures: dict[str, float]
    parameters: pd.DataFrame
    n: list[int]
    note: str = ""
    converged: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _labels(spec: _Spec) -> list[tuple[str, str, str]]:
    out = []
    for k, r, c in zip(spec.kind, spec.row, spec.col):
        kind = _KINDS[k]
        if kind == "lambda":
            out.append((spec.factors[c], "=~", spec.items[r]))
        elif kind == "phi":
            out.append((spec.factors[r], "~~", spec.factors[c]))
        elif kind == "theta":
            out.append((spec.items[r], "~~", spec.items[r]))
        elif kind == "nu":
            out.append((spec.items[r], "~1", ""))
        else:
            out.append((spec.factors[r], "~1", ""))
    return out


def _std_all(spec: _Spec, v: np.ndarray) -> np.ndarray:
    out = np.full(len(v), NAN)
    for g in range(spec.n_groups):
        L, P, _, _, _ = _matrices(spec, v, g)
        Sigma, _ = _implied(spec, v, g)
        sd_ov = np.sqrt(np.diag(Sigma))
        sd_lv = np.sqrt(np.diag(P))
        sel = np.flatnonzero(spec.group == g)
        for idx in sel:
            k, r, c = spec.kind[idx], spec.row[idx], spec.col[idx]
            x = v[idx]
            with np.errstate(invalid="ignore", divide="ignore"):
                if k == 0:
                    out[idx] = x * sd_lv[c] / sd_ov[r]
                elif k == 1:
                    out[idx] = x / (sd_lv[r] * sd_lv[c])
                elif k == 2:
                    out[idx] = x / sd_ov[r] ** 2
                elif k == 3:
                    out[idx] = x / sd_ov[r]
                else:
                    out[idx] = x / sd_lv[r]
    return out


def _not_estimable(spec: _Spec, n: list[int], note: str) -> CfaFit:
    measures = {k: NAN for k in MEASURES}
    measures["n"] = float(sum(n))
    measures["fmin"] = NAN
    lab = _labels(spec)
    params = pd.DataFrame({"group": spec.group + 1, "lhs": [x[0] for x in lab], "op": [x[1] for x in lab],
                           "rhs": [x[2] for x in lab], "est": NAN, "se": NAN, "std_all": NAN, "se_cluster": NAN})
    return CfaFit(measures=measures, parameters=params, n=n, note=note, converged=False)


def _check_input(factors: Mapping[str, Sequence[str]], groups: Sequence[np.ndarray], items: list[str]) -> str:
    few = [f for f, its in factors.items() if len(its) < 2]
    if few:
        return f"factor(s) {few} have fewer than two items: model not identified"
    if len(set(items)) != len(items):
        return "an item is on more than one factor"
    p = len(items)
    for g, x in enumerate(groups):
        where = f" in group {g + 1}" if len(groups) > 1 else ""
        if x.shape[0] < p + 1:
            return f"too few complete rows{where} ({x.shape[0]}; need at least {p + 1} for {p} items)"
        var = x.var(axis=0)
        const = [items[j] for j in range(p) if not var[j] > 0]
        if const:
            return f"item(s) {const} constant{where}: sample covariance matrix singular"
        c = np.cov(x, rowvar=False)
        ev = np.linalg.eigvalsh(c / np.sqrt(np.outer(np.diag(c), np.diag(c))))
        if ev.min() <= 1e-10:
            return f"sample covariance matrix not positive definite{where}"
    return ""


def _complete(data: pd.DataFrame, items: list[str], cluster: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    missing = [c for c in items + ([cluster] if cluster else []) if c not in data.columns]
    if missing:
        raise ValueError(f"data lack column(s) {missing}")
    x = data[items].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()
    keep = ~np.isnan(x).any(axis=1)
    cl = None
    if cluster:
        cl_s = data[cluster]
        keep &= cl_s.notna().to_numpy()
        cl = cl_s.to_numpy()[keep]
    return x[keep], cl


def fit_cfa(data: pd.DataFrame | Sequence[pd.DataFrame], factors: Mapping[str, Sequence[str]], *,
            equal: Sequence[str] = (), cluster: str | None = None) -> CfaFit:
    """ML CFA of ``factors`` (``{factor: [items]}``, first item = marker) on ``data``.

    ``data``: one frame (one group, no mean structure, as ``cfa(model, data)``) or a
    sequence of frames (groups in that order, with a mean structure, as ``cfa(model,
    data, group = ...)``); rows with a missing model item are dropped (listwise).
    ``equal``: lavaan's ``group.equal`` subset of ``("loadings", "intercepts")``; with
    ``"intercepts"`` the latent means of groups 2.. are free. ``cluster``: a column
    of ``data`` (one group only): adds ``se_cluster``, lavaan's robust.cluster SEs
    of ``cfa(model, data, cluster = cluster, estimator = "MLR")``. Degenerate input
    gives NaN values and a ``note``.
    """
    multi = not isinstance(data, pd.DataFrame)
    frames = list(data) if multi else [data]
    if cluster and len(frames) > 1:
        raise ValueError("cluster-robust SEs are implemented for one group only")
    items = [i for f in factors for i in factors[f]]
    spec = _spec(factors, len(frames), meanstructure=multi, equal=equal)
    cleaned = [_complete(d, items, cluster if not multi else None) for d in frames]
    xs = [c[0] for c in cleaned]
    n = [int(x.shape[0]) for x in xs]
    note = _check_input(factors, xs, items)
    if note:
        return _not_estimable(spec, n, note)
    mom = [_moments(x) for x in xs]
    theta, ok = _minimise(spec, mom)
    if not ok:
        return _not_estimable(spec, n, "the ML fit did not converge")
    fit = _assemble(spec, theta, mom)
    if cluster:
        _cluster_se(fit, factors, mom[0], cleaned[0][1])
    return fit


def _assemble(spec: _Spec, theta: np.ndarray, mom: Sequence[_Moments]) -> CfaFit:
    F, _, H = _evaluate(spec, theta, mom, order=2)
    n_total = sum(m.n for m in mom)
    G, p = spec.n_groups, len(spec.items)
    info = n_total / 2.0 * H                      # expected information of θ
    try:
        cov = np.linalg.inv(info)
        se_free = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        se_free = np.full(spec.n_free, NAN)
    v = _values(spec, theta)
    se = np.where(spec.free >= 0, se_free[np.clip(spec.free, 0, None)], 0.0)
    chisq = n_total * F
    df = G * (p * (p + 1) // 2 + (p if spec.meanstructure else 0)) - spec.n_free
    bchisq = sum(m.n * (np.log(np.diag(m.cov)).sum() - np.linalg.slogdet(m.cov)[1]) for m in mom)
    bdf = G * p * (p - 1) // 2
    lo, hi = _rmsea_ci(chisq, df, n_total, G)
    measures = {
        "chisq": chisq, "df": float(df), "pvalue": float(stats.chi2.sf(chisq, df)) if df > 0 else NAN,
        "cfi": _cfi(chisq, df, bchisq, bdf), "tli": _tli(chisq, df, bchisq, bdf),
        "rmsea": _rmsea(chisq, df, n_total, G), "rmsea_ci_lower": lo, "rmsea_ci_upper": hi,
        "srmr": _srmr(spec, v, mom), "n": float(n_total), "baseline_chisq": float(bchisq),
        "baseline_df": float(bdf), "fmin": F / 2.0}
    lab = _labels(spec)
    params = pd.DataFrame({"group": spec.group + 1, "lhs": [x[0] for x in lab], "op": [x[1] for x in lab],
                           "rhs": [x[2] for x in lab], "est": v, "se": se, "std_all": _std_all(spec, v),
                           "se_cluster": NAN})
    notes = []
    variances = ((spec.kind == 2) | ((spec.kind == 1) & (spec.row == spec.col)))
    if (v[variances] < 0).any():
        notes.append("improper solution: a negative variance estimate (Heywood case)")
    if not np.all(np.isfinite(se_free)):
        notes.append("information matrix singular: SEs not available")
    return CfaFit(measures=measures, parameters=params, n=[m.n for m in mom], note="; ".join(notes),
                  extra={"spec": spec, "theta": theta})


def _cluster_se(fit: CfaFit, factors: Mapping[str, Sequence[str]], mom: _Moments, cl: np.ndarray) -> None:
    """lavaan's robust.cluster SEs (estimator MLR, cluster=): sandwich of the observed
    information and the cluster-summed casewise scores, in the model with means."""
    spec = _spec(factors, 1, meanstructure=True)
    theta, ok = _minimise(spec, [mom])
    codes, uniq = pd.factorize(pd.Series(cl), sort=True)
    C = len(uniq)
    fit.measures["n_clusters"] = float(C)
    if not ok or C < 2:
        fit.note = "; ".join(x for x in (fit.note, "cluster-robust SEs not available (fewer than 2 clusters)"
                                         if C < 2 else "cluster-robust fit did not converge") if x)
        return
    N = mom.n
    v = _values(spec, theta)
    Sigma, mu = _implied(spec, v, 0)
    Sinv = np.linalg.inv(Sigma)
    dS, dm = _jacobian(spec, v, 0)
    # observed information per row: Hessian of F/2, by central differences of the analytic gradient
    q = spec.n_free
    A = np.zeros((q, q))
    for k in range(q):
        h = 1e-5 * max(1.0, abs(theta[k]))
        e = np.zeros(q)
        e[k] = h
        A[:, k] = (_evaluate(spec, theta + e, [mom], 1)[1] - _evaluate(spec, theta - e, [mom], 1)[1]) / (4.0 * h)
    A = (A + A.T) / 2.0
    # casewise scores of the log-likelihood, summed per cluster
    U = (mom.data - mu) @ Sinv                               # (N, p): Σ⁻¹(y - μ)
    S_c = np.zeros((C, q))
    for c in range(C):
        Uc = U[codes == c]
        M = 0.5 * (Uc.T @ Uc - Uc.shape[0] * Sinv)
        S_c[c] = np.einsum("kij,ij->k", dS, M) + dm @ Uc.sum(axis=0)
    B = C / (C - 1) * S_c.T @ S_c / N
    try:
        Ainv = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        fit.note = "; ".join(x for x in (fit.note, "observed information singular: no cluster-robust SEs") if x)
        return
    V = Ainv @ B @ Ainv / N
    se_free = np.sqrt(np.clip(np.diag(V), 0.0, None))
    lab = _labels(spec)
    se = {lab[i]: (se_free[spec.free[i]] if spec.free[i] >= 0 else 0.0) for i in range(len(lab))}
    keys = list(zip(fit.parameters["lhs"], fit.parameters["op"], fit.parameters["rhs"]))
    fit.parameters["se_cluster"] = [se.get(k, NAN) for k in keys]
    fit.extra["cluster_parameters"] = pd.DataFrame({"lhs": [x[0] for x in lab], "op": [x[1] for x in lab],
                                                    "rhs": [x[2] for x in lab], "est": v,
                                                    "se": [se[x] for x in lab], "std_all": _std_all(spec, v)})


# --------------------------------------------------------------------------- tables
def cfa_tables(rt: pd.DataFrame, models: Mapping[str, Mapping[str, Sequence[str]]], *,
               cluster: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per round: ``(cfa, cfa_loadings)`` for each model of ``models`` (:func:`factor_models`).

    ``rt``: one row per (respondent, target) with one column per item (as
    :func:`relcoord.scores.respondent_ties`). ``cfa``: ``model, measure, value,
    note`` with the measures of :data:`MEASURES`, ``corr_<f>_<h>`` (standardised
    factor covariances) and, with ``cluster``, ``n_clusters``. ``cfa_loadings``:
    ``model, factor, item, loading, se, std_loading, se_cluster`` (the marker's
    SE is 0 as in lavaan; ``se_cluster`` NaN without ``cluster``).
    """
    rows, loads = [], []
    for name, factors in models.items():
        fit = fit_cfa(rt, factors, cluster=cluster)
        names = list(MEASURES) + (["n_clusters"] if cluster else [])
        for m in names:
            rows.append({"model": name, "measure": m, "value": float(fit.measures.get(m, NAN)), "note": fit.note})
        par = fit.parameters
        fl = list(factors)
        for a in range(len(fl)):
            for b in range(a + 1, len(fl)):
                hit = par[(par["op"] == "~~") & (par["lhs"] == fl[a]) & (par["rhs"] == fl[b])]
                rows.append({"model": name, "measure": f"corr_{fl[a]}_{fl[b]}",
                             "value": float(hit["std_all"].iloc[0]) if len(hit) else NAN, "note": fit.note})
        lam = par[par["op"] == "=~"]
        loads.append(pd.DataFrame({"model": name, "factor": lam["lhs"].to_numpy(), "item": lam["rhs"].to_numpy(),
                                   "loading": lam["est"].to_numpy(), "se": lam["se"].to_numpy(),
                                   "std_loading": lam["std_all"].to_numpy(),
                                   "se_cluster": lam["se_cluster"].to_numpy()}))
    cfa = pd.DataFrame(rows, columns=CFA_COLUMNS)
    cfa["value"] = cfa["value"].astype(float)
    loadings = pd.concat(loads, ignore_index=True) if loads else pd.DataFrame(columns=LOADING_COLUMNS)
    return cfa, loadings[LOADING_COLUMNS]


def invariance_verdict(delta_cfi: float, delta_rmsea: float, cfi_drop: float = CFI_DROP,
                       rmsea_rise: float = RMSEA_RISE) -> str:
    """``"invariant"`` when ΔCFI ≥ -cfi_drop and ΔRMSEA ≤ rmsea_rise (Chen 2007;
    Cheung & Rensvold 2002; Δ = constrained minus less constrained), else
    ``"not_invariant"``; ``"not_estimable"`` when either is NaN."""
    if not (np.isfinite(delta_cfi) and np.isfinite(delta_rmsea)):
        return "not_estimable"
    # a hair of slack so that a difference printed as exactly -0.010 counts as -0.010
    return "invariant" if delta_cfi >= -cfi_drop - 1e-12 and delta_rmsea <= rmsea_rise + 1e-12 else "not_invariant"


def invariance_table(baseline: pd.DataFrame, followup: pd.DataFrame,
                     models: Mapping[str, Mapping[str, Sequence[str]]]) -> pd.DataFrame:
    """Per comparison: configural, metric and scalar invariance of each model across
    the two rounds (``baseline`` = group 1, whose latent means stay 0).

    Columns :data:`INVARIANCE_COLUMNS`. ``delta_*`` = this step minus the step
    before (metric - configural, scalar - metric); ``delta_pvalue`` is the
    χ²-difference (likelihood-ratio) test, as ``lavTestLRT`` for ML. ``verdict``:
    ``"reference"`` for the configural step, else :func:`invariance_verdict`.
    """
    rows = []
    for name, factors in models.items():
        prev: dict[str, float] | None = None
        for step in STEPS:
            fit = fit_cfa([baseline, followup], factors, equal=STEP_EQUAL[step])
            m = fit.measures
            row = {"model": name, "step": step, "n": m["n"], "chisq": m["chisq"], "df": m["df"],
                   "pvalue": m["pvalue"], "cfi": m["cfi"], "tli": m["tli"], "rmsea": m["rmsea"], "srmr": m["srmr"],
                   "note": fit.note}
            if prev is None:
                row.update(delta_chisq=NAN, delta_df=NAN, delta_pvalue=NAN, delta_cfi=NAN, delta_rmsea=NAN,
                           verdict="reference" if np.isfinite(m["chisq"]) else "not_estimable")
            else:
                dchi, ddf = m["chisq"] - prev["chisq"], m["df"] - prev["df"]
                dp = float(stats.chi2.sf(max(dchi, 0.0), ddf)) if np.isfinite(dchi) and ddf > 0 else NAN
                dcfi, drmsea = m["cfi"] - prev["cfi"], m["rmsea"] - prev["rmsea"]
                row.update(delta_chisq=dchi, delta_df=ddf, delta_pvalue=dp, delta_cfi=dcfi, delta_rmsea=drmsea,
                           verdict=invariance_verdict(dcfi, drmsea))
            rows.append(row)
            prev = m
    out = pd.DataFrame(rows, columns=INVARIANCE_COLUMNS)
    return out
