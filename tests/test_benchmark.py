"""relcoord.benchmark: percentiles (Hyndman & Fan type 7, against a hand computation and R), the
pool's suppression, what an organisation can and cannot learn from pool.csv and its own position
file, hidden figures kept out, the sentences."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from relcoord.benchmark import (FIGURE_COLUMNS, POOL_COLUMNS, POSITION_COLUMNS, QUANTILES, benchmark_page_html,
                                benchmark_section, check_min_organisations, percentile_rank, percentiles_type7, pool,
                                positions, published_figures, round_periods)
from relcoord.errors import RelcoordError
import relcoord.benchmark as B
from conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
PROBS = [p for _, p in QUANTILES]
PCOLS = [c for c, _ in QUANTILES]


def hand_type7(values, p):
    """Hyndman & Fan (1996) definition 7 by hand: sort, h = (n - 1) p, interpolate between the
    floor(h)+1-th and floor(h)+2-th smallest values (1-based)."""
    xs = sorted(float(v) for v in values)
    n = len(xs)
    h = (n - 1) * p
    lo = math.floor(h)
    if lo + 1 >= n:
        return xs[-1]
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def figures_frame(consortium: dict) -> pd.DataFrame:
    """{org: {(level, block, unit_id, measure): value}} -> the figures table pool() takes (period 2025)."""
    rows = [{"organisation": org, "period": "2025", "level": lv, "block": b, "unit_id": u, "measure": m, "value": v}
            for org, figs in consortium.items() for (lv, b, u, m), v in figs.items()]
    return pd.DataFrame(rows, columns=["organisation", "period", *FIGURE_COLUMNS])


# --------------------------------------------------------------------------- percentiles


@given(st.lists(st.floats(1, 5, allow_nan=False), min_size=1, max_size=60))
def test_percentiles_equal_a_hand_computation_of_type_7(xs):
    got = percentiles_type7(xs)
    for g, p in zip(got, PROBS):
        assert g == pytest.approx(hand_type7(xs, p), abs=1e-12)


def test_percentiles_equal_r_quantile_type_7():
    data = json.loads((FIXTURES / "r_quantile_type7.json").read_text())
    for name in ("a", "b", "c", "d"):
        np.testing.assert_allclose(percentiles_type7(data[name]["x"]), data[name]["q"], rtol=0, atol=1e-12)


def test_pool_percentiles_are_over_organisations_and_units():
    cons = {f"o{i}": {("organisation", "", "", "rc"): v} for i, v in enumerate([3.2, 3.9, 3.5, 4.1, 3.7, 3.3])}
    units = {f"o{i}": {("unit_within", "base", f"U{j}", "rc"): 3 + 0.1 * i + 0.01 * j for j in range(i + 1)}
             for i in range(6)}
    for org in cons:
        cons[org].update(units[org])
    p = pool(figures_frame(cons), 5)
    assert list(p.columns) == POOL_COLUMNS
    org = p[p["level"] == "organisation"].iloc[0]
    assert org["n_organisations"] == 6 and pd.isna(org["n_units"]) and not org["suppressed"]
    assert [org[c] for c in PCOLS] == pytest.approx([hand_type7([3.2, 3.9, 3.5, 4.1, 3.7, 3.3], q) for q in PROBS])
    unit = p[p["level"] == "unit_within"].iloc[0]
    allu = [v for u in units.values() for v in u.values()]
    assert unit["n_units"] == 21 and unit["n_organisations"] == 6
    assert [unit[c] for c in PCOLS] == pytest.approx([hand_type7(allu, q) for q in PROBS])


def test_percentile_rank_counts_ties_half():
    assert percentile_rank(3.5, [3.0, 3.5, 4.0, 4.5]) == pytest.approx(100 * (1 + 0.5) / 4)
    assert percentile_rank(5.0, [1.0, 2.0]) == 100.0
    assert percentile_rank(1.0, [1.0, 1.0]) == 50.0


# --------------------------------------------------------------------------- suppression


def test_fewer_than_min_organisations_are_suppressed():
    four = {f"o{i}": {("organisation", "", "", "rc"): 3.0 + 0.1 * i} for i in range(4)}
    p = pool(figures_frame(four), 5)
    assert p["suppressed"].all() and p[PCOLS].isna().all().all() and (p["n_organisations"] == 4).all()
    five = {**four, "o4": {("organisation", "", "", "rc"): 3.9}}
    assert not pool(figures_frame(five), 5)["suppressed"].any()
    assert pool(figures_frame(four), 3)["suppressed"].sum() == 0


def test_unit_rows_need_units_from_min_organisations():
    # 40 units, but from only four organisations
    cons = {f"o{i}": {("unit_between", "base", f"U{j}", "rc"): 3 + 0.05 * j + 0.01 * i for j in range(10)}
            for i in range(4)}
    p = pool(figures_frame(cons), 5)
    assert p["suppressed"].all() and int(p["n_units"].iloc[0]) == 40


def test_min_organisations_below_three_is_refused():
    for bad in (2, 1, 0, 2.5, True, "5"):
        with pytest.raises(RelcoordError):
            check_min_organisations(bad)
    assert check_min_organisations(3) == 3


def test_all_but_one_sharing_a_figure_is_suppressed():
    """Five organisations, four at 3.80: the fifth would learn that every other one has 3.80."""
    cons = {f"o{i}": {("organisation", "", "", "rc"): 3.8} for i in range(4)}
    cons["o4"] = {("organisation", "", "", "rc"): 3.1}
    assert pool(figures_frame(cons), 5)["suppressed"].all()
    cons["o3"] = {("organisation", "", "", "rc"): 3.5}        # three at 3.80: o4 cannot tell which three
    assert not pool(figures_frame(cons), 5)["suppressed"].any()


def test_pool_names_no_organisation_and_no_mean_min_or_max(tmp_path):
    cons = {f"municipality-{i}": {("organisation", "", "", "rc"): 3.0 + 0.13 * i,
                                   ("block", "within_base", "", "rc"): 3.5 + 0.07 * i} for i in range(7)}
    p = pool(figures_frame(cons), 5)
    text = p.to_csv(index=False)
    assert "municipality" not in text
    assert not {"mean", "min", "max", "sum", "sd", "n_respondents"} & set(p.columns)
    for c in PCOLS:   # no published percentile equals the minimum or the maximum of the organisations
        vals = [v for f in cons.values() for v in f.values()]
        assert not (p[c] == min(vals)).any()


# --------------------------------------------------------------------------- hidden figures stay out


def _org_tables(hidden_block_value: float, hidden_unit_value: float) -> dict[str, pd.DataFrame]:
    organisation = pd.DataFrame({"measure": ["rc", "communication", "relationship", "frequent"],
                                 "mean": [3.6, 3.5, 3.7, 3.3], "n": [120, 120, 120, 120],
                                 "suppressed": [False] * 4})
    blocks = pd.DataFrame({"block": ["within_base", "base_to_base", "base_to_network"],
                           "rc_mean": [4.1, hidden_block_value, 3.2], "communication": [4.0, 3.0, 3.1],
                           "relationship": [4.2, 3.1, 3.3], "n_respondents": [110, 110, 3],
                           "suppressed": [False, True, False]})
    units = pd.DataFrame({"unit_id": ["A", "B", "N1"], "kind": ["base", "base", "network"],
                          "within_rc": [4.0, hidden_unit_value, 3.9], "within_n": [30, 4, 12],
                          "between_rc": [3.4, 3.3, np.nan], "between_n": [31, 40, np.nan],
                          "received_rc": [3.5, 3.6, 3.7], "received_n": [50, 60, 70],
                          "within_suppressed": [False, False, False], "between_suppressed": [False, True, True],
                          "received_suppressed": [False, False, False]})
    return {"organisation": organisation, "blocks": blocks, "units": units}


def test_published_figures_keep_only_what_the_report_shows():
    f = published_figures(_org_tables(3.0, 2.0), 5)
    assert list(f.columns) == FIGURE_COLUMNS
    got = set(map(tuple, f[["level", "block", "unit_id", "measure"]].to_numpy()))
    assert ("organisation", "", "", "frequent") not in got                     # items are not pooled
    assert ("block", "base_to_base", "", "rc") not in got                      # flagged suppressed
    assert ("block", "base_to_network", "", "rc") not in got                   # n below k
    assert ("unit_within", "base", "B", "rc") not in got                       # n 4 < 5 though not flagged
    assert ("unit_between", "base", "B", "rc") not in got                      # flagged
    assert ("unit_between", "base", "A", "rc") in got and ("unit_within", "network", "N1", "rc") in got
    assert ("block", "within_base", "", "communication") in got


@given(st.floats(1, 5), st.floats(1, 5))
@settings(max_examples=25, deadline=None)
def test_hidden_figures_never_enter_the_pool(block_value, unit_value):
    def consortium(bv, uv):
        parts = [published_figures(_org_tables(bv, uv), 5).assign(organisation="o0", period="2025")]
        for i in range(1, 6):
            t = _org_tables(3.0, 3.0)
            t["organisation"]["mean"] += 0.05 * i
            t["units"]["within_rc"] += 0.03 * i
            parts.append(published_figures(t, 5).assign(organisation=f"o{i}", period="2025"))
        return pd.concat(parts, ignore_index=True)

    pd.testing.assert_frame_equal(pool(consortium(block_value, unit_value), 5), pool(consortium(3.0, 2.0), 5))


# --------------------------------------------------------------------------- what an organisation can learn

KEYS = [("organisation", "", "", "rc"), ("block", "within_base", "", "rc"), ("unit_within", "base", "U1", "rc"),
        ("unit_within", "base", "U2", "rc")]
VALUES = st.sampled_from([3.0, 3.25, 3.5, 3.75, 4.0])   # few values: ties and coincidences are frequent


@st.composite
def consortia(draw):
    n = draw(st.integers(3, 8))
    cons = {}
    for i in range(n):
        figs = {}
        for key in KEYS:
            if draw(st.booleans()) or key[0] == "organisation":
                if draw(st.integers(0, 9)) > 0:        # now and then hidden in the organisation's own report
                    figs[key] = draw(VALUES)
        cons[f"org{i}"] = figs
    return cons, draw(st.integers(3, 5))


def _rename(cons: dict, a: str, b: str) -> dict:
    return {(b if o == a else a if o == b else o): f for o, f in cons.items()}


def _figure(cons: dict, org: str, level: str, block: str, measure: str):
    """An organisation's figure in a pool row: its value, or the sorted values of its units."""
    vals = sorted(v for (lv, bl, _u, m), v in cons[org].items() if (lv, bl, m) == (level, block, measure))
    if not vals:
        return None
    return tuple(vals) if level.startswith("unit_") else vals[0]


