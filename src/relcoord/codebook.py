"""Codebooks: where an export keeps the respondent id, base unit, network
memberships and each (item, target unit) answer, and how its answers read.

A codebook is a small YAML file (schema: relcoord/schemas/codebook.schema.yaml,
documented with an example per export format in config/README.md). Unit and
network texts found in the export (value labels, matrix row texts, choice
texts, cell values) are matched to the unit register by unit_id, name or
alias, ignoring case, surrounding blanks and repeated spaces, Unicode compatibility forms and
invisible format characters (see :func:`normalise_text`); units.tsv may not hold two units whose
texts coincide that way (:func:`relcoord.registry.load_units` stops).

Where the columns of a matrix item are:

- a question name (``frequent: s_3``): the rows of that question in the
  export's structure; each row's target unit is its choice text, or its
  question text after the last " - " (SurveyXact, Qualtrics, SPSS labels) or
  inside a trailing ``[...]`` (LimeSurvey);
- ``{variables: {s_4_1: HJP, ...}}``: an explicit column -> unit map;
- ``{pattern: "Q3[SQ{n}]", targets: {1: HJP, ...}}``: every column matching
  the pattern; ``{n}`` matches a number (``SQ001`` is 1), ``{target}`` any
  text, looked up in ``targets`` or, without ``targets``, in the unit register.

That is the per-item layout (the default): one matrix question per item, one row per target unit.
The per-target layout (``items: {layout: per_target, ...}``) has one matrix question per target
unit and one row per item: ``questions: {s_3: HJP, ...}`` names each question's unit, or
``pattern: "Samarbejdet med {target}"`` finds the questions by their heading (the question text
before the row text); a row's item is the instrument item whose question or label (any language)
its row text is, or ``rows: {1: frequent, ...}`` gives it by position (see :func:`_per_target_columns`).

How answers read: export codes go through the instrument's ``codes`` map.
``answers:`` (for the whole codebook or per item) first maps what the export
holds to an instrument code: ``{A1: 1, ..., A6: missing}``, or ``options``
(the instrument's answer texts in any language, and its ``missing_labels``).
``values: scores`` says the export already holds scores 1..5 (the canonical
format, a table from R): they are read as scores, never recoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .codes import MISSING, answer_key, normalise_code, normalise_text, plain_code
from .errors import RelcoordError
from .instrument import Instrument
from .labels import check_export_labels, dont_know_codes, instrument_file
from .privacy import mask_personal
from .readers import RawExport
from .schema import read_yaml, validate

DEFAULT_SELECTED = ("1",)    # a multiple-choice flag meaning "member"
DEFAULT_UNSELECTED = ("", "0")


@dataclass(frozen=True)
class Codebook:
    respondent_id: str
    rater_unit: str
    items: dict[str, str | dict]
    networks: str | dict | None = None
    background: tuple[str, ...] = ()
    source: str = ""
    rater_codes: dict[str, str] = field(default_factory=dict)   # export value -> base unit (id, name or alias)
    answers: str | dict | None = None                            # "options" or {export answer: code | "missing"}
    values: str = "codes"                                        # codes | scores
    background_values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> allowed values
    background_keys: tuple[str, ...] = ()                        # panel-key fields (pseudonymised)
    # ``items: {layout: per_target, ...}`` (one matrix question per target unit, one row per item):
    # ``items`` is then empty and ``per_target`` holds ``questions`` (question -> unit) or ``pattern``
    # (a heading with {target}), and optionally ``rows`` (row position "1", "2", ... -> item key)
    item_layout: str = "per_item"                                # per_item | per_target
    per_target: dict = field(default_factory=dict)


@dataclass
class ColumnMap:
    """The resolved codebook for one export."""

    respondent_id: str
    rater_unit: str
    rater_codes: dict[str, str]          # export code -> base unit_id (only matched codes)
    rater_labels: dict[str, str]         # export code -> label text (all codes)
    networks: dict[str, str]             # 0/1 variable -> network unit_id
    items: pd.DataFrame                  # variable, item, target_unit (instrument order, then target)
    dont_know: dict[str, set[str]] = field(default_factory=dict)  # variable -> codes labelled "don't know"
    background: tuple[str, ...] = ()
    unused: list[str] = field(default_factory=list)  # export columns not carried (privacy: dropped)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)  # item -> answer key -> code | MISSING
    network_selected: frozenset = frozenset(DEFAULT_SELECTED)        # flag values (answer keys) = member
    network_unselected: frozenset = frozenset(DEFAULT_UNSELECTED)    # flag values = not a member
    network_list: tuple | None = None    # (variable, separator, answer key -> network unit_id)
    values: str = "codes"                # the codebook's `values`: codes | scores (scores: no missing codes)
    labels_checked: dict[str, int] = field(default_factory=dict)  # item -> labelled codes (and text keys of the
    #     codebook's `answers:`) held against the instrument (relcoord.labels); 0: nothing to check for the item
    background_values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> allowed values
    background_keys: tuple[str, ...] = ()  # background fields that are panel keys (pseudonymised at ingest)


def unit_lookup(units: pd.DataFrame, kind: str | None = None) -> dict[str, str]:
    """normalised text -> unit_id for ids, names and '|'-separated aliases."""
    u = units if kind is None else units[units["kind"] == kind]
    out: dict[str, str] = {}
    for uid, name, aliases in zip(u["unit_id"], u["name"], u.get("aliases", pd.Series([""] * len(u)))):
        for text in [uid, name, *str(aliases).split("|")]:
            if text and text.strip():
                out.setdefault(normalise_text(text), uid)
    return out


def closest_unit(text: str, units: pd.DataFrame, kind: str | None = None) -> tuple[str, str] | None:
    """``(unit_id, name)`` of the registered unit (of ``kind``) whose id, name or an alias is closest
    to ``text`` (difflib, ratio at least 0.6), or None when nothing is close."""
    import difflib

    u = units if kind is None else units[units["kind"] == kind]
    cands: dict[str, tuple[str, str]] = {}
    for uid, name, aliases in zip(u["unit_id"], u["name"], u.get("aliases", pd.Series([""] * len(u)))):
        for t in [name, *str(aliases if isinstance(aliases, str) else "").split("|"), uid]:
            if t and t.strip():
                cands.setdefault(normalise_text(t), (str(uid), str(name)))
    best = difflib.get_close_matches(normalise_text(text), list(cands), n=1, cutoff=0.6)
    return cands[best[0]] if best else None


def unit_fix(text: str, units: pd.DataFrame, kind: str | None = "base", units_file: str = "config/units.tsv") -> str:
    """What to do about a unit text (a value label, matrix row or mapped name) the register does not
    know: the ``aliases`` entry that would fix it when a registered unit is close, else a new unit row."""
    text = str(text).strip()
    other = unit_lookup(units).get(normalise_text(text)) if kind is not None else None
    if other is not None:
        k = units.loc[units["unit_id"] == other, "kind"]
        return f"{text!r} is {other}, a {k.iat[0] if len(k) else 'registered'} unit, not a {kind} unit"
    near = closest_unit(text, units, kind)
    if near is not None:
        uid, name = near
        return (f"the closest registered unit is {uid} ({name}): if it is the same unit (renamed), add {text!r} to "
                f"the aliases column of {uid} in {units_file} (aliases are separated by '|'); if it is another "
                "unit, add a unit row for it")
    return (f"no registered unit is close to {text!r}: add a unit row for it to {units_file} (unit_id, name, "
            f"kind {kind or 'base or network'}, valid_from), or add {text!r} to the aliases of the unit it is")


def _row_text(question_text: str) -> str:
    """Matrix row text: inside a trailing ``[...]`` (LimeSurvey), else after the last ' - '
    (SurveyXact, Qualtrics), else the whole text."""
    text = str(question_text).strip()
    if text.endswith("]") and "[" in text:
        inner = text[text.rindex("[") + 1:-1].strip()
        if inner:
            return inner
    parts = text.rsplit(" - ", 1)
    return parts[-1] if len(parts) == 2 else text


def _heading(question_text: str) -> str:
    """A matrix row's heading: its question text without the row text (:func:`_row_text`) -- the
    text before a trailing ``[...]`` or before the last ' - '; "" when the text has no row text."""
    text = str(question_text).strip()
    if text.endswith("]") and "[" in text and text[text.rindex("[") + 1:-1].strip():
        return text[:text.rindex("[")].strip()
    parts = text.rsplit(" - ", 1)
    return parts[0].strip() if len(parts) == 2 else ""


# --------------------------------------------------------------------------- loading

_MAP_PATHS = (("rater_unit", "codes"), ("networks", "codes"), ("networks", "targets"), ("networks", "variables"),
              ("answers",))


def _str_keys(d):
    return {str(k): v for k, v in d.items()} if isinstance(d, dict) else d


def _stringify(data: dict) -> dict:
    """YAML reads ``{1: HJP}`` with int keys; JSON schema wants strings."""
    for path in _MAP_PATHS:
        node = data
        for k in path[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(path[-1]), dict):
            node[path[-1]] = _str_keys(node[path[-1]])
    items = data.get("items")
    if _is_per_target(items):
        for k in ("questions", "rows"):
            if isinstance(items.get(k), dict):
                items[k] = _str_keys(items[k])
        return data
    for spec in (items or {}).values() if isinstance(items, dict) else []:
        if isinstance(spec, dict):
            for k in ("variables", "targets", "answers"):
                if isinstance(spec.get(k), dict):
                    spec[k] = _str_keys(spec[k])
    return data


_PLACEHOLDER = re.compile(r"\{(target|n)\}")


def _check_pattern(spec: dict, where: str, source: str) -> None:
    found = _PLACEHOLDER.findall(spec["pattern"])
    if len(found) != 1:
        raise RelcoordError(f"{where}: pattern {spec['pattern']!r} must hold exactly one {{target}} or {{n}} "
                            f"placeholder (it holds {len(found)})", file=source,
                            hint='e.g. pattern: "Q3_{n}" with targets: {1: HJP, 2: SUC}, or "hyppig_{target}"')
    if found[0] == "n":
        if "targets" not in spec:
            raise RelcoordError(f"{where}: pattern {spec['pattern']!r} uses {{n}}, so it needs `targets:` "
                                "mapping each number to a unit", file=source,
                                hint="add e.g. targets: {1: HJP, 2: SUC}; or use {target} when the column "
                                     "names hold the unit id or name")
        bad = [k for k in spec["targets"] or {} if not re.fullmatch(r"\s*\d+\s*", str(k))]
        if bad:
            raise RelcoordError(f"{where}: targets of a {{n}} pattern must be numbered, not {bad[0]!r}",
                                file=source, hint="use {target} for text keys")


def _is_per_target(items) -> bool:
    """Whether a codebook's ``items`` is the per-target form (it names a ``layout``)."""
    return isinstance(items, dict) and "layout" in items


