"""Reliability and within-group agreement for relational-coordination scores.

Everything here is a plain, vectorised function (groupby aggregations, no Python
loop per group). Definitions follow the sources below; every choice that differs
between software packages is stated in the docstring and checked against R in
``tests/test_reliability.py`` (fixture written by ``tests/r/reliability.R``).

Sources
-------
- Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
  Psychometrika 16, 297-334.
- Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson
  reliability coefficient twenty. Psychometrika 30, 357-370.
- Feldt, L. S., Woodruff, D. J. & Salih, F. A. (1987). Statistical inference for
  coefficient alpha. Appl. Psychol. Meas. 11, 93-103.
- Revelle, W. R package ``psych``: ``alpha()`` and ``alpha.ci()`` (2.2.9 checked).
- James, L. R., Demaree, R. G. & Wolf, G. (1984). Estimating within-group interrater
  reliability with and without response bias. J. Appl. Psychol. 69, 85-98.
- Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability.
  In Klein & Kozlowski (eds.), Multilevel theory, research, and methods in
  organizations, 349-381. R package ``multilevel`` (2.7 checked): ``rwg``,
  ``rwg.j``, ``ICC1``, ``ICC2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd


def _stats():
    """scipy.stats, imported on first use (the workflow imports this module when it parses)."""
    from scipy import stats
    return stats


if TYPE_CHECKING:  # pragma: no cover
    from .instrument import Instrument

__all__ = [
    "agreement_table",
    "cronbach_alpha",
    "feldt_ci",
    "icc_bliese",
    "icc_from_ms",
    "null_variance",
    "reliability_table",
    "rwg",
    "rwg_j",
    "rwg_j_by_group",
]

TABLE_COLUMNS = ["scope", "measure", "value", "ci_low", "ci_high", "n", "flag"]
NAN = float("nan")


# --------------------------------------------------------------------------- alpha
def feldt_ci(alpha: float, n: int, k: int, ci: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) confidence interval for Cronbach's alpha.

    With ``df1 = n - 1``, ``df2 = (n - 1)(k - 1)`` and ``p = 1 - ci``::

        lower = 1 - (1 - alpha) * F^{-1}(1 - p/2; df1, df2)
        upper = 1 - (1 - alpha) * F^{-1}(p/2;     df1, df2)

    This is exactly ``psych::alpha.ci`` (the ``$feldt`` element of ``psych::alpha``,
    which always uses p = .05). NaN when ``n < 2``, ``k < 2`` or alpha is NaN.
    """
    if not np.isfinite(alpha) or n < 2 or k < 2 or not 0 < ci < 1:
        return NAN, NAN
    p = 1.0 - ci
    df1 = n - 1
    df2 = (n - 1) * (k - 1)
    low = 1.0 - (1.0 - alpha) * _stats().f.ppf(1.0 - p / 2.0, df1, df2)
    high = 1.0 - (1.0 - alpha) * _stats().f.ppf(p / 2.0, df1, df2)
    return float(low), float(high)


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    if k < 2 or not np.all(np.isfinite(c)):
        return NAN
    total = c.sum()
    if total == 0:
        return NAN
    return float(k / (k - 1) * (1.0 - np.trace(c) / total))


