"""Reader for the canonical long format: the format any other tool can
produce, and the one relcoord itself writes (``responses`` and
``respondents``).

Two CSV files in one folder (or name either file; the other must sit beside
it):

- ``responses.csv``: one row per answer, columns ``respondent_id``,
  ``target_unit``, ``item``, ``value`` (required), ``rater_unit`` and
  ``answer`` (optional; ``answer = dont_know`` with an empty value records a
  "don't know"). ``value`` is a score 1..5 by default (``values: codes`` in the
  codebook reads it as an export code instead); empty = not answered.
- ``respondents.csv``: one row per respondent, columns ``respondent_id``,
  ``rater_unit`` (required), ``networks`` (optional, network ids or names
  separated by ``;``) and any background columns.

Header names are matched ignoring case and surrounding blanks; any delimiter
and encoding the other readers detect is accepted.

The reader turns the long table into one record per respondent (the
respondents file's rows, in order), with one column ``<item>|<target>`` per
(item, target unit) pair found in ``responses.csv``, so validation applies
exactly the same rules as for any other export. Failures about an answer name
the ``responses.csv`` row and its ``value`` column; failures about a
respondent name the ``respondents.csv`` row. Problems only the long format
can have are quarantined with their own rule:

- answers for an id that is not in ``respondents.csv``: ``not_in_respondents``
  (the id becomes its own record, so nothing is lost);
- the same (respondent, target, item) answered twice with different values:
  ``conflicting_answers``;
- a ``rater_unit`` in ``responses.csv`` contradicting ``respondents.csv``:
  ``inconsistent_rater_unit``.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from relcoord.codes import normalise_code, normalise_text
from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers._text import (decode, delimiter_option, encoding_option, parse_csv, read_bytes, refuse_binary,
                                    sniff_delimiter, split_header, structure_frame, truncated_last_row)

__all__ = ["read_canonical", "RESPONSES", "RESPONDENTS", "column_name"]

RESPONSES = "responses.csv"
RESPONDENTS = "respondents.csv"
HINT = ("the canonical format is two CSV files: responses.csv (respondent_id, target_unit, item, value[, "
        "rater_unit, answer]) and respondents.csv (respondent_id, rater_unit[, networks, background...]); "
        "see config/README.md")
DONT_KNOW = "dont_know"


def column_name(item: str, target: str) -> str:
    """The synthetic wide column of one (item, target unit) pair."""
    return f"{item}|{target}"


def _find(folder: Path, name: str) -> Path:
    try:
        hits = sorted(e for e in folder.iterdir() if e.is_file() and e.name.lower() == name)
    except OSError as exc:
        raise RelcoordError(f"cannot list the folder: {exc.strerror or exc}", file=str(folder),
                            hint="check that the folder exists and is readable") from None
    if not hits:
        present = sorted(e.name for e in folder.iterdir() if e.is_file())
        raise RelcoordError(f"{name} is missing from the canonical export folder (files present: "
                            f"{', '.join(present) if present else 'none'})", file=str(folder / name), hint=HINT)
    if len(hits) > 1:
        raise RelcoordError(f"more than one file is named {name} (ignoring case): "
                            f"{', '.join(h.name for h in hits)}", file=str(folder), hint="keep only one of them")
    return hits[0]


def _locate(path: Path) -> tuple[Path, Path]:
    if not path.exists():
        raise RelcoordError("the canonical export does not exist", file=str(path),
                            hint="point the round's `export:` at the folder holding responses.csv and "
                                 "respondents.csv")
    if path.is_dir():
        return _find(path, RESPONSES), _find(path, RESPONDENTS)
    if path.name.lower() == RESPONDENTS:
        return _find(path.parent, RESPONSES), path
    return path, _find(path.parent, RESPONDENTS)


def _table(path: Path, encoding: str | None, delimiter: str | None, required: list[str],
           what: str) -> tuple[pd.DataFrame, pd.Series, str, str, list[dict]]:
    raw = read_bytes(path)
    refuse_binary(raw, str(path), f"a CSV file ({what})", HINT)
    text, enc = decode(path, encoding, HINT, raw=raw)
    delim = delimiter or sniff_delimiter(text)
    tail = text[max(0, text.rfind("\n"), text.rfind("\r")):]   # the last line, for truncated_last_row
    arrow = _arrow_input(text, raw, enc, delim)
    frame = None
    if arrow is not None:
        del text   # pyarrow reads the bytes: the decoded text is not held while it parses
        frame = _arrow_frame(*arrow, delim)
        if frame is None:
            text, _ = decode(path, encoding, HINT, raw=raw)
    del raw, arrow
    if frame is None:
        frame = parse_csv(text, delim, str(path), HINT)
        del text
    _, body, rows = split_header(frame, 1, str(path), HINT, what=what)
    cols = [c.strip().lower() for c in body.columns]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise RelcoordError(f"the column {dup[0]!r} appears twice in the header (ignoring case)", file=str(path),
                            row=1, column=dup[0], hint="keep one column of that name")
    body.columns = cols
    missing = [c for c in required if c not in cols]
    if missing:
        raise RelcoordError(f"required column(s) {', '.join(missing)} missing (the header has: "
                            f"{', '.join(cols)}){' - is the delimiter right?' if len(cols) == 1 else ''}",
                            file=str(path), row=1, column=missing[0], hint=HINT)
    cut = truncated_last_row(tail, delim, len(cols), len(body) - 1, file=str(path), row=int(rows.iat[-1]))
    return body, rows, enc, delim, cut


def _arrow_input(text: str, raw: bytes, enc: str, delim: str):
    """``(UTF-8 bytes, number of columns)`` for :func:`_arrow_frame`, or None when the text holds a
    quote character or is blank (then :func:`parse_csv` reads it). Without quotes, pyarrow and
    parse_csv split the same lines at the same delimiters, so both give the same cells; pyarrow
    keeps one Python string per distinct cell instead of one per cell."""
    if '"' in text or not text.strip():
        return None
    ends = [i for i in (text.find("\r"), text.find("\n")) if i >= 0]
    width = text[:min(ends) if ends else len(text)].count(delim) + 1
    if codecs.lookup(enc).name in ("utf-8", "utf-8-sig", "ascii"):
        data = memoryview(raw)[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else memoryview(raw)
    else:
        data = text.encode("utf-8")
    return data, width


def _arrow_frame(data, width: int, delim: str) -> pd.DataFrame | None:
    """The cells of quote-free CSV bytes as categoricals (columns 0..width-1), as :func:`parse_csv`
    gives them as strings; None when a row has another number of fields than the first (parse_csv
    pads short rows and stops on long ones, with its messages) or pyarrow refuses the file."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    text_type = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data), read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={f"f{i}": text_type for i in range(width)},
                                                 strings_can_be_null=False, null_values=[]))
    except (pa.ArrowException, MemoryError):
        return None
    if table.num_columns != width:
        return None
    frame = table.to_pandas()
    frame.columns = range(width)
    return frame


