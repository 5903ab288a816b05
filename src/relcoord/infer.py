"""Read a study's set-up from its export: which column is the respondent id, which question
names the base unit, which the networks, where the seven RC items are (either layout), how the
answer codes score, and which units and memberships exist.

Everything is read from what the export says about itself (the structure's question and row
texts, the value labels, the answers), never guessed: a decision is taken only when the evidence
leaves one candidate, and every decision is reported with its evidence (:attr:`Inferred.notes`).
What cannot be decided raises :class:`relcoord.errors.RelcoordError` listing the candidates and
the flag that chooses (``--id-column``, ``--unit-question``, ``--network-question``,
``--item KEY=QUESTION``).

Evidence, in order:

- RC items: a variable whose value labels are all answers of an instrument item (its
  ``options`` in any language, its ``aliases``, the ``missing_labels``), covering at least three
  scores. Its item is decided by those options when only one item has them, else by the
  question text (the item's ``question`` or ``labels`` in any language, matched as labels are
  matched, :func:`relcoord.labels.label_key`).
- Layout: a question whose rows all share one item's options is one matrix per item (a row per
  target, the target after the last " - " of the row's question text); a question whose rows are
  different items is one matrix per target (a row per item, the target named by the text before
  the row, what all such headings share removed).
- Base-unit question: the labelled single-choice variable whose labels name the most targets.
- Network question: the multiple-choice question (0/1 variables) whose choice texts name the
  most targets that are not base units.
- Respondent id: a column named as one (``id``, ``ResponseId``, ``respondent_id``, ...) or, when
  no column is, the one column whose values are all different.
- Code -> score: each labelled code's text read against the item's options (so RC 2.0's
  display-order frequency item and a reversed problem-solving item score right); codes labelled
  "don't know" are missing codes.
- Units: base units from the base-unit question's labels, networks from the network question's
  choice texts and any target that is not a base unit. Memberships: a base unit is in a network
  when at least one of its respondents ticks it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from .codebook import _row_text, unit_lookup
from .codes import MISSING, answer_key, normalise_text, plain_code
from .errors import RelcoordError
from .instrument import Instrument
from .labels import item_meanings, label_key
from .readers import RawExport

__all__ = ["Inferred", "Choices", "infer_study", "unit_ids", "match_units"]

#: column names that say "respondent id" (compared after label_key and removing blanks, '_' and '-')
ID_NAMES = {"id", "respondentid", "responseid", "respondent", "respondentnr", "respondentnummer", "svarid",
            "besvarelsesid", "caseid", "resp", "recordid", "lfdn"}
UNIT_WORDS = ("enhed", "afdeling", "arbejdsplads", "institution", "ansat", "team", "unit", "department",
              "work in", "employed", "workplace", "organisation", "organization")
NETWORK_WORDS = ("netværk", "netvaerk", "network")
SELECTED_LABELS = {"valgt", "selected", "ja", "yes", "y", "checked", "1", "afkrydset", "x"}
UNSELECTED_LABELS = {"ikke valgt", "not selected", "nej", "no", "n", "unchecked", "0", "ikke afkrydset"}
#: cue words per item (after label_key), used only to break a tie between items with the same options
ITEM_CUES = {
    "frequent": ("ofte", "frequent", "hyppig", "how often"),
    "timely": ("rette tid", "rettidig", "timely", "in time", "i tide"),
    "accurate": ("præcis", "accurate", "korrekt", "nøjagtig"),
    "problem_solving": ("problem", "skyld", "blame"),
    "shared_goals": ("mål", "goal"),
    "shared_knowledge": ("ved de", "viden", "know"),
    "mutual_respect": ("respekt", "respect"),
}


@dataclass
class Choices:
    """What the user decided on the command line (None: infer it)."""

    id_column: str | None = None
    unit_question: str | None = None
    network_question: str | None = None        # "none": the export has no network question
    items: dict[str, str] = field(default_factory=dict)   # item key -> question (per item) or row number
    extra_networks: tuple[str, ...] = ()       # targets to register as networks though no question lists them


@dataclass
class Inferred:
    """A study's set-up as read from one export."""

    layout: str                                  # per_item | per_target
    codebook: dict
    units: pd.DataFrame                          # unit_id, name, kind (register order)
    memberships: pd.DataFrame                    # network_id, unit_id, respondents (who tick it)
    codes: dict[str, dict[int, float]]           # item -> code -> score
    missing_codes: dict[str, list[int]]          # item -> codes labelled "don't know"
    option_labels: dict[str, dict[int, str]]     # item -> code -> the export's label (for the record)
    notes: list[str] = field(default_factory=list)
    answer_texts: bool = False                   # the export holds answer texts (codebook answers: options)
    no_respondents: list[str] = field(default_factory=list)   # base units no valid-looking record names


# --------------------------------------------------------------------------- small helpers

def _key(text) -> str:
    return label_key(text)


def _compact(text) -> str:
    return re.sub(r"[\s_\-.]+", "", _key(text))


def _fmt_list(values, n: int = 6) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:n])
    return shown + (f", ... ({len(values)} in all)" if len(values) > n else "")


def _code_sort(code: str):
    c = plain_code(code)
    return (0, int(c), "") if c is not None else (1, 0, str(code))


def _stop(problem: str, hint: str, source: str) -> None:
    raise RelcoordError(problem, file=source, hint=hint)


