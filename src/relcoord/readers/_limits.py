"""Bounds on what an export file may make relcoord read.

An export is data from outside: a file that is not a regular file (a folder,
a named pipe, a device such as ``/dev/zero``) would make a reader block or
read forever, and a small workbook can unpack to gigabytes (a zip bomb), hold
millions of shared strings, or place one cell at the last row and column of a
sheet (``XFD1048576``) so that a reader padding rows to the sheet's width
builds a grid of 17 billion cells. Each of these stops here, within seconds,
with a :class:`RelcoordError` naming the file, what is wrong and what to do,
before openpyxl reads anything.

The limits (the constants below) are far beyond any real survey export: a
SurveyXact workbook of 10,000 respondents unpacks to about 36 MB at a
compression ratio of 10, with 10,001 rows and about 120 columns, and its
checks take under a second (reading it: about 4 s with python-calamine, 12 s with openpyxl). Every part of the
workbook is checked, including sheets relcoord does not read.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path

from relcoord.errors import RelcoordError

__all__ = ["check_regular_file", "check_workbook", "pad_rows", "MAX_FILE_BYTES", "MAX_UNCOMPRESSED_BYTES",
           "MAX_RATIO", "RATIO_MIN_BYTES", "MAX_ZIP_ENTRIES", "MAX_ROWS", "MAX_COLUMNS", "MAX_CELLS",
           "MAX_SHARED_STRINGS"]

#: An export file on disk (CSV/text, workbook or .sav): 2 GiB.
MAX_FILE_BYTES = 2 * 1024 ** 3
#: A workbook's parts together, unpacked: 2 GiB.
MAX_UNCOMPRESSED_BYTES = 2 * 1024 ** 3
#: Unpacked / packed size of one part, or of the whole workbook (real workbooks: 5-20) ...
MAX_RATIO = 200
#: ... checked for parts (and workbooks) that unpack to more than 1 MiB.
RATIO_MIN_BYTES = 1 << 20
#: Parts in the workbook's zip archive (a real workbook has 10-50).
MAX_ZIP_ENTRIES = 10_000
#: Rows of a sheet (Excel's own maximum is 1,048,576).
MAX_ROWS = 1_000_000
#: Columns of a sheet (Excel's own maximum is 16,384, column XFD).
MAX_COLUMNS = 20_000
#: Cells of a sheet's grid: rows x columns up to the last cell holding data, and the cells openpyxl
#: builds (each row as wide as its last cell). 50 million is 50,000 respondents x 1,000 columns.
MAX_CELLS = 50_000_000
#: Entries of the workbook's shared-strings table (openpyxl loads them all on opening).
MAX_SHARED_STRINGS = 5_000_000
#: One XML tag (a real one is under 1 kB).
MAX_TAG_BYTES = 1 << 20

_CHUNK = 1 << 22
_TOKEN = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])(?:[^<>]*?\sr\s*=\s*["\']([^"\'<>]*)["\'])?[^<>]*?(/?)>')
_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\s[^<>]*?ref\s*=\s*["\']([^"\'<>]*)["\']')
_CELLS = re.compile(rb'<c(?=[\s/>])(?: r="([A-Z]{1,7})\d)?')
_ROWS = re.compile(rb'<row(?=[\s/>])(?: r="(\d{1,15})")?')
_PREFIXED = re.compile(rb':(?:c|row)(?=[\s/>])')
_SI = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?si(?=[\s/>])')
_ROOT = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(?=[\s/>])')
_DTD = (b"<!DOCTYPE", b"<!ENTITY")
_DIGITS = b"0123456789"
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device (such as /dev/zero)"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))

_BOMB_HINT = ("this is not a workbook as Excel or a survey platform writes it (a small file that unpacks to a huge "
              "one is a 'zip bomb'); check that the round's `export:` names the right file, and export the survey "
              "again")


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)  # pragma: no cover


def check_regular_file(path: str | Path, hint: str | None = None, *, limit: int = MAX_FILE_BYTES) -> os.stat_result:
    """Stop unless ``path`` is a regular file of at most ``limit`` bytes (symbolic links are followed).

    Runs ``os.stat`` before anything opens the file: opening a named pipe blocks until someone writes to it,
    and a device such as ``/dev/zero`` never ends."""
    file = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise RelcoordError("the file does not exist", file=file,
                            hint="check the path in the round's config (or on the command line)") from None
    except OSError as exc:
        raise RelcoordError(f"cannot read the file: {exc.strerror or exc}", file=file,
                            hint="check that the file exists and that you may read it") from None
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise RelcoordError(f"this is {what}, not a regular file; relcoord reads only regular files", file=file,
                            hint=hint or "point the round's `export:` (or the command line) at the export file "
                                         "itself: a file saved on disk, not a folder, pipe or device")
    if st.st_size > limit:
        raise RelcoordError(
            f"the file is {_size(st.st_size)}, more than relcoord reads ({_size(limit)}); no survey export is "
            "this large", file=file,
            hint="check that the round's `export:` names the survey export and not another file")
    return st


def pad_rows(rows: list[list[str]]) -> list[list[str]]:
    """Ragged rows -> rectangular rows as wide as the last cell holding text in any row (trailing empty
    cells, e.g. formatting far to the right, are cut, never padded to the sheet's declared width)."""
    width = 0
    for r in rows:
        n = len(r)
        while n > width and not r[n - 1]:
            n -= 1
        if n > width:
            width = n
    return [list(r[:width]) + [""] * (width - len(r)) if len(r) < width else list(r[:width]) for r in rows]


# --------------------------------------------------------------------------- workbooks

def check_workbook(path: str | Path, hint: str) -> None:
    """Stop before openpyxl opens a workbook that would take too much memory or time to read.

    Checks, without unpacking anything into memory: the file is a regular file; the zip archive's parts
    (count, total unpacked size, compression ratio of each part and of the whole); then, streaming every
    part once: no DTD or entity declaration (real workbooks have none), the shared strings counted, and
    for every sheet its declared ``<dimension>``, its last row and column and the cells a reader builds,
    following openpyxl's rules for cells and rows without a reference. A file that is not a zip archive
    at all is left to the opener, which says so."""
    file = str(path)
    check_regular_file(path, hint)
    try:
        with open(path, "rb") as fh:
            try:
                end = zipfile._EndRecData(fh)   # the entry count, before zipfile builds one object per entry
            except (AttributeError, OSError):   # pragma: no cover - private API gone: count after opening
                end = None
            if end and end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ZIP_ENTRIES:
                raise RelcoordError(
                    f"the workbook's zip archive has {end[zipfile._ECD_ENTRIES_TOTAL]:,} parts (a real workbook has "
                    f"10-50; relcoord reads at most {MAX_ZIP_ENTRIES:,})", file=file, hint=_BOMB_HINT)
        zf = zipfile.ZipFile(path)
    except RelcoordError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, IndexError, TypeError):
        return   # not a (readable) zip archive: the opener reports it in its own words
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise RelcoordError(f"the workbook's zip archive has {len(infos):,} parts (a real workbook has 10-50; "
                                f"relcoord reads at most {MAX_ZIP_ENTRIES:,})", file=file, hint=_BOMB_HINT)
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise RelcoordError(f"the workbook unpacks to {_size(total)}, more than relcoord reads "
                                f"({_size(MAX_UNCOMPRESSED_BYTES)})", file=file, hint=_BOMB_HINT)
        for i in infos:
            if i.file_size > RATIO_MIN_BYTES and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise RelcoordError(
                    f"the workbook's part {i.filename} unpacks from {_size(i.compress_size)} to "
                    f"{_size(i.file_size)} (ratio {i.file_size / max(i.compress_size, 1):,.0f}; real workbooks "
                    f"stay below 20, relcoord reads up to {MAX_RATIO})", file=file, hint=_BOMB_HINT)
        if total > RATIO_MIN_BYTES and total > MAX_RATIO * max(packed, 1):
            raise RelcoordError(
                f"the workbook unpacks from {_size(packed)} to {_size(total)} (ratio {total / max(packed, 1):,.0f}; "
                f"real workbooks stay below 20, relcoord reads up to {MAX_RATIO})", file=file, hint=_BOMB_HINT)
        names = _sheet_names(zf)
        strings = 0
        for i in infos:
            if i.is_dir() or i.file_size == 0:
                continue
            strings += _scan_part(zf, i, file, names.get(i.filename), hint)
            if strings > MAX_SHARED_STRINGS:
                raise RelcoordError(
                    f"the workbook's shared-strings table holds more than {MAX_SHARED_STRINGS:,} texts (openpyxl "
                    "would load them all into memory); no survey export has this many", file=file, hint=_BOMB_HINT)


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part name -> sheet name, from xl/workbook.xml and its relationships (best effort, for messages)."""
    try:
        wb = _small_part(zf, "xl/workbook.xml")
        rels = _small_part(zf, "xl/_rels/workbook.xml.rels")
    except (KeyError, OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError):
        return {}
    if wb is None or rels is None:
        return {}
    targets = {}
    for tag in re.findall(rb"<(?:\w+:)?Relationship\s[^>]*>", rels):
        rid = re.search(rb'\sId\s*=\s*"([^"]*)"', tag)
        target = re.search(rb'\sTarget\s*=\s*"([^"]*)"', tag)
        if rid and target:
            t = target.group(1).decode("utf-8", "replace")
            targets[rid.group(1)] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    out = {}
    for tag in re.findall(rb"<(?:\w+:)?sheet\s[^>]*>", wb):
        name = re.search(rb'\sname\s*=\s*"([^"]*)"', tag)
        rid = re.search(rb'\s\w+:id\s*=\s*"([^"]*)"', tag)
        if name and rid and rid.group(1) in targets:
            out[os.path.normpath(targets[rid.group(1)]).replace(os.sep, "/")] = \
                name.group(1).decode("utf-8", "replace").replace("&amp;", "&")
    return out


def _small_part(zf: zipfile.ZipFile, name: str, limit: int = 1 << 24) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    return zf.read(info) if info.file_size <= limit else None


class _Sheet:
    """openpyxl's walk over a sheet's rows and cells, counting instead of building."""

    __slots__ = ("row", "col", "last", "max_row", "max_col", "max_data_col", "cells")

    def __init__(self) -> None:
        self.row = self.col = self.last = 0
        self.max_row = self.max_col = self.max_data_col = self.cells = 0

    def end_row(self) -> None:
        self.cells += self.last   # read-only openpyxl builds each row as wide as its last cell
        self.last = 0


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, label: str):
    """The part's XML as UTF-8 bytes, in chunks cut between tags; stops on a DTD or an endless tag."""
    carry = b""
    decoder = None
    first = True
    with zf.open(info) as src:
        while True:
            chunk = src.read(_CHUNK)
            if first:
                first = False
                if chunk[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                    decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
                elif chunk[:2] in (b"<\x00", b"\x00<"):
                    decoder = codecs.getincrementaldecoder("utf-16-le" if chunk[:1] == b"<" else "utf-16-be")(
                        errors="replace")
            if decoder is not None:
                chunk = decoder.decode(chunk, final=not chunk).encode("utf-8")
            if not chunk:
                if carry:
                    yield carry
                return
            buf = carry + chunk
            if any(d in buf for d in _DTD):
                raise RelcoordError(
                    f"the workbook's {label} declares a DTD or XML entities, which no real workbook does (and "
                    "which can expand a few bytes into gigabytes)", file=file, hint=_BOMB_HINT)
            cut = buf.rfind(b"<")
            if cut >= 0 and buf.find(b">", cut) < 0:
                carry, buf = buf[cut:], buf[:cut]
                if len(carry) > MAX_TAG_BYTES:
                    raise RelcoordError(f"the workbook's {label} holds an XML tag longer than "
                                        f"{_size(MAX_TAG_BYTES)}", file=file, hint=_BOMB_HINT)
            else:
                carry = b""
            yield buf


def _dimension(buf: bytes) -> str:
    """The declared range (``<dimension ref="A1:XFD1048576"/>``, before the sheet data), or ""."""
    end = buf.find(b"sheetData")
    m = _DIMENSION.search(buf, 0, end if end >= 0 else len(buf))
    return m.group(1).decode("ascii", "replace") if m else ""


def _root(head: bytes) -> bytes | None:
    m = _ROOT.search(head)
    return m.group(1) if m else None


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, sheet: str | None, hint: str) -> int:
    """Stream one part: stop on a DTD or an oversized sheet; return the number of shared strings in it.

    The shared-strings part (root ``<sst>``) is counted; every other part is scanned as a sheet. The fast
    scan reads the column letters of ``<c r="...">`` and the numbers of ``<row r="...">``; a part with
    namespace prefixes, cells or rows without a leading ``r``, or a grid near the limits is walked again
    exactly as openpyxl would."""
    label = f"sheet {sheet!r} ({info.filename})" if sheet else f"part {info.filename}"
    try:
        strings, exact = _fast_scan(zf, info, file, label, hint)
        if exact:
            st = _Sheet()
            dimension = None
            letters: dict[bytes, int] = {}
            for buf in _chunks(zf, info, file, label):
                if dimension is None:
                    dimension = _dimension(buf)
                _walk(_TOKEN.findall(buf), st, letters)
                _check_sheet(st, label, dimension, file, hint)
            st.end_row()
            _check_sheet(st, label, dimension, file, hint)
    except RelcoordError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        raise RelcoordError(f"cannot read the workbook's part {info.filename} ({type(exc).__name__}: {exc}); the "
                            "workbook looks damaged", file=file, hint=hint) from None
    return strings


