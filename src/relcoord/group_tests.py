"""Test statistics over many groups at once: the before/after tests of
:mod:`relcoord.compare`.

- :func:`welch_vectorised` Welch's t from group moments (= ``scipy.stats.ttest_ind(b, a, equal_var=False)``).
- :func:`hedges_g` Hedges' g with its analytic 95 % CI (Hedges & Olkin 1985).
- :func:`mann_whitney_by_runs` Mann–Whitney U by tied runs (= ``scipy.stats.mannwhitneyu``).
- :func:`bootstrap_g` percentile CI of Hedges' g.
- :func:`paired_tests` paired t and Hedges' d_z (= ``scipy.stats.ttest_rel``), :func:`wilcoxon_signed_rank`.
- :func:`bh_adjust`, :func:`bh_by_family` Benjamini–Hochberg FDR (Benjamini & Hochberg 1995;
  statsmodels ``fdr_bh``).

Every signed statistic is B − A (follow-up minus baseline).

Heavy libraries imported lazily (on first use, through
:func:`relcoord.lazy.lazy_module`): scipy.stats, statsmodels.stats.multitest.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .lazy import lazy_module

stats = lazy_module("scipy.stats")
multitest = lazy_module("statsmodels.stats.multitest")

__all__ = ["Z975", "group_moments", "welch_vectorised", "hedges_g", "mann_whitney_by_runs", "bootstrap_g",
           "paired_tests", "wilcoxon_signed_rank", "bh_adjust", "bh_by_family"]

Z975 = 1.959963984540054  # float(scipy.stats.norm.ppf(0.975)), exactly


def group_moments(gid: np.ndarray, val: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n, mean, var)`` of ``val`` per group code ``gid`` in ``0..G-1`` (var with ddof 1; NaN for n < 2)."""
    n = np.bincount(gid, minlength=G).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(gid, weights=val, minlength=G) / n
        ss = np.bincount(gid, weights=(val - mean[gid]) ** 2, minlength=G)
        var = np.where(n > 1, ss / (n - 1), np.nan)
    return n, mean, var


