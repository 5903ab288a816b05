"""Tests for relcoord.compare (with the statistics of relcoord.group_tests, the REML engine of
relcoord.reml and the register logic it uses): before/after statistics and mixed models.

References: scipy.stats per group, R (tests/r/compare.R -> tests/fixtures/
r_compare.json: lme4::lmer, t.test(var.equal = FALSE), p.adjust("BH")) and
simulated studies with planted effects (relcoord.simulate).
"""

from __future__ import annotations

import json
import os
import time
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests

from relcoord import calibration as CAL
from relcoord import compare as C
from relcoord import group_tests as GT
from relcoord import registry as REG
from relcoord import reml as REML
from relcoord.errors import RelcoordError
from relcoord.instrument import default_instrument
from relcoord.scores import BLOCKS

from conftest import scoring

K = 5   # privacy.min_group_size in these tests

FIXTURE = Path(__file__).parent / "fixtures" / "r_compare.json"
R = json.loads(FIXTURE.read_text())
ROUNDS = ["2024", "2025"]


# --------------------------------------------------------------------------- helpers


@cache
def study(seed: int, **kw):
    return CAL.simulated_study(seed, **kw)


def rounds_of(s):
    ra, rb = s.round_order[0], s.round_order[-1]
    (rt_a, resp_a), (rt_b, resp_b) = s.rounds[ra], s.rounds[rb]
    return ra, rb, rt_a, resp_a, rt_b, resp_b


def fixture_rounds():
    d = pd.DataFrame(R["data"])
    units = pd.DataFrame({"unit_id": R["base_units"] + R["networks"],
                          "kind": ["base"] * len(R["base_units"]) + ["network"] * len(R["networks"]),
                          "successor": ""})
    mem = pd.DataFrame(R["memberships"])
    return d, d[d["round"] == "2024"], d[d["round"] == "2025"], units, mem


def lme4_terms(model: str) -> dict[str, tuple[float, float]]:
    m = R["models"][model]
    rename = {"(Intercept)": "intercept", "round01": "round", "shares_network": "shares_network",
              "round01:shares_network": "round:shares_network"}
    return {rename[k]: (m["fixef"][k], m["se"][k]) for k in m["fixef"]}


def lme4_varcomp(model: str) -> dict[str, float]:
    vc = R["models"][model]["varcomp"]
    ren = {"rater_unit": "var(rater_unit)", "target_unit": "var(target_unit)",
           "respondent_id": "var(respondent)", "Residual": "var(residual)"}
    return {ren[k]: v for k, v in vc.items()}


def model_rows(mm: pd.DataFrame, model: str) -> pd.DataFrame:
    return mm[mm["model"] == model].set_index("term")


# --------------------------------------------------------------------------- Welch, MWU, BH, g


def test_welch_matches_r_and_scipy():
    w = R["welch"]
    a, b = np.array(w["x_a"]), np.array(w["x_b"])
    t, df, p = GT.welch_vectorised([len(a)], [a.mean()], [a.var(ddof=1)], [len(b)], [b.mean()], [b.var(ddof=1)])
    assert t[0] == pytest.approx(w["statistic"], abs=1e-10)
    assert df[0] == pytest.approx(w["df"], abs=1e-9)
    assert p[0] == pytest.approx(w["p"], abs=1e-12)
    sp = stats.ttest_ind(b, a, equal_var=False)
    assert t[0] == pytest.approx(sp.statistic, abs=1e-12) and p[0] == pytest.approx(sp.pvalue, abs=1e-14)


def test_bh_matches_r_p_adjust():
    got = GT.bh_adjust(R["bh"]["p"])
    np.testing.assert_allclose(got, R["bh"]["p_adj"], rtol=0, atol=1e-14)
    with_nan = GT.bh_adjust([np.nan] + list(R["bh"]["p"]))
    assert np.isnan(with_nan[0])
    np.testing.assert_allclose(with_nan[1:], R["bh"]["p_adj"], atol=1e-14)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 5), min_size=2, max_size=30), st.lists(st.integers(1, 5), min_size=2, max_size=30),
       st.floats(-1, 1))