@dataclass
class _Var:
    name: str
    question: str
    text: str            # questionText
    choice: str          # choiceText
    qtype: str
    subtype: str
    labels: dict[str, str]          # answer key -> label text


def _variables(export: RawExport) -> dict[str, _Var]:
    """Every column with what the structure and the labels say about it."""
    st = export.structure.fillna("").astype(str)
    labels = export.labels.fillna("").astype(str)
    by_var: dict[str, dict[str, str]] = {}
    for var, value, lab in zip(labels["variable"], labels["value"], labels["label"]):
        if lab.strip():
            by_var.setdefault(var, {})[answer_key(value)] = lab.strip()
    out: dict[str, _Var] = {}
    for r in st.itertuples(index=False):
        if r.variableName in out or r.variableName not in export.data.columns:
            continue
        out[r.variableName] = _Var(r.variableName, r.questionName or r.variableName, r.questionText,
                                   r.choiceText, r.questionType, r.subType, by_var.get(r.variableName, {}))
    for c in export.data.columns:
        if c not in out:
            out[c] = _Var(c, c, "", "", "", "", by_var.get(c, {}))
    if not by_var:   # an export of answer texts (Qualtrics choice text): the texts are their own labels
        for v in out.values():
            values = pd.unique(export.data[v.name].astype(str).str.strip())
            texts = [x for x in values if x and plain_code(x) is None]
            if texts and len(texts) == len([x for x in values if x]) and len(texts) <= 60:
                v.labels = {answer_key(x): x for x in texts}
    return out


# --------------------------------------------------------------------------- item texts

def _item_texts(instrument: Instrument) -> dict[str, list[str]]:
    """item -> its question and label texts in every language (label keys)."""
    out = {}
    for it in instrument.items:
        texts = [*it.question.values(), *it.labels.values(), it.key.replace("_", " ")]
        out[it.key] = [_key(t) for t in texts if _key(t)]
    return out


def _text_item(text: str, candidates: list[str], texts: dict[str, list[str]]) -> tuple[str | None, str]:
    """The item among ``candidates`` a question or row text names: exactly, else clearly most
    similar (ratio >= 0.75 and 0.1 ahead), else by a cue word only that item has; (None, '')."""
    k = _key(text)
    if not k:
        return None, ""
    exact = [c for c in candidates if k in texts[c]]
    if len(exact) == 1:
        return exact[0], "its text is the item's"
    ratios = sorted(((max((difflib.SequenceMatcher(None, k, t).ratio() for t in texts[c]), default=0.0), c)
                     for c in candidates), reverse=True)
    if ratios and ratios[0][0] >= 0.75 and (len(ratios) == 1 or ratios[0][0] - ratios[1][0] >= 0.1):
        return ratios[0][1], f"its text is {ratios[0][0]:.0%} the item's"
    cued = [c for c in candidates if any(w in k for w in ITEM_CUES.get(c, ()))]
    if len(cued) == 1:
        return cued[0], f"its text has the word {next(w for w in ITEM_CUES[cued[0]] if w in k)!r}"
    return None, ""


def _item_fits(var: _Var, meanings: dict[str, dict]) -> dict[str, dict[str, object]]:
    """item -> {code: score | MISSING} for every item all of whose answers the labels are."""
    if not var.labels:
        return {}
    out = {}
    for key, m in meanings.items():
        read = {}
        for code, lab in var.labels.items():
            meaning = m.get(_key(lab))
            if meaning is None:
                break
            read[code] = meaning
        else:
            scores = {v for v in read.values() if v != MISSING}
            if len(scores) >= 3:
                out[key] = read
    return out


# --------------------------------------------------------------------------- the RC items

_TARGET_EDGE = " \t\"'«»“”‘’„:;"


@dataclass
class _Cell:
    var: str
    item: str
    target_text: str
    question: str
    how: str


def _common_affixes(texts: list[str]) -> tuple[str, str]:
    """The longest prefix and suffix (ending/starting at a blank) every text shares, leaving each
    text something."""
    if len(texts) < 2:
        return "", ""
    pre = texts[0]
    for t in texts[1:]:
        while not t.startswith(pre):
            pre = pre[:-1]
    pre = pre[:pre.rfind(" ") + 1] if " " in pre else ""
    rest = [t[len(pre):] for t in texts]
    suf = rest[0]
    for t in rest[1:]:
        while not t.endswith(suf):
            suf = suf[1:]
    suf = suf[suf.find(" "):] if " " in suf else re.search(r"[^\w]*$", suf).group(0)   # ' i dag?' or ':'
    if any(not t[len(pre):len(t) - len(suf)].strip() for t in texts):
        return "", ""
    return pre, suf


def _split_heading(text: str) -> tuple[str, str]:
    """(heading, row text) of a matrix row's question text."""
    text = str(text).strip()
    row = _row_text(text)
    if row == text:
        return "", text
    if text.endswith("]") and text[text.rindex("[") + 1:-1].strip() == row:   # LimeSurvey: "question [row]"
        return text[:text.rindex("[")].rstrip(), row
    return text[: len(text) - len(row)].rstrip().removesuffix("-").rstrip(), row