def _factor(values, norm) -> tuple[np.ndarray, np.ndarray]:
    """(codes, keys): ``norm`` applied once per distinct value (hashing, no sort), values whose
    keys coincide merged. ``keys[codes]`` is the normalised value of every row. A categorical
    column is numbered by its own codes (every row's key is the same)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype) \
            and not (values.cat.codes.to_numpy() < 0).any():
        codes, uniq = values.cat.codes.to_numpy().astype(np.int64), values.cat.categories.to_numpy(dtype=object)
    else:
        codes, uniq = pd.factorize(np.asarray(values, dtype=object), sort=False)
    keys = np.array([norm(str(u)) for u in uniq], dtype=object)
    codes2, keys2 = pd.factorize(keys, sort=False)
    return (codes2[codes] if len(codes) else codes.astype(np.int64)), np.asarray(keys2, dtype=object)


class _Records(NamedTuple):
    """Which record every answer row belongs to: the respondents of respondents.csv, then the ids
    found only in responses.csv (orphans)."""
    rec: np.ndarray            # per answer row: its record
    n_pers: int                # records from respondents.csv
    orphan_ids: np.ndarray     # ids only in responses.csv, in order of first appearance
    orphan_first: np.ndarray   # per orphan: its first answer row


class _Columns(NamedTuple):
    """One wide column per (item, target unit) pair."""
    pair: np.ndarray           # per answer row: its column
    names: list[str]           # column names, ``item|target``
    first_of_pair: np.ndarray  # per column: its first answer row
    item_key: dict[int, str]   # first answer row -> normalised item key
    items_txt: dict[int, str]  # first answer row -> item as written
    targets_txt: dict[int, str]


def read_canonical(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto") -> RawExport:
    """Read ``responses.csv`` + ``respondents.csv`` into one record per respondent."""
    resp_path, pers_path = _locate(Path(path))
    enc_opt, delim_opt = encoding_option(encoding), delimiter_option(delimiter)
    resp, resp_rows, enc, delim, resp_cut = _table(resp_path, enc_opt, delim_opt,
                                                   ["respondent_id", "target_unit", "item", "value"], "answer")
    pers, pers_rows, _, _, pers_cut = _table(pers_path, enc_opt, delim_opt, ["respondent_id", "rater_unit"],
                                             "respondent")
    resp_row_no = resp_rows.to_numpy()
    recs = _records(pers, resp)
    cols = _columns(resp, resp_path, resp_row_no)
    values = _values(resp)
    problems = list(pers_cut)
    for p in resp_cut:   # the cut answer row belongs to its respondent's record
        problems.append({**p, "index": int(recs.rec[p["index"]])})
    wide, rows = _place_answers(resp, values, recs, cols, resp_path, resp_row_no, problems)
    rater = _base_units(pers, resp, recs, resp_path, resp_row_no, problems)
    names = cols.names
    data = _wide_table(pers, pers_path, recs, rater, wide, names)
    source_file = np.array([str(pers_path)] * recs.n_pers + [str(resp_path)] * len(recs.orphan_ids), dtype=object)
    source_row = np.concatenate([pers_rows.to_numpy(), resp_row_no[recs.orphan_first] if len(recs.orphan_first)
                                 else np.array([], dtype=np.int64)]).astype(np.int64)
    qname = {n: cols.item_key[i] for n, i in zip(names, cols.first_of_pair)}
    structure = structure_frame(names, qname.__getitem__,
                                [f"{cols.items_txt[i]} - {cols.targets_txt[i]}" for i in cols.first_of_pair],
                                [cols.targets_txt[i] for i in cols.first_of_pair])
    return RawExport(
        data=data, source_file=pd.Series(source_file, index=data.index, name="source_file"),
        source_row=pd.Series(source_row, index=data.index, name="source_row"),
        structure=structure, files=[resp_path, pers_path], format="canonical", encoding=enc, delimiter=delim,
        column_files={n: str(resp_path) for n in names},
        cell_rows={n: rows[:, j] for j, n in enumerate(names)},
        column_labels={n: "value" for n in names},
        problems=pd.DataFrame(problems, columns=["index", "rule", "column", "value", "message", "source_file",
                                                 "source_row"]))


def _records(pers: pd.DataFrame, resp: pd.DataFrame) -> _Records:
    """The records: the respondents (first row of a repeated id), then ids found only in responses."""
    pers_ids = np.array([str(v).strip() for v in pers["respondent_id"]], dtype=object)
    is_first = ~pd.Index(pers_ids).duplicated()
    first_pos = np.flatnonzero(is_first)
    lookup = pd.Index(pers_ids[is_first])
    id_codes, id_keys = _factor(resp["respondent_id"], str.strip)
    key_pos = lookup.get_indexer(id_keys)                 # per distinct id: its respondents row (or -1)
    pos = key_pos[id_codes] if len(id_codes) else np.array([], dtype=np.int64)
    rec = np.where(pos >= 0, first_pos[np.maximum(pos, 0)] if len(first_pos) else -1, -1)
    n_pers = len(pers_ids)
    orphan_rows = np.flatnonzero(rec < 0)
    orphan_codes = pd.unique(id_codes[orphan_rows]) if len(orphan_rows) else np.array([], dtype=np.int64)
    orphan_ids = id_keys[orphan_codes] if len(orphan_codes) else np.array([], dtype=object)
    if len(orphan_ids):
        slot = np.full(len(id_keys), -1, dtype=np.int64)
        slot[orphan_codes] = np.arange(len(orphan_codes))
        rec[orphan_rows] = n_pers + slot[id_codes[orphan_rows]]
        o_first = pd.Series(orphan_rows).groupby(rec[orphan_rows]).first().to_numpy()
    else:
        o_first = np.array([], dtype=int)
    return _Records(rec, n_pers, orphan_ids, o_first)


def _columns(resp: pd.DataFrame, resp_path: Path, resp_row_no: np.ndarray) -> _Columns:
    """One column per (item, target) pair, named by the item key and the target as first written
    (by the normalised target when two spellings differ only in case or blanks)."""
    item_codes, item_keys = _factor(resp["item"], normalise_text)
    target_codes, target_keys = _factor(resp["target_unit"], normalise_text)
    blank = np.flatnonzero((item_keys == "")[item_codes] | (target_keys == "")[target_codes]) \
        if len(item_codes) else np.array([], dtype=int)
    if len(blank):
        i = int(blank[0])
        col = "item" if item_keys[item_codes[i]] == "" else "target_unit"
        raise RelcoordError(f"the {col} of this answer is empty", file=str(resp_path), row=int(resp_row_no[i]),
                            column=col, hint="every row of responses.csv needs an item key and a target unit")
    pair, _ = pd.factorize(item_codes.astype(np.int64) * max(len(target_keys), 1) + target_codes, sort=False)
    first_of_pair = pd.Series(np.arange(len(pair))).groupby(pair).first().to_numpy()
    items_col, targets_col = resp["item"], resp["target_unit"]
    items_txt = {int(i): str(items_col.iat[i]).strip() for i in first_of_pair}
    targets_txt = {int(i): str(targets_col.iat[i]).strip() for i in first_of_pair}
    item_key = {int(i): item_keys[item_codes[i]] for i in first_of_pair}
    names = [column_name(item_key[i], targets_txt[i]) for i in first_of_pair]
    if len(set(names)) != len(names):  # two spellings of one target differing only in case/blanks
        names = [column_name(item_key[i], target_keys[target_codes[i]]) for i in first_of_pair]
    return _Columns(pair, names, first_of_pair, item_key, items_txt, targets_txt)


def _values(resp: pd.DataFrame) -> np.ndarray:
    """The answer values; a "don't know" recorded in the answer column with an empty value reads as
    ``dont_know``."""
    values = resp["value"].to_numpy(dtype=object)
    if "answer" in resp.columns:
        ans_codes, ans_keys = _factor(resp["answer"], normalise_text)
        dk_key = np.isin(ans_keys, ["dont_know", "don't know", "dont know"])
        dk = np.flatnonzero(dk_key[ans_codes]) if len(ans_codes) else np.array([], dtype=int)
        if len(dk):
            values = values.copy()
            empty = np.array([str(v).strip() == "" for v in values[dk]], dtype=bool)
            values[dk[empty]] = DONT_KNOW
    return values


def _place_answers(resp: pd.DataFrame, values: np.ndarray, recs: _Records, cols: _Columns, resp_path: Path,
                   resp_row_no: np.ndarray, problems: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(wide values, their source rows), records x columns. The first answer of a (record, column)
    counts; a later different one is a ``conflicting_answers`` problem (one per record)."""
    rec, pair = recs.rec, cols.pair
    n_rec, n_cols = recs.n_pers + len(recs.orphan_ids), len(cols.names)
    cell = rec.astype(np.int64) * max(n_cols, 1) + pair
    dup = pd.Series(cell).duplicated(keep="first").to_numpy()
    if dup.any():
        items_col, targets_col = resp["item"].to_numpy(dtype=object), resp["target_unit"].to_numpy(dtype=object)
        norm_val = normalise_code(values.astype(str))
        first_idx = pd.Series(np.arange(len(cell))).groupby(cell).transform("first").to_numpy()
        clash = dup & (norm_val != norm_val[first_idx])
        seen: set[int] = set()
        for i in np.flatnonzero(clash):
            r = int(rec[i])
            if r in seen:
                continue
            seen.add(r)
            j = int(first_idx[i])
            problems.append(dict(index=r, rule="conflicting_answers", column="value", value=str(values[i]),
                                 message=(f"item {str(items_col[i]).strip()!r} about "
                                          f"{str(targets_col[i]).strip()!r} is answered "
                                          f"{values[j]!r} in row {resp_row_no[j]} and {values[i]!r} in this row; "
                                          "keep one answer per respondent, unit and item"),
                                 source_file=str(resp_path), source_row=int(resp_row_no[i])))
    keep = ~dup
    wide = np.full((n_rec, n_cols), "", dtype=object)
    rows = np.zeros((n_rec, n_cols), dtype=np.int64)
    wide[rec[keep], pair[keep]] = values[keep]
    rows[rec[keep], pair[keep]] = resp_row_no[keep]
    return wide, rows