def test_welch_and_mwu_vectorised_equal_scipy(xa, xb, shift):
    a = np.array(xa, float)
    b = np.array(xb, float) + round(shift, 2)
    if a.var() == 0 and b.var() == 0:
        return  # undefined; scipy returns inf / p = 0, we return NaN (documented)
    t, df, p = GT.welch_vectorised([len(a)], [a.mean()], [a.var(ddof=1)], [len(b)], [b.mean()], [b.var(ddof=1)])
    sp = stats.ttest_ind(b, a, equal_var=False)
    assert t[0] == pytest.approx(sp.statistic, rel=1e-9, abs=1e-12)
    assert p[0] == pytest.approx(sp.pvalue, rel=1e-9, abs=1e-14)
    gid = np.zeros(len(a) + len(b), dtype=np.int64)
    rnd = np.r_[np.zeros(len(a), int), np.ones(len(b), int)]
    u, pu = GT.mann_whitney_by_runs(gid, rnd, np.r_[a, b], 1, np.array([len(a)], float), np.array([len(b)], float),
                              np.array([True]))
    ref = stats.mannwhitneyu(b, a)
    assert u[0] == pytest.approx(ref.statistic, abs=1e-9)
    assert pu[0] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-14)


def test_mwu_exact_branch_equals_scipy():
    rng = np.random.default_rng(3)
    groups = [(rng.normal(size=6), rng.normal(size=7) + 1), (rng.normal(size=5), rng.normal(size=20)),
              (np.array([1., 2, 2, 3, 4]), np.array([2., 3, 4, 5, 5, 5]))]  # last: ties -> asymptotic
    gid, rnd, val = [], [], []
    for k, (a, b) in enumerate(groups):
        gid += [k] * (len(a) + len(b))
        rnd += [0] * len(a) + [1] * len(b)
        val += list(a) + list(b)
    na = np.array([len(a) for a, _ in groups], float)
    nb = np.array([len(b) for _, b in groups], float)
    u, p = GT.mann_whitney_by_runs(np.array(gid), np.array(rnd), np.array(val), 3, na, nb, np.ones(3, bool))
    for k, (a, b) in enumerate(groups):
        ref = stats.mannwhitneyu(b, a)
        assert u[k] == pytest.approx(ref.statistic) and p[k] == pytest.approx(ref.pvalue, rel=1e-12)


def test_hedges_g_and_analytic_ci():
    a = np.array([3.0, 3.5, 4.0, 2.5, 3.0, 3.2])
    b = np.array([3.8, 4.1, 3.9, 4.6, 3.2, 4.0, 4.4])
    na, nb = len(a), len(b)
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    g_ref = (1 - 3 / (4 * (na + nb) - 9)) * (b.mean() - a.mean()) / sp
    se = np.sqrt((na + nb) / (na * nb) + g_ref ** 2 / (2 * (na + nb)))
    g, lo, hi = GT.hedges_g(na, a.mean(), a.var(ddof=1), nb, b.mean(), b.var(ddof=1))
    assert g == pytest.approx(g_ref, rel=1e-12)
    assert lo == pytest.approx(g_ref - 1.959963984540054 * se, rel=1e-12)
    assert hi == pytest.approx(g_ref + 1.959963984540054 * se, rel=1e-12)


# --------------------------------------------------------------------------- unpaired changes


@pytest.fixture(scope="module")
def small_changes():
    s = study(5)
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    ch = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, min_group_size=K)
    return s, ch


def test_unpaired_columns_levels_and_measures(small_changes):
    s, ch = small_changes
    assert list(ch.columns[:len(C.CHANGE_COLUMNS)]) == C.CHANGE_COLUMNS
    assert {"mw_statistic", "mw_p", "suppressed", "g_ci_method"} <= set(ch.columns)
    assert set(ch["level"]) == set(C.LEVELS)
    assert set(ch["measure"]) == set(C.MEASURES)
    assert (ch["test"] == "welch_t").all()
    assert set(ch.loc[ch.level == "block", "block"]) == set(BLOCKS)
    assert ch.loc[ch.level == "organisation", ["rater_unit", "target_unit"]].eq("").all().all()
    # one row per group and measure
    assert not ch.duplicated(["level", "rater_unit", "target_unit", "block", "measure"]).any()


