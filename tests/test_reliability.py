"""Tests for relcoord.reliability against published values, R and invariances.

R numbers come from tests/fixtures/r_reliability.json, written by
tests/r/reliability.R (psych, multilevel, lme4; versions recorded in the JSON).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relcoord.instrument import default_instrument
from relcoord.reliability import (
    agreement_table,
    cronbach_alpha,
    feldt_ci,
    icc_bliese,
    icc_from_ms,
    reliability_table,
    rwg,
    rwg_j,
    rwg_j_by_group,
)

FIXTURE = Path(__file__).parent / "fixtures" / "r_reliability.json"
GERMAN = Path(__file__).resolve().parents[2] / "shared/samples/rc-german-gp/rc_items.csv"
TOL = 1e-6


@pytest.fixture(scope="module")
def r_fix() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def r_data(r_fix) -> tuple[pd.DataFrame, pd.Series]:
    items = pd.DataFrame({k: [np.nan if v is None else float(v) for v in vs]
                          for k, vs in r_fix["data"]["items"].items()})
    return items, pd.Series(r_fix["data"]["group"], name="group")


def _nan(v):
    return np.nan if v is None else v


# ------------------------------------- published vectors (Bliese 2000; James, Demaree & Wolf 1984)
def test_icc_from_ms_published_vectors():
    # Published to 4 decimals; ICC(2) = 9.5481/10.9893 = 0.868854, which the source
    # truncates to 0.8688, hence the 1e-4 tolerance.
    a = icc_from_ms(10.9893, 1.4412, 26.28)
    assert a["icc1"] == pytest.approx(0.2013, abs=1e-4)
    assert a["icc2"] == pytest.approx(0.8688, abs=1e-4)
    assert a["icc2"] == pytest.approx(9.5481 / 10.9893, abs=1e-12)
    b = icc_from_ms(2.3405, 0.6401, 26.28)
    assert b["icc2"] == pytest.approx(0.7265, abs=1e-4)
    assert b["icc1"] == pytest.approx(0.0918, abs=1e-4)


def test_rwg_published_vectors():
    # two answers 2 and 3 have sample variance 0.5
    assert np.var([2, 3], ddof=1) == 0.5
    assert rwg([2, 3]) == pytest.approx(0.75)
    items = pd.DataFrame({f"i{j}": [2, 3] for j in range(7)})
    assert items.var(ddof=1).mean() == 0.5
    assert rwg_j(items) == pytest.approx(5.25 / 5.5, abs=1e-12)
    assert rwg_j(items) == pytest.approx(0.9545, abs=5e-5)


def test_rwg_edge_cases():
    assert np.isnan(rwg([3]))
    assert np.isnan(rwg([3, np.nan]))
    assert rwg([3, 3, 3]) == 1.0
    assert rwg([1, 5, 1, 5]) == 0.0  # s^2 = 5.33 > 2, clamped
    assert rwg([1, 2], n_options=7) == pytest.approx(1 - 0.5 / 4)  # sigma^2 = 48/12
    assert np.isnan(rwg_j(pd.DataFrame({"a": [1.0], "b": [2.0]})))
    assert rwg_j(pd.DataFrame({"a": [1, 5, 1, 5], "b": [5, 1, 5, 1]})) == 0.0
    # listwise: the row with a gap is dropped, leaving one row -> NaN
    assert np.isnan(rwg_j(pd.DataFrame({"a": [1, 2], "b": [2, np.nan]})))
    gap = pd.DataFrame({"a": [1, 2, 3], "b": [2, np.nan, 2]})
    assert rwg_j(gap) == pytest.approx(2 * 0.5 / (2 * 0.5 + 0.5))  # rows 0, 2: s̄² = (2 + 0)/2
    assert rwg_j(gap, complete=False) == pytest.approx(1.5 / 1.75)  # s̄² = (1 + 0)/2


def _balanced_data(seed: int, sizes: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(len(sizes)), sizes)
    y = rng.normal(0, 1.0, len(sizes))[g] + rng.normal(0, 1.0, len(g))
    return pd.DataFrame({"y": y, "g": g})


def _reml_share(df: pd.DataFrame) -> float:
    # statsmodels' lbfgs start can stick at the boundary (0); bfgs with a tight
    # gradient tolerance reaches the REML optimum to ~1e-12 here.
    import statsmodels.formula.api as smf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("y ~ 1", df, groups=df["g"]).fit(reml=True, method=["bfgs"], gtol=1e-10)
    vb = float(fit.cov_re.iloc[0, 0])
    return vb / (vb + float(fit.scale))


def test_icc1_equals_reml_share_when_balanced_only():
    bal = _balanced_data(11, [6] * 10)
    res = icc_bliese(bal["y"], bal["g"])
    assert res["msb"] > res["msw"]  # REML variance not at the boundary
    assert res["k"] == res["k0"] == 6
    assert res["icc1"] == pytest.approx(_reml_share(bal), abs=1e-8)
    unb = _balanced_data(11, [2, 3, 4, 5, 6, 8, 10, 12, 15, 20])
    res_u = icc_bliese(unb["y"], unb["g"])
    assert res_u["msb"] > res_u["msw"]
    assert abs(res_u["icc1"] - _reml_share(unb)) > 1e-3
    assert res_u["k0"] < res_u["k"]


def test_icc_degenerate_and_negative():
    r = icc_bliese([1.0, 2.0, 3.0], ["a", "a", "a"])  # one group
    assert np.isnan(r["icc1"]) and r["n_groups"] == 1
    # group means identical, spread within: MSB = 0 -> ICC(1) = -1/(k-1)
    r = icc_bliese([1, 3, 1, 3, 1, 3], ["a", "a", "b", "b", "c", "c"])
    assert r["msb"] == 0 and r["icc1"] == pytest.approx(-1.0) and r["f"] == 0
    # missing scores / groups are dropped
    r2 = icc_bliese([1, 3, 1, 3, 1, 3, np.nan, 9], ["a", "a", "b", "b", "c", "c", "a", None])
    assert r2["n"] == 6 and r2["icc1"] == pytest.approx(-1.0)


# ------------------------------------------------------------- real data (Keller et al.)
@pytest.mark.skipif(not GERMAN.exists(), reason="rc-german-gp sample not available")
def test_alpha_real_german_rc_data():
    d = pd.read_csv(GERMAN)
    items = d[["RC1_COM", "RC2_COM", "RC3_COM", "RC4_COM", "RC5_REL", "RC6_REL", "RC7_REL"]]
    lw = cronbach_alpha(items, "listwise")
    pw = cronbach_alpha(items, "pairwise")
    assert lw["n"] == 705 and lw["k"] == 7
    assert lw["value"] == pytest.approx(0.839151, abs=1e-6)
    assert pw["value"] == pytest.approx(0.837578, abs=1e-6)
    # psych::alpha (2.2.9) Feldt intervals on this file, recorded by hand:
    # na.omit(x): 0.8203395068 .. 0.8566556720; raw (n = 816 rows, 88 all-missing):
    # 0.8199679020 .. 0.8540484312.
    assert (lw["ci_low"], lw["ci_high"]) == pytest.approx((0.8203395068, 0.8566556720), abs=1e-9)
    assert pw["n"] == 728  # rows with at least one answer; psych counts all 816
    assert feldt_ci(pw["value"], len(items), 7) == pytest.approx((0.8199679020, 0.8540484312), abs=1e-9)


# ------------------------------------------------------------- R agreement
def test_fixture_versions(r_fix):
    assert r_fix["packages"]["psych"] and r_fix["packages"]["multilevel"]
    assert r_fix["r_version"].startswith("R version")


def test_alpha_matches_psych(r_fix, r_data):
    items, _ = r_data
    ra = r_fix["alpha"]
    lw = cronbach_alpha(items, "listwise")
    assert lw["n"] == ra["listwise"]["n_used_by_psych"]
    for key in ("value", "ci_low", "ci_high"):
        assert lw[key] == pytest.approx(ra["listwise"][key], abs=TOL)
    pw = cronbach_alpha(items, "pairwise")
    assert pw["n"] == ra["pairwise_valid_rows"]["n_used_by_psych"]
    for key in ("value", "ci_low", "ci_high"):
        assert pw[key] == pytest.approx(ra["pairwise_valid_rows"][key], abs=TOL)
    # psych on the raw data counts the all-missing rows in n: same alpha, wider n
    assert pw["value"] == pytest.approx(ra["pairwise_all_rows"]["value"], abs=TOL)
    lo, hi = feldt_ci(pw["value"], ra["pairwise_all_rows"]["n_used_by_psych"], 7)
    assert lo == pytest.approx(ra["pairwise_all_rows"]["ci_low"], abs=TOL)
    assert hi == pytest.approx(ra["pairwise_all_rows"]["ci_high"], abs=TOL)


@pytest.mark.parametrize("which", ["score", "noise"])
def test_icc_matches_multilevel(r_fix, r_data, which):
    items, group = r_data
    if which == "score":
        y = items.mean(axis=1)  # NaN for the all-missing rows, dropped like aov
    else:
        y = np.asarray(r_fix["data"]["noise"], dtype=float)
    ri = r_fix["icc"][which]
    res = icc_bliese(y, group)
    for key in ("icc1", "icc2", "msb", "msw", "f", "n", "n_groups"):
        assert res[key] == pytest.approx(ri[key], abs=TOL, rel=TOL), key
    assert res["p"] == pytest.approx(ri["p"], rel=1e-6)
    assert res["k"] == pytest.approx(ri["n"] / ri["n_groups"])
    if which == "noise":
        assert res["icc1"] < 0 and res["icc2"] < 0


def test_icc_singleton_group_kept(r_fix, r_data):
    items, group = r_data
    assert (group == "g11").sum() == 1
    res = icc_bliese(items.mean(axis=1), group)
    assert res["n_groups"] == 12 == r_fix["icc"]["score"]["n_groups"]


def test_anova_icc_differs_from_lme4_reml_when_unbalanced(r_fix, r_data):
    items, group = r_data
    res = icc_bliese(items.mean(axis=1), group)
    reml = r_fix["reml_score"]
    assert abs(res["icc1"] - reml["icc"]) > 0.01
    df = pd.DataFrame({"y": items.mean(axis=1), "g": group}).dropna()
    assert _reml_share(df) == pytest.approx(reml["icc"], abs=1e-5)  # statsmodels vs lme4


def test_rwg_j_matches_multilevel(r_fix, r_data):
    items, group = r_data
    df = items.assign(group=group)
    out = rwg_j_by_group(df, ["group"], list(items.columns)).set_index("group")
    for row in r_fix["rwg_j"]:
        got = out.loc[row["group"]]
        assert got["n"] == row["gsize"]
        if row["rwg_j"] is None:
            assert np.isnan(got["rwg_j"])
        else:
            assert got["rwg_j"] == pytest.approx(row["rwg_j"], abs=TOL)
    assert set(out.index) == {r["group"] for r in r_fix["rwg_j"]}
    for item, rows in r_fix["rwg_complete"].items():
        for row in rows:
            got = out.loc[row["group"], f"rwg_{item}"]
            assert (np.isnan(got) if row["rwg"] is None else got == pytest.approx(row["rwg"], abs=TOL))


def test_rwg_available_case_matches_multilevel_rwg(r_fix, r_data):
    items, group = r_data
    out = rwg_j_by_group(items.assign(group=group), ["group"], list(items.columns),
                         complete=False).set_index("group")
    for item, rows in r_fix["rwg_available"].items():
        for row in rows:
            got = out.loc[row["group"], f"rwg_{item}"]
            assert (np.isnan(got) if row["rwg"] is None else got == pytest.approx(row["rwg"], abs=TOL))
            single = rwg(items.loc[group == row["group"], item])
            assert (np.isnan(single) if row["rwg"] is None else single == pytest.approx(row["rwg"], abs=TOL))


# ------------------------------------------------------------- tables
def _simulated_rt(n_resp: int = 200, n_units: int = 6, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    inst = default_instrument()
    units = [f"u{i}" for i in range(n_units)]
    resp = pd.DataFrame({"respondent_id": np.arange(n_resp),
                         "rater_unit": rng.choice(units, n_resp)})
    rt = resp.merge(pd.DataFrame({"target_unit": units}), how="cross")
    unit_eff = dict(zip(units, rng.normal(0, 0.5, n_units)))
    base = 3 + rt["rater_unit"].map(unit_eff) + rng.normal(0, 0.6, n_resp)[rt["respondent_id"]]
    for k in inst.index_keys:
        rt[k] = np.clip(np.round(base + rng.normal(0, 0.7, len(rt))), 1, 5)
        rt.loc[rng.random(len(rt)) < 0.05, k] = np.nan
    ri = rt.groupby(["respondent_id", "rater_unit"])[inst.index_keys].mean().mean(axis=1)
    ri = ri.rename("rc").reset_index()
    return rt, ri


def test_reliability_table_structure_and_values():
    inst = default_instrument()
    rt, ri = _simulated_rt()
    tab = reliability_table(rt, ri, inst)
    assert list(tab.columns) == ["scope", "measure", "value", "ci_low", "ci_high", "n", "flag"]
    t = tab.set_index(["scope", "measure"])
    for scope in ("all_ties", "communication", "relationship"):
        for m in ("alpha_listwise", "alpha_pairwise"):
            assert (scope, m) in t.index
    a = cronbach_alpha(rt[inst.index_keys], "pairwise")
    assert t.loc[("all_ties", "alpha_pairwise"), "value"] == a["value"]
    assert t.loc[("all_ties", "alpha_pairwise"), "n"] == a["n"]
    c = cronbach_alpha(rt[inst.subscale_keys("communication")], "listwise")
    assert t.loc[("communication", "alpha_listwise"), "value"] == c["value"]
    m = rt.groupby("respondent_id")[inst.index_keys].mean()
    assert t.loc[("respondent_means", "alpha_listwise"), "value"] == cronbach_alpha(m)["value"]
    icc = icc_bliese(ri["rc"], ri["rater_unit"])
    for k in ("icc1", "icc2", "icc1_k0", "msb", "msw", "k", "k0", "f", "p"):
        assert t.loc[("rater_unit", k), "value"] == icc[k]
        assert t.loc[("rater_unit", k), "n"] == len(ri)
    assert (tab["flag"] == "").all()


def test_reliability_table_flags_negative_icc():
    inst = default_instrument()
    rt, ri = _simulated_rt()
    ri = ri.copy()
    ri["rc"] = ri["rc"] - ri.groupby("rater_unit")["rc"].transform("mean")  # MSB = 0
    t = reliability_table(rt, ri, inst).set_index("measure")
    assert t.loc["icc1", "flag"] == "negative" and t.loc["icc2", "flag"] == "negative"
    assert t.loc["msb", "flag"] == ""


def test_agreement_table():
    inst = default_instrument()
    rt, _ = _simulated_rt()
    ag = agreement_table(rt, inst)
    assert list(ag.columns) == ["rater_unit", "target_unit", "n", "rwg_j"] + [f"rwg_{k}" for k in inst.index_keys]
    assert len(ag) == rt.groupby(["rater_unit", "target_unit"]).ngroups
    one = ag.iloc[0]
    sub = rt[(rt.rater_unit == one.rater_unit) & (rt.target_unit == one.target_unit)]
    assert one["rwg_j"] == pytest.approx(rwg_j(sub[inst.index_keys]), abs=1e-12)
    assert one["n"] == sub[inst.index_keys].notna().all(axis=1).sum()
    assert ag["rwg_j"].between(0, 1).all()


def test_scale_250k_rows_is_fast():
    inst = default_instrument()
    rng = np.random.default_rng(0)
    n_resp, n_t = 10_000, 25
    units = np.array([f"u{i}" for i in range(n_t)])
    rt = pd.DataFrame({"respondent_id": np.repeat(np.arange(n_resp), n_t),
                       "target_unit": np.tile(units, n_resp)})
    rt["rater_unit"] = rng.choice(units, n_resp)[rt["respondent_id"]]
    for k in inst.index_keys:
        v = rng.integers(1, 6, len(rt)).astype(float)
        v[rng.random(len(rt)) < 0.05] = np.nan
        rt[k] = v
    ri = pd.DataFrame({"respondent_id": np.arange(n_resp), "rater_unit": rng.choice(units, n_resp),
                       "rc": rng.normal(3.5, 0.6, n_resp)})
    t0 = time.perf_counter()
    reliability_table(rt, ri, inst)
    agreement_table(rt, inst)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, elapsed  # typically well under 1 s; generous for slow CI


# ------------------------------------------------------------- properties
item_frames = st.integers(min_value=3, max_value=25).flatmap(
    lambda n: st.lists(st.lists(st.one_of(st.integers(1, 5), st.none()), min_size=4, max_size=4),
                       min_size=n, max_size=n))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=item_frames, seed=st.integers(0, 2**31 - 1), method=st.sampled_from(["listwise", "pairwise"]))
def test_alpha_invariant_to_row_permutation(rows, seed, method):
    df = pd.DataFrame(rows, columns=list("abcd"), dtype=float)
    perm = df.sample(frac=1.0, random_state=seed % (2**32 - 1))
    a, b = cronbach_alpha(df, method), cronbach_alpha(perm, method)
    assert a["n"] == b["n"]
    if np.isnan(a["value"]):
        assert np.isnan(b["value"])
    else:
        assert a["value"] == pytest.approx(b["value"], abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(rows=item_frames, groups=st.lists(st.sampled_from("xyz"), min_size=25, max_size=25),
       n_options=st.integers(2, 9))
def test_rwg_j_in_unit_interval(rows, groups, n_options):
    df = pd.DataFrame(rows, columns=list("abcd"), dtype=float).clip(upper=n_options)
    df["g"] = groups[: len(df)]
    for complete in (True, False):
        out = rwg_j_by_group(df, ["g"], list("abcd"), n_options=n_options, complete=complete)
        vals = out[["rwg_j", "rwg_a", "rwg_b", "rwg_c", "rwg_d"]].to_numpy().ravel()
        vals = vals[~np.isnan(vals)]
        assert ((vals >= 0) & (vals <= 1 + 1e-12)).all()


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(st.floats(-5, 5, allow_nan=False), min_size=6, max_size=40),
       data=st.data())
def test_icc_invariant_to_group_relabelling(scores, data):
    labels = data.draw(st.lists(st.integers(0, 4), min_size=len(scores), max_size=len(scores)))
    perm = data.draw(st.permutations(range(5)))
    names = data.draw(st.lists(st.text(min_size=1, max_size=3), min_size=5, max_size=5, unique=True))
    a = icc_bliese(scores, labels)
    b = icc_bliese(scores, [names[perm[g]] for g in labels])
    for key in ("icc1", "icc2", "icc1_k0", "msb", "msw", "f", "k", "k0"):
        if np.isnan(a[key]):
            assert np.isnan(b[key])
        else:
            assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-9)