_PER_TARGET_FORMS = {"questions": ("layout", "rows"), "pattern": ("layout", "rows")}


def _per_target_problems(spec: dict) -> list[str]:
    """What is wrong with an ``items: {layout: per_target, ...}`` mapping, in the words of
    :func:`_form_problems`."""
    if spec.get("layout") != "per_target":
        return [f"items: layout {spec.get('layout')!r} is not known: `layout: per_target` (one matrix question "
                "per target unit, one row per item) is the only layout to name; the per-item form (item key -> "
                "question) has no `layout` key"]
    where = "items (layout: per_target)"
    problems = _form_problems(spec, _PER_TARGET_FORMS, where)
    if problems:
        if "answers" in spec:
            problems.append(f"{where}: an item's own `answers` is not available in this form: give `answers:` "
                            "at the top level of the codebook (it applies to every item)")
        return problems
    pattern = spec.get("pattern")
    if pattern is not None:
        found = _PLACEHOLDER.findall(pattern) if isinstance(pattern, str) else []
        if found != ["target"]:
            problems.append(f"{where}: pattern {pattern!r} must hold exactly one {{target}} placeholder, where the "
                            "question's heading names the target unit (e.g. 'Samarbejdet med {target}')")
    rows = spec.get("rows")
    if isinstance(rows, dict):
        bad = [k for k in rows if not re.fullmatch(r"\s*[1-9]\d*\s*", str(k))]
        if bad:
            problems.append(f"{where}: rows are numbered by their position in the question (1 = the first row), "
                            f"not {bad[0]!r}: e.g. rows: {{1: frequent, 2: timely}}")
        bad = [v for v in rows.values() if not (isinstance(v, str) and v.strip())]
        if bad:
            problems.append(f"{where}: rows maps a row position to an item key of the instrument (e.g. rows: "
                            f"{{1: frequent, 2: timely}}), not to {bad[0]!r}")
    return problems