def test_unpaired_ties_equal_scipy_per_group(small_changes):
    s, ch = small_changes
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    base = set(s.units.loc[s.units.kind == "base", "unit_id"])
    rows = ch[(ch.level == "tie") & ~ch.suppressed & ch.rater_unit.isin(base) & ch.measure.isin(["rc", "timely"])]
    assert len(rows) > 100
    for r in rows.itertuples():
        def vals(rt, r=r):
            x = rt[(rt.rater_unit == r.rater_unit) & (rt.target_unit == r.target_unit) & rt.rc.notna()]
            return x[r.measure].dropna().to_numpy()
        a, b = vals(rt_a), vals(rt_b)
        assert (r.n_a, r.n_b) == (len(a), len(b))
        assert r.diff == pytest.approx(b.mean() - a.mean(), abs=1e-12)
        ref = stats.ttest_ind(b, a, equal_var=False)
        if np.isfinite(ref.statistic) and (a.var() > 0 or b.var() > 0):
            assert r.statistic == pytest.approx(ref.statistic, rel=1e-9)
            assert r.p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
        mw = stats.mannwhitneyu(b, a)
        assert r.mw_statistic == pytest.approx(mw.statistic) and r.mw_p == pytest.approx(mw.pvalue, rel=1e-9)


def test_bh_family_is_level_and_measure_without_suppressed(small_changes):
    _, ch = small_changes
    fam = ch[(ch.level == "tie") & (ch.measure == "rc")]
    ok = ~fam.suppressed
    assert fam.suppressed.any(), "the small unit should give suppressed ties"
    np.testing.assert_allclose(fam.loc[ok, "p_fdr"], multipletests(fam.loc[ok, "p"], method="fdr_bh")[1])
    assert fam.loc[~ok, ["p", "p_fdr", "statistic", "mean_a", "mean_b", "diff", "hedges_g", "mw_p"]].isna().all().all()
    assert ((fam.loc[~ok, "n_a"] < 5) | (fam.loc[~ok, "n_b"] < 5)).all()
    assert ((fam.loc[ok, "n_a"] >= 5) & (fam.loc[ok, "n_b"] >= 5)).all()


def test_levels_agree_with_scores_module(small_changes):
    """Means per round equal relcoord.scores' ties / units / organisation."""
    from relcoord import scores
    s, ch = small_changes
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    inst = default_instrument()
    for rt, resp, col in ((rt_a, resp_a, "mean_a"), (rt_b, resp_b, "mean_b")):
        ok = ch[~ch.suppressed & (ch.measure == "rc")]
        ties = scores.ties(rt, resp, s.units, inst, scoring(), k=K, seed=0)
        ties = ties.set_index(["rater_unit", "target_unit"])["rc_mean"]
        t = ok[ok.level == "tie"].set_index(["rater_unit", "target_unit"])[col]
        np.testing.assert_allclose(t, ties.reindex(t.index), rtol=1e-12)
        us = scores.unit_scores(rt, resp, s.units, K).set_index("unit_id")
        for lvl, c in (("unit_within", "within_rc"), ("unit_between", "between_rc"), ("unit_received", "received_rc")):
            x = ok[ok.level == lvl].set_index("rater_unit")[col]
            assert len(x) > 5
            np.testing.assert_allclose(x, us[c].reindex(x.index), rtol=1e-12)
        org = scores.organisation(rt, inst).set_index("measure")
        o = ch[(ch.level == "organisation")].set_index("measure")[col]
        np.testing.assert_allclose(o, org["mean"].reindex(o.index), rtol=1e-12)
        bl = ok[(ok.level == "block") & (ok.block == "within_base")][col].iloc[0]
        sb = scores.blocks(scores.rater_groups(rt, resp, s.units, True), K).set_index("block")
        assert bl == pytest.approx(sb.loc["within_base", "rc_mean"], rel=1e-12)  # one tie per respondent


