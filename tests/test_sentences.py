"""The headline's sentences (relcoord.present.s_*): pure functions, numbers in, text out. Every
direction word must agree with the sign and the significance of the numbers it stands beside,
for positive, negative and null results, in both languages (issue 15)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from relcoord import present as P
from relcoord import report as R

LANGS = ("da", "en")
#: the words that say a number went up / down, per language (as whole words)
UP = {"da": ("steg",), "en": ("rose",)}
DOWN = {"da": ("faldt",), "en": ("fell",)}
MORE = {"da": "mere", "en": "more"}
LESS = {"da": "mindre", "en": "less"}


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", re.sub(r"<[^>]+>", " ", str(text)).lower()))


def says_up(text: str, lang: str) -> bool:
    return bool(words(text) & set(UP[lang]))


def says_down(text: str, lang: str) -> bool:
    return bool(words(text) & set(DOWN[lang]))


def num(x: float, lang: str, sign: bool = False) -> str:
    return P.fmt_num(x, lang, sign=sign)


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("lo,hi,want", [(0.1, 0.3, 1), (-0.3, -0.1, -1), (-0.1, 0.2, 0), (0.0, 0.2, 0),
                                        (None, 0.2, 0), (float("nan"), 1, 0)])
def test_ci_direction(lo, hi, want):
    assert P.ci_direction(lo, hi) == want


@pytest.mark.parametrize("est,p,want", [(0.2, 0.01, 1), (-0.2, 0.01, -1), (0.2, 0.2, 0), (-0.2, 0.05, 0),
                                        (0.2, None, 0), (None, 0.01, 0), (0.0, 0.01, 0)])
def test_test_direction(est, p, want):
    assert P.test_direction(est, p) == want


@pytest.mark.parametrize("lang", LANGS)
def test_magnitude_never_prints_zero_for_a_change(lang):
    assert P.magnitude(-0.114, lang) == num(0.11, lang)
    assert P.magnitude(0.001, lang) != num(0.0, lang) and num(0.01, lang) in P.magnitude(0.001, lang)
    assert P.magnitude(None, lang) == P.MISSING


@pytest.mark.parametrize("lang,want", [("da", "1. marts 2024"), ("en", "1 March 2024")])
def test_dates_the_language_s_way(lang, want):
    assert P.fmt_date("2024-03-01", lang) == want
    assert P.fmt_date("2025-12-31", lang).endswith("2025")
    assert P.fmt_date("not a date", lang) == "not a date" and P.fmt_date(None, lang) == ""


def test_not_available_is_not_the_hidden_mark():
    for lang in LANGS:
        assert P.not_available(lang) not in (P.MISSING, "") and P.Fmt(lang, 5).na == P.not_available(lang)


# --------------------------------------------------------------------------- the organisation's change


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("diff,p,direction", [(0.11, 0.001, 1), (-0.11, 0.001, -1), (0.02, 0.40, 0),
                                              (-0.02, 0.40, 0), (0.11, 0.06, 0)])
def test_change_sentence_follows_sign_and_significance(lang, diff, p, direction):
    a = 3.62
    text = str(P.s_change(diff, p, a, a + diff, "A", "B", lang))
    assert says_up(text, lang) == (direction > 0), text
    assert says_down(text, lang) == (direction < 0), text
    assert num(a, lang) in text and num(a + diff, lang) in text
    if direction:
        assert f"{num(abs(diff), lang)} " in text                    # the size, without a sign, next to the word
    else:
        assert num(diff, lang, sign=True) in text                     # the signed difference, said to be no change


@pytest.mark.parametrize("lang", LANGS)
def test_change_sentence_escapes_labels_and_says_when_hidden(lang):
    text = str(P.s_change(0.1, 0.001, 3.5, 3.6, "<b>A</b>", "B & C", lang))
    assert "&lt;b&gt;A&lt;/b&gt;" in text and "B &amp; C" in text
    hidden = str(P.s_change(None, None, None, None, "A", "B", lang))
    assert not says_up(hidden, lang) and not says_down(hidden, lang)


# --------------------------------------------------------------------------- the network effect

#: (did, did CI, other, other CI) -> case; "other" = the change of the relations that do not share a network
CASES = [
    ((0.26, 0.22, 0.30), (0.02, -0.01, 0.05), "rose_more"),
    ((0.26, 0.22, 0.30), (0.10, 0.05, 0.15), "rose_more"),
    ((0.11, 0.05, 0.17), (-0.30, -0.35, -0.25), "fell_less"),          # every block fell; networks fell less
    ((0.30, 0.25, 0.35), (-0.10, -0.15, -0.05), "rose_others_fell"),
    ((0.30, 0.25, 0.35), (-0.01, -0.05, 0.03), "rose_more"),           # others did not change clearly
    ((-0.10, -0.15, -0.05), (0.30, 0.25, 0.35), "rose_less"),
    ((-0.20, -0.25, -0.15), (-0.10, -0.15, -0.05), "fell_more"),
    ((-0.20, -0.25, -0.15), (0.05, 0.01, 0.09), "fell_others_rose"),
    ((-0.20, -0.25, -0.15), (0.05, -0.01, 0.11), "fell_more"),         # others did not change clearly
    ((0.02, -0.03, 0.07), (-0.30, -0.35, -0.25), "same"),              # CI covers 0: no difference
    ((-0.02, -0.07, 0.03), (0.30, 0.25, 0.35), "same"),
    ((0.26, 0.22, 0.30), (None, None, None), "better"),
    ((-0.26, -0.30, -0.22), (None, None, None), "worse"),
]


@pytest.mark.parametrize("did,other,case", CASES)
def test_network_case(did, other, case):
    assert P.network_case(*did, *other) == case


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("did,other,case", CASES)
def test_network_sentence_agrees_with_its_numbers(lang, did, other, case):
    text = str(P.s_network_effect(*did, *other, "B", lang))
    w = words(text)
    est, o = did[0], other[0]
    net = None if o is None else o + est
    if case == "same":
        assert not says_up(text, lang) and not says_down(text, lang), text
        assert num(est, lang, sign=True) in text
        return
    assert num(abs(est), lang) in text                                   # the size of the difference
    if net is not None:
        assert num(net, lang, sign=True) in text and num(o, lang, sign=True) in text
        # the verb is the direction of the network pairs' own change (and the others' where it is said)
        assert says_up(text, lang) == (net > 0 or case == "fell_others_rose"), text
        assert says_down(text, lang) == (net < 0 or case == "rose_others_fell"), text
    if case in ("rose_more", "fell_more"):
        assert MORE[lang] in w and LESS[lang] not in w
    if case in ("rose_less", "fell_less"):
        assert LESS[lang] in w and MORE[lang] not in w


@pytest.mark.parametrize("lang,want", [("da", "faldt 0,11 point mindre"), ("en", "fell 0.11 points less")])
def test_all_fell_and_networks_fell_less(lang, want):
    """The known bug: every block fell, network relations fell 0.11 less; the old sentence said they
    "changed this much more"."""
    text = str(P.s_network_effect(0.11, 0.05, 0.17, -0.30, -0.35, -0.25, "B", lang))
    assert want in re.sub(r"<[^>]+>", "", text)
    assert not says_up(text, lang) and MORE[lang] not in words(text)


@pytest.mark.parametrize("lang", LANGS)
def test_sensitivity_sentence(lang):
    same = str(P.s_sensitivity(0.22, 0.30, 0.27, 0.22, 0.31, lang))
    differs = str(P.s_sensitivity(0.22, 0.30, 0.05, -0.02, 0.12, lang))
    assert same != differs and num(0.27, lang, sign=True) in same and num(0.05, lang, sign=True) in differs
    assert str(P.s_sensitivity(-0.1, 0.1, 0.01, -0.1, 0.12, lang)) == str(P.s_sensitivity(-0.2, 0.1, 0.01,
                                                                                          -0.1, 0.12, lang))
    for text in (same, differs):
        assert not says_up(text, lang) and not says_down(text, lang)


# --------------------------------------------------------------------------- counts, blocks, levels


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("up,down", [(28, 0), (0, 5), (3, 4), (0, 0)])
def test_ties_sentence(lang, up, down):
    text = str(P.s_ties(178, up, down, lang))
    plain = re.sub(r"<[^>]+>", "", text)
    assert "178" in plain
    if up:
        assert re.search(rf"\b({'|'.join(UP[lang])}) {up}\b|\b{up} ({'|'.join(UP[lang])})\b", plain), plain
    if down:
        assert re.search(rf"\b({'|'.join(DOWN[lang])}) {down}\b|\b{down} ({'|'.join(DOWN[lang])})\b", plain), plain
    if not up and not down:
        assert not says_up(text, lang) and not says_down(text, lang)
    if up or down:
        assert str(178 - up - down) in plain


@pytest.mark.parametrize("lang", LANGS)
def test_blocks_sentence(lang):
    rows = [("X", 0.12, 0.01), ("Y", -0.07, 0.02), ("Z", 0.30, 0.40)]
    text = re.sub(r"<[^>]+>", "", str(P.s_blocks(rows, lang)))
    assert f"X: {UP[lang][0]} {num(0.12, lang)}" in text and f"Y: {DOWN[lang][0]} {num(0.07, lang)}" in text
    assert "Z" not in text
    none = str(P.s_blocks([("Z", 0.30, 0.40), ("W", -0.2, 0.3)], lang))
    assert not says_up(none, lang) and not says_down(none, lang) and "Z" not in none


@pytest.mark.parametrize("lang", LANGS)
def test_subscales_sentence(lang):
    higher = str(P.s_subscales(3.9, 3.85, 3.95, 3.5, 3.45, 3.55, lang))
    lower = str(P.s_subscales(3.5, 3.45, 3.55, 3.9, 3.85, 3.95, lang))
    same = str(P.s_subscales(3.6, 3.5, 3.7, 3.65, 3.55, 3.75, lang))
    assert len({higher, lower, same}) == 3
    t = {"da": ("højere", "lavere"), "en": ("higher", "lower")}[lang]
    assert t[0] in higher and t[1] not in higher and t[1] in lower and t[0] not in lower
    assert t[0] not in same and t[1] not in same


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("level", ["weak", "moderate", "strong"])
def test_level_sentence(lang, level):
    text = str(P.s_org_level(3.62, 3.58, 3.65, 450, level, lang))
    assert num(3.62, lang) in text and "450" in text and P.text(lang)["sentences"][f"level_{level}"] in text
    assert "bånd" not in text and "band" not in text
    assert str(P.s_org_level(None, None, None, None, None, lang)) != text


# --------------------------------------------------------------------------- in the report


def _model(did: float, did_ci: tuple[float, float], other: float, other_ci: tuple[float, float]) -> pd.DataFrame:
    rows = [dict(model="network_did", term="round", estimate=other, ci_low=other_ci[0], ci_high=other_ci[1], p=0.01),
            dict(model="network_did", term="round:shares_network", estimate=did, ci_low=did_ci[0], ci_high=did_ci[1],
                 p=0.01)]
    return pd.DataFrame(rows).assign(se=0.02, n_obs=7000, n_groups="", note="")


def _changes(diff: float, p: float) -> pd.DataFrame:
    return pd.DataFrame([dict(level="organisation", measure="rc", block=None, rater_unit=None, target_unit=None,
                              mean_a=3.6, mean_b=3.6 + diff, diff=diff, n_a=400, n_b=400, hedges_g=diff * 3,
                              g_ci_low=diff * 3 - 0.1, g_ci_high=diff * 3 + 0.1, p=p, p_fdr=p, suppressed=False)])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("diff,p,did,did_ci,other,other_ci", [
    (-0.25, 0.001, 0.11, (0.05, 0.17), -0.30, (-0.35, -0.25)),         # all fell, networks fell less
    (0.10, 0.001, -0.08, (-0.12, -0.04), 0.12, (0.08, 0.16)),         # networks rose less (negative effect)
    (0.10, 0.001, -0.15, (-0.20, -0.10), 0.12, (0.08, 0.16)),         # networks fell while the others rose
    (0.01, 0.60, 0.01, (-0.04, 0.06), 0.00, (-0.03, 0.03)),           # nothing changed
])
def test_comparison_headline_agrees_with_its_numbers(lang, diff, p, did, did_ci, other, other_ci):
    out = [str(x) for x in R.comparison_findings(_changes(diff, p), _model(did, did_ci, other, other_ci), lang=lang,
                                                 k=5, label_a="A", label_b="B")]
    first, network = out[0], out[1]
    d = P.test_direction(diff, p)
    assert says_up(first, lang) == (d > 0) and says_down(first, lang) == (d < 0), first
    case = P.network_case(did, *did_ci, other, *other_ci)
    assert network == str(P.s_network_effect(did, *did_ci, other, *other_ci, "B", lang))
    net = other + did
    if case == "same":
        assert not says_up(network, lang) and not says_down(network, lang)
    else:
        assert says_up(network, lang) == (net > 0 or case == "fell_others_rose"), network
        assert says_down(network, lang) == (net < 0 or case == "rose_others_fell"), network
    text = " ".join(out)
    assert "Hedges" not in text and "FDR" not in text                 # technical measures live in the tables


def _inv(metric: str, scalar: str, model: str = "two_factor") -> pd.DataFrame:
    return pd.DataFrame({"model": model, "step": ["configural", "metric", "scalar"],
                         "verdict": ["reference", metric, scalar]})


@pytest.mark.parametrize("lang", ["da", "en"])
@pytest.mark.parametrize("metric,scalar,case", [
    ("invariant", "invariant", "scalar"), ("invariant", "not_invariant", "metric"),
    ("not_invariant", "not_invariant", "none"), ("not_invariant", "invariant", "none"),
    ("not_estimable", "not_estimable", "unknown")])
def test_invariance_sentence_follows_the_verdicts(lang, metric, scalar, case):
    from relcoord.present import invariance_case, s_invariance

    assert invariance_case(_inv(metric, scalar)) == case
    text = str(s_invariance(case, lang))
    words = {"da": {"scalar": "kan sammenlignes direkte", "metric": "med forsigtighed", "none": "ingen metrisk",
                    "unknown": "kunne ikke vurderes"},
             "en": {"scalar": "can be compared directly", "metric": "with caution", "none": "no metric",
                    "unknown": "could not be assessed"}}
    assert words[lang][case] in text
    # the one-factor model speaks when the two-factor model could not be fitted
    both = pd.concat([_inv("not_estimable", "not_estimable"), _inv(metric, scalar, "one_factor")])
    assert invariance_case(both) == case
    assert invariance_case(None) == "unknown"


# --------------------------------------------------------------------------- the factor analyses (cfa.csv)


def _cfa(one: tuple, two: tuple, corr: float = 0.8, n: int = 900) -> pd.DataFrame:
    """cfa.csv rows: (cfi, tli, rmsea, srmr) per model, None = not estimated."""
    rows = []
    for model, fit in (("one_factor", one), ("two_factor", two)):
        vals = dict(zip(("cfi", "tli", "rmsea", "srmr"), fit or (float("nan"),) * 4))
        vals.update(chisq=40.0 if fit else float("nan"), df=14 if model == "one_factor" else 13, pvalue=0.001,
                    rmsea_ci_lower=0.0, rmsea_ci_upper=0.1, n=n)
        if model == "two_factor" and fit:
            vals["corr_communication_relationship"] = corr
        rows += [(model, k, v) for k, v in vals.items()]
    return pd.DataFrame(rows, columns=["model", "measure", "value"])


GOOD, OK, POOR = (0.97, 0.96, 0.04, 0.03), (0.92, 0.91, 0.07, 0.09), (0.85, 0.80, 0.12, 0.11)


@pytest.mark.parametrize("fit, verdict", [(GOOD, "good"), (OK, "acceptable"), (POOR, "poor"), (None, "unknown"),
                                          ((0.96, 0.96, 0.04, 0.09), "acceptable"),     # SRMR alone above .08
                                          ((0.99, 0.99, 0.09, 0.02), "poor")])           # RMSEA alone above .08
def test_cfa_fit_needs_every_index_within_the_cutoffs(fit, verdict):
    assert P.cfa_fit(_cfa(fit, fit), "one_factor") == verdict


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("one, two, case", [(GOOD, GOOD, "one"), (OK, GOOD, "one"), (POOR, GOOD, "two"),
                                            (POOR, OK, "two"), (POOR, POOR, "poor"), (None, POOR, "poor"),
                                            (None, None, "unknown")])
def test_cfa_sentence_follows_the_fit_of_both_models(lang, one, two, case):
    cfa = _cfa(one, two)
    assert P.cfa_case(cfa) == case
    text = str(P.s_cfa(cfa, lang))
    assert text.startswith(str(P._say(lang, f"cfa_{case}"))), text
    one_word, two_word = {"da": ("én faktor", "to faktorer"), "en": ("one factor", "two factors")}[lang]
    if case == "one":
        assert one_word in text.lower() and two_word not in text.lower()
    if case == "two":
        assert two_word in text.lower()


@pytest.mark.parametrize("lang", LANGS)
def test_cfa_sentence_says_when_the_two_factors_cannot_be_told_apart(lang):
    assert "1,01" in str(P.s_cfa(_cfa(GOOD, GOOD, corr=1.007), "da"))
    assert "0.97" in str(P.s_cfa(_cfa(GOOD, GOOD, corr=0.97), "en"))
    assert str(P.s_cfa(_cfa(GOOD, GOOD, corr=0.80), lang)) == str(P._say(lang, "cfa_one"))


@pytest.mark.parametrize("lang", LANGS)
def test_round_report_shows_the_factor_analyses_with_their_verdicts(lang):
    from test_report import render_round

    plain = render_round(lang)
    assert 'id="cfa"' not in plain
    from relcoord.locales import text
    t = text(lang)["report"]
    html = _render_with_cfa(lang, _cfa(POOR, GOOD))
    i = html.index('id="cfa"')
    part = html[i:html.index("</table>", i)]
    assert t["cfa_model_one_factor"] in part and t["cfa_model_two_factor"] in part
    assert f">{t['fit_poor']}<" in part and f">{t['fit_good']}<" in part
    assert str(P._say(lang, "cfa_two")) in part
    assert P.fmt_num(0.85, lang) in part and P.fmt_num(0.04, lang) in part


def _render_with_cfa(lang: str, cfa: pd.DataFrame) -> str:
    from test_report import PROVENANCE, demo_round, instrument, round_kw, summary_for

    st, _, public = demo_round()
    return R.round_report("2024", "Baseline 2024", public, summary_for(st, "2024"), None, st.units, instrument(),
                          PROVENANCE, **round_kw(lang), cfa=cfa)
