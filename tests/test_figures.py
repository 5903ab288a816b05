"""Tests for relcoord.figures: every figure on demo data, privacy (no text in a
suppressed cell), determinism of saved files, unit colours, legibility with many units.

The demo is built by calling the library (simulate -> score_and_assess ->
reader-facing tables), never from a pre-existing results/ folder. The helpers
at the top are also used by tests/test_report.py.
"""

from __future__ import annotations

import hashlib
import itertools
from functools import cache

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from scipy import stats

from conftest import ROOT
from relcoord import figures as F
from relcoord.instrument import load_instrument
from relcoord.privacy import suppress_counts
from relcoord.simulate import simulate_study
from relcoord.stages import score_and_assess

from conftest import scoring

# the settings these tests use, as explicit values (the schema's defaults for scoring)
K = 5
SEED = 20241
BANDS = scoring().bands
FIG = {"lang": "da", "min_group_size": K}             # a figure's settings
KB = {"min_group_size": K, "bands": BANDS}
FIGB = {**FIG, "bands": BANDS}
ROUND_LABELS = {"2024": "Baseline 2024", "2025": "Follow-up 2025"}
INVITED = {"2024": 520, "2025": None}


def figure_outputs(folder, stems):
    """A rule's figure outputs: <folder>/<stem>.png and .svg for each stem."""
    return [folder / f"{stem}.{ext}" for stem in stems for ext in ("png", "svg")]


# --------------------------------------------------------------------------- demo builders


@cache
def instrument():
    return load_instrument(ROOT / "config" / "instrument.yaml")


@cache
def study(seed: int = 2024, n_respondents: int = 450, n_base_units: int = 10, n_networks: int = 4):
    return simulate_study(seed, n_respondents=n_respondents, n_base_units=n_base_units, n_networks=n_networks,
                          instrument=instrument())


def responses_with_answers(st, round_id: str) -> pd.DataFrame:
    """validated/responses.parquet's shape: value plus answer (valid | dont_know | blank)."""
    resp, _ = st.rounds[round_id]
    dk = st.dont_know.get(round_id)
    dk = np.zeros(len(resp), bool) if dk is None else np.asarray(dk, bool)
    answer = np.where(resp["value"].notna(), "valid", np.where(dk, "dont_know", "blank"))
    return resp.assign(answer=answer)


def summary_for(st, round_id: str) -> dict:
    """A validation summary.json like the workflow writes (no quarantine in simulated data)."""
    resp = responses_with_answers(st, round_id)
    people = st.rounds[round_id][1]
    n = len(people)
    return {
        "round": round_id,
        "records_in": n + 3,
        "valid": n,
        "quarantined": 3,
        "warned": 1,
        "failures_by_rule": {"duplicate_respondent_id": 2, "unknown_unit": 1},
        "respondents_per_unit": {str(u): int(c) for u, c in people["rater_unit"].value_counts().sort_index().items()},
        "targets": sorted(resp["target_unit"].unique().tolist()),
        "answers": {
            "cells": len(resp),
            "valid": int((resp["answer"] == "valid").sum()),
            "dont_know": int((resp["answer"] == "dont_know").sum()),
            "blank": int((resp["answer"] == "blank").sum()),
        },
        "files": [{"path": f"data/raw/demo/{round_id}/dataset.csv", "sha256": "ab" * 32, "bytes": 1234}],
    }


@cache
def scored(round_id: str, seed: int = 2024, n_respondents: int = 450, n_base_units: int = 10, n_networks: int = 4):
    """(internal, public) tables of one simulated round (relcoord.stages.score_and_assess)."""
    st = study(seed, n_respondents, n_base_units, n_networks)
    resp, people = st.rounds[round_id]
    return score_and_assess(resp, people, st.units, instrument(), scoring=scoring(), k=K, seed=SEED)


def demo_round(round_id: str = "2024"):
    st = study()
    internal, public = scored(round_id)
    return st, internal, public


def _bh(p: np.ndarray) -> np.ndarray:
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q = p[ok]
        order = np.argsort(q)
        ranked = q[order] * len(q) / (np.arange(len(q)) + 1)
        adj = np.minimum.accumulate(ranked[::-1])[::-1]
        res = np.empty(len(q))
        res[order] = np.minimum(adj, 1)
        out[ok] = res
    return out


def synthetic_changes(public_a: dict, public_b: dict, internal_a: dict, internal_b: dict) -> pd.DataFrame:
    """A realistic changes.csv (compare.py's columns) built from two scored rounds:
    means and n from the *internal* tables (as compare.py sees respondent data),
    ``suppressed`` where either n < k (primary only, like compare.py)."""
    rows = []

    def add(level, rater, target, measure, na, nb, ma, mb, sd=0.45, block=""):
        rows.append(
            dict(
                level=level,
                rater_unit=rater,
                target_unit=target,
                measure=measure,
                n_a=na,
                n_b=nb,
                mean_a=ma,
                mean_b=mb,
                sd=sd,
                block=block,
            )
        )

    oa, ob = internal_a["organisation"].set_index("measure"), internal_b["organisation"].set_index("measure")
    for m in oa.index:
        add("organisation", "", "", m, oa.at[m, "n"], ob.at[m, "n"], oa.at[m, "mean"], ob.at[m, "mean"], oa.at[m, "sd"])
    ba, bb = internal_a["blocks"].set_index("block"), internal_b["blocks"].set_index("block")
    for blk in ba.index:
        add(
            "block",
            ba.at[blk, "rater_kind"],
            ba.at[blk, "target_kind"],
            "rc",
            ba.at[blk, "n_respondents"],
            bb.at[blk, "n_respondents"],
            ba.at[blk, "rc_mean"],
            bb.at[blk, "rc_mean"],
            block=blk,
        )
    ua, ub = internal_a["units"].set_index("unit_id"), internal_b["units"].set_index("unit_id")
    for u in ua.index:
        for part in ("within", "between", "received"):
            add(
                f"unit_{part}",
                u,
                u if part == "within" else "",
                "rc",
                ua.at[u, f"{part}_n"],
                ub.at[u, f"{part}_n"],
                ua.at[u, f"{part}_rc"],
                ub.at[u, f"{part}_rc"],
            )
    ta = internal_a["ties"].set_index(["rater_unit", "target_unit"])
    tb = internal_b["ties"].set_index(["rater_unit", "target_unit"])
    for key in ta.index.intersection(tb.index):
        add(
            "tie",
            key[0],
            key[1],
            "rc",
            ta.at[key, "n"],
            tb.at[key, "n"],
            ta.at[key, "rc_mean"],
            tb.at[key, "rc_mean"],
            sd=0.47,
        )
    c = pd.DataFrame(rows)
    c["diff"] = c["mean_b"] - c["mean_a"]
    se = c["sd"] * np.sqrt(1 / c["n_a"].clip(lower=1) + 1 / c["n_b"].clip(lower=1))
    c["hedges_g"] = c["diff"] / c["sd"]
    half = 1.96 * np.sqrt(1 / c["n_a"].clip(lower=1) + 1 / c["n_b"].clip(lower=1))
    c["g_ci_low"], c["g_ci_high"] = c["hedges_g"] - half, c["hedges_g"] + half
    c["statistic"] = c["diff"] / se
    c["p"] = 2 * stats.norm.sf(np.abs(c["statistic"]))
    c["test"] = "welch_t"
    c["suppressed"] = ~((c["n_a"] >= K) & (c["n_b"] >= K))
    stat_cols = ["mean_a", "mean_b", "diff", "hedges_g", "g_ci_low", "g_ci_high", "statistic", "p"]
    c.loc[c["suppressed"], stat_cols] = np.nan
    c["p_fdr"] = np.nan
    for _, idx in c.groupby(["level", "measure"]).groups.items():
        c.loc[idx, "p_fdr"] = _bh(c.loc[idx, "p"].to_numpy(float))
    c["mw_statistic"], c["mw_p"] = np.nan, c["p"]
    return c.drop(columns="sd")