def _base_units(pers: pd.DataFrame, resp: pd.DataFrame, recs: _Records, resp_path: Path,
                resp_row_no: np.ndarray, problems: list[dict]) -> np.ndarray:
    """Every record's base unit from respondents.csv (an orphan's from responses.csv), checked against
    responses.csv (``inconsistent_rater_unit``); orphans are ``not_in_respondents`` problems."""
    rec, n_pers, orphan_ids = recs.rec, recs.n_pers, recs.orphan_ids
    rater = np.concatenate([pers["rater_unit"].to_numpy(dtype=object), np.full(len(orphan_ids), "", dtype=object)])
    if "rater_unit" in resp.columns:
        r_rater = resp["rater_unit"].to_numpy(dtype=object)
        r_codes, r_keys = _factor(r_rater, normalise_text)
        given = (r_keys != "")[r_codes] if len(r_codes) else np.array([], dtype=bool)
        if len(orphan_ids):  # ids only in responses: take their base unit from there
            o = (rec >= n_pers) & given
            if o.any():
                firsts = pd.Series(np.flatnonzero(o)).groupby(rec[o]).first()
                rater[firsts.index.to_numpy()] = r_rater[firsts.to_numpy()]
        rec_code = pd.Index(r_keys).get_indexer(np.array([normalise_text(str(u)) for u in rater], dtype=object))
        bad = given & (r_codes != rec_code[rec]) if len(r_codes) else given
        seen = set()
        for i in np.flatnonzero(bad):
            r = int(rec[i])
            if r in seen:
                continue
            seen.add(r)
            problems.append(dict(index=r, rule="inconsistent_rater_unit", column="rater_unit",
                                 value=str(r_rater[i]),
                                 message=(f"responses.csv gives the base unit {str(r_rater[i]).strip()!r} but "
                                          f"respondents.csv gives {str(rater[r]).strip()!r} for this respondent; "
                                          "correct one of them"),
                                 source_file=str(resp_path), source_row=int(resp_row_no[i])))
    for k, oid in enumerate(orphan_ids):
        if str(oid) == "":
            continue  # an empty id is reported by validation (missing_respondent_id)
        problems.append(dict(index=n_pers + k, rule="not_in_respondents", column="respondent_id", value=None,
                             message="", source_file=str(resp_path),
                             source_row=int(resp_row_no[recs.orphan_first[k]])))
    return rater


def _wide_table(pers: pd.DataFrame, pers_path: Path, recs: _Records, rater: np.ndarray, wide: np.ndarray,
                names: list[str]) -> pd.DataFrame:
    """respondent_id, rater_unit, respondents.csv's other columns, then one column per pair."""
    n_orphans = len(recs.orphan_ids)
    carried = {c: np.concatenate([pers[c].to_numpy(dtype=object), np.full(n_orphans, "", dtype=object)])
               for c in pers.columns if c not in ("respondent_id", "rater_unit")}
    clash = sorted(set(carried) & set(names))
    if clash:
        raise RelcoordError(f"respondents.csv has a column named like an (item|target) pair: {clash[0]!r}",
                            file=str(pers_path), row=1, column=clash[0], hint="rename that column")
    ids = np.concatenate([pers["respondent_id"].to_numpy(dtype=object), recs.orphan_ids.astype(object)])
    return pd.concat([pd.DataFrame({"respondent_id": ids, "rater_unit": rater, **carried}, dtype=object),
                      pd.DataFrame(wide, columns=names, dtype=object)], axis=1)
