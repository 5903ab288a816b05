"""Tests for relcoord.unit_pages: a page per unit for the feedback dialogue.

A small synthetic round (five units, one of them with every figure hidden, one
hidden tie carrying a distinctive value in the unsuppressed table) checks
exactly what each page shows; the simulated demo round of tests/test_figures.py
checks that no value of a cell the reader-facing step hides reaches any page.
"""

from __future__ import annotations

import html as htmlmod
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from relcoord import unit_pages as U
from relcoord.locales import text
from relcoord.present import fmt_ci, fmt_num
from relcoord.publish import reader_facing
from test_figures import K, demo_round, instrument, summary_for

LANGS = ("da", "en")
ITEMS = list(instrument().index_keys)

# hostile names: markup, an ampersand, text a spreadsheet takes for a formula
A_NAME = "<script>alert(1)</script> Alpha & Co"
B_NAME = "=SUM(1;2) Beta"
REGISTER = pd.DataFrame({
    "unit_id": ["A", "B", "C", "Z", "N"],
    "name": [A_NAME, B_NAME, "Gamma", "Zeta", "+45 Net"],
    "kind": ["base", "base", "base", "base", "network"],
    "area": ["North", "North", "South", "South", ""],
})
#: a hidden tie (C -> A: hidden by secondary suppression, its own n is >= k) and its distinctive value
HIDDEN_TIE, MARKER = ("C", "A"), 1.234
#: every value of a tie that involves Z (Z rated with n < k; the others' ratings of Z hidden as complements)
Z_VALUE = 4.876


def _value(i: int) -> float:
    return round(2.5 + 0.0371 * i, 5)                  # distinct, two-decimal-distinct values 2.50 ... 3.39


def synthetic_round() -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict]:
    """(internal ties, public tables, published summary) of the synthetic round."""
    ids = REGISTER["unit_id"].tolist()
    kinds = dict(zip(REGISTER["unit_id"], REGISTER["kind"]))
    rows = []
    for i, (r, c) in enumerate((r, c) for r in ids for c in ids):
        v = Z_VALUE if "Z" in (r, c) else MARKER if (r, c) == HIDDEN_TIE else _value(i)
        rows.append({"rater_unit": r, "target_unit": c, "rater_kind": kinds[r], "target_kind": kinds[c],
                     "n": 3 if r == "Z" else 10 + i % 7, "rc_mean": v, "rc_sd": 0.5, "ci_low": v - 0.1,
                     "ci_high": v + 0.1, "communication": v, "relationship": v,
                     **{it: v + 0.01 * j for j, it in enumerate(ITEMS)}, "band": "", "ci_method": "t"})
    internal = pd.DataFrame(rows)
    pub = internal.copy()
    why = np.where(pub["rater_unit"] == "Z", "primary",
                   np.where((pub["target_unit"] == "Z").to_numpy() | np.array([(r, c) == HIDDEN_TIE for r, c in
                                                                       zip(pub["rater_unit"], pub["target_unit"])]),
                            "secondary", ""))
    hide = why != ""
    stats = ["n", "rc_mean", "rc_sd", "ci_low", "ci_high", "communication", "relationship", *ITEMS]
    pub.loc[hide, stats] = np.nan
    pub.loc[hide, "band"] = ""
    pub["suppressed"], pub["suppression"] = hide, why
    units = REGISTER[["unit_id", "name", "kind", "area"]].copy()
    for part in ("within", "between", "received"):
        units[f"{part}_rc"] = [3.1, 3.2, 3.3, np.nan, 3.4] if part != "received" else [np.nan, 3.2, 3.3, np.nan,
                                                                                         3.4]
        units[f"{part}_n"] = [10, 11, 12, np.nan, 13] if part != "received" else [np.nan, 40, 40, np.nan, 40]
        units[f"{part}_suppressed"] = units[f"{part}_rc"].isna()
        units[f"{part}_suppression"] = np.where(units["unit_id"] == "Z", "primary",
                                                np.where(units[f"{part}_rc"].isna(), "complementary", ""))
    within = pub[pub["rater_unit"] == pub["target_unit"]].set_index("rater_unit")
    units["within_rc"] = units["unit_id"].map(within["rc_mean"])         # within = the tie A -> A
    units["within_n"] = units["unit_id"].map(within["n"])
    summary = {"respondents_per_unit": {"A": 14, "B": None, "C": 12, "Z": None},
               "respondents_per_unit_hidden": {"B": "secondary", "Z": "primary"}}
    return internal, {"ties": pub, "units": units}, summary


