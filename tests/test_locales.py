"""Language catalogues (relcoord/locales/<lang>.yaml), the snakemake --report captions rendered from them,
and the presentation helpers (relcoord.present)."""

from __future__ import annotations

import ast
import re
import string
import tomllib
from pathlib import Path

import jinja2
import pytest
import yaml

from relcoord import figures as F
from relcoord import locales as L
from relcoord import present as P

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "relcoord"
REPORT_DIR = ROOT / "workflow" / "report"


def _flat(d, prefix=()):
    for k, v in d.items():
        if isinstance(v, dict) or hasattr(v, "items"):
            yield from _flat(v, prefix + (k,))
        else:
            yield prefix + (k,), v


def _fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f is not None}


# --------------------------------------------------------------------------- catalogues


def test_schema_language_enum_lists_exactly_the_catalogues():
    from relcoord.schema import SCHEMA_DIR

    schema = yaml.safe_load((SCHEMA_DIR / "config.schema.yaml").read_text(encoding="utf-8"))
    enum = schema["properties"]["report"]["properties"]["language"]["enum"]
    assert sorted(enum) == list(L.languages())
    assert schema["properties"]["report"]["properties"]["language"]["default"] in L.languages()
    assert set(L.languages()) >= {"da", "en"}


def test_catalogues_have_the_same_keys_and_placeholders():
    flat = {lang: dict(_flat(L.text(lang))) for lang in L.languages()}
    first, *rest = L.languages()
    for lang in rest:
        assert set(flat[lang]) == set(flat[first]), (lang, set(flat[lang]) ^ set(flat[first]))
        for key, s in flat[first].items():
            assert isinstance(s, str) and isinstance(flat[lang][key], str), key
            assert _fields(s) == _fields(flat[lang][key]), (lang, key)
    for lang in L.languages():
        assert all(s.strip() for s in flat[lang].values()), lang


def test_catalogue_groups_cover_what_the_code_shows():
    t = L.text("da")
    assert set(t) >= {"number", "report", "index", "sentences", "glossary", "figures", "blocks", "captions",
                      "snakemake_report", "validation"}
    assert list(t["captions"]) == list(F.ROUND_FIGURES + F.COMPARISON_FIGURES)
    assert set(t["snakemake_report"]) == {"workflow", "round_report", "comparison_report"}


def test_every_validation_rule_has_words_and_what_to_do():
    from relcoord.validation import RULES

    for lang in L.languages():
        v = L.text(lang)["validation"]
        for rule in RULES:
            assert v.get(f"rule_{rule}") and v.get(f"todo_{rule}"), (lang, rule)
        assert v["action_quarantined"] and v["action_warned"]


def test_glossaries_name_only_terms_the_catalogue_explains():
    from relcoord import report as R

    for lang in L.languages():
        g = L.text(lang)["glossary"]
        for term in set(R.ROUND_GLOSSARY) | set(R.COMPARISON_GLOSSARY):
            assert set(g[term]) == {"term", "def"}, (lang, term)


#: the groups whose words the reports, the validation report and the figures show
READER_GROUPS = ("report", "index", "sentences", "glossary", "figures", "blocks", "captions", "snakemake_report",
                 "validation")
#: one vocabulary: "relation" for A → B, "niveau" / "level" for weak, moderate, strong
OLD_WORDS = {"da": re.compile(r"\b(bånd\w*|styrkebånd|blokke?)\b", re.I),
             "en": re.compile(r"\b(ties?|bands?|blocks?|quarantined)\b", re.I)}


@pytest.mark.parametrize("lang", ["da", "en"])
def test_one_vocabulary(lang):
    t = L.text(lang)
    found = [(g, k, s) for g in READER_GROUPS for k, s in _flat(t[g]) if OLD_WORDS[lang].search(s)]
    assert not found, found


# --------------------------------------------------------------------------- per-language config texts


def test_round_labels_and_title_may_be_given_per_language():
    from relcoord.config import in_language, settings_from_config

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    assert isinstance(cfg["rounds"]["2024"]["label"], dict)                    # the demo gives both
    cfg["report"]["title"] = {"da": "Koordinering", "en": "Coordination"}
    cfg["rounds"]["2025"]["label"] = "Runde 2025"                               # a plain string still works
    for lang, label, title in (("da", "Før 2024", "Koordinering"), ("en", "Baseline 2024", "Coordination")):
        s = settings_from_config({**cfg, "report": {**cfg["report"], "language": lang}})
        assert s.rounds["2024"].label == label and s.report.title == title and s.rounds["2025"].label == "Runde 2025"
    assert in_language({"en": "Baseline"}, "da") == "Baseline"                # a missing language: the first text
    assert in_language(None, "da", "2024") == "2024" and in_language("", "en", "x") == "x"
    with pytest.raises(Exception, match="rounds/2024/label"):
        settings_from_config({**cfg, "rounds": {**cfg["rounds"], "2024": {**cfg["rounds"]["2024"],
                                                                          "label": {"de": "Vorher"}}}})


def test_catalogue_is_read_once_and_read_only():
    assert L.text("en") is L.text("en")
    with pytest.raises(TypeError):
        L.text("en")["report"]["footer"] = "x"          # type: ignore[index]
    with pytest.raises(ValueError, match="language must be one of"):
        L.text("xx")


def test_catalogues_ship_as_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "locales/*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["relcoord"]
    assert sorted(p.stem for p in (SRC / "locales").glob("*.yaml")) == list(L.languages())


# --------------------------------------------------------------------------- snakemake --report captions


