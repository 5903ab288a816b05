"""The comparison's per-level respondent tables, built from integer codes (relcoord.compare), give
exactly — to the last bit — the changes of the former implementation, which built one string
table per level (kept here as the reference): on simulated pairs of rounds with networks, a
renamed unit collapsing onto another, bootstrap intervals and a subset of levels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd
import pytest

from relcoord import calibration as CAL
from relcoord import compare as C
from relcoord.group_tests import bootstrap_g, group_moments, hedges_g, mann_whitney_by_runs, welch_vectorised
from relcoord.registry import unit_kinds
from relcoord.scores import BLOCKS

K = 5


# --------------------------------------------------------------------------- the former implementation

def ref_respondent_values(rt: pd.DataFrame, mem: pd.DataFrame, kinds: Mapping[str, str],
                       measures: Sequence[str], levels: Sequence[str]) -> pd.DataFrame:
    """Long-by-level, wide-by-measure table: ``level, rater_unit, target_unit,
    block, respondent_id`` + measures; one row per respondent and group.

    Definitions follow :mod:`relcoord.scores` (Gittell et al. 2000): rows are first
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


def ref_group_keys(df: pd.DataFrame, key_cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
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


def ref_unpaired_changes(rt_a, rt_b, resp_a, resp_b, units, measures=None, *, min_group_size, seed=0,
                         g_ci="analytic", n_boot=1000, levels=C.LEVELS):
    levels = [lv for lv in levels if lv in C.LEVELS]
    measures = C._resolve_measures(measures, rt_a, rt_b)
    kinds = unit_kinds(units)
    frames = []
    for rnd, (rt, resp) in enumerate(((rt_a, resp_a), (rt_b, resp_b))):
        rt2, mem = C._prepare_round(rt, resp, units, measures)
        vals = ref_respondent_values(rt2, mem, kinds, measures, levels)
        vals["_round"] = rnd
        frames.append(vals)
    allv = pd.concat(frames, ignore_index=True)
    if len(allv) == 0:
        return C._empty_changes()
    kid, key_arr = ref_group_keys(allv, ["level", "rater_unit", "target_unit", "block"])
    rnd_all, K_, M = allv["_round"].to_numpy(), len(key_arr), len(measures)
    G = K_ * M
    n_a, mean_a, var_a, n_b, mean_b, var_b = (np.zeros(G) for _ in range(6))
    cols = []
    for j, m in enumerate(measures):
        val = allv[m].to_numpy(float)
        ok = np.isfinite(val)
        gid, rnd, val = kid[ok], rnd_all[ok], val[ok]
        isa = rnd == 0
        for (n_, mean_, var_), sel in (((n_a, mean_a, var_a), isa), ((n_b, mean_b, var_b), ~isa)):
            n_[j::M], mean_[j::M], var_[j::M] = group_moments(gid[sel], val[sel], K_)
        cols.append((gid, rnd, val))
    suppressed = (n_a < min_group_size) | (n_b < min_group_size)
    present = (n_a + n_b) > 0
    t, df, p = welch_vectorised(n_a, mean_a, var_a, n_b, mean_b, var_b)
    g, glo, ghi = hedges_g(n_a, mean_a, var_a, n_b, mean_b, var_b)
    need = ~suppressed & present
    mw_u, mw_p = np.full(G, np.nan), np.full(G, np.nan)
    for j, (gid, rnd, val) in enumerate(cols):
        mw_u[j::M], mw_p[j::M] = mann_whitney_by_runs(gid, rnd, val, K_, n_a[j::M], n_b[j::M], need[j::M])
    method = C.G_CI_ANALYTIC
    if g_ci == "bootstrap":
        glo, ghi = bootstrap_g(np.concatenate([c[0] * M + j for j, c in enumerate(cols)]),
                               np.concatenate([c[1] for c in cols]), np.concatenate([c[2] for c in cols]),
                               G, need, int(n_boot), seed)
        method = f"bootstrap percentile ({int(n_boot)} resamples, seed {seed})"
    st = {"n_a": n_a, "mean_a": mean_a, "var_a": var_a, "n_b": n_b, "mean_b": mean_b, "var_b": var_b,
          "t": t, "df": df, "p": p, "g": g, "glo": glo, "ghi": ghi, "mw_u": mw_u, "mw_p": mw_p,
          "method": method, "suppressed": suppressed, "present": present}
    return C._changes_table(st, key_arr, measures)


# --------------------------------------------------------------------------- cases


@cache
def study(seed: int, **kw):
    return CAL.simulated_study(seed, **kw)


def rounds(s):
    ra, rb = s.round_order[0], s.round_order[-1]
    (rt_a, resp_a), (rt_b, resp_b) = s.rounds[ra], s.rounds[rb]
    return rt_a, resp_a, rt_b, resp_b


def same_bytes(new: pd.DataFrame, ref: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, ref, check_exact=True)
    assert new.to_csv(index=False) == ref.to_csv(index=False)


@pytest.mark.parametrize("seed", [5, 11])
def test_changes_equal_the_string_tables(seed):
    s = study(seed)
    rt_a, resp_a, rt_b, resp_b = rounds(s)
    new = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, min_group_size=K)
    assert (new["level"] == "tie").any() and (new["rater_unit"].str.startswith("N")).any()
    same_bytes(new, ref_unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, min_group_size=K))