@given(consortia())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_other_organisations_figure_can_be_attributed(data):
    """Attacker: organisation ``a`` knowing its own figures, pool.csv and its own position file.
    It *recovers* another organisation b's figure when every consortium consistent with what it sees
    gives b the same figure. For each published row and each other contributor b we exhibit a
    consistent consortium (b and some contributor c exchange all their figures: pool.csv and a's
    position file are identical) in which b's figure in that row differs; and every published row
    has at least min_organisations contributors."""
    cons, m = data
    fig = figures_frame(cons)
    p = pool(fig, m)
    published = p[~p["suppressed"]]
    views = {a: positions(fig, p, a) for a in cons}
    checked: set[tuple[str, str]] = set()
    for r in published.itertuples(index=False):
        contributors = [o for o in cons if _figure(cons, o, r.level, r.block, r.measure) is not None]
        assert r.n_organisations == len(contributors) >= m
        for a in contributors:
            for b in contributors:
                if b == a:
                    continue
                fb = _figure(cons, b, r.level, r.block, r.measure)
                swaps = [c for c in contributors if c not in (a, b)
                         and _figure(cons, c, r.level, r.block, r.measure) != fb]
                assert swaps, f"{a} could attribute {fb} to {b} in {r}"
                c = swaps[0]
                alt = _rename(cons, b, c)
                assert _figure(alt, b, r.level, r.block, r.measure) != fb
                if (min(b, c), max(b, c)) in checked:
                    continue
                checked.add((min(b, c), max(b, c)))
                alt_fig = figures_frame(alt)
                alt_pool = pool(alt_fig, m)
                pd.testing.assert_frame_equal(alt_pool, p)
                for other in cons:                   # every organisation other than b and c sees the same
                    if other not in (b, c):
                        pd.testing.assert_frame_equal(positions(alt_fig, alt_pool, other), views[other])