def cronbach_alpha(items: pd.DataFrame, method: str = "listwise", ci: float = 0.95) -> dict[str, Any]:
    """Raw Cronbach's alpha with a Feldt confidence interval.

    ``alpha = k/(k-1) * (1 - tr(C)/sum(C))`` with ``C`` the item covariance matrix
    (ddof 1) and ``k`` the number of columns of ``items`` (Cronbach 1951; psych's
    ``raw_alpha``).

    method
        ``"listwise"``: only rows with every item present; ``C`` from those rows and
        ``n`` = number of complete rows (= ``psych::alpha(na.omit(x))``).
        ``"pairwise"``: ``C`` from pairwise-complete covariances, each pair with its
        own means (pandas ``DataFrame.cov``; R ``cov(use = "pairwise")``, the default
        of ``psych::alpha``). ``n`` = rows with **at least one** valid item, i.e. the
        rows that contribute to ``C``. psych instead passes ``nrow(x)`` to the Feldt
        interval, counting even rows with every item missing; the alpha value is the
        same, only the interval differs, and the two agree whenever no row is
        entirely missing. (In RC data a respondent who skipped a target leaves such a
        row, so psych's count would overstate the sample; use :func:`feldt_ci` with
        ``n = len(items)`` to reproduce psych's interval exactly.) The Feldt interval
        under pairwise deletion is an approximation either way.

    Items with zero variance are kept (psych drops them with a warning and lowers
    ``k``). Returns ``{"value", "ci_low", "ci_high", "n", "k"}``; the value is NaN
    when ``k < 2``, fewer than two usable rows, a pair without two joint
    observations, or ``sum(C) == 0``.
    """
    x = items.apply(pd.to_numeric, errors="coerce").astype(float)
    k = int(x.shape[1])
    if method == "listwise":
        arr = x.to_numpy()
        arr = arr[~np.isnan(arr).any(axis=1)]
        n = int(arr.shape[0])
        c = np.cov(arr, rowvar=False, ddof=1).reshape(k, k) if n >= 2 and k >= 1 else np.full((k, k), NAN)
    elif method == "pairwise":
        n = int(x.notna().any(axis=1).sum())
        c = x.cov().to_numpy() if n >= 2 else np.full((k, k), NAN)
    else:
        raise ValueError(f"method must be 'listwise' or 'pairwise', not {method!r}")
    value = _alpha_from_cov(c)
    lo, hi = feldt_ci(value, n, k, ci)
    return {"value": value, "ci_low": lo, "ci_high": hi, "n": n, "k": k}


# --------------------------------------------------------------------------- rwg
def null_variance(n_options: int) -> float:
    """Variance of the uniform ("rectangular") null on A options: (A^2 - 1)/12 (James et al. 1984)."""
    if n_options < 2:
        raise ValueError("n_options must be at least 2")
    return (n_options ** 2 - 1) / 12.0


def _rwg_from_var(var: Any, sigma2: float) -> Any:
    """1 - s^2/sigma^2 with s^2 clamped at sigma^2 (NaN stays NaN)."""
    return 1.0 - np.minimum(var, sigma2) / sigma2


def _rwg_j_from_mean_var(mean_var: Any, n_items: int, sigma2: float) -> Any:
    r = np.minimum(mean_var, sigma2) / sigma2
    num = n_items * (1.0 - r)
    return num / (num + r)


def rwg(values: Sequence[float] | np.ndarray | pd.Series, n_options: int = 5) -> float:
    """Single-item within-group agreement r_wg (James, Demaree & Wolf 1984).

    ``rwg = 1 - s^2 / sigma2_EU`` with ``s^2`` the sample variance (ddof 1) of the
    non-missing values and ``sigma2_EU = (A^2 - 1)/12`` (2 for A = 5 options).
    ``s^2 > sigma2_EU`` is clamped, giving 0, as in ``multilevel::rwg``. NaN with
    fewer than two values.
    """
    v = pd.to_numeric(pd.Series(np.asarray(values, dtype=float).ravel()), errors="coerce").dropna()
    if len(v) < 2:
        return NAN
    return float(_rwg_from_var(v.var(ddof=1), null_variance(n_options)))


