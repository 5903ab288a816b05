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
import datetime as _dt
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from relcoord.errors import RelcoordError
from relcoord.readers._limits import check_regular_file, pad_rows
from relcoord.readers._workbook import open_workbook   # calamine where it reads as openpyxl, else openpyxl

__all__ = ["STRUCTURE_COLUMNS", "read_bytes", "detect_encoding", "decode", "parse_csv", "split_header",
           "check_header", "structure_frame", "sniff_kind", "refuse_binary", "read_sheet", "encoding_option",
           "delimiter_option", "open_workbook", "sheet_rows", "rows_to_frame", "file_series", "truncated_last_row",
           "problems_frame", "cell_text", "spreadsheet_column", "delim_name", "header_line", "sniff_delimiter",
           "check_delimiter"]

#: The columns of the question-structure table every reader returns (SurveyXact's own layout).
STRUCTURE_COLUMNS = ["questionName", "variableName", "questionType", "subType",
                     "questionText", "choiceValue", "choiceText"]
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}

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


def encoding_option(encoding: str | None) -> str | None:
    """The ``reader: {encoding: ...}`` option as a codec name, or None for ``auto``."""
    if encoding is None or str(encoding).strip().lower() in ("", "auto"):
        return None
    try:
        return codecs.lookup(str(encoding).strip()).name
    except LookupError:
        raise RelcoordError(
            f"unknown encoding {encoding!r} in the reader options",
            hint="use `auto`, or an encoding name such as cp1252, latin-1, utf-8, "
                 "utf-8-sig or utf-16 in `reader: {encoding: ...}`") from None


def delimiter_option(delimiter: str | None) -> str | None:
    """The ``reader: {delimiter: ...}`` option as one character, or None for ``auto``."""
    if delimiter is None or delimiter == "auto" or delimiter == "":
        return None
    d = _DELIMITER_NAMES.get(str(delimiter).strip().lower(), delimiter)
    if len(d) != 1 or d in ('"', "\r", "\n"):
        raise RelcoordError(
            f"unusable delimiter {delimiter!r} in the reader options",
            hint="use `auto`, or one character: ',', ';' or a tab ('\\t' or 'tab')")
    return d


