"""The export's own labels are believed over silent assumptions.

An export that carries value labels (SurveyXact ``labels.csv`` / the workbook's
Labels sheet, SPSS value labels and user-missing values) says what each answer
code means. Before a round is validated, :func:`check_export_labels` holds
those labels against the instrument (config/instrument.yaml) and the codebook:

- every labelled code of an RC item variable is matched to the item's option
  texts (``options``, any language, in score order 1..5), its ``aliases`` and
  the instrument's ``missing_labels``; the score the label means must be the
  score the configured ``codes`` map (after the codebook's ``answers:``)
  gives the code. A contradiction ("Tilpas" = score 5 on a code the map scores
  2) stops the round, and so does a label that matches nothing on a code the
  map scores (the hint shows the ``aliases`` line to add);
- a label meaning "don't know" ("Ved ikke", ``missing_labels``) on a code the
  instrument scores, and an SPSS user-missing value or range covering a code
  the instrument scores, stop the round with the number of answers that would
  silently become "don't know";
- one code labelled twice with different texts (labels.csv / the Labels
  sheet, or the structure's choiceValue/choiceText), for the base-unit,
  network and item variables, stops the round: no label silently wins;
- a codebook ``answers:`` map whose keys are answer texts (Qualtrics and
  LimeSurvey exports holding choice texts) is held against the options the
  same way.

Texts are matched robustly but never fuzzily (:func:`label_key`): Unicode
NFKC, case-folded, blanks collapsed, a leading numbering ("1 ", "1.", "1 =",
"(1)") and surrounding quotes and punctuation stripped. Labels that carry no
text (empty, or the code itself) are not checked.

All functions are pure: they read an export's tables and return problems; the
caller (:func:`relcoord.codebook.resolve`) raises one error listing them all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .codes import MISSING, answer_key, plain_code
from .errors import RelcoordError

__all__ = ["label_key", "item_meanings", "alias_problems", "duplicate_label_problems", "check_export_labels",
           "dont_know_codes", "LabelCheck"]


_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'", "`": "'"})
_QUOTES = " \t\"'«»‹›„“”‚"
_NUMBERING = re.compile(r"^(?:\(\s*\d{1,3}\s*\)|\[\s*\d{1,3}\s*\]|\d{1,3}\s*(?:[.):=]|-(?!\d)|–|—)|\d{1,3}(?=\s))\s*")
_EDGE = " \t\"'«»‹›„“”‚.,;:!?*–—-"


def label_key(text) -> str:
    """How a label is matched to an option text: NFKC, case-folded, invisible format characters
    dropped, blanks collapsed, a leading numbering ('1 ', '1.', '1 =', '1)', '(1)', '[1]') and
    surrounding quotes/punctuation stripped. ``'"3. Tilpas "'`` -> ``'tilpas'``."""
    t = unicodedata.normalize("NFKC", str(text)).casefold()
    t = "".join(ch for ch in t if unicodedata.category(ch) != "Cf").translate(_APOSTROPHES)
    t = " ".join(t.split()).strip(_QUOTES)
    t = _NUMBERING.sub("", t, count=1)
    return " ".join(t.strip(_EDGE).split())


def _plain_code(value) -> str:
    s = str(value).strip()
    c = plain_code(s)
    return s if c is None else c


def _score_text(score: float) -> str:
    return str(int(score)) if float(score).is_integer() else str(score)


def item_meanings(item, instrument) -> tuple[dict[str, object], list[str]]:
    """label key -> score (float) or MISSING for one item: its ``options`` (score order), its
    ``aliases`` and the instrument's ``missing_labels``; plus problems (a text meaning two things)."""
    out: dict[str, object] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []

    def add(text, meaning, where: str) -> None:
        key = label_key(text)
        if not key:
            return
        if key in out and out[key] != meaning:
            problems.append(f"item {item.key}: the text {str(text).strip()!r} ({where}) also stands for "
                            f"{origin[key]}: one text must mean one answer")
            return
        out.setdefault(key, meaning)
        origin.setdefault(key, where)

    for lang, opts in (item.options or {}).items():
        for s, text in enumerate(opts, start=1):
            add(text, float(s), f"option {s} ({lang})")
    for key, texts in (getattr(item, "aliases", None) or {}).items():
        meaning = MISSING if str(key).strip().lower() == MISSING else float(key)
        for text in texts:
            add(text, meaning, f"alias of {'missing' if meaning == MISSING else 'score ' + _score_text(meaning)}")
    for text in instrument.missing_labels:
        add(text, MISSING, "a missing label")
    return out, problems


