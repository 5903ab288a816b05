"""Reader for SurveyXact exports: the CSV trio or the Excel workbook.

SurveyXact (Rambøll) exports a survey either as three CSV files in one
folder -- ``dataset.csv`` (one row per respondent), ``structure.csv``
(questionName, variableName, questionType, subType, questionText,
choiceValue, choiceText) and ``labels.csv`` (no header: variable, value,
label) -- or as one ``.xlsx`` workbook with the sheets ``Dataset`` (a wide
survey is split over ``Dataset``, ``Dataset2``/``Dataset (2)``, ...),
``Structure`` and ``Labels``.

CSV files come in three flavours: comma- or semicolon-separated in Latin-1
("ANSI"), or tab-separated UTF-16 with a byte-order mark. Encoding and
delimiter are detected per file unless given.

Nothing is decoded: every cell comes back as the string a person typed or
sees (Excel numbers are rendered the way Excel shows them: ``3.0`` -> ``"3"``),
blanks are ``""``.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from pathlib import Path

import pandas as pd

from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers._limits import pad_rows
from relcoord.readers._text import (STRUCTURE_COLUMNS, cell_text, check_header, decode, delim_name, delimiter_option,
                                    encoding_option, open_workbook, parse_csv, problems_frame, sheet_rows,
                                    sniff_delimiter, split_header)
from relcoord.readers._xlsx import formula_problems, formulas_without_value, sheet_visible, stop_on_formulas

__all__ = ["read_surveyxact", "STRUCTURE_COLUMNS", "LABEL_COLUMNS"]

LABEL_COLUMNS = ["variable", "value", "label"]
_cell_text = cell_text   # the name tests/test_readers_surveyxact.py imports
_TRIO = ("dataset.csv", "structure.csv", "labels.csv")
_ENCODING_HINT = (
    "set `reader: {encoding: ...}` in the round's config to the file's encoding "
    "(SurveyXact writes comma- and semicolon-separated CSV as cp1252/latin-1 and "
    "tab-separated CSV as utf-16), or leave it at `auto`; or re-export the survey "
    "from SurveyXact")
_CSV_HINT = ("check that the file is a CSV export from SurveyXact (dataset.csv holds a header row and one row per "
             "respondent) and export it again if need be, or set `reader: {delimiter: ...}` / "
             "`reader: {encoding: ...}` in the round's config")
_HEADER_HINT = "if the file was not edited by hand, export the survey again from SurveyXact"
_WORKBOOK_HINT = ("export the survey from SurveyXact as Excel (.xlsx) again, or open the file in Excel and save it "
                  "as .xlsx; a CSV export must be a folder with dataset.csv, structure.csv and labels.csv")


# --------------------------------------------------------------------------- entry point

def read_surveyxact(path: str | Path, *, encoding: str = "auto",
                    delimiter: str = "auto") -> RawExport:
    """Read a SurveyXact export.

    ``path`` is a folder holding ``dataset.csv``, ``structure.csv`` and
    ``labels.csv`` (names matched case-insensitively), or an ``.xlsx``
    workbook. ``encoding`` and ``delimiter`` apply to the CSV files only;
    ``"auto"`` detects them per file. Raises :class:`RelcoordError` for
    every problem a user can fix.
    """
    p = Path(path)
    if not p.exists():
        raise RelcoordError(
            "the SurveyXact export does not exist", file=str(p),
            hint="check the path in the round's config; it must name the folder "
                 "with dataset.csv, structure.csv and labels.csv, or the .xlsx workbook")
    if p.is_dir():
        return _read_csv_trio(p, encoding=encoding, delimiter=delimiter)
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_workbook(p)
    if suffix == ".xls":
        raise RelcoordError(
            "this is an old-style .xls workbook, which relcoord does not read",
            file=str(p),
            hint="open it in Excel and save it as .xlsx, or export the survey from "
                 "SurveyXact again as Excel (.xlsx) or CSV")
    if p.name.lower() == "dataset.csv":
        # The user pointed at the dataset file: read the trio around it.
        return _read_csv_trio(p.parent, encoding=encoding, delimiter=delimiter)
    raise RelcoordError(
        "not a SurveyXact export: expected a folder with dataset.csv, structure.csv "
        "and labels.csv, or an .xlsx workbook", file=str(p),
        hint="point the round's config at the folder holding the three CSV files, "
             "or at the .xlsx workbook exported from SurveyXact")


# --------------------------------------------------------------------------- CSV

def _read_csv_trio(folder: Path, *, encoding: str, delimiter: str) -> RawExport:
    enc_opt = encoding_option(encoding)
    delim_opt = delimiter_option(delimiter)
    files = _find_trio(folder)
    ds_path, st_path, lb_path = files

    ds_text, ds_enc = _decode(ds_path, enc_opt)
    ds_delim = delim_opt or sniff_delimiter(ds_text)
    data, source_row = _parse_dataset_csv(ds_text, ds_delim, ds_path)

    st_text, _ = _decode(st_path, enc_opt)
    st_rows = _parse_small_csv(st_text, delim_opt or sniff_delimiter(st_text), st_path)
    structure = _structure_frame(st_rows, st_path, row_offset=1)

    lb_text, _ = _decode(lb_path, enc_opt)
    lb_rows = _parse_small_csv(lb_text, delim_opt or sniff_delimiter(lb_text), lb_path)
    labels = _labels_frame(lb_rows, lb_path)

    return RawExport(
        data=data,
        source_file=pd.Series([str(ds_path)] * len(data), index=data.index, dtype=object,
                              name="source_file"),
        source_row=source_row,
        structure=structure,
        labels=labels,
        files=list(files),
        format="surveyxact-csv",
        encoding=ds_enc,
        delimiter=ds_delim,
    )


def _find_trio(folder: Path) -> tuple[Path, Path, Path]:
    try:
        entries = [e for e in folder.iterdir() if e.is_file()]
    except OSError as exc:
        raise RelcoordError(f"cannot list the folder: {exc.strerror or exc}",
                            file=str(folder),
                            hint="check that the folder exists and is readable") from None
    found = []
    for want in _TRIO:
        hits = sorted(e for e in entries if e.name.lower() == want)
        if not hits:
            present = sorted(e.name for e in entries)
            raise RelcoordError(
                f"{want} is missing from the SurveyXact export folder "
                f"(files present: {', '.join(present) if present else 'none'})",
                file=str(folder / want),
                hint="SurveyXact's CSV export produces all three files dataset.csv, "
                     "structure.csv and labels.csv; copy all three into this folder "
                     "(or export the survey as Excel and point the config at the .xlsx)")
        if len(hits) > 1:
            raise RelcoordError(
                f"more than one file is named {want} (ignoring case): "
                f"{', '.join(h.name for h in hits)}", file=str(folder),
                hint="keep only one of them in the folder")
        found.append(hits[0])
    return found[0], found[1], found[2]


def _decode(path: Path, forced: str | None) -> tuple[str, str]:
    # An 8-bit encoding forced on a UTF-8 file is the user's choice here (SurveyXact writes 8-bit files).
    return decode(path, forced, _ENCODING_HINT, refuse_utf8_as_8bit=False)


def _parse_dataset_csv(text: str, delim: str, path: Path) -> tuple[pd.DataFrame, pd.Series]:
    """dataset.csv -> (records with named columns, source rows); a column name of spaces is kept."""
    file = str(path)
    frame = parse_csv(text, delim, file, _CSV_HINT)
    _, body, source_row = split_header(frame, 1, file, _HEADER_HINT, spaces_are_blank=False)
    return body, source_row


def _parse_small_csv(text: str, delim: str, path: Path) -> list[list[str]]:
    """Parse structure.csv / labels.csv (small) with the csv module: ragged rows OK."""
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delim,
                               quotechar='"', doublequote=True, strict=False))
    except csv.Error as exc:
        raise RelcoordError(
            f"cannot parse the file as {delim_name(delim)}-separated CSV: {exc}",
            file=str(path),
            hint="re-export the survey from SurveyXact, or set `reader: {delimiter: ...}` "
                 "in the round's config") from None


# --------------------------------------------------------------------------- structure / labels

def _structure_frame(rows: list[list[str]], file: Path | str, *, row_offset: int) -> pd.DataFrame:
    """Build the 7-column structure table from its rows (first row = header)."""
    rows = [r for r in rows if any(c != "" for c in r)] if rows else []
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STRUCTURE_COLUMNS})
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    lower = {h.lower(): i for i, h in reversed(list(enumerate(header)))}
    missing = [c for c in STRUCTURE_COLUMNS if c.lower() not in lower]
    if missing:
        raise RelcoordError(
            f"the structure table lacks the column(s) {', '.join(missing)} "
            f"(its header row has: {', '.join(h for h in header if h) or 'nothing'})",
            file=str(file), row=row_offset,
            hint="the structure must start with the header row questionName, variableName, "
                 "questionType, subType, questionText, choiceValue, choiceText; re-export "
                 "the survey from SurveyXact")
    idx = [lower[c.lower()] for c in STRUCTURE_COLUMNS]
    out = [[r[i] if i < len(r) else "" for i in idx] for r in rows[1:]]
    return pd.DataFrame(out, columns=STRUCTURE_COLUMNS, dtype=object)


def _labels_frame(rows: list[list[str]], file: Path | str) -> pd.DataFrame:
    out = []
    for n, r in enumerate(rows, start=1):
        if not any(c != "" for c in r):
            continue
        if len(r) > 3 and any(c != "" for c in r[3:]):
            raise RelcoordError(
                f"this label row has {len(r)} fields; expected 3 (variable, value, label)",
                file=str(file), row=n,
                hint="a label probably contains the delimiter without quotes; fix the row "
                     "or re-export the survey from SurveyXact")
        r = (list(r[:3]) + ["", "", ""])[:3]
        if n == 1:
            r[0] = r[0].lstrip("\ufeff")
        out.append(r)
    return pd.DataFrame(out, columns=LABEL_COLUMNS, dtype=object) if out else \
        pd.DataFrame({c: pd.Series(dtype=object) for c in LABEL_COLUMNS})


# --------------------------------------------------------------------------- Excel

def _read_workbook(path: Path) -> RawExport:
    wb = open_workbook(path, _WORKBOOK_HINT)
    try:
        names = list(wb.sheetnames)
        dataset_sheets = [n for n in names if n.strip().lower().startswith("dataset")]

        def find(want: str) -> str:
            for n in names:
                if n.strip().lower() == want.lower():
                    return n
            raise RelcoordError(
                f"the workbook has no {want!r} sheet (sheets present: "
                f"{', '.join(repr(n) for n in names) or 'none'})", file=str(path),
                hint="a SurveyXact Excel export has the sheets Dataset, Structure and Labels; "
                     "export the survey again from SurveyXact, or restore/rename the sheet")

        if not dataset_sheets:
            find("Dataset")   # raises with the list of sheets
        structure_name = find("Structure")
        labels_name = find("Labels")
        _refuse_hidden(wb, path, dataset_sheets + [structure_name, labels_name])

        try:
            data = _read_dataset_sheets(wb, path, dataset_sheets)
            st_rows = sheet_rows(wb[structure_name])
            lb_rows = sheet_rows(wb[labels_name])
            stop_on_formulas(formulas_without_value(wb[structure_name]), f"{path}:{structure_name}",
                             "the Structure sheet")
            stop_on_formulas(formulas_without_value(wb[labels_name]), f"{path}:{labels_name}", "the Labels sheet")
        except RelcoordError:
            raise
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError, SyntaxError, zlib.error,
                AttributeError, IndexError) as exc:
            raise RelcoordError(f"cannot read the Excel workbook: {exc}", file=str(path),
                                hint="the workbook looks damaged; export the survey from "
                                     "SurveyXact again") from None
    finally:
        try:
            wb.close()
        except Exception:  # pragma: no cover - closing must never mask the real error
            pass

    structure = _structure_frame(st_rows, f"{path}:{structure_name}", row_offset=1)
    labels = _labels_frame(lb_rows, f"{path}:{labels_name}")
    first = f"{path}:{dataset_sheets[0]}"
    return RawExport(
        data=data,
        source_file=pd.Series([first] * len(data), index=data.index, dtype=object,
                              name="source_file"),
        source_row=pd.Series(range(2, len(data) + 2), index=data.index, dtype="int64",
                             name="source_row"),
        structure=structure,
        labels=labels,
        files=[path],
        format="surveyxact-xlsx",
        encoding=None,
        delimiter=None,
        column_files=data.attrs.pop("column_files", {}),
        problems=problems_frame(data.attrs.pop("problems", [])),
    )


def _refuse_hidden(wb, path: Path, names: list[str]) -> None:
    """Never read a hidden sheet: a Dataset, Structure or Labels sheet that is hidden stops."""
    hidden = [n for n in names if not sheet_visible(wb[n])]
    if hidden:
        visible = [n for n in wb.sheetnames if sheet_visible(wb[n])]
        raise RelcoordError(
            f"the workbook's sheet(s) {', '.join(repr(n) for n in hidden)} are hidden (visible sheets: "
            f"{', '.join(repr(n) for n in visible) or 'none'}); relcoord does not read hidden sheets, and "
            "without them the export is incomplete", file=str(path),
            hint="in Excel, right-click a sheet tab > Unhide, and save the workbook if the hidden sheets belong "
                 "to the export (or delete them if they do not); or export the survey from SurveyXact again")


def _read_dataset_sheets(wb, path: Path, sheet_names: list[str]) -> pd.DataFrame:
    parts: list[tuple[str, list[str], list[list[str]]]] = []
    problems: list[dict] = []
    for name in sheet_names:
        where = f"{path}:{name}"
        rows = sheet_rows(wb[name])
        formulas = formulas_without_value(wb[name])
        if formulas:
            stop_on_formulas(formulas, where, f"the header row of sheet {name!r}", rows=range(1, 2))
            for (r, c), text in formulas.items():   # keep the text for now, so the record and column survive
                rows.extend([] for _ in range(r - len(rows)))
                cells = rows[r - 1]
                if not isinstance(cells, list):
                    cells = rows[r - 1] = list(cells)
                cells.extend([""] * (c + 1 - len(cells)))
                cells[c] = text
        while rows and not any(rows[-1]):
            rows.pop()                       # fully-empty trailing rows
        if not rows:
            if name == sheet_names[0] or len(sheet_names) == 1:
                raise RelcoordError(
                    "the Dataset sheet is empty", file=where,
                    hint="export the survey again from SurveyXact; the Dataset sheet must "
                         "hold a header row and one row per respondent")
            continue
        rows = pad_rows(rows)   # rectangular, as wide as the data (never the sheet's declared width)
        header, body = list(rows[0]), rows[1:]
        # Columns without a name and without values (formatting residue): drop.
        while header and header[-1] == "" and not any(r[len(header) - 1] for r in body):
            header.pop()
        body = [r[:len(header)] for r in body]
        check_header(header, where, 1, _HEADER_HINT, spaces_are_blank=False)
        parts.append((where, header, body))
        problems += formula_problems(formulas, header, 2, where, len(body))
        for r, c in formulas:   # a formula without a saved value reads as blank, and is reported (quarantined)
            if 0 <= r - 2 < len(body) and c < len(header):
                body[r - 2][c] = ""

    n_rows = max(len(b) for _, _, b in parts)
    if n_rows == 0:
        raise RelcoordError(
            "the Dataset sheet has a header but no respondent rows", file=parts[0][0],
            hint="check that the export is from the right survey and that it has responses; "
                 "export it again from SurveyXact")

    columns: list[str] = []
    data: dict[str, list[str]] = {}
    origin: dict[str, str] = {}
    for where, header, body in parts:
        body = body + [[""] * len(header)] * (n_rows - len(body))
        for j, name in enumerate(header):
            values = [r[j] for r in body]
            if name in data:
                if data[name] != values:
                    bad = next(i for i, (a, b) in enumerate(zip(data[name], values)) if a != b)
                    raise RelcoordError(
                        f"column {name!r} appears in {origin[name]} and in this sheet with "
                        f"different values (first difference in row {bad + 2}: "
                        f"{data[name][bad]!r} vs {values[bad]!r}), so the rows of the "
                        "Dataset sheets do not line up", file=where, row=bad + 2, column=name,
                        hint="the Dataset sheets must hold the same respondents in the same "
                             "order; do not sort or delete rows in one sheet only -- export "
                             "the survey from SurveyXact again")
                continue
            columns.append(name)
            data[name] = values
            origin[name] = where
    df = pd.DataFrame({c: data[c] for c in columns}, columns=columns, dtype=object)
    df.attrs["column_files"] = origin
    df.attrs["problems"] = problems
    return df