def test_with_exactly_five_the_pool_gives_the_set_of_figures_but_not_who_holds_which():
    """What is (honestly) left: with min_organisations = n = 5, Q(.25), Q(.5), Q(.75) are three
    organisations' values and Q(.1), Q(.9) give the other two, so the sorted figures are public to
    every member; which organisation holds which is not (every renaming gives the same pool)."""
    values = {"o0": 3.1, "o1": 3.45, "o2": 3.6, "o3": 3.9, "o4": 4.2}
    cons = {o: {("organisation", "", "", "rc"): v} for o, v in values.items()}
    row = pool(figures_frame(cons), 5).iloc[0]
    x2, x3, x4 = row["p25"], row["p50"], row["p75"]
    x1 = (row["p10"] - 0.4 * x2) / 0.6
    x5 = (row["p90"] - 0.4 * x4) / 0.6
    assert [x1, x2, x3, x4, x5] == pytest.approx(sorted(values.values()))
    for a, b in [("o0", "o4"), ("o1", "o2"), ("o3", "o0")]:
        pd.testing.assert_frame_equal(pool(figures_frame(_rename(cons, a, b)), 5), pool(figures_frame(cons), 5))


# --------------------------------------------------------------------------- positions and sentences


def _small_pool():
    vals = [3.1, 3.3, 3.45, 3.5, 3.6, 3.62, 3.7, 3.75, 3.8, 3.85, 3.9, 4.0, 4.1, 4.2]
    cons = {f"o{i:02d}": {("organisation", "", "", "rc"): v, ("block", "within_base", "", "rc"): v + 0.3,
                          ("unit_within", "base", "U1", "rc"): v + 0.1} for i, v in enumerate(vals)}
    fig = figures_frame(cons)
    return fig, pool(fig, 5)