def _find_items(vars_: dict[str, _Var], instrument: Instrument, choices: Choices, source: str,
                notes: list[str]) -> tuple[str, list[_Cell], dict[str, dict[str, object]]]:
    """(layout, one cell per (item, target) variable, item -> code -> meaning)."""
    meanings = {it.key: item_meanings(it, instrument)[0] for it in instrument.items}
    texts = _item_texts(instrument)
    fits = {v.name: f for v in vars_.values() if (f := _item_fits(v, meanings))}
    forced = {k: q for k, q in choices.items.items()}
    for k in forced:
        if k not in instrument.keys:
            _stop(f"--item {k}=...: {k!r} is not an item of the instrument", f"items: {', '.join(instrument.keys)}",
                  source)
    if not fits and not any(v.labels for v in vars_.values() if any(plain_code(k) is not None for k in v.labels)):
        coded = [c for c in vars_ if vars_[c].labels and all(re.fullmatch(r"[A-Za-z]{0,2}\d{1,3}", k)
                                                             for k in vars_[c].labels)]
        numeric = [c for c in vars_ if not vars_[c].labels]
        if coded or numeric:
            _stop("the export holds answer codes without labels (e.g. column "
                  f"{(coded or numeric)[len(coded or numeric) // 2]!r}): nothing in it says which code is which "
                  "answer or which unit, so relcoord cannot read the set-up from it",
                  "export the survey again with its texts (LimeSurvey: 'Full answers' and 'Question code & question "
                  "text' headings; Qualtrics: choice text; SurveyXact and SPSS exports carry value labels), or write "
                  "the codebook and unit register by hand (config/README.md, Codebooks) and give them to init with "
                  "--codebook FILE --units FILE [--memberships FILE]", source)
    if not fits:
        labelled = [v for v in vars_.values() if v.labels]
        near = _near_misses(vars_, meanings, instrument.keys, set())
        _stop("no variable of the export has value labels that are the answer options of an RC item"
              + (f" ({len(labelled)} labelled variables, e.g. "
                 + "; ".join(f"{v.name}: {_fmt_list(list(v.labels.values())[:4], 4)}" for v in labelled[:3]) + ")"
                 if labelled else " (the export carries no value labels)") + near,
              _ALIAS_HINT, source)
    by_q: dict[str, list[_Var]] = {}
    group = _groups(vars_, fits)
    for name in fits:
        by_q.setdefault(group[name], []).append(vars_[name])
    problems: list[str] = []
    cells: list[_Cell] = []
    layouts: dict[str, str] = {}
    per_target_q: list[str] = []
    pending: list[tuple] = []   # per-item questions whose options fit several items and whose text names none
    for q, rows in by_q.items():
        common = set.intersection(*(set(fits[v.name]) for v in rows))
        row_items = []
        for v in rows:
            heading, row = _split_heading(v.text)
            cands = sorted(fits[v.name])
            item, how = (cands[0], "its answer options fit only this item") if len(cands) == 1 else \
                _text_item(row, cands, texts)
            row_items.append((v, heading, row, item, how))
        distinct = {it for *_, it, _ in row_items if it}
        if len(rows) > 1 and (not common or len(distinct) > 1) and len(distinct) == len(rows):
            layouts[q] = "per_target"
            per_target_q.append(q)
            for v, heading, _row, item, how in row_items:
                cells.append(_Cell(v.name, item, heading, q, how))
            continue
        if len(rows) > 1 and not common:
            undecided = [v.name for v, *_, it, _ in row_items if it is None]
            problems.append(f"question {q!r}: its rows are different items (a matrix per target), but the item of "
                            f"row(s) {_fmt_list(undecided)} cannot be read from their texts or options")
            continue
        layouts[q] = "per_item"
        cands = sorted(common)
        heading = _split_heading(rows[0].text)[0] or rows[0].text
        chosen = [k for k, fq in forced.items() if _key(fq) in {_key(q), *(_key(v.name) for v in rows)}]
        if len(chosen) == 1 and chosen[0] in cands:
            item, how = chosen[0], "chosen with --item"
        elif len(cands) == 1:
            item, how = cands[0], "its answer options fit only this item"
        else:
            item, how = _text_item(heading, cands, texts)
        if item is None:
            pending.append((q, rows, cands, heading))
            continue
        for v in rows:
            cells.append(_Cell(v.name, item, v.choice.strip() or _row_text(v.text), q, how))
    # a question whose options fit several items gets the one no other question has taken
    changed = True
    while pending and changed:
        changed = False
        taken = {c.item for c in cells}
        for entry in list(pending):
            q, rows, cands, heading = entry
            left = [c for c in cands if c not in taken]
            if len(left) == 1:
                cells += [_Cell(v.name, left[0], v.choice.strip() or _row_text(v.text), q,
                                "the only item with its answer options no other question has") for v in rows]
                pending.remove(entry)
                changed = True
                break
    for q, _rows, cands, heading in pending:
        problems.append(f"question {q!r} ({heading[:70]!r}): its answer options fit items {', '.join(cands)} "
                        f"and its text names none of them; choose with "
                        + " or ".join(f"--item {c}={q}" for c in cands))
    kinds = set(layouts.values())
    if len(kinds) > 1:
        problems.append("the export mixes layouts: " + "; ".join(f"{q}: {lay}" for q, lay in layouts.items()))
    if problems:
        _stop("the RC items of the export cannot all be read:\n  - " + "\n  - ".join(problems),
              "choose with --item KEY=QUESTION (repeatable), e.g. --item timely=s_4", source)
    layout = kinds.pop()
    if layout == "per_target":
        headings = [next(c.target_text for c in cells if c.question == q) for q in per_target_q]
        pre, suf = _common_affixes(headings)
        for c in cells:
            c.target_text = c.target_text[len(pre): len(c.target_text) - len(suf)].strip(_TARGET_EDGE)
        if pre or suf:
            notes.append(f"matrix per target: the target is named by the heading between {pre.strip()!r} and "
                         f"{suf.strip()!r}")
    # one variable per (item, target), every item found
    seen: dict[tuple[str, str], str] = {}
    dup = []
    for c in cells:
        k = (c.item, normalise_text(c.target_text))
        if k in seen:
            dup.append(f"{seen[k]} and {c.var} are both {c.item} about {c.target_text!r}")
        seen[k] = c.var
    missing = [k for k in instrument.index_keys if k not in {c.item for c in cells}]
    if dup or missing:
        cands = sorted({c.question for c in cells})
        _stop("the RC items of the export cannot all be read:\n  - " + "\n  - ".join(
            dup + ([f"no question has the answers of item(s) {', '.join(missing)} (item questions found: "
                    f"{_fmt_list(cands)})"] if missing else []))
              + _near_misses(vars_, meanings, missing, {c.var for c in cells}),
              "choose with --item KEY=QUESTION; " + _ALIAS_HINT, source)
    item_meaning: dict[str, dict[str, object]] = {}
    for c in cells:
        for code, meaning in fits[c.var][c.item].items():
            prev = item_meaning.setdefault(c.item, {}).setdefault(code, meaning)
            if prev != meaning:
                _stop(f"item {c.item}: code {code} means {prev} in one variable and {meaning} in {c.var}",
                      "one code must score the same in every variable of an item; correct the export's labels",
                      source)
    for key in instrument.keys:
        if key in item_meaning:
            hows = sorted({c.how for c in cells if c.item == key})
            qs = sorted({c.question for c in cells if c.item == key}, key=_natural)
            notes.append(f"item {key}: {'question' if layout == 'per_item' else 'rows of'} "
                         f"{_fmt_list(qs, 3)} ({'; '.join(hows)})")
    return layout, cells, item_meaning