def rwg_j(items: pd.DataFrame, n_options: int = 5, complete: bool = True) -> float:
    """Multi-item agreement r_wg(j) for one group (James, Demaree & Wolf 1984).

    ``rwg(j) = J(1 - s̄²/σ²) / (J(1 - s̄²/σ²) + s̄²/σ²)``, ``s̄²`` the mean of the
    item variances (ddof 1), clamped at ``σ² = (A^2-1)/12`` (rwg(j) = 0). With
    ``complete=True`` (default) rows with any missing item are dropped first, as in
    ``multilevel`` 2.7 ``rwg.j``; see :func:`rwg_j_by_group` for ``complete=False``.
    NaN for fewer than two rows.
    """
    df = items.copy()
    df["__g"] = 0
    out = rwg_j_by_group(df, ["__g"], list(items.columns), n_options=n_options, complete=complete)
    return float(out["rwg_j"].iloc[0]) if len(out) else NAN


def rwg_j_by_group(df: pd.DataFrame, group_cols: Sequence[str], item_cols: Sequence[str],
                   n_options: int = 5, complete: bool = True) -> pd.DataFrame:
    """r_wg(j) and per-item r_wg for every group, vectorised (one ``groupby().var()``).

    Formula as in :func:`rwg_j`; ``σ² = (n_options² - 1)/12``.

    complete=True (default)
        Listwise: only rows with every item present are used, for ``rwg_j`` and for
        every ``rwg_<item>`` column, and ``n`` counts those rows. This is
        ``multilevel`` 2.7 ``rwg.j(x, grpid, ranvar)`` (``na.exclude`` on the items
        and group id) and ``multilevel::rwg`` applied to the same complete rows.
        multilevel 2.8 changed its missing-data default (per-item pairwise variances); the 2.8
        behaviour was not checked here.
    complete=False
        Available-case: each item's variance (and ``rwg_<item>``) uses that item's
        non-missing values in the group (= ``multilevel::rwg`` on the raw item);
        ``s̄²`` is their mean and is NaN when any item has fewer than two values;
        ``n`` counts rows with at least one valid item.

    Rows with a missing group key are dropped. Every group that occurs in ``df`` is
    returned (``n`` may be 0 or 1, then the values are NaN). Returns a DataFrame
    with ``group_cols..., n, rwg_j, rwg_<item>...``, sorted by the group columns.
    """
    group_cols = list(group_cols)
    item_cols = list(item_cols)
    sigma2 = null_variance(n_options)
    x = df[item_cols].apply(pd.to_numeric, errors="coerce").astype(float)
    keys = df[group_cols]
    present = keys.notna().all(axis=1)
    x, keys = x[present], keys[present]
    valid = x.notna()
    used = valid.all(axis=1) if complete else valid.any(axis=1)
    if complete:  # listwise: blank out incomplete rows so they add nothing to any variance
        x = x.copy()
        x.loc[~used.to_numpy(), :] = np.nan
    work = pd.concat([keys, x], axis=1)
    work["__used"] = used.to_numpy().astype(np.int64)
    g = work.groupby(group_cols, sort=True, dropna=True, observed=True)
    n = g["__used"].sum()
    var = g[item_cols].var(ddof=1)  # NaN where an item has < 2 values in the group
    var.loc[(n < 2).to_numpy(), :] = np.nan
    mean_var = var.mean(axis=1, skipna=False)
    out = pd.DataFrame(index=var.index)
    out["n"] = n.astype(np.int64)
    out["rwg_j"] = _rwg_j_from_mean_var(mean_var.to_numpy(), len(item_cols), sigma2)
    for c in item_cols:
        out[f"rwg_{c}"] = _rwg_from_var(var[c].to_numpy(), sigma2)
    return out.reset_index()


# --------------------------------------------------------------------------- ICC
def icc_from_ms(msb: float, msw: float, k: float) -> dict[str, float]:
    """ICC(1) and ICC(2) from one-way ANOVA mean squares (Bliese 2000).

    ``ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW)``; ``ICC(2) = (MSB - MSW) / MSB``
    (the reliability of group means; psych's "ICC1k", pingouin's "ICC(1,k)" -- not
    Shrout & Fleiss "ICC2"). Negative values are returned as computed.
    """
    icc1 = (msb - msw) / (msb + (k - 1.0) * msw) if (msb + (k - 1.0) * msw) != 0 else NAN
    icc2 = (msb - msw) / msb if msb != 0 else NAN
    return {"icc1": float(icc1), "icc2": float(icc2)}


