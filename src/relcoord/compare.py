"""Before/after comparison of two survey rounds.

Did relational coordination change between a baseline round A and a follow-up
round B, where, and did it change more between base units that work together
in networks? Every signed statistic is **follow-up minus baseline** (B − A).

Public functions
----------------
- :func:`apply_successors` maps renamed / merged units to their successor.
- :func:`unpaired_changes` Welch t (vectorised), Mann–Whitney U (vectorised by
  ranks), Hedges' g with a CI and Benjamini–Hochberg FDR per (level, measure),
  at the organisation, block, unit and tie levels.
- :func:`paired_changes` paired t / Wilcoxon signed-rank for respondents linked
  across rounds by a pseudonymous panel key (empty frame without a key).
- :func:`mixed_models` crossed random-intercept models (round effect, network
  difference-in-differences, base→network vs base→base, sensitivity analyses
  on units present in both rounds, and variants with a respondent intercept).
- :func:`compare_rounds` the whole comparison: ``{"changes", "model"}``.
- :func:`calibration` a null / coverage calibration on simulated rounds.

Mixed models are fitted by statsmodels ``MixedLM`` (REML, variance components
in one all-encompassing group) on small data, and at scale by
:func:`fit_crossed_reml`, an exact profiled REML that uses the lme4
formulation (Bates et al. 2015, J Stat Softw 67(1), eqs. 34-42) on the data's
cross-products. Both agree with ``lme4::lmer`` (tests/r/compare.R).
"""

from __future__ import annotations

import importlib
import time
import warnings
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import RelcoordError
from .instrument import RC_ITEMS

class _LazyModule:
    """A module imported on first attribute access. scipy.stats/linalg/optimize
    and statsmodels cost 1-2 s to import; jobs that only need this module's
    light helpers (e.g. the comparison report) should not pay for them."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


stats = _LazyModule("scipy.stats")
linalg = _LazyModule("scipy.linalg")
optimize = _LazyModule("scipy.optimize")


def multipletests(*args, **kwargs):
    """statsmodels.stats.multitest.multipletests, imported on first use."""
    from statsmodels.stats.multitest import multipletests as _multipletests
    return _multipletests(*args, **kwargs)


__all__ = [
    "MEASURES", "CHANGE_COLUMNS", "MODEL_COLUMNS", "LEVELS",
    "apply_successors", "successor_map", "active_memberships", "shared_network_pairs",
    "unpaired_changes", "paired_changes", "bh_adjust", "mixed_models",
    "fit_crossed_reml", "compare_rounds", "calibration",
]

MEASURES: tuple[str, ...] = ("rc", "communication", "relationship") + tuple(RC_ITEMS)
LEVELS: tuple[str, ...] = ("organisation", "block", "unit_within", "unit_between",
                           "unit_received", "tie")
CHANGE_COLUMNS: list[str] = [
    "level", "rater_unit", "target_unit", "measure", "n_a", "n_b", "mean_a", "mean_b",
    "diff", "hedges_g", "g_ci_low", "g_ci_high", "statistic", "p", "p_fdr", "test"]
EXTRA_CHANGE_COLUMNS: list[str] = [
    "block", "df", "sd_a", "sd_b", "mw_statistic", "mw_p", "wilcoxon_statistic",
    "wilcoxon_p", "g_ci_method", "suppressed"]
MODEL_COLUMNS: list[str] = ["model", "term", "estimate", "se", "ci_low", "ci_high", "p",
                            "n_obs", "n_groups", "note"]

_Z975 = 1.959963984540054  # float(scipy.stats.norm.ppf(0.975)), exactly
G_CI_ANALYTIC = "analytic (Hedges & Olkin normal approximation)"
G_CI_PAIRED = "analytic (paired d_z with Hedges J; normal approximation)"

from .scores import BLOCKS  # noqa: E402  (one definition of the blocks)


# ---------------------------------------------------------------------------
# unit register: successors, memberships
# ---------------------------------------------------------------------------

def _blank(x: Any) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or (isinstance(x, str) and not x.strip()) \
        or x is pd.NA or x is pd.NaT


def successor_map(units: pd.DataFrame) -> dict[str, str]:
    """``{unit_id: final successor}`` for units whose ``successor`` is set.

    Chains (A → B → C) resolve to the last unit; a cycle is an error."""
    if units is None or "successor" not in units.columns:
        return {}
    direct = {str(u): str(s).strip() for u, s in zip(units["unit_id"], units["successor"])
              if not _blank(s) and str(s).strip() != str(u)}
    out: dict[str, str] = {}
    for start in direct:
        seen = [start]
        cur = direct[start]
        while cur in direct:
            if cur in seen:
                raise RelcoordError(
                    f"unit successors form a cycle: {' -> '.join(seen + [cur])}",
                    file="units", column="successor",
                    hint="a successor must be a unit that is not itself (eventually) succeeded by the first")
            seen.append(cur)
            cur = direct[cur]
        out[start] = cur
    return out


def apply_successors(df: pd.DataFrame, units: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Return a copy of ``df`` with the unit ids in ``cols`` replaced by their
    (final) successor from ``units.successor``.

    A column named ``networks`` is treated as ";"-joined ids (as in
    respondents.networks); mapped ids are de-duplicated keeping order."""
    mapping = successor_map(units)
    out = df.copy()
    if not mapping:
        return out
    for c in cols:
        if c not in out.columns:
            continue
        if c == "networks":
            out[c] = out[c].map(lambda s: _map_id_list(s, mapping))
        else:
            s = out[c]
            if isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype(object)
            out[c] = s.map(mapping).where(s.isin(list(mapping)), s)
    return out


def _map_id_list(s: Any, mapping: Mapping[str, str]) -> str:
    if _blank(s):
        return ""
    ids = [mapping.get(x.strip(), x.strip()) for x in str(s).split(";") if x.strip()]
    return ";".join(dict.fromkeys(ids))


def _successor_note(units: pd.DataFrame, frames: Iterable[pd.DataFrame], cols: Sequence[str]) -> str:
    mapping = successor_map(units)
    if not mapping:
        return ""
    used = set()
    for f in frames:
        for c in cols:
            if c in f.columns:
                if c == "networks":
                    vals = {x for s in f[c].dropna().astype(str) for x in s.split(";")}
                else:
                    vals = set(pd.unique(f[c].dropna()))
                used |= {u for u in mapping if u in vals}
    if not used:
        return f"unit register: {len(mapping)} successor mapping(s) declared, none present in these rounds"
    pairs = ", ".join(f"{u}->{mapping[u]}" for u in sorted(used))
    return f"unit register: renamed/merged units mapped to successors in both rounds ({pairs})"


def _round_pos(round_id: Any, round_order: Sequence[str], what: str) -> int | None:
    if _blank(round_id):
        return None
    r = str(round_id).strip()
    order = [str(x) for x in round_order]
    if r not in order:
        raise RelcoordError(f"{what} {r!r} is not a round in round_order {order}",
                            file="memberships", column=what,
                            hint="use a round id declared in config (rounds), or leave it empty for an open range")
    return order.index(r)