_ITEM_FORMS = {"question": ("answers",), "variables": ("answers",), "pattern": ("targets", "answers")}
_NETWORK_FORMS = {"question": ("selected", "not_selected"), "variables": ("selected", "not_selected"),
                  "pattern": ("targets", "selected", "not_selected"), "variable": ("separator", "codes")}


def _form_problems(spec, forms: dict[str, tuple[str, ...]], where: str) -> list[str]:
    """Say which of the alternative forms of a mapping was meant and what is wrong with it
    (JSON schema's oneOf only says "not valid under any of the given schemas")."""
    if not isinstance(spec, dict):
        return []
    given = [k for k in forms if k in spec]
    if len(given) != 1:
        return [f"{where}: give exactly one of {', '.join(forms)} (found "
                f"{', '.join(given) if given else 'none of them'})"]
    allowed = {given[0], *forms[given[0]]}
    extra = sorted(k for k in spec if k not in allowed)
    if extra:
        return [f"{where}: unknown key(s) {', '.join(map(repr, extra))} for the `{given[0]}` form; allowed: "
                f"{', '.join(sorted(allowed))}"]
    return []


def codebook_from_dict(data: dict, source: str = "codebook") -> Codebook:
    data = _stringify(data or {})
    problems = []
    if isinstance(data, dict):
        if _is_per_target(data.get("items")):
            problems += _per_target_problems(data["items"])
        elif isinstance(data.get("items"), dict):
            for key, spec in data["items"].items():
                problems += _form_problems(spec, _ITEM_FORMS, f"items/{key}")
        problems += _form_problems(data.get("networks"), _NETWORK_FORMS, "networks")
    if problems:
        raise RelcoordError("invalid codebook:\n  - " + "\n  - ".join(problems), file=source,
                            hint="the forms are documented in config/README.md (Codebooks)")
    if isinstance(data, dict):
        specs = [("networks", data.get("networks"))]
        if isinstance(data.get("items"), dict) and not _is_per_target(data["items"]):
            specs += [(f"items/{k}", v) for k, v in data["items"].items()]
        for where, spec in specs:
            if isinstance(spec, dict) and isinstance(spec.get("pattern"), str):
                _check_pattern(spec, where, source)
    data = validate(data, "codebook.schema.yaml", source)
    rater = data["rater_unit"]
    rater_var, rater_codes = (rater, {}) if isinstance(rater, str) else (rater["variable"], dict(rater["codes"]))
    nets = data.get("networks")
    names, bg_values, bg_keys = background_spec(data.get("background"))
    per_target = _is_per_target(data["items"])
    return Codebook(respondent_id=data["respondent_id"], rater_unit=rater_var,
                    items={} if per_target else dict(data["items"]),
                    networks=nets, background=names, source=source,
                    rater_codes=rater_codes, answers=data.get("answers"), values=data.get("values", "codes"),
                    background_values=bg_values, background_keys=bg_keys,
                    item_layout="per_target" if per_target else "per_item",
                    per_target={k: v for k, v in data["items"].items() if k != "layout"} if per_target else {})


def background_spec(spec) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """The codebook's ``background`` as ``(fields, allowed values per field, key fields)``.

    Forms (relcoord/schemas/codebook.schema.yaml): a mapping ``{b_1: [1, 2, 3], panel_id: key}``, or
    a list of ``{field: b_1, values: [1, 2, 3]}`` / ``{field: panel_id, key: true}``. A bare name
    (``[b_1]``) is a field without allowed values: :func:`resolve` stops on it, asking for them."""
    names: list[str] = []
    values: dict[str, tuple[str, ...]] = {}
    keys: list[str] = []

    def add(name, vals=None, key=False):
        name = str(name)
        names.append(name)
        if key:
            keys.append(name)
        elif vals is not None:
            values[name] = tuple(str(v) for v in vals)

    if isinstance(spec, dict):
        for name, vals in spec.items():
            add(name, None if isinstance(vals, str) else vals, isinstance(vals, str) and vals == "key")
    else:
        for entry in spec or []:
            if isinstance(entry, dict):
                add(entry["field"], entry.get("values"), bool(entry.get("key")))
            else:
                add(entry)
    return tuple(names), values, tuple(keys)