def test_block_uses_respondent_level_means():
    units = pd.DataFrame({"unit_id": ["A", "B", "C", "N"], "kind": ["base", "base", "base", "network"]})
    rows = []
    for rnd in ("a", "b"):
        for i in range(6):
            rid = f"{rnd}{i}"
            # each respondent of A rates B and C; the respondent mean is (x + y)/2
            rows += [(rid, "A", "B", 3.0 + i % 2), (rid, "A", "C", 4.0 + (rnd == "b")), (rid, "A", "A", 4.0)]
    rt = pd.DataFrame(rows, columns=["respondent_id", "rater_unit", "target_unit", "rc"])
    resp = rt.drop_duplicates("respondent_id")[["respondent_id", "rater_unit"]].assign(networks="")
    ra, rb = rt[rt.respondent_id.str[0] == "a"], rt[rt.respondent_id.str[0] == "b"]
    ch = C.unpaired_changes(ra, rb, resp, resp, units, ["rc"], min_group_size=5)
    bb = ch[(ch.level == "block") & (ch.block == "base_to_base")].iloc[0]
    assert (bb.n_a, bb.n_b) == (6, 6)
    assert bb.mean_a == pytest.approx(3.75) and bb.mean_b == pytest.approx(4.25) and bb["diff"] == pytest.approx(0.5)
    between = ch[ch.level == "unit_between"].iloc[0]
    assert between.rater_unit == "A" and between.mean_a == pytest.approx(3.75)
    rec = ch[(ch.level == "unit_received")].set_index("rater_unit")
    assert rec.loc["C", "mean_b"] == pytest.approx(5.0) and "A" not in rec.index


def test_swapping_rounds_flips_signs(small_changes):
    s, ch = small_changes
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    rev = C.unpaired_changes(rt_b, rt_a, resp_b, resp_a, s.units, ["rc"], levels=["tie", "organisation"],
                             min_group_size=K)
    fwd = ch[(ch.measure == "rc") & ch.level.isin(["tie", "organisation"])]
    key = ["level", "rater_unit", "target_unit"]
    m = fwd.merge(rev, on=key, suffixes=("", "_r"))
    assert len(m) == len(fwd)
    ok = ~m.suppressed
    np.testing.assert_allclose(m.loc[ok, "diff"], -m.loc[ok, "diff_r"], atol=1e-12)
    np.testing.assert_allclose(m.loc[ok, "statistic"], -m.loc[ok, "statistic_r"], rtol=1e-10)
    np.testing.assert_allclose(m.loc[ok, "hedges_g"], -m.loc[ok, "hedges_g_r"], rtol=1e-10)
    np.testing.assert_allclose(m.loc[ok, "p"], m.loc[ok, "p_r"], rtol=1e-10)
    np.testing.assert_allclose(m.loc[ok, "mw_p"], m.loc[ok, "mw_p_r"], rtol=1e-10)


def test_bootstrap_g_ci_is_seeded_and_brackets_g():
    s = study(7, n_respondents=200)
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    kw = dict(measures=["rc"], levels=["organisation", "block"], g_ci="bootstrap", n_boot=300, seed=11,
              min_group_size=K)
    x = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, **kw)
    y = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, **kw)
    pd.testing.assert_frame_equal(x, y)
    ok = x[~x.suppressed]
    assert ok.g_ci_method.str.startswith("bootstrap").all()
    assert ((ok.g_ci_low <= ok.hedges_g) & (ok.hedges_g <= ok.g_ci_high)).all()
    an = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, measures=["rc"], levels=["organisation"],
                            min_group_size=K)
    assert abs((ok.g_ci_high - ok.g_ci_low).iloc[0] - (an.g_ci_high - an.g_ci_low).iloc[0]) < 0.05


def test_min_group_size_below_three_is_refused(small_changes):
    s, _ = small_changes
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    for k in (1, 2):        # the one validator, relcoord.privacy.check_min_group_size, as in every other stage
        with pytest.raises(RelcoordError, match="refused below 3"):
            C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, min_group_size=k)


# --------------------------------------------------------------------------- unit register