def test_report_captions_are_rendered_from_the_catalogues():
    """workflow/report/<lang>/*.rst == what the catalogue renders (regenerate:
    python -m relcoord.locales workflow/report)."""
    assert sorted(p.name for p in REPORT_DIR.iterdir()) == list(L.languages())
    for lang in L.languages():
        want = L.rst_captions(lang)
        have = {p.name: p.read_text(encoding="utf-8") for p in (REPORT_DIR / lang).glob("*.rst")}
        assert have == want, f"{lang}: run python -m relcoord.locales workflow/report"


@pytest.mark.parametrize("lang", ["da", "en"])
def test_report_captions_render_like_the_html_captions(lang):
    """Snakemake renders a caption with Jinja (``snakemake.config``): the thresholds come out as the
    reports write them."""
    class Snakemake:
        config = {"privacy": {"min_group_size": 7}, "scoring": {"bands": {"weak_below": 3.25, "strong_above": 4}}}

    rst = L.rst_captions(lang)
    caps = F.captions(lang, 7, {"weak_below": 3.25, "strong_above": 4})
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    for stem, cap in caps.items():
        assert env.from_string(rst[f"{stem}.rst"]).render(snakemake=Snakemake) == cap + "\n", stem
    assert "7" in env.from_string(rst["workflow.rst"]).render(snakemake=Snakemake)


def test_rules_take_captions_in_the_report_language():
    smk = (ROOT / "workflow" / "rules" / "common.smk").read_text(encoding="utf-8") + \
        (ROOT / "workflow" / "rules" / "report.smk").read_text(encoding="utf-8")
    assert re.findall(r'caption="', smk) == []                        # no fixed-language caption path left
    assert "../report/{SETTINGS.report.language}/" in smk


# --------------------------------------------------------------------------- no words in code

#: functions whose strings are for the analyst's terminal, not for readers (English by design)
_ANALYST_ONLY = {"console_summary"}
_DANISH = re.compile(r"[æøåÆØÅ]")
_PROSE = re.compile(r"\b[A-Za-z]{2,}\b(?:[ ,;:'’]+\b[A-Za-z]{2,}\b){2,}")
#: not words: markup and styles, matplotlib legend locations
_NOT_WORDS = re.compile(r"<style>.*?</style>|<[^>]*>"
                        r"|\b(?:outside )?(?:upper|lower|center)(?: (?:left|right|center))?\b", re.S)


def _reader_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body and \
                isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            skip.add(id(node.body[0].value))                         # docstrings
        if isinstance(node, ast.Raise) or (isinstance(node, ast.FunctionDef) and node.name in _ANALYST_ONLY):
            skip.update(id(n) for n in ast.walk(node))               # messages for the analyst
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
            and (_DANISH.search(n.value) or _PROSE.search(_NOT_WORDS.sub(" ", n.value)))]


@pytest.mark.parametrize("module", ["report.py", "figures.py", "validation_report.py", "present.py"])
def test_no_reader_facing_words_left_in_code(module):
    assert _reader_strings(SRC / module) == []


def test_the_heuristic_finds_words(tmp_path):
    src = ('X = {"da": "Ingen rapporter endnu."}\n\n'
           'def f():\n    """Doc string with words."""\n    return "to be shown"\n')
    p = tmp_path / "module.py"
    p.write_text(src, encoding="utf-8")
    assert [s for _, s in _reader_strings(p)] == ["Ingen rapporter endnu.", "to be shown"]


# --------------------------------------------------------------------------- presentation


@pytest.mark.parametrize("lang,num,signed,count,pct,ci,neg_ci,p", [
    ("da", "3,58", "+0,10", "44.100", "42 %", "3,58–3,66", "−0,10 til 0,20", "< 0,001"),
    ("en", "3.58", "+0.10", "44,100", "42%", "3.58–3.66", "−0.10 to 0.20", "< 0.001"),
])
def test_number_formats(lang, num, signed, count, pct, ci, neg_ci, p):
    assert P.fmt_num(3.579, lang) == num and P.fmt_num(0.1, lang, sign=True) == signed
    assert P.fmt_num(-0.001, lang) == "0" + ("," if lang == "da" else ".") + "00"      # no "−0.00"
    assert P.fmt_num(-1.5, lang, 1).startswith("−") and P.fmt_num(float("nan"), lang) == P.MISSING
    assert P.fmt_int(44100, lang) == count and P.fmt_int(None, lang) == P.MISSING
    assert P.fmt_pct(0.42, lang) == pct and P.fmt_pct(None, lang) == P.MISSING
    assert P.fmt_ci(3.58, 3.66, lang) == ci and P.fmt_ci(-0.1, 0.2, lang) == neg_ci
    assert P.fmt_ci(None, 0.2, lang) == P.MISSING
    assert P.fmt_p(0.0001, lang) == p and P.fmt_p("x", lang) == P.MISSING
    f = P.Fmt(lang, 5)
    assert f.count(4) == "< 5" and f.count(12) == "12"
    assert f.num(None) == P.MISSING


def test_unit_order_and_labels():
    import pandas as pd

    units = pd.DataFrame({"unit_id": ["N1", "B2", "A1", "A2"], "name": ["Net", "Bee", "Ay", ""],
                          "kind": ["network", "base", "base", "base"], "area": ["", "y", "x", "x"]})
    assert P.unit_order(units) == ["B2", "A1", "A2", "N1"]                 # by area (register order), networks last
    assert P.unit_order(units, ["A2", "N1", "ZZ"]) == ["A2", "N1", "ZZ"]
    names = P.unit_names(units)
    assert P.unit_label("A1", names) == "Ay (A1)" and P.unit_label("A2", names) == "A2"
    assert P.unit_kinds(units)["N1"] == "network"
    assert F.unit_order is P.unit_order and F.fmt_num is P.fmt_num           # one home, re-exported