def synthetic_model(estimate: float = 0.26) -> pd.DataFrame:
    rows = []
    for model, terms in (
        ("round", [("intercept", 3.6), ("round", 0.09)]),
        (
            "network_did",
            [("intercept", 3.59), ("round", 0.02), ("shares_network", 0.1), ("round:shares_network", estimate)],
        ),
        ("block_base_network", [("round:to_network", -0.08)]),
        ("sensitivity_network_did", [("round:shares_network", estimate + 0.01)]),
    ):
        for term, est in terms:
            rows.append(
                dict(
                    model=model,
                    term=term,
                    estimate=est,
                    se=0.02,
                    ci_low=est - 0.04,
                    ci_high=est + 0.04,
                    p=1e-6,
                    n_obs=7424,
                    n_groups="rater_unit=10; target_unit=10",
                    note="synthetic",
                )
            )
    return pd.DataFrame(rows)


@cache
def demo_comparison():
    """(changes, model, shared_pairs, public_a, public_b): relcoord.compare when it imports and runs, else synthetic."""
    st = study()
    ia, pa = scored("2024")
    ib, pb = scored("2025")
    pairs = set()
    try:
        from relcoord.compare import compare_rounds
        from relcoord.registry import shared_network_pairs

        out = compare_rounds(
            {"respondent_ties": ia["respondent_ties"], "respondents": st.rounds["2024"][1]},
            {"respondent_ties": ib["respondent_ties"], "respondents": st.rounds["2025"][1]},
            st.units,
            st.memberships,
            round_a="2024",
            round_b="2025",
            round_order=["2024", "2025"],
            k=K,
            seed=0,
        )
        changes, model = out["changes"], out["model"]
        pairs = shared_network_pairs(st.memberships, "2025", ["2024", "2025"], st.units)
    except Exception:  # compare.py not there yet: a realistic stand-in
        changes, model = synthetic_changes(pa, pb, ia, ib), synthetic_model()
        pairs = {tuple(p) for p in st.truth["shared_directed_pairs"]}
    return changes, model, pairs, pa, pb


# --------------------------------------------------------------------------- helpers


def texts(fig: Figure) -> list:
    out = list(fig.texts)
    for ax in fig.get_axes():
        out += list(ax.texts)
    for sf in fig.subfigs:
        out += texts(sf)
    return out


def all_axes(fig: Figure) -> list:
    return list(fig.get_axes())


def by_gid(fig: Figure, prefix: str) -> dict[str, object]:
    out = {}
    for a in fig.findobj(lambda o: isinstance(o.get_gid(), str) and o.get_gid().startswith(prefix)):
        out[a.get_gid()[len(prefix) :]] = a
    return out


def hexcolour(artist) -> str:
    fc = artist.get_facecolor()
    fc = np.asarray(fc)
    if fc.ndim == 2:
        fc = fc[0]
    return mcolors.to_hex(fc)


# --------------------------------------------------------------------------- round figures


def test_every_round_figure_runs_on_demo_outputs_with_title_and_labels():
    st, internal, public = demo_round()
    inst = instrument()
    summary = summary_for(st, "2024")
    sizes = F.group_sizes(st.units, summary, public["units"], min_group_size=K)
    figs = {
        "rc_matrix": F.rc_matrix(public["ties"], st.units, **FIGB),
        "rc_map": F.rc_map(public["ties"], st.units, sizes=sizes, **FIGB),
        "dimension_profile": F.dimension_profile(public["organisation"], public["ties"], st.units, inst, **FIGB),
        "item_distributions": F.item_distributions(responses_with_answers(st, "2024"), inst, **FIG),
        "response_overview": F.response_overview(summary, st.units, invited=520, **FIG),
    }
    assert set(figs) == set(F.ROUND_FIGURES)
    for name, fig in figs.items():
        assert isinstance(fig, Figure), name
        assert fig._suptitle is not None and fig._suptitle.get_text(), name
        if name != "rc_map":  # the map has no axes, only a key
            labelled = [ax for ax in all_axes(fig) if ax.get_xlabel() and ax.get_ylabel()]
            assert labelled, f"{name}: no axes with both axis labels"


