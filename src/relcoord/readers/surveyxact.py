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

import codecs
import csv
import datetime as _dt
import io
import re
import zipfile
import zlib
from pathlib import Path

import pandas as pd

from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers._limits import check_regular_file, check_workbook, pad_rows
from relcoord.readers._xlsx import formula_problems, formulas_without_value, sheet_visible, stop_on_formulas

__all__ = ["read_surveyxact", "STRUCTURE_COLUMNS", "LABEL_COLUMNS"]

STRUCTURE_COLUMNS = ["questionName", "variableName", "questionType", "subType",
                     "questionText", "choiceValue", "choiceText"]
LABEL_COLUMNS = ["variable", "value", "label"]
_TRIO = ("dataset.csv", "structure.csv", "labels.csv")
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
_ENCODING_HINT = (
    "set `reader: {encoding: ...}` in the round's config to the file's encoding "
    "(SurveyXact writes comma- and semicolon-separated CSV as cp1252/latin-1 and "
    "tab-separated CSV as utf-16), or leave it at `auto`; or re-export the survey "
    "from SurveyXact")


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
    enc_opt = _check_encoding_option(encoding)
    delim_opt = _check_delimiter_option(delimiter)
    files = _find_trio(folder)
    ds_path, st_path, lb_path = files

    ds_text, ds_enc = _decode(ds_path, enc_opt)
    ds_delim = delim_opt or _sniff_delimiter(ds_text)
    data, source_row = _parse_dataset_csv(ds_text, ds_delim, ds_path)

    st_text, _ = _decode(st_path, enc_opt)
    st_rows = _parse_small_csv(st_text, delim_opt or _sniff_delimiter(st_text), st_path)
    structure = _structure_frame(st_rows, st_path, row_offset=1)

    lb_text, _ = _decode(lb_path, enc_opt)
    lb_rows = _parse_small_csv(lb_text, delim_opt or _sniff_delimiter(lb_text), lb_path)
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


def _check_encoding_option(encoding: str | None) -> str | None:
    if encoding is None or str(encoding).strip().lower() in ("", "auto"):
        return None
    try:
        return codecs.lookup(str(encoding).strip()).name
    except LookupError:
        raise RelcoordError(
            f"unknown encoding {encoding!r} in the reader options",
            hint="use `auto`, or an encoding name such as cp1252, latin-1, utf-8, "
                 "utf-8-sig or utf-16 in `reader: {encoding: ...}`") from None


def _check_delimiter_option(delimiter: str | None) -> str | None:
    if delimiter is None or delimiter == "auto" or delimiter == "":
        return None
    d = _DELIMITER_NAMES.get(str(delimiter).strip().lower(), delimiter)
    if len(d) != 1 or d in ('"', "\r", "\n"):
        raise RelcoordError(
            f"unusable delimiter {delimiter!r} in the reader options",
            hint="use `auto`, or one character: ',', ';' or a tab ('\\t' or 'tab')")
    return d


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


