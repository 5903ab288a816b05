"""Ingest validation: one export -> canonical tables + failures.

Every record of the export ends up either valid or quarantined (never
silently dropped); every problem becomes a row of ``failures.csv`` naming the
source file, the row as a spreadsheet user counts it, the column and the
value, the rule, a message saying what to do, and the action taken.

Row rules are pandera checks on a normalised per-record table (lazy
validation; failure cases become failure rows):

quarantine (the respondent's rows are set aside)
  missing_respondent_id, duplicate_respondent_id, missing_rater_unit,
  unknown_unit, code_out_of_range, not_a_code, no_valid_answers, and the
  problems a reader finds in a record (the canonical long format:
  not_in_respondents, conflicting_answers, inconsistent_rater_unit; an Excel
  workbook: formula_without_value)
warn (kept, but listed)
  straightlining, few_targets, invalid_network_flag, unknown_network,
  unexpected_network, truncated_row (a reader's)

A base unit of the round's register left without a valid respondent (no
record in the export, or every record quarantined) is listed in the summary
(``missing_units``) and stops the round (:func:`check_missing_units`) unless
``validation.accept_missing_units`` names it: a unit that disappears is news.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .codebook import ColumnMap, closest_unit, unit_fix
from .codes import MISSING, answer_key, distinct_strings, normalise_code, normalise_text, plain_code
from .errors import RelcoordError
from .instrument import Instrument
from .privacy import mask_personal, merge_small_categories, quote_cell
from .pseudonymise import pseudonymise
from .readers import RawExport

FAILURE_COLUMNS = ["source_file", "source_row", "column", "value", "rule", "message", "action"]

# rule -> (action, message template). {value} is the cell as found.
RULES: dict[str, tuple[str, str]] = {
    "missing_respondent_id": (
        "quarantined",
        "the respondent id is empty; add the id in the export or remove the record",
    ),
    "duplicate_respondent_id": (
        "quarantined",
        "respondent id (pseudonymised: {value}) appears on more than one row; all of them are "
        "set aside: keep one record per respondent in the export and rerun",
    ),
    "missing_rater_unit": (
        "quarantined",
        "no base unit answered; the respondent cannot be placed: fill in the unit or remove the record",
    ),
    "unknown_unit": (
        "quarantined",
        "base-unit code {value!r} is not a unit of this round (no value label or codebook "
        "code, or its label is not in config/units.tsv); correct the code or add the unit (or an alias) "
        "to the register",
    ),
    "code_out_of_range": (
        "quarantined",
        "answer {value!r} is outside the item's answer scale (not in its `codes` "
        "map in config/instrument.yaml, nor a missing code); correct the answer, or extend "
        "`codes`/`missing_codes` if the export uses another coding",
    ),
    "not_a_code": (
        "quarantined",
        "{value!r} is not an answer code (expected a whole number such as 1-5, or an "
        "answer the codebook's `answers:` maps); correct the cell, export codes instead of labels, or map "
        "the answer in the codebook",
    ),
    "formula_without_value": (
        "quarantined",
        "the cell holds a formula ({value}) without a saved value, so its "
        "answer is unknown (it would read as blank): open the workbook in Excel and save it "
        "(Excel then stores the values), or copy the cells and paste them as values, and "
        "export again",
    ),
    "no_valid_answers": ("quarantined", "the respondent gave no valid answer about any unit; nothing to score"),
    "not_in_respondents": (
        "quarantined",
        "answers for respondent id (pseudonymised: {value}) who is not in the "
        "respondents file; add the respondent (with their base unit) or remove the answers",
    ),
    "conflicting_answers": (
        "quarantined",
        "the same respondent, unit and item is answered twice with different values; keep one answer",
    ),
    "inconsistent_rater_unit": (
        "quarantined",
        "the base unit {value!r} in the answers file contradicts the respondents file; correct one of them",
    ),
    "straightlining": (
        "warned",
        "the same answer code ({value}) to every item about every unit rated; kept, but check "
        "whether the answers are genuine",
    ),
    "few_targets": ("warned", "rated only {value} of the units; kept (ties with too few items stay undefined)"),
    "invalid_network_flag": (
        "warned",
        "network flag {value!r} is neither 0 nor 1 (nor a value the codebook's "
        "`selected`/`not_selected` lists); read as not a member",
    ),
    "unknown_network": (
        "warned",
        "{value!r} is not a network of this round (config/units.tsv, or the codebook's "
        "network `codes`); ignored: add the network (or an alias) to the register",
    ),
    "truncated_row": (
        "warned",
        "the last row has fewer fields ({value}) than the header and the file does not end "
        "with a line break: it was probably cut off, and its missing cells read as blank; check the "
        "record or export the file again",
    ),
    "background_value_not_allowed": (
        "warned",
        "{value!r} is not one of the values the codebook allows for this "
        "background field; the field is left blank for this respondent: correct the "
        "cell, or add the value to the field's `values` in the codebook",
    ),
    "unexpected_network": (
        "warned",
        "member of network {value} although the base unit is not in that network in "
        "config/memberships.tsv for this round; kept as a member",
    ),
    # the staff register (relcoord.weights.register_problems): rows of failures.csv, not of the export
    "staff_missing": (
        "warned",
        "base unit {value!r} has valid respondents but no row in the staff register for this round; no "
        "response rate for it and no weighted figures for the round: add the row",
    ),
    "respondents_exceed_staff": (
        "warned",
        "the staff register gives {value} staff, fewer than the unit's valid respondents; no weighted "
        "figures for the round: correct the staff number",
    ),
}

# Status of a cell after parsing.
BLANK, DONT_KNOW, VALID, OUT_OF_RANGE, NOT_A_CODE = 0, 1, 2, 3, 4


@dataclass
class IngestResult:
    responses: pd.DataFrame
    respondents: pd.DataFrame
    failures: pd.DataFrame
    summary: dict = field(default_factory=dict)
    #: for :func:`check_missing_units` (never published: per-unit record counts can be small):
    #: ``missing``: unit_id -> {name, records, rules: {rule: records}}; ``unknown``: list of
    #: {code, label, records, fix} for the base-unit codes quarantined as ``unknown_unit``
    units_check: dict = field(default_factory=dict)
    #: names of the export columns not carried (analyst-only: a column header can itself be personal data,
    #: e.g. an e-mail address; summary.json publishes only ``dropped_columns_count``)
    dropped_columns: list = field(default_factory=list)
    #: background field -> categories merged into "other" (fewer than min_group_size respondents; analyst log)
    background_merged: dict = field(default_factory=dict)


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _parse_item(
    codes: np.ndarray, item, dont_know: set[str], answers: dict[str, str] | None = None, scores: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised code strings -> (score, status, code) arrays, via the distinct codes.

    ``answers`` (from the codebook) first maps an answer key (see
    :func:`relcoord.codebook.answer_key`) to an instrument code or to MISSING.
    ``code`` is the instrument code of a valid answer (NaN otherwise). Only plain integer
    codes (:func:`relcoord.codes.plain_code`) are codes; other text is NOT_A_CODE.
    ``scores`` (codebook ``values: scores``): the cells hold scores, so the instrument's
    ``missing_codes`` do not apply (6 is a score outside the scale, OUT_OF_RANGE); only what
    ``answers`` maps to MISSING (``dont_know``, the instrument's ``missing_labels``) and the
    export's own don't-know labels are missing."""
    inv, uniq = distinct_strings(codes)
    score = np.full(len(uniq), np.nan)
    code = np.full(len(uniq), np.nan)
    status = np.zeros(len(uniq), dtype=np.int8)
    missing = set(dont_know) if scores else {str(c) for c in item.missing_codes} | dont_know
    for i, u in enumerate(uniq):
        if u == "":
            status[i] = BLANK
            continue
        if u in missing:
            status[i] = DONT_KNOW
            continue
        if answers or scores:
            mapped = (answers or {}).get(answer_key(u))
            if mapped == MISSING:
                status[i] = DONT_KNOW
                continue
            if mapped is not None:
                u = mapped
                if u in missing and not scores:
                    status[i] = DONT_KNOW
                    continue
            elif scores:  # a score the scale does not have (6, 0, -1) or text
                status[i] = NOT_A_CODE if plain_code(u) is None else OUT_OF_RANGE
                continue
        c = plain_code(u)
        if c is None:
            status[i] = NOT_A_CODE
            continue
        c = int(c)
        if c in item.codes:
            score[i], status[i], code[i] = item.codes[c], VALID, c
        else:
            status[i] = OUT_OF_RANGE
    shape = codes.shape
    return score[inv].reshape(shape), status[inv].reshape(shape), code[inv].reshape(shape)