def render(lang: str = "en", **kw) -> dict[str, str]:
    _, tables, summary = synthetic_round()
    return U.unit_pages(tables, summary, REGISTER, instrument(), round_label="Round 2025", lang=lang, k=K, **kw)


class _Rows(HTMLParser):
    """Every table row of a page as its cells' text; the links."""

    def __init__(self):
        super().__init__()
        self.rows, self.links, self._row, self._cell = [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(page: str) -> _Rows:
    p = _Rows()
    p.feed(page)
    return p


def shown_text(page: str) -> str:
    """The page's text as a reader sees it (no style, tags removed, entities unescaped)."""
    s = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", s))


def shows_value(page: str, value: float) -> bool:
    """``value`` to two decimals, with either decimal mark, as a number of its own."""
    a, b = f"{value:.2f}".split(".")
    return re.search(rf"(?<![\d.,]){a}[.,]{b}(?!\d)", shown_text(page)) is not None


# --------------------------------------------------------------------------- which pages


@pytest.mark.parametrize("lang", LANGS)
def test_a_page_for_every_unit_that_may_be_shown_and_none_for_a_hidden_one(lang):
    pages = render(lang)
    assert set(pages) == {"A.html", "B.html", "C.html", "N.html", "index.html"}
    index = pages["index.html"]
    assert [h for h in parse(index).links if h.endswith(".html") and not h.startswith("..")] == \
        ["A.html", "B.html", "C.html", "N.html"]                        # register order, networks last
    assert "Zeta" not in shown_text(index) and "Z.html" not in index


def test_the_demo_round_gets_a_page_for_exactly_the_units_with_a_visible_figure():
    st, _, public = demo_round()
    pages = U.unit_pages(public, summary_for(st, "2024"), st.units, instrument(), round_label="2024", lang="en",
                         k=K)
    t = public["ties"]
    vis = t[~t["suppressed"].astype(bool) & t["rc_mean"].notna()]
    vis = vis[vis["rater_unit"] != vis["target_unit"]]
    expected = set(vis["rater_unit"]) | set(vis["target_unit"])
    assert {p.removesuffix(".html") for p in pages} - {"index"} >= expected
    assert len(pages) >= 10


# --------------------------------------------------------------------------- what a page shows


@pytest.mark.parametrize("lang", LANGS)
def test_both_directions_of_every_relation_side_by_side_in_register_order(lang):
    internal, tables, _ = synthetic_round()
    t = tables["ties"].set_index(["rater_unit", "target_unit"])
    page = render(lang)["B.html"]
    rows = {r[0]: r for r in parse(page).rows if r and r[0].endswith(")") and len(r) == 7}
    assert list(rows) == [f"{A_NAME} (A)", "Gamma (C)", "Zeta (Z)", "+45 Net (N)"]      # not by score
    hidden = text(lang)["unit_page"]["hidden"]
    for other, label in (("A", f"{A_NAME} (A)"), ("C", "Gamma (C)"), ("N", "+45 Net (N)")):
        ab, ba = t.loc[("B", other)], t.loc[(other, "B")]
        assert rows[label][1:4] == [fmt_num(ab["rc_mean"], lang), fmt_ci(ab["ci_low"], ab["ci_high"], lang),
                                    str(int(ab["n"]))]
        assert rows[label][4:7] == [fmt_num(ba["rc_mean"], lang), fmt_ci(ba["ci_low"], ba["ci_high"], lang),
                                    str(int(ba["n"]))]
    # Z: Z -> B hidden with n < k ("< k"), B -> Z hidden to protect Z ("–")
    assert rows["Zeta (Z)"][1:] == [hidden, "–", "–", hidden, "–", f"< {K}"]


@pytest.mark.parametrize("lang", LANGS)
def test_hidden_cells_are_marked_and_never_show_their_value(lang):
    pages = render(lang)
    hidden = text(lang)["unit_page"]["hidden"]
    rows = {r[0]: r for r in parse(pages["A.html"]).rows if r and r[0] == "Gamma (C)" and len(r) == 7}
    assert rows["Gamma (C)"][4:] == [hidden, "–", "–"]                      # C -> A hidden (secondary)
    for name, page in pages.items():
        assert not shows_value(page, MARKER), name
        assert not shows_value(page, Z_VALUE) and not shows_value(page, Z_VALUE + 0.1), name
        for j in range(len(ITEMS)):
            assert not shows_value(page, MARKER + 0.01 * j) and not shows_value(page, Z_VALUE + 0.01 * j), name
    # counts and unit cells: A's respondents shown, its received RC hidden; B's respondents hidden (secondary)
    kpis = {p: re.findall(r'<span class="value( hidden)?">([^<]*)</span>', pages[p]) for p in ("A.html", "B.html")}
    assert kpis["A.html"][0] == ("", "14") and kpis["A.html"][-1] == (" hidden", hidden)
    assert kpis["B.html"][0] == (" hidden", hidden)


@pytest.mark.parametrize("lang", LANGS)
def test_within_rc_and_the_dimensions_of_the_highest_and_lowest_relation(lang):
    _, tables, _ = synthetic_round()
    t = tables["ties"].set_index(["rater_unit", "target_unit"])
    page = render(lang)["C.html"]
    tp = text(lang)["unit_page"]
    assert fmt_num(t.loc[("C", "C"), "rc_mean"], lang) in page and tp["within"] in page
    # C's relations with both directions visible: B and N (C -> A is hidden; Z hidden)
    both = {o: (t.loc[("C", o), "rc_mean"] + t.loc[(o, "C"), "rc_mean"]) / 2 for o in ("B", "N")}
    hi, lo = max(both, key=both.get), min(both, key=both.get)
    names = dict(zip(REGISTER["unit_id"], REGISTER["name"]))
    assert htmlmod.escape(tp["highest"].format(name=names[hi])) in page
    assert htmlmod.escape(tp["lowest"].format(name=names[lo])) in page
    dims = [r for r in parse(page).rows if r and r[0] == instrument().item(ITEMS[0]).label(lang)]
    assert dims and dims[0][1:] == [fmt_num(t.loc[pair, ITEMS[0]], lang) for pair in
                                    (("C", hi), (hi, "C"), ("C", lo), (lo, "C"))]
    assert len([r for r in parse(page).rows if len(r) == 5]) >= len(ITEMS)


@pytest.mark.parametrize("lang", LANGS)
def test_neutral_page_with_reading_guide_in_both_languages(lang):
    pages = render(lang)
    tp = text(lang)["unit_page"]
    for name, page in pages.items():
        if name == "index.html":
            assert tp["index_title"] in page
            continue
        assert f'<html lang="{lang}">' in page
        assert htmlmod.escape(tp["intro"].format(round="Round 2025"), quote=False) in page
        classes = " ".join(re.findall(r'class="([^"]*)"', page)).split()
        assert not {c for c in classes if c.startswith("band-") or c in ("up", "down")}   # no blame colours
        assert "@media print" in page and "size: A4" in page
        assert "<script" not in page and "http" not in page                 # self-contained, no scripts
    other = "en" if lang == "da" else "da"
    assert text(other)["unit_page"]["intro"].format(round="Round 2025") not in shown_text(pages["A.html"])
    assert text(other)["unit_page"]["relations_h"] not in shown_text(pages["A.html"])


def test_names_are_escaped():
    pages = render("en")
    for name, page in pages.items():
        assert "<script>alert" not in page, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Alpha &amp; Co" in pages["A.html"]
    assert A_NAME in shown_text(pages["A.html"]) and B_NAME in shown_text(pages["B.html"])
    assert A_NAME in shown_text(pages["index.html"])


def test_change_per_relation_when_a_comparison_is_given():
    _, tables, _ = synthetic_round()
    n = tables["ties"].set_index(["rater_unit", "target_unit"])["n"]
    pairs = [("A", "B"), ("C", "A"), ("B", "A")]
    changes = pd.DataFrame({
        "level": ["tie"] * 3, "rater_unit": [r for r, _ in pairs], "target_unit": [c for _, c in pairs],
        "measure": ["rc"] * 3, "n_a": [12] * 3, "n_b": [n[p] if n[p] == n[p] else 12 for p in pairs],
        "mean_a": [3.0] * 3, "mean_b": [3.123, 3.456, 3.0], "diff": [0.123, 0.456, -0.0789],
        "suppressed": [False] * 3})
    pages = render("en", changes=changes, changes_label="Round 2024")
    a = pages["A.html"]
    assert "Change</th>" in a and "this round minus Round 2024" in a
    # a row whose count differs from what this round publishes is a new aggregate: hidden
    other_n = render("en", changes=changes.assign(n_b=changes["n_b"] + 1), changes_label="Round 2024")["A.html"]
    assert not shows_value(other_n, 0.123)
    rows = {r[0]: r for r in parse(a).rows if r and len(r) == 9}
    assert rows[f"{B_NAME} (B)"][4] == "+0.12" and rows[f"{B_NAME} (B)"][8] == "−0.08"
    assert rows["Gamma (C)"][8] == "–" and not shows_value(a, 0.456)        # C -> A is hidden in this round
    assert "Change</th>" not in render("en")["A.html"]                    # no comparison: no change column


# --------------------------------------------------------------------------- the demo round, privacy


@pytest.mark.parametrize("lang", LANGS)
def test_no_value_of_a_cell_the_reader_facing_step_hides_appears_on_any_page(lang):
    """The pattern of tests/test_report.py: a tie with n < k carries 1.234 in the internal tables; the
    reader-facing step blanks it; no page shows it."""
    st, internal, _ = demo_round()
    internal = {k_: v.copy() for k_, v in internal.items()}
    t = internal["ties"]
    small = t.index[(t["n"] < K) & (t["n"] > 0)]
    assert len(small)
    item_cols = [c for c in instrument().keys if c in t.columns]
    t.loc[small, ["rc_mean", "ci_low", "ci_high", "communication", "relationship", *item_cols]] = MARKER
    public = reader_facing({k_: v for k_, v in internal.items() if k_ != "rater_groups"}, K)
    assert public["ties"].loc[public["ties"]["rc_mean"] == MARKER].empty
    pages = U.unit_pages(public, summary_for(st, "2024"), st.units, instrument(), round_label="2024", lang=lang,
                         k=K)
    assert len(pages) > 5
    for name, page in pages.items():
        assert not shows_value(page, MARKER), name


def test_a_value_an_upstream_step_forgot_to_blank_is_not_shown():
    _, tables, summary = synthetic_round()
    t = tables["ties"]
    i = t.index[(t["rater_unit"] == "A") & (t["target_unit"] == "B")][0]
    t.loc[i, ["rc_mean", "suppressed"]] = [MARKER, True]                  # flagged but not blanked
    j = t.index[(t["rater_unit"] == "B") & (t["target_unit"] == "C")][0]
    t.loc[j, ["rc_mean", "n"]] = [MARKER, K - 1]                          # n < k but not flagged
    pages = U.unit_pages(tables, summary, REGISTER, instrument(), round_label="R", lang="da", k=K)
    assert all(not shows_value(p, MARKER) for p in pages.values())


# --------------------------------------------------------------------------- files


def test_write_unit_pages_replaces_old_pages_and_is_deterministic(tmp_path):
    _, tables, summary = synthetic_round()
    out = tmp_path / "units"
    out.mkdir()
    (out / "Z.html").write_text("an old page of a unit now hidden", encoding="utf-8")
    kw = dict(round_label="Round 2025", lang="da", k=K)
    paths = U.write_unit_pages(out, tables, summary, REGISTER, instrument(), **kw)
    assert sorted(p.name for p in out.iterdir()) == ["A.html", "B.html", "C.html", "N.html", "index.html"]
    assert paths[-1].name == "index.html"
    first = {p.name: p.read_bytes() for p in paths}
    U.write_unit_pages(out, tables, summary, REGISTER, instrument(), **kw)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_page_names_are_safe_file_names():
    names = U.page_names(["HJP", "N-BORGER", "index", "a/b", "../x", "Æ ø", "hjp"])
    assert names["HJP"] == "HJP.html" and names["N-BORGER"] == "N-BORGER.html"
    for uid in ("index", "a/b", "../x", "Æ ø", "hjp"):
        assert re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{10}\.html", names[uid]), uid
    assert len({n.lower() for n in names.values()}) == len(names)