def icc_bliese(scores: Sequence[float] | pd.Series | np.ndarray,
               groups: Sequence[Any] | pd.Series | np.ndarray) -> dict[str, float]:
    """Bliese's ICC(1) and ICC(2) from a one-way ANOVA of ``scores`` on ``groups``.

    Pairs with a missing score or group are dropped (as ``aov`` does). With ``N``
    scores in ``J`` groups of sizes ``n_j``::

        MSB = Σ n_j (ȳ_j - ȳ)² / (J - 1)      MSW = Σ (y - ȳ_j)² / (N - J)
        F = MSB / MSW, p = P(F_{J-1, N-J} > F)
        k  = N / J                              (mean group size)
        k0 = (N - Σ n_j² / N) / (J - 1)         (adjusted mean group size)
        ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW),  ICC(2) = (MSB - MSW) / MSB

    ``icc1``/``icc2`` with ``k = N/J`` reproduce R ``multilevel::ICC1``/``ICC2`` on
    ``aov(score ~ group)`` (multilevel computes GSIZE = (df_w + df_b + 1)/(df_b + 1)
    = N/J); ``icc1_k0`` uses ``k0``. There is no ``icc2_k0``: ICC(2) contains no
    group size (equivalently, Spearman-Brown of ICC(1) with any k gives the same
    (MSB - MSW)/MSB), so it would always equal ``icc2``. Groups of one member are
    kept: they add to the between-group degrees of freedom and nothing within, as
    in R. Negative ICCs (F < 1) are returned as computed.

    Returns ``icc1, icc2, icc1_k0, msb, msw, k, k0, n, n_groups, f, p``.
    """
    s = pd.Series(np.asarray(scores, dtype=float).ravel())
    g = pd.Series(np.asarray(groups, dtype=object).ravel())
    if len(s) != len(g):
        raise ValueError("scores and groups must have the same length")
    ok = s.notna().to_numpy() & g.notna().to_numpy()
    s, g = s[ok].reset_index(drop=True), g[ok].reset_index(drop=True)
    n_total = int(len(s))
    grp = s.groupby(g, sort=False)
    sizes = grp.size()
    n_groups = int(len(sizes))
    out: dict[str, float] = {k_: NAN for k_ in ("icc1", "icc2", "icc1_k0", "msb", "msw", "k", "k0", "f", "p")}
    out.update(n=n_total, n_groups=n_groups)
    if n_groups < 2 or n_total - n_groups < 1:
        return out
    means = grp.transform("mean")
    grand = s.mean()
    ssw = float(((s - means) ** 2).sum())
    ssb = float((sizes * (grp.mean() - grand) ** 2).sum())
    df_b, df_w = n_groups - 1, n_total - n_groups
    msb, msw = ssb / df_b, ssw / df_w
    k = n_total / n_groups
    k0 = (n_total - float((sizes ** 2).sum()) / n_total) / df_b
    f = msb / msw if msw > 0 else NAN
    p = float(_stats().f.sf(f, df_b, df_w)) if np.isfinite(f) else NAN
    base = icc_from_ms(msb, msw, k)
    out.update(icc1=base["icc1"], icc2=base["icc2"], icc1_k0=icc_from_ms(msb, msw, k0)["icc1"],
               msb=msb, msw=msw, k=k, k0=k0, f=f, p=p)
    return out