def test_successor_chain_and_cycle():
    units = pd.DataFrame({"unit_id": ["A", "B", "C", "D"], "kind": "base", "successor": ["B", "C", "", None]})
    assert REG.successor_map(units) == {"A": "C", "B": "C"}
    df = pd.DataFrame({"rater_unit": ["A", "B", "D"], "networks": ["A;C", "", "B;D"]})
    out = REG.apply_successors(df, units, ["rater_unit", "networks"])
    assert out["rater_unit"].tolist() == ["C", "C", "D"]
    assert out["networks"].tolist() == ["C", "", "C;D"]
    cyc = pd.DataFrame({"unit_id": ["A", "B"], "kind": "base", "successor": ["B", "A"]})
    with pytest.raises(RelcoordError, match="cycle"):
        REG.successor_map(cyc)


def test_renamed_unit_is_compared_under_its_successor():
    d, rt_a, rt_b, units, mem = fixture_rounds()
    # baseline called U8 "OLD8"; the register says OLD8 was renamed U8
    rt_a = rt_a.replace({"rater_unit": {"U8": "OLD8"}, "target_unit": {"U8": "OLD8"}})
    units2 = pd.concat([units, pd.DataFrame({"unit_id": ["OLD8"], "kind": ["base"], "successor": ["U8"]})])
    mm = C.mixed_models(rt_a, rt_b, units2, mem, "2024", "2025", ROUNDS, respondent_effects=False)
    ref = C.mixed_models(d[d["round"] == "2024"], rt_b, units, mem, "2024", "2025", ROUNDS, respondent_effects=False)
    np.testing.assert_allclose(mm.estimate, ref.estimate, rtol=1e-7)
    assert mm.note.str.contains("OLD8->U8").all()
    ch = C.unpaired_changes(rt_a, rt_b, None, None, units2, ["rc"], levels=["tie"], min_group_size=K)
    assert not ch.rater_unit.eq("OLD8").any() and not ch.target_unit.eq("OLD8").any()
    assert (ch.loc[ch.rater_unit == "U8", "n_a"] > 0).all()


def test_shared_network_pairs_respect_round_windows():
    mem = pd.DataFrame(R["memberships"])
    a = REG.shared_network_pairs(mem, "2024", ROUNDS)
    b = REG.shared_network_pairs(mem, "2025", ROUNDS)
    assert a == {("U1", "U2"), ("U2", "U1"), ("U1", "U6"), ("U6", "U1"), ("U2", "U6"), ("U6", "U2")}
    exp_b = {(u, v) for g in (["U1", "U2", "U3"], ["U4", "U5"]) for u in g for v in g if u != v}
    assert b == exp_b
    with pytest.raises(RelcoordError, match="round_order"):
        REG.shared_network_pairs(mem, "2025", ["2025"])


# --------------------------------------------------------------------------- mixed models vs lme4


def test_fixture_shares_network_matches_memberships():
    d, rt_a, rt_b, units, mem = fixture_rounds()
    pairs = REG.shared_network_pairs(mem, "2025", ROUNDS)
    bb = d[d.target_unit.isin(R["base_units"]) & (d.target_unit != d.rater_unit)]
    derived = [int((r, t) in pairs) for r, t in zip(bb.rater_unit, bb.target_unit)]
    assert derived == bb.shares_network.tolist()


@pytest.mark.parametrize("model", ["round", "network_did"])
def test_statsmodels_mixedlm_matches_lme4(model):
    d, *_ = fixture_rounds()
    d = d.assign(round=(d["round"] == "2025").astype(float))
    rhs = ["round"]
    if model == "network_did":
        d = d[d.target_unit.isin(R["base_units"]) & (d.target_unit != d.rater_unit)]
        rhs = ["round", "shares_network", "round:shares_network"]
    fit = REML.fit_statsmodels(d, rhs, ["rater_unit", "target_unit"])
    ref = lme4_terms(model)
    for term, b, se in zip(fit.terms, fit.beta, fit.se):
        assert b == pytest.approx(ref[term][0], abs=1e-3), term
        assert se == pytest.approx(ref[term][1], rel=1e-2), term
    vc = lme4_varcomp(model)
    assert fit.sigma2 == pytest.approx(vc["var(residual)"], rel=1e-3)
    assert fit.varcomp["rater_unit"] == pytest.approx(vc["var(rater_unit)"], rel=1e-2)
    assert fit.varcomp["target_unit"] == pytest.approx(vc["var(target_unit)"], rel=1e-2)


