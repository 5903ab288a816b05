"""Shared plumbing for the text-based readers (Qualtrics, LimeSurvey, generic
CSV, canonical long CSV): decoding, delimiter detection, strict CSV parsing
into strings, header checks and a synthesised question structure.

Every problem a user can fix is a :class:`RelcoordError` naming the file, the
row (as a spreadsheet user counts: the first line is row 1) and the column,
with a hint that fits the export's vendor.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from relcoord.errors import RelcoordError
from relcoord.readers._limits import check_regular_file, check_workbook, pad_rows
from relcoord.readers.surveyxact import (STRUCTURE_COLUMNS, _cell_text, _check_delimiter_option,
                                         _check_encoding_option, _delim_name, _detect_encoding,
                                         _sheet_rows, _sniff_delimiter, _spreadsheet_column)

__all__ = ["read_bytes", "decode", "parse_csv", "split_header", "check_header", "structure_frame",
           "sniff_kind", "read_sheet", "encoding_option", "delimiter_option", "open_workbook", "sheet_rows",
           "rows_to_frame", "file_series", "truncated_last_row", "problems_frame", "cell_text", "spreadsheet_column", "delim_name", "sniff_delimiter"]

encoding_option = _check_encoding_option
delimiter_option = _check_delimiter_option
cell_text = _cell_text
sheet_rows = _sheet_rows
spreadsheet_column = _spreadsheet_column
delim_name = _delim_name
sniff_delimiter = _sniff_delimiter

_EXPECTED_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_RE = re.compile(r"EOF inside string starting at row (\d+)")
_EIGHT_BIT = {"latin-1", "iso8859-1", "cp1252", "iso8859-15", "cp850", "mac-roman"}


def read_bytes(path: Path) -> bytes:
    check_regular_file(path)
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise RelcoordError("this is a folder, not a file", file=str(path),
                            hint="point the round's `export:` at the export file itself") from None
    except OSError as exc:
        raise RelcoordError(f"cannot read the file: {exc.strerror or exc}", file=str(path),
                            hint="check that the file exists and is readable") from None


def sniff_kind(raw: bytes) -> str | None:
    """What a file obviously is, from its first bytes: 'zip' (xlsx, docx, ...),
    'sav', 'xls', 'pdf', 'gzip' or None (probably text)."""
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"PK\x05\x06"):
        return "zip"
    if raw.startswith((b"$FL2", b"$FL3")):
        return "sav"
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if raw.startswith(b"%PDF"):
        return "pdf"
    if raw.startswith(b"\x1f\x8b"):
        return "gzip"
    return None


_KIND_TEXT = {"zip": "an Excel workbook or another zip archive", "sav": "an SPSS .sav file",
              "xls": "an old-style Excel .xls (or other OLE) file", "pdf": "a PDF document",
              "gzip": "a gzip-compressed file"}


def refuse_binary(raw: bytes, file: str, expected: str, hint: str) -> None:
    kind = sniff_kind(raw)
    if kind is not None:
        raise RelcoordError(f"this is {_KIND_TEXT[kind]}, not {expected}", file=file, hint=hint)


def decode(path: Path, forced: str | None, hint: str, raw: bytes | None = None) -> tuple[str, str]:
    """Decode a text file: the forced encoding, or one detected from the bytes
    (byte-order marks, UTF-16 without BOM, UTF-8, else cp1252/latin-1).

    Stops on bytes that do not decode, on NUL characters, and when an 8-bit
    encoding is forced on a file that is valid UTF-8 with non-ASCII text (the
    Danish letters would silently turn into "Ã¦", "Ã¸", "Ã¥")."""
    raw = read_bytes(path) if raw is None else raw
    file = str(path)
    enc = forced or _detect_encoding(raw)
    if forced and codecs.lookup(forced).name in _EIGHT_BIT and not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise RelcoordError(
                f"the reader options say the file is {forced}, but it is UTF-8: read as {forced}, "
                "letters such as æ, ø, å would come out as Ã¦, Ã¸, Ã¥", file=file,
                hint="set `reader: {encoding: utf-8}` (or `auto`) in the round's config")
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        how = "as set in the reader options" if forced else "as detected"
        if exc.end >= len(raw) and "truncated" in str(exc.reason):
            raise RelcoordError(
                f"cannot decode the file as {enc} ({how}): it ends in the middle of a character "
                f"({len(raw)} bytes), so it is not {enc} or it was cut off", file=file, hint=hint) from None
        line = raw[:exc.start].decode(enc, errors="replace").count("\n") + 1
        bad = raw[exc.start:min(exc.end, exc.start + 4)].hex(" ")
        raise RelcoordError(
            f"cannot decode the file as {enc} ({how}): bytes {bad} at byte offset {exc.start} "
            f"({exc.reason})", file=file, row=line, hint=hint) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        pos = text.index("\x00")
        raise RelcoordError(
            f"the file contains NUL characters when decoded as {enc} (first at character {pos}): the "
            "encoding is probably wrong, or the file is not text / is damaged", file=file,
            row=text.count("\n", 0, pos) + 1, hint=hint)
    return text, enc


def parse_csv(text: str, delim: str, file: str, hint: str) -> pd.DataFrame:
    """Parse CSV text into a frame of strings (no header interpretation; blank
    cells and the missing fields of short rows are ""). Stops on a row with
    more fields than the first one and on an unterminated quote."""
    if not text.strip():
        raise RelcoordError("the file is empty", file=file, hint=hint)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delim, header=None, dtype=str, keep_default_na=False, na_filter=False,
            engine="c", skip_blank_lines=False, quotechar='"', doublequote=True, escapechar=None,
            comment=None, skipinitialspace=False, quoting=csv.QUOTE_MINIMAL, index_col=False,
            low_memory=False)
    except pd.errors.EmptyDataError:
        raise RelcoordError("the file is empty", file=file, hint=hint) from None
    except pd.errors.ParserError as exc:
        raise _parse_error(str(exc), delim, file, hint) from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise RelcoordError(f"cannot parse the file as {_delim_name(delim)}-separated CSV: {exc}", file=file,
                            hint=hint) from None
    return frame


def _parse_error(message: str, delim: str, file: str, hint: str) -> RelcoordError:
    m = _EXPECTED_RE.search(message)
    if m:
        expected, line, saw = (int(g) for g in m.groups())
        return RelcoordError(
            f"this row has {saw} fields but the header has {expected} ({_delim_name(delim)}-separated)",
            file=file, row=line,
            hint=f"a value in row {line} probably contains the delimiter {delim!r} without quotes, or the "
                 f"row was edited by hand; fix the row, or set `reader: {{delimiter: ...}}` if the delimiter "
                 f"was guessed wrongly. {_then(hint)}")
    m = _EOF_RE.search(message)
    if m:
        row = int(m.group(1)) + 1
        return RelcoordError(
            "a quoted value that starts in this row is never closed (the file ends inside quotes; "
            "perhaps it was cut off)", file=file, row=row,
            hint=f'look for an unmatched double quote (") in row {row}; values holding quotes must double '
                 f'them (""). {_then(hint)}')
    return RelcoordError(f"cannot parse the file as {_delim_name(delim)}-separated CSV: {message.strip()}",
                         file=file, hint=hint)


def check_delimiter(text: str, delim: str, forced: bool, file: str) -> None:
    """A declared delimiter that does not occur in the header row while another
    one does: say so rather than read every line as one column."""
    from relcoord.readers.surveyxact import _header_line
    head = _header_line(text)
    if not forced or delim in head:
        return
    sniffed = _sniff_delimiter(text)
    if sniffed != delim and sniffed in head:
        raise RelcoordError(
            f"the reader options say the file is {_delim_name(delim)}-separated, but its header row has no "
            f"{delim!r}; it looks {_delim_name(sniffed)}-separated", file=file, row=1,
            hint=f"set `reader: {{delimiter: {'tab' if sniffed == chr(9) else repr(sniffed)}}}` or `auto` in the "
                 "round's config")


def _then(hint: str) -> str:
    return hint[:1].upper() + hint[1:] if hint else ""


def check_header(header: list[str], file: str, row: int, hint: str) -> None:
    """Every column needs a name, and a name may occur once."""
    if not any(h.strip() for h in header):
        raise RelcoordError(f"the header row (row {row}) is empty", file=file, row=row,
                            hint=f"the header row must hold the column names; delete blank rows above it. {_then(hint)}")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name.strip() == "":
            raise RelcoordError(
                f"column {i + 1} ({_spreadsheet_column(i)}) has no name in the header row, but the file has "
                "values or further columns after it", file=file, row=row,
                hint=f"give the column its name or delete it. {_then(hint)}")
        if name in seen:
            j = seen[name]
            raise RelcoordError(
                f"the column name {name!r} appears twice in the header: column {j + 1} "
                f"({_spreadsheet_column(j)}) and column {i + 1} ({_spreadsheet_column(i)})",
                file=file, row=row, column=name,
                hint=f"every column must have its own name; rename or delete one of them. {_then(hint)}")
        seen[name] = i


def split_header(frame: pd.DataFrame, n_header: int, file: str, hint: str, *, first_row: int = 1,
                 what: str = "respondent") -> tuple[list[list[str]], pd.DataFrame, pd.Series]:
    """Split a parsed frame into ``n_header`` header rows and the records.

    The first header row names the columns. A trailing column without a name
    and without values (a trailing delimiter) is dropped; trailing blank
    records are dropped. ``first_row`` is the spreadsheet row of the frame's
    first line. Returns (header rows, records with named columns, source rows)."""
    if frame.shape[0] < n_header:
        raise RelcoordError(
            f"the file has {frame.shape[0]} row(s) but this layout needs {n_header} header row(s)",
            file=file, hint=hint)
    headers = [[str(v) for v in frame.iloc[i].tolist()] for i in range(n_header)]
    body = frame.iloc[n_header:].reset_index(drop=True)
    body.columns = range(body.shape[1])
    names = headers[0]
    while len(names) > 1 and names[-1].strip() == "" and (body.shape[0] == 0 or not body.iloc[:, -1].astype(bool).any()):
        names.pop()
        for h in headers[1:]:
            h.pop()
        body = body.iloc[:, :-1]
    check_header(names, file, first_row, hint)
    body.columns = names
    values = body.to_numpy(dtype=object, copy=False)
    end = body.shape[0]
    while end > 0 and not any(values[end - 1]):
        end -= 1
    body = body.iloc[:end]
    if body.shape[0] == 0:
        raise RelcoordError(f"the file has a header but no {what} rows", file=file,
                            hint=f"check that this is the right export and that it has responses. {_then(hint)}")
    source_row = pd.Series(np.arange(first_row + n_header, first_row + n_header + body.shape[0]),
                           index=body.index, dtype="int64", name="source_row")
    return headers, body, source_row


def structure_frame(names: list[str], question_of, texts: list[str] | None = None,
                    choices: list[str] | None = None) -> pd.DataFrame:
    """A SurveyXact-style structure table synthesised from column names (and
    question texts, e.g. Qualtrics' second header row)."""
    texts = texts if texts is not None else [""] * len(names)
    choices = choices if choices is not None else [""] * len(names)
    rows = [[question_of(n), n, "", "", t, "", c] for n, t, c in zip(names, texts, choices)]
    return pd.DataFrame(rows, columns=STRUCTURE_COLUMNS, dtype=object)


def open_workbook(path: Path, hint: str):
    import openpyxl
    check_workbook(path, hint)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except zipfile.BadZipFile:
        raise RelcoordError("the file is not an Excel .xlsx workbook (it is not a zip archive; perhaps a CSV "
                            "or .xls file renamed to .xlsx)", file=str(path), hint=hint) from None
    except Exception as exc:  # noqa: BLE001 - a damaged workbook fails in many ways inside openpyxl / zlib / XML
        raise RelcoordError(f"cannot open the Excel workbook ({type(exc).__name__}: {exc})", file=str(path),
                            hint=hint) from None


def read_sheet(wb, name: str, where: str, hint: str) -> list[list[str]]:
    """All rows of one sheet as text. A damaged sheet (broken XML, a bad zip member) is one clear stop."""
    try:
        return sheet_rows(wb[name])
    except RelcoordError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl / zlib / XML errors of a damaged workbook
        raise RelcoordError(f"cannot read the sheet ({type(exc).__name__}: {exc}); the workbook looks damaged",
                            file=where, hint=hint) from None


def truncated_last_row(text: str, delim: str, width: int, index: int, *, file: str | None = None,
                       row: int | None = None) -> list[dict]:
    """A reader problem (warning ``truncated_row``) for the last record when the file does not end
    with a line break and its last line has fewer fields than the header: the signature of a file
    cut off in the middle of a row. (Writers that omit trailing empty fields still end the file with
    a line break, so they are not flagged.)"""
    if not text or text[-1] in "\r\n" or width <= 1:
        return []
    start = max(text.rfind("\n"), text.rfind("\r")) + 1
    try:
        n = len(next(csv.reader([text[start:]], delimiter=delim), []))
    except csv.Error:
        return []
    if n >= width:
        return []
    return [dict(index=index, rule="truncated_row", column="", value=f"{n} of {width}", message="",
                 source_file=file, source_row=row)]


def problems_frame(problems: list[dict]) -> pd.DataFrame | None:
    cols = ["index", "rule", "column", "value", "message", "source_file", "source_row"]
    return pd.DataFrame(problems, columns=cols) if problems else None


def file_series(index, file: str) -> pd.Series:
    """The per-row source_file series of a one-file export."""
    return pd.Series([file] * len(index), index=index, dtype=object, name="source_file")


def rows_to_frame(rows: list[list[str]]) -> pd.DataFrame:
    """Ragged rows of text -> a rectangular frame of strings."""
    return pd.DataFrame(pad_rows(rows), dtype=object) if rows else pd.DataFrame()   # as wide as the data