def _fast_scan(zf: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, label: str, hint: str) -> tuple[int, bool]:
    """(shared strings, whether the part needs the exact walk)."""
    root = None
    strings = 0
    cols: set[bytes] = set()
    max_row = n_rows = 0
    dimension = None
    for buf in _chunks(zf, info, file, label):
        if root is None:
            root = _root(buf) or b"?"
        if root in (b"sst", b"?"):
            strings += len(_SI.findall(buf))
            if strings > MAX_SHARED_STRINGS:
                return strings, False
            if root == b"sst":
                continue
        if dimension is None:
            dimension = _dimension(buf)
        cells = _CELLS.findall(buf)
        rows = _ROWS.findall(buf)
        if (cells and b"" in set(cells)) or (rows and b"" in rows) or _PREFIXED.search(buf):
            return strings, True
        cols.update(cells)
        if rows:
            n_rows += len(rows)
            max_row = max(max_row, max(map(int, rows)))
    if not cols and not n_rows:
        return strings, False
    st = _Sheet()
    st.max_row = max_row
    st.max_col = st.max_data_col = max((_column(c) for c in cols), default=0)
    _check_sheet(st, label, dimension, file, hint)   # rows and columns: exact
    # cells: each row is at most as wide as the widest; near the limit, count exactly
    return strings, max(max_row, n_rows) * st.max_col > MAX_CELLS


