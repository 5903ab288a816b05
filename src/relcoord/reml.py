"""The REML engine: crossed (or nested) random-intercept linear mixed models.

:func:`fit_crossed_reml` is an exact profiled REML in the lme4 formulation
(Bates et al. 2015, J Stat Softw 67(1), eqs. 34-42) evaluated from the data's
cross-products, so one evaluation costs the same at every number of rows;
:func:`fit_statsmodels` is statsmodels ``MixedLM`` (REML, the crossed
intercepts as variance components of one all-encompassing group);
:func:`fit_mixed` picks one. Both agree with ``lme4::lmer`` (tests/r/compare.R).

Heavy libraries imported lazily (on first use, through
:func:`relcoord.lazy.lazy_module`): scipy.linalg, scipy.optimize,
statsmodels.formula.api.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .lazy import lazy_module

linalg = lazy_module("scipy.linalg")
optimize = lazy_module("scipy.optimize")
smf = lazy_module("statsmodels.formula.api")

__all__ = ["REMLFit", "fit_crossed_reml", "fit_statsmodels", "fit_mixed", "SM_MAX_ROWS"]

#: ``engine="auto"``: statsmodels up to this many rows (and at most two factors), else the REML engine
SM_MAX_ROWS = 20_000


@dataclass
class REMLFit:
    """Result of :func:`fit_crossed_reml` (or :func:`fit_statsmodels`)."""
    terms: list[str]
    beta: np.ndarray
    cov_beta: np.ndarray
    sigma2: float
    varcomp: dict[str, float]
    reml_deviance: float
    theta: np.ndarray
    n_obs: int
    n_levels: dict[str, int]
    converged: bool
    message: str = ""
    engine: str = "profiled REML (lme4 formulation, cross-products)"

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov_beta))


@dataclass
class _CrossProducts:
    """[Z X y]'[Z X y] arranged for the profiled deviance: the factor with most levels (``big``)
    is kept as per-level sums grouped by its level sizes ``nvals`` (``S``, ``h``, ``e``, ``cnt``),
    the other factors and X as one dense block ``R`` with right-hand side ``yr``."""
    big: int
    small: list[int]
    qs: list[int]
    qS: int
    p: int
    R: np.ndarray
    yr: np.ndarray
    yty: float
    nmp: int
    nvals: np.ndarray
    S: np.ndarray
    h: np.ndarray
    e: np.ndarray
    cnt: np.ndarray


def _factor_codes(factors: Mapping[str, np.ndarray]) -> tuple[list[str], list[np.ndarray], list[int]]:
    """Names, integer codes (levels in sorted order) and numbers of levels of the random factors."""
    names = list(factors)
    codes, q = [], []
    for nm in names:
        f = factors[nm]
        # a Categorical (categories in sorted order) is factorised by its codes
        c, u = pd.factorize(f if isinstance(f, pd.Categorical) else np.asarray(f), sort=True)
        if (c < 0).any():
            raise ValueError(f"missing values in factor {nm}")
        codes.append(c.astype(np.int64))
        q.append(len(u))
    if not names:
        raise ValueError("at least one random factor is needed")
    return names, codes, q


def _dense_block(y: np.ndarray, X: np.ndarray, codes: list[np.ndarray], small: list[int], qs: list[int],
                 offs: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Cross-products of the small factors' indicators and X: ``(R, yr)`` (m × m and m)."""
    p = X.shape[1]
    qS = int(offs[-1])
    R = np.zeros((m, m))
    for i, j in enumerate(small):
        for i2, j2 in enumerate(small):
            if i2 < i:
                continue
            if i == i2:
                R[offs[i]:offs[i + 1], offs[i]:offs[i + 1]] = np.diag(np.bincount(codes[j], minlength=qs[i]))
            else:
                blk = np.bincount(codes[j] * qs[i2] + codes[j2], minlength=qs[i] * qs[i2]).reshape(qs[i], qs[i2])
                R[offs[i]:offs[i + 1], offs[i2]:offs[i2 + 1]] = blk
                R[offs[i2]:offs[i2 + 1], offs[i]:offs[i + 1]] = blk.T
        for c in range(p):
            v = np.bincount(codes[j], weights=X[:, c], minlength=qs[i])
            R[offs[i]:offs[i + 1], qS + c] = v
            R[qS + c, offs[i]:offs[i + 1]] = v
    R[qS:, qS:] = X.T @ X
    yr = np.zeros(m)
    for i, j in enumerate(small):
        yr[offs[i]:offs[i + 1]] = np.bincount(codes[j], weights=y, minlength=qs[i])
    yr[qS:] = X.T @ y
    return R, yr


