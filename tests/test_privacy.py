"""Tests for relcoord.privacy: minimum group size, primary and secondary suppression."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relcoord.errors import RelcoordError
from relcoord.instrument import default_instrument
from relcoord.privacy import (
    check_background,
    check_min_group_size,
    secondary_suppress_ties,
    secondary_suppress_units,
    summary_for_readers,
    suppress,
    suppress_counts,
)
from relcoord.publish import reader_facing
from relcoord.scores import score_round

from conftest import scoring

INST = default_instrument()
KEYS = INST.keys


def test_check_min_group_size():
    with pytest.raises(RelcoordError, match="refused below 3") as err:
        check_min_group_size(2)
    assert "privacy.min_group_size" in str(err.value) and "5 recommended" in str(err.value)
    for bad in (0, -1, 2.5, True, "5", None):
        with pytest.raises(RelcoordError):
            check_min_group_size(bad)
    assert check_min_group_size(3) == 3 and check_min_group_size(5.0) == 5


def test_suppress_blanks_stats_and_n():
    df = pd.DataFrame(
        {
            "g": ["a", "b", "c", "d"],
            "n": [2, 5, np.nan, 9],
            "mean": [3.0, 4.0, 2.0, 1.0],
            "band": ["weak", "strong", "weak", "weak"],
            "suppressed": [False, False, False, True],
            "suppression": ["", "", "", "secondary"],
        }
    )
    out = suppress(df, "n", ["mean", "band"], 5)
    assert out["suppressed"].tolist() == [True, False, True, True]
    assert out["suppression"].tolist() == ["primary", "", "primary", "secondary"]
    assert out["mean"].isna().tolist() == [True, False, True, True]
    assert out["band"].isna().tolist() == [True, False, True, True]
    assert out["n"].tolist()[1] == 5 and out["n"].isna().tolist() == [True, False, True, True]
    assert df["mean"].notna().all()  # input untouched
    with pytest.raises(RelcoordError):
        suppress(df, "n", ["mean"], 2)


def _ties(rows):
    return pd.DataFrame(
        rows, columns=["rater_unit", "target_unit", "rater_kind", "target_kind", "n", "rc_mean"]
    ).assign(suppressed=lambda d: d["n"] < 5)


def test_secondary_hides_next_smallest_in_column():
    t = _ties(
        [
            ("A", "D", "base", "base", 2, 3.0),
            ("B", "D", "base", "base", 8, 4.0),
            ("C", "D", "base", "base", 6, 3.5),
            ("E", "D", "base", "base", 20, 4.1),
            ("D", "D", "base", "base", 9, 4.4),
        ]
    )
    # give every rater other ties so rows/blocks do not interfere: A's row has two hidden ties
    t = pd.concat([t, _ties([("A", "F", "base", "base", 1, 3.0)])], ignore_index=True)
    units = pd.DataFrame({"unit_id": list("ABCDEF"), "within_suppressed": False})
    out, u = secondary_suppress_ties(t, units, 5)
    s = out.set_index(["rater_unit", "target_unit"])
    assert s.loc[("A", "D"), "suppression"] == "primary"
    assert s.loc[("C", "D"), "suppression"] == "secondary"  # n 6 is the smallest visible in column D
    assert not s.loc[("B", "D"), "suppressed"] and not s.loc[("E", "D"), "suppressed"]
    assert not s.loc[("D", "D"), "suppressed"]  # diagonal is not part of the column sum
    assert t["suppressed"].sum() == 2  # input untouched


def test_secondary_no_action_when_two_hidden_or_empty():
    t = _ties(
        [
            ("A", "D", "base", "base", 2, 3.0),
            ("B", "D", "base", "base", 3, 4.0),
            ("C", "D", "base", "base", 6, 3.5),
            ("C", "E", "base", "base", 0, np.nan),
            ("B", "E", "base", "base", 7, 3.0),
            ("A", "E", "base", "base", 4, 3.0),
        ]
    )
    out, _ = secondary_suppress_ties(t, None, 5)
    col_d = out[out["target_unit"] == "D"]
    assert (col_d["suppression"] != "secondary").all()
    # column E: one informative hidden (A, n 4) + an empty tie (n 0): B -> E must go
    assert out.set_index(["rater_unit", "target_unit"]).loc[("B", "E"), "suppression"] == "secondary"


def test_secondary_syncs_units_within():
    t = _ties(
        [("A", "A", "base", "base", 3, 4.0), ("B", "B", "base", "base", 8, 4.0), ("C", "C", "base", "base", 12, 4.2)]
    )
    units = pd.DataFrame({"unit_id": ["A", "B", "C"], "within_suppressed": [True, False, False]})
    out, u = secondary_suppress_ties(t, units, 5)
    assert out.set_index("rater_unit").loc["B", "suppression"] == "secondary"  # within_base block
    assert u["within_suppressed"].tolist() == [True, True, False]


def test_reader_facing_tables():
    t = _ties([("A", "B", "base", "base", 2, 3.0), ("B", "A", "base", "base", 8, 4.0)]).assign(band="weak")
    agreement = pd.DataFrame({"rater_unit": ["A", "B"], "target_unit": ["B", "A"], "n": [2, 8], "rwg_j": [0.9, 0.8]})
    tables = {
        "ties": t,
        "agreement": agreement,
        "respondent_index": pd.DataFrame({"rc": [1.0]}),
        "other": pd.DataFrame({"x": [1]}),
        "changes": pd.DataFrame({"n_a": [3, 10], "n_b": [10, 10], "diff": [0.1, 0.2]}),
    }
    rf = reader_facing(tables, 5)
    assert "respondent_index" not in rf and "edges" not in rf
    # B -> A would give away A -> B through the base_to_base block total: hidden as well
    assert rf["ties"]["band"].isna().all() and rf["ties"]["suppression"].tolist() == ["primary", "secondary"]
    # ... and so is its rwg(j) row, whose n would otherwise give the hidden tie's count away
    assert rf["agreement"]["rwg_j"].isna().tolist() == [True, True]
    assert rf["agreement"]["n"].isna().tolist() == [True, True]
    assert rf["agreement"]["suppressed"].tolist() == [True, True]
    assert rf["changes"]["diff"].isna().tolist() == [True, False]
    pd.testing.assert_frame_equal(rf["other"], tables["other"])


# --------------------------------------------------------------------------- properties on full rounds


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
    weights = rng.dirichlet(np.full(n_base, 0.7))  # uneven unit sizes: some small, some large
    unit = np.array(base, dtype=object)[rng.choice(n_base, n_resp, p=weights)]
    member = rng.random((n_resp, n_net)) < 0.3
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
    n_base=st.integers(2, 6),
    n_net=st.integers(0, 2),
    n_resp=st.integers(2, 60),
    p_missing=st.sampled_from([0.0, 0.1, 0.4]),
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (n column, statistic columns) per reader-facing table
CHECKS = {
    "ties": ("n", ["rc_mean", "rc_sd", "ci_low", "ci_high", "communication", "relationship", *KEYS]),
    "blocks": ("n_respondents", ["rc_mean", "rc_sd", "communication", "relationship"]),
    "organisation": ("n", ["mean", "sd", "ci_low", "ci_high"]),
}


@SETTINGS
@given(rounds, st.sampled_from([3, 5]))
def test_no_visible_statistic_from_small_groups(data, k):
    responses, resp, units = data
    internal = score_round(responses, resp, units, INST, scoring(), k=k, seed=0)
    rf = reader_facing(internal, k)
    assert set(rf) == {"ties", "units", "blocks", "edges", "organisation"}
    for name, (n_col, cols) in CHECKS.items():
        df = rf[name]
        shown = df[cols].notna().any(axis=1)
        assert (df.loc[shown, n_col] >= k).all(), name
        assert (df.loc[df[n_col].notna(), n_col] >= k).all(), name  # small counts are blanked too
    assert rf["ties"].loc[rf["ties"]["band"].notna(), "n"].ge(k).all()
    u = rf["units"]
    for part in ("within", "between", "received"):
        shown = u[f"{part}_rc"].notna()
        assert (u.loc[shown, f"{part}_n"] >= k).all()
        assert (u.loc[shown, f"{part}_suppressed"] == False).all()  # noqa: E712
    e = rf["edges"]
    shown = e[["a_to_b", "b_to_a", "symmetric_rc", "asymmetry"]].notna().any(axis=1)
    assert (e.loc[shown, "n_a_to_b"] >= k).all() and (e.loc[shown, "n_b_to_a"] >= k).all()
    # every visible edge direction is a visible tie with the same value
    t = rf["ties"].set_index(["rater_unit", "target_unit"])
    for _, row in e[shown].iterrows():
        assert t.loc[(row["unit_a"], row["unit_b"]), "rc_mean"] == pytest.approx(row["a_to_b"])
    # the within RC shown in units.csv is never a tie that ties.csv hides
    diag = rf["ties"][rf["ties"]["rater_unit"] == rf["ties"]["target_unit"]].set_index("rater_unit")
    for unit, row in diag.iterrows():
        if row["suppressed"]:
            assert np.isnan(u.set_index("unit_id").loc[unit, "within_rc"])


def _lonely_hidden(internal_ties: pd.DataFrame, rf_ties: pd.DataFrame, keys: list[str], mask) -> pd.Series:
    """Per set: exactly one hidden tie with n >= 1 while at least one tie is visible."""
    t = internal_ties.loc[mask].copy()
    hidden = rf_ties.loc[mask, "suppressed"].astype(bool)
    t["hidden_info"] = hidden & (t["n"] >= 1)
    t["visible"] = ~hidden
    g = t.groupby(keys)
    return (g["hidden_info"].sum() == 1) & (g["visible"].sum() >= 1)


@SETTINGS
@given(rounds, st.sampled_from([3, 5]))
def test_secondary_suppression_leaves_no_lonely_hidden_tie(data, k):
    responses, resp, units = data
    internal = score_round(responses, resp, units, INST, scoring(), k=k, seed=0)
    # the set rules alone (the disclosure audit adds complements of its own: tests/test_disclosure.py)
    rf = reader_facing(internal, k, audit=False)
    ti, tr = internal["ties"], rf["ties"]
    assert (ti[["rater_unit", "target_unit"]].to_numpy() == tr[["rater_unit", "target_unit"]].to_numpy()).all()
    offdiag = ti["rater_unit"] != ti["target_unit"]
    base_cols = offdiag & (ti["rater_kind"] == "base")
    assert not _lonely_hidden(ti, tr, ["target_unit"], base_cols).any()  # the brief's invariant
    assert not _lonely_hidden(ti, tr, ["target_unit", "rater_kind"], offdiag).any()
    assert not _lonely_hidden(ti, tr, ["rater_unit"], offdiag).any()
    # primary rows are exactly n < k; secondary rows have n >= k
    assert (tr["suppression"] == "primary").eq(ti["n"] < k).all()
    assert (ti.loc[tr["suppression"] == "secondary", "n"] >= k).all()
    assert tr["suppressed"].eq(tr["suppression"] != "").all()


def test_reader_facing_respects_suppressed_edges_after_secondary():
    responses, resp, units = random_round(11, 4, 1, 40, 0.1)
    internal = score_round(responses, resp, units, INST, scoring(), k=5, seed=0)
    rf = reader_facing(internal, 5)
    hidden = rf["ties"].loc[rf["ties"]["suppressed"], ["rater_unit", "target_unit"]]
    e = rf["edges"].set_index(["unit_a", "unit_b"])
    for a, b in hidden.itertuples(index=False):
        if a != b:
            key = (a, b) if a < b else (b, a)
            assert e.loc[key, "suppressed"] and np.isnan(e.loc[key, "symmetric_rc"])


# --------------------------------------------------------------------------- counts and unit cells (subtraction)


def test_suppress_counts_hides_the_next_smallest_when_one_unit_is_small():
    shown, why = suppress_counts({"BYG": 4, "DTN": 82, "PPR": 18, "YDS": 28}, 5)
    assert shown == {"BYG": None, "DTN": 82, "PPR": None, "YDS": 28}
    assert why == {"BYG": "primary", "PPR": "secondary"}
    # idempotent: the published dict passed in again stays as it is
    assert suppress_counts(shown, 5)[0] == shown
    # two small units already hide each other; a unit without respondents needs no partner
    assert suppress_counts({"A": 3, "B": 2, "C": 50}, 5) == (
        {"A": None, "B": None, "C": 50},
        {"A": "primary", "B": "primary"},
    )
    assert suppress_counts({"A": 0, "C": 50, "D": 60}, 5)[0] == {"A": None, "C": 50, "D": 60}
    # the visible counts never let a single hidden unit be worked out from the total
    shown, _ = suppress_counts({"A": 1, "B": 7, "C": 7, "D": 9}, 3)
    assert shown == {"A": None, "B": None, "C": 7, "D": 9}  # smallest visible, ties broken by id
    with pytest.raises(RelcoordError):
        suppress_counts({"A": 1}, 2)


def test_summary_for_readers_blanks_small_counts_and_keeps_totals():
    s = {
        "records_in": 60,
        "valid": 58,
        "respondents_per_unit": {"A": 2, "B": 26, "C": 30},
        "dropped_columns": ["anne@kommune.dk"],
    }
    out = summary_for_readers(s, 5)
    assert out["respondents_per_unit"] == {"A": None, "B": None, "C": 30}
    assert out["respondents_per_unit_hidden"] == {"A": "primary", "B": "secondary"}
    assert out["valid"] == 58 and out["dropped_columns_count"] == 1 and out["min_group_size"] == 5
    assert "dropped_columns" not in out and "anne@" not in str(out)  # counted, never named
    assert s["respondents_per_unit"]["A"] == 2  # input untouched
    assert summary_for_readers(out, 5) == out  # idempotent, reasons kept
    assert json.loads(json.dumps(out))["respondents_per_unit"]["A"] is None


def test_secondary_suppress_units_per_part_and_kind():
    u = pd.DataFrame(
        {
            "unit_id": ["A", "B", "C", "N1", "N2"],
            "kind": ["base"] * 3 + ["network"] * 2,
            "between_n": [3, 20, 9, 12, 15],
            "between_suppressed": False,
            "received_n": [40, 41, 42, 30, 31],
            "received_suppressed": False,
        }
    )
    out = secondary_suppress_units(u, 5)
    assert out["between_suppressed"].tolist() == [True, False, True, False, False]  # C: smallest visible base
    assert not out["received_suppressed"].any()
    u.loc[3, "between_n"] = 2  # a small network too
    out = secondary_suppress_units(u, 5)
    assert out["between_suppressed"].tolist() == [True, False, True, True, True]


def _lonely_units(internal_units: pd.DataFrame, rf_units: pd.DataFrame, part: str) -> bool:
    for _kind, g in internal_units.groupby("kind"):
        r = rf_units.loc[g.index]
        hidden = r[f"{part}_rc"].isna() | r[f"{part}_suppressed"].astype(bool)
        informative = hidden & ~(pd.to_numeric(g[f"{part}_n"], errors="coerce") < 1)
        if informative.sum() == 1 and (~hidden).any():
            return True
    return False


@SETTINGS
@given(rounds, st.sampled_from([3, 5]))
def test_unit_cells_and_agreement_leave_no_lonely_hidden_cell(data, k):
    from relcoord.reliability import agreement_table

    responses, resp, units = data
    internal = score_round(responses, resp, units, INST, scoring(), k=k, seed=0)
    groups = internal["rater_groups"].drop(columns="rater_unit").rename(columns={"rater_group": "rater_unit"})
    internal["agreement"] = agreement_table(groups, INST)
    rf = reader_facing(internal, k, audit=False)  # the set rules alone (audit: tests/test_disclosure.py)
    for part in ("between", "received"):
        assert not _lonely_units(internal["units"], rf["units"], part), part
        shown = rf["units"][f"{part}_n"].notna()
        assert (rf["units"].loc[shown, f"{part}_n"] >= k).all()
    # agreement shows nothing for a tie ties.csv hides
    hid = set(zip(*rf["ties"].loc[rf["ties"]["suppressed"], ["rater_unit", "target_unit"]].to_numpy().T))
    a = rf["agreement"]
    for r, t, n, rwg in a[["rater_unit", "target_unit", "n", "rwg_j"]].itertuples(index=False):
        if (r, t) in hid:
            assert pd.isna(n) and pd.isna(rwg)
        elif pd.notna(rwg):
            assert n >= k


def test_check_background_refuses_contact_data():
    df = pd.DataFrame(
        {
            "b_1": ["1", "2", "3", ""],
            "email": ["a@b.example", "c.d@kommune.dk", "", "e@f.example"],
            "ip": ["10.0.0.1", "192.168.1.20", "2001:db8::1", ""],
            "tel": ["+45 12 34 56 78", "12 34 56 78", "", "+4587654321"],
            "id_like": ["12345678", "23456789", "", ""],
            "codes": ["4", "2024-03-01", "1,000", "A1"],
        }
    )
    check_background(df, ["b_1", "codes", "not_there"])
    # 8 digits read as a Danish phone number: a background field is categorical, not an id
    for col, what in (("email", "e-mail"), ("ip", "IP"), ("tel", "phone"), ("id_like", "phone")):
        with pytest.raises(RelcoordError, match=what) as err:
            check_background(df, ["b_1", col], "config/codebooks/x.yaml")
        assert err.value.column == col and "background" in str(err.value) and "x.yaml" in str(err.value)


def test_count_complement_is_the_unit_whose_count_is_least_exposed():
    """A lone small unit's partner in summary.json: the unit whose own ties expose its count least (a tie about
    a target every member rated has the unit's count as n), not simply the smallest."""
    from relcoord.privacy import count_exposure

    resp = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(33)],
                         "rater_unit": ["S"] * 3 + ["P"] * 10 + ["D"] * 20})
    # everyone rates targets X and Y, except one D respondent who skipped Y
    defined = pd.DataFrame([(r, t) for r in resp["respondent_id"] for t in ("X", "Y") if not (r == "r13" and t == "Y")],
                           columns=["respondent_id", "target_unit"])
    exp = count_exposure(resp, defined)
    assert exp == {"D": 2.0 + 1 * 21.0, "P": 2.0 + 2 * 11.0, "S": 2.0 + 2 * 4.0}
    counts = {"S": 3, "P": 10, "D": 20}
    assert suppress_counts(counts, 5, exp) == ({"S": None, "P": 10, "D": None}, {"S": "primary", "D": "secondary"})
    assert suppress_counts(counts, 5)[0] == {"S": None, "P": None, "D": 20}        # without exposure: the smallest
    shown, _ = suppress_counts(counts, 5, exp)
    assert suppress_counts(shown, 5, exp)[0] == shown                                # idempotent