def _column(letters: bytes) -> int:
    col = 0
    for ch in letters[:6]:
        col = col * 26 + (ch - 64) if 65 <= ch <= 90 else col
    return col


def _walk(tokens, st: _Sheet, letters: dict[bytes, int]) -> int:
    """Follow openpyxl's WorkSheetParser: a row's ``r`` sets the row counter (else +1), a cell's ``r``
    sets the column counter (else +1); a row is as wide as its last cell."""
    strings = 0
    for tag, ref, closed in tokens:
        if tag == b"c":
            if ref:
                key = ref.rstrip(_DIGITS)
                col = letters.get(key)
                if col is None:
                    col = letters[key] = _column(key)
                st.col = col
            else:
                st.col += 1
            st.last = st.col
            if st.col > st.max_col:
                st.max_col = st.col
            if not closed and st.col > st.max_data_col:   # <c .../> holds nothing (formatting only)
                st.max_data_col = st.col
        elif tag == b"row":
            st.end_row()
            if ref:
                try:
                    st.row = int(ref)
                except ValueError:
                    st.row += 1
            else:
                st.row += 1
            st.col = 0
            if st.row > st.max_row:
                st.max_row = st.row
        else:
            strings += 1
    return strings


def _check_sheet(st: _Sheet, label: str, dimension: str | None, file: str, hint: str) -> None:
    declared = f" (it declares the range {dimension})" if dimension else ""   # "" / None: none declared
    fix = ("if this really is the export, the sheet has stray content far below or right of the data: delete the "
           "empty rows and columns after the data in Excel and save, or export the survey again (as CSV if the "
           "workbook stays this large)")
    if st.max_row > MAX_ROWS:
        raise RelcoordError(f"the workbook's {label} has a row {st.max_row:,}{declared}; relcoord reads sheets of "
                            f"up to {MAX_ROWS:,} rows", file=file, hint=fix)
    if st.max_col > MAX_COLUMNS:
        raise RelcoordError(f"the workbook's {label} has a cell in column {st.max_col:,}{declared}; relcoord reads "
                            f"sheets of up to {MAX_COLUMNS:,} columns", file=file, hint=fix)
    grid = st.max_row * st.max_data_col
    if grid > MAX_CELLS or st.cells > MAX_CELLS:
        raise RelcoordError(
            f"the workbook's {label} spans {st.max_row:,} rows x {max(st.max_data_col, st.max_col):,} columns"
            f"{declared}: reading it would build {max(grid, st.cells):,} cells, more than relcoord reads "
            f"({MAX_CELLS:,})", file=file, hint=fix)