def _cross_products(y: np.ndarray, X: np.ndarray, codes: list[np.ndarray], q: list[int]) -> _CrossProducts:
    """One pass over the data. The big factor's block of ΛZ'ZΛ + I is diagonal with entries
    θ_D² n_d + 1, so its elimination depends on level d only through n_d: the levels are grouped
    by n_d once, and each evaluation costs O(#distinct n_d · m²), whatever the number of levels
    (respondents) or rows."""
    n, p = X.shape
    k = len(codes)
    big = int(np.argmax(q))
    small = [j for j in range(k) if j != big]
    cD, qD = codes[big], q[big]
    qs = [q[j] for j in small]
    offs = np.concatenate([[0], np.cumsum(qs)]).astype(int)
    qS = int(offs[-1])
    m = qS + p
    nD = np.bincount(cD, minlength=qD).astype(float)
    CD = np.zeros((qD, m))
    for i, j in enumerate(small):
        CD[:, offs[i]:offs[i + 1]] = np.bincount(cD * qs[i] + codes[j], minlength=qD * qs[i]).reshape(qD, qs[i])
    for c in range(p):
        CD[:, qS + c] = np.bincount(cD, weights=X[:, c], minlength=qD)
    yD = np.bincount(cD, weights=y, minlength=qD)
    R, yr = _dense_block(y, X, codes, small, qs, offs, m)
    nvals, inv = np.unique(nD, return_inverse=True)
    V = len(nvals)
    S = np.zeros((V, m, m))
    h = np.zeros((V, m))
    e = np.zeros(V)
    cnt = np.bincount(inv, minlength=V).astype(float)
    for v in range(V):
        sel = inv == v
        Cv = CD[sel]
        S[v] = Cv.T @ Cv
        h[v] = Cv.T @ yD[sel]
        e[v] = float(yD[sel] @ yD[sel])
    return _CrossProducts(big=big, small=small, qs=qs, qS=qS, p=p, R=R, yr=yr, yty=float(y @ y), nmp=n - p,
                          nvals=nvals, S=S, h=h, e=e, cnt=cnt)


def _pieces(cp: _CrossProducts, theta: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """For relative standard deviations θ: log det and quadratic form of the eliminated big factor,
    and the reduced system ``(Ms, ct)`` of the small factors and the fixed effects."""
    tD2 = theta[cp.big] ** 2
    ts = (np.concatenate([np.full(cp.qs[i], theta[j]) for i, j in enumerate(cp.small)]) if cp.small
          else np.zeros(0))
    s = np.concatenate([ts, np.ones(cp.p)])
    w = tD2 / (tD2 * cp.nvals + 1.0)
    Ms = (cp.R - np.tensordot(w, cp.S, axes=1)) * s[:, None] * s[None, :]
    diag_S = np.arange(cp.qS)
    Ms[diag_S, diag_S] += 1.0
    ct = (cp.yr - w @ cp.h) * s
    quad_D = float(w @ cp.e)
    logdet_D = float(cp.cnt @ np.log(tD2 * cp.nvals + 1.0))
    return logdet_D, quad_D, Ms, ct


def _deviance(cp: _CrossProducts, theta: np.ndarray) -> float:
    """lme4's profiled REML deviance at θ (inf where the system is not positive definite)."""
    logdet_D, quad_D, Ms, ct = _pieces(cp, theta)
    try:
        L = linalg.cho_factor(Ms, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return np.inf
    sol = linalg.cho_solve(L, ct, check_finite=False)
    r2 = cp.yty - quad_D - float(ct @ sol)
    if not r2 > 0:
        return np.inf
    logdet = logdet_D + 2.0 * float(np.sum(np.log(np.diag(L[0]))))
    return logdet + cp.nmp * (1.0 + np.log(2.0 * np.pi * r2 / cp.nmp))


def _minimise(deviance: Callable[[np.ndarray], float], k: int):
    """θ ≥ 0 minimising the deviance: L-BFGS-B from two starts, polished by Nelder-Mead when
    L-BFGS-B does not report success. Returns ``(result, converged, message)``."""
    best = None
    for start in (np.ones(k), np.full(k, 0.25)):
        res = optimize.minimize(deviance, start, method="L-BFGS-B", bounds=[(0.0, None)] * k,
                                options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 1000})
        if best is None or res.fun < best.fun - 1e-9:
            best = res
        if res.success and k <= 2:
            break
    converged, message = bool(best.success), str(best.message)
    if not best.success:
        # L-BFGS-B's line search can stall on finite-difference gradients near
        # the optimum: confirm / polish derivative-free (as lme4 does throughout)
        nm = optimize.minimize(deviance, best.x, method="Nelder-Mead", bounds=[(0.0, None)] * k,
                               options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000})
        if nm.fun <= best.fun:
            best = nm
        converged, message = bool(nm.success), f"L-BFGS-B: {message}; Nelder-Mead: {nm.message}"
    return best, converged, message