def load_codebook(path: str | Path) -> Codebook:
    return codebook_from_dict(read_yaml(path) or {}, str(path))


# --------------------------------------------------------------------------- resolution helpers

def _pattern_regex(pattern: str) -> tuple[re.Pattern, str]:
    kind = _PLACEHOLDER.search(pattern).group(1)
    parts = _PLACEHOLDER.split(pattern)  # literal, name, literal
    rx = re.escape(parts[0]) + (r"(?P<t>\d+)" if kind == "n" else r"(?P<t>.+?)") + re.escape(parts[2])
    return re.compile(rx, re.S), kind


def _expand_pattern(spec: dict, columns: list[str], lookup: dict[str, str], what: str,
                    problems: list[str], round_id: str) -> list[tuple[str, str]]:
    """(column, unit_id) for every column matching ``spec['pattern']``."""
    rx, kind = _pattern_regex(spec["pattern"])
    targets = spec.get("targets")
    if targets is not None:
        tkey = {(str(int(k)) if kind == "n" else normalise_text(k)): v for k, v in targets.items()}
    out = []
    matched = 0
    for col in columns:
        m = rx.fullmatch(col)
        if not m:
            continue
        matched += 1
        token = m.group("t")
        key = str(int(token)) if kind == "n" else normalise_text(token)
        if targets is not None:
            if key not in tkey:
                problems.append(f"{what}: column {col!r} matches the pattern {spec['pattern']!r} but "
                                f"{token!r} is not in its targets ({', '.join(map(str, targets))})")
                continue
            text = tkey[key]
        else:
            text = token
        uid = lookup.get(normalise_text(text))
        if uid is None:
            problems.append(f"{what}: column {col!r} stands for {str(text).strip()!r}, which is not a unit in "
                            f"the unit register for round {round_id}")
        else:
            out.append((col, uid))
    if not matched:
        example = ", ".join(repr(c) for c in columns[:8])
        problems.append(f"{what}: no column matches the pattern {spec['pattern']!r} (the export's columns "
                        f"start {example})")
    elif targets is not None:
        found = {str(int(m.group("t"))) if kind == "n" else normalise_text(m.group("t"))
                 for m in (rx.fullmatch(c) for c in columns) if m}
        absent = [k for k in targets if (str(int(k)) if kind == "n" else normalise_text(k)) not in found]
        if absent:
            problems.append(f"{what}: no column for {', '.join(f'{k} ({targets[k]})' for k in absent[:6])} of its "
                            f"targets (pattern {spec['pattern']!r})")
    return out


def _question_rows(structure: pd.DataFrame, name: str) -> pd.DataFrame:
    rows = structure[structure["questionName"] == name]
    if rows.empty:  # forgive case and blanks
        key = normalise_text(name)
        rows = structure[structure["questionName"].map(normalise_text) == key]
    return rows


def _score_to_code(item) -> dict[float, int]:
    inv: dict[float, int] = {}
    for code, score in sorted(item.codes.items()):
        inv.setdefault(float(score), int(code))
    return inv


def _answer_map(spec, item, instrument: Instrument, values: str, fmt: str, what: str,
                problems: list[str]) -> dict[str, str]:
    """answer key -> instrument code (as text) or MISSING, for one item."""
    inv = _score_to_code(item)
    missing_words = {normalise_text(w): MISSING for w in instrument.missing_labels}
    out: dict[str, str] = {}
    if values == "scores":
        out.update({answer_key(s): str(c) for s, c in inv.items()})
        out.update(missing_words)
        out[normalise_text("dont_know")] = MISSING
    if spec == "options":
        for _lang, opts in item.options.items():
            for s, text in enumerate(opts, start=1):
                if float(s) in inv:
                    out.setdefault(normalise_text(text), str(inv[float(s)]))
        out.update(missing_words)
        if not item.options:
            problems.append(f"{what}: `answers: options` needs the item's `options` in the instrument")
    elif isinstance(spec, dict):
        missing_codes = set(item.missing_codes)
        for k, v in spec.items():
            if isinstance(v, str) and v.strip().lower() == MISSING:
                out[answer_key(k)] = MISSING
                continue
            v = int(v)
            if values == "scores":
                if float(v) not in inv:
                    problems.append(f"{what}: answers maps {k!r} to score {v}, which no code of item "
                                    f"{item.key} scores")
                    continue
                out[answer_key(k)] = str(inv[float(v)])
            else:
                if v not in item.codes and v not in missing_codes:
                    problems.append(f"{what}: answers maps {k!r} to code {v}, which is neither in the item's "
                                    f"`codes` ({', '.join(map(str, sorted(item.codes)))}) nor a missing code")
                    continue
                out[answer_key(k)] = str(v)
    if fmt == "canonical":
        out[normalise_text("dont_know")] = MISSING
    return out


def _distinct_codes(values: pd.Series) -> list[str]:
    uniq = pd.unique(values.to_numpy(dtype=object).astype(str))
    return sorted({c for c in normalise_code(np.asarray(uniq, dtype=object)) if c != ""})