def _read_bytes(path: Path) -> bytes:
    check_regular_file(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RelcoordError(f"cannot read the file: {exc.strerror or exc}", file=str(path),
                            hint="check that the file exists and is readable") from None


def _detect_encoding(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # UTF-16 without a byte-order mark: ASCII text has every other byte zero.
    head = raw[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        odd_zero = head[1::2].count(0)
        even_zero = head[0::2].count(0)
        if odd_zero >= len(head) // 4 and even_zero == 0:
            return "utf-16-le"
        if even_zero >= len(head) // 4 and odd_zero == 0:
            return "utf-16-be"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"   # decodes any byte


def _decode(path: Path, forced: str | None) -> tuple[str, str]:
    raw = _read_bytes(path)
    enc = forced or _detect_encoding(raw)
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        how = "as set in the reader options" if forced else "as detected"
        if exc.end >= len(raw) and "truncated" in str(exc.reason):
            # e.g. an 8-bit file read as utf-16: it ends inside a character.
            raise RelcoordError(
                f"cannot decode the file as {enc} ({how}): it ends in the middle of a "
                f"character ({len(raw)} bytes), so it is not {enc}", file=str(path),
                hint=_ENCODING_HINT) from None
        line = raw[:exc.start].decode(enc, errors="replace").count("\n") + 1
        bad = raw[exc.start:min(exc.end, exc.start + 4)].hex(" ")
        raise RelcoordError(
            f"cannot decode the file as {enc} ({how}): bytes {bad} at byte offset "
            f"{exc.start} ({exc.reason})", file=str(path), row=line,
            hint=_ENCODING_HINT) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        pos = text.index("\x00")
        raise RelcoordError(
            f"the file contains NUL characters when decoded as {enc} (first at "
            f"character {pos}): the encoding is probably wrong, or the file is damaged",
            file=str(path), row=text.count("\n", 0, pos) + 1, hint=_ENCODING_HINT)
    return text, enc


def _header_line(text: str, limit: int = 1 << 20) -> str:
    """The first record of ``text`` (quoted line breaks kept), at most ``limit`` chars."""
    in_quotes = False
    for i, ch in enumerate(text[:limit]):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch in "\r\n" and not in_quotes:
            return text[:i]
    return text[:limit]


def _sniff_delimiter(text: str) -> str:
    counts = {"\t": 0, ";": 0, ",": 0}
    in_quotes = False
    for ch in _header_line(text):
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])   # ties: tab, then ';', then ','
    return best if counts[best] else ","


def _spreadsheet_column(index: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> 'A', 26 -> 'AA')."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _check_header(header: list[str], file: str) -> None:
    if not any(h.strip() for h in header):
        raise RelcoordError(
            "the header row (row 1) is empty", file=file, row=1,
            hint="the first row must hold the variable names (v_1_1, s_2, ...); "
                 "delete blank rows above it or re-export the survey from SurveyXact")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name == "":
            raise RelcoordError(
                f"column {i + 1} ({_spreadsheet_column(i)}) has no name in the header row, "
                "but the file has values or further columns after it", file=file, row=1,
                hint="give the column its variable name or delete the column, or re-export "
                     "the survey from SurveyXact")
        if name in seen:
            j = seen[name]
            raise RelcoordError(
                f"the column name {name!r} appears twice in the header: column {j + 1} "
                f"({_spreadsheet_column(j)}) and column {i + 1} ({_spreadsheet_column(i)})",
                file=file, row=1, column=name,
                hint="every column must have its own name; rename or delete one of them, "
                     "or re-export the survey from SurveyXact")
        seen[name] = i


_EXPECTED_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_RE = re.compile(r"EOF inside string starting at row (\d+)")


def _parse_dataset_csv(text: str, delim: str, path: Path) -> tuple[pd.DataFrame, pd.Series]:
    file = str(path)
    if not text.strip():
        raise RelcoordError(
            "the dataset file is empty", file=file,
            hint="export the survey again from SurveyXact; dataset.csv must hold a header "
                 "row and one row per respondent")
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delim, header=None, dtype=str, keep_default_na=False,
            na_filter=False, engine="c", skip_blank_lines=False, quotechar='"',
            doublequote=True, escapechar=None, comment=None, skipinitialspace=False,
            quoting=csv.QUOTE_MINIMAL, index_col=False, low_memory=False)
    except pd.errors.EmptyDataError:
        raise RelcoordError(
            "the dataset file is empty", file=file,
            hint="export the survey again from SurveyXact; dataset.csv must hold a header "
                 "row and one row per respondent") from None
    except pd.errors.ParserError as exc:
        raise _parse_error(str(exc), delim, file) from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise RelcoordError(
            f"cannot parse the file as {_delim_name(delim)}-separated CSV: {exc}",
            file=file,
            hint="check that the file is a CSV export from SurveyXact, or set "
                 "`reader: {delimiter: ...}` / `reader: {encoding: ...}` in the round's config"
        ) from None

    header = [("" if v is None or v != v else str(v)) for v in frame.iloc[0].tolist()]
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = range(body.shape[1])
    # With na_filter=False the C parser gives "" for blanks and for the missing
    # fields of short rows (padding); no NaN can occur, so no costly fillna.
    # A trailing delimiter on every line gives a last column with no name and no values.
    while len(header) > 1 and header[-1] == "" and (body.shape[0] == 0 or
                                                     not body.iloc[:, -1].astype(bool).any()):
        header.pop()
        body = body.iloc[:, :-1]
    _check_header(header, file)
    body.columns = header
    body = _drop_trailing_empty_rows(body)
    if body.shape[0] == 0:
        raise RelcoordError(
            "the dataset has a header but no respondent rows", file=file,
            hint="check that the export is from the right survey and that it has "
                 "responses; export it again from SurveyXact")
    source_row = pd.Series(range(2, body.shape[0] + 2), index=body.index, dtype="int64",
                           name="source_row")
    return body, source_row