def test_position_file_columns_and_rank():
    fig, p = _small_pool()
    pos = positions(fig, p, "o08")                           # 3.8: 8 of 13 others below
    assert list(pos.columns) == POSITION_COLUMNS
    org = pos[pos["level"] == "organisation"].iloc[0]
    assert org["value"] == 3.8 and org["percentile_rank"] == pytest.approx(100 * 8 / 13)
    assert org["n_organisations"] == 14
    assert set(pos["level"]) == {"organisation", "block", "unit_within"}
    assert pos.loc[pos["level"] == "unit_within", "unit_id"].tolist() == ["U1"]


def test_positions_only_where_the_pool_row_is_published():
    cons = {f"o{i}": {("organisation", "", "", "rc"): 3.0 + 0.1 * i} for i in range(4)}
    fig = figures_frame(cons)
    assert positions(fig, pool(fig, 5), "o1").empty


def test_benchmark_section_sentences_da_en():
    fig, p = _small_pool()
    pos = positions(fig, p, "o08")
    da = benchmark_section(pos, "da", pool_table=p)
    assert da["sentences"][0] == "Jeres RC-indeks ligger ved 62. percentil blandt 14 organisationer."
    en = benchmark_section(pos, "en", pool_table=p)
    assert en["sentences"][0] == "Your RC index is at the 62nd percentile among 14 organisations."
    assert en["rows"][0]["p50"] == f"{p.loc[0, 'p50']:.2f}"
    assert "Inden for egen basisenhed" in da["sentences"][1]
    html = benchmark_page_html(da, "da", "Kommune <X>")
    assert "Kommune &lt;X&gt;" in html and "62. percentil" in html
    empty = benchmark_section(pos.iloc[0:0], "en")
    assert empty["empty"] and "fewer than 5" in empty["intro"]