def _background_without_values(var: str, cells: pd.Series, source: str) -> str:
    """The problem for a background field named without its allowed values (README "Privacy":
    background fields are categorical). Suggests the list when the field holds only codes; never
    quotes text (a cell may hold a name)."""
    found = sorted({str(v).strip() for v in cells.dropna().astype(str)} - {""})
    codes = [plain_code(v) for v in found]
    if found and all(c is not None for c in codes) and len(set(codes)) <= 20:
        shown = ", ".join(sorted(set(codes), key=int))
        fix = f"it holds the codes {shown}: write `background: {{{var}: [{shown}]}}` with those that are categories"
    else:
        fix = (f"it holds {len(found)} distinct value(s), not all codes: list the categories, e.g. "
               f"`background: {{{var}: [Leder, Medarbejder, Andet]}}`")
    return (f"background field {var!r} (codebook {source}) is named without its allowed values; background fields "
            f"are categorical and only listed values are carried into results/ ({fix}; a stable panel key: "
            f"`{{{var}: key}}`)")


def _where(export: RawExport, var: str) -> str:
    rows = export.cell_rows.get(var) if export.cell_rows else None
    if rows is not None:
        nz = np.asarray(rows)[np.asarray(rows) > 0]
        if len(nz):
            return f" (first in {Path(export.column_files.get(var, '')).name or 'the export'} row {int(nz.min())})"
    return ""


# --------------------------------------------------------------------------- resolve

@dataclass
class _Resolution:
    """What :func:`resolve` works on, and the structural problems it collects."""
    export: RawExport
    codebook: Codebook
    units: pd.DataFrame
    round_id: str
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.columns = list(self.export.data.columns)
        self.cols = set(self.columns)
        self.structure = self.export.structure.fillna("").astype(str)

    def need(self, var: str, what: str) -> bool:
        """Whether the export has column ``var``; a problem if not."""
        if var not in self.cols:
            self.problems.append(f"column {var!r} ({what}, from codebook {self.codebook.source}) is not in the export")
            return False
        return True


def resolve(export: RawExport, codebook: Codebook, units: pd.DataFrame, instrument: Instrument,
            round_id: str) -> ColumnMap:
    """Resolve the codebook against one export. Structural problems (a column
    the codebook names is absent, a matrix row naming no registered unit, an
    item unknown to the instrument) raise one RelcoordError listing them all."""
    r = _Resolution(export, codebook, units, round_id)
    r.need(codebook.respondent_id, "respondent id")
    rater_codes, rater_labels = _resolve_rater_unit(r)
    networks, network_list, selected, unselected = _resolve_networks(r)
    item_rows, answers, answer_specs = _resolve_items(r, instrument)
    bg_values = dict(getattr(codebook, "background_values", None) or {})
    bg_keys = tuple(getattr(codebook, "background_keys", ()) or ())
    for var in codebook.background:
        if r.need(var, "background field") and var not in bg_values and var not in bg_keys:
            r.problems.append(_background_without_values(var, export.data[var], codebook.source))
    items = pd.DataFrame(item_rows, columns=["variable", "item", "target_unit"])
    _check_item_design(r, items)
    # the export's own labels are believed: they must agree with the instrument (relcoord.labels)
    label_check = check_export_labels(export, items, instrument, answers, answer_specs,
                                      scores=codebook.values == "scores", rater_unit=codebook.rater_unit,
                                      network_vars=list(networks),
                                      network_list_var=network_list[0] if network_list else None)
    src = str(export.files[0]) if export.files else export.format
    if r.problems:
        _stop(r, label_check.problems, src)
    label_check.raise_if_any(src, instrument_file(instrument))

    order = {k: i for i, k in enumerate(instrument.keys)}
    items = items.assign(_o=items["item"].map(order)).sort_values(["_o", "target_unit"]).drop(columns="_o")
    dont_know = dont_know_codes(export, items, instrument)
    used = {codebook.respondent_id, codebook.rater_unit, *networks, *items["variable"], *codebook.background}
    if network_list:
        used.add(network_list[0])
    return ColumnMap(respondent_id=codebook.respondent_id, rater_unit=codebook.rater_unit, rater_codes=rater_codes,
                     rater_labels=rater_labels, networks=networks, items=items.reset_index(drop=True),
                     dont_know=dont_know, background=codebook.background,
                     unused=[c for c in export.data.columns if c not in used], answers=answers,
                     network_selected=frozenset(selected), network_unselected=frozenset(unselected),
                     network_list=network_list, values=codebook.values, labels_checked=label_check.checked,
                     background_values=bg_values, background_keys=bg_keys)


def _resolve_rater_unit(r: _Resolution) -> tuple[dict[str, str], dict[str, str]]:
    """(export code -> base unit, the export's value labels of the base-unit column): explicit codes
    first, then value labels, then the cell text itself."""
    codebook, units, export = r.codebook, r.units, r.export
    labels = export.labels.fillna("").astype(str)
    labels_by_var = {v: dict(zip(g["value"].str.strip(), g["label"])) for v, g in labels.groupby("variable")}
    base = unit_lookup(units, "base")
    rater_labels = labels_by_var.get(codebook.rater_unit, {})
    rater_codes: dict[str, str] = {}
    explicit: dict[str, str] = {}
    for k, text in codebook.rater_codes.items():
        uid = base.get(normalise_text(text))
        if uid is None:
            r.problems.append(f"rater_unit codes: {k!r} maps to {text!r}, which is not a base unit in the unit "
                              f"register for round {r.round_id}; {unit_fix(text, units)}")
        else:
            explicit[answer_key(k)] = uid
    if r.need(codebook.rater_unit, "base unit"):
        label_of = {answer_key(c): lab for c, lab in rater_labels.items()}
        distinct = _distinct_codes(export.data[codebook.rater_unit])
        for code in distinct:
            key = answer_key(code)
            if key in explicit:
                rater_codes[code] = explicit[key]
            elif key in label_of and normalise_text(label_of[key]) in base:
                rater_codes[code] = base[normalise_text(label_of[key])]
            elif key in base:
                rater_codes[code] = base[key]
        if distinct and not rater_codes and not rater_labels and not explicit:
            shown = ", ".join(repr(c) for c in distinct[:5]) + (", ..." if len(distinct) > 5 else "")
            r.problems.append(
                f"no value of the base-unit column {codebook.rater_unit!r} ({shown}) names a base unit of the "
                "register, and the export has no value labels for it: give the codes in the codebook "
                "(rater_unit: {variable: ..., codes: {1: HJP, ...}}) or add the names as aliases in units.tsv")
    return rater_codes, rater_labels