def alias_problems(item, instrument) -> list[str]:
    """Problems with an item's ``aliases`` in the instrument: a score the item does not have, a text
    meaning two answers."""
    problems = []
    scores = {float(s) for s in item.codes.values()}
    for key in (getattr(item, "aliases", None) or {}):
        if str(key).strip().lower() == MISSING:
            continue
        if float(key) not in scores:
            problems.append(f"item {item.key}: `aliases` lists texts for score {key}, which no code of the item "
                            f"scores (its scores: {', '.join(_score_text(s) for s in sorted(scores))})")
    return problems + item_meanings(item, instrument)[1]


# --------------------------------------------------------------------------- the export's labels

def _labels_source(export) -> str:
    fmt = str(getattr(export, "format", ""))
    if fmt.startswith("surveyxact-csv"):
        return "labels.csv"
    if fmt.startswith("surveyxact-xlsx"):
        return "the workbook's Labels sheet"
    if fmt.startswith("spss"):
        return "the SPSS value labels"
    return "the export's value labels"


def _label_entries(export) -> pd.DataFrame:
    """(variable, code, label, where) of every non-empty value label and structure choice."""
    lab = export.labels
    frames = []
    if lab is not None and len(lab):
        lab = lab.fillna("").astype(str)
        frames.append(pd.DataFrame({"variable": lab["variable"].str.strip(), "code": lab["value"],
                                    "label": lab["label"], "where": _labels_source(export)}))
    st = export.structure
    if st is not None and len(st) and {"choiceValue", "choiceText"} <= set(st.columns):
        st = st.fillna("").astype(str)
        st = st[(st["choiceValue"].str.strip() != "") & (st["choiceText"].str.strip() != "")]
        if len(st):
            frames.append(pd.DataFrame({"variable": st["variableName"].str.strip(), "code": st["choiceValue"],
                                        "label": st["choiceText"], "where": "the structure (choiceText)"}))
    if not frames:
        return pd.DataFrame(columns=["variable", "code", "label", "where"])
    out = pd.concat(frames, ignore_index=True)
    out["code"] = [_plain_code(c) for c in out["code"]]
    return out


def duplicate_label_problems(export, variables, choice_variables=()) -> list[str]:
    """One code of a variable labelled twice with different texts (identical duplicates are fine).
    ``choice_variables`` (a multiple-choice question's 0/1 variables) are also checked for being
    described by two different choice texts in the structure."""
    problems: list[str] = []
    wanted = {str(v) for v in variables} | {str(v) for v in choice_variables}
    ent = _label_entries(export)
    ent = ent[ent["variable"].isin(wanted)]
    choice = set(map(str, choice_variables))
    is_choice = (ent["where"] == "the structure (choiceText)") & ent["variable"].isin(choice)
    for (var, code), g in ent[~is_choice].groupby(["variable", "code"], sort=False):
        texts = _distinct_texts(g)
        if len(texts) > 1:
            problems.append(f"variable {var!r}: code {code} is labelled twice with different texts, "
                            + " and ".join(f"{t!r} (in {w})" for t, w in texts[:3])
                            + ": the export contradicts itself, and no label may silently win")
    for var, g in ent[is_choice].groupby("variable", sort=False):
        texts = _distinct_texts(g)
        if len(texts) > 1:
            problems.append(f"variable {var!r} is described twice in the structure with different choice texts, "
                            + " and ".join(f"{t!r}" for t, _ in texts[:3])
                            + ": the export contradicts itself about which choice the column is")
    return problems


def _distinct_texts(g: pd.DataFrame) -> list[tuple[str, str]]:
    seen: dict[str, tuple[str, str]] = {}
    for label, where in zip(g["label"], g["where"]):
        seen.setdefault(label_key(label) or str(label).strip(), (str(label).strip(), where))
    return list(seen.values())


