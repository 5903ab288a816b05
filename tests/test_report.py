"""Tests for relcoord.report: self-contained HTML reports in Danish and English,
embedded images, sections, privacy (no suppressed value ever shown), texts.

Demo data come from the library (see the builders in tests/test_figures.py).
"""

from __future__ import annotations

import base64
import io
import re
from functools import cache
from pathlib import Path
from html.parser import HTMLParser

import matplotlib.image as mpimg
import pandas as pd
import pytest

from relcoord import figures as F
from relcoord import report as R
from relcoord.publish import reader_facing
from test_figures import (BANDS, FIG, INVITED, K, ROUND_LABELS, demo_comparison, demo_round, figure_outputs, instrument,
                          responses_with_answers, scored, study, summary_for, synthetic_changes, synthetic_model)

SOFTWARE = {"python": "3.x", "pandas": "2.x"}          # fixed, so no version string can look like a value
PROVENANCE = {"config_sha256": "c0ffee" * 10 + "abcd", "software": SOFTWARE}
LANGS = ("da", "en")


def round_kw(lang: str) -> dict:
    """round_report's settings (title unset: the language's default title)."""
    return {"lang": lang, "k": K, "bands": BANDS, "title": "", "min_items": 6, "invited": INVITED["2024"]}


def comparison_kw(lang: str) -> dict:
    return {"lang": lang, "k": K, "bands": BANDS, "title": "", "round_labels": ROUND_LABELS, "invited": INVITED}


@cache
def round_figure_paths(tmpdir: str, lang: str) -> dict:
    st, internal, public = demo_round()
    return F.round_figures(public, summary_for(st, "2024"), responses_with_answers(st, "2024"), st.units,
                           instrument(), figure_outputs(Path(tmpdir) / lang / "round", F.ROUND_FIGURES), lang=lang,
                           k=K, bands=BANDS, round_label="Baseline 2024", invited=520)


@pytest.fixture(scope="module")
def figdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("figs"))


def render_round(lang: str, figures: dict | None = None, tables: dict | None = None) -> str:
    st, internal, public = demo_round()
    return R.round_report("2024", "Baseline 2024", tables or public, summary_for(st, "2024"), figures, st.units,
                          instrument(), PROVENANCE, **round_kw(lang))


def render_comparison(lang: str, figures: dict | None = None, changes: pd.DataFrame | None = None) -> str:
    st = study()
    ch, model, pairs, pa, pb = demo_comparison()
    return R.comparison_report("2024_vs_2025", "2024", "2025", ch if changes is None else changes, model, figures,
                               st.units, instrument(), PROVENANCE, **comparison_kw(lang),
                               summaries={"2024": summary_for(st, "2024"), "2025": summary_for(st, "2025")},
                               public_a=pa, public_b=pb)


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.ids, self.links, self.scripts = [], set(), [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a.get("src", ""))
        if "id" in a:
            self.ids.add(a["id"])
        if tag in ("link", "script") or (tag == "a" and a.get("href", "").startswith("http")):
            self.links.append((tag, a))


def parse(html: str) -> _Imgs:
    p = _Imgs()
    p.feed(html)
    return p