def _resolve_networks(r: _Resolution) -> tuple[dict[str, str], tuple | None, set[str], set[str]]:
    """(flag column -> network, the list column ``(variable, separator, lookup)`` or None, the
    selected and the not-selected flag values)."""
    net_lookup = unit_lookup(r.units, "network")
    networks: dict[str, str] = {}
    network_list = None
    selected, unselected = set(DEFAULT_SELECTED), set(DEFAULT_UNSELECTED)
    spec = r.codebook.networks
    if isinstance(spec, dict):
        selected = {answer_key(v) for v in spec.get("selected", DEFAULT_SELECTED)}
        unselected = set(DEFAULT_UNSELECTED) | {answer_key(v) for v in spec.get("not_selected", [])}
        clash = selected & unselected
        if clash:
            r.problems.append(f"networks: value(s) {sorted(clash)} are both selected and not selected")
    if spec is None:
        return networks, network_list, selected, unselected
    question = spec if isinstance(spec, str) else spec.get("question")
    if question is not None:
        rows = _question_rows(r.structure, question)
        if rows.empty:
            r.problems.append(f"the networks question {question!r} is not in the export's structure")
        for var, qtext, ctext in zip(rows["variableName"], rows["questionText"], rows["choiceText"]):
            r.need(var, f"network choice of {question}")
            text = ctext if ctext.strip() else _row_text(qtext)
            key = normalise_text(text)
            if key not in net_lookup:
                r.problems.append(f"network choice {var!r} says {text.strip()!r}, which is not a network in the "
                                  f"unit register for round {r.round_id}")
            else:
                networks[var] = net_lookup[key]
    elif "variables" in spec:
        for var, text in spec["variables"].items():
            r.need(var, "network choice")
            uid = net_lookup.get(normalise_text(text))
            if uid is None:
                r.problems.append(f"networks: variable {var!r} maps to {text!r}, not a network in round {r.round_id}")
            else:
                networks[var] = uid
    elif "pattern" in spec:
        networks = dict(_expand_pattern(spec, r.columns, net_lookup, "networks", r.problems, r.round_id))
    elif "variable" in spec:
        var = spec["variable"]
        r.need(var, "networks list")
        lookup = dict(net_lookup)
        for k, text in (spec.get("codes") or {}).items():
            uid = net_lookup.get(normalise_text(text))
            if uid is None:
                r.problems.append(f"networks codes: {k!r} maps to {text!r}, not a network in round {r.round_id}")
            else:
                lookup[answer_key(k)] = uid
        network_list = (var, spec.get("separator", ";"), lookup)
    return networks, network_list, selected, unselected


def _resolve_items(r: _Resolution, instrument: Instrument
                   ) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, str]], dict[str, object]]:
    """((variable, item, target unit) rows, item -> answer map, item -> the codebook's own ``answers:``)."""
    codebook, export = r.codebook, r.export
    item_rows: list[tuple[str, str, str]] = []
    answers: dict[str, dict[str, str]] = {}
    unknown_rows: set[str] = set()   # matrix-row texts already told how to fix
    answer_specs: dict[str, object] = {}   # item -> the codebook's own `answers:` (checked against the options)
    if getattr(codebook, "item_layout", "per_item") == "per_target":
        before = len(r.problems)
        item_rows = _per_target_columns(r, instrument)
        found = {k for _, k, _ in item_rows}
        for key in (k for k in instrument.keys if k in found):   # the codebook's `answers:` for every item
            answer_specs[key] = codebook.answers
            amap = _answer_map(codebook.answers, instrument.item(key), instrument, codebook.values, export.format,
                               f"item {key}", r.problems)
            if amap:
                answers[key] = amap
        missing_items = [k for k in instrument.index_keys if k not in found]
        if missing_items and len(r.problems) == before:   # (else the problems above say why)
            r.problems.append(f"the codebook maps no question to item(s) {', '.join(missing_items)}: no row of the "
                              "per-target questions is about them")
        return item_rows, answers, answer_specs
    for key, spec in codebook.items.items():
        if key not in instrument.keys:
            r.problems.append(f"codebook item {key!r} is not an item of the instrument ({', '.join(instrument.keys)})")
            continue
        item = instrument.item(key)
        ans_spec = spec.get("answers", codebook.answers) if isinstance(spec, dict) else codebook.answers
        answer_specs[key] = ans_spec
        amap = _answer_map(ans_spec, item, instrument, codebook.values, export.format, f"item {key}", r.problems)
        if amap:
            answers[key] = amap
        item_rows += _item_columns(r, key, spec, unknown_rows)
    missing_items = [k for k in instrument.index_keys if k not in codebook.items]
    if missing_items:
        r.problems.append(f"the codebook maps no question to item(s) {', '.join(missing_items)}")
    return item_rows, answers, answer_specs