def active_memberships(memberships: pd.DataFrame, round_id: str, round_order: Sequence[str],
                       units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Memberships active in ``round_id``: ``from_round ≤ round ≤ to_round`` in
    ``round_order`` ("" = open). Unit and network ids are mapped to successors
    when ``units`` is given. Returns ``network_id, unit_id`` (unique rows)."""
    cols = ["network_id", "unit_id"]
    if memberships is None or len(memberships) == 0:
        return pd.DataFrame(columns=cols)
    pos = _round_pos(round_id, round_order, "round")
    keep = []
    for fr, to in zip(memberships.get("from_round", [""] * len(memberships)),
                      memberships.get("to_round", [""] * len(memberships))):
        lo = _round_pos(fr, round_order, "from_round")
        hi = _round_pos(to, round_order, "to_round")
        keep.append((lo is None or lo <= pos) and (hi is None or pos <= hi))
    act = memberships.loc[np.asarray(keep, dtype=bool), cols].astype(str)
    if units is not None:
        act = apply_successors(act, units, cols)
    return act.drop_duplicates().reset_index(drop=True)


def shared_network_pairs(memberships: pd.DataFrame, round_id: str, round_order: Sequence[str],
                         units: pd.DataFrame | None = None) -> set[tuple[str, str]]:
    """Ordered pairs (u, v), u ≠ v, of units that are members of a common
    network in ``round_id``."""
    act = active_memberships(memberships, round_id, round_order, units)
    pairs: set[tuple[str, str]] = set()
    for _, grp in act.groupby("network_id"):
        mem = sorted(set(grp["unit_id"]))
        pairs.update((u, v) for u in mem for v in mem if u != v)
    return pairs


# ---------------------------------------------------------------------------
# respondent-level values per level
# ---------------------------------------------------------------------------

def _kinds(units: pd.DataFrame) -> dict[str, str]:
    if units is None or len(units) == 0:
        return {}
    kinds = dict(zip(units["unit_id"].astype(str), units["kind"].astype(str)))
    # a successor inherits nothing: it must be in the register itself, else
    # fall back to the kind of the unit it succeeds
    for u, s in successor_map(units).items():
        kinds.setdefault(s, kinds.get(u, "base"))
    return kinds


def _prepare_round(rt: pd.DataFrame, resp: pd.DataFrame, units: pd.DataFrame,
                   measures: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Successor mapping, type normalisation, duplicate check; returns
    ``(rt, memberships_long)`` where memberships_long is (respondent_id, network)."""
    need = {"respondent_id", "rater_unit", "target_unit"}
    miss = need - set(rt.columns)
    if miss:
        raise RelcoordError(f"respondent-tie table lacks column(s) {sorted(miss)}",
                            hint="pass the table from relcoord.scores.respondent_ties")
    miss_m = [m for m in measures if m not in rt.columns]
    if miss_m:
        raise RelcoordError(f"respondent-tie table lacks measure column(s) {miss_m}",
                            hint="choose measures present in the table (compare.measures in config)")
    rt_in = rt
    rt = rt[["respondent_id", "rater_unit", "target_unit", *measures]].copy()
    for c in ("respondent_id", "rater_unit", "target_unit"):
        rt[c] = rt[c].astype(str)
    rt = apply_successors(rt, units, ["rater_unit", "target_unit"])
    for m in measures:
        rt[m] = pd.to_numeric(rt[m], errors="coerce").astype(float)
    if "rc" in rt_in.columns:
        # as relcoord.scores: a respondent-tie enters an aggregate only if its
        # RC index is defined (so every measure comes from the same ties)
        defined = pd.to_numeric(rt_in["rc"], errors="coerce").notna().to_numpy()
        rt = rt[defined].reset_index(drop=True)
    if rt.duplicated(["respondent_id", "target_unit"]).any():
        # after a merge two former units can collapse onto one target: average
        rt = rt.groupby(["respondent_id", "rater_unit", "target_unit"], as_index=False, sort=False)[
            list(measures)].mean()
    if resp is None or "networks" not in getattr(resp, "columns", []):
        mem = pd.DataFrame({"respondent_id": pd.Series([], dtype=str), "network": pd.Series([], dtype=str)})
    else:
        r = apply_successors(resp[["respondent_id", "networks"]].copy(), units, ["networks"])
        r["respondent_id"] = r["respondent_id"].astype(str)
        lists = r["networks"].map(lambda s: [] if _blank(s) else [x.strip() for x in str(s).split(";") if x.strip()])
        mem = pd.DataFrame({"respondent_id": r["respondent_id"], "network": lists}).explode("network")
        mem = mem.dropna(subset=["network"]).drop_duplicates().reset_index(drop=True)
    return rt, mem


def _respondent_values(rt: pd.DataFrame, mem: pd.DataFrame, kinds: Mapping[str, str],
                       measures: Sequence[str], levels: Sequence[str]) -> pd.DataFrame:
    """Long-by-level, wide-by-measure table: ``level, rater_unit, target_unit,
    block, respondent_id`` + measures; one row per respondent and group.

    Definitions follow :mod:`relcoord.scores` (DOMAIN.md §3): rows are first
    expanded into rater groups (the base unit, plus each network the
    respondent lists), so per-round tables and changes describe the same
    groups."""
    m = list(measures)
    base = rt.assign(rater_group=rt["rater_unit"], rater_kind="base")
    parts_g = [base]
    if len(mem):
        net = rt.merge(mem, on="respondent_id", how="inner", sort=False)
        parts_g.append(net.assign(rater_group=net.pop("network"), rater_kind="network"))
    rtg = pd.concat(parts_g, ignore_index=True) if len(parts_g) > 1 else base
    rtg["target_kind"] = rtg["target_unit"].map(kinds)
    diag = rtg["rater_group"].to_numpy() == rtg["target_unit"].to_numpy()
    rk = rtg["rater_kind"].to_numpy()
    tk = rtg["target_kind"].to_numpy()
    parts: list[pd.DataFrame] = []

    def add(level: str, df: pd.DataFrame, rater, target, block="") -> None:
        out = df[["respondent_id", *m]].copy()
        out.insert(0, "level", level)
        out.insert(1, "rater_unit", rater)
        out.insert(2, "target_unit", target)
        out.insert(3, "block", block)
        parts.append(out)

    if "organisation" in levels:
        org = rt.groupby("respondent_id", sort=False)[m].mean().reset_index()
        add("organisation", org, "", "")
    if "block" in levels:
        isb, isn = rk == "base", rk == "network"
        tb, tn = tk == "base", tk == "network"
        lab = np.select([isb & tb & diag, isb & tb, isb & tn, isn & tb, isn & tn & diag, isn & tn],
                        list(BLOCKS), default="")
        b = rtg.assign(_b=lab)
        b = b[lab != ""].groupby(["_b", "respondent_id"], sort=False)[m].mean().reset_index()
        for blk, grp in b.groupby("_b", sort=False):
            rkind, tkind = BLOCKS[blk]
            add("block", grp, rkind, tkind, blk)
    if "unit_within" in levels:
        w = rtg[diag]
        add("unit_within", w, w["rater_group"].to_numpy(), w["rater_group"].to_numpy())
    if "unit_between" in levels:
        btw = rtg[~diag].groupby(["rater_group", "respondent_id"], sort=False)[m].mean().reset_index()
        add("unit_between", btw, btw["rater_group"].to_numpy(), "")
    if "unit_received" in levels:
        is_member = rt["rater_unit"].to_numpy() == rt["target_unit"].to_numpy()
        if len(mem):
            idx = pd.MultiIndex.from_arrays([mem["respondent_id"], mem["network"]])
            is_member |= pd.MultiIndex.from_arrays([rt["respondent_id"], rt["target_unit"]]).isin(idx)
        rec = rt[~is_member]
        add("unit_received", rec, rec["target_unit"].to_numpy(), "")
    if "tie" in levels:
        add("tie", rtg, rtg["rater_group"].to_numpy(), rtg["target_unit"].to_numpy())
    if not parts:
        return pd.DataFrame(columns=["level", "rater_unit", "target_unit", "block", "respondent_id", *m])
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------
# vectorised two-sample statistics over many groups
# ---------------------------------------------------------------------------

def _moments(gid: np.ndarray, val: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return g, g - _Z975 * se, g + _Z975 * se


def _mwu_vectorised(gid: np.ndarray, rnd: np.ndarray, val: np.ndarray, G: int,
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
        out[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return out


def _bh_by_family(df: pd.DataFrame, family: Sequence[str]) -> np.ndarray:
    out = np.full(len(df), np.nan)
    if len(df) == 0:
        return out
    valid = (~df["suppressed"].to_numpy(bool)) & np.isfinite(df["p"].to_numpy(float))
    codes = df.groupby(list(family), sort=False, dropna=False).ngroup().to_numpy()
    pv = df["p"].to_numpy(float)
    for c in np.unique(codes[valid]):
        sel = valid & (codes == c)
        out[sel] = multipletests(pv[sel], method="fdr_bh")[1]
    return out


def _bootstrap_g(gid, rnd, val, G, todo, n_boot, seed):
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


def _empty_changes() -> pd.DataFrame:
    cols = CHANGE_COLUMNS + EXTRA_CHANGE_COLUMNS
    df = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    for c in ("level", "rater_unit", "target_unit", "measure", "test", "block", "g_ci_method"):
        df[c] = df[c].astype(object)
    df["n_a"] = df["n_a"].astype(int)
    df["n_b"] = df["n_b"].astype(int)
    df["suppressed"] = df["suppressed"].astype(bool)
    return df


def _check_min_group(min_group_size: int) -> int:
    if int(min_group_size) < 2:
        raise RelcoordError(f"min_group_size must be at least 2 (got {min_group_size})",
                            hint="use the privacy minimum (default 5; never below 3)")
    return int(min_group_size)


def _resolve_measures(measures, *tables) -> list[str]:
    if measures is None:
        measures = [m for m in MEASURES if all(m in t.columns for t in tables)]
    measures = list(dict.fromkeys(measures))
    if not measures:
        raise RelcoordError("no measure to compare", hint="the respondent-tie tables must hold rc and/or item columns")
    return measures


def _group_keys(df: pd.DataFrame, key_cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Group codes of ``df``'s rows by the string values of ``key_cols``, the
    groups numbered in lexicographic order of the key tuples; returns
    ``(codes, keys)`` with ``keys`` an object array (groups × key columns).
    Each column is factorised on its own (sorted), so the combined integer
    code sorts as the tuples do."""
    codes = np.zeros(len(df), dtype=np.int64)
    uniq = []
    for c in key_cols:
        col = df[c]
        if not (col.dtype == object and all(type(x) is str for x in pd.unique(col.to_numpy()))):
            col = col.astype(str)
        cc, u = pd.factorize(col.to_numpy(), sort=True)
        codes = codes * len(u) + cc
        uniq.append(np.asarray(u, dtype=object))
    kid, combined = pd.factorize(codes, sort=True)
    keys = np.empty((len(combined), len(key_cols)), dtype=object)
    rest = combined.astype(np.int64)
    for i in range(len(key_cols) - 1, -1, -1):
        keys[:, i] = uniq[i][rest % len(uniq[i])]
        rest = rest // len(uniq[i])
    return kid, keys


def unpaired_changes(rt_a: pd.DataFrame, rt_b: pd.DataFrame, resp_a: pd.DataFrame | None,
                     resp_b: pd.DataFrame | None, units: pd.DataFrame,
                     measures: Sequence[str] | None = None, min_group_size: int = 5,
                     seed: int = 0, g_ci: str = "analytic", n_boot: int = 1000,
                     levels: Sequence[str] = LEVELS) -> pd.DataFrame:
    """Unpaired before/after tests for every level, group and measure.

    Respondent-level values (one per respondent and group) are compared
    between rounds by Welch's t (``statistic``, ``p``, ``df``; ``test`` =
    "welch_t"), Mann–Whitney U (``mw_statistic`` = U of the follow-up sample,
    ``mw_p``), Hedges' g with a 95 % CI (``g_ci`` "analytic" or "bootstrap",
    see ``g_ci_method``) and BH-adjusted ``p_fdr`` within each (level,
    measure) family. A group with fewer than ``min_group_size`` respondents in
    either round is ``suppressed``: its statistics are NaN and it is left out
    of the BH family.

    Levels (``rater_unit`` / ``target_unit``), defined as in
    :mod:`relcoord.scores` (DOMAIN.md §3) so that ``mean_a`` / ``mean_b`` equal
    the per-round tables; only respondent-ties with a defined RC index enter:

    - organisation ("", ""): each respondent's mean over their ties.
    - block (rater kind, target kind; the ``block`` column names it, and is
      part of the key: within_base, base_to_base, base_to_network,
      network_to_base, within_network, network_to_network): each respondent's
      mean over their ties in the block (network members also rate as their
      networks).
    - unit_within (A, A): RC[r, A] for r in A (a network's members for a
      network).
    - unit_between (A, ""): each respondent of A's mean over targets ≠ A.
    - unit_received (B, ""): RC[r, B] over respondents not in B (not of base
      unit B / not a member of network B).
    - tie (A, B): directed A → B, base-unit raters, plus network rater groups
      N → B from respondents.networks.
    """
    min_group_size = _check_min_group(min_group_size)
    if g_ci not in ("analytic", "bootstrap"):
        raise RelcoordError(f"g_ci must be 'analytic' or 'bootstrap' (got {g_ci!r})")
    levels = [lv for lv in levels if lv in LEVELS]
    measures = _resolve_measures(measures, rt_a, rt_b)
    kinds = _kinds(units)
    frames = []
    for rnd, (rt, resp) in enumerate(((rt_a, resp_a), (rt_b, resp_b))):
        rt2, mem = _prepare_round(rt, resp, units, measures)
        vals = _respondent_values(rt2, mem, kinds, measures, levels)
        vals["_round"] = rnd
        frames.append(vals)
    allv = pd.concat(frames, ignore_index=True)
    del frames
    if len(allv) == 0:
        return _empty_changes()
    key_cols = ["level", "rater_unit", "target_unit", "block"]
    kid, key_arr = _group_keys(allv, key_cols)
    K, M = len(key_arr), len(measures)
    G = K * M
    # Group g = key * M + measure. Each measure's values are handled in turn
    # (a group holds one measure only), which keeps memory at one column's
    # worth; per group the values are met in the same order as in one pass.
    rnd_all = allv["_round"].to_numpy()
    n_a, mean_a, var_a, n_b, mean_b, var_b = (np.zeros(G) for _ in range(6))
    cols = []
    for j, m in enumerate(measures):
        val = allv[m].to_numpy(float)
        ok = np.isfinite(val)
        gid, rnd, val = kid[ok], rnd_all[ok], val[ok]
        isa = rnd == 0
        for (n_, mean_, var_), sel in (((n_a, mean_a, var_a), isa), ((n_b, mean_b, var_b), ~isa)):
            n_[j::M], mean_[j::M], var_[j::M] = _moments(gid[sel], val[sel], K)
        cols.append((gid, rnd, val))
    del allv
    suppressed = (n_a < min_group_size) | (n_b < min_group_size)
    present = (n_a + n_b) > 0
    t, df, p = welch_vectorised(n_a, mean_a, var_a, n_b, mean_b, var_b)
    g, glo, ghi = hedges_g(n_a, mean_a, var_a, n_b, mean_b, var_b)
    need = ~suppressed & present
    mw_u, mw_p = np.full(G, np.nan), np.full(G, np.nan)
    for j, (gid, rnd, val) in enumerate(cols):
        mw_u[j::M], mw_p[j::M] = _mwu_vectorised(gid, rnd, val, K, n_a[j::M], n_b[j::M], need[j::M])
    method = G_CI_ANALYTIC
    if g_ci == "bootstrap":
        # within a group the values keep their row order, as _bootstrap_g's resampling expects
        glo, ghi = _bootstrap_g(np.concatenate([c[0] * M + j for j, c in enumerate(cols)]),
                                np.concatenate([c[1] for c in cols]), np.concatenate([c[2] for c in cols]),
                                G, need, int(n_boot), seed)
        method = f"bootstrap percentile ({int(n_boot)} resamples, seed {seed})"
    del cols

    out = pd.DataFrame({
        "level": np.repeat(key_arr[:, 0], M), "rater_unit": np.repeat(key_arr[:, 1], M),
        "target_unit": np.repeat(key_arr[:, 2], M), "measure": np.tile(np.array(measures, dtype=object), K),
        "n_a": n_a.astype(int), "n_b": n_b.astype(int), "mean_a": mean_a, "mean_b": mean_b,
        "diff": mean_b - mean_a, "hedges_g": g, "g_ci_low": glo, "g_ci_high": ghi,
        "statistic": t, "p": p, "p_fdr": np.nan, "test": "welch_t",
        "block": np.repeat(key_arr[:, 3], M), "df": df, "sd_a": np.sqrt(var_a), "sd_b": np.sqrt(var_b),
        "mw_statistic": mw_u, "mw_p": mw_p, "wilcoxon_statistic": np.nan, "wilcoxon_p": np.nan,
        "g_ci_method": method, "suppressed": suppressed,
    })
    out = out[present].reset_index(drop=True)
    stat_cols = ["mean_a", "mean_b", "diff", "hedges_g", "g_ci_low", "g_ci_high", "statistic", "p",
                 "df", "sd_a", "sd_b", "mw_statistic", "mw_p"]
    out.loc[out["suppressed"], stat_cols] = np.nan
    out["p_fdr"] = _bh_by_family(out, ["level", "measure"])
    lvl_order = {lv: i for i, lv in enumerate(LEVELS)}
    m_order = {m: i for i, m in enumerate(measures)}
    out = out.sort_values(["level", "measure", "rater_unit", "target_unit"],
                          key=lambda s: s.map(lvl_order) if s.name == "level" else
                          (s.map(m_order) if s.name == "measure" else s), kind="stable").reset_index(drop=True)
    return out[CHANGE_COLUMNS + EXTRA_CHANGE_COLUMNS]


# ---------------------------------------------------------------------------
# paired analysis (panel key)
# ---------------------------------------------------------------------------

def _panel_keys(resp: pd.DataFrame, key: str) -> tuple[pd.Series, int]:
    """respondent_id -> key, dropping blank keys and keys used twice in a round."""
    k = resp[["respondent_id", key]].copy()
    k["respondent_id"] = k["respondent_id"].astype(str)
    k = k[~k[key].map(_blank)]
    k[key] = k[key].astype(str).str.strip()
    dup = k[key].duplicated(keep=False)
    return k[~dup].set_index("respondent_id")[key], int(dup.sum())


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


def paired_changes(rt_a: pd.DataFrame, rt_b: pd.DataFrame, resp_a: pd.DataFrame | None,
                   resp_b: pd.DataFrame | None, units: pd.DataFrame, key: str | None = "panel_key",
                   measures: Sequence[str] | None = None, min_group_size: int = 5) -> pd.DataFrame:
    """Paired before/after for respondents linked by a pseudonymous ``key``
    column present in both rounds' respondents.

    Levels: organisation (each respondent's mean over defined ties) and tie
    (A → B for respondents rating from the same base unit A in both rounds).
    ``statistic``/``p``: paired t (``scipy.stats.ttest_rel(b, a)``, computed
    vectorised); ``wilcoxon_statistic``/``wilcoxon_p``: Wilcoxon signed-rank
    on b − a (scipy defaults: zero differences dropped). ``hedges_g`` is d_z
    (mean difference / SD of differences) with Hedges' J for n − 1 df.
    ``n_a`` = ``n_b`` = number of pairs. Without a key, an empty frame with
    the same columns."""
    min_group_size = _check_min_group(min_group_size)
    if (not key or resp_a is None or resp_b is None or key not in resp_a.columns
            or key not in resp_b.columns):
        return _empty_changes()
    measures = _resolve_measures(measures, rt_a, rt_b)
    parts = []
    for rt, resp in ((rt_a, resp_a), (rt_b, resp_b)):
        rt2, _ = _prepare_round(rt, resp, units, measures)
        keys, _ = _panel_keys(resp, key)
        rt2["_key"] = rt2["respondent_id"].map(keys)
        rt2 = rt2.dropna(subset=["_key"])
        org = rt2.groupby("_key", sort=False)[measures].mean().reset_index()
        org["level"], org["rater_unit"], org["target_unit"] = "organisation", "", ""
        tie = rt2[["_key", "rater_unit", "target_unit", *measures]].assign(level="tie")
        parts.append(pd.concat([org, tie], ignore_index=True))
    on = ["level", "_key", "rater_unit", "target_unit"]
    pa = parts[0].melt(id_vars=on, value_vars=measures, var_name="measure", value_name="a")
    pb = parts[1].melt(id_vars=on, value_vars=measures, var_name="measure", value_name="b")
    pr = pa.merge(pb, on=on + ["measure"], how="inner").dropna(subset=["a", "b"])
    if len(pr) == 0:
        return _empty_changes()
    gcols = ["level", "rater_unit", "target_unit", "measure"]
    gid, keys = pd.factorize(pd.MultiIndex.from_frame(pr[gcols]), sort=True)
    G = len(keys)
    a, b = pr["a"].to_numpy(float), pr["b"].to_numpy(float)
    d = b - a
    n, mean_a, var_a = _moments(gid, a, G)
    _, mean_b, var_b = _moments(gid, b, G)
    _, mean_d, var_d = _moments(gid, d, G)
    suppressed = n < min_group_size
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
        for k in np.flatnonzero(~suppressed):
            w_stat[k], w_p[k] = wilcoxon_signed_rank(ds[bounds[k]:bounds[k + 1]])
    key_arr = np.array(list(keys), dtype=object).reshape(-1, 4)
    out = pd.DataFrame({
        "level": key_arr[:, 0], "rater_unit": key_arr[:, 1], "target_unit": key_arr[:, 2],
        "measure": key_arr[:, 3], "n_a": n.astype(int), "n_b": n.astype(int),
        "mean_a": mean_a, "mean_b": mean_b, "diff": mean_b - mean_a, "hedges_g": g,
        "g_ci_low": g - _Z975 * se_g, "g_ci_high": g + _Z975 * se_g, "statistic": t, "p": p,
        "p_fdr": np.nan, "test": "paired_t", "block": "", "df": df, "sd_a": np.sqrt(var_a),
        "sd_b": np.sqrt(var_b), "mw_statistic": np.nan, "mw_p": np.nan,
        "wilcoxon_statistic": w_stat, "wilcoxon_p": w_p, "g_ci_method": G_CI_PAIRED,
        "suppressed": suppressed})
    stat_cols = ["mean_a", "mean_b", "diff", "hedges_g", "g_ci_low", "g_ci_high", "statistic", "p",
                 "df", "sd_a", "sd_b", "wilcoxon_statistic", "wilcoxon_p"]
    out.loc[out["suppressed"], stat_cols] = np.nan
    out["p_fdr"] = _bh_by_family(out, ["level", "measure"])
    return out[CHANGE_COLUMNS + EXTRA_CHANGE_COLUMNS]


# ---------------------------------------------------------------------------
# mixed models
# ---------------------------------------------------------------------------

@dataclass
class REMLFit:
    """Result of :func:`fit_crossed_reml`."""
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
    names = list(factors)
    codes = []
    q = []
    for nm in names:
        f = factors[nm]
        # a Categorical (categories in sorted order) is factorised by its codes
        c, u = pd.factorize(f if isinstance(f, pd.Categorical) else np.asarray(f), sort=True)
        if (c < 0).any():
            raise ValueError(f"missing values in factor {nm}")
        codes.append(c.astype(np.int64))
        q.append(len(u))
    k = len(names)
    if k == 0:
        raise ValueError("at least one random factor is needed")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError("the fixed-effect design is rank deficient (a term is confounded with others)")
    big = int(np.argmax(q))
    small = [j for j in range(k) if j != big]
    cD, qD = codes[big], q[big]
    qs = [q[j] for j in small]
    offs = np.concatenate([[0], np.cumsum(qs)]).astype(int)
    qS = int(offs[-1])
    m = qS + p
    # cross-products --------------------------------------------------------
    nD = np.bincount(cD, minlength=qD).astype(float)
    CD = np.zeros((qD, m))
    for i, j in enumerate(small):
        CD[:, offs[i]:offs[i + 1]] = np.bincount(cD * qs[i] + codes[j], minlength=qD * qs[i]).reshape(qD, qs[i])
    for c in range(p):
        CD[:, qS + c] = np.bincount(cD, weights=X[:, c], minlength=qD)
    yD = np.bincount(cD, weights=y, minlength=qD)
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
    yty = float(y @ y)
    nmp = n - p

    # The big factor's block of ΛZ'ZΛ + I is diagonal with entries θ_D² n_d + 1,
    # so its elimination depends on level d only through n_d: group the levels
    # by n_d once, and each evaluation costs O(#distinct n_d · m²), whatever
    # the number of levels (respondents) or rows.
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
    del CD
    diag_S = np.arange(qS)

    def pieces(theta: np.ndarray):
        tD2 = theta[big] ** 2
        ts = np.concatenate([np.full(qs[i], theta[j]) for i, j in enumerate(small)]) if small else np.zeros(0)
        s = np.concatenate([ts, np.ones(p)])
        w = tD2 / (tD2 * nvals + 1.0)
        Ms = (R - np.tensordot(w, S, axes=1)) * s[:, None] * s[None, :]
        Ms[diag_S, diag_S] += 1.0
        ct = (yr - w @ h) * s
        quad_D = float(w @ e)
        logdet_D = float(cnt @ np.log(tD2 * nvals + 1.0))
        return logdet_D, quad_D, Ms, ct

    def deviance(theta: np.ndarray) -> float:
        logdet_D, quad_D, Ms, ct = pieces(theta)
        try:
            L = linalg.cho_factor(Ms, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return np.inf
        sol = linalg.cho_solve(L, ct, check_finite=False)
        r2 = yty - quad_D - float(ct @ sol)
        if not r2 > 0:
            return np.inf
        logdet = logdet_D + 2.0 * float(np.sum(np.log(np.diag(L[0]))))
        return logdet + nmp * (1.0 + np.log(2.0 * np.pi * r2 / nmp))

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
    theta = np.maximum(np.asarray(best.x, float), 0.0)
    _, quad_D, Ms, ct = pieces(theta)
    L = linalg.cho_factor(Ms, lower=True)
    sol = linalg.cho_solve(L, ct)
    r2 = yty - quad_D - float(ct @ sol)
    sigma2 = r2 / nmp
    Minv = linalg.cho_solve(L, np.eye(Ms.shape[0]))
    beta = sol[qS:]
    cov = sigma2 * Minv[qS:, qS:]
    varcomp = {nm_: float(theta[j] ** 2 * sigma2) for j, nm_ in enumerate(names)}
    return REMLFit(terms=terms, beta=beta, cov_beta=cov, sigma2=float(sigma2), varcomp=varcomp,
                   reml_deviance=float(best.fun), theta=theta, n_obs=n,
                   n_levels={nm_: q[j] for j, nm_ in enumerate(names)},
                   converged=converged, message=message)


def _fit_statsmodels(df: pd.DataFrame, rhs: Sequence[str], factors: Sequence[str]) -> REMLFit:
    """statsmodels MixedLM, REML, crossed random intercepts as variance
    components of one all-encompassing group."""
    import statsmodels.formula.api as smf

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
    terms = [_sm_term(t) for t in fe.index]
    cov = np.asarray(res.cov_params().loc[fe.index, fe.index], float)
    vnames = list(model.exog_vc.names)
    varcomp = {nm: float(v) for nm, v in zip(vnames, np.asarray(res.vcomp, float))}
    return REMLFit(terms=terms, beta=np.asarray(fe, float), cov_beta=cov, sigma2=float(res.scale),
                   varcomp=varcomp, reml_deviance=float(-2 * res.llf), theta=np.sqrt(np.asarray(res.vcomp) / res.scale),
                   n_obs=int(res.nobs), n_levels={f: int(df[f].nunique()) for f in factors},
                   converged=bool(res.converged), message="; ".join(msgs),
                   engine="statsmodels MixedLM (REML, variance components in one group)")


def _sm_term(t: str) -> str:
    return "intercept" if t == "Intercept" else t


# which engine fits which model
_SM_MAX_ROWS = 20_000


def _fit(df: pd.DataFrame, rhs: Sequence[str], factors: Sequence[str], engine: str) -> REMLFit:
    use_sm = engine == "statsmodels" or (engine == "auto" and len(df) <= _SM_MAX_ROWS and len(factors) <= 2)
    if use_sm:
        return _fit_statsmodels(df, rhs, factors)
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


def _model_rows(name: str, fit: REMLFit | None, df: pd.DataFrame, factors: Sequence[str],
                note: str) -> list[dict]:
    n_groups = "; ".join(f"{f}={df[f].nunique()}" for f in factors) if len(df) else ""
    base = {"model": name, "n_obs": int(len(df)), "n_groups": n_groups}
    if fit is None:
        return [{**base, "term": "", "estimate": np.nan, "se": np.nan, "ci_low": np.nan,
                 "ci_high": np.nan, "p": np.nan, "note": note}]
    notes = [f"engine: {fit.engine}", "CI and p: Wald z"]
    if fit.message and not fit.converged:
        notes.append(f"optimiser: {fit.message}")
    elif fit.message and fit.engine.startswith("statsmodels"):
        notes.append(f"warning: {fit.message}")
    if note:
        notes.append(note)
    txt = "; ".join(notes)
    rows = []
    for t, b, s in zip(fit.terms, fit.beta, fit.se):
        z = b / s if s > 0 else np.nan
        rows.append({**base, "term": t, "estimate": float(b), "se": float(s),
                     "ci_low": float(b - _Z975 * s), "ci_high": float(b + _Z975 * s),
                     "p": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan, "note": txt})
    for f in factors:
        rows.append({**base, "term": f"var({f})", "estimate": fit.varcomp.get(f, np.nan), "se": np.nan,
                     "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "note": txt})
    rows.append({**base, "term": "var(residual)", "estimate": fit.sigma2, "se": np.nan, "ci_low": np.nan,
                 "ci_high": np.nan, "p": np.nan, "note": txt})
    return rows


def _model_data(rt: pd.DataFrame, resp: pd.DataFrame | None, units: pd.DataFrame, round_id: str,
                panel_key: str | None) -> pd.DataFrame:
    need = {"respondent_id", "rater_unit", "target_unit", "rc"}
    if not need <= set(rt.columns):
        raise RelcoordError(f"respondent-tie table lacks column(s) {sorted(need - set(rt.columns))}",
                            hint="pass the table from relcoord.scores.respondent_ties")
    d = rt[["respondent_id", "rater_unit", "target_unit", "rc"]].copy()
    for c in ("respondent_id", "rater_unit", "target_unit"):
        d[c] = d[c].astype(str)
    d["rc"] = pd.to_numeric(d["rc"], errors="coerce")
    d = apply_successors(d.dropna(subset=["rc"]), units, ["rater_unit", "target_unit"])
    d["respondent"] = round_id + ":" + d["respondent_id"]
    if panel_key and resp is not None and panel_key in resp.columns:
        keys, _ = _panel_keys(resp, panel_key)
        linked = d["respondent_id"].map(keys)
        d["respondent"] = np.where(linked.notna(), "key:" + linked.astype(str), d["respondent"])
    return d


def mixed_models(rt_a: pd.DataFrame, rt_b: pd.DataFrame, units: pd.DataFrame,
                 memberships: pd.DataFrame, round_a: str, round_b: str,
                 round_order: Sequence[str] | None = None, *, resp_a: pd.DataFrame | None = None,
                 resp_b: pd.DataFrame | None = None, panel_key: str | None = None,
                 engine: str = "reml", share_rule: str = "follow_up",
                 respondent_effects: bool = True) -> pd.DataFrame:
    """Crossed random-intercept models of the respondent-tie RC score (REML).

    Data: base-unit raters (each respondent's base unit as ``rater_unit``);
    ``round`` = 0 for ``round_a``, 1 for ``round_b``. Models (``model`` column):

    - ``round``: rc ~ round + (1|rater_unit) + (1|target_unit), all targets.
    - ``network_did``: rc ~ round * shares_network + same, on base → base ties
      between different base units; ``shares_network`` = rater and target
      unit are members of a common network in round B (``share_rule=
      "follow_up"``), or (``"joined"``) only pairs that share one in B but not
      in A, pairs already sharing one in A being left out. The term
      ``round:shares_network`` is the network difference-in-differences.
    - ``block_base_network``: rc ~ round * to_network on base-rater ties to
      other units; ``round:to_network`` = change towards networks minus change
      towards other base units.
    - ``sensitivity_round`` / ``sensitivity_network_did``: the same models on
      rater and target units present in both rounds.
    - ``round_respondent`` / ``network_did_respondent`` (``respondent_effects``):
      the same plus ``(1|respondent)``; respondents are nested in rounds unless
      linked by ``panel_key``. A respondent rates ~every target, so their ties
      are correlated: without this term the SE of ``round`` (a
      between-respondent contrast in anonymous rounds) is too small. In
      :func:`calibration` (200 simulated null study pairs, 450 respondents)
      ``round`` rejected at p < .05 in 44 % of them, ``round_respondent`` in
      5 %; the DiD CIs covered the planted effect in 94 % (``network_did``)
      and 96.5 % (``network_did_respondent``).

    Engine (``note`` says which): ``"reml"`` (default) :func:`fit_crossed_reml`,
    exact REML from cross-products, the same answer at every data size and
    fast at scale (≈ 500k rows in seconds); ``"statsmodels"`` MixedLM with the
    crossed intercepts as variance components of one group (slow: ≈ 20 s per
    100k rows and model, far slower with the respondent term); ``"auto"``
    statsmodels up to 20,000 rows without a respondent term, else reml. Both
    engines reproduce lme4::lmer (tests/r/compare.R, tests/test_compare.py).
    Rows per fixed term (Wald z CI and p) plus ``var(<factor>)`` and
    ``var(residual)`` rows; ``note`` names the engine, the unit-register
    mapping and the data restrictions."""
    if engine not in ("auto", "statsmodels", "reml"):
        raise RelcoordError(f"engine must be auto, statsmodels or reml (got {engine!r})")
    if share_rule not in ("follow_up", "joined"):
        raise RelcoordError(f"share_rule must be 'follow_up' or 'joined' (got {share_rule!r})")
    round_a, round_b = str(round_a), str(round_b)
    round_order = [str(r) for r in (round_order or [round_a, round_b])]
    da = _model_data(rt_a, resp_a, units, round_a, panel_key).assign(round=0)
    db = _model_data(rt_b, resp_b, units, round_b, panel_key).assign(round=1)
    d = pd.concat([da, db], ignore_index=True)
    # one category per respondent (categories sorted as the strings): the
    # models' subsets count and factorise its integer codes, not the strings
    d["respondent"] = pd.Categorical(d["respondent"])
    kinds = _kinds(units)
    reg_note = _successor_note(units, [rt_a, rt_b], ["rater_unit", "target_unit"])
    d["rater_kind"] = d["rater_unit"].map(kinds)
    d["target_kind"] = d["target_unit"].map(kinds)
    d = d[d["rater_kind"].fillna("base") == "base"]
    other = d["target_unit"] != d["rater_unit"]

    pairs_b = shared_network_pairs(memberships, round_b, round_order, units)
    pairs_a = shared_network_pairs(memberships, round_a, round_order, units)
    bb = d[other & (d["target_kind"] == "base")].copy()
    pair_idx = pd.MultiIndex.from_arrays([bb["rater_unit"], bb["target_unit"]])
    in_b = pair_idx.isin(list(pairs_b)) if pairs_b else np.zeros(len(bb), bool)
    in_a = pair_idx.isin(list(pairs_a)) if pairs_a else np.zeros(len(bb), bool)
    share_note = "shares_network: rater and target base units in a common network in round " + round_b
    if share_rule == "joined":
        n_drop = int((in_a & in_b).sum())
        keep = ~in_a
        bb, in_b = bb[keep], (in_b & ~in_a)[keep]
        share_note = (f"shares_network: base-unit pairs in a common network in round {round_b} but not in "
                      f"{round_a}; {n_drop} rows of pairs already sharing one in {round_a} left out")
    bb["shares_network"] = np.asarray(in_b, dtype=float)
    bn = d[other & d["target_kind"].isin(["base", "network"])].copy()
    bn["to_network"] = (bn["target_kind"] == "network").astype(float)

    both_raters = set(da["rater_unit"]) & set(db["rater_unit"])
    both_targets = set(da["target_unit"]) & set(db["target_unit"])

    def restrict(x: pd.DataFrame) -> pd.DataFrame:
        return x[x["rater_unit"].isin(both_raters) & x["target_unit"].isin(both_targets)]

    dropped = sorted((set(d["rater_unit"]) - both_raters) | (set(d["target_unit"]) - both_targets))
    sens_note = ("units present in both rounds only" + (f"; left out: {', '.join(dropped)}" if dropped
                                                         else "; no unit left out"))
    rc_f = ["rater_unit", "target_unit"]
    clus = ("no respondent term: ties of one respondent are treated as independent, so the SE of round "
            "(a between-respondent contrast in anonymous rounds) is too small; read round_respondent")
    if not respondent_effects:
        clus = clus.replace("; read round_respondent", "")
    specs = [
        ("round", d, ["round"], rc_f, clus),
        ("network_did", bb, ["round", "shares_network", "round:shares_network"], rc_f, share_note),
        ("block_base_network", bn, ["round", "to_network", "round:to_network"], rc_f,
         "base-unit raters' ties to other units; to_network = target is a network"),
        ("sensitivity_round", restrict(d), ["round"], rc_f, sens_note + "; " + clus),
        ("sensitivity_network_did", restrict(bb), ["round", "shares_network", "round:shares_network"], rc_f,
         share_note + "; " + sens_note),
    ]
    if respondent_effects:
        rnote = ("respondent intercept; respondents linked across rounds by " + panel_key
                 if panel_key and resp_a is not None and resp_b is not None
                 and panel_key in resp_a.columns and panel_key in resp_b.columns
                 else "respondent intercept; respondents nested in rounds (anonymous rounds)")
        specs += [
            ("round_respondent", d, ["round"], rc_f + ["respondent"], rnote),
            ("network_did_respondent", bb, ["round", "shares_network", "round:shares_network"],
             rc_f + ["respondent"], share_note + "; " + rnote),
        ]
    rows: list[dict] = []
    for name, data, rhs, factors, note in specs:
        data = data[["rc", *factors, *{c for t in rhs for c in t.split(":")}]]
        full_note = "; ".join(x for x in (note, reg_note) if x)
        why = _not_estimable(data, rhs, factors)
        if why:
            why_note = "; ".join(x for x in ("not estimable: " + why, full_note) if x)
            rows += _model_rows(name, None, data, factors, why_note)
            continue
        try:
            fit = _fit(data, rhs, factors, engine)
        except (ValueError, np.linalg.LinAlgError) as exc:
            rows += _model_rows(name, None, data, factors,
                                "; ".join(x for x in (f"not estimable: {exc}", full_note) if x))
            continue
        rows += _model_rows(name, fit, data, factors, full_note)
    out = pd.DataFrame(rows)
    return out[MODEL_COLUMNS]


def _not_estimable(data: pd.DataFrame, rhs: Sequence[str], factors: Sequence[str]) -> str:
    if len(data) < 10:
        return f"only {len(data)} observations"
    for t in rhs:
        if ":" in t:
            continue
        if data[t].nunique() < 2:
            return f"{t} does not vary ({t} = {data[t].iloc[0]:g} everywhere)"
    for t in rhs:
        if ":" in t:
            a, b = t.split(":")
            if data.groupby([a, b]).size().shape[0] < 4:
                return f"{t}: not every combination of {a} and {b} is observed"
    for f in factors:
        if data[f].nunique() < 2:
            return f"only one level of {f}"
    return ""


# ---------------------------------------------------------------------------
# the whole comparison
# ---------------------------------------------------------------------------

def _table(tables: Mapping[str, pd.DataFrame], *names: str) -> pd.DataFrame | None:
    for n in names:
        if n in tables and tables[n] is not None:
            return tables[n]
    return None


def compare_rounds(round_a_tables: Mapping[str, Any], round_b_tables: Mapping[str, Any],
                   units: pd.DataFrame, memberships: pd.DataFrame,
                   config: Mapping[str, Any] | None = None) -> dict[str, pd.DataFrame]:
    """Compare two rounds: ``{"changes": unpaired + paired rows, "model": mixed models}``.

    ``round_*_tables``: ``{"respondent_ties": DataFrame, "respondents": DataFrame,
    "round": "2024"}`` (``"rt"`` is accepted for ``respondent_ties``).
    ``config`` keys (all optional): ``round_a``, ``round_b`` (default: the
    tables' ``round``), ``round_order`` (default [round_a, round_b]),
    ``min_group_size`` (else ``privacy.min_group_size``, else 5), ``seed`` (0),
    ``measures``, ``g_ci`` ("analytic" | "bootstrap"), ``n_boot`` (1000),
    ``panel_key`` (None: no paired analysis), ``share_rule`` ("follow_up" |
    "joined"), ``engine`` ("reml" | "statsmodels" | "auto"),
    ``respondent_effects`` (True). A nested ``compare:`` section is merged in.
    """
    cfg = dict(config or {})
    cfg.update(cfg.pop("compare", {}) or {})
    rt_a = _table(round_a_tables, "respondent_ties", "rt")
    rt_b = _table(round_b_tables, "respondent_ties", "rt")
    if rt_a is None or rt_b is None:
        raise RelcoordError("each round needs its respondent-tie table ('respondent_ties')")
    resp_a = _table(round_a_tables, "respondents")
    resp_b = _table(round_b_tables, "respondents")
    ra = str(cfg.get("round_a", round_a_tables.get("round", "A")))
    rb = str(cfg.get("round_b", round_b_tables.get("round", "B")))
    order = [str(r) for r in cfg.get("round_order") or [ra, rb]]
    mgs = cfg.get("min_group_size") or (cfg.get("privacy") or {}).get("min_group_size") or 5
    seed = int(cfg.get("seed", 0) or 0)
    measures = cfg.get("measures")
    unpaired = unpaired_changes(rt_a, rt_b, resp_a, resp_b, units, measures, min_group_size=mgs, seed=seed,
                                g_ci=cfg.get("g_ci", "analytic"), n_boot=int(cfg.get("n_boot", 1000)))
    paired = paired_changes(rt_a, rt_b, resp_a, resp_b, units, key=cfg.get("panel_key"),
                            measures=measures, min_group_size=mgs)
    changes = pd.concat([x for x in (unpaired, paired) if len(x)], ignore_index=True) if len(paired) else unpaired
    model = mixed_models(rt_a, rt_b, units, memberships, ra, rb, order, resp_a=resp_a, resp_b=resp_b,
                         panel_key=cfg.get("panel_key"), engine=cfg.get("engine", "reml"),
                         share_rule=cfg.get("share_rule", "follow_up"),
                         respondent_effects=bool(cfg.get("respondent_effects", True)))
    note = _successor_note(units, [rt_a, rt_b], ["rater_unit", "target_unit"])
    changes = changes.copy()
    changes["note"] = note
    return {"changes": changes, "model": model}


# ---------------------------------------------------------------------------
# simulation and calibration
# ---------------------------------------------------------------------------

def _study(seed: int, **kw) -> SimpleNamespace:
    """A simulated study (relcoord.simulate) with its rounds as
    (respondent_ties, respondents), scored by relcoord.scores."""
    from .instrument import default_instrument
    from .scores import respondent_ties
    from .simulate import simulate_study

    st = simulate_study(seed, **kw)
    inst = default_instrument()
    rounds = {str(rid): (respondent_ties(responses, inst), respondents)
              for rid, (responses, respondents) in st.rounds.items()}
    return SimpleNamespace(units=st.units, memberships=st.memberships, rounds=rounds, truth=st.truth,
                           round_order=list(rounds))


def calibration(n_reps: int = 100, seed: int = 0, n_respondents: int = 450, network_effect: float = 0.30,
                min_group_size: int = 5, engine: str = "reml") -> dict:
    """Null and coverage calibration over ``n_reps`` simulated study pairs.

    Studies come from :func:`relcoord.simulate.simulate_study` (scored by
    :func:`relcoord.scores.respondent_ties`).

    Null (network_effect = 0, drift = 0): among unsuppressed tie rows (measure
    rc), the fraction with p_fdr < .05 and the fraction of replicates with
    any, for all ties and for base → base ties between different units. Only
    the latter are a true null: network memberships still change between the
    simulated rounds, which changes who rates *as* a network and who rates
    their *own* network (own_network_bonus), so some network ties really do
    change. Also the rejection rate (p < .05) of ``round`` and
    ``round_respondent``. Effect (``network_effect``, drift 0.05): coverage of
    the planted ``truth["network_effect_rc"]`` by the 95 % CI of
    ``network_did`` and ``network_did_respondent``, and their mean estimate."""
    ss = np.random.SeedSequence(seed)
    seeds = [int(s.generate_state(1)[0]) for s in ss.spawn(n_reps)]
    frac_sig, any_sig, frac_bb, any_bb, rej_round, rej_round_resp = [], [], [], [], [], []
    cover, cover_resp, est, est_resp, truths = [], [], [], [], []
    t0 = time.perf_counter()
    for s in seeds:
        st = _study(s, n_respondents=n_respondents, network_effect=0.0, drift=0.0)
        ra, rb = st.round_order[0], st.round_order[-1]
        (rt_a, resp_a), (rt_b, resp_b) = st.rounds[ra], st.rounds[rb]
        ch = unpaired_changes(rt_a, rt_b, resp_a, resp_b, st.units, ["rc"], min_group_size, levels=["tie"])
        kinds = _kinds(st.units)
        ok = ~ch["suppressed"].to_numpy(bool)
        sig = (ch["p_fdr"] < 0.05).to_numpy()
        bb = ok & (ch["rater_unit"].map(kinds) == "base").to_numpy() & (
            ch["target_unit"].map(kinds) == "base").to_numpy() & (ch["rater_unit"] != ch["target_unit"]).to_numpy()
        frac_sig.append(float(sig[ok].mean()) if ok.any() else np.nan)
        any_sig.append(bool(sig[ok].any()))
        frac_bb.append(float(sig[bb].mean()) if bb.any() else np.nan)
        any_bb.append(bool(sig[bb].any()))
        mm = mixed_models(rt_a, rt_b, st.units, st.memberships, ra, rb, st.round_order, engine=engine)
        rej_round.append(_term(mm, "round", "round")["p"] < 0.05)
        rej_round_resp.append(_term(mm, "round_respondent", "round")["p"] < 0.05)

        st = _study(s + 1, n_respondents=n_respondents, network_effect=network_effect, drift=0.05)
        ra, rb = st.round_order[0], st.round_order[-1]
        (rt_a, resp_a), (rt_b, resp_b) = st.rounds[ra], st.rounds[rb]
        truth = float(st.truth["network_effect_rc"])
        mm = mixed_models(rt_a, rt_b, st.units, st.memberships, ra, rb, st.round_order, engine=engine)
        for mod, cv, es in (("network_did", cover, est), ("network_did_respondent", cover_resp, est_resp)):
            r = _term(mm, mod, "round:shares_network")
            cv.append(bool(r["ci_low"] <= truth <= r["ci_high"]))
            es.append(float(r["estimate"]))
        truths.append(truth)
    return {
        "n_reps": n_reps, "seed": seed, "n_respondents": n_respondents,
        "null_tie_fraction_p_fdr_lt_05": float(np.nanmean(frac_sig)),
        "null_any_tie_p_fdr_lt_05": float(np.mean(any_sig)),
        "null_base_tie_fraction_p_fdr_lt_05": float(np.nanmean(frac_bb)),
        "null_any_base_tie_p_fdr_lt_05": float(np.mean(any_bb)),
        "null_round_rejection_rate": float(np.mean(rej_round)),
        "null_round_respondent_rejection_rate": float(np.mean(rej_round_resp)),
        "network_effect": float(np.mean(truths)),
        "network_did_coverage": float(np.mean(cover)),
        "network_did_mean_estimate": float(np.mean(est)),
        "network_did_respondent_coverage": float(np.mean(cover_resp)),
        "network_did_respondent_mean_estimate": float(np.mean(est_resp)),
        "seconds": time.perf_counter() - t0,
    }


def _term(mm: pd.DataFrame, model: str, term: str) -> pd.Series:
    r = mm[(mm["model"] == model) & (mm["term"] == term)]
    if len(r) == 0:
        return pd.Series({"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan})
    return r.iloc[0]
