"""Write one survey round as a SurveyXact export (CSV trio or Excel workbook).

The layout follows real SurveyXact exports (as in the sample exports of the
R package readSX, github.com/sda030/readSX) and the codebook that describes them
(``config/codebooks/demo.yaml``):

- ``dataset``: one record per respondent; ``id``; the base unit as a single
  choice (``s_1``, codes 1..J labelled with unit names); networks as a multiple
  choice (``v_2_1..v_2_K``, 0/1, the network's name in the structure's
  ``choiceText``); one matrix question per item (``s_N``) with one variable per
  target unit (``s_N_M``, questionText ``"<question> - <unit name>"``), holding
  export codes (the inverse of the item's code -> score map), 6 = "Ved ikke",
  blank = not answered -- or, with ``layout="per_target"``, one matrix question
  per target unit (``s_{3+m}``) with one row per item (``s_{3+m}_{q+1}``,
  questionText ``"<heading naming the unit> - <item question>"``); free text
  ``t_1``; background ``b_1``; fields that must not reach results (``email``,
  ``navn``) and the status flags ``stato_1..5``.
- ``structure``: questionName, variableName, questionType, subType,
  questionText, choiceValue, choiceText; in CSV every record row ends with a
  trailing delimiter (the SurveyXact export bug readers must tolerate).
- ``labels``: variable, value, label, no header.

CSV: ``;`` + Latin-1 (LF, quoted only where needed, like the semicolon
sample), ``,`` (text fields quoted, like the comma sample) or tab + UTF-16
(CRLF). Excel: sheets ``Dataset`` (split into ``Dataset``, ``Dataset2``, ...
when there are more than ``max_columns`` columns, nothing repeated),
``Structure``, ``Labels`` (no header), numbers as numbers; byte-identical for
the same input (fixed document and zip timestamps).

``survey_language="en"`` writes the item questions and answer options (and "Don't
know") from the instrument's English texts; the other questions stay Danish.

``invalid_rows=True`` inserts five deliberately invalid extra records (unknown
unit code, out-of-range answer code, two records sharing an id, empty id) and
reports where (as a spreadsheet user counts: header row 1, first record
row 2); the valid records are exactly the canonical respondents.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..codebook import background_spec
from ..instrument import Instrument, load_instrument
from ..outputs import FIXED_ZIP_TIME, deterministic_xlsx

STRUCTURE_COLUMNS = ["questionName", "variableName", "questionType", "subType", "questionText",
                     "choiceValue", "choiceText"]
STATUS = ["Ny", "Distribueret", "Delvist besvaret", "Gennemført", "Frafaldet"]
#: the language of the simulated surveys' texts (questions, answer options); not report.language
EXPORT_LANG = "da"
DONT_KNOW_LABEL = "Ved ikke"
DONT_KNOW_LABELS = {"da": DONT_KNOW_LABEL, "en": "Don't know"}
LAYOUTS = ("per_item", "per_target")
FIXED_TIME = FIXED_ZIP_TIME

RATER_QUESTION = "Hvilken enhed er du ansat i?"
NETWORK_QUESTION = "Hvilke netværk deltager du i? (flere kryds er muligt)"
BACKGROUND_QUESTIONS = {"role": "Hvad er din stilling?"}
BACKGROUND_ORDER = {"role": ["Leder", "Medarbejder", "Andet"]}

FIRST_NAMES = ["Anne", "Mette", "Søren", "Jørgen", "Kirsten", "Lars", "Hanne", "Bjørn", "Maria", "Mads",
               "Sofie", "Rasmus", "Birgitte", "Jens", "Åse", "Thomas", "Lone", "Niels", "Camilla", "Frederik",
               "Ida", "Mikkel", "Susanne", "Peter", "Gitte", "Kasper", "Line", "Henrik", "Pernille", "Bo"]
LAST_NAMES = ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
              "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Møller",
              "Poulsen", "Østergaard", "Krogh", "Dalgaard", "Bæk", "Lund", "Holm", "Kjær", "Ågård"]
COMMENTS = [
    "Vi mangler tid til at tale sammen på tværs.",
    "Samarbejdet med netværket har gjort en forskel for borgerne.",
    "Svært at svare for enheder, jeg sjældent har kontakt med",
    "Mødestrukturen fungerer, men informationen kommer for sent.",
    "Godt initiativ, gerne flere fælles møder!",
    "Jeg kender ikke alle enheder på listen.",
    "Mere klarhed om, hvem der gør hvad, tak.",
    "Kommunikationen er blevet bedre det sidste år.",
]


def read_codebook(codebook) -> dict:
    """A codebook as a dict (from a path, YAML text or a dict), with defaults."""
    if isinstance(codebook, (str, Path)) and Path(codebook).exists():
        data = yaml.safe_load(Path(codebook).read_text(encoding="utf-8")) or {}
    elif isinstance(codebook, dict):
        data = dict(codebook)
    else:
        raise ValueError(f"codebook {codebook!r} is neither a file nor a dict")
    for key in ("respondent_id", "rater_unit", "items"):
        if key not in data:
            raise ValueError(f"codebook lacks {key!r}")
    data.setdefault("networks", None)
    data.setdefault("background", [])
    return data


def _ascii(s: str) -> str:
    for a, b in (("æ", "ae"), ("ø", "oe"), ("å", "aa"), ("Æ", "Ae"), ("Ø", "Oe"), ("Å", "Aa")):
        s = s.replace(a, b)
    return s


def option_label(item, code: int, lang: str) -> str:
    """The answer text of an export code: ``options`` are listed in score order 1..5."""
    opts = item.options.get(lang) or item.options.get("en") or []
    score = item.codes.get(code)
    if score is not None and float(score).is_integer() and 1 <= int(score) <= len(opts):
        return opts[int(score) - 1]
    return str(code)


def _score_to_code(item) -> dict[int, int]:
    inv: dict[int, int] = {}
    for code, score in sorted(item.codes.items()):
        if float(score).is_integer():
            inv.setdefault(int(score), int(code))
    return inv


def _split_round(study_round):
    if hasattr(study_round, "responses"):
        return study_round.responses, study_round.respondents, getattr(study_round, "dont_know", None)
    if isinstance(study_round, (tuple, list)) and len(study_round) in (2, 3):
        return study_round[0], study_round[1], (study_round[2] if len(study_round) == 3 else None)
    raise TypeError("study_round must be a SimRound or a (responses, respondents[, dont_know]) tuple")


class _Col:
    """One export column: ints (-1 = blank) or text."""

    __slots__ = ("name", "ints", "text")

    def __init__(self, name, ints=None, text=None):
        self.name, self.ints, self.text = name, ints, text

    def take(self, order: np.ndarray) -> _Col:
        return _Col(self.name, None if self.ints is None else self.ints[order],
                    None if self.text is None else self.text[order])


def write_surveyxact(study_round, units: pd.DataFrame, instrument, codebook, path, *, kind: str = "csv",
                     delimiter: str = ";", encoding: str = "latin-1", invalid_rows: bool = True, seed: int = 0,
                     names: dict[str, str] | None = None, trailing_space_choice_text: bool = False,
                     max_columns: int = 60, quote_text: bool | None = None, lineterminator: str | None = None,
                     dont_know_code: int = 6, layout: str = "per_item", survey_language: str = EXPORT_LANG,
                     heading: str = "{name}") -> dict:
    """Write one round as a SurveyXact export; returns what was written.

    study_round: a :class:`relcoord.simulate.SimRound` or ``(responses, respondents[, dont_know])``
        with the canonical columns; ``dont_know`` (aligned with ``responses``) marks NaNs written as
        "Ved ikke" (``dont_know_code``) instead of blank.
    units: the unit register (unit_id, name, kind); its order gives the codes.
    instrument: :class:`Instrument` or path; codebook: dict or path (``config/codebooks/*.yaml``).
    path: a folder for ``kind="csv"`` (dataset.csv, structure.csv, labels.csv), a ``.xlsx`` file for
        ``kind="xlsx"``.
    names: unit_id -> text to write instead of the unit's name (aliases, renames).
    layout: ``"per_item"`` (one matrix question per item, the codebook's ``items`` naming them) or
        ``"per_target"`` (one question ``s_{3+m}`` per target unit -- base units, then networks, in
        register order -- with one row ``s_{3+m}_{q+1}`` per item in instrument order, questionText
        ``f"{heading.format(name=<unit text>)} - <item question>"``).
    survey_language: the language of the item questions and answer options (``"da"`` or ``"en"``).
    Returns a dict with ``files``, ``sheets``, ``columns``, ``n_records``, ``codebook`` (the codebook
    dict that reads the export; per target: ``items: {layout: per_target, questions: {s_3: HJP,
    ...}}``) and ``invalid_rows`` (a list of ``{kind, respondent_id, source_rows, column, value, file}``).
    The invalid records are extra records (copies of simulated answers with the defect): none of
    them is in the canonical tables, so the valid records of the export are exactly ``respondents``.
    """
    language = survey_language
    if kind not in ("csv", "xlsx"):
        raise ValueError(f"kind must be 'csv' or 'xlsx', not {kind!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    cb = read_codebook(codebook)
    responses, respondents, dont_know = _split_round(study_round)
    rng = np.random.default_rng(seed)
    names = dict(names or {})

    base = units.loc[units["kind"] == "base"]
    nets = units.loc[units["kind"] == "network"]
    base_ids, net_ids = base["unit_id"].tolist(), nets["unit_id"].tolist()
    label_of = {u: names.get(u, n) for u, n in zip(units["unit_id"], units["name"])}
    unit_lookup = {}
    for u, n in zip(units["unit_id"], units["name"]):
        unit_lookup[u] = u
        unit_lookup[n] = u

    # -- respondents and the item cube --------------------------------------------------------
    ids = respondents["respondent_id"].astype(str).to_numpy(dtype=object)
    n = len(ids)
    r_index = pd.Index(ids)
    if not r_index.is_unique:
        raise ValueError("respondent ids in respondents are not unique")
    rater = respondents["rater_unit"].astype(str).to_numpy()
    unknown = set(rater) - set(base_ids)
    if unknown:
        raise ValueError(f"rater units {sorted(unknown)} are not base units in the register")

    cb_items = cb["items"]
    if isinstance(cb_items, dict) and "layout" in cb_items:  # a per-target codebook: every instrument item
        cb_items = {key: f"s_{3 + q}" for q, key in enumerate(inst.keys)}
    for key in cb_items:
        inst.item(key)  # KeyError for an item the instrument lacks
    item_keys = list(cb_items) if layout == "per_item" else [k for k in inst.keys if k in cb_items]
    # (question name, [(variable, target unit)]) per item
    matrix: list[tuple[str, str, list[tuple[str, str]]]] = []
    all_targets = base_ids + net_ids
    for key, spec in cb_items.items():
        if isinstance(spec, str):
            matrix.append((key, spec, [(f"{spec}_{m + 1}", t) for m, t in enumerate(all_targets)]))
        else:
            var_units = [(v, unit_lookup.get(str(u), str(u))) for v, u in spec["variables"].items()]
            qname = re.sub(r"_\d+$", "", var_units[0][0])
            matrix.append((key, qname, var_units))
    targets = list(dict.fromkeys(t for _, _, vu in matrix for _, t in vu))
    if layout == "per_target":
        targets = list(all_targets)
    t_index, i_index = pd.Index(targets), pd.Index(item_keys)

    sel_rows = (responses["item"].isin(item_keys) & responses["target_unit"].isin(targets)).to_numpy()
    resp = responses[sel_rows]
    ri = r_index.get_indexer(resp["respondent_id"].astype(str))
    if (ri < 0).any():
        raise ValueError("responses hold respondent ids missing from respondents")
    ti = t_index.get_indexer(resp["target_unit"])
    ii = i_index.get_indexer(resp["item"])
    vals = resp["value"].to_numpy(dtype=float)
    codes = np.full((n, len(targets), len(item_keys)), -1, dtype=np.int64)
    cell_codes = np.full(len(vals), -1, dtype=np.int64)
    for q, key in enumerate(item_keys):
        inv = _score_to_code(inst.item(key))
        lut = np.full(inst.scale_max + 2, -1, dtype=np.int64)
        for s, c in inv.items():
            if 0 <= s < lut.size:
                lut[s] = c
        sel = (ii == q) & ~np.isnan(vals)
        v = vals[sel]
        if (v != np.round(v)).any() or (v < 0).any() or (v >= lut.size).any():
            raise ValueError(f"item {key}: scores outside {inst.scale_min}..{inst.scale_max}")
        c = lut[v.astype(int)]
        if (c < 0).any():
            raise ValueError(f"item {key}: a score has no export code in the instrument")
        cell_codes[sel] = c
    if dont_know is not None:
        dk = np.asarray(dont_know, dtype=bool)
        if dk.shape[0] != len(responses):
            raise ValueError("dont_know is not aligned with responses")
        dk = dk[sel_rows]
        cell_codes[dk & np.isnan(vals)] = dont_know_code
    codes[ri, ti, ii] = cell_codes

    # -- columns ------------------------------------------------------------------------------
    cols: list[_Col] = []
    structure: list[list] = []
    labels: list[list] = []
    rid_var = cb["respondent_id"]
    cols.append(_Col(rid_var, text=ids.copy()))
    structure.append([rid_var, rid_var, "Open", "String", "Respondent-id", "", ""])

    rater_var = cb["rater_unit"]
    cols.append(_Col(rater_var, ints=pd.Index(base_ids).get_indexer(rater).astype(np.int64) + 1))
    structure.append([rater_var, rater_var, "Closed", "Single", RATER_QUESTION, "", ""])
    labels += [[rater_var, j + 1, label_of[u]] for j, u in enumerate(base_ids)]

    net_var = cb.get("networks")
    if net_var and net_ids:
        padded = ";" + respondents["networks"].fillna("").astype(str).str.replace(" ", "") + ";"
        for k, net in enumerate(net_ids):
            var = f"{net_var}_{k + 1}"
            cols.append(_Col(var, ints=padded.str.contains(f";{net};", regex=False).to_numpy(dtype=np.int64)))
            text = label_of[net] + (" " if trailing_space_choice_text else "")
            structure.append([net_var, var, "Closed", "Multiple", NETWORK_QUESTION, k + 1, text])
            labels += [[var, 0, "Ikke valgt"], [var, 1, "Valgt"]]

    item_cols: list[str] = []

    def item_texts(key):  # (question, [[code, label]]) in the export's language
        item = inst.item(key)
        question = item.question.get(language) or item.question.get("en") or item.label(language)
        code_labels = [[c, option_label(item, c, language)] for c in sorted(item.codes)]
        code_labels.append([dont_know_code, DONT_KNOW_LABELS.get(language, DONT_KNOW_LABEL)])
        return question, code_labels

    if layout == "per_item":
        for q, (key, qname, var_units) in enumerate(matrix):
            question, code_labels = item_texts(key)
            for var, t in var_units:
                cols.append(_Col(var, ints=codes[:, t_index.get_loc(t), q].copy()))
                item_cols.append(var)
                structure.append([qname, var, "Closed", "Single", f"{question} - {label_of.get(t, t)}", "", ""])
                labels += [[var, c, lab] for c, lab in code_labels]
        out_items = dict(cb_items)
    else:
        texts = [item_texts(key) for key in item_keys]
        out_items = {"layout": "per_target", "questions": {}}
        for m, t in enumerate(targets):
            qname = f"s_{3 + m}"
            out_items["questions"][qname] = t
            head = heading.format(name=label_of.get(t, t))
            for q, (question, code_labels) in enumerate(texts):
                var = f"{qname}_{q + 1}"
                cols.append(_Col(var, ints=codes[:, m, q].copy()))
                item_cols.append(var)
                structure.append([qname, var, "Closed", "Single", f"{head} - {question}", "", ""])
                labels += [[var, c, lab] for c, lab in code_labels]
    out_codebook = {**cb, "items": out_items}

    answered = (codes >= 0).mean(axis=(1, 2)) if codes.size else np.ones(n)
    comment = np.full(n, "", dtype=object)
    has = rng.random(n) < 0.12
    comment[has] = np.asarray(COMMENTS, dtype=object)[rng.integers(0, len(COMMENTS), has.sum())]
    cols.append(_Col("t_1", text=comment))
    structure.append(["t_1", "t_1", "Open", "String", "Kommentar", "", ""])

    extra = [c for c in respondents.columns if c not in ("respondent_id", "rater_unit", "networks")]
    for var, col in zip(background_spec(cb.get("background"))[0], extra):
        values = respondents[col].fillna("").astype(str)
        pref = BACKGROUND_ORDER.get(col, [])
        cats = [v for v in pref if v in set(values)] + sorted(set(values) - set(pref) - {""})
        idx = pd.Index(cats).get_indexer(values)
        cols.append(_Col(var, ints=np.where(idx >= 0, idx + 1, -1).astype(np.int64)))
        structure.append([var, var, "Closed", "Single", BACKGROUND_QUESTIONS.get(col, col), "", ""])
        labels += [[var, j + 1, c] for j, c in enumerate(cats)]

    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    navn = np.array([f"{FIRST_NAMES[a]} {LAST_NAMES[b]}" for a, b in zip(first, last)], dtype=object)
    email = np.array([f"{_ascii(FIRST_NAMES[a]).lower()}.{_ascii(LAST_NAMES[b]).lower()}{i % 97}"
                      f"@demokommune.example" for i, (a, b) in enumerate(zip(first, last))], dtype=object)
    cols.append(_Col("email", text=email))
    structure.append(["email", "email", "Open", "String", "E-mail", "", ""])
    cols.append(_Col("navn", text=navn))
    structure.append(["navn", "navn", "Open", "String", "Navn", "", ""])
    status = np.where(answered >= 0.75, 4, 3)
    for s, text in enumerate(STATUS, start=1):
        var = f"stato_{s}"
        cols.append(_Col(var, ints=(status == s).astype(np.int64)))
        structure.append(["statoverall", var, "Closed", "Multiple", "Samlet status", s, text])
        labels += [[var, 0, "Ikke valgt"], [var, 1, "Valgt"]]

    # -- invalid records ----------------------------------------------------------------------
    colpos = {c.name: j for j, c in enumerate(cols)}
    bad: list[dict] = []
    order_key = np.arange(n, dtype=float)
    if invalid_rows and n >= 5:
        src = [int(x) for x in rng.choice(n, 5, replace=False)]  # records whose answers the invalid ones copy
        taken = set(ids)
        new_ids = []
        while len(new_ids) < 3:
            cand = str(int(rng.integers(10_000_000, 100_000_000)))
            if cand not in taken:
                taken.add(cand)
                new_ids.append(cand)
        for c in cols:
            if c.ints is not None:
                c.ints = np.concatenate([c.ints, c.ints[src]])
            else:
                c.text = np.concatenate([c.text, c.text[src]])
        for j in range(5):  # fresh names and e-mails for the copies
            a, b = int(rng.integers(0, len(FIRST_NAMES))), int(rng.integers(0, len(LAST_NAMES)))
            cols[colpos["navn"]].text[n + j] = f"{FIRST_NAMES[a]} {LAST_NAMES[b]}"
            cols[colpos["email"]].text[n + j] = (f"{_ascii(FIRST_NAMES[a]).lower()}."
                                                 f"{_ascii(LAST_NAMES[b]).lower()}@demokommune.example")
        idc = cols[colpos[rid_var]].text
        # 1: unknown unit code
        idc[n] = new_ids[0]
        cols[colpos[rater_var]].ints[n] = 99
        # 2: out-of-range code in one answered item cell
        idc[n + 1] = new_ids[1]
        answered_cols = [v for v in item_cols if cols[colpos[v]].ints[n + 1] >= 0] or item_cols
        oor_var = answered_cols[int(rng.integers(0, len(answered_cols)))]
        cols[colpos[oor_var]].ints[n + 1] = 7
        # 3: two records sharing one id (a resubmission a few rows later)
        idc[n + 2] = idc[n + 3] = new_ids[2]
        # 4: empty id
        idc[n + 4] = ""
        pos = rng.integers(1, n, 4).astype(float)
        gap = int(rng.integers(1, max(2, min(40, n - int(pos[2])))))
        order_key = np.concatenate([order_key, [pos[0] - 0.5, pos[1] - 0.5, pos[2] - 0.5,
                                                pos[2] + gap - 0.25, pos[3] - 0.5]])
        order = np.argsort(order_key, kind="stable")
        cols = [c.take(order) for c in cols]
        row_of = np.empty(len(order), dtype=int)
        row_of[order] = np.arange(len(order)) + 2
        sheet_of = _sheet_namer(kind, [c.name for c in cols], max_columns, path)
        bad = [
            dict(kind="unknown_unit_code", respondent_id=new_ids[0], source_rows=[int(row_of[n])],
                 column=rater_var, value="99", file=sheet_of(rater_var)),
            dict(kind="out_of_range_code", respondent_id=new_ids[1], source_rows=[int(row_of[n + 1])],
                 column=oor_var, value="7", file=sheet_of(oor_var)),
            dict(kind="duplicate_id", respondent_id=new_ids[2],
                 source_rows=sorted([int(row_of[n + 2]), int(row_of[n + 3])]), column=rid_var,
                 value=new_ids[2], file=sheet_of(rid_var)),
            dict(kind="empty_id", respondent_id="", source_rows=[int(row_of[n + 4])], column=rid_var, value="",
                 file=sheet_of(rid_var)),
        ]
        bad.sort(key=lambda d: d["source_rows"][0])

    # -- write --------------------------------------------------------------------------------
    path = Path(path)
    n_records = len(cols[0].text)
    if kind == "csv":
        files = _write_csv(cols, structure, labels, path, delimiter=delimiter, encoding=encoding,
                           quote_text=(delimiter == ",") if quote_text is None else quote_text,
                           lineterminator=lineterminator or ("\r\n" if delimiter == "\t" else "\n"))
        sheets: list[str] = []
    else:
        files, sheets = _write_xlsx(cols, structure, labels, path, max_columns=max_columns)
    return dict(files=[str(f) for f in files], sheets=sheets, columns=[c.name for c in cols],
                n_records=n_records, invalid_rows=bad, codebook=out_codebook)


def _sheet_names(ncols: int, max_columns: int) -> list[str]:
    k = max(1, -(-ncols // max_columns))
    return ["Dataset"] + [f"Dataset{j}" for j in range(2, k + 1)]


def _sheet_namer(kind: str, names: list[str], max_columns: int, path):
    if kind == "csv":
        return lambda var: "dataset.csv"
    sheets = _sheet_names(len(names), max_columns)
    where = {v: sheets[j // max_columns] for j, v in enumerate(names)}
    fname = Path(path).name
    return lambda var: f"{fname}:{where[var]}"


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------

def _csv_field(s: str, delimiter: str, force: bool) -> str:
    if force or any(ch in s for ch in (delimiter, '"', "\n", "\r")):
        return '"' + s.replace('"', '""') + '"'
    return s


def _int_strings(a: np.ndarray) -> np.ndarray:
    hi = int(a.max()) if a.size else 0
    if hi < 1000 and (a.size == 0 or a.min() >= -1):
        lut = np.array([""] + [str(i) for i in range(hi + 1)], dtype=object)
        return lut[a + 1]
    return np.array(["" if v < 0 else str(v) for v in a], dtype=object)


def _write_csv(cols, structure, labels, folder: Path, *, delimiter, encoding, quote_text, lineterminator):
    folder.mkdir(parents=True, exist_ok=True)
    d = delimiter
    header = d.join(_csv_field(c.name, d, False) for c in cols)
    mat = np.empty((len(cols[0].text), len(cols)), dtype=object)
    for j, c in enumerate(cols):
        if c.ints is not None:
            mat[:, j] = _int_strings(c.ints)
        else:
            mat[:, j] = [_csv_field(s, d, quote_text) for s in c.text]
    lines = [header] + [d.join(row) for row in mat.tolist()]
    files = []

    def write(name, text_lines):
        p = folder / name
        with open(p, "w", encoding=encoding, newline="") as fh:
            fh.write(lineterminator.join(text_lines) + lineterminator)
        files.append(p)

    write("dataset.csv", lines)
    s_lines = [d.join(STRUCTURE_COLUMNS)]
    for qn, var, qt, st, text, cv, ct in structure:
        fields = [_csv_field(qn, d, False), _csv_field(var, d, False), qt, st,
                  _csv_field(text, d, quote_text), "" if cv == "" else str(cv),
                  _csv_field(ct, d, quote_text and ct != "")]
        s_lines.append(d.join(fields) + d)  # SurveyXact leaves a trailing delimiter on record rows
    write("structure.csv", s_lines)
    write("labels.csv", [d.join([_csv_field(v, d, quote_text), str(c), _csv_field(lab, d, quote_text)])
                         for v, c, lab in labels])
    return files


# ---------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------

def _cell_values(c: _Col, numeric_text: bool) -> list:
    if c.ints is not None:
        return [None if v < 0 else int(v) for v in c.ints.tolist()]
    out = []
    for s in c.text.tolist():
        if s == "":
            out.append(None)
        elif numeric_text and s.isdigit() and not s.startswith("0"):
            out.append(int(s))
        else:
            out.append(s)
    return out


def _write_xlsx(cols, structure, labels, path: Path, *, max_columns: int):
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    sheets = _sheet_names(len(cols), max_columns)
    columns = [_cell_values(c, numeric_text=(j == 0)) for j, c in enumerate(cols)]
    for s, name in enumerate(sheets):
        ws = wb.create_sheet(name)
        part = slice(s * max_columns, (s + 1) * max_columns)
        ws.append([c.name for c in cols[part]])
        for row in zip(*columns[part]):
            ws.append(list(row))
    ws = wb.create_sheet("Structure")
    ws.append(STRUCTURE_COLUMNS)
    for row in structure:
        ws.append([None if v == "" else v for v in row])
    ws = wb.create_sheet("Labels")
    for row in labels:
        ws.append(list(row))
    import datetime as _dt
    fixed = _dt.datetime(*FIXED_TIME)
    wb.properties.creator = "relcoord simulate"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(deterministic_xlsx(buf.getvalue()))
    return [path], sheets