@pytest.fixture(scope="module")
def fixture_models():
    _, rt_a, rt_b, units, mem = fixture_rounds()
    return C.mixed_models(rt_a, rt_b, units, mem, "2024", "2025", ROUNDS, engine="reml")


@pytest.mark.parametrize("model", ["round", "network_did", "round_respondent", "network_did_respondent"])
def test_reml_engine_matches_lme4(fixture_models, model):
    rows = model_rows(fixture_models, model)
    for term, (b, se) in lme4_terms(model).items():
        assert rows.loc[term, "estimate"] == pytest.approx(b, abs=1e-5), term
        assert rows.loc[term, "se"] == pytest.approx(se, rel=1e-4), term
    for term, v in lme4_varcomp(model).items():
        assert rows.loc[term, "estimate"] == pytest.approx(v, rel=1e-4, abs=1e-6), term
    assert (rows.n_obs == R["models"][model]["n_obs"]).all()


def test_reml_engine_deviance_equals_lme4_remlcrit():
    d, *_ = fixture_rounds()
    X = np.column_stack([np.ones(len(d)), (d["round"] == "2025").astype(float)])
    fit = REML.fit_crossed_reml(d.rc.to_numpy(), X, {"rater_unit": d.rater_unit.to_numpy(),
                                                  "target_unit": d.target_unit.to_numpy(),
                                                  "respondent_id": d.respondent_id.to_numpy()})
    assert fit.reml_deviance == pytest.approx(R["models"]["round_respondent"]["reml_criterion"], abs=1e-6)


def test_model_output_contract(fixture_models):
    mm = fixture_models
    assert list(mm.columns) == C.MODEL_COLUMNS
    assert set(mm.model) == {"round", "network_did", "block_base_network", "sensitivity_round",
                             "sensitivity_network_did", "round_respondent", "network_did_respondent"}
    fe = mm[~mm.term.str.startswith("var(")]
    assert ((fe.ci_low < fe.estimate) & (fe.estimate < fe.ci_high)).all()
    assert fe.note.str.contains("engine: profiled REML").all()
    did = model_rows(mm, "network_did")
    assert did.loc["round:shares_network", "note"].count("common network in round 2025")
    assert "round:to_network" in model_rows(mm, "block_base_network").index


def test_sensitivity_drops_units_missing_in_a_round():
    d, rt_a, rt_b, units, mem = fixture_rounds()
    rt_b = rt_b[rt_b.rater_unit != "U7"]  # U7 did not answer the follow-up
    mm = C.mixed_models(rt_a, rt_b, units, mem, "2024", "2025", ROUNDS, respondent_effects=False)
    full, sens = model_rows(mm, "round"), model_rows(mm, "sensitivity_round")
    assert sens.n_obs.iloc[0] == full.n_obs.iloc[0] - (rt_a.rater_unit == "U7").sum()
    assert "left out: U7" in sens.note.iloc[0]


def test_network_did_not_estimable_without_shared_pairs():
    _, rt_a, rt_b, units, _ = fixture_rounds()
    empty = pd.DataFrame(columns=["network_id", "unit_id", "from_round", "to_round"])
    mm = C.mixed_models(rt_a, rt_b, units, empty, "2024", "2025", ROUNDS, respondent_effects=False)
    did = model_rows(mm, "network_did")
    assert did.estimate.isna().all() and did.note.str.contains("not estimable").all()
    assert model_rows(mm, "round").estimate.notna().all()


def test_share_rule_joined_leaves_out_pairs_sharing_at_baseline():
    _, rt_a, rt_b, units, mem = fixture_rounds()
    mm = C.mixed_models(rt_a, rt_b, units, mem, "2024", "2025", ROUNDS, share_rule="joined",
                        respondent_effects=False)
    did = model_rows(mm, "network_did")
    assert "already sharing" in did.note.iloc[0]
    at_a = REG.shared_network_pairs(mem, "2024", ROUNDS)  # U1, U2, U6 shared N1 in 2024
    n_at_a = sum(((rt.rater_unit + "|" + rt.target_unit).isin({f"{a}|{b}" for a, b in at_a})).sum()
                 for rt in (rt_a, rt_b))
    assert did.n_obs.iloc[0] == R["models"]["network_did"]["n_obs"] - n_at_a


