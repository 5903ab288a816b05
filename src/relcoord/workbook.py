"""``tables.xlsx``: a round's or a comparison's reader-facing tables as one Excel workbook.

The CSVs stay the machine-readable contract; the workbook is the same tables for an analyst's
double-click, one sheet per CSV, cell for cell:

- a first sheet (``Om`` / ``About``) says what each sheet holds, which CSV it copies, the round
  (or the two rounds) and that the CSVs are the contract; it lists every column's header next to
  its CSV column name;
- headers in the report language (``workbook.columns`` in ``locales/<lang>.yaml``, one per CSV
  column name; an item column the catalogue lacks takes the instrument's item label), bold, the
  header row frozen, an autofilter over the table, column widths fitted to the contents;
- numbers as numbers, exactly as the CSV writes them (read back with :data:`CSV_READ`), shown
  with a number format by kind of column (:data:`KINDS`: means and scores 2 decimals,
  coefficients and model terms 3, p-values 3 or scientific below 0.001, counts as integers),
  booleans as booleans;
- a hidden cell -- blank in the CSV in a row its ``suppressed`` column (``within_suppressed`` etc.
  for the ``within_*`` columns of units.csv) marks as suppressed, in a value column -- holds the
  word for hidden (``workbook.hidden``: "skjult" / "hidden") in grey italics; the suppressed
  columns stay;
- unit ids stay ids, with a name column (from the unit register) after each unit-id column (blank
  where the column holds no unit: the kinds of changes.csv's block rows);
- text is always written as text (an inline string), never as a formula or error value, whatever
  it starts with (``= + - @``);
- the same input gives the same bytes (fixed document times and zip entry times, as
  :mod:`relcoord.writers.surveyxact` writes its Excel exports).

openpyxl is imported lazily, inside :func:`_workbook_bytes` (only the report jobs write workbooks).
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .locales import text
from .outputs import FIXED_ZIP_TIME, deterministic_xlsx
from .present import unit_names

__all__ = ["ROUND_SHEETS", "COMPARISON_SHEETS", "KINDS", "FIXED_TIME", "CSV_READ", "header", "column_kind",
           "sheet_columns", "sheet_name", "write_round_workbook", "write_comparison_workbook"]

#: reader order of a round's public tables (relcoord.stages.PUBLIC_NAMES) and of a comparison's tables
ROUND_SHEETS = ("organisation", "blocks", "units", "ties", "edges", "reliability", "agreement")
COMPARISON_SHEETS = ("changes", "model")

#: the document and zip entry time of every workbook (relcoord.outputs.deterministic_xlsx)
FIXED_TIME = FIXED_ZIP_TIME

#: number format by kind of column; "p" switches to scientific below 0.001
FORMATS = {"mean": "0.00", "stat": "0.00", "df": "0.0", "coef": "0.000", "count": "0", "p": "0.000"}
P_SMALL = "0.00E+00"

#: column -> kind (a number format of FORMATS, "value_text" for a text value that is hidden with its row,
#: "id" for a unit id, "text" for a descriptor); columns not listed: see column_kind
KINDS: dict[str, str] = {
    **dict.fromkeys(("rater_unit", "target_unit", "unit_a", "unit_b", "unit_id"), "id"),
    **dict.fromkeys(("n", "n_a", "n_b", "n_respondents", "n_ties", "n_obs", "n_a_to_b", "n_b_to_a",
                     "within_n", "between_n", "received_n"), "count"),
    **dict.fromkeys(("p", "p_fdr", "mw_p", "wilcoxon_p"), "p"),
    **dict.fromkeys(("rc_mean", "rc_sd", "ci_low", "ci_high", "mean", "sd", "mean_a", "mean_b", "diff", "sd_a",
                     "sd_b", "a_to_b", "b_to_a", "symmetric_rc", "asymmetry", "difference", "within_rc",
                     "between_rc", "received_rc", "communication", "relationship"), "mean"),
    **dict.fromkeys(("hedges_g", "g_ci_low", "g_ci_high", "statistic", "rwg_j"), "stat"),
    **dict.fromkeys(("mw_statistic", "wilcoxon_statistic", "df"), "df"),
    **dict.fromkeys(("value", "estimate", "se"), "coef"),
    "band": "value_text",
}
#: reliability.csv ``value`` rows whose measure is a count or a p-value
_VALUE_BY_MEASURE = {"k": "count", "n_groups": "count", "p": "p"}
_NUMERIC = set(FORMATS)
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NAME_SUFFIX = "_name"
#: how a CSV is read: only an empty cell is missing; numbers exactly as written
CSV_READ = {"keep_default_na": False, "na_values": [""], "float_precision": "round_trip"}


def column_kind(column: str, values: pd.Series | None = None) -> str:
    """The kind of a column (:data:`KINDS`); an unlisted column is a score (``mean``) when numeric
    (an item column such as ``frequent``; ``rwg_*`` is ``stat``), else ``text``."""
    if column in KINDS:
        return KINDS[column]
    if column.startswith("rwg_"):
        return "stat"
    if values is not None and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "mean"
    return "text"


def _catalogue(lang: str) -> Mapping[str, Any]:
    return text(lang)["workbook"]


def header(column: str, lang: str, instrument=None) -> str:
    """A column's header in ``lang``: the catalogue's (``workbook.columns``), else, for an item of the
    instrument (``frequent``, ``rwg_frequent``), its label; else the column name itself."""
    cat = _catalogue(lang)
    if column in cat["columns"]:
        return cat["columns"][column]
    keys = {i.key: i for i in getattr(instrument, "items", ())}
    if column in keys:
        return keys[column].label(lang)
    if column.startswith("rwg_") and column[4:] in keys:
        return cat["rwg_item"].format(item=keys[column[4:]].label(lang))
    return column


def sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """A valid sheet name: no ``[]:*?/\\``, at most 31 characters, not one of ``taken`` (case-insensitive)."""
    base = _BAD_SHEET.sub("-", name).strip("'") or "-"
    base = base[:31]
    used = {t.lower() for t in taken}
    out, i = base, 2
    while out.lower() in used:
        out = f"{base[:31 - len(str(i)) - 1]} {i}"
        i += 1
    return out


def sheet_columns(df: pd.DataFrame) -> list[str]:
    """The sheet's columns: the CSV's, with ``<id column>_name`` after each unit-id column (not after
    ``unit_id`` when the table has its own ``name`` column)."""
    out = []
    for c in df.columns:
        out.append(c)
        if column_kind(c) == "id" and not (c == "unit_id" and "name" in df.columns):
            out.append(c + _NAME_SUFFIX)
    return out


def _flag(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() == "true"
    return v is True or (not _blank(v) and bool(v))


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def _suppression_column(column: str, columns: Sequence[str]) -> str | None:
    """The boolean column that hides ``column``: ``<prefix>_suppressed`` for ``<prefix>_...``, else ``suppressed``."""
    for c in columns:
        if c.endswith("_suppressed") and column.startswith(c[: -len("suppressed")]):
            return c
    return "suppressed" if "suppressed" in columns else None


def _read(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """A table as given, or its CSV read with only an empty cell as missing (a text "NA" stays text) and
    each number the closest float to its text."""
    return source.copy() if isinstance(source, pd.DataFrame) else pd.read_csv(source, **CSV_READ)


def _cells(df: pd.DataFrame, names: Mapping[str, str]) -> tuple[list[str], list[str], list[list[tuple]]]:
    """(columns, kinds, rows of (value, kind of cell)): kind of cell is a FORMATS key, "text", "bool",
    "hidden" or "blank"."""
    cols = sheet_columns(df)
    kinds = {c: column_kind(c, df[c]) for c in df.columns}
    for c in cols:
        kinds.setdefault(c, "text")
    hider = {c: _suppression_column(c, list(df.columns)) for c in df.columns}
    records = df.to_dict("records")
    rows = []
    for rec in records:
        row = []
        for c in cols:
            if c not in df.columns:                                   # a name column after a unit id
                uid = rec[c[: -len(_NAME_SUFFIX)]]
                name = None if _blank(uid) else names.get(str(uid))    # not a unit (a block row's kinds): blank
                row.append((None, "blank") if name is None else (name, "text"))
                continue
            v, kind = rec[c], kinds[c]
            if _blank(v):
                hidden = (kind in _NUMERIC or kind == "value_text") and hider[c] is not None \
                    and _flag(rec[hider[c]])
                row.append((None, "hidden" if hidden else "blank"))
            elif isinstance(v, (bool, np.bool_)):
                row.append((bool(v), "bool"))
            elif isinstance(v, str):
                row.append((v, "text"))
            else:
                x = float(v)
                if not math.isfinite(x):
                    row.append((str(v), "text"))
                    continue
                if c == "value" and str(rec.get("measure")) in _VALUE_BY_MEASURE:
                    kind = _VALUE_BY_MEASURE[str(rec.get("measure"))]
                if kind not in _NUMERIC:
                    kind = "mean"
                num = int(x) if x.is_integer() and (kind == "count" or isinstance(v, (int, np.integer))) else x
                row.append((num, kind))
        rows.append(row)
    return cols, [kinds[c] for c in cols], rows


def _shown(value: Any, kind: str, hidden_word: str) -> str:
    """Roughly how a cell looks (for column widths)."""
    if kind == "hidden":
        return hidden_word
    if kind == "blank":
        return ""
    if kind == "p":
        return f"{value:.3f}" if value == 0 or abs(value) >= 0.001 else f"{value:.2E}"
    if kind in FORMATS:
        return f"{value:.{FORMATS[kind].count('0') - 1}f}" if "." in FORMATS[kind] else f"{value:.0f}"
    return str(value)


def _text(s: str) -> str:
    return _ILLEGAL.sub("\ufffd", s)


def _put(ws, row: int, col: int, value: Any, kind: str = "text", font=None):
    cell = ws.cell(row=row, column=col)
    if kind == "blank" or value is None or value == "":
        return cell
    if isinstance(value, str):
        cell.value = _text(value)
        cell.data_type = "s"                 # never a formula or an error value, whatever the text starts with
    else:
        cell.value = value
    if kind in FORMATS:
        cell.number_format = P_SMALL if kind == "p" and value != 0 and abs(value) < 0.001 else FORMATS[kind]
    if font is not None:
        cell.font = font
    return cell


def _workbook_bytes(title: str, tables: Sequence[tuple[str, pd.DataFrame, str]], names: Mapping[str, str],
                    lang: str, instrument=None) -> bytes:
    """The workbook: the About sheet, then one sheet per (table name, frame, CSV file) in order."""
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    cat = _catalogue(lang)
    bold, grey = Font(bold=True), Font(italic=True, color="FF808080")
    wb = Workbook()
    about = wb.active
    about.title = sheet_name(cat["about_sheet"])
    taken = [about.title]
    sheets = []
    for name, _, _ in tables:
        sheets.append(sheet_name(cat["sheets"].get(name, name), taken))
        taken.append(sheets[-1])

    # the About sheet
    _put(about, 1, 1, title, font=Font(bold=True, size=14))
    r = 3
    for key in ("contract", "numbers", "hidden_note", "names_note"):
        _put(about, r, 1, cat[key].format(hidden=cat["hidden"]))
        r += 1
    r += 1
    for j, key in enumerate(("sheet_col", "file_col", "holds_col"), start=1):
        _put(about, r, j, cat[key], font=bold)
    for sheet, (name, _, file) in zip(sheets, tables):
        r += 1
        _put(about, r, 1, sheet)
        _put(about, r, 2, file)
        _put(about, r, 3, cat["descriptions"].get(name, ""))
    r += 2
    _put(about, r, 1, cat["columns_title"], font=bold)
    r += 1
    for j, key in enumerate(("sheet_col", "header_col", "csv_col"), start=1):
        _put(about, r, j, cat[key], font=bold)
    for sheet, (_, df, _) in zip(sheets, tables):
        for c in sheet_columns(df):
            r += 1
            _put(about, r, 1, sheet)
            _put(about, r, 2, header(c, lang, instrument))
            _put(about, r, 3, c if c in df.columns else "")
    for letter, width in zip("ABC", (24, 40, 100)):
        about.column_dimensions[letter].width = width

    # one sheet per table
    for sheet, (_, df, _) in zip(sheets, tables):
        ws = wb.create_sheet(sheet)
        cols, _, rows = _cells(df, names)
        widths = []
        for j, c in enumerate(cols, start=1):
            h = header(c, lang, instrument)
            _put(ws, 1, j, h, font=bold)
            ws.cell(row=1, column=j).alignment = Alignment(vertical="top")
            widths.append(len(h))
        for i, row in enumerate(rows, start=2):
            for j, (value, kind) in enumerate(row, start=1):
                if kind == "hidden":
                    _put(ws, i, j, cat["hidden"], "hidden", font=grey)
                else:
                    _put(ws, i, j, value, kind)
                widths[j - 1] = max(widths[j - 1], len(_shown(value, kind, cat["hidden"])))
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(max(len(cols), 1))}{len(rows) + 1}"

    fixed = dt.datetime(*FIXED_TIME)
    wb.properties.creator = "relcoord"
    wb.properties.lastModifiedBy = None
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    return deterministic_xlsx(buf.getvalue())


def _sources(sources: Mapping[str, str | Path | pd.DataFrame] | Iterable[str | Path], order: Sequence[str],
             path: Path) -> list[tuple[str, pd.DataFrame, str]]:
    """(name, frame, CSV file relative to the workbook) in ``order``, then any other table by name."""
    if not isinstance(sources, Mapping):
        sources = {Path(p).stem: p for p in sources}
    names = [n for n in order if n in sources] + sorted(n for n in sources if n not in order)
    out = []
    for n in names:
        src = sources[n]
        file = f"{n}.csv" if isinstance(src, pd.DataFrame) else \
            Path(os.path.relpath(Path(src).resolve(), path.resolve().parent)).as_posix()
        out.append((n, _read(src), file))
    return out


def _write(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_round_workbook(tables, path: str | Path, *, label: str, lang: str, units=None,
                         instrument=None) -> Path:
    """Write a round's ``tables.xlsx``. ``tables``: the public score tables' CSV paths (named by file
    stem, like :func:`relcoord.stages.public_tables`), or name -> CSV path or frame as read from it;
    ``label``: the round's label; ``units``: the unit register (names next to unit ids)."""
    path = Path(path)
    cat = _catalogue(lang)
    data = _workbook_bytes(cat["round_title"].format(label=label), _sources(tables, ROUND_SHEETS, path),
                           unit_names(units), lang, instrument)
    return _write(path, data)


def write_comparison_workbook(tables, path: str | Path, *, label_a: str, label_b: str, lang: str, units=None,
                              instrument=None) -> Path:
    """Write a comparison's ``tables.xlsx`` from its ``changes.csv`` and ``model.csv`` (paths, or name ->
    path or frame as read from the CSV); ``label_a``/``label_b``: the two rounds' labels."""
    path = Path(path)
    cat = _catalogue(lang)
    data = _workbook_bytes(cat["comparison_title"].format(label_a=label_a, label_b=label_b),
                           _sources(tables, COMPARISON_SHEETS, path), unit_names(units), lang, instrument)
    return _write(path, data)