def test_changes_equal_with_a_merged_unit_bootstrap_and_some_levels():
    s = study(7)
    rt_a, resp_a, rt_b, resp_b = rounds(s)
    base = s.units.loc[s.units["kind"] == "base", "unit_id"].astype(str).tolist()
    # in the baseline one base unit is renamed, and the register merges it into another one:
    # respondents' ties to both collapse onto one target and are averaged
    old, into = base[0], base[1]
    rt_a = rt_a.replace({"rater_unit": {old: "OLD"}, "target_unit": {old: "OLD"}})
    units = pd.concat([s.units.assign(successor=""),
                       pd.DataFrame({"unit_id": ["OLD"], "kind": ["base"], "successor": [into]})], ignore_index=True)
    units.loc[units["unit_id"] == old, "successor"] = into
    for kw in ({}, {"g_ci": "bootstrap", "n_boot": 50, "seed": 3}, {"levels": ["tie", "unit_received"]},
               {"measures": ["rc", "communication"], "levels": ["block", "organisation"]}):
        new = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, units, min_group_size=K, **kw)
        same_bytes(new, ref_unpaired_changes(rt_a, rt_b, resp_a, resp_b, units, min_group_size=K, **kw))


def test_changes_equal_without_networks_and_when_empty():
    s = study(5)
    rt_a, _, rt_b, _ = rounds(s)
    same_bytes(C.unpaired_changes(rt_a, rt_b, None, None, s.units, min_group_size=K),
               ref_unpaired_changes(rt_a, rt_b, None, None, s.units, min_group_size=K))
    same_bytes(C.unpaired_changes(rt_a.iloc[:0], rt_b.iloc[:0], None, None, s.units, min_group_size=K),
               ref_unpaired_changes(rt_a.iloc[:0], rt_b.iloc[:0], None, None, s.units, min_group_size=K))


def test_changes_equal_when_a_listed_network_is_a_base_unit():
    s = study(5)
    rt_a, resp_a, rt_b, resp_b = rounds(s)
    # a damaged register: some respondents list their own (or another) base unit as a network
    resp_a = resp_a.copy()
    some = resp_a.index[::7]
    resp_a.loc[some, "networks"] = resp_a.loc[some, "rater_unit"].astype(str) + ";" + resp_a.loc[some, "networks"]
    new = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, min_group_size=K)
    same_bytes(new, ref_unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, min_group_size=K))