def _labels_by_var(export, variables) -> dict[str, dict[str, str]]:
    """variable -> code -> label (first of identical duplicates; labels.csv before the structure)."""
    ent = _label_entries(export)
    ent = ent[ent["variable"].isin(set(map(str, variables)))]
    out: dict[str, dict[str, str]] = {}
    for var, code, label in zip(ent["variable"], ent["code"], ent["label"]):
        out.setdefault(var, {}).setdefault(code, str(label))
    return out


# --------------------------------------------------------------------------- the configured map

def _configured(code: str, item, answer_map: dict | None, scores: bool):
    """What the instrument and codebook make of an export code (as validation reads it):
    a score (float), MISSING, or None (not a valid code: quarantined)."""
    missing = set() if scores else {str(c) for c in item.missing_codes}
    u = code
    if u in missing:
        return MISSING
    if answer_map or scores:
        mapped = (answer_map or {}).get(answer_key(u))
        if mapped == MISSING:
            return MISSING
        if mapped is not None:
            u = mapped
            if u in missing:
                return MISSING
        elif scores:
            return None
    c = plain_code(u)
    if c is None:
        return None
    s = item.codes.get(int(c))
    return None if s is None else float(s)


def _option_text(item, score) -> str:
    if not isinstance(score, float) or not score.is_integer():
        return ""
    for lang in ("da", "en", *item.options):
        opts = item.options.get(lang) or []
        if 1 <= int(score) <= len(opts):
            return opts[int(score) - 1]
    return ""


def _means(score) -> str:
    return "don't know (missing)" if score == MISSING else f"score {_score_text(score)}"


def _gives(score, item) -> str:
    if score == MISSING:
        return "missing (a missing code)"
    if score is None:
        return "no score (not in the item's `codes`: quarantined)"
    text = _option_text(item, score)
    return f"score {_score_text(score)}" + (f" ({text!r})" if text else "")


def _vars_text(vars_: list[str]) -> str:
    return f"variable {vars_[0]}" + (f" and {len(vars_) - 1} more" if len(vars_) > 1 else "")


@dataclass
class LabelCheck:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)   # item -> labelled codes checked (0: no labels)
    suggested: dict[str, dict[str, float]] = field(default_factory=dict)  # item -> code -> score the labels give
    contradicted: set = field(default_factory=set)                         # items whose labels contradict `codes`

    def raise_if_any(self, file: str | None, instrument_file: str = "config/instrument.yaml") -> None:
        if not self.problems:
            return
        lines = list(self.problems)
        for key, m in self.suggested.items():
            if m and key in self.contradicted:
                body = ", ".join(f"{c}: {_score_text(s)}" for c, s in sorted(m.items(), key=_code_order))
                lines.append(f"item {key}: the export's labels give `codes: {{{body}}}` (labelled answer codes)")
        raise RelcoordError(
            f"the export's own labels contradict the instrument ({len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}): answers would be scored wrongly or lost without a "
            "word:\n  - " + "\n  - ".join(lines), file=file,
            hint=f"the export's labels are believed: correct the item's `codes` (export code -> score) or "
                 f"`missing_codes` in {instrument_file} to agree with them; if the export's labels are wrong, "
                 "correct the export (in SPSS: Variable View > Values / Missing) and export it again; a label "
                 f"the instrument does not know goes under the item's `aliases` in {instrument_file} (the line "
                 "to add is shown); see config/README.md (Add an item)")


def _other_item(instrument, key: str, label_keys: list[str]) -> str | None:
    """The first other item whose option texts hold every one of ``label_keys``."""
    for other in instrument.items:
        if other.key != key:
            known = {label_key(t) for opts in (other.options or {}).values() for t in opts}
            if label_keys and all(k in known for k in label_keys):
                return other.key
    return None


def _n_answers(n: int) -> str:
    return f"{n:,} answer{'s' if n != 1 else ''} in the export {'hold' if n != 1 else 'holds'}"