def visible_text(html: str) -> str:
    """The HTML without embedded images (base64 has no '.' or ',', but keep checks honest)."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)


def shows_value(html: str, value: str) -> bool:
    """``value`` like "1.23" shown as a number (either decimal mark), not as part of a longer number."""
    a, b = value.split(".")
    return re.search(rf"(?<![\d.,]){a}[.,]{b}(?!\d)", visible_text(html)) is not None


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("lang", LANGS)
def test_round_report_embeds_every_figure_as_png(lang, figdir):
    figs = round_figure_paths(figdir, lang)
    html = render_round(lang, figs)
    p = parse(html)
    assert len(p.srcs) == len(F.ROUND_FIGURES)
    for src in p.srcs:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        img = mpimg.imread(io.BytesIO(data), format="png")
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert not p.links, "a report must not load anything from elsewhere"
    assert f'<html lang="{lang}">' in html
    for name in F.ROUND_FIGURES:
        assert f'id="fig-{name}"' in html
        assert F.captions(lang, K, BANDS)[name].split(":")[0][:40].replace('"', "&#34;") in html


@pytest.mark.parametrize("lang", LANGS)
def test_round_report_has_every_section(lang):
    ids = parse(render_round(lang)).ids
    for s in R.ROUND_SECTIONS:
        assert s in ids, s


@pytest.mark.parametrize("lang", LANGS)
def test_comparison_report_sections_and_images(lang, tmp_path):
    st = study()
    ch, model, pairs, pa, pb = demo_comparison()
    figs = F.comparison_figures(ch, model, st.units, instrument(), figure_outputs(tmp_path, F.COMPARISON_FIGURES),
                                lang=lang, k=K, bands=BANDS, shared_pairs=pairs,
                                public_a=pa, public_b=pb, label_a="2024", label_b="2025")
    html = render_comparison(lang, figs)
    p = parse(html)
    for s in R.COMPARISON_SECTIONS:
        assert s in p.ids, s
    assert len(p.srcs) == len(F.COMPARISON_FIGURES)
    for src in p.srcs:
        data = base64.b64decode(src.split(",", 1)[1])
        assert data.startswith(b"\x89PNG") and mpimg.imread(io.BytesIO(data), format="png").size
    assert not p.links


def test_reports_are_deterministic(figdir):
    figs = round_figure_paths(figdir, "da")
    assert render_round("da", figs) == render_round("da", figs)
    assert render_comparison("en") == render_comparison("en")


@pytest.mark.parametrize("lang", LANGS)
def test_index_page_links_every_report(lang):
    rounds = [{"id": "2024", "label": "Baseline 2024", "href": "2024/report.html", "date": "2024-03-01"},
              ("2025", "Follow-up 2025", "2025/report.html")]
    comps = [{"id": "2024_vs_2025", "label": "2024 → 2025", "href": "comparisons/2024_vs_2025/report.html"}]
    html = R.index_page(rounds, comps, lang=lang)
    for href in ("2024/report.html", "2025/report.html", "comparisons/2024_vs_2025/report.html",
                 "2024/validation/report.html", "2025/validation/report.html"):
        assert f'href="{href}"' in html
    assert "Baseline 2024" in html and R.TEXT[lang]["rounds"] in html
    assert {"da": "1. marts 2024", "en": "1 March 2024"}[lang] in html and "2024-03-01" not in html
    assert f'<html lang="{lang}">' in html and "units/index.html" not in html
    empty = R.index_page([], [], lang=lang)
    assert R.TEXT[lang]["no_reports"] in empty


@pytest.mark.parametrize("lang", LANGS)
def test_index_page_links_unit_pages_that_exist_and_provenance_for_analysts(lang, tmp_path):
    (tmp_path / "2024/units").mkdir(parents=True)
    (tmp_path / "2024/units/index.html").write_text("x", encoding="utf-8")
    (tmp_path / "2024/validation").mkdir(parents=True)
    (tmp_path / "2024/validation/report.html").write_text("x", encoding="utf-8")
    rounds = [{"id": r, "label": r, "href": f"{r}/report.html", "date": f"{r}-03-01"} for r in ("2024", "2025")]
    html = R.index_page(rounds, [], lang=lang, root=tmp_path, provenance_href="provenance.json")
    assert 'href="2024/units/index.html"' in html and "2025/units" not in html
    assert 'href="2024/validation/report.html"' in html and "2025/validation" not in html   # only what exists
    # provenance one click down, under "for analysts"
    analysts = html[html.index('<details class="analysts"'):]
    assert 'href="provenance.json"' in analysts and R.TEXT[lang]["analysts"] in analysts
    assert html.count('href="provenance.json"') == 1


@pytest.mark.parametrize("lang", LANGS)
def test_round_report_links_validation_report_and_unit_pages(lang):
    html = render_round(lang)
    assert 'href="validation/report.html"' in html and 'href="units/index.html"' in html
    st, _, public = demo_round()
    none = R.round_report("2024", "Baseline 2024", public, summary_for(st, "2024"), None, st.units, instrument(),
                          PROVENANCE, **round_kw(lang), units_href=None)
    assert "units/index.html" not in none


# --------------------------------------------------------------------------- privacy


def _internal_with_marker():
    """Internal tables of the demo round where a tie with n < k carries the distinctive value 1.234."""
    st, internal, _ = demo_round()
    internal = {k_: v.copy() for k_, v in internal.items()}
    t = internal["ties"]
    small = t.index[(t["n"] < K) & (t["n"] > 0)]
    assert len(small), "the demo keeps one unit tiny, so some ties have n < k"
    item_cols = [c for c in instrument().keys if c in t.columns]
    t.loc[small[0], ["rc_mean", "ci_low", "ci_high", "communication", "relationship", *item_cols]] = 1.234
    # a tie hidden only by secondary suppression also carries a distinctive value
    return st, internal, small[0]


@pytest.mark.parametrize("lang", LANGS)
def test_no_suppressed_value_appears_in_the_round_report(lang):
    st, internal, idx = _internal_with_marker()
    public = reader_facing({k_: v for k_, v in internal.items() if k_ not in ("rater_groups",)}, K)
    assert public["ties"].loc[public["ties"]["rc_mean"] == 1.234].empty
    html = render_round(lang, tables=public)
    assert not shows_value(html, "1.23")
    hidden = R.TEXT[lang]["hidden_note"].format(k=K)
    assert hidden.split("(")[0].strip() in __import__("html").unescape(html)


@pytest.mark.parametrize("lang", LANGS)
def test_report_hides_values_an_upstream_step_forgot_to_blank(lang):
    """Defence in depth: a tie flagged suppressed, or with n < k, is never rendered, whatever value it holds."""
    st, internal, public = demo_round()
    public = {k_: v.copy() for k_, v in public.items()}
    t = public["ties"]
    vis = t.index[~t["suppressed"]]
    t.loc[vis[0], ["rc_mean", "suppressed"]] = [1.234, True]
    t.loc[vis[1], ["rc_mean", "n"]] = [1.234, 3]
    e = public["edges"]
    ev = e.index[~e["suppressed"]]
    e.loc[ev[0], ["a_to_b", "suppressed"]] = [1.234, True]
    e.loc[ev[1], ["b_to_a", "n_b_to_a"]] = [1.234, 2]
    u = public["units"]
    u.loc[u.index[0], ["within_rc", "within_n"]] = [1.234, 2]
    b = public["blocks"]
    b.loc[b.index[0], ["rc_mean", "n_respondents"]] = [1.234, 4]
    o = public["organisation"]
    o.loc[o["measure"] == "timely", ["mean", "n"]] = [1.234, 4]
    html = render_round(lang, tables=public)
    assert not shows_value(html, "1.23")


def test_small_unit_counts_show_as_less_than_k():
    st = study()
    summary = summary_for(st, "2024")
    small = {u: n for u, n in summary["respondents_per_unit"].items() if n < K}
    html = render_round("en")
    names = dict(zip(st.units["unit_id"], st.units["name"]))
    for u, _n in small.items():
        m = re.search(rf"{re.escape(names[u])} \({u}\)</td><td class=\"num\">([^<]*)</td>", html)
        assert m and m.group(1) == f"&lt; {K}", (u, m and m.group(1))


def test_a_single_small_unit_hides_the_next_smallest_count_too():
    """Respondents per unit sit next to the total: with one unit below k, the next-smallest count is
    shown "–" (not "< k": it is not small), so the small unit cannot be worked out by subtraction."""
    st = study()
    summary = summary_for(st, "2024")
    per = summary["respondents_per_unit"]
    small = [u for u, n in per.items() if n < K]
    assert len(small) == 1
    second = min((n, u) for u, n in per.items() if n >= K)[1]
    html = render_round("en")
    names = dict(zip(st.units["unit_id"], st.units["name"]))
    cell = rf"{re.escape(names[second])} \({second}\)</td><td class=\"num\">([^<]*)</td>"
    assert re.search(cell, html).group(1) == "–"
    assert re.search(rf"{re.escape(names[small[0]])} \({small[0]}\)</td><td class=\"num\">([^<]*)</td>",
                     html).group(1) == f"&lt; {K}"
    # the JSON as the workflow writes it (counts null) renders the same
    from relcoord.privacy import summary_for_readers
    html2 = R.round_report("2024", "Baseline 2024", demo_round()[2], summary_for_readers(summary, K), None, st.units,
                           instrument(), PROVENANCE, **round_kw("en"))
    assert re.search(cell, html2).group(1) == "–"


@pytest.mark.parametrize("lang", LANGS)
def test_no_suppressed_value_appears_in_the_comparison_report(lang):
    ch, model, pairs, pa, pb = demo_comparison()
    ch = ch.copy()
    # a primary-suppressed row that (wrongly) still carries values, and a row hidden only by
    # complementary suppression in round A (compare.py knows nothing of it)
    sup = ch.index[ch["suppressed"].astype(bool)]
    assert len(sup)
    ch.loc[sup[0], ["mean_a", "mean_b", "diff"]] = [1.234, 1.234, 1.234]
    sec = pa["ties"][pa["ties"]["suppression"].isin(["secondary", "complementary"])]
    assert len(sec)
    r, c = sec.iloc[0]["rater_unit"], sec.iloc[0]["target_unit"]
    row = ch.index[(ch["level"] == "tie") & (ch["rater_unit"] == r) & (ch["target_unit"] == c)
                   & (ch["measure"] == "rc")]
    ch.loc[row, ["mean_a", "suppressed"]] = [1.234, False]
    html = render_comparison(lang, changes=ch)
    assert not shows_value(html, "1.23")
    # n below k is never printed as a number
    small = ch[(ch["n_a"] < K) & (ch["n_a"] > 0)]
    assert len(small)
    assert f"&lt; {K}" in html


# --------------------------------------------------------------------------- texts and findings


def test_text_catalogues_have_the_same_keys():
    assert set(R.TEXT["da"]) == set(R.TEXT["en"])
    for lang in LANGS:
        for key, text in R.TEXT[lang].items():
            assert text.strip(), (lang, key)
    # placeholders agree between the languages
    fields = re.compile(r"{(\w+)}")
    for key in R.TEXT["da"]:
        assert set(fields.findall(R.TEXT["da"][key])) == set(fields.findall(R.TEXT["en"][key])), key


@pytest.mark.parametrize("lang", LANGS)
def test_round_findings_are_plain_and_from_the_numbers(lang):
    st, internal, public = demo_round()
    findings = [str(f) for f in R.round_findings(public, st.units, instrument(), lang=lang, k=K, bands=BANDS)]
    org = public["organisation"].set_index("measure").loc["rc"]
    first = findings[0]
    assert F.fmt_num(org["mean"], lang) in first
    assert F.fmt_num(org["ci_low"], lang) in first and F.fmt_num(org["ci_high"], lang) in first
    assert F.fmt_int(org["n"], lang) in first
    text = " ".join(findings)
    names = dict(zip(st.units["unit_id"], st.units["name"]))
    e = public["edges"][~public["edges"]["suppressed"]].copy()
    e["m"] = (e["a_to_b"] + e["b_to_a"]) / 2
    weakest = e.sort_values("m").iloc[0]
    assert names[weakest["unit_a"]] in text and F.fmt_num(weakest["a_to_b"], lang) in text \
        and F.fmt_num(weakest["b_to_a"], lang) in text


@pytest.mark.parametrize("lang", LANGS)
def test_comparison_findings_do_not_overclaim(lang):
    ch, model, pairs, pa, pb = demo_comparison()
    text = " ".join(str(f) for f in R.comparison_findings(ch, model, k=K, label_a="2024", label_b="2025",
                                                           lang=lang, public_a=pa, public_b=pb)).lower()
    if lang == "en":
        assert "not proof" in text and "share a network" in text
        for phrase in ("led to", "resulted in", "because of the network", "due to the network", "thanks to",
                       "caused by", "improved because", "proves"):
            assert phrase not in text, phrase
    else:
        assert "ikke et bevis" in text and "deler et netværk" in text
        for phrase in ("førte til", "skyldes netværk", "på grund af netværk", "takket være"):
            assert phrase not in text, phrase
    # plain words in the headline; the technical names live in the tables, the methods and the glossary
    assert "hedges" not in text and "fdr" not in text and "forskel-i-forskelle" not in text \
        and "difference-in-differences" not in text
    did = F.did_estimate(model)
    assert F.fmt_num(abs(did["estimate"]), lang, 2) in text


@pytest.mark.parametrize("lang", LANGS)
def test_comparison_findings_say_plainly_when_nothing_changed(lang):
    study()
    ia, pa = scored("2024")
    ib, pb = scored("2025")
    ch = synthetic_changes(pa, pb, ia, ib)
    ch.loc[ch["level"] == "organisation", ["p", "p_fdr"]] = 0.4
    model = synthetic_model(0.01)
    model.loc[model["term"] == "round:shares_network", ["ci_low", "ci_high"]] = [-0.03, 0.05]
    found = [str(f) for f in R.comparison_findings(ch, model, k=K, lang=lang)]
    no_change = {"da": "ændrede sig ikke påviseligt", "en": "showed no clear change"}[lang]
    no_diff = {"da": "ikke påviseligt forskelligt", "en": "no clear difference"}[lang]
    assert no_change in found[0] and no_diff in found[1]
    for f in found[:2]:
        assert not re.search(r"\b(steg|faldt|rose|fell)\b", f), f


@pytest.mark.parametrize("lang", LANGS)
def test_glossary_explains_the_technical_terms_kept(lang):
    rnd, cmp_ = render_round(lang), render_comparison(lang)
    g = __import__("relcoord.locales", fromlist=["text"]).text(lang)["glossary"]
    for html, terms in ((rnd, R.ROUND_GLOSSARY), (cmp_, R.COMPARISON_GLOSSARY)):
        body = html[html.index('id="glossary"'):html.index('id="provenance"')]
        for term in terms:
            assert str(escape(g[term]["term"].format(k=K))) in body, term
    for term in ("hedges_g", "fdr", "did", "mixed_model"):
        assert term in R.COMPARISON_GLOSSARY


@pytest.mark.parametrize("lang", LANGS)
def test_low_reliability_is_flagged_in_table_and_text(lang):
    st, internal, public = demo_round()
    public = {k_: v.copy() for k_, v in public.items()}
    rel = public["reliability"]
    row = rel.index[(rel["measure"] == "alpha_listwise") & (rel["scope"] == "communication")][0]
    rel.loc[row, "value"] = 0.57
    html = render_round(lang, tables=public)
    v = F.fmt_num(0.57, lang)
    mark = R.TEXT[lang]["below_mark"]
    assert f'<td class="num low">{v} ({mark})</td>' in html
    assert R.TEXT[lang]["below"].format(name=R.TEXT[lang]["alpha_short"], value=v) in __import__("html").unescape(html)
    assert R.TEXT[lang]["scope_communication"] in " ".join(str(f) for f in _findings(html))


@pytest.mark.parametrize("lang", LANGS)
def test_not_available_is_marked_apart_from_hidden(lang):
    """A response rate without `invited` is "ikke oplyst" / "n/a", explained under the table; "–" means hidden."""
    from relcoord.present import not_available

    st = study()
    ch, model, pairs, pa, pb = demo_comparison()
    html = R.comparison_report("2024_vs_2025", "2024", "2025", ch, model, None, st.units, instrument(), PROVENANCE,
                               **{**comparison_kw(lang), "invited": {}},
                               summaries={"2024": summary_for(st, "2024"), "2025": summary_for(st, "2025")},
                               public_a=pa, public_b=pb)
    resp = html[html.index('id="response"'):html.index('id="organisation"')]
    assert f'<td class="num">{not_available(lang)}</td>' in resp and "<td class=\"num\">–</td>" not in resp
    assert R.TEXT[lang]["resp_note"][:20].replace('"', "&#34;") in resp


@pytest.mark.parametrize("lang", LANGS)
def test_model_table_speaks_the_report_language(lang):
    html = render_comparison(lang)
    model = html[html.index('id="model"'):html.index('id="methods"')]
    for dev in ("engine:", "lme4 formulation", "Wald z", "shares_network:", "deler_netværk", "synthetic"):
        assert dev not in model, dev
    assert '<code class="rule">round:shares_network</code>' in model          # the term's name, for analysts
    assert R.TEXT[lang]["term_round_shares_network"] in model


@pytest.mark.parametrize("lang", LANGS)
def test_round_labels_head_the_change_tables(lang):
    html = render_comparison(lang)
    org = html[html.index('id="organisation"'):html.index('id="blocks"')]
    assert '<th class="num" scope="col">2024</th>' in org and '<th class="num" scope="col">2025</th>' in org


@pytest.mark.parametrize("lang", LANGS)
def test_danish_and_english_number_formats(lang):
    html = render_round(lang)
    org = demo_round()[2]["organisation"].set_index("measure").loc["rc", "mean"]
    assert F.fmt_num(org, lang) in html
    assert ("3,6" in html) == (lang == "da") or lang == "en"


def test_provenance_lists_export_files_config_hash_and_software():
    html = render_round("en")
    assert "data/raw/demo/2024/dataset.csv" in html and "ab" * 32 in html
    assert PROVENANCE["config_sha256"] in html
    assert "pandas" in html
    v = R.software_versions()
    assert {"python", "pandas", "scipy", "statsmodels", "relcoord"} <= set(v)
    assert R.config_hash({"a": 1, "b": [1, 2]}) == R.config_hash({"b": [1, 2], "a": 1})


def test_embed_png_accepts_paths_bytes_and_figures(tmp_path):
    st, internal, public = demo_round()
    fig = F.response_overview(summary_for(st, "2024"), st.units, **FIG)
    png, _ = F.save_figure(fig, tmp_path / "x")
    for src in (png, png.read_bytes(), fig, tmp_path / "x"):
        uri = R.embed_png(src)
        assert uri.startswith("data:image/png;base64,")
    assert R.embed_png(tmp_path / "missing.png") is None
    with pytest.raises(ValueError):
        R.embed_png(b"GIF89a")


# --------------------------------------------------------------------------- a unit that disappears is news (issue 11)

from markupsafe import escape  # noqa: E402

from relcoord.validation_report import TEXT as VTEXT, console_summary, validation_report_html  # noqa: E402

HEADLINE = {"da": ("Sat til side ved valideringen", "Ingen gyldige svar fra"),
            "en": ("Set aside at validation", "No valid responses from")}


def _findings(html: str) -> list[str]:
    start = html.index('<ul class="findings">')
    return re.findall(r"<li>(.*?)</li>", html[start:html.index("</ul>", start)], re.S)


@pytest.mark.parametrize("lang", LANGS)
def test_round_report_headline_states_records_set_aside_and_missing_units(lang):
    st, internal, public = demo_round()
    base = st.units[st.units["kind"] == "base"]
    uid, name = str(base["unit_id"].iat[0]), str(base["name"].iat[0])
    s = {**summary_for(st, "2024"), "records_set_aside": 3, "missing_units": [uid], "missing_units_accepted": [uid],
         "missing_unit_names": {uid: name}}
    html = R.round_report("2024", "Baseline 2024", public, s, None, st.units, instrument(), PROVENANCE,
                          **round_kw(lang))
    first, second = _findings(html)[:2]
    assert HEADLINE[lang][0] in first and "<strong>3</strong>" in first
    assert HEADLINE[lang][1] in second and str(escape(name)) in second
    # whatever validation.max_quarantined_fraction says; nothing when nothing was set aside and no unit is missing
    none = {**summary_for(st, "2024"), "records_in": s["valid"], "quarantined": 0, "records_set_aside": 0,
            "missing_units": []}
    html = R.round_report("2024", "Baseline 2024", public, none, None, st.units, instrument(), PROVENANCE,
                          **round_kw(lang))
    assert not any(h in html for h in HEADLINE[lang])


def _validation_summary(**kw) -> dict:
    return {"round": "2025", "records_in": 455, "valid": 450, "quarantined": 5, "warned": 2,
            "failures_by_rule": {"duplicate_respondent_id": 2, "unknown_unit": 3, "straightlining": 2},
            "answers": {"cells": 10, "valid": 8, "dont_know": 1, "blank": 1}, "files": [], "dropped_columns_count": 0,
            "records_set_aside": 5, "missing_units": ["HJP"], "missing_units_accepted": ["HJP"],
            "missing_unit_names": {"HJP": "Hjemmeplejen"}, **kw}


@pytest.mark.parametrize("lang", LANGS)
def test_validation_report_states_records_set_aside_and_missing_units(lang):
    failures = pd.DataFrame(columns=["source_file", "source_row", "column", "value", "rule", "message", "action"])
    html = validation_report_html(_validation_summary(), failures, "2025", lang)
    assert str(escape(VTEXT[lang]["set_aside"].format(n=5, total=455))) in html
    assert "Hjemmeplejen (HJP; " + VTEXT[lang]["accepted"] in html
    html = validation_report_html(_validation_summary(quarantined=0, valid=455, records_set_aside=0, missing_units=[],
                                                      missing_units_accepted=[], missing_unit_names={}),
                                  failures, "2025", lang)
    assert 'class="notice"' not in html


def test_console_summary_is_a_few_plain_lines():
    text = console_summary(_validation_summary(), "results/2025/validation/report.html")
    lines = text.splitlines()
    assert 2 <= len(lines) <= 4, text
    assert lines[0] == "Round 2025: 455 records in, 450 valid, 5 quarantined (set aside), 2 warned"
    assert "unknown_unit 3, duplicate_respondent_id 2" in text and "straightlining" not in text
    assert "Hjemmeplejen (HJP; accepted)" in text
    assert lines[-1].endswith("results/2025/validation/report.html")
    clean = console_summary(_validation_summary(quarantined=0, valid=455, warned=0, failures_by_rule={},
                                                records_set_aside=0, missing_units=[]), "r.html")
    assert clean.splitlines() == ["Round 2025: 455 records in, 455 valid, 0 quarantined (set aside), 0 warned",
                                  "  validation report: r.html"]


@pytest.mark.parametrize("lang,big", [("da", "12.345"), ("en", "12,345")])
def test_validation_report_in_the_report_language(lang, big):
    """Thousands separators, rules in plain words (the rule's name beside for analysts), actions and what to do
    in the report language: no developer English left on the Danish page."""
    failures = pd.DataFrame([
        {"source_file": "x.csv", "source_row": 24, "column": "s_1", "value": "99", "rule": "unknown_unit",
         "message": "base-unit code '99' is not a unit of this round", "action": "quarantined"},
        {"source_file": "x.csv", "source_row": 30, "column": "", "value": "5", "rule": "straightlining",
         "message": "the same answer code (5) to every item", "action": "warned"}])
    html = validation_report_html(_validation_summary(records_in=12345, valid=12340), failures, "2025", lang)
    assert f"<b>{big}</b>" in html
    for rule in ("unknown_unit", "straightlining", "duplicate_respondent_id"):
        assert str(escape(VTEXT[lang][f"rule_{rule}"])) + f' <code class="rule">{rule}</code>' in html
    assert str(escape(VTEXT[lang]["todo_unknown_unit"])) in html
    assert VTEXT[lang]["action_quarantined"] in html and VTEXT[lang]["action_warned"] in html
    assert "is not a unit of this round" not in html                    # the message stays in failures.csv
    if lang == "da":
        text = re.sub(r"<code[^>]*>.*?</code>|<[^>]+>", " ", html)
        for word in ("quarantined", "warned", "What to do", "Rule"):
            assert word not in text, word
