"""Disclosure audit (relcoord.disclosure): no hidden small group can be worked
out exactly from everything a round publishes (issue 12)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relcoord.disclosure import in_row_space
from relcoord.instrument import default_instrument
from relcoord.privacy import count_exposure, suppress_counts
from relcoord.publish import reader_facing
from relcoord.scores import score_round

from conftest import scoring

INST = default_instrument()
KEYS = INST.keys


def make_round(sizes: dict[str, int], networks: dict[str, dict[str, int]], seed: int = 1, p_missing: float = 0.0,
               rng=None):
    """Base units of the given sizes; ``networks[N][unit]`` = how many of that
    unit's respondents (the first ones) are members of N. Every respondent rates
    every unit on the seven items (integers 1..5; ``p_missing`` drops answers)."""
    rng = rng or np.random.default_rng(seed)
    base, nets = list(sizes), list(networks)
    resp = []
    for u, n in sizes.items():
        for i in range(n):
            rid = f"{u}-{i:02d}"
            memb = [N for N in nets if i < networks[N].get(u, 0)]
            resp.append((rid, u, ";".join(memb)))
    units = pd.DataFrame({"unit_id": base + nets, "name": base + nets,
                          "kind": ["base"] * len(base) + ["network"] * len(nets), "area": ""})
    respondents = pd.DataFrame(resp, columns=["respondent_id", "rater_unit", "networks"])
    targets = base + nets
    vals = rng.integers(1, 6, size=(len(resp), len(targets), len(KEYS))).astype(float)
    if p_missing:
        vals[rng.random(vals.shape) < p_missing] = np.nan
    responses = pd.DataFrame({
        "respondent_id": np.repeat(respondents["respondent_id"].to_numpy(), len(targets) * len(KEYS)),
        "rater_unit": np.repeat(respondents["rater_unit"].to_numpy(), len(targets) * len(KEYS)),
        "target_unit": np.tile(np.repeat(np.array(targets, dtype=object), len(KEYS)), len(resp)),
        "item": np.tile(np.array(KEYS, dtype=object), len(resp) * len(targets)),
        "value": vals.ravel()})
    return responses, respondents, units


def _visible_ties(rf):
    t = rf["ties"]
    return t[~t["suppressed"].astype(bool)].set_index(["rater_unit", "target_unit"])


# --------------------------------------------------------------------------- the network attack


def network_attack_round():
    # H: 4 respondents (hidden), U: 5 (the smallest visible unit: the set rules' complement), V: 7, W: 20;
    # network N = all of H + all of V
    return make_round({"H": 4, "U": 5, "V": 7, "W": 20}, {"N": {"H": 4, "V": 7}}, seed=7)


def _attack(rf, internal):
    """For every target: the hidden unit's mean by (n_N m_N − n_V m_V)/(n_N − n_V)
    from two visible rows of ties.csv; True where it hits the true (hidden) mean."""
    vis = _visible_ties(rf)
    truth = internal["ties"].set_index(["rater_unit", "target_unit"])
    hits = []
    for t in ("H", "U", "V", "W", "N"):
        if ("N", t) in vis.index and ("V", t) in vis.index:
            a, b = vis.loc[("N", t)], vis.loc[("V", t)]
            n = a["n"] - b["n"]
            est = (a["n"] * a["rc_mean"] - b["n"] * b["rc_mean"]) / n
            hits.append(n == truth.loc[("H", t), "n"] and est == pytest.approx(truth.loc[("H", t), "rc_mean"]))
    return hits


def test_network_attack_works_without_the_audit():
    responses, respondents, units = network_attack_round()
    internal = score_round(responses, respondents, units, INST, scoring(), k=5, seed=0)
    rf = reader_facing(internal, 5, respondents, audit=False)         # the set rules alone (main before issue 12)
    assert any(_attack(rf, internal))


def test_network_attack_fails_after_the_audit():
    responses, respondents, units = network_attack_round()
    internal = score_round(responses, respondents, units, INST, scoring(), k=5, seed=0)
    rf = reader_facing(internal, 5, respondents)
    assert not any(_attack(rf, internal))
    t = rf["ties"]
    assert set(t["suppression"]) <= {"", "primary", "secondary", "complementary"}
    assert (t.loc[t["rater_unit"] == "H", "suppression"] == "primary").all()
    assert (t["suppression"] == "complementary").any()
    # the network's rows go first (cost function: a network-rater row before a base unit's)
    comp = t[t["suppression"] == "complementary"]
    assert (comp.loc[comp["rater_kind"] == "network", "rater_unit"] == "N").sum() == 5
    # received_n of H plus the total would give |H| with complete answers: hidden as well
    assert rf["units"].set_index("unit_id").loc["H", "received_suppression"] == "complementary"
    assert not leaks(internal, rf, respondents, 5)


def test_nothing_hidden_needs_no_complement():
    responses, respondents, units = make_round({"A": 8, "B": 9, "C": 12}, {"N": {"A": 3, "B": 4}}, seed=3)
    internal = score_round(responses, respondents, units, INST, scoring(), k=5, seed=0)
    rf = reader_facing(internal, 5, respondents)
    assert not rf["ties"]["suppressed"].any()


def test_hidden_group_not_derivable_keeps_the_network_row():
    # N takes only part of H and part of V: N - V is not H, nothing to subtract
    responses, respondents, units = make_round({"H": 4, "V": 7, "W": 9, "X": 20}, {"N": {"H": 2, "W": 4}}, seed=5)
    internal = score_round(responses, respondents, units, INST, scoring(), k=5, seed=0)
    rf = reader_facing(internal, 5, respondents)
    t = rf["ties"]
    assert not t.loc[t["rater_unit"] == "N", "suppressed"].any()        # nothing to subtract: N's row stays
    assert not leaks(internal, rf, respondents, 5)


def test_in_row_space_exact():
    assert in_row_space({"a": 1}, [{"a": 1, "b": 1}, {"b": 1}])
    assert not in_row_space({"a": 1}, [{"a": 1, "b": 1}, {"b": 1, "c": 1}])
    assert in_row_space({"a": 3, "c": -3}, [{"a": 1, "b": 1}, {"b": 1, "c": 1}])
    assert not in_row_space({"a": 1}, [])


# --------------------------------------------------------------------------- labels: large hidden units are not "small"


def test_large_unit_hidden_to_protect_is_not_labelled_small():
    from relcoord.figures import FIG_TEXT, group_sizes, hidden_count_reasons

    summary = {"valid": 120, "respondents_per_unit": {"BYG": 4, "PPR": 18, "DTN": 82, "YDS": 28}}
    units = pd.DataFrame({"unit_id": ["BYG", "PPR", "DTN", "YDS"], "name": ["b", "p", "d", "y"],
                          "kind": "base", "area": "x"})
    sizes = group_sizes(units, summary, None, min_group_size=5)
    assert sizes["BYG"] is None and sizes["PPR"] is None
    why = hidden_count_reasons(summary, 5)
    assert why == {"BYG": "primary", "PPR": "secondary"}
    from relcoord.figures import rc_map
    ties = pd.DataFrame({"rater_unit": ["DTN", "YDS", "BYG", "PPR"], "target_unit": ["YDS", "DTN", "DTN", "DTN"],
                         "rater_kind": "base", "target_kind": "base", "n": [80, 25, None, None],
                         "rc_mean": [3.2, 4.1, None, None], "suppressed": [False, False, True, True],
                         "suppression": ["", "", "primary", "secondary"]})
    for lang in ("da", "en"):
        fig = rc_map(ties, units, sizes=sizes, hidden=why, lang=lang, min_group_size=5, bands=scoring().bands)
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert FIG_TEXT[lang]["size_protect"] in texts
        assert FIG_TEXT[lang]["size_hidden"].format(k=5) in texts
        node_styles = {a.get_gid(): a.get_linestyle() for ax in fig.axes for a in ax.collections if a.get_gid()}
        assert node_styles["unit-node:PPR"] != node_styles["unit-node:BYG"]


def test_report_says_why_a_count_is_hidden():
    from relcoord.report import TEXT
    assert "beskytte en lille gruppe" in TEXT["da"]["f_hidden"] and "færre end {k}" in TEXT["da"]["f_hidden"]
    assert "protect a small group" in TEXT["en"]["f_hidden"] and "fewer than {k}" in TEXT["en"]["f_hidden"]


# --------------------------------------------------------------------------- independent exact check


def _rank(rows: list[list[Fraction]]) -> int:
    """Rank over the rationals (dense Gaussian elimination on Fractions)."""
    m = [list(r) for r in rows if any(r)]
    rank, col = 0, 0
    ncol = len(m[0]) if m else 0
    while rank < len(m) and col < ncol:
        piv = next((i for i in range(rank, len(m)) if m[i][col] != 0), None)
        if piv is None:
            col += 1
            continue
        m[rank], m[piv] = m[piv], m[rank]
        p = m[rank]
        for i in range(len(m)):
            if i != rank and m[i][col] != 0:
                f = m[i][col] / p[col]
                m[i] = [a - f * b for a, b in zip(m[i], p)]
        rank += 1
        col += 1
    return rank


def _derivable(target: dict, published: list[dict]) -> bool:
    """target in span(published)? Columns identical over every vector are merged
    first (exact), then rank(published + target) == rank(published)."""
    keys = sorted(set(target).union(*published) if published else set(target), key=repr)
    vecs = published + [target]
    cols: dict = {}
    for k_ in keys:
        cols.setdefault(tuple(v.get(k_, 0) for v in vecs), None)
    mat = [[Fraction(c[i]) for c in cols] for i in range(len(vecs))]
    return _rank(mat) == _rank(mat[:-1])


def _zone_dim(zone: set, published: list[dict], rank=None) -> int:
    """dim(span(published) ∩ vectors supported on ``zone``) = rank(P) − rank(P without the zone's columns):
    > 0 when some nonzero figure of the zone's respondents alone can be worked out."""
    vecs = [v for v in published if v]
    if not vecs:
        return 0
    keys = sorted(set().union(*vecs), key=repr)
    full: dict = {}
    rest: dict = {}
    for k_ in keys:
        col = tuple(v.get(k_, 0) for v in vecs)
        full.setdefault((k_ in zone, col), None)          # identical columns on one side merged (exact)
        if k_ not in zone:
            rest.setdefault(col, None)
    rank = rank or _rank
    m_full = [[Fraction(c[1][i]) for c in full] for i in range(len(vecs))]
    m_rest = [[Fraction(c[i]) for c in rest] for i in range(len(vecs))]
    return rank(m_full) - (rank(m_rest) if rest else 0)


def rank_mod_p(rows, p: int = 2_147_483_629) -> int:
    """Rank of an integer matrix over GF(p) (a large prime): equal to the rank over the rationals
    unless p divides a minor, which for small entries it practically never does. For large rounds."""
    m = np.array([[int(x) % p for x in r] for r in rows], dtype=np.int64).reshape(len(rows), -1)
    rank = 0
    for col in range(m.shape[1]):
        piv = np.flatnonzero(m[rank:, col])
        if not len(piv):
            continue
        i = rank + piv[0]
        m[[rank, i]] = m[[i, rank]]
        inv = pow(int(m[rank, col]), p - 2, p)
        m[rank] = (m[rank] * inv) % p
        nz = np.flatnonzero(m[:, col])
        nz = nz[nz != rank]
        if len(nz):
            m[nz] = (m[nz] - (m[nz, col][:, None] * m[rank][None, :]) % p) % p
        rank += 1
        if rank == m.shape[0]:
            break
    return rank


def leaks(internal, rf, respondents, k, rank=None) -> list:
    """Hidden small groups of which some figure lies in the span of everything
    published, at respondent level (coordinates (respondent, target) for sums,
    respondents for counts, i.e. as if answers were complete: used with
    complete answers for counts). A count is what a reader can relate
    across figures only through the sizes of the sets counted: per class
    (base unit, networks) either the whole class or, with missing answers, a
    subset of it (identical subsets are one unknown; at respondent level every
    coordinate would be a known 1). A group is every primary cell (its
    respondents: a figure of theirs alone, e.g. its sum, or the difference of
    two of their sums, is a leak) and every base unit or network with 1..k-1
    members (all their sums, their count)."""
    rt = internal["respondent_ties"]
    ok = rt[rt["rc"].notna()]
    pairs = set(zip(ok["respondent_id"], ok["target_unit"]))
    resp = respondents.set_index("respondent_id")
    members = {}
    for rid, row in resp.iterrows():
        members.setdefault(row["rater_unit"], set()).add(rid)
        for n in filter(None, str(row["networks"] or "").split(";")):
            members.setdefault(n, set()).add(rid)
    kinds = dict(zip(internal["units"]["unit_id"], internal["units"]["kind"]))

    def tie_sum(g, t):
        return {(r, t): 1 for r in members.get(g, ()) if (r, t) in pairs}

    cls = {rid: (row["rater_unit"], frozenset(filter(None, str(row["networks"] or "").split(";"))))
           for rid, row in resp.iterrows()}
    class_size: dict = {}
    for c in cls.values():
        class_size[c] = class_size.get(c, 0) + 1

    def cc(rs):
        """A set of respondents as count unknowns: whole classes, or subsets of a class."""
        by: dict = {}
        for r in rs:
            by.setdefault(cls[r], set()).add(r)
        return {(("R", c) if len(m) == class_size[c] else ("S", c, frozenset(m))): 1 for c, m in by.items()}

    def tie_cnt(g, t):
        return cc(r for r in members.get(g, ()) if (r, t) in pairs)

    def add(vs):
        out = {}
        for v in vs:
            for k_, x in v.items():
                out[k_] = out.get(k_, 0) + x
        return {k_: x for k_, x in out.items() if x}

    targets = sorted(set(rt["target_unit"]))
    pub_s, pub_c, prot = [], [], []
    ti = internal["ties"]
    tr = rf["ties"]
    for (_, a), (_, b) in zip(ti.iterrows(), tr.iterrows()):
        g, t = a["rater_unit"], a["target_unit"]
        if not b["suppressed"]:
            pub_s.append(tie_sum(g, t))
            pub_c.append(tie_cnt(g, t))
        elif 1 <= a["n"] < k:
            prot.append((("tie", g, t), tie_sum(g, t), tie_cnt(g, t)))
    ui, ur = internal["units"].set_index("unit_id"), rf["units"].set_index("unit_id")
    for uid in ui.index:
        outsiders = set(resp.index) - members.get(uid, set())
        rec_s = {(r, uid): 1 for r in outsiders if (r, uid) in pairs}
        rec_c = cc(r for r in outsiders if (r, uid) in pairs)
        btw_s = add(tie_sum(uid, t) for t in targets if t != uid)
        btw_c = cc(r for r in members.get(uid, ()) if any((r, t) in pairs for t in targets if t != uid))
        for part, s_, c_ in (("within", tie_sum(uid, uid), tie_cnt(uid, uid)), ("received", rec_s, rec_c),
                             ("between", btw_s, btw_c)):
            n = ui.loc[uid, f"{part}_n"]
            if not ur.loc[uid, f"{part}_suppressed"] and pd.notna(ur.loc[uid, f"{part}_n"]):
                pub_s.append(s_)
                pub_c.append(c_)
            elif 1 <= n < k:
                prot.append((("unit", part, uid), s_, c_))
    br = rf["blocks"].set_index("block")
    for blk in br.index:
        rows = [(g, t) for g, t, rk, tk in zip(ti["rater_unit"], ti["target_unit"], ti["rater_kind"],
                                              ti["target_kind"])
                if (f"within_{rk}" if g == t else f"{rk}_to_{tk}") == blk]
        s_ = add(tie_sum(g, t) for g, t in rows)
        c_ = add(tie_cnt(g, t) for g, t in rows)
        if not br.loc[blk, "suppressed"]:
            pub_s.append(s_)
            pub_c.append(c_)
    o = rf["organisation"]
    if o.loc[o["measure"] == "rc", "n"].notna().all():
        base_rows = [(g, t) for g, t, rk in zip(ti["rater_unit"], ti["target_unit"], ti["rater_kind"]) if rk == "base"]
        pub_s.append(add(tie_sum(g, t) for g, t in base_rows))
        pub_c.append(cc(r for r in resp.index if any((r, t) in pairs for t in targets)))
    per = resp["rater_unit"].value_counts().to_dict()
    shown, _ = suppress_counts(per, k, count_exposure(respondents, ok[["respondent_id", "target_unit"]]))
    fixed = [cc(resp.index)]                             # validation publishes these, before any audit
    for u, n in shown.items():
        vec = cc(r for r in members[u] if r in resp.index and resp.loc[r, "rater_unit"] == u)
        if n is not None:
            fixed.append(vec)
        elif 1 <= per[u] < k:
            prot.append((("summary", u), {}, vec))
    pub_c += fixed
    del kinds
    for g, mem in members.items():                        # small groups: everything about them
        if 1 <= len(mem) < k:
            prot.append((("group", g), {(r, t): 1 for r in mem for t in targets if (r, t) in pairs},
                         cc(mem)))
    out = []
    for key, s_, c_ in prot:
        if s_ and _zone_dim(set(s_), pub_s, rank) > 0:
            out.append((key, "sum"))
        if c_ and _zone_dim(set(c_), pub_c, rank) > _zone_dim(set(c_), fixed, rank):
            out.append((key, "count"))
    return out


@st.composite
def organisations(draw):
    n_base = draw(st.integers(2, 4))
    n_net = draw(st.integers(1, 2))
    sizes = {f"B{i}": draw(st.integers(1, 12)) for i in range(n_base)}
    nets = {}
    for j in range(n_net):
        nets[f"N{j}"] = {u: draw(st.integers(0, n)) for u, n in sizes.items()}
    seed = draw(st.integers(0, 2**31))
    return sizes, nets, seed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations(), st.booleans())