def _yaml_str(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _code_order(kv):
    c = kv[0]
    try:
        return (0, int(c), "")
    except ValueError:
        return (1, 0, str(c))


def _answer_counts(export, vars_: list[str], code: str, cache: dict) -> int:
    n = 0
    for v in vars_:
        if v not in cache:
            vc = export.data[v].value_counts() if v in export.data.columns else pd.Series(dtype="int64")
            counts: dict[str, int] = {}
            for value, k in vc.items():
                s = str(value).strip()
                c = plain_code(s)
                counts[s if c is None else c] = counts.get(s if c is None else c, 0) + int(k)
            cache[v] = counts
        n += cache[v].get(code, 0)
    return n


def check_export_labels(export, items: pd.DataFrame, instrument, answers: dict[str, dict] | None = None,
                        answer_specs: dict[str, object] | None = None, *, scores: bool = False,
                        rater_unit: str | None = None, network_vars=(), network_list_var: str | None = None
                        ) -> LabelCheck:
    """Hold the export's labels (and a codebook's text-keyed ``answers:``) against the instrument.

    ``items``: the resolved (variable, item, target_unit) table; ``answers``: item -> the answer map
    validation uses (answer key -> instrument code or MISSING); ``answer_specs``: item -> the codebook's
    own ``answers:`` (a dict whose keys may be answer texts); ``scores``: the codebook's ``values:
    scores``. Returns the problems and, per item, how many labelled codes were checked."""
    answers = answers or {}
    answer_specs = answer_specs or {}
    result = LabelCheck()
    item_vars = [str(v) for v in items["variable"]] if len(items) else []
    plain_vars = list(item_vars) + ([rater_unit] if rater_unit else []) \
        + ([network_list_var] if network_list_var else []) + list(network_vars)
    result.problems += duplicate_label_problems(export, plain_vars, network_vars)
    by_var = _labels_by_var(export, item_vars)
    user_missing = {str(v): {_plain_code(c) for c in cs} for v, cs in (export.missing_values or {}).items()}
    cache: dict = {}
    source = _labels_source(export)
    for key in dict.fromkeys(items["item"]) if len(items) else []:
        item = instrument.item(key)
        meanings, bad = item_meanings(item, instrument)
        result.problems += bad
        amap = answers.get(key)
        vars_ = [str(v) for v in items.loc[items["item"] == key, "variable"]]
        # (code, label key) -> [label text, variables]
        seen: dict[tuple[str, str], list] = {}
        for var in vars_:
            for code, label in by_var.get(var, {}).items():
                lk = label_key(label)
                if not lk or lk == label_key(code) or not code:
                    continue
                seen.setdefault((code, lk), [str(label).strip(), []])[1].append(var)
        checked_codes = set()
        unknown: list[tuple[str, str, list[str], float]] = []
        for (code, lk), (label, lvars) in seen.items():
            checked_codes.add(code)
            meaning = meanings.get(lk)
            given = _configured(code, item, amap, scores)
            where = f"{_vars_text(lvars)}, in {source}"
            if meaning is None:
                if given is None or given == MISSING:
                    continue   # not scored: a missing or invalid code whatever its text
                unknown.append((code, label, lvars, given))
                continue
            if meaning != MISSING:
                result.suggested.setdefault(key, {})[code] = meaning
            if meaning == given:
                continue
            if meaning == MISSING:
                n = _answer_counts(export, lvars, code, cache)
                result.problems.append(
                    f"item {key}: the export labels code {code} {label!r} ({where}), which means don't know, but "
                    f"the instrument scores code {code} as {_gives(given, item)}; {_n_answers(n)} code {code} "
                    "and would silently become don't know: "
                    f"if code {code} means don't know, move it from the item's `codes` to `missing_codes`"
                )
                continue
            result.contradicted.add(key)
            result.problems.append(
                f"item {key}: the export labels code {code} {label!r} ({where}), which is {_means(meaning)} of "
                f"the item's options, but the instrument's `codes` give code {code} {_gives(given, item)}"
            )
        if unknown:
            unknown.sort(key=lambda u: _code_order(u))
            listed = "; ".join(
                f"code {c} {lab!r} ({_vars_text(v)}, in {source}), which `codes` scores {_score_text(g)} "
                f"({_option_text(item, g)!r})"
                for c, lab, v, g in unknown
            )
            by_score: dict[float, list[str]] = {}
            for _c, lab, _v, g in unknown:
                by_score.setdefault(g, []).append(lab)
            line = (
                "aliases: {"
                + ", ".join(
                    f"{_score_text(g)}: [" + ", ".join(_yaml_str(t) for t in texts) + "]"
                    for g, texts in sorted(by_score.items())
                )
                + "}"
            )
            other = _other_item(instrument, key, [label_key(lab) for _c, lab, _v, _g in unknown])
            result.problems.append(
                f"item {key}: the export labels {len(unknown)} scored code{'s' if len(unknown) != 1 else ''} with "
                f"text{'s' if len(unknown) != 1 else ''} that {'are' if len(unknown) != 1 else 'is'} none of the "
                f"item's options, aliases or missing labels: {listed}. "
                + (
                    f"They are the options of item {other}: does the codebook map the right question to item {key}? "
                    if other
                    else ""
                )
                + f"If these are the export's wordings of the scores shown, add under item {key} in the "
                f"instrument: `{line}`; otherwise correct `codes`"
            )
        # SPSS user-missing values covering codes the instrument scores
        um: dict[str, list[str]] = {}
        for var in vars_:
            for code in user_missing.get(var, ()):
                if code and _configured(code, item, amap, scores) not in (None, MISSING):
                    um.setdefault(code, []).append(var)
        for code, mvars in sorted(um.items(), key=_code_order):
            given = _configured(code, item, amap, scores)
            n = _answer_counts(export, mvars, code, cache)
            lab = next((by_var.get(v, {}).get(code) for v in mvars if by_var.get(v, {}).get(code)), None)
            result.problems.append(
                f"item {key}: the SPSS file declares code {code}"
                + (f" {lab.strip()!r}" if lab else "")
                + f" user-missing ({_vars_text(mvars)}), but the instrument scores code {code} as "
                f"{_gives(given, item)}; {_n_answers(n)} code {code} and "
                "would silently become don't know: remove the code from the variable's missing values in SPSS "
                "(Variable View > Missing) and export again, or, if it means don't know, move it from the item's "
                "`codes` to `missing_codes`"
            )
        # a codebook answers: map keyed by answer texts (Qualtrics / LimeSurvey choice texts)
        spec = answer_specs.get(key)
        if isinstance(spec, dict):
            for k, v in spec.items():
                lk = label_key(k)
                meaning = meanings.get(lk)
                if meaning is None:
                    continue
                if isinstance(v, str) and v.strip().lower() == MISSING:
                    given = MISSING
                else:
                    given = (
                        _configured(str(int(v)), item, None, False)
                        if not scores
                        else (float(v) if float(v) in {float(s) for s in item.codes.values()} else None)
                    )
                checked_codes.add(f"answers:{k}")
                if meaning == given:
                    continue
                target = "missing" if given == MISSING else f"{v}"
                result.problems.append(
                    f"item {key}: the codebook's `answers:` maps the answer text {str(k)!r} to {target}, which the "
                    f"instrument reads as {_gives(given, item)}, but {str(k)!r} is {_means(meaning)} of the item's "
                    "options: correct the codebook's `answers:` (or use `answers: options`)"
                )
        result.checked[key] = len(checked_codes)
    return result


def dont_know_codes(export, items: pd.DataFrame, instrument) -> dict[str, set[str]]:
    """variable -> the codes the export itself calls "don't know": labels meaning missing (the
    instrument's ``missing_labels`` and the item's ``aliases: {missing: [...]}``, matched as
    :func:`label_key` does) and SPSS user-missing values. (After :func:`check_export_labels`, none of
    them is a code the instrument scores.)"""
    item_vars = [str(v) for v in items["variable"]] if len(items) else []
    by_var = _labels_by_var(export, item_vars)
    meanings = {}
    out: dict[str, set[str]] = {}
    for var, key in zip(item_vars, items["item"] if len(items) else []):
        if key not in meanings:
            meanings[key] = item_meanings(instrument.item(key), instrument)[0]
        codes = {c for c, lab in by_var.get(var, {}).items() if meanings[key].get(label_key(lab)) == MISSING}
        codes |= {str(c) for c in (export.missing_values or {}).get(var, set())}
        out[var] = codes
    return out


def instrument_file(instrument) -> str:
    src = getattr(instrument, "source", "") or ""
    return Path(src).as_posix() if src else "config/instrument.yaml"
