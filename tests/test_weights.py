"""Tests for relcoord.weights: the staff register, response rates, post-stratification weights
(R survey's numbers from tests/fixtures/r_weights.json, written by tests/r/weights.R), Kish's n_eff,
the privacy rules (collapse of small or hidden units, hidden rates) and "who answered" in the reports."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from relcoord import report as R
from relcoord.disclosure import in_row_space
from relcoord.errors import RelcoordError
from relcoord.privacy import suppress_counts
from relcoord.registry import load_units
from relcoord.simulate import LOW_RESPONSE_UNIT, staff_register
from relcoord.stages import weighted_figures
from relcoord.validation_report import validation_report_html
from relcoord.weights import (POOLED, RATE_COLUMNS, WEIGHTED_COLUMNS, kish_n_eff, load_staff, register_problems,
                              response_rates, round_response, staff_in_round, strata, stratified_mean)
from test_figures import K, demo_round, instrument, study, summary_for
from test_report import PROVENANCE, round_kw

FIXTURE = Path(__file__).parent / "fixtures" / "r_weights.json"
ORDER = ["2024", "2025"]
UNITS_TSV = ("unit_id\tname\tkind\tvalid_from\tvalid_to\n"
             "A\tAlfa\tbase\t\t\nB\tBeta\tbase\t\t\nC\tGamma\tbase\t2025\t\nN\tNet\tnetwork\t\t\n")


@pytest.fixture
def register(tmp_path):
    (tmp_path / "units.tsv").write_text(UNITS_TSV, encoding="utf-8")
    units = load_units(tmp_path / "units.tsv", ORDER)

    def write(text: str) -> Path:
        p = tmp_path / "staff.tsv"
        p.write_text(text, encoding="utf-8")
        return p

    return units, write


# --------------------------------------------------------------------------- the register


def test_a_good_register_loads(register):
    units, write = register
    st_ = load_staff(write("unit_id\tround\tstaff\nA\t2024\t30\nB\t2024\t0\nC\t2025\t12\n"), units, ORDER)
    assert st_[["unit_id", "round", "staff"]].values.tolist() == [["A", "2024", 30], ["B", "2024", 0],
                                                                  ["C", "2025", 12]]
    assert staff_in_round(st_, "2025") == {"C": 12} and staff_in_round(st_, "2026") == {}


@pytest.mark.parametrize("body, row, column, words", [
    ("A\t2024\tthirty\n", 2, "staff", "not a whole number"),
    ("A\t2024\t-3\n", 2, "staff", "not a whole number"),
    ("A\t2024\t2.5\n", 2, "staff", "not a whole number"),
    ("A\t2024\t3\nX\t2024\t3\n", 3, "unit_id", "not a unit_id"),
    ("N\t2024\t9\n", 2, "unit_id", "networks have no staff"),
    ("A\t2023\t9\n", 2, "round", "not a configured round"),
    ("A\t2024\t9\nB\t2024\t9\nA\t2024\t8\n", 4, "unit_id", "given twice (rows 2 and 4)"),
    ("C\t2024\t9\n", 2, "unit_id", "does not exist in round"),
])
def test_register_problems_name_file_row_and_column(register, body, row, column, words):
    units, write = register
    path = write("unit_id\tround\tstaff\n" + body)
    with pytest.raises(RelcoordError) as e:
        load_staff(path, units, ORDER)
    err = e.value
    assert err.file == str(path) and err.row == row and err.column == column
    text = str(err)
    assert str(path) in text and f"row {row}" in text and f"column '{column}'" in text and words in text
    assert "What to do" in text


def test_register_missing_or_extra_column_stops(register):
    units, write = register
    with pytest.raises(RelcoordError) as e:
        load_staff(write("unit_id\tround\nA\t2024\n"), units, ORDER)
    assert e.value.column == "staff" and "staff" in str(e.value)
    with pytest.raises(RelcoordError) as e:
        load_staff(write("unit_id\tround\tstaff\tnote\nA\t2024\t3\tx\n"), units, ORDER)
    assert e.value.column == "note"


def test_register_problems_are_warning_rows_without_counts():
    f = register_problems({"A": 10, "B": 3}, {"A": 4, "B": 7, "C": 2}, {"A": 2, "B": 3}, staff_file="config/staff.tsv",
                          units_file="config/units.tsv", unit_rows={"A": 2, "B": 3, "C": 4}, round_id="2024")
    assert sorted(f["rule"]) == ["respondents_exceed_staff", "staff_missing"]
    assert set(f["action"]) == {"warned"}
    miss = f[f["rule"] == "staff_missing"].iloc[0]
    assert (miss["source_file"], miss["source_row"], miss["column"], miss["value"]) == ("config/units.tsv", 4,
                                                                                        "unit_id", "C")
    over = f[f["rule"] == "respondents_exceed_staff"].iloc[0]
    assert (over["source_file"], over["source_row"], over["column"]) == ("config/staff.tsv", 3, "staff")
    assert "7" not in " ".join(f["message"])          # no respondent count (it may be hidden)
    assert register_problems({}, {"A": 4}, {}, staff_file="s", units_file="u", unit_rows={}, round_id="r").empty


# --------------------------------------------------------------------------- response rates


def test_response_rates_hide_what_the_counts_hide():
    counts = {"A": 40, "B": 10, "C": 3, "D": 20}
    staff = {"A": 50, "B": 50, "C": 6, "D": 25}
    table, org = response_rates(counts, staff, {"C": "primary", "D": "secondary"}, ["A", "B", "C", "D"],
                                low_response_ratio=0.5)
    assert list(table.columns) == RATE_COLUMNS
    assert org == {"respondents": 73, "staff": 131, "response_rate": round(73 / 131, 6)}
    t = table.set_index("unit_id")
    assert t.loc["A", "response_rate"] == 0.8 and not t.loc["A", "low_response"]
    assert t.loc["B", "response_rate"] == 0.2 and t.loc["B", "low_response"]      # 0.2 < 0.5 * 0.557
    for u in ("C", "D"):
        assert pd.isna(t.loc[u, "respondents"]) and pd.isna(t.loc[u, "response_rate"])
        assert pd.isna(t.loc[u, "low_response"]) and t.loc[u, "staff"] == staff[u]
    assert t.loc["C", "hidden"] == "primary" and t.loc["D", "hidden"] == "secondary"


def test_no_organisation_rate_when_a_unit_with_respondents_lacks_staff():
    table, org = response_rates({"A": 40, "B": 3}, {"A": 50}, {"B": "primary"}, ["A", "B"], low_response_ratio=0.5)
    assert org is None                   # else 40 / 50 and the published total would give B's hidden count
    assert table.set_index("unit_id").loc["B", "note"] == "staff_missing"


def test_round_response_status_and_summary(tmp_path):
    (tmp_path / "units.tsv").write_text(UNITS_TSV, encoding="utf-8")
    units = load_units(tmp_path / "units.tsv", ORDER)
    people = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(14)], "rater_unit": ["A"] * 8 + ["B"] * 6})
    summary = {"failures_by_rule": {"unknown_unit": 1}, "respondents_per_unit_hidden": {}}

    def staff(text):
        p = tmp_path / "staff.tsv"
        p.write_text("unit_id\tround\tstaff\n" + text, encoding="utf-8")
        return load_staff(p, units, ORDER)

    kw = {"round_id": "2024", "round_order": ORDER, "low_response_ratio": 0.5, "staff_file": "s", "units_file": "u"}
    s, f, rates = round_response(summary, people, staff("A\t2024\t10\nB\t2024\t100\n"), units, **kw)
    assert s["response_rates"]["status"] == "ok" and s["response_rates"]["weighted"] and f.empty
    assert [u["low_response"] for u in s["response_rates"]["units"]] == [False, True]
    s, f, _ = round_response(summary, people, staff("A\t2025\t10\n"), units, **kw)
    assert s["response_rates"]["status"] == "no_register" and not s["response_rates"]["weighted"] and f.empty
    s, f, _ = round_response(summary, people, staff("A\t2024\t10\n"), units, **kw)
    assert s["response_rates"]["status"] == "staff_missing" and not s["response_rates"]["weighted"]
    assert s["failures_by_rule"] == {"staff_missing": 1, "unknown_unit": 1}
    s, f, _ = round_response(summary, people, staff("A\t2024\t7\nB\t2024\t30\n"), units, **kw)
    assert s["response_rates"]["status"] == "respondents_exceed_staff"


# --------------------------------------------------------------------------- weights and variance


def test_kish_effective_n_by_hand():
    assert kish_n_eff([1, 1, 1, 1]) == 4
    assert kish_n_eff([1, 1, 2, 4]) == pytest.approx(64 / 22)
    assert kish_n_eff([5.0] * 10) == pytest.approx(10)
    assert np.isnan(kish_n_eff([]))


def _fixture():
    d = json.loads(FIXTURE.read_text(encoding="utf-8"))
    r = pd.DataFrame(d["respondents"])
    w = (r["N"] / r["unit"].map(r["unit"].value_counts())).to_numpy()
    return d, r, w


@pytest.mark.parametrize("column, key", [("y", "full"), ("y_na", "domain")])
def test_respondent_level_mean_equals_r_survey(column, key):
    d, r, w = _fixture()
    y = r[column].astype(float)
    est = stratified_mean(y.fillna(0).to_numpy(), y.notna().astype(float).to_numpy(), r["unit"].to_numpy(), w,
                          r["N"].to_numpy())
    ref = d["results"][key]
    for name in ("mean", "se", "ci_low", "ci_high"):
        assert est[name] == pytest.approx(ref[name], abs=1e-10), name
    assert est["df"] == ref["df"]


def test_block_ratio_mean_with_respondent_clusters_equals_r_survey():
    d, r, w = _fixture()
    t = pd.DataFrame(d["ties"])
    t = t[t["in_block"]]
    y = t.groupby("respondent")["value"].sum().reindex(r["respondent"]).fillna(0).to_numpy()
    x = t.groupby("respondent").size().reindex(r["respondent"]).fillna(0).to_numpy(dtype=float)
    est = stratified_mean(y, x, r["unit"].to_numpy(), w, r["N"].to_numpy())
    ref = d["results"]["block"]
    for name in ("mean", "se", "ci_low", "ci_high"):
        assert est[name] == pytest.approx(ref[name], abs=1e-10), name
    assert est["df"] == ref["df"]
    assert est["mean_unweighted"] == pytest.approx(t["value"].mean())


def test_stratified_variance_is_cochrans_formula():
    """One row per respondent: Var = sum_h W_h^2 (1 - n_h/N_h) s_h^2 / n_h (Cochran 1977, 5A)."""
    d, r, w = _fixture()
    est = stratified_mean(r["y"].to_numpy(), np.ones(len(r)), r["unit"].to_numpy(), w, r["N"].to_numpy())
    g = r.groupby("unit")
    nh, big = g.size(), g["N"].first()
    var = ((big / big.sum()) ** 2 * (1 - nh / big) * g["y"].var(ddof=1) / nh).sum()
    assert est["se"] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert est["mean"] == pytest.approx(((big / big.sum()) * g["y"].mean()).sum())


def test_equal_rates_give_the_unweighted_figures():
    st_, internal, public = demo_round()
    people = st_.rounds["2024"][1]
    staff = {u: 3 * int(n) for u, n in people["rater_unit"].value_counts().items()}
    table, info = weighted_figures(internal, public, people, staff, instrument(), k=K,
                                   summary={"respondents_per_unit_hidden": {}})
    assert list(table.columns) == WEIGHTED_COLUMNS
    org = table[table["level"] == "organisation"].set_index("measure")
    pub = public["organisation"].set_index("measure")
    assert org["mean_unweighted"].to_numpy() == pytest.approx(pub.loc[org.index, "mean"].to_numpy(), abs=1e-12)
    assert org["mean_weighted"].to_numpy() == pytest.approx(org["mean_unweighted"].to_numpy(), abs=1e-12)
    assert (org["n"].to_numpy() == pub.loc[org.index, "n"].to_numpy()).all()
    assert org.loc["rc", "n_eff"] == pytest.approx(org.loc["rc", "n"])
    blocks = table[(table["level"] == "block") & ~table["suppressed"] & (table["measure"] == "rc")]
    pb = public["blocks"].set_index("block")
    for _, b in blocks.iterrows():
        assert b["mean_unweighted"] == pytest.approx(pb.loc[b["block"], "rc_mean"], abs=1e-12)
        assert b["mean_weighted"] == pytest.approx(b["mean_unweighted"], abs=1e-12)


def test_weighted_figures_are_hidden_wherever_the_unweighted_are():
    st_, internal, public = demo_round()
    people = st_.rounds["2024"][1]
    counts = people["rater_unit"].value_counts()
    staff = {u: int(n) * (4 if i % 2 else 1) + 2 for i, (u, n) in enumerate(counts.items())}
    table, info = weighted_figures(internal, public, people, staff, instrument(), k=K,
                                   summary={"respondents_per_unit_hidden": {}})
    hidden_blocks = set(public["blocks"].loc[public["blocks"]["suppressed"], "block"])
    b = table[table["level"] == "block"]
    assert b.loc[b["block"].isin(hidden_blocks), "suppressed"].all()
    assert b.loc[b["rater_kind"] == "network", "suppression"].eq("network_raters").all()
    shown = table[~table["suppressed"]]
    assert (shown["n"] >= K).all() and shown["mean_weighted"].notna().all()
    assert table.loc[table["suppressed"], ["mean_weighted", "mean_unweighted", "n", "sum_weights"]].isna().all().all()
    # a unit with a hidden tie of its own never has a weight of its own
    t = public["ties"]
    with_hidden = set(t.loc[(t["rater_kind"] == "base") & t["suppressed"], "rater_unit"])
    assert with_hidden <= set(info["pooled_units"])


# --------------------------------------------------------------------------- strata: the privacy rule


def test_strata_pool_small_and_hidden_units():
    counts = {"A": 40, "B": 2, "C": 12, "D": 7, "E": 30}
    staff = {u: 2 * n + 1 for u, n in counts.items()}
    s = strata(counts, staff, 5, pooled={"D"})
    assert s["B"] == s["D"] == POOLED and s["A"] == "A" and s["E"] == "E" and s["C"] == "C"
    # the remainder (2 + 7 = 9) is large enough: nothing merged
    s = strata({"A": 40, "B": 2, "C": 12}, {"A": 50, "B": 4, "C": 20}, 5)
    assert s == {"A": "A", "B": POOLED, "C": POOLED}          # 2 < 5: the smallest other (C) merged
    s = strata({"A": 40, "B": 0}, {"A": 50, "B": 9}, 5)
    assert s == {"A": POOLED, "B": POOLED}                    # B's staff have no respondent: one stratum


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=9),
       st.integers(min_value=3, max_value=6), st.data())
def test_no_small_or_hidden_unit_gets_its_own_weight(sizes, k, data):
    units = [f"U{i}" for i in range(len(sizes))]
    counts = dict(zip(units, sizes))
    extra = data.draw(st.lists(st.integers(min_value=0, max_value=30), min_size=len(units), max_size=len(units)))
    staff = {u: n + e for (u, n), e in zip(counts.items(), extra)}
    exposure = dict(zip(units, data.draw(st.lists(st.floats(0, 100), min_size=len(units), max_size=len(units)))))
    shown, hidden = suppress_counts(counts, k, exposure)      # the complement as validation chooses it
    s = strata(counts, staff, k, pooled=hidden)
    for u, n in counts.items():
        if n < k or u in hidden:
            assert s[u] == POOLED, (u, n)
    pooled_n = sum(counts[u] for u, x in s.items() if x == POOLED)
    if any(x == POOLED for x in s.values()) and sum(counts.values()) >= k:
        assert pooled_n >= k or pooled_n == 0 and not any(staff[u] for u, x in s.items() if x == POOLED)
    for x in set(s.values()) - {POOLED}:
        assert sum(counts[u] for u, y in s.items() if y == x) >= k
    # what the weighted and unweighted organisation figures add to the published per-unit tables: with
    # every visible unit's own total assumed known (attacker-favouring), no hidden unit's total follows
    informative = [u for u in units if counts[u] > 0]
    hidden_inf = [u for u in informative if u in hidden]
    if len(hidden_inf) >= 2 and any(s[u] == POOLED for u in informative):
        strata_n = {x: sum(counts[u] for u, y in s.items() if y == x) for x in set(s.values())}
        strata_N = {x: sum(staff[u] for u, y in s.items() if y == x) for x in set(s.values())}
        w = {u: strata_N[s[u]] / strata_n[s[u]] for u in informative if strata_n[s[u]]}
        scale = int(np.prod([strata_n[x] for x in strata_n if strata_n[x]]))
        rows = [{u: 1 for u in informative},                                        # unweighted total
                {u: round(w[u] * scale) for u in informative if u in w}]           # weighted total (integer)
        rows += [{u: 1} for u in informative if u not in hidden]                    # every visible unit
        for u in hidden_inf:
            assert not in_row_space({u: 1}, rows), (u, counts, staff, s)


# --------------------------------------------------------------------------- simulate


def test_simulated_staff_register_is_plausible_and_leaves_the_study_alone():
    st_ = study()
    before = {r: (a.copy(), b.copy()) for r, (a, b) in st_.rounds.items()}
    reg = staff_register(st_, 2024)
    assert reg.equals(staff_register(st_, 2024))
    for r, (_, people) in st_.rounds.items():
        counts = people["rater_unit"].value_counts()
        s = reg[reg["round"] == r].set_index("unit_id")["staff"]
        assert set(s.index) == set(st_.units.loc[st_.units["kind"] == "base", "unit_id"])
        assert all(s[u] >= counts.get(u, 0) for u in s.index)
        if LOW_RESPONSE_UNIT in s.index:
            assert counts[LOW_RESPONSE_UNIT] / s[LOW_RESPONSE_UNIT] <= 0.31
    for r, (a, b) in st_.rounds.items():
        assert a.equals(before[r][0]) and b.equals(before[r][1])


def test_demo_staff_register_covers_every_round_and_base_unit():
    units = pd.read_csv(ROOT / "config/units.tsv", sep="\t", dtype=str, keep_default_na=False)
    reg = load_staff(ROOT / "config/staff.tsv", units, ["2024", "2025", "2026"])
    base = set(units.loc[units["kind"] == "base", "unit_id"])
    for r in ("2024", "2025", "2026"):
        assert set(staff_in_round(reg, r)) == base


# --------------------------------------------------------------------------- reports


def _with_rates(summary: dict, people: pd.DataFrame, low: str) -> dict:
    counts = people["rater_unit"].value_counts()
    staff = {u: int(n * (4 if u == low else 1.3)) + 1 for u, n in counts.items()}
    hidden = summary.get("respondents_per_unit_hidden") or {}
    base = sorted(counts.index)
    table, org = response_rates(counts.to_dict(), staff, hidden, base, low_response_ratio=0.5)
    units = [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in r.items()}
             for r in table.to_dict("records")]
    return {**summary, "response_rates": {"status": "ok", "weighted": True, "low_response_ratio": 0.5,
                                          "organisation": org, "units": units}}, staff


@pytest.mark.parametrize("lang", ["da", "en"])
def test_reports_without_a_staff_register_are_unchanged(lang):
    st_, internal, public = demo_round()
    summary = summary_for(st_, "2024")
    base = R.round_report("2024", "Baseline 2024", public, summary, None, st_.units, instrument(), PROVENANCE,
                          **round_kw(lang))
    with_none = R.round_report("2024", "Baseline 2024", public, summary, None, st_.units, instrument(), PROVENANCE,
                               **round_kw(lang), weighted=None)
    assert base == with_none and 'id="who"' not in base
    t = R.TEXT[lang]
    assert t["who_h"] not in base
    failures = pd.DataFrame(columns=["source_file", "source_row", "column", "value", "rule", "message", "action"])
    v = validation_report_html({**summary, "missing_units": []}, failures, "Baseline 2024", lang)
    assert R.VTEXT[lang]["rates_h"] not in v


@pytest.mark.parametrize("lang", ["da", "en"])
def test_who_answered_in_the_round_and_validation_reports(lang):
    from relcoord.privacy import summary_for_readers

    st_, internal, public = demo_round()
    people = st_.rounds["2024"][1]
    summary = summary_for_readers(summary_for(st_, "2024"), K)
    low = people["rater_unit"].value_counts().index[0]           # the largest unit, visible
    summary, staff = _with_rates(summary, people, low)
    weighted, _ = weighted_figures(internal, public, people, staff, instrument(), k=K, summary=summary)
    html = R.round_report("2024", "Baseline 2024", public, summary, None, st_.units, instrument(), PROVENANCE,
                          **round_kw(lang), weighted=weighted)
    t, vt = R.TEXT[lang], R.VTEXT[lang]
    html = unescape(html)
    assert 'id="who"' in html and t["who_h"] in html and t["who_weighted_h"] in html
    assert html.index('id="who"') < html.index('id="units"')     # with the response overview, before the tables
    assert t["who_low"] in html                                    # the flag in words
    hidden = summary["respondents_per_unit_hidden"]
    assert hidden and t["who_hidden"] in html
    org = summary["response_rates"]["organisation"]
    assert R.Fmt(lang, K).pct(org["response_rate"]) in html
    rc = weighted[(weighted["level"] == "organisation") & (weighted["measure"] == "rc")].iloc[0]
    assert R.Fmt(lang, K).num(rc["mean_weighted"]) in html
    failures = pd.DataFrame(columns=["source_file", "source_row", "column", "value", "rule", "message", "action"])
    v = unescape(validation_report_html({**summary, "missing_units": []}, failures, "Baseline 2024", lang))
    assert vt["rates_h"] in v and vt["rates_low"] in v and vt["rates_hidden"] in v


@pytest.mark.parametrize("lang", ["da", "en"])
def test_report_says_why_a_round_has_no_rates_or_weights(lang):
    st_, internal, public = demo_round()
    summary = summary_for(st_, "2024")
    t = R.TEXT[lang]
    none = {**summary, "response_rates": {"status": "no_register", "weighted": False, "low_response_ratio": 0.5,
                                          "organisation": None, "units": []}}
    html = R.round_report("2024", "Baseline 2024", public, none, None, st_.units, instrument(), PROVENANCE,
                          **round_kw(lang), weighted=None)
    assert t["who_no_register"] in html
    miss = {**summary, "response_rates": {"status": "staff_missing", "weighted": False, "low_response_ratio": 0.5,
                                          "organisation": None, "units": []}}
    html = R.round_report("2024", "Baseline 2024", public, miss, None, st_.units, instrument(), PROVENANCE,
                          **round_kw(lang), weighted=None)
    html = unescape(html)
    assert t["who_why_staff_missing"] in html and t["who_org_rate_na"] in html