def _delim_name(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}.get(d, repr(d))


def _parse_error(message: str, delim: str, file: str) -> RelcoordError:
    m = _EXPECTED_RE.search(message)
    if m:
        expected, line, saw = (int(g) for g in m.groups())
        return RelcoordError(
            f"this row has {saw} fields but the header has {expected} "
            f"({_delim_name(delim)}-separated)", file=file, row=line,
            hint=f"a value in row {line} probably contains the delimiter "
                 f"{delim!r} without quotes, or the row was edited by hand; fix the row or "
                 "re-export the survey from SurveyXact (if the delimiter was guessed wrongly, "
                 "set `reader: {delimiter: ...}` in the round's config)")
    m = _EOF_RE.search(message)
    if m:
        row = int(m.group(1)) + 1
        return RelcoordError(
            "a quoted value that starts in this row is never closed (the file ends "
            "inside quotes)", file=file, row=row,
            hint=f'look for an unmatched double quote (") in row {row}; values holding '
                 'quotes must double them ("") -- or re-export the survey from SurveyXact')
    return RelcoordError(
        f"cannot parse the file as {_delim_name(delim)}-separated CSV: "
        f"{message.strip()}", file=file,
        hint="check that the file is a CSV export from SurveyXact, or set "
             "`reader: {delimiter: ...}` / `reader: {encoding: ...}` in the round's config")


def _drop_trailing_empty_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Drop rows at the end in which every cell is blank (usually none or a few)."""
    end = df.shape[0]
    values = df.to_numpy(dtype=object, copy=False)
    while end > 0 and not any(values[end - 1]):
        end -= 1
    return df if end == df.shape[0] else df.iloc[:end]


def _parse_small_csv(text: str, delim: str, path: Path) -> list[list[str]]:
    """Parse structure.csv / labels.csv (small) with the csv module: ragged rows OK."""
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delim,
                               quotechar='"', doublequote=True, strict=False))
    except csv.Error as exc:
        raise RelcoordError(
            f"cannot parse the file as {_delim_name(delim)}-separated CSV: {exc}",
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

def _cell_text(v) -> str:
    """An Excel cell value as the text a person sees in the cell."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return str(v)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return format(v, ".15g")
    if isinstance(v, _dt.datetime):
        if v.time() == _dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return str(v)
    return str(v)


def _sheet_rows(ws) -> list[list[str]]:
    """All rows of a read-only worksheet as lists of text, ragged (not padded)."""
    try:
        ws.reset_dimensions()   # do not trust a stale <dimension> tag
    except AttributeError:
        pass
    conv = _cell_text
    return [[conv(v) for v in row] for row in ws.iter_rows(values_only=True)]


def _open_workbook(path: Path):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
    hint = ("export the survey from SurveyXact as Excel (.xlsx) again, or open the file in "
            "Excel and save it as .xlsx; a CSV export must be a folder with dataset.csv, "
            "structure.csv and labels.csv")
    check_workbook(path, hint)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except zipfile.BadZipFile:
        raise RelcoordError("the file is not an Excel .xlsx workbook (it is not a zip "
                            "archive; perhaps a CSV or .xls file renamed to .xlsx)",
                            file=str(path), hint=hint) from None
    except (InvalidFileException, KeyError, ValueError, TypeError, OSError, EOFError, SyntaxError, zlib.error,
            AttributeError, IndexError) as exc:  # SyntaxError: broken XML inside a damaged workbook
        raise RelcoordError(f"cannot open the Excel workbook: {exc}", file=str(path),
                            hint=hint) from None


def _read_workbook(path: Path) -> RawExport:
    wb = _open_workbook(path)
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
            st_rows = _sheet_rows(wb[structure_name])
            lb_rows = _sheet_rows(wb[labels_name])
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
        problems=_problems_frame(data.attrs.pop("problems", [])),
    )


def _problems_frame(problems: list[dict]) -> pd.DataFrame | None:
    cols = ["index", "rule", "column", "value", "message", "source_file", "source_row"]
    return pd.DataFrame(problems, columns=cols) if problems else None


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
        rows = _sheet_rows(wb[name])
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
        _check_header(header, where)
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