def detect_encoding(raw: bytes) -> str:
    """The encoding of a text file from its bytes: a byte-order mark, UTF-16 without one (ASCII
    text has every other byte zero), UTF-8, else cp1252, else latin-1 (which decodes any byte)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    head = raw[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        odd_zero = head[1::2].count(0)
        even_zero = head[0::2].count(0)
        if odd_zero >= len(head) // 4 and even_zero == 0:
            return "utf-16-le"
        if even_zero >= len(head) // 4 and odd_zero == 0:
            return "utf-16-be"
    for enc in ("utf-8", "cp1252"):
        try:
            raw.decode(enc)
            return enc
        except UnicodeDecodeError:
            pass
    return "latin-1"


def header_line(text: str, limit: int = 1 << 20) -> str:
    """The first record of ``text`` (quoted line breaks kept), at most ``limit`` chars."""
    in_quotes = False
    for i, ch in enumerate(text[:limit]):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch in "\r\n" and not in_quotes:
            return text[:i]
    return text[:limit]


def sniff_delimiter(text: str) -> str:
    """The delimiter occurring most often outside quotes in the header record (ties: tab, then ';',
    then ','); ',' when none occurs."""
    counts = {"\t": 0, ";": 0, ",": 0}
    in_quotes = False
    for ch in header_line(text):
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def delim_name(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}.get(d, repr(d))


def spreadsheet_column(index: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> 'A', 26 -> 'AA')."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def decode(path: Path, forced: str | None, hint: str, raw: bytes | None = None, *,
           refuse_utf8_as_8bit: bool = True) -> tuple[str, str]:
    """Decode a text file: the forced encoding, or one detected from the bytes
    (:func:`detect_encoding`).

    Stops on bytes that do not decode, on NUL characters, and (unless
    ``refuse_utf8_as_8bit`` is false) when an 8-bit encoding is forced on a file
    that is valid UTF-8 with non-ASCII text (the Danish letters would silently
    turn into "Ã¦", "Ã¸", "Ã¥")."""
    raw = read_bytes(path) if raw is None else raw
    file = str(path)
    enc = forced or detect_encoding(raw)
    if refuse_utf8_as_8bit and forced and codecs.lookup(forced).name in _EIGHT_BIT and not raw.isascii():
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
        raise RelcoordError(f"cannot parse the file as {delim_name(delim)}-separated CSV: {exc}", file=file,
                            hint=hint) from None
    return frame


def _parse_error(message: str, delim: str, file: str, hint: str) -> RelcoordError:
    m = _EXPECTED_RE.search(message)
    if m:
        expected, line, saw = (int(g) for g in m.groups())
        return RelcoordError(
            f"this row has {saw} fields but the header has {expected} ({delim_name(delim)}-separated)",
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
    return RelcoordError(f"cannot parse the file as {delim_name(delim)}-separated CSV: {message.strip()}",
                         file=file, hint=hint)


def check_delimiter(text: str, delim: str, forced: bool, file: str) -> None:
    """A declared delimiter that does not occur in the header row while another
    one does: say so rather than read every line as one column."""
    head = header_line(text)
    if not forced or delim in head:
        return
    sniffed = sniff_delimiter(text)
    if sniffed != delim and sniffed in head:
        raise RelcoordError(
            f"the reader options say the file is {delim_name(delim)}-separated, but its header row has no "
            f"{delim!r}; it looks {delim_name(sniffed)}-separated", file=file, row=1,
            hint=f"set `reader: {{delimiter: {'tab' if sniffed == chr(9) else repr(sniffed)}}}` or `auto` in the "
                 "round's config")


def _then(hint: str) -> str:
    return hint[:1].upper() + hint[1:] if hint else ""


def check_header(header: list[str], file: str, row: int, hint: str, *, spaces_are_blank: bool = True) -> None:
    """Every column needs a name, and a name may occur once. A name of spaces only counts as no
    name unless ``spaces_are_blank`` is false (SurveyXact keeps such a name as it is)."""
    if not any(h.strip() for h in header):
        raise RelcoordError(f"the header row (row {row}) is empty", file=file, row=row,
                            hint="the header row must hold the column names; delete blank rows above it. "
                                 f"{_then(hint)}")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if (name.strip() if spaces_are_blank else name) == "":
            raise RelcoordError(
                f"column {i + 1} ({spreadsheet_column(i)}) has no name in the header row, but the file has "
                "values or further columns after it", file=file, row=row,
                hint=f"give the column its name or delete it. {_then(hint)}")
        if name in seen:
            j = seen[name]
            raise RelcoordError(
                f"the column name {name!r} appears twice in the header: column {j + 1} "
                f"({spreadsheet_column(j)}) and column {i + 1} ({spreadsheet_column(i)})",
                file=file, row=row, column=name,
                hint=f"every column must have its own name; rename or delete one of them. {_then(hint)}")
        seen[name] = i


def split_header(frame: pd.DataFrame, n_header: int, file: str, hint: str, *, first_row: int = 1,
                 what: str = "respondent", spaces_are_blank: bool = True,
                 ) -> tuple[list[list[str]], pd.DataFrame, pd.Series]:
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
    while (len(names) > 1 and (names[-1].strip() if spaces_are_blank else names[-1]) == ""
           and (body.shape[0] == 0 or not body.iloc[:, -1].astype(bool).any())):
        names.pop()
        for h in headers[1:]:
            h.pop()
        body = body.iloc[:, :-1]
    check_header(names, file, first_row, hint, spaces_are_blank=spaces_are_blank)
    body.columns = names
    end = body.shape[0]
    if all(dt == np.dtype(object) for dt in body.dtypes):
        values = body.to_numpy(dtype=object, copy=False)
        while end > 0 and not any(values[end - 1]):
            end -= 1
    else:   # categorical text cells: which rows hold a non-empty cell, from each column's codes
        filled = np.zeros(end, dtype=bool)
        for j in range(body.shape[1]):
            col = body.iloc[:, j]
            if isinstance(col.dtype, pd.CategoricalDtype):
                codes = col.cat.codes.to_numpy()
                truth = np.array([bool(c) for c in col.cat.categories] + [True], dtype=bool)
                filled |= truth[np.where(codes >= 0, codes, len(truth) - 1)]
            else:
                filled |= col.to_numpy(dtype=object).astype(bool)
        end = int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0
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


def cell_text(v) -> str:
    """An Excel (or SPSS) cell value as the text a person sees in the cell: ``3.0`` -> ``"3"``."""
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
    return str(v)


def sheet_rows(ws) -> list[list[str]]:
    """All rows of a read-only worksheet as lists of text, ragged (not padded)."""
    try:
        ws.reset_dimensions()   # do not trust a stale <dimension> tag
    except AttributeError:
        pass
    return [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]


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