_ALIAS_HINT = ("an item whose answer texts are other wordings needs them as `aliases` in the instrument: copy "
               "the code checkout's config/instrument.yaml, add the `aliases:` line shown to the item, and rerun "
               "with --instrument FILE (or write the codebook by hand, config/README.md, Codebooks)")


def _near_misses(vars_: dict[str, _Var], meanings: dict[str, dict], items: list[str], used: set[str]) -> str:
    """Labelled variables whose labels are mostly an item's answers: the labels that are not, and the
    `aliases:` line that would read them (the score guessed from the code's place, for the user to check)."""
    lines, seen = [], set()
    for key in items:
        m = meanings[key]
        for v in vars_.values():
            if v.name in used or not v.labels:
                continue
            known = {c: m[_key(t)] for c, t in v.labels.items() if _key(t) in m}
            scores = {c: s for c, s in known.items() if s != MISSING}
            unknown = {c: t for c, t in v.labels.items() if _key(t) not in m}
            if len(set(scores.values())) < 3 or not unknown or len(unknown) > 2:
                continue
            sig = (key, tuple(sorted(unknown.values())))
            if sig in seen:
                continue
            seen.add(sig)
            guess = {}
            for c, t in unknown.items():
                cc = plain_code(c)
                ints = {int(plain_code(k)): s for k, s in scores.items() if plain_code(k) is not None}
                if cc is not None and ints and all(s == k for k, s in ints.items()):
                    guess[t] = int(cc)
                elif cc is not None and ints and all(s == 6 - k for k, s in ints.items()):
                    guess[t] = 6 - int(cc)
            alias = ", ".join(f"{g}: [{t!r}]" for t, g in guess.items())
            lines.append(f"{v.name} ({v.text[:50]!r}) has the answers of item {key} but for "
                         f"{_fmt_list(list(unknown.values()), 2)}"
                         + (f": if they mean what their place says, add to item {key} `aliases: {{{alias}}}`"
                            if alias else ""))
            if len(lines) >= 6:
                break
    return ("\n  - " + "\n  - ".join(lines)) if lines else ""


def _groups(vars_: dict[str, _Var], names) -> dict[str, str]:
    """variable -> the matrix it belongs to: its question name when the rows share one (``s_3`` with
    rows s_3_1, s_3_2, ...), else, for a row that is a question of its own (real SurveyXact exports
    name each matrix row ``i_01``, ``i_02``, ...), the rows sharing its heading: ``i_01..i_07``."""
    per_q: dict[str, int] = {}
    for x in vars_.values():
        per_q[x.question] = per_q.get(x.question, 0) + 1
    by_heading: dict[str, list[str]] = {}
    for x in vars_.values():
        if x.question == x.name and per_q[x.question] == 1:
            h = _split_heading(x.text)[0]
            if h:
                by_heading.setdefault(h, []).append(x.name)
    out = {}
    for n in names:
        v = vars_[n]
        same = by_heading.get(_split_heading(v.text)[0], []) if per_q[v.question] == 1 else []
        out[n] = f"{same[0]}..{same[-1]}" if len(same) > 1 else v.question
    return out