def test_matrix_hides_suppressed_cells_and_annotates_visible_ones():
    st, internal, public = demo_round()
    ties = public["ties"]
    fig = F.rc_matrix(ties, st.units, **FIGB)
    values = by_gid(fig, "value:")
    hidden = by_gid(fig, "hidden:")
    sup = ties[ties["suppressed"]]
    vis = ties[~ties["suppressed"]]
    assert len(sup) > 0, "the demo has a tiny unit, so some ties must be suppressed"
    for r, c in zip(sup["rater_unit"], sup["target_unit"]):
        assert f"{r}->{c}" not in values, f"suppressed tie {r}->{c} annotated"
        assert f"{r}->{c}" in hidden, f"suppressed tie {r}->{c} not hatched"
        assert hidden[f"{r}->{c}"].get_hatch()
    assert len(values) == len(vis)
    # the text shown is the reader-facing value with 2 decimals (Danish decimal comma)
    for r, c, v in zip(vis["rater_unit"], vis["target_unit"], vis["rc_mean"]):
        assert values[f"{r}->{c}"].get_text() == F.fmt_num(v, "da", 2)
    # no text at all lies inside a hidden cell
    ax = fig.get_axes()[0]
    rows = [t.get_text().rsplit("(", 1)[-1].rstrip(")") for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    boxes = [(cols.index(c), rows.index(r)) for r, c in zip(sup["rater_unit"], sup["target_unit"])]
    for t in ax.texts:
        x, y = t.get_position()
        assert not any(cx < x < cx + 1 and ry < y < ry + 1 for cx, ry in boxes), t.get_text()


def test_matrix_never_shows_a_value_flagged_suppressed_even_if_not_blanked():
    st, internal, public = demo_round()
    ties = public["ties"].copy()
    i = ties.index[~ties["suppressed"]][0]
    ties.loc[i, ["rc_mean", "suppressed"]] = [1.234, True]  # an upstream step forgot to blank it
    j = ties.index[~ties["suppressed"]][0]
    ties.loc[j, ["rc_mean", "n"]] = [1.234, 3]  # n < k but not flagged
    for fig in (
        F.rc_matrix(ties, st.units, **FIGB),
        F.rc_map(ties, st.units, **FIGB),
        F.dimension_profile(public["organisation"], ties, st.units, instrument(), **FIGB),
    ):
        shown = [t.get_text() for t in texts(fig)]
        assert not any("1,23" in s or "1.23" in s for s in shown)
    arrows = by_gid(F.rc_map(ties, st.units, **FIGB), "tie:")
    for idx in (i, j):
        assert f"{ties.at[idx, 'rater_unit']}->{ties.at[idx, 'target_unit']}" not in arrows


def test_save_figure_is_byte_identical_on_rerun(tmp_path):
    st, internal, public = demo_round()
    for name, make in (
        ("rc_matrix", lambda: F.rc_matrix(public["ties"], st.units, **FIGB)),
        ("rc_map", lambda: F.rc_map(public["ties"], st.units, **FIGB)),
    ):
        digests = []
        for run in range(2):
            png, svg = F.save_figure(make(), tmp_path / f"run{run}" / name)
            assert png.name == f"{name}.png" and svg.name == f"{name}.svg"
            assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
            assert b"<svg" in svg.read_bytes()[:2000]
            digests.append((hashlib.sha256(png.read_bytes()).hexdigest(), hashlib.sha256(svg.read_bytes()).hexdigest()))
        assert digests[0] == digests[1], name
        svg_text = (tmp_path / "run0" / f"{name}.svg").read_text()
        assert "<dc:date>" not in svg_text and "Matplotlib v" not in svg_text


def test_same_unit_same_colour_in_matrix_map_and_profile():
    st, internal, public = demo_round()
    colours = F.unit_colours(st.units)
    fm = F.rc_matrix(public["ties"], st.units, **FIGB)
    fp = F.rc_map(public["ties"], st.units, **FIGB)
    fd = F.dimension_profile(public["organisation"], public["ties"], st.units, instrument(), **FIGB)
    rows = {u: hexcolour(a) for u, a in by_gid(fm, "unit-row:").items()}
    cols = {u: hexcolour(a) for u, a in by_gid(fm, "unit-col:").items()}
    nodes = {u: hexcolour(a) for u, a in by_gid(fp, "unit-node:").items()}
    prof = {u: hexcolour(a) for u, a in by_gid(fd, "unit-profile:").items()}
    assert set(nodes) == set(st.units["unit_id"])
    for u, c in nodes.items():
        assert c == colours[u] == cols[u], u
        if u in rows:
            assert rows[u] == c
        if u in prof:
            assert prof[u] == c


def test_unit_colours_deterministic_distinct_and_kind_coded():
    st = study()
    a, b = F.unit_colours(st.units), F.unit_colours(st.units.copy())
    assert a == b
    assert len(set(a.values())) == len(a)

    # networks are purple shades, base units never are
    def hue(c):
        import colorsys

        return colorsys.rgb_to_hls(*mcolors.to_rgb(c))[0]

    net = st.units.loc[st.units["kind"] == "network", "unit_id"]
    base = st.units.loc[st.units["kind"] == "base", "unit_id"]
    net_hue = hue(F.NETWORK_HUE)
    assert all(abs(hue(a[u]) - net_hue) < 0.02 for u in net)
    assert all(abs(hue(a[u]) - net_hue) > 0.05 for u in base)
    # adding a unit at the end of the register changes no existing colour
    more = pd.concat(
        [
            st.units,
            pd.DataFrame([{"unit_id": "NEW", "name": "Ny enhed", "kind": "base", "area": st.units["area"].iloc[0]}]),
        ],
        ignore_index=True,
    )
    c2 = F.unit_colours(more)
    assert all(c2[u] == a[u] for u in a)


def _arrow_side(fig: Figure, ax, arrow: FancyArrowPatch, a_xy, b_xy) -> float:
    """Signed side of the arrow's bulge relative to the chord a -> b (display coordinates)."""
    path = arrow.get_path()
    verts = arrow.get_transform().transform(path.vertices) if arrow.get_transform() else path.vertices
    mid = verts[len(verts) // 2]
    a = ax.transData.transform(a_xy)
    b = ax.transData.transform(b_xy)
    u, v = b - a, mid - a
    return float(u[0] * v[1] - u[1] * v[0])


def test_map_draws_both_directions_with_opposite_curvature():
    st, internal, public = demo_round()
    fig = F.rc_map(public["ties"], st.units, **FIGB)
    fig.canvas.draw()
    arrows = by_gid(fig, "tie:")
    pos = F._circle_positions(F.unit_order(st.units, set(st.units["unit_id"])), st.units)
    pairs = [(k_.split("->")[0], k_.split("->")[1]) for k_ in arrows]
    both = [
        (a, b)
        for a, b in pairs
        if (b, a) in set(pairs) and a < b and arrows[f"{a}->{b}"].axes is arrows[f"{b}->{a}"].axes
    ]
    assert both, "no pair with both directions in the same panel"
    for a, b in both[:10]:
        fwd, bwd = arrows[f"{a}->{b}"], arrows[f"{b}->{a}"]
        ax = fwd.axes
        s1 = _arrow_side(fig, ax, fwd, pos[a][:2], pos[b][:2])
        s2 = _arrow_side(fig, ax, bwd, pos[a][:2], pos[b][:2])
        assert s1 * s2 < 0, f"{a}<->{b} arrows bend to the same side"
    # suppressed ties are not drawn, within-unit ties neither
    sup = public["ties"][public["ties"]["suppressed"]]
    for r, c in zip(sup["rater_unit"], sup["target_unit"]):
        assert f"{r}->{c}" not in arrows
    assert not any(k_.split("->")[0] == k_.split("->")[1] for k_ in arrows)
    # base units and networks differ in shape and colour
    nodes = by_gid(fig, "unit-node:")
    kinds = dict(zip(st.units["unit_id"], st.units["kind"]))
    marker_paths = {kinds[u]: tuple(map(tuple, np.round(n.get_paths()[0].vertices, 3))) for u, n in nodes.items()}
    assert marker_paths["base"] != marker_paths["network"]


def _overlaps(boxes) -> list:
    bad = []
    for (n1, b1), (n2, b2) in itertools.combinations(boxes, 2):
        if b1.overlaps(b2):
            bad.append((n1, n2))
    return bad


def _oriented_box(t, renderer) -> np.ndarray:
    """Corners (display coords) of a text's rotated box (rotation_mode "anchor": rotated about its anchor)."""
    rot = t.get_rotation()
    t.set_rotation(0)
    bb = t.get_window_extent(renderer)
    t.set_rotation(rot)
    anchor = np.asarray(t.get_transform().transform(t.get_position()))
    corners = np.array([(bb.x0, bb.y0), (bb.x1, bb.y0), (bb.x1, bb.y1), (bb.x0, bb.y1)]) - anchor
    a = np.radians(rot)
    rotm = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return corners @ rotm.T + anchor


def _quads_overlap(p: np.ndarray, q: np.ndarray) -> bool:
    """Separating axis test for two convex quadrilaterals."""
    for poly in (p, q):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, qa = p @ axis, q @ axis
            if pa.max() <= qa.min() or qa.max() <= pa.min():
                return False
    return True


def test_map_and_matrix_legible_with_25_base_units():
    internal, public = scored("2024", seed=7, n_respondents=1400, n_base_units=25, n_networks=6)
    st = study(7, 1400, 25, 6)
    assert len(st.units) == 31
    fig = F.rc_map(public["ties"], st.units, sizes={u: 40 for u in st.units["unit_id"]}, **FIGB)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    labels = by_gid(fig, "label:")
    assert len(labels) == 2 * 31 or len(labels) == 31  # one per node (gids repeat per panel)
    for ax in fig.get_axes():
        boxes = [(t.get_text(), _oriented_box(t, r)) for t in ax.texts if str(t.get_gid()).startswith("label:")]
        bad = [(a, b) for (a, p), (b, q) in itertools.combinations(boxes, 2) if _quads_overlap(p, q)]
        assert not bad, bad[:5]
        # at most max_ties arrows per panel
        n_arrows = sum(1 for p in ax.patches if isinstance(p, FancyArrowPatch))
        assert n_arrows <= 120
    fm = F.rc_matrix(public["ties"], st.units, **FIGB)
    fm.canvas.draw()
    r = fm.canvas.get_renderer()
    ax = fm.get_axes()[0]
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        boxes = [(t.get_text(), t.get_window_extent(r)) for t in ticks]
        assert not _overlaps(boxes)
    # the value texts fit their cells
    cell_w = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]
    widths = [t.get_window_extent(r).width for t in ax.texts if str(t.get_gid()).startswith("value:")]
    assert widths and max(widths) < cell_w


def test_dimension_profile_uses_instrument_labels_and_org_cis():
    st, internal, public = demo_round()
    inst = instrument()
    for lang in ("da", "en"):
        fig = F.dimension_profile(public["organisation"], public["ties"], st.units, inst, lang=lang, **KB)
        shown = {t.get_text().strip() for ax in fig.get_axes() for t in ax.get_yticklabels() + ax.get_xticklabels()}
        for item in inst.items:
            assert item.label(lang) in shown
        org = public["organisation"].set_index("measure")
        txt = " ".join(t.get_text() for t in texts(fig))
        assert F.fmt_num(org.at["rc", "ci_low"], lang, 2) in txt and F.fmt_num(org.at["rc", "ci_high"], lang, 2) in txt


def test_item_distributions_shares_and_option_labels():
    st = study()
    resp = responses_with_answers(st, "2024")
    inst = instrument()
    fig = F.item_distributions(resp, inst, **FIG)
    txt = " ".join(t.get_text() for t in texts(fig))
    assert "Aldrig" in txt and "Tilpas" in txt  # option labels in score order, in Danish
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert "Ved ikke" in legend and "Ikke besvaret" in legend
    fig_en = F.item_distributions(resp, inst, lang="en", min_group_size=K)
    assert "Just the right amount" in " ".join(t.get_text() for t in texts(fig_en))
    # too few respondents: nothing drawn
    tiny = resp[resp["respondent_id"].isin(resp["respondent_id"].unique()[:3])]
    fig_t = F.item_distributions(tiny, inst, **FIG)
    assert not any(ax.patches for ax in fig_t.get_axes())


def test_item_distributions_drawn_through_seaborn_in_project_colours_and_byte_identical(tmp_path, monkeypatch):
    import seaborn as sns

    resp = responses_with_answers(study(), "2024")
    inst = instrument()
    calls = []
    real = sns.histplot

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(sns, "histplot", spy)
    fig = F.item_distributions(resp, inst, **FIG)
    assert len(calls) == 1 and calls[0]["multiple"] == "stack" and calls[0]["weights"] == "share"
    (ax,) = fig.get_axes()
    bars = list(ax.patches)
    assert bars and all(b.get_width() > 0 for b in bars)  # no zero-width bins left behind
    # the colour-blind Likert palette and the don't-know grey, the blank share white and hatched
    assert {c.lower() for c in (*F.LIKERT_COLOURS, F.DONT_KNOW_COLOUR)} <= {hexcolour(b) for b in bars}
    blank = [b for b in bars if b.get_gid() == "answer-share:blank"]
    assert blank and all(hexcolour(b) == "#ffffff" and b.get_hatch() == "////" for b in blank)
    # one bar per item, stacked to 100 %, score 1 at the left
    for i, it in enumerate(inst.keys):
        row = sorted((b for b in bars if abs(b.get_y() + b.get_height() / 2 - i) < 1e-9), key=lambda b: b.get_x())
        assert row[0].get_x() == pytest.approx(0) and sum(b.get_width() for b in row) == pytest.approx(100), it
        assert hexcolour(row[0]) == F.LIKERT_COLOURS[0].lower() and row[-1].get_gid() == "answer-share:blank", it
    monkeypatch.undo()
    digests = []
    for run in range(2):
        png, svg = F.save_figure(F.item_distributions(resp, inst, **FIG), tmp_path / f"run{run}" / "item_distributions")
        digests.append((hashlib.sha256(png.read_bytes()).hexdigest(), hashlib.sha256(svg.read_bytes()).hexdigest()))
    assert digests[0] == digests[1]


def test_response_overview_shows_small_units_as_less_than_k():
    st = study()
    summary = summary_for(st, "2024")
    small = {u: n for u, n in summary["respondents_per_unit"].items() if n < K}
    assert small, "the demo keeps one unit tiny"
    fig = F.response_overview(summary, st.units, invited=520, **FIG)
    ax = fig.get_axes()[0]
    shown = [t.get_text() for t in ax.texts]
    assert f"< {K}" in shown
    for u, n in small.items():
        assert str(n) not in shown
        assert u not in by_gid(fig, "unit-bar:")
    # one small unit alone would be total minus the rest: the next-smallest count is hidden too ("–")
    shown_counts, why = suppress_counts(summary["respondents_per_unit"], K)
    second = [u for u, r in why.items() if r == "secondary"]
    assert len(second) == (1 if len(small) == 1 else 0)
    for u in second:
        assert u not in by_gid(fig, "unit-bar:") and str(summary["respondents_per_unit"][u]) not in shown
    assert not second or "–" in shown
    big = {u: n for u, n in shown_counts.items() if n is not None}
    assert all(str(n) in shown for n in big.values())
    assert any("87" in t.get_text() for t in texts(fig) + [a.title for a in fig.get_axes()])


def test_group_sizes_hide_small_counts():
    st = study()
    summary = summary_for(st, "2024")
    _, public = scored("2024")
    sizes = F.group_sizes(st.units, summary, public["units"], min_group_size=K)
    shown, _ = suppress_counts(summary["respondents_per_unit"], K)  # primary and secondary
    for u, n in summary["respondents_per_unit"].items():
        assert sizes[u] == shown[u] and (sizes[u] is None or sizes[u] == n >= K)
    assert sum(v is None for v in shown.values()) != 1
    nets = st.units.loc[st.units["kind"] == "network", "unit_id"]
    assert all(sizes[u] is None or sizes[u] >= K for u in nets)


# --------------------------------------------------------------------------- comparison figures


def test_comparison_figures_run_and_omit_suppressed_rows():
    st = study()
    changes, model, pairs, pa, pb = demo_comparison()
    inst = instrument()
    fig = F.forest_changes(changes, st.units, inst, public_a=pa, public_b=pb, label_a="2024", label_b="2025", **FIG)
    labels = [t.get_text() for ax in fig.get_axes() for t in ax.get_yticklabels()]
    hidden = F.change_visibility(changes, K, pa, pb)
    hidden = hidden[~hidden["visible"] & (hidden["level"] == "tie")]
    for r, c in zip(hidden["rater_unit"], hidden["target_unit"]):
        assert f"{r} → {c}" not in labels
    small = [u for u, n in summary_for(st, "2024")["respondents_per_unit"].items() if n < K]
    assert not any(
        lab.endswith(f"({u})")
        for lab in labels
        for u in small
        if any(ax.get_title() == F.FIG_TEXT["da"]["unit_between"] for ax in fig.get_axes())
    )
    assert fig.get_axes()[-1].get_xlabel()
    fig = F.tie_dumbbell(
        changes, st.units, shared_pairs=pairs, public_a=pa, public_b=pb, label_a="2024", label_b="2025", **FIGB
    )
    labels = [t.get_text().rstrip(" *") for t in fig.get_axes()[0].get_yticklabels()]
    assert labels and len(labels) <= 30
    kinds = dict(zip(st.units["unit_id"], st.units["kind"]))
    for lab in labels:
        a, b = lab.split(" → ")
        assert kinds[a] == kinds[b] == "base" and a != b
        assert (a, b) not in set(zip(hidden["rater_unit"], hidden["target_unit"]))
    fig = F.network_effect(
        changes, model, st.units, pairs, public_a=pa, public_b=pb, label_a="2024", label_b="2025", **FIG
    )
    did = F.did_estimate(model)
    txt = " ".join(t.get_text() for t in texts(fig))
    assert F.fmt_num(did["estimate"], "da", 2, sign=True) in txt
    assert F.fmt_num(did["ci_low"], "da", 2) in txt


def test_comparison_figures_on_synthetic_frames_and_secondary_suppression():
    st = study()
    ia, pa = scored("2024")
    ib, pb = scored("2025")
    changes = synthetic_changes(pa, pb, ia, ib)
    # unit cells and ties hidden to protect a small group (complementary) in round A must not appear in the
    # comparison (compare.py knows only primary suppression)
    protect = ("secondary", "complementary")
    vis = F.change_visibility(changes, K, pa, pb)
    n_cells = 0
    for part in ("within", "between", "received"):
        u = pa["units"]
        for uid in u.loc[u[f"{part}_suppression"].isin(protect), "unit_id"]:
            row = vis[(vis["level"] == f"unit_{part}") & ((vis["rater_unit"] == uid) | (vis["target_unit"] == uid))
                      & (vis["measure"] == "rc")]
            assert len(row) and not row["visible"].any(), (part, uid)
            n_cells += 1
    sec_ties = pa["ties"][pa["ties"]["suppression"].isin(protect)]
    assert n_cells and len(sec_ties)                              # the check has something to check
    for r, c in zip(sec_ties["rater_unit"], sec_ties["target_unit"]):
        assert not vis[(vis["level"] == "tie") & (vis["rater_unit"] == r) & (vis["target_unit"] == c)]["visible"].any()
    for make in (
        lambda: F.forest_changes(changes, st.units, instrument(), public_a=pa, public_b=pb, **FIG),
        lambda: F.tie_dumbbell(
            changes, st.units, shared_pairs=st.truth["shared_directed_pairs"], public_a=pa, public_b=pb, **FIGB
        ),
        lambda: F.network_effect(
            changes,
            synthetic_model(),
            st.units,
            st.truth["shared_directed_pairs"],
            public_a=pa,
            public_b=pb,
            lang="en",
            min_group_size=K,
        ),
    ):
        fig = make()
        assert fig._suptitle.get_text()
    # nothing visible at all: an honest empty figure, no crash
    empty = changes.assign(suppressed=True)
    for fig in (
        F.forest_changes(empty, st.units, **FIG),
        F.tie_dumbbell(empty, st.units, **FIGB),
        F.network_effect(empty, None, st.units, None, **FIG),
    ):
        assert F.FIG_TEXT["da"]["no_rows"] in " ".join(t.get_text() for t in texts(fig))


def test_round_and_comparison_figure_sets_write_every_stem(tmp_path):
    st, internal, public = demo_round()
    paths = F.round_figures(
        public,
        summary_for(st, "2024"),
        responses_with_answers(st, "2024"),
        st.units,
        instrument(),
        figure_outputs(tmp_path / "round", F.ROUND_FIGURES),
        lang="da",
        k=K,
        bands=BANDS,
        round_label="Baseline 2024",
        invited=520,
    )
    assert set(paths) == set(F.ROUND_FIGURES)
    for name in F.ROUND_FIGURES:
        assert (tmp_path / "round" / f"{name}.png").exists() and (tmp_path / "round" / f"{name}.svg").exists()
    changes, model, pairs, pa, pb = demo_comparison()
    paths = F.comparison_figures(
        changes,
        model,
        st.units,
        instrument(),
        figure_outputs(tmp_path / "cmp", F.COMPARISON_FIGURES),
        lang="da",
        k=K,
        bands=BANDS,
        shared_pairs=pairs,
        public_a=pa,
        public_b=pb,
        label_a="2024",
        label_b="2025",
    )
    assert set(paths) == set(F.COMPARISON_FIGURES)
    assert all(p.exists() for p in paths.values())


# --------------------------------------------------------------------------- texts and formats


def test_text_catalogues_and_captions_have_the_same_keys_in_both_languages(tmp_path):
    assert set(F.FIG_TEXT["da"]) == set(F.FIG_TEXT["en"])
    assert set(F.BLOCK_LABELS["da"]) == set(F.BLOCK_LABELS["en"])
    for name, tpl in F.CAPTIONS.items():
        assert set(tpl) == {"da", "en"}, name
    for lang in ("da", "en"):
        caps = F.captions(lang, 5, {"weak_below": 3.5, "strong_above": 4.0})
        assert set(caps) == set(F.ROUND_FIGURES) | set(F.COMPARISON_FIGURES)
        assert all(c and "\n" not in c and "{" not in c for c in caps.values())
    assert "3,5" in F.captions("da", K, BANDS)["rc_matrix"] and "3.5" in F.captions("en", K, BANDS)["rc_matrix"]
    files = F.write_captions(tmp_path, "en", 7, BANDS)
    assert files["rc_matrix"].read_text(encoding="utf-8").startswith("Mean relational coordination")
    assert "7" in files["rc_map"].read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        F.captions("de", K, BANDS)


def test_number_formatting():
    assert F.fmt_num(3.617, "da") == "3,62" and F.fmt_num(3.617, "en") == "3.62"
    assert F.fmt_num(-0.5, "en", 1) == "−0.5" and F.fmt_num(0.112, "da", 2, sign=True) == "+0,11"
    assert F.fmt_num(np.nan, "da") == "–" and F.fmt_num(None, "en") == "–" and F.fmt_num("x", "da") == "–"
    assert F.fmt_int(44100, "da") == "44.100" and F.fmt_int(44100, "en") == "44,100"
    assert F.band_of(3.49, BANDS) == "weak" and F.band_of(3.5, BANDS) == "moderate"
    assert F.band_of(4.0, BANDS) == "moderate"
    assert F.band_of(4.01, BANDS) == "strong" and F.band_of(np.nan, BANDS) is None


# --------------------------------------------------------------------------- issue 15: small fixes


def _parse(label: str) -> float:
    return float(label.replace("−", "-").replace(",", "."))


@pytest.mark.parametrize("lang", ["da", "en"])
def test_band_follows_the_printed_value_at_the_edges(lang):
    sep = "," if lang == "da" else "."
    cases = {
        3.49944: ("3{}50", "moderate"),    # the issue: printed 3,50, drawn as weak before
        3.494: ("3{}49", "weak"),
        3.4949: ("3{}49", "weak"),
        3.495: ("3{}50", "moderate"),      # binary 3.49500000000000010658...
        3.5: ("3{}50", "moderate"),
        4.0: ("4{}00", "moderate"),
        4.004: ("4{}00", "moderate"),
        4.005: ("4{}00", "moderate"),      # binary 4.00499999999999989...: prints 4,00
        4.0051: ("4{}01", "strong"),
        4.00999: ("4{}01", "strong"),
    }
    for v, (label, band) in cases.items():
        assert F.fmt_num(v, lang, F.VALUE_DIGITS) == label.format(sep), v
        assert F.band_of(v, BANDS) == band, v
    # the unrounded comparison is still there on request (as relcoord.scores)
    assert F.band_of(3.49944, BANDS, digits=None) == "weak" and F.band_of(4.004, BANDS, digits=None) == "strong"
    # never a contradiction: the band of a value is the band of its label, on a fine grid around both thresholds
    for v in np.concatenate([np.arange(3.48, 3.52, 0.00007), np.arange(3.98, 4.02, 0.00007)]):
        label = F.fmt_num(v, lang, F.VALUE_DIGITS)
        assert F.band_of(v, BANDS) == F.band_of(_parse(label), BANDS, digits=None), (v, label)
    assert F.printed_value(np.nan) is None and F.printed_value("x") is None and F.band_of(None, BANDS) is None


def test_figures_colour_a_number_by_its_printed_band():
    st, internal, public = demo_round()
    ties = public["ties"].copy()
    vis = ties.index[~ties["suppressed"] & (ties["rater_unit"] != ties["target_unit"])]
    i, j = vis[0], vis[1]
    ties.loc[i, "rc_mean"] = 3.49944   # prints 3,50: moderate
    ties.loc[j, "rc_mean"] = 4.004     # prints 4,00: moderate
    fig = F.rc_matrix(ties, st.units, **FIGB)
    values, cells = by_gid(fig, "value:"), by_gid(fig, "cell:")
    for idx, label in ((i, "3,50"), (j, "4,00")):
        key = f"{ties.at[idx, 'rater_unit']}->{ties.at[idx, 'target_unit']}"
        assert values[key].get_text() == label
        assert hexcolour(cells[key]) == F.BAND_FILLS["moderate"].lower(), key
    # the map draws both as moderate ties (in the moderate + strong panel)
    arrows = by_gid(F.rc_map(ties, st.units, **FIGB), "tie:")
    for idx in (i, j):
        a = arrows[f"{ties.at[idx, 'rater_unit']}->{ties.at[idx, 'target_unit']}"]
        assert mcolors.to_hex(a.get_edgecolor()) == F.BAND_COLOURS["moderate"].lower()
    # the profile's dot for an organisation mean printed 3,50 is moderate grey, not weak orange
    org = public["organisation"].copy()
    org.loc[org["measure"] == "frequent", "mean"] = 3.49944
    for lang in ("da", "en"):
        fig = F.dimension_profile(org, public["ties"], st.units, instrument(), lang=lang, **KB)
        ax = fig.get_axes()[0]
        label = F.fmt_num(3.49944, lang, 2)
        assert any(t.get_text().startswith(label) for t in ax.texts)
        dots = [ln for ln in ax.lines if ln.get_marker() in ("o", "D") and np.isclose(ln.get_xdata()[0], 3.49944)]
        assert dots and mcolors.to_hex(dots[0].get_color()) == F.BAND_COLOURS["moderate"].lower()


def _legend_labels(fig) -> list[str]:
    out = []
    for f in [fig, *fig.subfigs, *(s for sf in fig.subfigs for s in sf.subfigs)]:
        out += [t.get_text() for leg in f.legends for t in leg.get_texts()]
    return out


@pytest.mark.parametrize("lang", ["da", "en"])
def test_hidden_and_no_data_cells_look_different_and_are_both_in_the_legend(lang):
    st, internal, public = demo_round()
    t_ = F.FIG_TEXT[lang]
    ties = public["ties"].copy()
    # not asked: the diagonal of one unit and one pair are missing from ties.csv
    gone = [("HJP", "HJP"), ("SUC", "JOB")] if {"HJP", "SUC", "JOB"} <= set(ties["rater_unit"]) else []
    if not gone:
        r0 = ties["rater_unit"].iloc[0]
        gone = [(r0, r0), (ties["rater_unit"].iloc[-1], ties["target_unit"].iloc[0])]
    keep = ~pd.Series([(r, c) in set(gone) for r, c in zip(ties["rater_unit"], ties["target_unit"])], index=ties.index)
    asked = ties[keep]
    fig = F.rc_matrix(asked, st.units, lang=lang, **KB)
    hidden, nodata, values = by_gid(fig, "hidden:"), by_gid(fig, "nodata:"), by_gid(fig, "value:")
    for r, c in gone:
        key = f"{r}->{c}"
        assert key in nodata and key not in hidden and key not in values
        assert not nodata[key].get_hatch() and hexcolour(nodata[key]) == "#ffffff"
    sup = asked[asked["suppressed"]]
    assert len(sup)
    for r, c in zip(sup["rater_unit"], sup["target_unit"]):
        assert f"{r}->{c}" in hidden and hidden[f"{r}->{c}"].get_hatch() and f"{r}->{c}" not in nodata
    labels = _legend_labels(fig)
    assert t_["hidden"].format(k=K) in labels and t_["no_data"] in labels
    # a figure with every pair asked has no "no data" cell and says nothing about it
    full = F.rc_matrix(ties, st.units, lang=lang, **KB)
    assert not by_gid(full, "nodata:") and t_["no_data"] not in _legend_labels(full)
    # visible by flag and count but without a value: no data, not hidden
    odd = ties.copy()
    i = odd.index[~odd["suppressed"]][0]
    odd.loc[i, "rc_mean"] = np.nan
    key = f"{odd.at[i, 'rater_unit']}->{odd.at[i, 'target_unit']}"
    fig = F.rc_matrix(odd, st.units, lang=lang, **KB)
    assert key in by_gid(fig, "nodata:") and key not in by_gid(fig, "hidden:")


def test_profile_tells_hidden_from_no_data():
    st, internal, public = demo_round()
    ties = public["ties"].copy()
    base = st.units.loc[st.units["kind"] == "base", "unit_id"].tolist()
    nobody, secret = base[0], base[1]
    towards = (ties["rater_kind"] == "base") & (ties["rater_unit"] != ties["target_unit"])
    ties = ties[~(towards & (ties["target_unit"] == nobody))].copy()        # nobody asked about it
    hide = towards & (ties["target_unit"] == secret)
    ties.loc[hide, ["suppressed", "suppression"]] = [True, "primary"]       # every rating of it hidden
    inst = instrument()
    fig = F.dimension_profile(public["organisation"], ties, st.units, inst, **FIGB)
    hidden, nodata = by_gid(fig, "hidden:"), by_gid(fig, "nodata:")
    for it in inst.index_keys:
        assert f"{nobody}:{it}" in nodata and f"{nobody}:{it}" not in hidden
        assert f"{secret}:{it}" in hidden and f"{secret}:{it}" not in nodata
    labels = _legend_labels(fig)
    assert F.FIG_TEXT["da"]["hidden"].format(k=K) in labels and F.FIG_TEXT["da"]["no_data"] in labels
    # without either, the legend lists only the bands
    fig = F.dimension_profile(public["organisation"], public["ties"], st.units, inst, **FIGB)
    assert F.FIG_TEXT["da"]["no_data"] not in _legend_labels(fig)


LONG = {
    "PPR": "Pædagogisk Psykologisk Rådgivning og Specialundervisning Nord",
    "HJP": "Hjemmeplejen, sygeplejen & den akutte natlige indsats i eget hjem",
}


def _long_units(st) -> pd.DataFrame:
    u = st.units.copy()
    u["name"] = [LONG.get(i, n) for i, n in zip(u["unit_id"], u["name"])]
    return u


def _svg_titles(svg: str) -> dict[str, list[str]]:
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    out: dict[str, list[str]] = {}
    for g in ET.fromstring(svg).iter(f"{ns}g"):        # parses: the inserted titles are well-formed XML
        t = g.find(f"{ns}title")
        if t is not None:
            out.setdefault(g.get("id"), []).append(t.text)
    return out


def test_long_names_are_cut_keyed_in_full_and_titled_in_the_svg(tmp_path):
    st, internal, public = demo_round()
    units = _long_units(st)
    summary = summary_for(st, "2024")
    makers = {
        "rc_matrix": lambda: F.rc_matrix(public["ties"], units, **FIGB),
        "rc_map": lambda: F.rc_map(public["ties"], units, **FIGB),
        "dimension_profile": lambda: F.dimension_profile(
            public["organisation"], public["ties"], units, instrument(), **FIGB
        ),
        "response_overview": lambda: F.response_overview(summary, units, **FIG),
    }
    for name, make in makers.items():
        fig = make()
        shown = " ".join(t.get_text() for ax in fig.get_axes() for t in ax.get_yticklabels())
        if name == "rc_map":
            shown = " ".join(t.get_text() for t in by_gid(fig, "key:").values())
        assert "…" in shown and LONG["PPR"] not in shown, name
        # the key below the figure gives every cut name in full
        key = {t.get_gid(): t.get_text() for t in texts(fig) if str(t.get_gid()).startswith("name-key:")}
        register = dict(zip(units["unit_id"], units["name"]))
        assert all(key[f"name-key:{u}"] == full for u, full in LONG.items()), name
        assert all(register[g.split(":", 1)[1]] == full for g, full in key.items()), name
        assert F.FIG_TEXT["da"]["name_key"] in [t.get_text() for t in texts(fig)]
        # hover titles in the SVG, byte-identical on rerun (PNG too)
        digests = []
        for run in range(2):
            png, svg = F.save_figure(make(), tmp_path / f"run{run}" / name)
            digests.append((png.read_bytes(), svg.read_bytes()))
        assert digests[0] == digests[1], name
        titles = _svg_titles(digests[0][1].decode("utf-8"))
        for u, full in LONG.items():
            assert titles.get(f"row-label:{u}" if name != "rc_map" else f"key:{u}") == [f"{full} ({u})"], name
            assert titles[f"name-key:{u}"] == [f"{full} ({u})"]
        assert "&amp;" in digests[0][1].decode("utf-8")  # "&" in a name is escaped
    # the matrix: every row and column label, chip and cell carries the full names
    titles = _svg_titles((tmp_path / "run0" / "rc_matrix.svg").read_text(encoding="utf-8"))
    assert titles["unit-col:PPR"] == [f"{LONG['PPR']} (PPR)"] and titles["col-label:PPR"] == [f"{LONG['PPR']} (PPR)"]
    cell = [v[0] for k_, v in titles.items() if k_.startswith(("cell:HJP->PPR", "hidden:HJP->PPR"))]
    assert cell and cell[0].startswith(f"{LONG['HJP']} (HJP) → {LONG['PPR']} (PPR): ")
    # no value hides in a title of a hidden cell
    sup = public["ties"][public["ties"]["suppressed"]]
    for r, c in zip(sup["rater_unit"], sup["target_unit"]):
        assert titles[f"hidden:{r}->{c}"][0].endswith(
            (F.FIG_TEXT["da"]["hidden"].format(k=K), F.FIG_TEXT["da"]["hidden_protect"])
        )
    # short names: no key, and the figure is laid out as before
    short = st.units.assign(name=st.units["name"].str.slice(0, 20))
    fig = F.rc_matrix(public["ties"], short, **FIGB)
    assert not fig.subfigs and not any(str(t.get_gid()).startswith("name-key:") for t in texts(fig))


def test_comparison_figures_title_ties_and_units_with_full_names(tmp_path):
    st = study()
    units = _long_units(st)
    changes, model, pairs, pa, pb = demo_comparison()
    fig = F.forest_changes(changes, units, instrument(), public_a=pa, public_b=pb, **FIG)
    png, svg = F.save_figure(fig, tmp_path / "forest")
    titles = _svg_titles(svg.read_text(encoding="utf-8"))
    ties = [v[0] for k_, v in titles.items() if k_.startswith("row-label:tie:")]
    assert ties and all(" → " in t and t.count("(") == 2 for t in ties)
    fig = F.tie_dumbbell(changes, units, shared_pairs=pairs, public_a=pa, public_b=pb, **FIGB)
    png, svg = F.save_figure(fig, tmp_path / "dumbbell")
    titles = _svg_titles(svg.read_text(encoding="utf-8"))
    labels = [t.get_text().rstrip(" *") for t in fig.get_axes()[0].get_yticklabels()]
    names = dict(zip(units["unit_id"], units["name"]))
    for lab in labels:
        a, b = lab.split(" → ")
        assert titles[f"row-label:tie:{a}->{b}"] == [f"{names[a]} ({a}) → {names[b]} ({b})"]