# --------------------------------------------------------------------------- tables
def _alpha_rows(scope: str, items: pd.DataFrame, methods: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for m in methods:
        if items.shape[1] < 2:
            res = {"value": NAN, "ci_low": NAN, "ci_high": NAN, "n": 0}
        else:
            res = cronbach_alpha(items, method=m)
        rows.append({"scope": scope, "measure": f"alpha_{m}", "value": res["value"],
                     "ci_low": res["ci_low"], "ci_high": res["ci_high"], "n": res["n"]})
    return rows


def reliability_table(rt: pd.DataFrame, respondent_index: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Reliability summary in long form: ``scope, measure, value, ci_low, ci_high, n, flag``.

    rt
        One row per (respondent_id, target_unit), one column per item key (plus
        ``rater_unit``). Scores must already be recoded (missing = NaN).
    respondent_index
        One row per respondent with ``rater_unit`` and the respondent-level index
        ``rc``.

    Rows (alpha via :func:`cronbach_alpha`, Feldt 95 % CI; ICC via :func:`icc_bliese`):

    - ``all_ties``: ``alpha_listwise``, ``alpha_pairwise`` over the index items on
      the respondent x target rows. These rows are not independent (one respondent
      rates many targets), so the CI is optimistic.
    - ``respondent_means``: ``alpha_listwise`` on each respondent's per-item mean
      over the targets they rated (means over non-missing answers), complete rows.
    - ``communication`` / ``relationship``: ``alpha_listwise``, ``alpha_pairwise``
      of the subscale's index items on the respondent x target rows.
    - ``rater_unit``: ``icc1``, ``icc2``, ``icc1_k0`` of ``rc`` grouped by
      ``rater_unit`` (n = respondents with both), and for checking ``msb``, ``msw``,
      ``k``, ``k0``, ``f``, ``p``, ``n_groups``.

    flag: ``"negative"`` for a negative ICC, ``"not_estimable"`` when the value is
    NaN, else ``""``.
    """
    index_keys = list(instrument.index_keys)
    rows: list[dict[str, Any]] = []
    items = rt[index_keys]
    rows += _alpha_rows("all_ties", items, ("listwise", "pairwise"))
    if "respondent_id" in rt.columns:
        means = items.apply(pd.to_numeric, errors="coerce").astype(float).groupby(
            rt["respondent_id"], sort=False, dropna=True).mean()
        rows += _alpha_rows("respondent_means", means, ("listwise",))
    for sub in ("communication", "relationship"):
        keys = instrument.subscale_keys(sub)
        if keys:
            rows += _alpha_rows(sub, rt[keys], ("listwise", "pairwise"))
    icc = icc_bliese(respondent_index["rc"], respondent_index["rater_unit"])
    for m in ("icc1", "icc2", "icc1_k0", "msb", "msw", "k", "k0", "f", "p", "n_groups"):
        rows.append({"scope": "rater_unit", "measure": m, "value": float(icc[m]),
                     "ci_low": NAN, "ci_high": NAN, "n": int(icc["n"])})
    out = pd.DataFrame(rows, columns=TABLE_COLUMNS[:-1])
    out["value"] = out["value"].astype(float)
    out["n"] = out["n"].astype(np.int64)
    is_icc = out["measure"].str.startswith("icc")
    out["flag"] = np.select([out["value"].isna(), is_icc & (out["value"] < 0)],
                            ["not_estimable", "negative"], default="")
    return out[TABLE_COLUMNS]


def agreement_table(rt_groups: pd.DataFrame, instrument: Instrument, n_options: int | None = None) -> pd.DataFrame:
    """rwg(j) per directed tie (rater_unit -> target_unit) over the index items.

    ``rt_groups`` has one row per (respondent, target, rater group) with columns
    ``rater_unit``, ``target_unit`` and the item keys (the caller expands network
    memberships into extra rater groups). Listwise, as :func:`rwg_j_by_group` with
    ``complete=True``. ``n_options`` defaults to ``instrument.n_options``
    (σ² = (A² - 1)/12). Returns ``rater_unit, target_unit, n, rwg_j, rwg_<item>...``.
    """
    a = instrument.n_options if n_options is None else n_options
    return rwg_j_by_group(rt_groups, ["rater_unit", "target_unit"], list(instrument.index_keys),
                          n_options=a, complete=True)