def _natural(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


# --------------------------------------------------------------------------- units, networks, id

def _is_flag(v: _Var, data: pd.Series) -> bool:
    """A multiple-choice flag: 0/1 (labelled 'Valgt'/'Ikke valgt' or not), or Y / 'Ja' / blank."""
    labs = {_key(x) for x in v.labels.values()}
    if labs and not labs <= SELECTED_LABELS | UNSELECTED_LABELS:
        return False
    vals = {_key(x) for x in pd.unique(data.astype(str).str.strip())} - {""}
    return bool(vals) and vals <= {"0", "1", "0.0", "1.0"} | SELECTED_LABELS | UNSELECTED_LABELS


def _selected(values) -> tuple[list[str], list[str]]:
    """(the flag values meaning 'ticked', those meaning 'not ticked') among a flag column's values."""
    vals = sorted({str(x).strip() for x in values} - {""})
    sel = [x for x in vals if _key(x) in SELECTED_LABELS | {"1.0"}]
    return sel, [x for x in vals if x not in sel]


def _unit_question(vars_, export, rc_vars: set[str], targets: set[str], choices: Choices, source: str,
                   notes: list[str]) -> _Var:
    if choices.unit_question:
        v = vars_.get(choices.unit_question) or next(
            (x for x in vars_.values() if x.question == choices.unit_question), None)
        if v is None:
            _stop(f"--unit-question {choices.unit_question!r} is not a column of the export", "", source)
        notes.append(f"base-unit question: {v.name} (chosen with --unit-question)")
        return v
    cands = []
    for v in vars_.values():
        if v.name in rc_vars or len(v.labels) < 2 or _is_flag(v, export.data[v.name]):
            continue
        named = sum(normalise_text(lab) in targets for lab in v.labels.values())
        cue = any(w in _key(v.text) for w in UNIT_WORDS)
        cands.append((named, cue, v))
    best = sorted(cands, key=lambda t: (t[0], t[1]), reverse=True)
    if best and best[0][0] >= 1 and (len(best) == 1 or best[0][:2] > best[1][:2]):
        named, _, v = best[0]
        notes.append(f"base-unit question: {v.name} ({v.text[:60]!r}; {named} of its {len(v.labels)} labels "
                     "name units the RC items ask about)")
        return v
    shown = "\n  - ".join(f"{v.name}: {v.text[:60]!r}, labels {_fmt_list(list(v.labels.values()), 4)} "
                          f"({n} name rated units)" for n, _, v in best[:6]) or "(no labelled single-choice variable)"
    _stop("which question asks for the respondent's base unit cannot be decided; candidates:\n  - " + shown,
          "choose with --unit-question VARIABLE", source)


def _network_question(vars_, export, rc_vars, base_names: set[str], targets: set[str], choices: Choices,
                      source: str, notes: list[str]) -> list[_Var]:
    groups: dict[str, list[_Var]] = {}
    for v in vars_.values():
        if v.name not in rc_vars and _is_flag(v, export.data[v.name]) and (v.choice.strip()
                                                                                or _row_text(v.text) != v.text.strip()):
            groups.setdefault(v.question, []).append(v)

    def text(v: _Var) -> str:
        return v.choice.strip() or _row_text(v.text) or v.name

    lists = _network_lists(vars_, export, rc_vars, targets - base_names)
    for q in lists:
        groups.setdefault(q, [vars_[q]])
    if choices.network_question:
        if choices.network_question.lower() == "none":
            notes.append("networks: none (chosen with --network-question none)")
            return []
        g = groups.get(choices.network_question)
        if not g:
            _stop(f"--network-question {choices.network_question!r} is not a multiple-choice question of the "
                  f"export (multiple-choice questions: {_fmt_list(groups) or 'none'})", "", source)
        notes.append(f"network question: {choices.network_question} (chosen with --network-question)")
        return g
    others = targets - base_names
    scored = sorted(((lists[q][1] if q in lists else sum(normalise_text(text(v)) in others for v in g),
                      any(w in _key(g[0].text) for w in NETWORK_WORDS), q, g) for q, g in groups.items()),
                    key=lambda t: (t[0], t[1]), reverse=True)
    if scored and (scored[0][0] or scored[0][1]) and (len(scored) == 1 or scored[0][:2] > scored[1][:2]):
        n, cue, q, g = scored[0]
        what = (f"one cell lists the networks, {lists[q][0]!r} between them" if q in lists else f"{len(g)} choices")
        notes.append(f"network question: {q} ({g[0].text[:60]!r}; {what}"
                     + (f"; {n} networks rated as targets" if n else "; its text names networks") + ")")
        return g
    if not others:
        notes.append("network question: none (every target is a base unit"
                     + (f"; the multiple-choice questions {_fmt_list(groups)} name no rated network)"
                        if groups else ")"))
        return []
    shown = "\n  - ".join(f"{q}: {g[0].text[:60]!r}, choices {_fmt_list([text(v) for v in g], 4)}"
                          for _, _, q, g in scored[:6]) or "(no multiple-choice question)"
    _stop("which question asks for the respondent's networks cannot be decided; candidates:\n  - " + shown,
          "choose with --network-question QUESTION (or --network-question none)", source)


def _network_lists(vars_, export, rc_vars, networks: set[str]) -> dict[str, tuple[str, int]]:
    """column -> (separator, networks named) for columns listing network names in one cell
    ("Netværk A,Netværk B", Qualtrics' multiple choice as text)."""
    out = {}
    if not networks:
        return out
    for v in vars_.values():
        if v.name in rc_vars:
            continue
        cells = pd.unique(export.data[v.name].astype(str).str.strip())
        cells = [c for c in cells if c]
        if not cells or len(cells) > 5000:
            continue
        best = None
        for sep in (";", ",", "|"):
            tokens = {normalise_text(t) for c in cells for t in c.split(sep) if t.strip()}
            named = len(tokens & networks)
            if named and tokens <= networks and (best is None or named > best[1]):
                best = (sep, named)
        if best:
            out[v.name] = best
    return out


def _id_column(vars_, export, used: set[str], choices: Choices, source: str, notes: list[str]) -> str:
    if choices.id_column:
        if choices.id_column not in export.data.columns:
            _stop(f"--id-column {choices.id_column!r} is not a column of the export", "", source)
        notes.append(f"respondent id: {choices.id_column} (chosen with --id-column)")
        return choices.id_column
    named = [c for c in export.data.columns if c not in used
             and (_compact(c) in ID_NAMES or _compact(vars_[c].text) in ID_NAMES)]
    if len(named) == 1:
        notes.append(f"respondent id: {named[0]} (named as an id)")
        return named[0]
    n = len(export.data)
    unique = []
    for c in (named or [c for c in export.data.columns if c not in used and not vars_[c].labels]):
        s = export.data[c].astype(str).str.strip()
        filled = s[s != ""]
        if n and len(filled) >= 0.95 * n and filled.nunique() >= 0.98 * len(filled) and not filled.str.contains(
                "@").any():
            unique.append(c)
    if len(unique) == 1:
        notes.append(f"respondent id: {unique[0]} (its values are all different)")
        return unique[0]
    _stop("which column holds the respondent id cannot be decided; candidates: "
          + (_fmt_list(unique or named) or "none (no column is named as an id or has all-different values)"),
          "choose with --id-column COLUMN", source)


# --------------------------------------------------------------------------- unit ids

_STOPWORDS = {"OG", "FOR", "TIL", "I", "PAA", "AF", "MED", "AND", "OF", "THE", "TO", "IN", "ON"}


def unit_ids(names: list[str], taken: set[str] = frozenset(), prefix: str = "") -> list[str]:
    """Readable ids for unit names: ASCII, upper case, whole words joined by '-' (at most 20
    characters), numbered on a clash: 'Træning og Rehabilitering' -> 'TRAENING'."""
    fold = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "AE", "Ø": "OE", "Å": "AA", "ß": "ss"})
    out, used = [], set(taken)
    for name in names:
        t = unicodedata.normalize("NFKD", str(name).translate(fold)).encode("ascii", "ignore").decode()
        words = [w for w in re.split(r"[^A-Za-z0-9]+", t.upper()) if w]
        while len("-".join(words)) > 20 and len(words) > 1:   # whole words only, no dangling 'OG'
            words.pop()
            while len(words) > 1 and words[-1] in _STOPWORDS:
                words.pop()
        t = "-".join(words)[:20] or "UNIT"
        t = prefix + t
        cand, k = t, 2
        while cand in used:
            cand, k = f"{t}-{k}", k + 1
        used.add(cand)
        out.append(cand)
    return out