# --------------------------------------------------------------------------- paired


def _panel(s, n_per_unit=12):
    """Give the first n respondents of each unit in both rounds a shared key."""
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    out = []
    for resp in (resp_a, resp_b):
        r = resp.copy()
        r["panel_key"] = ""
        for u, g in r.groupby("rater_unit"):
            idx = g.index[:n_per_unit]
            r.loc[idx, "panel_key"] = [f"{u}-{i}" for i in range(len(idx))]
        out.append(r)
    return rt_a, out[0], rt_b, out[1]


def test_paired_changes_equal_scipy():
    s = study(5)
    rt_a, resp_a, rt_b, resp_b = _panel(s)
    pc = C.paired_changes(rt_a, rt_b, resp_a, resp_b, s.units, key="panel_key", min_group_size=K)
    assert list(pc.columns) == list(C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, ["rc"],
                                                       levels=["organisation"], min_group_size=K).columns)
    assert (pc.test == "paired_t").all() and set(pc.level) == {"organisation", "tie"}
    org = pc[(pc.level == "organisation") & (pc.measure == "rc")].iloc[0]
    ka = resp_a.set_index("respondent_id")["panel_key"]
    kb = resp_b.set_index("respondent_id")["panel_key"]

    def per_key(rt, keys):
        x = rt[rt.rc.notna()].assign(k=rt.respondent_id.map(keys))
        return x[x.k != ""]
    xa, xb = per_key(rt_a, ka), per_key(rt_b, kb)
    m = xa.groupby("k").rc.mean().to_frame("a").join(xb.groupby("k").rc.mean().to_frame("b"), how="inner")
    ref = stats.ttest_rel(m.b, m.a)
    assert org.n_a == len(m) and org.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert org.p == pytest.approx(ref.pvalue, rel=1e-10)
    w = stats.wilcoxon(m.b - m.a)
    assert org.wilcoxon_statistic == pytest.approx(w.statistic) and org.wilcoxon_p == pytest.approx(w.pvalue)
    tie = pc[(pc.level == "tie") & (pc.measure == "rc") & ~pc.suppressed].iloc[3]
    mt = (xa[(xa.rater_unit == tie.rater_unit) & (xa.target_unit == tie.target_unit)].set_index("k").rc.to_frame("a")
          .join(xb[(xb.rater_unit == tie.rater_unit) & (xb.target_unit == tie.target_unit)].set_index("k").rc
                .to_frame("b"), how="inner"))
    ref = stats.ttest_rel(mt.b, mt.a)
    assert tie.n_a == len(mt) and tie.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert tie.p == pytest.approx(ref.pvalue, rel=1e-10)


@pytest.mark.parametrize("d", [
    [1, 1, 2, -1, 0.5, 0.5, -2, 1, 3, 1],          # ties, n <= 13: scipy runs an exact permutation test
    [0, 0.25, -0.5, 0.25, 1, 0, 2, -0.75],           # zeros and ties
    [0.1, -0.4, 0.3, 0.9, 1.2, -0.2, 0.5],            # no ties: exact distribution
    list(np.round(np.random.default_rng(1).normal(0.3, 1, 30), 1)),  # n > 13 with ties: asymptotic
    [-1, -1, -1, -1, -1],
])
def test_wilcoxon_equals_scipy(d):
    stat, p = GT.wilcoxon_signed_rank(np.array(d, float))
    ref = stats.wilcoxon(np.array(d, float))
    assert stat == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue, rel=1e-12)


def test_paired_changes_empty_without_key():
    s = study(5)
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    pc = C.paired_changes(rt_a, rt_b, resp_a, resp_b, s.units, key="panel_key", min_group_size=K)
    assert len(pc) == 0 and list(pc.columns) == C.CHANGE_COLUMNS + C.EXTRA_CHANGE_COLUMNS


# --------------------------------------------------------------------------- compare_rounds