def _item_columns(r: _Resolution, key: str, spec, unknown_rows: set[str]) -> list[tuple[str, str, str]]:
    """The (variable, item, target unit) rows of one item: from ``variables:``, a ``pattern:`` or the
    rows of its matrix question."""
    every = unit_lookup(r.units)
    out = []
    if isinstance(spec, dict) and "variables" in spec:
        for var, target in spec["variables"].items():
            r.need(var, f"item {key}")
            uid = every.get(normalise_text(target))
            if uid is None:
                r.problems.append(f"item {key}: variable {var!r} maps to {target!r}, not a unit in round "
                                  f"{r.round_id}; {unit_fix(target, r.units, None)}")
            else:
                out.append((var, key, uid))
        return out
    if isinstance(spec, dict) and "pattern" in spec:
        return [(var, key, uid) for var, uid in
                _expand_pattern(spec, r.columns, every, f"item {key}", r.problems, r.round_id)]
    question = spec if isinstance(spec, str) else spec.get("question")
    rows = _question_rows(r.structure, question)
    if rows.empty:
        known = sorted(set(r.structure["questionName"]))[:8]
        r.problems.append(f"item {key}: question {question!r} is not in the export's structure"
                          + (f" (questions include {', '.join(map(repr, known))})" if known else
                             " (this export has no question structure: map the columns with `variables:` or "
                             "`pattern:`)"))
    for var, qtext, ctext in zip(rows["variableName"], rows["questionText"], rows["choiceText"]):
        r.need(var, f"item {key}")
        text = ctext if ctext.strip() else _row_text(qtext)
        uid = every.get(normalise_text(text))
        if uid is None:
            fix = "" if normalise_text(text) in unknown_rows else f"; {unit_fix(text, r.units, None)}"
            unknown_rows.add(normalise_text(text))
            r.problems.append(f"item {key}: matrix row {var!r} names {text.strip()!r}, which is not a unit in "
                              f"the unit register for round {r.round_id}{_where(r.export, var)}{fix}")
        else:
            out.append((var, key, uid))
    return out


def _per_target_questions(r: _Resolution) -> dict[str, str]:
    """Per-target layout: question name -> target unit, from ``questions:`` or the ``pattern:`` its
    heading matches (in structure order)."""
    spec, s = r.codebook.per_target, r.structure
    every = unit_lookup(r.units)
    where = "items (layout: per_target)"
    out: dict[str, str] = {}
    known = list(dict.fromkeys(s["questionName"]))
    if "questions" in spec:
        for q, text in spec["questions"].items():
            rows = _question_rows(s, q)
            if rows.empty:
                r.problems.append(f"{where}: question {q!r} is not in the export's structure" + (
                    f" (questions include {', '.join(map(repr, known[:8]))})" if known else
                    " (this export has no question structure)"))
                continue
            uid = every.get(normalise_text(text))
            if uid is None:
                r.problems.append(f"{where}: question {q!r} maps to {text!r}, which is not a unit in the unit register "
                                  f"for round {r.round_id}; {unit_fix(text, r.units, None)}")
            else:
                out[str(rows["questionName"].iat[0])] = uid
        return out
    pattern = spec["pattern"]
    before, _, after = pattern.partition("{target}")

    def literal(part: str, flexible: bool) -> str:   # a literal part of the pattern, matched ignoring case/blanks
        core = normalise_text(part)
        lead = " " if part[:1].isspace() and core else ""
        trail = " " if part[-1:].isspace() and core else ""
        text = (lead + core + trail) or (" " if part.strip() == "" and part else "")
        return r"\s+".join(map(re.escape, text.split(" "))) if flexible else re.escape(text)

    exact = re.compile(literal(before, False) + r"(?P<t>.+?)" + literal(after, False), re.S)
    loose = re.compile(literal(before, True) + r"(?P<t>.+?)" + literal(after, True), re.S | re.I)
    skip = {r.codebook.respondent_id, r.codebook.rater_unit, *r.codebook.background}
    seen: list[str] = []
    matched = 0
    for q in known:
        rows = s[s["questionName"] == q]
        if q in skip or set(rows["variableName"]) <= skip:
            continue
        heads = [h for h in map(_heading, rows["questionText"]) if h]
        if not heads:
            continue
        head = heads[0]
        seen.append(head)
        m = loose.fullmatch(" ".join(head.split())) or exact.fullmatch(normalise_text(head))
        if not m:
            continue
        matched += 1
        token = m.group("t").strip()
        uid = every.get(normalise_text(token))
        if uid is None:
            r.problems.append(f"{where}: the heading of question {q!r} ({head!r}) matches the pattern {pattern!r}, "
                              f"but {token!r} is not a unit in the unit register for round {r.round_id}; "
                              f"{unit_fix(token, r.units, None)}")
        else:
            out[q] = uid
    if not matched:
        shown = ", ".join(repr(h) for h in list(dict.fromkeys(seen))[:6])
        r.problems.append(f"{where}: no question's heading matches the pattern {pattern!r} (the heading is the "
                          "question text before the row text, ' - ' or '[...]'; "
                          + (f"the headings seen include {shown})" if shown else
                             "this export has no matrix question with a heading)"))
    return out


def _item_texts(instrument: Instrument) -> dict[str, set[str]]:
    """normalised question or label text (every language) -> the items that have it."""
    out: dict[str, set[str]] = {}
    for item in instrument.items:
        for text in [*item.question.values(), *item.labels.values()]:
            if str(text).strip():
                out.setdefault(normalise_text(text), set()).add(item.key)
    return out