def fit_crossed_reml(y: np.ndarray, X: np.ndarray, factors: Mapping[str, np.ndarray],
                     terms: Sequence[str] | None = None) -> REMLFit:
    """REML fit of ``y = X β + Σ_k Z_k u_k + e`` with independent random
    intercepts ``u_k ~ N(0, σ_k² I)`` for crossed (or nested) factors.

    This is lme4's profiled REML deviance (θ_k = σ_k / σ, optimised over θ ≥ 0
    with L-BFGS-B) evaluated from the cross-products [Z X y]'[Z X y], so the
    cost after one pass over the data does not depend on the number of rows.
    The factor with most levels (e.g. respondents) is eliminated through its
    diagonal block (Schur complement), so it may have many thousands of levels.
    Fixed-effect covariance is σ² (R_X'R_X)⁻¹, as lme4's ``vcov``."""
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    n, p = X.shape
    terms = list(terms) if terms is not None else [f"x{j}" for j in range(p)]
    names, codes, q = _factor_codes(factors)
    if np.linalg.matrix_rank(X) < p:
        raise ValueError("the fixed-effect design is rank deficient (a term is confounded with others)")
    cp = _cross_products(y, X, codes, q)
    best, converged, message = _minimise(lambda theta: _deviance(cp, theta), len(names))
    theta = np.maximum(np.asarray(best.x, float), 0.0)
    _, quad_D, Ms, ct = _pieces(cp, theta)
    L = linalg.cho_factor(Ms, lower=True)
    sol = linalg.cho_solve(L, ct)
    sigma2 = (cp.yty - quad_D - float(ct @ sol)) / cp.nmp
    Minv = linalg.cho_solve(L, np.eye(Ms.shape[0]))
    varcomp = {nm_: float(theta[j] ** 2 * sigma2) for j, nm_ in enumerate(names)}
    return REMLFit(terms=terms, beta=sol[cp.qS:], cov_beta=sigma2 * Minv[cp.qS:, cp.qS:], sigma2=float(sigma2),
                   varcomp=varcomp, reml_deviance=float(best.fun), theta=theta, n_obs=n,
                   n_levels={nm_: q[j] for j, nm_ in enumerate(names)}, converged=converged, message=message)


def fit_statsmodels(df: pd.DataFrame, rhs: Sequence[str], factors: Sequence[str]) -> REMLFit:
    """rc ~ rhs with crossed random intercepts for ``factors``: statsmodels MixedLM, REML, the
    intercepts as variance components of one all-encompassing group."""
    formula = "rc ~ " + " + ".join(rhs) if rhs else "rc ~ 1"
    vcf = {f: f"0 + C({f})" for f in factors}
    d = df.assign(_one=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = smf.mixedlm(formula, d, groups="_one", re_formula="0", vc_formula=vcf)
        res = model.fit(reml=True, method=["lbfgs", "bfgs"])
    msgs = sorted({str(w.message).split("\n")[0] for w in caught
                   if "Convergence" in type(w.category).__name__ or "converge" in str(w.message).lower()
                   or "boundary" in str(w.message).lower()})
    fe = res.fe_params
    terms = ["intercept" if t == "Intercept" else t for t in fe.index]
    cov = np.asarray(res.cov_params().loc[fe.index, fe.index], float)
    vnames = list(model.exog_vc.names)
    varcomp = {nm: float(v) for nm, v in zip(vnames, np.asarray(res.vcomp, float))}
    return REMLFit(terms=terms, beta=np.asarray(fe, float), cov_beta=cov, sigma2=float(res.scale),
                   varcomp=varcomp, reml_deviance=float(-2 * res.llf), theta=np.sqrt(np.asarray(res.vcomp) / res.scale),
                   n_obs=int(res.nobs), n_levels={f: int(df[f].nunique()) for f in factors},
                   converged=bool(res.converged), message="; ".join(msgs),
                   engine="statsmodels MixedLM (REML, variance components in one group)")


def fit_mixed(df: pd.DataFrame, rhs: Sequence[str], factors: Sequence[str], engine: str) -> REMLFit:
    """rc ~ 1 + rhs + (1|factor) for each factor; ``rhs`` terms are columns of ``df`` or
    interactions ``a:b``. ``engine``: "reml" (:func:`fit_crossed_reml`), "statsmodels"
    (:func:`fit_statsmodels`) or "auto" (statsmodels up to :data:`SM_MAX_ROWS` rows and two
    factors, else reml)."""
    use_sm = engine == "statsmodels" or (engine == "auto" and len(df) <= SM_MAX_ROWS and len(factors) <= 2)
    if use_sm:
        return fit_statsmodels(df, rhs, factors)
    cols, terms = [np.ones(len(df))], ["intercept"]
    for t in rhs:
        if t.count("*") or t.count(":"):
            parts = t.replace("*", ":").split(":")
            cols.append(np.prod([df[x].to_numpy(float) for x in parts], axis=0))
        else:
            cols.append(df[t].to_numpy(float))
        terms.append(t)
    X = np.column_stack(cols)
    return fit_crossed_reml(df["rc"].to_numpy(float), X, {f: df[f].values for f in factors}, terms)