def test_compare_rounds_contract_and_panel():
    s = study(5)
    rt_a, resp_a, rt_b, resp_b = _panel(s)
    out = C.compare_rounds({"respondent_ties": rt_a, "respondents": resp_a},
                           {"respondent_ties": rt_b, "respondents": resp_b},
                           s.units, s.memberships, round_a="2024", round_b="2025", round_order=s.round_order,
                           k=5, seed=0, panel_key="panel_key", measures=["rc", "communication"])
    assert set(out) == {"changes", "model"}
    ch, mm = out["changes"], out["model"]
    assert set(C.CHANGE_COLUMNS) <= set(ch.columns) and set(C.MODEL_COLUMNS) <= set(mm.columns)
    assert set(ch.test) == {"welch_t", "paired_t"}
    assert set(ch.measure) == {"rc", "communication"}
    assert mm.note.str.contains("linked across rounds by panel_key").any()


# --------------------------------------------------------------------------- statistical honesty


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_network_did_ci_covers_planted_effect(seed):
    s = study(100 + seed)
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    truth = s.truth["network_effect_rc"]
    assert truth > 0.2
    mm = C.mixed_models(rt_a, rt_b, s.units, s.memberships, ra, rb, s.round_order)
    for model in ("network_did", "network_did_respondent"):
        r = model_rows(mm, model).loc["round:shares_network"]
        assert r.ci_low <= truth <= r.ci_high, (model, r.estimate, r.ci_low, r.ci_high, truth)
        assert r.p < 0.001


def test_null_rounds_give_few_fdr_discoveries():
    fractions, base_hits = [], 0
    for seed in range(5):
        s = study(200 + seed, n_respondents=300, network_effect=0.0, drift=0.0)
        ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
        ch = C.unpaired_changes(rt_a, rt_b, resp_a, resp_b, s.units, ["rc"], levels=["tie"], min_group_size=K)
        ok = ch[~ch.suppressed]
        assert len(ok) > 50
        fractions.append(float((ok.p_fdr < 0.05).mean()))
        kinds = dict(zip(s.units.unit_id, s.units.kind))
        bb = ok[(ok.rater_unit.map(kinds) == "base") & (ok.target_unit.map(kinds) == "base")]
        base_hits += int((bb.p_fdr < 0.05).sum())
    assert max(fractions) <= 0.05, fractions
    assert base_hits <= 1


def test_network_did_null_is_not_significant_too_often():
    rej = 0
    for seed in range(5):
        s = study(300 + seed, n_respondents=300, network_effect=0.0, drift=0.0)
        ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
        mm = C.mixed_models(rt_a, rt_b, s.units, s.memberships, ra, rb, s.round_order, respondent_effects=False)
        r = model_rows(mm, "network_did").loc["round:shares_network"]
        rej += int(r.p < 0.05)
    assert rej <= 1


def test_calibration_returns_summary():
    out = CAL.calibration(n_reps=1, seed=3, n_respondents=200, min_group_size=K)
    for k in ("null_tie_fraction_p_fdr_lt_05", "null_base_tie_fraction_p_fdr_lt_05",
              "network_did_coverage", "null_round_respondent_rejection_rate"):
        assert 0.0 <= out[k] <= 1.0
    assert out["n_reps"] == 1


# --------------------------------------------------------------------------- scale (opt-in)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RELCOORD_SCALE_TEST"), reason="set RELCOORD_SCALE_TEST=1 (about 15 s)")
def test_scale_500k_rows_under_120_seconds():
    s = CAL.simulated_study(11, n_respondents=10_000, n_base_units=20, n_networks=5)
    ra, rb, rt_a, resp_a, rt_b, resp_b = rounds_of(s)
    t0 = time.perf_counter()
    out = C.compare_rounds({"respondent_ties": rt_a, "respondents": resp_a},
                           {"respondent_ties": rt_b, "respondents": resp_b},
                           s.units, s.memberships, round_a=ra, round_b=rb, round_order=s.round_order, k=K, seed=0)
    assert time.perf_counter() - t0 < 120
    r = model_rows(out["model"], "network_did").loc["round:shares_network"]
    assert r.ci_low - 0.02 <= s.truth["network_effect_rc"] <= r.ci_high + 0.02
