"""Tests for relcoord.scores: a hand-computed round, properties, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from relcoord.errors import RelcoordError
from relcoord.instrument import Instrument, Item, default_instrument
from relcoord.scores import (BLOCKS, blocks, edges, organisation, rater_groups, respondent_index,
                             respondent_ties, score_round, ties, unit_scores)

from conftest import scoring

#: respondent_ties' minimums: the schema's defaults
RT = {"min_items": scoring().min_items, "min_communication": scoring().min_communication,
      "min_relationship": scoring().min_relationship}

INST = default_instrument()
KEYS = INST.keys
NAN = np.nan

# --------------------------------------------------------------------------- hand-computed example
#
# Base units U1, U2 (area A), U3 (area B); network N1 with members r1 and r3.
# Each cell is the respondent's RC about the target; a number means all seven
# items carry that value. Two special ties:
#   r1 -> U2: items 4,4,4,4,4,NaN,NaN: 5 of 7 valid -> rc NaN (communication 4 of 4 valid -> 4)
#   r2 -> U2: items 5,4,3,NaN,2,3,4:   6 of 7 valid -> rc 21/6 = 3.5, communication 4, relationship 3
#
#            U1   U2          U3   N1
#   r1 (U1)   4   [5 valid]    3    5      networks N1
#   r2 (U1)   5   [3.5]        2    4
#   r3 (U2)   3   4            4    5      networks N1
#   r4 (U2)   2   5            3    3
#   r5 (U3)   1   2            5    4

R1_U2 = [4, 4, 4, 4, 4, NAN, NAN]
R2_U2 = [5, 4, 3, NAN, 2, 3, 4]
GRID = {
    "r1": ("U1", "N1", {"U1": 4, "U2": R1_U2, "U3": 3, "N1": 5}),
    "r2": ("U1", "", {"U1": 5, "U2": R2_U2, "U3": 2, "N1": 4}),
    "r3": ("U2", "N1", {"U1": 3, "U2": 4, "U3": 4, "N1": 5}),
    "r4": ("U2", "", {"U1": 2, "U2": 5, "U3": 3, "N1": 3}),
    "r5": ("U3", "", {"U1": 1, "U2": 2, "U3": 5, "N1": 4}),
}
UNITS = pd.DataFrame({"unit_id": ["U1", "U2", "U3", "N1"], "name": ["Unit 1", "Unit 2", "Unit 3", "Net 1"],
                      "kind": ["base", "base", "base", "network"], "area": ["A", "A", "B", ""]})


def hand_round(copies: int = 1):
    """The grid above, each respondent repeated ``copies`` times (r1_0, r1_1, ...)."""
    rows, resp = [], []
    for rid, (unit, nets, cells) in GRID.items():
        for c in range(copies):
            r = f"{rid}_{c}"
            resp.append({"respondent_id": r, "rater_unit": unit, "networks": nets})
            for target, v in cells.items():
                vals = v if isinstance(v, list) else [v] * 7
                rows += [{"respondent_id": r, "rater_unit": unit, "target_unit": target, "item": k,
                          "value": float(x)} for k, x in zip(KEYS, vals)]
    return pd.DataFrame(rows), pd.DataFrame(resp)


def tie(df: pd.DataFrame, a: str, b: str) -> pd.Series:
    row = df[(df["rater_unit"] == a) & (df["target_unit"] == b)]
    assert len(row) == 1, (a, b)
    return row.iloc[0]


@pytest.fixture(scope="module")
def hand():
    responses, respondents = hand_round(copies=3)
    return score_round(responses, respondents, UNITS, INST, scoring(), k=3, seed=0), responses, respondents


def test_respondent_ties_min_items_and_subscales():
    responses, _ = hand_round()
    rt = respondent_ties(responses, INST, **RT).set_index(["respondent_id", "target_unit"])
    r1 = rt.loc[("r1_0", "U2")]
    assert np.isnan(r1["rc"]) and r1["n_items"] == 5              # 5 of 7 valid -> undefined
    assert r1["communication"] == 4 and np.isnan(r1["relationship"])
    r2 = rt.loc[("r2_0", "U2")]
    assert r2["n_items"] == 6 and r2["rc"] == pytest.approx(21 / 6)  # mean of the 6 valid
    assert r2["communication"] == pytest.approx(4.0) and r2["relationship"] == pytest.approx(3.0)
    assert np.isnan(r2["problem_solving"]) and r2["frequent"] == 5
    assert rt.loc[("r5_0", "U1"), "rc"] == 1
    assert list(rt.columns) == ["rater_unit", "rc", "communication", "relationship", "n_items", *KEYS]
    strict = respondent_ties(responses, INST, **{**RT, "min_items": 7}).set_index(["respondent_id", "target_unit"])
    assert np.isnan(strict.loc[("r2_0", "U2"), "rc"])


def test_non_index_item_is_carried_not_scored():
    extra = Instrument(items=INST.items + (Item(key="capacity", codes={1: 1.0}, in_index=False),))
    responses, _ = hand_round()
    more = responses[responses["item"] == "frequent"].assign(item="capacity", value=1.0)
    rt = respondent_ties(pd.concat([responses, more]), extra, **RT)
    base = respondent_ties(responses, INST, **RT)
    assert (rt["capacity"] == 1).all()
    np.testing.assert_allclose(rt["rc"], base["rc"])


def test_tie_mean_sd_and_t_ci(hand):
    out = hand[0]
    t = tie(out["ties"], "U1", "U1")
    x = np.array([4, 4, 4, 5, 5, 5], float)
    assert t["n"] == 6 and t["rc_mean"] == pytest.approx(4.5) and t["rc_sd"] == pytest.approx(x.std(ddof=1))
    lo, hi = stats.t.interval(0.95, 5, loc=x.mean(), scale=stats.sem(x))
    assert (t["ci_low"], t["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert t["band"] == "strong" and t["ci_method"] == "t" and not t["suppressed"]
    # U1 -> U2: r1's tie has no RC, so only r2's three copies count, all dimensions from them
    t = tie(out["ties"], "U1", "U2")
    assert t["n"] == 3 and t["rc_mean"] == pytest.approx(3.5) and t["communication"] == pytest.approx(4)
    assert t["relationship"] == pytest.approx(3) and t["band"] == "moderate"
    assert np.isnan(t["problem_solving"]) and t["frequent"] == 5
    assert tie(out["ties"], "U3", "U1")["band"] == "weak"
    # network raters: N1 = r1, r3
    assert tie(out["ties"], "N1", "U1")["rc_mean"] == pytest.approx(3.5)
    assert tie(out["ties"], "N1", "U2")["n"] == 3
    assert tie(out["ties"], "N1", "N1")["rater_kind"] == "network"
    assert list(out["ties"].columns[:11]) == ["rater_unit", "target_unit", "rater_kind", "target_kind", "n",
                                              "rc_mean", "rc_sd", "ci_low", "ci_high", "communication",
                                              "relationship"]
    sort_cols = ["rater_kind", "rater_unit", "target_unit"]
    assert out["ties"][sort_cols].equals(out["ties"][sort_cols].sort_values(sort_cols).reset_index(drop=True))


def test_direction_matters(hand):
    t = hand[0]["ties"]
    assert tie(t, "U1", "U2")["rc_mean"] == pytest.approx(3.5)
    assert tie(t, "U2", "U1")["rc_mean"] == pytest.approx(2.5)


def test_units_within_between_received(hand):
    u = hand[0]["units"].set_index("unit_id")
    assert list(u.index) == ["U1", "U2", "U3", "N1"]
    exp = {  # within, between, received (means; n per copy)
        "U1": (4.5, 2, (4 + 9.5 / 3) / 2, 2, 2.0, 3),
        "U2": (4.5, 2, (4 + 8 / 3) / 2, 2, 2.75, 2),
        "U3": (5.0, 1, 7 / 3, 1, 3.0, 4),
        "N1": (5.0, 2, (3.5 + 11 / 3) / 2, 2, 11 / 3, 3),
    }
    for unit, (w, wn, b, bn, r, rn) in exp.items():
        row = u.loc[unit]
        assert row["within_rc"] == pytest.approx(w) and row["within_n"] == 3 * wn
        assert row["between_rc"] == pytest.approx(b) and row["between_n"] == 3 * bn
        assert row["received_rc"] == pytest.approx(r) and row["received_n"] == 3 * rn
    assert u.loc["N1", "kind"] == "network" and u.loc["N1", "area"] == ""
    assert not u["within_suppressed"].any()


def test_blocks(hand):
    b = hand[0]["blocks"].set_index("block")
    assert list(b.index) == list(BLOCKS)
    assert b.loc["within_base", "rc_mean"] == pytest.approx(4.6)
    assert b.loc["within_base", "n_respondents"] == 15 and b.loc["within_base", "n_ties"] == 15
    assert b.loc["base_to_base", "rc_mean"] == pytest.approx(23.5 / 9)
    assert b.loc["base_to_base", "n_ties"] == 27
    assert b.loc["base_to_network", "rc_mean"] == pytest.approx(4.2)
    assert b.loc["network_to_base", "rc_mean"] == pytest.approx(3.6)
    assert b.loc["network_to_base", "n_respondents"] == 6 and b.loc["network_to_base", "n_ties"] == 15
    assert b.loc["within_network", "rc_mean"] == pytest.approx(5.0)
    nn = b.loc["network_to_network"]
    assert nn["n_respondents"] == 0 and np.isnan(nn["rc_mean"]) and nn["suppressed"]
    vals = np.repeat([4, 5, 4, 5, 5], 3).astype(float)
    assert b.loc["within_base", "rc_sd"] == pytest.approx(vals.std(ddof=1))


def test_networks_as_raters_off():
    responses, respondents = hand_round(3)
    out = score_round(responses, respondents, UNITS, INST, scoring(networks_as_raters=False), k=3, seed=0)
    assert set(out["ties"]["rater_kind"]) == {"base"}
    assert out["blocks"].set_index("block").loc["network_to_base", "n_ties"] == 0
    # units still report a network's within/between from its members
    assert out["units"].set_index("unit_id").loc["N1", "within_rc"] == pytest.approx(5.0)


def test_edges_asymmetry(hand):
    e = hand[0]["edges"]
    row = e[(e["unit_a"] == "U1") & (e["unit_b"] == "U2")].iloc[0]
    assert row["a_to_b"] == pytest.approx(3.5) and row["b_to_a"] == pytest.approx(2.5)
    assert row["symmetric_rc"] == pytest.approx(3.0) and row["asymmetry"] == pytest.approx(1.0)
    assert row["difference"] == pytest.approx(1.0)
    assert (row["n_a_to_b"], row["n_b_to_a"]) == (3, 6) and not row["suppressed"]
    # U3 has 3 raters (copies of r5): with k = 4 every edge touching U3 is suppressed
    e4 = edges(hand[0]["ties"], 4)
    u3 = e4[(e4["unit_a"] == "U3") | (e4["unit_b"] == "U3")]
    assert u3["suppressed"].all() and u3[["a_to_b", "b_to_a", "symmetric_rc", "asymmetry"]].isna().all().all()
    assert (e["unit_a"] < e["unit_b"]).all() and len(e) == 6   # 4 units -> 6 unordered pairs


def test_edges_one_direction_small():
    t = pd.DataFrame({"rater_unit": ["A", "B"], "target_unit": ["B", "A"], "rater_kind": "base",
                      "target_kind": "base", "n": [10, 2], "rc_mean": [4.0, 3.0], "suppressed": [False, True]})
    e = edges(t, 5)
    assert len(e) == 1 and e["suppressed"].iloc[0] and e[["a_to_b", "symmetric_rc"]].isna().all().all()


def test_organisation_counts_each_respondent_once(hand):
    o = hand[0]["organisation"].set_index("measure")
    assert list(o.index) == ["rc", "communication", "relationship", *KEYS]
    per_resp = np.repeat([4, 14.5 / 4, 4, 3.25, 3], 3)
    assert o.loc["rc", "n"] == 15                       # 5 respondents x 3, networks not double-counted
    assert o.loc["rc", "mean"] == pytest.approx(per_resp.mean())
    assert o.loc["rc", "sd"] == pytest.approx(per_resp.std(ddof=1))
    lo, hi = stats.t.interval(0.95, 14, loc=per_resp.mean(), scale=stats.sem(per_resp))
    assert (o.loc["rc", "ci_low"], o.loc["rc", "ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    comm = np.repeat([4, 15 / 4, 4, 3.25, 3], 3)        # r1's U2 tie has no RC: its communication is left out
    assert o.loc["communication", "mean"] == pytest.approx(comm.mean())
    rel = np.repeat([4, 14 / 4, 4, 3.25, 3], 3)
    assert o.loc["relationship", "mean"] == pytest.approx(rel.mean())


def test_respondent_index(hand):
    ri = hand[0]["respondent_index"].set_index("respondent_id")
    assert ri.loc["r1_0", "rc"] == pytest.approx(4) and ri.loc["r1_0", "n_ties"] == 3
    assert ri.loc["r2_0", "rc"] == pytest.approx(3.625) and ri.loc["r2_0", "rater_unit"] == "U1"
    assert list(ri.columns[:4]) == ["rater_unit", "rc", "communication", "relationship"]
    assert len(ri) == 15


def test_score_round_keys_and_separate_functions_agree(hand):
    out, responses, respondents = hand
    assert set(out) == {"respondent_ties", "respondent_index", "ties", "units", "blocks", "edges", "organisation",
                        "rater_groups"}
    rt = out["respondent_ties"]
    pd.testing.assert_frame_equal(ties(rt, respondents, UNITS, INST, scoring(), k=3, seed=0), out["ties"])
    pd.testing.assert_frame_equal(unit_scores(rt, respondents, UNITS, 3), out["units"])
    pd.testing.assert_frame_equal(blocks(rater_groups(rt, respondents, UNITS, True), 3), out["blocks"])
    pd.testing.assert_frame_equal(organisation(rt, INST), out["organisation"])
    pd.testing.assert_frame_equal(respondent_index(rt), out["respondent_index"])


def test_rater_groups_rows():
    responses, respondents = hand_round()
    rt = respondent_ties(responses, INST, **RT)
    g = rater_groups(rt, respondents, UNITS, True)
    assert len(g) == len(rt) + 2 * 4  # r1 and r3 once more as N1 raters, 4 targets each
    assert set(g.loc[g["rater_kind"] == "network", "respondent_id"]) == {"r1_0", "r3_0"}
    assert (
        g.set_index(["rater_group", "target_unit", "respondent_id"]).loc[("N1", "N1", "r1_0"), "target_kind"]
        == "network"
    )
    assert len(rater_groups(rt, respondents, UNITS, networks_as_raters=False)) == len(rt)


# --------------------------------------------------------------------------- errors


def test_input_errors():
    responses, respondents = hand_round()
    with pytest.raises(RelcoordError, match="not declared"):
        respondent_ties(responses.assign(item=responses["item"].replace("timely", "tmely")), INST, **RT)
    with pytest.raises(RelcoordError, match="duplicated"):
        respondent_ties(pd.concat([responses, responses.iloc[:1]]), INST, **RT)
    with pytest.raises(RelcoordError, match="min_items"):
        respondent_ties(responses, INST, **{**RT, "min_items": 8})
    rt = respondent_ties(responses, INST, **RT)
    with pytest.raises(RelcoordError, match="not in the unit register"):
        rater_groups(rt, respondents, UNITS[UNITS["unit_id"] != "U3"], True)
    with pytest.raises(RelcoordError, match="not networks"):
        rater_groups(rt, respondents.assign(networks="NX"), UNITS, True)
    with pytest.raises(RelcoordError, match="refused below 3"):
        score_round(responses, respondents, UNITS, INST, scoring(), k=2, seed=0)
    with pytest.raises(RelcoordError, match="scoring/ci"):
        scoring(ci="normal")


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_seeded_and_contains_mean():
    responses, respondents = hand_round(copies=6)
    rng = np.random.default_rng(3)  # jitter values so the resampled means vary
    responses = responses.assign(value=np.clip(responses["value"] + rng.integers(-1, 2, len(responses)), 1, 5))
    opts = {"ci": "bootstrap", "bootstrap_reps": 500}
    a = score_round(responses, respondents, UNITS, INST, scoring(**opts), k=3, seed=0)["ties"]
    b = score_round(responses, respondents, UNITS, INST, scoring(**opts), k=3, seed=0)["ties"]
    pd.testing.assert_frame_equal(a, b)
    ok = a["n"] >= 2
    assert (a.loc[ok, "ci_low"] <= a.loc[ok, "rc_mean"] + 1e-12).all()
    assert (a.loc[ok, "ci_high"] >= a.loc[ok, "rc_mean"] - 1e-12).all()
    assert (a.loc[ok, "ci_high"] > a.loc[ok, "ci_low"]).any()
    assert (a["ci_method"] == "bootstrap").all()
    c = score_round(responses, respondents, UNITS, INST, scoring(**opts), k=3, seed=7)["ties"]
    assert not np.allclose(a.loc[ok, "ci_low"], c.loc[ok, "ci_low"])
    assert a.loc[~ok, ["ci_low", "ci_high"]].isna().all().all()


# --------------------------------------------------------------------------- properties


def random_round(seed: int, n_base: int, n_net: int, n_resp: int, p_missing: float):
    rng = np.random.default_rng(seed)
    base = [f"B{i}" for i in range(n_base)]
    nets = [f"N{i}" for i in range(n_net)]
    units = pd.DataFrame(
        {
            "unit_id": base + nets,
            "name": base + nets,
            "kind": ["base"] * n_base + ["network"] * n_net,
            "area": ["x"] * n_base + [""] * n_net,
        }
    )
    unit = np.array(base, dtype=object)[rng.integers(0, n_base, n_resp)]
    member = rng.random((n_resp, n_net)) < 0.4
    resp = pd.DataFrame(
        {
            "respondent_id": [f"p{i:03d}" for i in range(n_resp)],
            "rater_unit": unit,
            "networks": [";".join(np.array(nets, dtype=object)[m]) for m in member],
        }
    )
    targets = np.array(base + nets, dtype=object)
    vals = rng.integers(1, 6, size=(n_resp, len(targets), 7)).astype(float)
    vals[rng.random(vals.shape) < p_missing] = np.nan
    responses = pd.DataFrame(
        {
            "respondent_id": np.repeat(resp["respondent_id"].to_numpy(), len(targets) * 7),
            "rater_unit": np.repeat(unit, len(targets) * 7),
            "target_unit": np.tile(np.repeat(targets, 7), n_resp),
            "item": np.tile(np.array(KEYS, dtype=object), n_resp * len(targets)),
            "value": vals.ravel(),
        }
    )
    return responses, resp, units


rounds = st.builds(
    random_round,
    seed=st.integers(0, 2**31),
    n_base=st.integers(1, 4),
    n_net=st.integers(0, 2),
    n_resp=st.integers(1, 30),
    p_missing=st.sampled_from([0.0, 0.1, 0.3]),
)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCORE_COLS = {
    "respondent_ties": ["rc", "communication", "relationship", *KEYS],
    "respondent_index": ["rc", "communication", "relationship", *KEYS],
    "ties": ["rc_mean", "communication", "relationship", *KEYS],
    "units": ["within_rc", "between_rc", "received_rc"],
    "blocks": ["rc_mean", "communication", "relationship"],
    "edges": ["a_to_b", "b_to_a", "symmetric_rc"],
    "organisation": ["mean"],
}


@SETTINGS
@given(rounds)
def test_every_score_in_scale(data):
    responses, resp, units = data
    out = score_round(responses, resp, units, INST, scoring(), k=3, seed=0)
    for name, cols in SCORE_COLS.items():
        x = out[name][cols].to_numpy(dtype=float)
        x = x[~np.isnan(x)]
        assert ((x >= 1 - 1e-9) & (x <= 5 + 1e-9)).all(), name
    a = out["edges"]["asymmetry"].dropna()
    assert ((a >= 0) & (a <= 4 + 1e-9)).all()


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    keys = [
        c
        for c in (
            "rater_kind",
            "rater_unit",
            "target_unit",
            "respondent_id",
            "unit_id",
            "block",
            "unit_a",
            "unit_b",
            "measure",
        )
        if c in df.columns
    ]
    return df.sort_values(keys).reset_index(drop=True)


@SETTINGS
@given(rounds, st.integers(0, 2**31), st.sampled_from(["t", "bootstrap"]))
def test_row_order_changes_nothing(data, perm_seed, ci):
    responses, resp, units = data
    rng = np.random.default_rng(perm_seed)
    opts = {"ci": ci, "bootstrap_reps": 200}
    a = score_round(responses, resp, units, INST, scoring(**opts), k=3, seed=0)
    b = score_round(
        responses.iloc[rng.permutation(len(responses))],
        resp.iloc[rng.permutation(len(resp))],
        units,
        INST,
        scoring(**opts),
        k=3,
        seed=0,
    )
    for name in a:
        pd.testing.assert_frame_equal(_canon(a[name]), _canon(b[name]), check_exact=False, rtol=1e-12)


@SETTINGS
@given(rounds)
def test_received_is_weighted_mean_of_base_ties(data):
    """The identity that makes secondary suppression necessary (see relcoord.privacy)."""
    responses, resp, units = data
    out = score_round(responses, resp, units, INST, scoring(), k=3, seed=0)
    t = out["ties"]
    t = t[(t["rater_kind"] == "base") & (t["rater_unit"] != t["target_unit"]) & (t["target_kind"] == "base")]
    t = t[t["n"] > 0]
    w = (t["rc_mean"] * t["n"]).groupby(t["target_unit"]).sum() / t["n"].groupby(t["target_unit"]).sum()
    u = out["units"].set_index("unit_id")
    for unit, val in w.items():
        assert u.loc[unit, "received_rc"] == pytest.approx(val)
        assert u.loc[unit, "received_n"] == t.loc[t["target_unit"] == unit, "n"].sum()
    within = out["ties"][out["ties"]["rater_unit"] == out["ties"]["target_unit"]].set_index("rater_unit")
    for unit, row in within.iterrows():
        assert row["n"] == u.loc[unit, "within_n"]
        if row["n"]:
            assert row["rc_mean"] == pytest.approx(u.loc[unit, "within_rc"])


def test_scale_builder_runs_small():
    """The scale benchmark's data layout (full grid, every respondent rates every target) scores cleanly."""
    responses, resp, units = random_round(1, 5, 2, 200, 0.05)
    out = score_round(responses, resp, units, INST, scoring(), k=5, seed=0)
    assert len(out["respondent_ties"]) == 200 * 7
    assert out["organisation"].set_index("measure").loc["rc", "n"] == 200