def test_no_hidden_group_in_the_span_of_what_is_published(org, set_rules):
    """Audit-only (the default: the audit chooses every complement) and the old set rules + audit."""
    sizes, nets, seed = org
    # random memberships: the first m of each unit are members (m drawn per unit and network) reshuffled
    rng = np.random.default_rng(seed)
    responses, respondents, units = make_round(sizes, nets, rng=rng)
    perm = {u: rng.permutation(n) for u, n in sizes.items()}
    respondents["networks"] = [
        ";".join(N for N in nets if perm[u][int(r.split("-")[1])] < nets[N].get(u, 0))
        for r, u in zip(respondents["respondent_id"], respondents["rater_unit"])]
    internal = score_round(responses, respondents, units, INST, scoring(), k=5, seed=0)
    rf = reader_facing(internal, 5, respondents, set_rules=set_rules)
    assert not leaks(internal, rf, respondents, 5)
    if not set_rules:
        assert "secondary" not in set(rf["ties"]["suppression"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_no_hidden_sum_derivable_with_missing_answers(org):
    sizes, nets, seed = org
    rng = np.random.default_rng(seed)
    responses, respondents, units = make_round(sizes, nets, rng=rng, p_missing=0.15)
    internal = score_round(responses, respondents, units, INST, scoring(), k=5, seed=0)
    rf = reader_facing(internal, 5, respondents)
    assert not [x for x in leaks(internal, rf, respondents, 5) if x[1] == "sum"]


def test_comparison_row_over_other_respondents_is_hidden():
    """A changes.csv row whose count differs from the count the round publishes
    for that cell is an aggregate the round's audit never saw: hidden."""
    from relcoord.publish import suppress_changes

    ties = pd.DataFrame({"rater_unit": ["A", "B"], "target_unit": ["B", "A"], "n": [20, 30], "rc_mean": [4.0, 3.0],
                         "suppressed": False})
    changes = pd.DataFrame({"level": "tie", "rater_unit": ["A", "B", "A"], "target_unit": ["B", "A", "B"],
                            "measure": ["rc", "rc", "timely"], "n_a": [20, 27, 19], "n_b": [21, 30, 20],
                            "mean_a": 3.5, "mean_b": 3.6, "diff": 0.1})
    out = suppress_changes(changes, 5, {"ties": ties}, None)
    assert out["suppressed"].tolist() == [False, True, False]


def test_lone_small_unit_costs_cheap_cells_not_a_units_row():
    """Issue 12: one small unit (BYG) next to a 16-person unit (PPR). The set rules hid PPR's whole row (the
    smallest visible rater in every column); the audit hides received cells, blocks and the odd tie instead,
    and summary.json's count complement is a unit whose ties do not give its count away."""
    responses, respondents, units = make_round({"BYG": 4, "PPR": 16, "DTN": 40, "SUC": 30}, {"N": {"PPR": 6, "DTN": 9}},
                                               seed=12, p_missing=0.08)
    internal = score_round(responses, respondents, units, INST, scoring(), k=5, seed=0)
    rules = reader_facing(internal, 5, respondents, set_rules=True)
    audit = reader_facing(internal, 5, respondents)
    hidden = {name: (rf["ties"]["suppression"] != "").sum() for name, rf in (("rules", rules), ("audit", audit))}
    assert hidden["audit"] < hidden["rules"], hidden
    t = audit["ties"]
    assert set(t["suppression"]) <= {"", "primary", "complementary"}
    assert (t.loc[t["rater_unit"] == "PPR", "suppression"] != "").sum() <= 2        # PPR's row is shown
    assert (rules["ties"].loc[rules["ties"]["rater_unit"] == "PPR", "suppression"] == "secondary").sum() >= 3
    assert not leaks(internal, audit, respondents, 5)
    assert leaks(internal, reader_facing(internal, 5, respondents, audit=False, set_rules=False), respondents, 5)