def welch_vectorised(n_a, mean_a, var_a, n_b, mean_b, var_b):
    """Welch's t for B − A from group moments: ``(t, df, p)`` arrays.

    Equals ``scipy.stats.ttest_ind(b, a, equal_var=False)`` except when both
    groups have zero variance, where scipy returns t = ±inf, p = 0 and this
    returns NaN (the test is undefined)."""
    n_a, n_b = np.asarray(n_a, float), np.asarray(n_b, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        va, vb = np.asarray(var_a, float) / n_a, np.asarray(var_b, float) / n_b
        se2 = va + vb
        t = (np.asarray(mean_b) - np.asarray(mean_a)) / np.sqrt(se2)
        df = se2 ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
        p = 2.0 * stats.t.sf(np.abs(t), df)
    bad = ~(se2 > 0)
    t, df, p = np.where(bad, np.nan, t), np.where(bad, np.nan, df), np.where(bad, np.nan, p)
    return t, df, np.minimum(p, 1.0)


def hedges_g(n_a, mean_a, var_a, n_b, mean_b, var_b):
    """Hedges' g (B − A, pooled SD, J = 1 − 3/(4(n_a+n_b) − 9)) and its
    analytic 95 % CI with var(g) = (n_a+n_b)/(n_a n_b) + g²/(2(n_a+n_b))."""
    n_a, n_b = np.asarray(n_a, float), np.asarray(n_b, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sp = np.sqrt(((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2))
        d = (np.asarray(mean_b) - np.asarray(mean_a)) / sp
        g = (1.0 - 3.0 / (4.0 * (n_a + n_b) - 9.0)) * d
        se = np.sqrt((n_a + n_b) / (n_a * n_b) + g ** 2 / (2.0 * (n_a + n_b)))
    g = np.where(np.isfinite(g), g, np.nan)
    return g, g - Z975 * se, g + Z975 * se


def mann_whitney_by_runs(gid: np.ndarray, rnd: np.ndarray, val: np.ndarray, G: int,
                    n_a: np.ndarray, n_b: np.ndarray, need: np.ndarray):
    """Mann–Whitney U of B vs A for every group at once, by ranks.

    Returns ``(U_b, p)`` equal to ``scipy.stats.mannwhitneyu(b, a)`` (two-sided,
    continuity correction, method 'auto'): the tie-corrected normal
    approximation, or scipy's exact distribution for the few groups where
    'auto' picks it (a sample of ≤ 8 and no ties). ``val`` must be finite.

    Ranks come from counting, not sorting every value: the distinct (group,
    value) cells are the runs of tied values, a run of t values starting at
    position f within its group has mid-rank f + (t − 1)/2, and
    R_b = Σ_runs t_b · mid-rank. Mid-ranks are multiples of ½, so every sum is
    exact in floating point and equals the rank-by-rank sum."""
    gid = np.asarray(gid, dtype=np.int64)
    rnd = np.asarray(rnd)
    val = np.asarray(val, dtype=float)
    n_a, n_b = np.asarray(n_a, float), np.asarray(n_b, float)
    counts = np.bincount(gid, minlength=G)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(float)
    vcode, vuniq = pd.factorize(val, sort=True)
    cell_code, cells = pd.factorize(gid * max(len(vuniq), 1) + vcode, sort=True)
    run_g = cells // max(len(vuniq), 1)
    C_ = len(cells)
    run_len = np.bincount(cell_code, minlength=C_).astype(float)
    run_len_b = np.bincount(cell_code[rnd == 1], minlength=C_).astype(float)
    run_first = np.cumsum(run_len) - run_len - start[run_g] + 1.0
    ranks = run_first + (run_len - 1.0) / 2.0
    tie_term = np.bincount(run_g, weights=run_len ** 3 - run_len, minlength=G)
    has_ties = np.bincount(run_g, weights=(run_len > 1).astype(float), minlength=G) > 0
    R_b = np.bincount(run_g, weights=run_len_b * ranks, minlength=G)
    U_b = R_b - n_b * (n_b + 1) / 2.0
    U = np.maximum(U_b, n_a * n_b - U_b)
    n = n_a + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(n_a * n_b / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (U - n_a * n_b / 2.0 - 0.5) / s
        p = np.clip(2.0 * stats.norm.sf(z), 0.0, 1.0)
    exact = need & ~has_ties & ((n_a <= 8) | (n_b <= 8))
    if exact.any():
        idx = np.flatnonzero(exact[gid])
        idx = idx[np.lexsort((val[idx], gid[idx]))]
        g, v, r = gid[idx], val[idx], rnd[idx]
        bounds = np.searchsorted(g, np.flatnonzero(exact), side="left")
        ends = np.searchsorted(g, np.flatnonzero(exact), side="right")
        for k, lo, hi in zip(np.flatnonzero(exact), bounds, ends):
            vv, rr = v[lo:hi], r[lo:hi]
            p[k] = stats.mannwhitneyu(vv[rr == 1], vv[rr == 0], method="exact").pvalue
    U_b = np.where(need, U_b, np.nan)
    p = np.where(need, p, np.nan)
    return U_b, p


def bh_adjust(p: np.ndarray | Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p (statsmodels ``fdr_bh``); NaN stay NaN
    and are not counted in the family."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multitest.multipletests(p[ok], method="fdr_bh")[1]
    return out


def bh_by_family(df: pd.DataFrame, family: Sequence[str]) -> np.ndarray:
    out = np.full(len(df), np.nan)
    if len(df) == 0:
        return out
    valid = (~df["suppressed"].to_numpy(bool)) & np.isfinite(df["p"].to_numpy(float))
    codes = df.groupby(list(family), sort=False, dropna=False).ngroup().to_numpy()
    pv = df["p"].to_numpy(float)
    for c in np.unique(codes[valid]):
        sel = valid & (codes == c)
        out[sel] = multitest.multipletests(pv[sel], method="fdr_bh")[1]
    return out


def bootstrap_g(gid, rnd, val, G, todo, n_boot, seed):
    """Percentile 95 % CI of Hedges' g from ``n_boot`` resamples of each
    round's respondents, independently per group (seeded, deterministic)."""
    lo, hi = np.full(G, np.nan), np.full(G, np.nan)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rnd, gid))
    g, r, v = gid[order], rnd[order], val[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(g, minlength=G))])
    for k in np.flatnonzero(todo):
        sl = slice(bounds[k], bounds[k + 1])
        a, b = v[sl][r[sl] == 0], v[sl][r[sl] == 1]
        ra = a[rng.integers(0, len(a), (n_boot, len(a)))]
        rb = b[rng.integers(0, len(b), (n_boot, len(b)))]
        gs, _, _ = hedges_g(len(a), ra.mean(1), ra.var(1, ddof=1), len(b), rb.mean(1), rb.var(1, ddof=1))
        gs = gs[np.isfinite(gs)]
        if len(gs):
            lo[k], hi[k] = np.quantile(gs, [0.025, 0.975])
    return lo, hi


def wilcoxon_signed_rank(d: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.wilcoxon(d)`` (two-sided, zeros dropped, method 'auto'):
    ``(statistic, p)``; NaN when every difference is zero.

    For n ≤ 13 with ties or zeros scipy's 'auto' runs an exact permutation
    test through ``permutation_test`` (~0.2 s a call); the same exact
    sign-flip distribution is enumerated here directly (2^k subset sums of
    the ranks), giving scipy's p-value in microseconds."""
    d = np.asarray(d, float)
    nz = d[d != 0]
    if len(nz) == 0:
        return np.nan, np.nan
    r = stats.rankdata(np.abs(nz))
    r_plus = float(r[nz > 0].sum())
    r_minus = float(r[nz < 0].sum())
    ties = len(np.unique(np.abs(nz))) < len(nz)
    if len(d) > 13 or not (ties or len(nz) < len(d)):
        res = stats.wilcoxon(d)
        return float(res.statistic), float(res.pvalue)
    null = np.zeros(1)
    for ri in r:
        null = np.concatenate([null, null + ri])
    gamma = abs(np.finfo(float).eps * 100 * r_plus)
    less = np.mean(null <= r_plus + gamma)
    greater = np.mean(null >= r_plus - gamma)
    return min(r_plus, r_minus), float(min(1.0, 2.0 * min(less, greater)))


def paired_tests(gid: np.ndarray, a: np.ndarray, b: np.ndarray, G: int, need: np.ndarray) -> dict[str, np.ndarray]:
    """Paired before/after statistics per group (pairs ``a[i]``, ``b[i]`` in group ``gid[i]``).

    ``t``, ``df``, ``p``: paired t (``scipy.stats.ttest_rel(b, a)``, vectorised);
    ``g``, ``g_ci_low``, ``g_ci_high``: d_z = mean(b − a) / SD(b − a) with Hedges' J for n − 1 df and
    its normal-approximation CI, var = 1/n + g²/(2n); ``wilcoxon_statistic``, ``wilcoxon_p``:
    :func:`wilcoxon_signed_rank` on b − a for the groups in ``need``. Also ``n``, ``mean_a``,
    ``var_a``, ``mean_b``, ``var_b``."""
    d = b - a
    n, mean_a, var_a = group_moments(gid, a, G)
    _, mean_b, var_b = group_moments(gid, b, G)
    _, mean_d, var_d = group_moments(gid, d, G)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_d = np.sqrt(var_d)
        t = mean_d / (sd_d / np.sqrt(n))
        df = n - 1
        p = 2.0 * stats.t.sf(np.abs(t), df)
        dz = mean_d / sd_d
        g = (1.0 - 3.0 / (4.0 * (n - 1) - 1.0)) * dz
        se_g = np.sqrt(1.0 / n + g ** 2 / (2.0 * n))
    bad = ~(sd_d > 0)
    t, p, g = np.where(bad, np.nan, t), np.where(bad, np.nan, p), np.where(bad, np.nan, g)
    w_stat, w_p = np.full(G, np.nan), np.full(G, np.nan)
    order = np.argsort(gid, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(gid, minlength=G))])
    ds = d[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in np.flatnonzero(need):
            w_stat[k], w_p[k] = wilcoxon_signed_rank(ds[bounds[k]:bounds[k + 1]])
    return {"n": n, "mean_a": mean_a, "var_a": var_a, "mean_b": mean_b, "var_b": var_b, "t": t, "df": df,
            "p": p, "g": g, "g_ci_low": g - Z975 * se_g, "g_ci_high": g + Z975 * se_g,
            "wilcoxon_statistic": w_stat, "wilcoxon_p": w_p}