def match_units(texts: list[str], units: pd.DataFrame, kind: str | None = None) -> dict[str, str]:
    """text -> unit_id for the texts the register knows (id, name or alias)."""
    look = unit_lookup(units, kind)
    return {t: look[normalise_text(t)] for t in texts if normalise_text(t) in look}


# --------------------------------------------------------------------------- the whole study

def infer_study(export: RawExport, instrument: Instrument, *, choices: Choices | None = None,
                register: pd.DataFrame | None = None, source: str = "export") -> Inferred:
    """The set-up of a study as the export describes it (see the module docstring).

    ``register``: an existing unit register (add-round): texts it knows keep their ids."""
    choices = choices or Choices()
    if str(export.format).startswith("canonical"):
        return _infer_canonical(export, instrument, register, source)
    notes: list[str] = []
    vars_ = _variables(export)
    layout, cells, item_meaning = _find_items(vars_, instrument, choices, source, notes)
    rc_vars = {c.var for c in cells}
    target_texts = list(dict.fromkeys(c.target_text.strip() for c in cells))
    targets = {normalise_text(t) for t in target_texts}
    uq = _unit_question(vars_, export, rc_vars, targets, choices, source, notes)
    rank = {normalise_text(t): i for i, t in enumerate(target_texts)}
    base_codes = sorted(uq.labels, key=lambda c: _code_sort(c) if plain_code(c) is not None else
                        (1, rank.get(normalise_text(uq.labels[c]), len(rank)), uq.labels[c]))
    # a label nobody chose that names no rated unit ("Anden enhed", "Other") is not a unit
    chosen = {answer_key(x) for x in pd.unique(export.data[uq.name].astype(str).str.strip()) if x}
    idle = [c for c in base_codes if c not in chosen and normalise_text(uq.labels[c]) not in targets]
    if idle:
        notes.append("not units (nobody chose them and no RC item asks about them): " + _fmt_list(
            [f"{c} {uq.labels[c]!r}" for c in idle]))
        base_codes = [c for c in base_codes if c not in idle]
    base_names = [uq.labels[c].strip() for c in base_codes]
    base_set = {normalise_text(n) for n in base_names}
    nq = _network_question(vars_, export, rc_vars | {uq.name}, base_set, targets, choices, source, notes)
    lists = _network_lists(vars_, export, rc_vars | {uq.name}, targets - base_set)
    net_list = lists.get(nq[0].name) if len(nq) == 1 and nq[0].name in lists else None
    if net_list:
        sep = net_list[0]
        listed = export.data[nq[0].name].astype(str)
        found = list(dict.fromkeys(t.strip() for c in listed for t in c.split(sep) if t.strip()))
        order = {normalise_text(t): i for i, t in enumerate(target_texts)}
        net_names = sorted(found, key=lambda t: order.get(normalise_text(t), len(order)))
    else:
        net_names = [(v.choice.strip() or _row_text(v.text)).strip() for v in nq]
    used = rc_vars | {uq.name} | {v.name for v in nq}
    id_col = _id_column(vars_, export, used, choices, source, notes)

    # units: base units, then the networks, then targets that are neither
    seen = {normalise_text(n) for n in base_names} | {normalise_text(n) for n in net_names}
    extra = [t for t in target_texts if normalise_text(t) not in seen]
    allowed = {normalise_text(t) for t in choices.extra_networks}
    unlisted = [t for t in extra if normalise_text(t) not in allowed]
    if nq and unlisted:
        names = [*base_names, *net_names]
        _stop("the RC items ask about unit(s) that are neither a base unit (the labels of "
              f"{uq.name}) nor a network (the choices of {nq[0].question}):\n  - " + "\n  - ".join(
                  f"{t!r}" + (f" (closest: {close[0]!r})" if (close := difflib.get_close_matches(t, names, 1, 0.6))
                              else "") for t in unlisted),
              "if the texts differ from the unit's name, correct the export; if such a target is a network the "
              "network question does not offer, rerun with --extra-network '" + unlisted[0] + "' (repeatable)",
              source)
    if extra:
        notes.append(f"targets that are not base units are networks: {_fmt_list(extra)}")
    rows = [(n, "base") for n in base_names] + [(n, "network") for n in net_names + extra]
    dup = [n for n, _ in rows if sum(normalise_text(m) == normalise_text(n) for m, _ in rows) > 1]
    if dup:
        _stop(f"the unit {dup[0]!r} is both a base unit and a network in the export", "", source)
    units = _register(rows, register)
    not_rated = [n for n, _ in rows if normalise_text(n) not in targets]
    if not_rated:
        notes.append(f"units no RC item asks about: {_fmt_list(not_rated)}")

    # memberships: who ticks which network
    id_of = dict(zip(units["name"].map(normalise_text), units["unit_id"]))
    code_unit = {c: id_of[normalise_text(uq.labels[c])] for c in base_codes}
    rater = export.data[uq.name].map(lambda x: code_unit.get(answer_key(x)))
    ids = export.data[id_col].astype(str).str.strip()
    ok = rater.notna() & (ids != "") & ~ids.duplicated(keep=False)
    mem = []
    ticks = []   # (network name, boolean mask of the respondents who tick it)
    selected, unselected = ["1"], []
    if net_list:
        sets = export.data[nq[0].name].astype(str).map(lambda c: {normalise_text(t) for t in c.split(net_list[0])})
        ticks = [(name, sets.map(_has(normalise_text(name))))
                 for name in net_names]
    else:
        flag_values = pd.unique(pd.concat([export.data[v.name].astype(str).str.strip() for v in nq])) if nq else []
        selected, unselected = _selected(flag_values)
        ticks = [(name, export.data[v.name].astype(str).str.strip().isin(selected))
                 for v, name in zip(nq, net_names)]
    for name, ticked in ticks:
        counts = rater[ticked & ok].value_counts()
        for uid in [id_of[normalise_text(n)] for n in base_names]:
            if counts.get(uid, 0):
                mem.append((id_of[normalise_text(name)], uid, int(counts[uid])))
    memberships = pd.DataFrame(mem, columns=["network_id", "unit_id", "respondents"])
    per_unit = rater[ok].value_counts()
    silent = [id_of[normalise_text(n)] for n in base_names if not per_unit.get(id_of[normalise_text(n)], 0)]
    if silent:
        notes.append(f"base units without a respondent in this export: {_fmt_list(silent)} (accepted as missing: "
                     "validation.accept_missing_units)")
    if len(nq):
        notes.append(f"memberships: {len(memberships)} (a base unit is in a network when at least one of its "
                     "respondents ticks it)")

    # code -> score per item
    codes, missing, option_labels = {}, {}, {}
    label_of = {}
    for c in cells:
        label_of.setdefault(c.item, {}).update(vars_[c.var].labels)
    answer_texts = all(plain_code(k) is None for m in item_meaning.values() for k in m)
    for key, m in item_meaning.items():
        if answer_texts:   # the cells hold the answer texts: read through the options (codebook answers: options)
            notes.append(f"item {key}: answers are texts, read as the item's options")
            continue
        bad = [k for k in m if plain_code(k) is None]
        if bad:
            _stop(f"item {key}: the export's answer codes {_fmt_list(bad)} are not numbers",
                  "give the codebook an `answers:` map (config/README.md, Codebooks)", source)
        codes[key] = {int(plain_code(k)): float(s) for k, s in sorted(m.items(), key=lambda kv: _code_sort(kv[0]))
                      if s != MISSING}
        missing[key] = sorted(int(plain_code(k)) for k, s in m.items() if s == MISSING)
        option_labels[key] = {int(plain_code(k)): label_of[key][k] for k in m if k in label_of[key]}
        ident = all(c == s for c, s in codes[key].items())
        notes.append(f"item {key}: codes " + ", ".join(f"{c}={s:g}" for c, s in codes[key].items())
                     + (" (as labelled; not in score order)" if not ident else "")
                     + (f"; don't know: {', '.join(map(str, missing[key]))}" if missing[key] else ""))

    cb_unit = dict(zip(units["name"].map(normalise_text), units["unit_id"]))
    if any(".." in c.question for c in cells):   # matrix rows that are questions of their own: name the columns
        items_spec = {k: {"variables": {c.var: cb_unit[normalise_text(c.target_text)] for c in cells if c.item == k}}
                      for k in instrument.keys if any(c.item == k for c in cells)}
    elif layout == "per_item":
        q_of = {}
        for c in cells:
            q_of.setdefault(c.item, c.question)
        items_spec = {k: q_of[k] for k in instrument.keys if k in q_of}
    else:
        questions = {}
        rows_of: dict[str, dict[int, str]] = {}
        for c in cells:
            questions[c.question] = cb_unit[normalise_text(c.target_text)]
            pos = [v.name for v in vars_.values() if v.question == c.question].index(c.var) + 1
            rows_of.setdefault(c.question, {})[pos] = c.item
        row_maps = {tuple(sorted(r.items())) for r in rows_of.values()}
        if len(row_maps) != 1:
            _stop("the matrices per target do not ask the items in the same row order",
                  "write the codebook by hand with `variables:` per item (config/README.md, Codebooks)", source)
        items_spec = {"layout": "per_target", "questions": questions, "rows": dict(sorted(row_maps.pop()))}
    codebook: dict = {"respondent_id": id_col, "rater_unit": uq.name}
    if net_list:
        codebook["networks"] = {"variable": nq[0].name, "separator": net_list[0]}
    elif nq and selected == ["1"]:
        codebook["networks"] = nq[0].question
    elif nq:
        codebook["networks"] = {"question": nq[0].question, "selected": selected}
        if [x for x in unselected if x not in ("0",)]:
            codebook["networks"]["not_selected"] = [x for x in unselected if x != "0"]
    codebook["items"] = items_spec
    if answer_texts:
        codebook["answers"] = "options"
    return Inferred(layout=layout, codebook=codebook, units=units, memberships=memberships, codes=codes,
                    missing_codes=missing, option_labels=option_labels, notes=notes, answer_texts=answer_texts,
                    no_respondents=silent)