def _per_target_columns(r: _Resolution, instrument: Instrument) -> list[tuple[str, str, str]]:
    """Per-target layout: the (variable, item, target unit) rows. A row's item is given by ``rows:``
    (its 1-based position in the question) or found by its row text: exactly one instrument item
    whose question or label (any language) it is."""
    where = "items (layout: per_target)"
    targets = _per_target_questions(r)
    rows_spec = r.codebook.per_target.get("rows")
    positions = {int(str(k).strip()): str(v) for k, v in (rows_spec or {}).items()}
    unknown = sorted({k for k in positions.values() if k not in instrument.keys})
    if unknown:
        r.problems.append(f"{where}: rows names {', '.join(map(repr, unknown))}, not an item of the instrument "
                          f"({', '.join(instrument.keys)})")
    texts = _item_texts(instrument)
    unmatched: dict[str, list[str]] = {}   # row text -> where it is
    ambiguous: dict[str, set[str]] = {}
    first_rows = 0
    told_beyond = False
    out = []
    for q, uid in targets.items():
        rows = _question_rows(r.structure, q)
        first_rows = first_rows or len(rows)
        beyond = sorted(p for p in positions if p > len(rows))
        if beyond and not told_beyond:
            told_beyond = True
            r.problems.append(f"{where}: rows names row(s) {', '.join(map(str, beyond))}, but question {q!r} has "
                              f"{len(rows)} row(s)")
        for pos, (var, qtext, ctext) in enumerate(zip(rows["variableName"], rows["questionText"],
                                                      rows["choiceText"]), start=1):
            if rows_spec:
                key = positions.get(pos)
                if key is None or key in unknown:
                    continue
            else:
                text = ctext if ctext.strip() else _row_text(qtext)
                keys = texts.get(normalise_text(text), set())
                if len(keys) != 1:
                    if keys:
                        ambiguous.setdefault(text.strip(), set()).update(keys)
                    unmatched.setdefault(text.strip(), []).append(f"{q} row {pos}")
                    continue
                key = next(iter(keys))
            r.need(var, f"item {key} about {uid}")
            out.append((var, key, uid))
    if unmatched:
        said = "; ".join(
            f"{t!r} ({', '.join(w[:3])}{', ...' if len(w) > 3 else ''}) is "
            + (f"the text of more than one item ({', '.join(sorted(ambiguous[t]))})" if t in ambiguous else
               "no item's question or label")
            for t, w in list(unmatched.items())[:6])
        said += f"; and {len(unmatched) - 6} more" if len(unmatched) > 6 else ""
        choose = "; ".join(f"{i.key}: " + " / ".join(repr(t) for t in dict.fromkeys(
            [*i.question.values(), *i.labels.values()]) if str(t).strip()) for i in instrument.items)
        guess = ", ".join(f"{p}: {k}" for p, k in enumerate(instrument.keys[:first_rows or len(instrument.keys)],
                                                             start=1))
        r.problems.append(f"{where}: {len(unmatched)} row text(s) name no single item of the instrument "
                          f"({instrument_file(instrument)}): {said}. The items' texts (question or label, any "
                          f"language) are: {choose}. Name each row's item by its position in the question: add "
                          f"`rows: {{{guess}}}` to `items:` in {r.codebook.source}")
    return out


def _check_item_design(r: _Resolution, items: pd.DataFrame) -> None:
    """The matrix design: every item asked about every unit, one variable per (item, target); in a
    canonical export every answer row belongs to a mapped item."""
    covered = items.groupby("item")["target_unit"].agg(set)
    every_target = set(items["target_unit"])
    for key, got in covered.items():
        gap = sorted(every_target - got)
        if gap:
            r.problems.append(f"item {key} has no column for unit(s) {', '.join(gap[:8])}, which other items have: "
                              "a column is missing from the export, or the codebook maps it differently")
    dup = items[items.duplicated(["item", "target_unit"], keep=False)]
    if len(dup):
        r.problems.append("more than one variable answers the same (item, target): "
                          + ", ".join(f"{v}->{i}/{t}" for v, i, t in dup.head(6).itertuples(index=False)))
    if r.export.format == "canonical":  # every answer row must belong to a mapped item
        asked = {normalise_text(spec if isinstance(spec, str) else spec.get("question", ""))
                 for spec in r.codebook.items.values()}
        if getattr(r.codebook, "item_layout", "per_item") == "per_target":
            mapped = set(items["variable"])
            asked = {normalise_text(q) for v, q in zip(r.structure["variableName"], r.structure["questionName"])
                     if v in mapped}
        for var, q in zip(r.structure["variableName"], r.structure["questionName"]):
            if normalise_text(q) not in asked:
                r.problems.append(f"item {q!r} in responses.csv is not an item the codebook maps "
                                  f"({', '.join(r.codebook.items or dict.fromkeys(items['item']))})"
                                  f"{_where(r.export, var)}")
                break


def _stop(r: _Resolution, label_problems: list[str], src: str) -> None:
    """Raise the structural problems (and the label problems, which may be their cause) as one error."""
    problems = r.problems + list(label_problems)
    hint = (f"check the variable names in {r.codebook.source} against the export, and that every unit named in "
            "the export is in config/units.tsv (name or aliases) for this round")
    if len(r.columns) == 1:
        hint += f"; the export was read as ONE column ({r.columns[0][:60]!r}): is the delimiter right?"
    # a message may quote export text (cells, headers, row texts): never contact data, even in the log
    raise RelcoordError(mask_personal("the export does not match the codebook:\n  - " + "\n  - ".join(problems)),
                        file=src, hint=mask_personal(hint))