def _network_flags(values: np.ndarray, selected: frozenset, unselected: frozenset) -> tuple[np.ndarray, np.ndarray]:
    """(recognised, member) per cell of one multiple-choice flag column."""
    codes = normalise_code(values)
    inv, uniq = distinct_strings(codes)
    keys = [answer_key(u) for u in uniq]  # a full-width '１' is not the flag 1
    member = np.array([k in selected for k in keys], dtype=bool)
    known = np.array([k in selected or k in unselected for k in keys], dtype=bool)
    return known[inv].reshape(-1), member[inv].reshape(-1)


def _network_list(values: np.ndarray, sep: str, lookup: dict[str, str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Members per network and the unknown names (joined, "" if none) of one list column."""
    inv, uniq = distinct_strings(values)
    nets: dict[str, np.ndarray] = {}
    unknown = np.full(len(uniq), "", dtype=object)
    for i, u in enumerate(uniq):
        bad = []
        for tok in u.split(sep) if sep else [u]:
            if not tok.strip():
                continue
            # answer_key: a name by its normalised text, a code by its canonical text; text that
            # only looks like a code after Unicode normalisation ('２') matches neither
            uid = lookup.get(answer_key(tok))
            if uid is None:
                bad.append(tok.strip())
            else:
                nets.setdefault(uid, np.zeros(len(uniq), dtype=bool))[i] = True
        unknown[i] = sep.join(bad) if bad else ""
    return {n: m[inv] for n, m in nets.items()}, unknown[inv]


def _element_check(mask_fn, error: str) -> pa.Check:
    return pa.Check(mask_fn, element_wise=False, error=error)


def _failure_rows(
    failure_cases: pd.DataFrame,
    export: RawExport,
    raw: pd.DataFrame,
    rule_of: dict[str, str],
    column_of: dict[str, str],
    value_of=None,
) -> pd.DataFrame:
    fc = failure_cases[failure_cases["index"].notna()].copy()
    if fc.empty:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    fc["index"] = fc["index"].astype(int)
    fc["rule"] = fc["check"].map(rule_of)
    if fc["rule"].isna().any():  # an unexpected pandera check: say so rather than lose it
        fc["rule"] = fc["rule"].fillna("schema")
    fc["export_column"] = fc["column"].map(lambda c: column_of.get(c, c))
    vals = []
    for col, idx, case in zip(fc["export_column"], fc["index"], fc["failure_case"]):
        if value_of is not None and col in value_of:
            vals.append(value_of[col].iat[idx])
        elif col in raw.columns:
            vals.append(raw[col].iat[idx])
        else:
            vals.append("" if pd.isna(case) else str(case))
    fc["value"] = [quote_cell(v) for v in vals]  # a cell is quoted masked and cut (privacy.quote_cell)
    fc["action"] = fc["rule"].map(lambda r: RULES.get(r, ("quarantined", ""))[0])
    fc["message"] = [
        RULES.get(r, ("", "failed check {value!r}"))[1].format(value=v) for r, v in zip(fc["rule"], fc["value"])
    ]
    fc["column"] = fc["export_column"]
    fc["source_file"] = export.source_file.to_numpy()[fc["index"]]
    if export.column_files:  # a workbook split over sheets: name the sheet holding the column
        fc["source_file"] = [export.column_files.get(c, f) for c, f in zip(fc["column"], fc["source_file"])]
    fc["source_row"] = export.source_row.to_numpy()[fc["index"]]
    if export.cell_rows:  # one file row per answer (canonical): name the answer's own row
        rows = [int(export.cell_rows[c][i]) if c in export.cell_rows else 0 for c, i in zip(fc["column"], fc["index"])]
        fc["source_row"] = np.where(np.asarray(rows) > 0, rows, fc["source_row"].to_numpy())
    if export.column_labels:
        fc["column"] = [export.column_labels.get(c, c) for c in fc["column"]]
    return fc[FAILURE_COLUMNS + ["index"]]


def _reader_failures(export: RawExport, pseudo: pd.Series) -> pd.DataFrame:
    """Failure rows for the record-level problems a reader found (RawExport.problems)."""
    p = export.problems.reset_index(drop=True)
    idx = p["index"].astype(int).to_numpy()
    value = [
        pseudo.iat[i] if v is None or (isinstance(v, float) and v != v) else quote_cell(v)
        for i, v in zip(idx, p["value"])
    ]
    message = [
        mask_personal(m) if isinstance(m, str) and m else RULES[r][1].format(value=v)
        for m, r, v in zip(p.get("message", [""] * len(p)), p["rule"], value)
    ]
    src_file = [
        f if isinstance(f, str) and f else export.source_file.iat[i]
        for f, i in zip(p.get("source_file", [None] * len(p)), idx)
    ]
    src_row = [
        int(r) if r is not None and r == r else int(export.source_row.iat[i])
        for r, i in zip(p.get("source_row", [None] * len(p)), idx)
    ]
    return pd.DataFrame(
        {
            "source_file": src_file,
            "source_row": src_row,
            "column": p["column"].astype(str),
            "value": value,
            "rule": p["rule"],
            "message": message,
            "action": [RULES[r][0] for r in p["rule"]],
            "index": idx,
        }
    )


def _background_fields(
    data: pd.DataFrame, colmap: ColumnMap, key: bytes
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The codebook's ``background`` fields as carried into respondents.parquet, and per field the
    cells outside its allowed values (``background_value_not_allowed``: blanked, warned).

    A field with allowed ``values`` keeps a value only when it matches one of them (as answers are
    matched: case, blanks, '1' = '1,0'), written as the codebook writes it; anything else is blanked
    (''). A ``key`` field (a stable panel key for ``comparisons[].panel_key``) is pseudonymised like
    the respondent id. A field with neither stops (codebook.resolve already refuses it)."""
    values = getattr(colmap, "background_values", None) or {}
    keys = set(getattr(colmap, "background_keys", ()) or ())
    out: dict[str, np.ndarray] = {}
    bad: dict[str, np.ndarray] = {}
    for col in colmap.background:
        cells = data[col].fillna("").astype(str).str.strip()
        if col in keys:
            out[col] = pseudonymise(cells, key).to_numpy(dtype=object)
            continue
        if col not in values:
            raise RelcoordError(
                f"background field {col!r} has no list of allowed values",
                hint="give them in the codebook: background: {" + col + ": [value, ...]} (config/README.md, Codebooks)",
            )
        allowed = {answer_key(a): str(a) for a in values[col]}
        inv, uniq = distinct_strings(cells.to_numpy(dtype=object))
        kept = np.array([allowed.get(answer_key(u), "") if u != "" else "" for u in uniq], dtype=object)
        wrong = np.array([u != "" and answer_key(u) not in allowed for u in uniq], dtype=bool)
        out[col] = kept[inv] if len(cells) else np.array([], dtype=object)
        if len(cells) and wrong[inv].any():
            bad[col] = wrong[inv]
    return out, bad


def _unit_label(code: str, labels: dict[str, str]) -> str | None:
    """The export's text for a base-unit code: its value label, or the cell itself when it is text."""
    label = labels.get(answer_key(code))
    if label is None and code and plain_code(code) is None:
        label = code
    return None if label is None or not str(label).strip() else str(label).strip()


def _unknown_unit_message(code: str, label: str | None, round_units: pd.DataFrame, units_file: str) -> str:
    """The ``unknown_unit`` message: the label the export gives the code, and the fix (an alias or a unit row)."""
    if label is None:
        return (
            f"base-unit code {code!r} has no value label in the export and is not in the codebook's rater_unit "
            f"codes, so it names no unit; correct the code, or map it in the codebook "
            f"(rater_unit: {{variable: ..., codes: {{{code}: <unit id>}}}})"
        )
    what = (
        f"the base unit {label!r} is"
        if label == code
        else f"base-unit code {code!r} is labelled {label!r} in the export, which is"
    )
    return f"{what} not a unit of this round in {units_file}; {unit_fix(label, round_units, 'base', units_file)}"


class _Answers(NamedTuple):
    """Every (record, target, item) cell parsed through the item's code map."""

    targets: list[str]
    keys: list[str]
    scores: np.ndarray  # records x targets x items, NaN unless valid
    status: np.ndarray  # VALID, DONT_KNOW, BLANK, OUT_OF_RANGE, NOT_A_CODE
    answer_code: np.ndarray  # the code as clicked, for straight-lining
    item_frame: dict  # variable -> "ok" | "out" | "text" per record, for columns with a bad cell


def validate_export(
    export: RawExport,
    colmap: ColumnMap,
    instrument: Instrument,
    round_units: pd.DataFrame,
    round_memberships: pd.DataFrame,
    key: bytes,
    *,
    straightlining_min_answers: int,
    min_targets_fraction: float,
    accept_missing_units: tuple | list | set,
    min_group_size: int | None,
    units_file: str = "config/units.tsv",
) -> IngestResult:
    """Validate one export against its resolved codebook and build the
    canonical tables (the output contract, README.md Outputs) for the valid records.

    A base unit of ``round_units`` left without a valid respondent is listed in
    ``summary["missing_units"]`` (those named in ``accept_missing_units`` also in
    ``summary["missing_units_accepted"]``); :func:`check_missing_units` stops on the others.
    ``units_file`` is the register's path as messages name it.

    Background fields (README "Privacy"): only the codebook's allowed values are carried (others are
    blanked, ``background_value_not_allowed``); a panel-key field is pseudonymised; with
    ``min_group_size`` (k = ``privacy.min_group_size``) a category held by fewer than k valid
    respondents is merged into "other" (:func:`relcoord.privacy.merge_small_categories`; which ones in
    ``background_merged``)."""
    data = export.data
    n = len(data)
    ids = data[colmap.respondent_id].str.strip()
    pseudo = pseudonymise(ids, key)
    rater_code = pd.Series(normalise_code(data[colmap.rater_unit].to_numpy()), index=data.index)
    base_ids = set(round_units.loc[round_units["kind"] == "base", "unit_id"])
    rater_unit = rater_code.map(colmap.rater_codes)
    rater_unit = rater_unit.where(rater_unit.isin(base_ids))
    ans = _parse_answers(data, colmap, instrument, round_units)
    n_valid = (ans.status == VALID).sum(axis=(1, 2))

    qfail = _quarantine_rules(export, colmap, ids, pseudo, rater_code, rater_unit, n_valid, ans.item_frame)
    # unknown_unit: say what the export calls the unit and which aliases line (or unit row) would fix it
    label_of = {answer_key(c): lab for c, lab in colmap.rater_labels.items()}
    unknown = qfail["rule"] == "unknown_unit"
    unknown_codes = rater_code.to_numpy()[qfail.loc[unknown, "index"].astype(int).to_numpy()]
    unknown_msg = {
        c: _unknown_unit_message(c, _unit_label(c, label_of), round_units, units_file) for c in pd.unique(unknown_codes)
    }
    qfail.loc[unknown, "message"] = [unknown_msg[c] for c in unknown_codes]
    reader_warn = pd.DataFrame(columns=FAILURE_COLUMNS + ["index"])
    if export.problems is not None and len(export.problems):
        rf = _reader_failures(export, pseudo)
        qfail = pd.concat([qfail, rf[rf["action"] == "quarantined"]], ignore_index=True)
        reader_warn = rf[rf["action"] == "warned"]
    quarantined = np.zeros(n, dtype=bool)
    quarantined[qfail["index"].astype(int).unique()] = True

    member, net_var, wfail_parts, flag_parts = _network_membership(data, colmap)
    background, bg_bad = _background_fields(data, colmap, key)
    for var, bad in bg_bad.items():
        wfail_parts.append(
            pd.DataFrame(
                {
                    "check": "background_value_not_allowed",
                    "column": var,
                    "index": np.flatnonzero(bad),
                    "failure_case": data[var].to_numpy()[bad],
                }
            )
        )
    wfail_parts += _answer_warnings(ans, n_valid, straightlining_min_answers, min_targets_fraction)
    wfail_parts += flag_parts + _unexpected_networks(member, net_var, rater_unit, round_memberships)
    wfail = _warning_rows(export, wfail_parts, reader_warn, quarantined)
    failures = _failures_table(qfail, wfail)

    keep = ~quarantined
    responses = _responses_table(ans, pseudo[keep].to_numpy(), rater_unit[keep].to_numpy(), base_ids, keep)
    respondents, merged = _respondents_table(
        export, colmap, pseudo, rater_unit, member, background, n_valid, keep, min_group_size
    )
    missing, missing_detail = _missing_units(round_units, respondents, rater_unit, qfail)
    unknown_seen = [
        {"code": str(c), "label": _unit_label(c, label_of), "records": int(k), "fix": unknown_msg[c]}
        for c, k in pd.Series(unknown_codes, dtype=object).value_counts().items()
    ]
    m, n_quar = int(keep.sum()), int(quarantined.sum())
    if n != m + n_quar:  # cannot happen; guards the invariant
        raise AssertionError("accounting: records in != valid + quarantined")
    summary = _summary(
        export, colmap, ans, failures, wfail, respondents, keep, round_units, missing, accept_missing_units
    )
    return IngestResult(
        responses=responses,
        respondents=respondents,
        failures=failures,
        summary=summary,
        units_check={"missing": missing_detail, "unknown": unknown_seen},
        dropped_columns=list(colmap.unused),
        background_merged=merged,
    )


def _parse_answers(
    data: pd.DataFrame, colmap: ColumnMap, instrument: Instrument, round_units: pd.DataFrame
) -> _Answers:
    """Parse every (item, target) cell through the item's code map."""
    n = len(data)
    targets = [u for u in round_units["unit_id"] if u in set(colmap.items["target_unit"])]
    t_pos = {t: i for i, t in enumerate(targets)}
    keys = [k for k in instrument.keys if k in set(colmap.items["item"])]
    scores = np.full((n, len(targets), len(keys)), np.nan)
    status = np.zeros((n, len(targets), len(keys)), dtype=np.int8)
    answer_code = np.full((n, len(targets), len(keys)), np.nan)
    item_frame = {}
    for j, k in enumerate(keys):
        sub = colmap.items[colmap.items["item"] == k]
        codes = normalise_code(data[sub["variable"]].to_numpy())
        dk = set().union(*(colmap.dont_know.get(v, set()) for v in sub["variable"]))
        sc, st, cd = _parse_item(
            codes, instrument.item(k), dk, colmap.answers.get(k), scores=getattr(colmap, "values", "codes") == "scores"
        )
        ti = sub["target_unit"].map(t_pos).to_numpy()
        scores[:, ti, j] = sc
        status[:, ti, j] = st
        answer_code[:, ti, j] = cd
        for c, var in enumerate(sub["variable"]):
            bad = (st[:, c] == OUT_OF_RANGE) | (st[:, c] == NOT_A_CODE)
            if bad.any():  # a column without a bad cell cannot fail its checks: leave it out of the schema
                item_frame[var] = np.where(
                    st[:, c] == OUT_OF_RANGE, "out", np.where(st[:, c] == NOT_A_CODE, "text", "ok")
                )
    return _Answers(targets, keys, scores, status, answer_code, item_frame)


def _quarantine_rules(
    export: RawExport,
    colmap: ColumnMap,
    ids: pd.Series,
    pseudo: pd.Series,
    rater_code: pd.Series,
    rater_unit: pd.Series,
    n_valid: np.ndarray,
    item_frame: dict,
) -> pd.DataFrame:
    """The quarantine rules (pandera, lazy) as failure rows (with ``index``, the record)."""
    data = export.data
    n = len(data)
    # ids are compared as texts are (case, Unicode forms, invisible characters, blanks: see
    # normalise_text): 'R1' and 'r1\u200b' are the same respondent twice; the pseudonym stays that of
    # the stripped original id
    id_codes, id_uniq = pd.factorize(ids.to_numpy(dtype=object), use_na_sentinel=False)
    id_key = pd.Series(
        np.array([normalise_text(u) for u in id_uniq], dtype=object)[id_codes] if n else np.array([], dtype=object),
        index=data.index,
        dtype=object,
    )
    frame = pd.DataFrame(
        {
            "respondent_id": id_key.where(id_key != ""),
            "rater_code": rater_code.where(rater_code != ""),
            "rater_unit": rater_unit.fillna(""),
            "n_valid": n_valid,
            **item_frame,
        },
        index=data.index,
    )
    schema = pa.DataFrameSchema(
        {
            "respondent_id": pa.Column(
                object,
                [_element_check(lambda s: ~s.duplicated(keep=False) | s.isna(), "duplicate_respondent_id")],
                nullable=False,
            ),
            "rater_code": pa.Column(object, nullable=False),
            "rater_unit": pa.Column(
                object, [_element_check(lambda s: (s != "") | frame.loc[s.index, "rater_code"].isna(), "unknown_unit")]
            ),
            "n_valid": pa.Column(int, pa.Check.gt(0, error="no_valid_answers")),
            **{
                var: pa.Column(
                    object,
                    [
                        pa.Check(lambda s: s != "out", error="code_out_of_range"),
                        pa.Check(lambda s: s != "text", error="not_a_code"),
                    ],
                )
                for var in item_frame
            },
        }
    )
    rule_of = {r: r for r in RULES} | {"not_nullable": None}
    column_of = {
        "respondent_id": colmap.respondent_id,
        "rater_code": colmap.rater_unit,
        "rater_unit": colmap.rater_unit,
        "n_valid": "",
    }
    try:
        schema.validate(frame, lazy=True)
        return pd.DataFrame(columns=FAILURE_COLUMNS + ["index"])
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases.copy()
    nn = fc["check"] == "not_nullable"
    fc.loc[nn & (fc["column"] == "respondent_id"), "check"] = "missing_respondent_id"
    fc.loc[nn & (fc["column"] == "rater_code"), "check"] = "missing_rater_unit"
    # The respondent id is shown pseudonymised, never raw.
    qfail = _failure_rows(
        fc,
        export,
        data,
        rule_of | {"missing_respondent_id": "missing_respondent_id", "missing_rater_unit": "missing_rater_unit"},
        column_of,
        value_of={colmap.respondent_id: pseudo},
    )
    qfail.loc[qfail["rule"] == "no_valid_answers", "value"] = "0"
    return qfail


def _network_membership(
    data: pd.DataFrame, colmap: ColumnMap
) -> tuple[dict[str, np.ndarray], dict[str, str], list[pd.DataFrame], list[pd.DataFrame]]:
    """(network -> member flags per record, network -> the column it came from, warning parts for
    unknown listed networks, warning parts for invalid flags)."""
    parts = []
    member: dict[str, np.ndarray] = {}
    net_var: dict[str, str] = {}
    net_flags = {}
    for var, net in colmap.networks.items():
        ok, is_member = _network_flags(data[var].to_numpy(), colmap.network_selected, colmap.network_unselected)
        net_flags[var] = ok
        member[net] = member[net] | is_member if net in member else is_member
        net_var.setdefault(net, var)
    if colmap.network_list:
        var, sep, lookup = colmap.network_list
        listed, unknown = _network_list(data[var].to_numpy(), sep, lookup)
        for net, is_member in listed.items():
            member[net] = member[net] | is_member if net in member else is_member
            net_var.setdefault(net, var)
        bad = unknown != ""
        if bad.any():
            parts.append(
                pd.DataFrame(
                    {
                        "check": "unknown_network",
                        "column": var,
                        "index": np.flatnonzero(bad),
                        "failure_case": unknown[bad],
                    }
                )
            )
    flag_parts = []
    for var, ok in net_flags.items():
        bad = ~ok
        if bad.any():
            flag_parts.append(
                pd.DataFrame(
                    {
                        "check": "invalid_network_flag",
                        "column": var,
                        "index": np.flatnonzero(bad),
                        "failure_case": data[var].to_numpy()[bad],
                    }
                )
            )
    return member, net_var, parts, flag_parts


def _answer_warnings(
    ans: _Answers, n_valid: np.ndarray, straightlining_min_answers: int, min_targets_fraction: float
) -> list[pd.DataFrame]:
    """Warning parts: straight-lining (every valid answer the same code) and few targets rated."""
    n = ans.status.shape[0]
    answered = ans.status == VALID
    lo = np.min(np.where(answered, ans.answer_code, np.inf), axis=(1, 2)) if n else np.array([])
    hi = np.max(np.where(answered, ans.answer_code, -np.inf), axis=(1, 2)) if n else np.array([])
    straight = (n_valid >= straightlining_min_answers) & (lo == hi)
    n_targets_rated = answered.any(axis=2).sum(axis=1)
    few = (n_valid > 0) & (n_targets_rated < min_targets_fraction * len(ans.targets))
    parts = []
    if straight.any():
        parts.append(
            pd.DataFrame(
                {
                    "check": "straightlining",
                    "column": "",
                    "index": np.flatnonzero(straight),
                    "failure_case": lo[straight].astype(int).astype(str),
                }
            )
        )
    if few.any():
        parts.append(
            pd.DataFrame(
                {
                    "check": "few_targets",
                    "column": "",
                    "index": np.flatnonzero(few),
                    "failure_case": [f"{a} of {len(ans.targets)}" for a in n_targets_rated[few]],
                }
            )
        )
    return parts


def _unexpected_networks(
    member: dict[str, np.ndarray], net_var: dict[str, str], rater_unit: pd.Series, round_memberships: pd.DataFrame
) -> list[pd.DataFrame]:
    """Warning parts: a respondent in a network their base unit is not a member of this round."""
    allowed_nets = round_memberships.groupby("unit_id")["network_id"].agg(set).to_dict()
    parts = []
    for net, is_member in member.items():
        allowed = rater_unit.map(lambda u, net=net: net in allowed_nets.get(u, set())).to_numpy(dtype=bool)
        unexpected = is_member & ~allowed & rater_unit.notna().to_numpy()
        if unexpected.any():
            parts.append(
                pd.DataFrame(
                    {
                        "check": "unexpected_network",
                        "column": net_var[net],
                        "index": np.flatnonzero(unexpected),
                        "failure_case": net,
                    }
                )
            )
    return parts


def _warning_rows(
    export: RawExport, parts: list[pd.DataFrame], reader_warn: pd.DataFrame, quarantined: np.ndarray
) -> pd.DataFrame:
    """The warning failure rows (with ``index``), less those of quarantined records."""
    data = export.data
    if parts:
        wfc = pd.concat(parts, ignore_index=True)
        wfail = _failure_rows(wfc.assign(value=None), export, pd.DataFrame(index=data.index), {r: r for r in RULES}, {})
        wfail["value"] = [quote_cell(v) for v in wfc["failure_case"].astype(str)]
        wfail["message"] = [RULES[r][1].format(value=v) for r, v in zip(wfail["rule"], wfail["value"])]
        wfail["column"] = wfc["column"].to_numpy()
    else:
        wfail = pd.DataFrame(columns=FAILURE_COLUMNS + ["index"])
    if len(reader_warn):
        wfail = pd.concat([wfail, reader_warn], ignore_index=True) if len(wfail) else reader_warn.copy()
    if len(wfail):  # warnings about quarantined records add nothing: the record is gone anyway
        wfail = wfail[~quarantined[wfail["index"].astype(int).to_numpy()]]
    return wfail


def _failures_table(qfail: pd.DataFrame, wfail: pd.DataFrame) -> pd.DataFrame:
    """failures.csv: quarantine and warning rows, contact data masked, in source-row order."""
    failures = pd.concat([qfail, wfail], ignore_index=True)
    failures["source_row"] = failures["source_row"].astype(int)
    # no contact data from the export in failures.csv / the validation report, whoever built the row
    # (values are already quoted through privacy.quote_cell; messages may embed export text)
    for col in ("column", "value", "message"):
        failures[col] = pd.Series(
            [mask_personal(x) if isinstance(x, str) else x for x in failures[col]], index=failures.index, dtype=object
        )
    failures = failures.sort_values(["source_row", "action", "rule", "column"], kind="stable")[FAILURE_COLUMNS]
    return failures.reset_index(drop=True)


def _responses_table(
    ans: _Answers, resp_ids: np.ndarray, raters: np.ndarray, base_ids: set, keep: np.ndarray
) -> pd.DataFrame:
    """responses.parquet: one row per (valid respondent, target, item)."""
    m = len(resp_ids)
    T, K = len(ans.targets), len(ans.keys)
    st_k = ans.status[keep]
    # categoricals built from their codes (one row per respondent, target, item) rather than by hashing every cell
    rater_cat = pd.Categorical(raters, categories=sorted(base_ids))
    return pd.DataFrame(
        {
            "respondent_id": np.repeat(resp_ids, T * K),
            "rater_unit": pd.Categorical.from_codes(np.repeat(rater_cat.codes, T * K), dtype=rater_cat.dtype),
            "target_unit": pd.Categorical.from_codes(
                np.tile(np.repeat(np.arange(T), K), m), dtype=pd.CategoricalDtype(ans.targets)
            ),
            "item": pd.Categorical.from_codes(np.tile(np.arange(K), m * T), dtype=pd.CategoricalDtype(ans.keys)),
            "value": ans.scores[keep].reshape(-1),
            # why a value is NaN: "dont_know" (a missing code) or "blank" (not answered)
            "answer": pd.Categorical.from_codes(
                np.select([st_k == VALID, st_k == DONT_KNOW], [0, 1], 2).reshape(-1),
                categories=["valid", "dont_know", "blank"],
            ),
        }
    )


def _respondents_table(
    export: RawExport,
    colmap: ColumnMap,
    pseudo: pd.Series,
    rater_unit: pd.Series,
    member: dict[str, np.ndarray],
    background: dict,
    n_valid: np.ndarray,
    keep: np.ndarray,
    min_group_size: int | None,
) -> tuple[pd.DataFrame, dict]:
    """(respondents.parquet, the background categories merged into "other")."""
    m = int(keep.sum())
    nets_sorted = sorted(member)
    if nets_sorted:
        mem = np.column_stack([member[n_] for n_ in nets_sorted])[keep]
        networks = np.array([";".join(n_ for n_, f in zip(nets_sorted, row) if f) for row in mem], dtype=object)
    else:
        networks = np.full(m, "", dtype=object)
    respondents = pd.DataFrame(
        {"respondent_id": pseudo[keep].to_numpy(), "rater_unit": rater_unit[keep].to_numpy(), "networks": networks}
    )
    for col in colmap.background:
        respondents[col] = background[col][keep]
    merged: dict = {}
    if min_group_size is not None:
        cats = [c for c in colmap.background if c not in set(getattr(colmap, "background_keys", ()) or ())]
        respondents, merged = merge_small_categories(respondents, cats, min_group_size)
    respondents["n_valid_answers"] = n_valid[keep]
    respondents["source_row"] = export.source_row.to_numpy()[keep].astype(int)
    return respondents, merged


def _missing_units(
    round_units: pd.DataFrame, respondents: pd.DataFrame, rater_unit: pd.Series, qfail: pd.DataFrame
) -> tuple[list[str], dict]:
    """(base units of the round left without a valid respondent, unit -> its records and the rules
    that quarantined them)."""
    names = dict(zip(round_units["unit_id"].astype(str), round_units["name"].astype(str)))
    kept_units = set(respondents["rater_unit"].astype(str))
    missing = [str(u) for u in round_units.loc[round_units["kind"] == "base", "unit_id"] if str(u) not in kept_units]
    unit_of = rater_unit.to_numpy(dtype=object)
    q_rules = qfail[["index", "rule"]].assign(index=qfail["index"].astype(int)).drop_duplicates()
    detail = {}
    for u in missing:
        rec = np.flatnonzero(unit_of == u)
        by_rule = q_rules[q_rules["index"].isin(rec)].groupby("rule").size()
        by_rule = by_rule.sort_values(ascending=False, kind="stable")
        detail[u] = {
            "name": names.get(u, u),
            "records": int(len(rec)),
            "rules": {str(r): int(c) for r, c in by_rule.items()},
        }
    return missing, detail


def _summary(
    export: RawExport,
    colmap: ColumnMap,
    ans: _Answers,
    failures: pd.DataFrame,
    wfail: pd.DataFrame,
    respondents: pd.DataFrame,
    keep: np.ndarray,
    round_units: pd.DataFrame,
    missing: list[str],
    accept_missing_units,
) -> dict:
    """summary.json: counts in, valid, quarantined, warned; answers; units."""
    n, m = len(keep), int(keep.sum())
    n_quar = n - m
    st_keep = ans.status[keep]
    names = dict(zip(round_units["unit_id"].astype(str), round_units["name"].astype(str)))
    accept = {str(u) for u in accept_missing_units or ()}
    warned_idx = set(wfail["index"].astype(int)) if len(wfail) else set()
    return {
        "format": export.format,
        "encoding": export.encoding,
        "delimiter": export.delimiter,
        "files": [{"path": str(p), "sha256": sha256(p), "bytes": Path(p).stat().st_size} for p in export.files],
        "records_in": n,
        "valid": m,
        "quarantined": n_quar,
        "warned": len(warned_idx),
        "quarantined_fraction": round(n_quar / n, 6) if n else 0.0,
        "accounting_ok": n == m + n_quar,
        "failures_by_rule": {r: int(c) for r, c in failures.groupby("rule").size().items()},
        "targets": ans.targets,
        "items": ans.keys,
        "answers": {
            "cells": int(st_keep.size),
            "valid": int((st_keep == VALID).sum()),
            "dont_know": int((st_keep == DONT_KNOW).sum()),
            "blank": int((st_keep == BLANK).sum()),
        },
        "respondents_per_unit": {u: int(c) for u, c in respondents["rater_unit"].value_counts().sort_index().items()},
        # counted, never named: a column header can be personal data (IngestResult.dropped_columns has the names)
        "dropped_columns_count": len(colmap.unused),
        "records_set_aside": n_quar,
        "missing_units": missing,
        "missing_units_accepted": [u for u in missing if u in accept],
        "missing_unit_names": {u: names.get(u, u) for u in missing},
    }


def check_quarantine_ceiling(result: IngestResult, max_fraction: float, source: str) -> None:
    """Stop the round when more than ``max_fraction`` of the records were set aside."""
    s = result.summary
    if s["records_in"] and s["quarantined_fraction"] > max_fraction:
        q = result.failures[result.failures["action"] == "quarantined"]
        by_rule = ", ".join(f"{r}: {c}" for r, c in q.groupby("rule").size().sort_values(ascending=False).items())
        first = "\n".join(
            f"    row {r}, column {c!r}: {m}"
            for r, c, m in q[["source_row", "column", "message"]].head(10).itertuples(index=False)
        )
        raise RelcoordError(
            f"{s['quarantined']} of {s['records_in']} records ({s['quarantined_fraction']:.0%}) would be quarantined, "
            f"above validation.max_quarantined_fraction = {max_fraction:.0%} ({by_rule}). First problems:\n{first}",
            file=source,
            hint="this usually means the codebook or instrument does not fit the export (wrong codes, renamed units); "
            "fix that, or raise validation.max_quarantined_fraction if the losses are understood",
        )


def check_missing_units(result: IngestResult, source: str, units_file: str = "config/units.tsv") -> None:
    """Stop the round when a base unit of its register has no valid respondent left and is not in
    ``summary["missing_units_accepted"]`` (``validation.accept_missing_units``): a unit that
    disappears is news. The message tells, per unit, whether its records were quarantined (and by
    which rules) or the export has none, and lists the base-unit labels the register does not know
    (the unit may have been renamed)."""
    s = result.summary
    stop = [u for u in s.get("missing_units", []) if u not in set(s.get("missing_units_accepted", []))]
    if not stop:
        return
    detail = result.units_check.get("missing", {})
    lines = []
    for u in stop:
        d = detail.get(u, {"name": s.get("missing_unit_names", {}).get(u, u), "records": 0, "rules": {}})
        if d["records"]:
            rules = ", ".join(f"{r} {c}" for r, c in d["rules"].items())
            why = f"its {d['records']} record(s) were quarantined (rules: {rules})"
        else:
            why = "the export has no record from it"
        lines.append(f"  - {u} ({d['name']}): {why}")
    text = (
        f"round {s.get('round', '')}: {len(stop)} base unit(s) of the unit register have no valid respondent "
        f"left after validation:\n"
        + "\n".join(lines)
        + f"\n{s.get('records_set_aside', s['quarantined'])} of {s['records_in']} records were set aside in all."
    )
    unknown = result.units_check.get("unknown", [])
    if unknown:
        names = s.get("missing_unit_names", {})
        shown = []
        for x in unknown[:10]:
            near = (
                closest_unit(
                    x["label"], pd.DataFrame({"unit_id": list(names), "name": list(names.values()), "kind": "base"})
                )
                if x["label"]
                else None
            )
            if not x["label"]:
                what = f"code {x['code']!r}: no label"
            else:
                what = repr(x["label"]) if x["label"] == x["code"] else f"code {x['code']!r}: {x['label']!r}"
            shown.append(
                f"  - {what}, {x['records']} record(s)"
                + (f"; perhaps {near[0]} ({near[1]}) renamed" if near and near[0] in stop else "")
            )
        text += (
            "\nBase-unit labels in the export that are not units of this round (quarantined as unknown_unit; "
            "one may be a missing unit renamed):\n" + "\n".join(shown)
        )
        if len(unknown) > 10:
            text += f"\n  ... and {len(unknown) - 10} more"
    ids = ", ".join(stop)
    raise RelcoordError(
        text,
        file=source,
        hint=f"if a label above is the unit under a new name, add it to the unit's aliases column in {units_file}; "
        "if its records were quarantined, correct them (every row is in failures.csv, or run `relcoord check "
        f"--failures`); if the unit has closed, end it with valid_to in {units_file}; if the unit really has "
        f"no respondents this round, accept that in the config: validation: {{accept_missing_units: [{ids}]}}",
    )


# ---- schemas of the canonical tables (checked before they are written) ----


def _nonempty_strings(s: pd.Series) -> pd.Series:
    """pandera's ``str_length(min_value=1)``, judged once per distinct value
    (a respondent id repeats on every one of the respondent's answer rows)."""
    codes, uniq = pd.factorize(s.to_numpy(), use_na_sentinel=False)
    ok = np.array([isinstance(u, str) and len(u) >= 1 for u in uniq], dtype=bool)
    return pd.Series(ok[codes], index=s.index)


def responses_schema(instrument: Instrument, units: pd.DataFrame) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "respondent_id": pa.Column(
                object, pa.Check(_nonempty_strings, name="str_length", error="str_length(1, None)")
            ),
            "rater_unit": pa.Column("category", pa.Check.isin(list(units.loc[units["kind"] == "base", "unit_id"]))),
            "target_unit": pa.Column("category", pa.Check.isin(list(units["unit_id"]))),
            "item": pa.Column("category", pa.Check.isin(instrument.keys)),
            "value": pa.Column(float, pa.Check.in_range(instrument.scale_min, instrument.scale_max), nullable=True),
            "answer": pa.Column("category", pa.Check.isin(["valid", "dont_know", "blank"])),
        },
        strict=True,
    )


def respondents_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "respondent_id": pa.Column(object, unique=True),
            "rater_unit": pa.Column(object, nullable=False),
            "networks": pa.Column(object),
        },
        strict=False,
    )


def failures_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "source_file": pa.Column(object),
            "source_row": pa.Column(int, pa.Check.ge(1)),
            "column": pa.Column(object),
            "value": pa.Column(object, nullable=True),
            "rule": pa.Column(object, pa.Check.isin(list(RULES))),
            "message": pa.Column(object),
            "action": pa.Column(object, pa.Check.isin(["quarantined", "warned", "stopped"])),
        },
        strict=True,
    )