def _has(key: str):
    return lambda names: key in names


def _register(rows: list[tuple[str, str]], register: pd.DataFrame | None) -> pd.DataFrame:
    """unit_id, name, kind for the export's units: the register's id where it knows the text."""
    known = unit_lookup(register) if register is not None and len(register) else {}
    taken = set(register["unit_id"]) if register is not None and len(register) else set()
    fresh = [n for n, _ in rows if normalise_text(n) not in known]
    new_ids = dict(zip(fresh, unit_ids(fresh, taken)))
    out = [(known.get(normalise_text(n)) or new_ids[n], n, kind) for n, kind in rows]
    return pd.DataFrame(out, columns=["unit_id", "name", "kind"])


def _infer_canonical(export: RawExport, instrument: Instrument, register, source: str) -> Inferred:
    """The canonical long format names everything itself: unit ids in rater_unit, target_unit and
    networks; items by key; values are scores."""
    data, st = export.data, export.structure.fillna("").astype(str)
    items = [k for k in instrument.keys if k in set(st["questionName"])]
    missing = [k for k in instrument.index_keys if k not in items]
    if missing:
        _stop(f"responses.csv has no answers for item(s) {', '.join(missing)}", "", source)
    raters = [u for u in pd.unique(data["rater_unit"].astype(str).str.strip()) if u]
    targets = list(dict.fromkeys(st["choiceText"].str.strip()))
    nets = [t.strip() for c in data.get("networks", pd.Series(dtype=str)).astype(str) for t in c.split(";")
            if t.strip()]
    base = sorted(raters)
    others = [t for t in [*targets, *dict.fromkeys(nets)] if t not in set(base)]
    rows = [(u, "base") for u in base] + [(u, "network") for u in dict.fromkeys(others)]
    units = pd.DataFrame([(u, u, k) for u, k in rows], columns=["unit_id", "name", "kind"])
    if register is not None and len(register):
        units = _register(rows, register)
    mem = []
    if "networks" in data:
        ok = data["rater_unit"].astype(str).str.strip()
        sets = data["networks"].astype(str).map(lambda c: {t.strip() for t in c.split(";")})
        for n in dict.fromkeys(nets):
            counts = ok[sets.map(_has(n))].value_counts()
            mem += [(n, u, int(counts[u])) for u in base if counts.get(u, 0)]
    notes = ["canonical format: unit ids from rater_unit, target_unit and networks; items by key; values are scores",
             f"units: {len(base)} base units (raters), {len(rows) - len(base)} networks (targets and listed networks "
             "that are not raters)",
             f"memberships: {len(mem)} (a base unit is in a network when at least one of its respondents lists it)"]
    codebook = {"respondent_id": "respondent_id", "rater_unit": "rater_unit"}
    if "networks" in data:
        codebook["networks"] = {"variable": "networks", "separator": ";"}
    codebook["items"] = {k: k for k in items}
    codebook["values"] = "scores"
    return Inferred(layout="per_item", codebook=codebook, units=units,
                    memberships=pd.DataFrame(mem, columns=["network_id", "unit_id", "respondents"]), codes={},
                    missing_codes={}, option_labels={}, notes=notes)