@pytest.mark.parametrize("rank,word", [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (12, "12th"), (22, "22nd"),
                                       (62, "62nd"), (100, "100th")])
def test_english_ordinals(rank, word):
    from relcoord.benchmark import _ordinal

    assert _ordinal(rank, "en") == word


def test_round_periods_take_the_later_round_of_a_year():
    rounds = {"spring": "2024-03-01", "autumn": "2024-10-01", "2025": "2025-03-01"}
    assert round_periods(rounds, "year") == {"2024": "autumn", "2025": "2025"}
    assert round_periods(rounds, "round") == {"2025": "2025", "autumn": "autumn", "spring": "spring"}


# --------------------------------------------------------------------------- the organisation's own round report


def _position_file(tmp_path):
    pos = pd.DataFrame([
        {"period": "2024", "level": "organisation", "block": "", "unit_id": "", "measure": "rc", "value": 3.61,
         "percentile_rank": 61.5, "n_organisations": 14},
        {"period": "2024", "level": "block", "block": "network_to_base", "unit_id": "", "measure": "rc",
         "value": 3.7, "percentile_rank": 30.8, "n_organisations": 12},
        {"period": "2024", "level": "unit_within", "block": "base", "unit_id": "HJP", "measure": "rc",
         "value": 4.3, "percentile_rank": 90.0, "n_organisations": 14},
        {"period": "2023", "level": "organisation", "block": "", "unit_id": "", "measure": "rc", "value": 3.2,
         "percentile_rank": 10.0, "n_organisations": 9},
    ], columns=B.POSITION_COLUMNS)
    path = tmp_path / "org001.csv"
    B.write_table(pos, path)
    return path


@pytest.mark.parametrize("lang, sentence", [("da", "Jeres RC-indeks ligger ved 62. percentil blandt 14 organisationer"),
                                            ("en", "Your RC index is at the 62nd percentile among 14 organisations")])
def test_the_round_report_places_the_organisation_in_the_pool(tmp_path, lang, sentence):
    from test_report import PROVENANCE, demo_round, instrument, round_kw, summary_for

    from relcoord.report import round_report

    section = B.benchmark_section(B.read_positions(_position_file(tmp_path)), lang, period="2024")
    st, _, public = demo_round()
    html = round_report("2024", "Baseline 2024", public, summary_for(st, "2024"), None, st.units, instrument(),
                        PROVENANCE, **round_kw(lang), benchmark=section)
    part = html[html.index('<section id="benchmark">'):]
    part = part[:part.index("</section>")]
    assert sentence in part and "2023" not in part            # the round's period only
    assert 'href="#benchmark"' in html                          # in the table of contents
    plain = round_report("2024", "Baseline 2024", public, summary_for(st, "2024"), None, st.units, instrument(),
                         PROVENANCE, **round_kw(lang))
    assert 'id="benchmark"' not in plain


def test_a_study_config_names_its_benchmark_files(tmp_path):
    from relcoord.config import check_round_files, settings_from_config
    from relcoord.schema import read_yaml

    cfg = read_yaml(ROOT / "config" / "config.yaml")
    cfg["benchmark"] = {"positions": str(_position_file(tmp_path)), "period": "year"}
    s = settings_from_config(cfg)
    assert s.benchmark.positions.endswith("org001.csv") and s.benchmark.pool is None
    assert s.benchmark.min_organisations == 5
    check_round_files(s, base=ROOT)
    cfg["benchmark"]["pool"] = str(tmp_path / "gone.csv")
    with pytest.raises(RelcoordError, match="benchmark/pool: .*gone.csv' does not exist"):
        check_round_files(settings_from_config(cfg), base=ROOT)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="not a benchmark position file"):
        B.read_positions(tmp_path / "bad.csv")
