"""Opening an Excel workbook for the workbook readers (SurveyXact, generic): its cells are read with
python-calamine where that provably gives what openpyxl gives, and with openpyxl everywhere else.

openpyxl (read-only, ``data_only``) was the only reader until issue 17; it takes ~12 s for a
10,000-respondent SurveyXact workbook where calamine takes ~1 s. The two do not read every workbook
alike, so calamine reads a sheet only when the workbook and the sheet pass checks under which the
two agree cell for cell (after :func:`relcoord.readers._text.cell_text`); anything else is read by
openpyxl exactly as before, so results and error messages never change. What makes calamine read
differently, and so sends a workbook or a sheet to openpyxl:

- anything openpyxl itself would stumble on while opening (the parts openpyxl reads on opening are
  read by openpyxl here too: content types, shared strings, workbook, properties, theme, styles),
  XML that is not well-formed (every sheet part is run through expat, openpyxl's parser), a sheet
  in another namespace, a chart sheet, sheet-level defined names, unusual part paths;
- cells not written as Excel, openpyxl and the survey platforms write them: a ``<c>`` or ``<row>``
  without its ``r``, or out of order, or a cell whose row is not its ``<row>`` (openpyxl drops or
  moves such cells, calamine places them by their reference), attributes other than r/s/t, a
  number that is not plain decimal text (openpyxl reads ``" 5"`` as 5, calamine as text), a
  shared-string index or boolean that is not plain digits, error cells (openpyxl reads ``#N/A``,
  calamine an empty cell), an inline string in a cell not typed ``inlineStr``, rich or phonetic
  inline text;
- text calamine decodes differently: ``_xHHHH_`` escapes (calamine decodes them, openpyxl keeps
  them; openpyxl drops ``x005F_`` in shared strings), character references (``&#13;``), and a
  ``<t>`` without ``xml:space="preserve"`` that starts or ends with white space (calamine trims it);
- cells with a date, time or duration format by openpyxl's rules, or that calamine reads as one
  (the two date conversions differ at the edges: serial 60, negative and out-of-range serials);
- an integer of 10^15 or more, or a number that is not finite (openpyxl keeps the decimal text's
  integer, calamine a float).

The first group is checked on opening (a workbook failing it is opened by openpyxl, as before),
the rest sheet by sheet while the sheet's XML is checked on opening. Memory and time stay bounded:
:func:`relcoord.readers._limits.check_workbook` runs first, unchanged, and bounds the rows, columns
and cells calamine builds (its grid is rows x columns up to the last cell holding data, which that
check bounds) and the parts' unpacked sizes; the checks here stream each part in chunks.

openpyxl and python-calamine are imported lazily (only workbook exports need them).
"""

from __future__ import annotations

import re
import xml.parsers.expat
import zipfile
from pathlib import Path

import numpy as np

from relcoord.errors import RelcoordError
from relcoord.readers._limits import check_workbook

__all__ = ["open_workbook", "open_with_openpyxl", "Book", "Sheet"]

MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CHUNK = 1 << 22
_MAX_ROW_BYTES = 1 << 26   # one <row> element larger than this is read by openpyxl (which streams)

_N = rb"(?:0|[1-9][0-9]{0,8})"
_F = rb"(?:<f>[^<]*</f>|<f/>|<f\s[^<>]*/>|<f\s[^<>]*>[^<]*</f>)?"
_S = rb'(?: s="' + _N + rb'")?'
_EMPTY_V = rb"(?:<v/>|<v></v>)?"
_TRIMMED = rb"(?:[^<\s](?:[^<]*[^<\s])?)?"   # text calamine does not trim (it trims a <t> without xml:space)
_NUMBER = rb"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,3})?"
_CELL = (rb'<c r="[A-Z]{1,3}\1"' + _S + rb"(?:"
         rb"\s*/>"
         rb'|(?: t="n")?' + _S + rb">\s*" + _F + rb"\s*(?:<v>" + _NUMBER + rb"</v>|" + _EMPTY_V + rb")\s*</c>"
         rb'| t="s"' + _S + rb">\s*" + _F + rb"\s*(?:<v>" + _N + rb"</v>|" + _EMPTY_V + rb")\s*</c>"
         rb'| t="b"' + _S + rb">\s*" + _F + rb"\s*(?:<v>[01]</v>|" + _EMPTY_V + rb")\s*</c>"
         rb'| t="str"' + _S + rb">\s*" + _F + rb"\s*(?:<v>[^<]*</v>|" + _EMPTY_V + rb")\s*</c>"
         rb'| t="inlineStr"' + _S + rb">\s*(?:<is>(?:<t>" + _TRIMMED
         + rb'</t>|<t xml:space="preserve">[^<]*</t>|<t/>)</is>)?'
         rb"\s*</c>"
         rb'| t="(?:n|s|b|str|inlineStr)"' + _S + rb"\s*/>"
         rb")")
_ROW = re.compile(rb'<row r="([1-9][0-9]{0,6})"(?:\s+[A-Za-z][\w:.-]*="[^"<>]*")*\s*(?:/>|>(?:\s*' + _CELL
                  + rb")*\s*</row>)")
_ROW_NUMBERS = re.compile(rb'<row r="([0-9]{1,7})"')
_CELL_REFS = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"')
_STYLES = re.compile(rb'<c r="[A-Z0-9]+" s="([0-9]+)"|<c r="[A-Z0-9]+" t="[a-zA-Z]+" s="([0-9]+)"')
#: shared strings calamine reads differently from openpyxl (see the module docstring), or XML constructs no
#: table needs
_ODD_STRINGS = (b"x005F_", b"<rPh", b"<!--", b"<![CDATA[", b"<?")
_UNTRIMMED = re.compile(rb"<t>(?:\s|[^<]*\s</t>)")   # calamine trims a <t> without xml:space="preserve"
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
_ROOT = re.compile(rb"<(worksheet|sst)\s[^<>]*>")
_DEFAULT_NS = re.compile(rb'\sxmlns\s*=\s*"([^"]*)"')
_SI = re.compile(rb"<si[\s>/]")
_SHEET_TARGET = re.compile(r"xl/worksheets/[A-Za-z0-9_.-]+\.xml")


class _Irregular(Exception):
    """The workbook or sheet is one calamine may read differently: openpyxl reads it."""


# --------------------------------------------------------------------------- opening

def open_with_openpyxl(path: Path, hint: str, *, checked: bool = False):
    """The workbook opened by openpyxl (read-only, saved values of formulas): the reader before issue 17.
    ``checked``: :func:`relcoord.readers._limits.check_workbook` has passed already."""
    import openpyxl
    if not checked:
        check_workbook(path, hint)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except zipfile.BadZipFile:
        raise RelcoordError("the file is not an Excel .xlsx workbook (it is not a zip archive; perhaps a CSV "
                            "or .xls file renamed to .xlsx)", file=str(path), hint=hint) from None
    except Exception as exc:  # noqa: BLE001 - a damaged workbook fails in many ways inside openpyxl / zlib / XML
        raise RelcoordError(f"cannot open the Excel workbook ({type(exc).__name__}: {exc})", file=str(path),
                            hint=hint) from None


def open_workbook(path: Path, hint: str, *, calamine: bool = True):
    """The workbook to read: a :class:`Book` (calamine where it reads as openpyxl does, see the module
    docstring), or openpyxl's read-only workbook when the workbook fails the opening checks or
    ``calamine`` is false. Both offer ``sheetnames``, ``wb[name]`` (``title``, ``sheet_state``,
    ``iter_rows(values_only=True)``) and ``close()``; stops as openpyxl's opening stopped."""
    check_workbook(path, hint)
    if calamine:
        try:
            return Book(path, hint)
        except _Irregular:
            pass
    return open_with_openpyxl(path, hint, checked=True)


class Book:
    """A workbook whose sheets calamine reads where it reads as openpyxl does (openpyxl the others)."""

    def __init__(self, path: Path, hint: str) -> None:
        self.path, self._hint = Path(path), hint
        self._archive = None
        self._openpyxl = None
        self._calamine = None
        try:
            sheets, date_styles, sst_part, n_strings = _openpyxl_opening(self.path)
            self._archive = zipfile.ZipFile(self.path)
            plain = {target: _scan_sheet(self._archive, target, date_styles) for _, _, target in sheets}
            if n_strings != _check_shared_strings(self._archive, sst_part):
                raise _Irregular
            import python_calamine
            self._calamine = python_calamine.CalamineWorkbook.from_path(str(self.path))
            if [(m.name, _STATES.get(str(m.visible).rsplit(".", 1)[-1])) for m in self._calamine.sheets_metadata] \
                    != [(name, state) for name, state, _ in sheets]:
                raise _Irregular
        except _Irregular:
            self.close()
            raise
        except Exception:  # noqa: BLE001 - openpyxl / calamine / zip / XML: the workbook is openpyxl's to open
            self.close()
            raise _Irregular from None
        self._sheets = {name: Sheet(self, name, state, target, plain[target]) for name, state, target in sheets}
        self.sheetnames = [name for name, _, _ in sheets]

    def __getitem__(self, name: str) -> Sheet:
        return self._sheets[name]

    def _openpyxl_sheet(self, name: str):
        if self._openpyxl is None:
            self._openpyxl = open_with_openpyxl(self.path, self._hint, checked=True)
        return self._openpyxl[name]

    def close(self) -> None:
        for handle in (self._archive, self._openpyxl, self._calamine):
            if handle is not None:
                try:
                    handle.close()
                except Exception:  # noqa: BLE001,S110 - closing must never mask the real error
                    pass
        self._archive = self._openpyxl = self._calamine = None


_STATES = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "veryHidden"}


class Sheet:
    """One sheet of a :class:`Book`, with the interface of openpyxl's read-only worksheet that the readers
    use (``title``, ``sheet_state``, ``iter_rows``; ``parent._archive`` and ``_worksheet_path`` for
    :func:`relcoord.readers._xlsx.formulas_without_value`)."""

    def __init__(self, book: Book, name: str, state: str, part: str, plain: bool) -> None:
        self.parent, self.title, self.sheet_state, self._worksheet_path = book, name, state, part
        self.plain = plain   # calamine reads it as openpyxl does, as far as its XML shows
        self.read_by: str | None = None   # "calamine" or "openpyxl", once read

    def reset_dimensions(self) -> None:
        """Nothing to reset: neither reader here trusts a sheet's declared dimension."""

    def iter_rows(self, values_only: bool = True):
        """The sheet's rows; cells as :func:`relcoord.readers._text.cell_text` renders them (calamine)
        or as openpyxl reads them (a sheet calamine may read differently)."""
        if self.plain:
            try:
                rows = _texts(self.parent._calamine.get_sheet_by_name(self.title).to_python(skip_empty_area=False))
                self.read_by = "calamine"
                return rows
            except _Irregular:
                pass
            except Exception:  # noqa: BLE001,S110 - calamine stumbles: openpyxl reads it and says what is wrong
                pass
        ws = self.parent._openpyxl_sheet(self.title)
        self.read_by = "openpyxl"
        ws.reset_dimensions()
        return ws.iter_rows(values_only=values_only)


def _openpyxl_opening(path: Path) -> tuple[list[tuple[str, str, str]], set, str | None, int]:
    """What openpyxl reads on opening a workbook read-only, read by openpyxl itself (all but the
    worksheets' dimension scan): (name, state, part) of each sheet, openpyxl's date styles, the
    shared-strings part and the number of shared strings. Raises what openpyxl's opening raises."""
    from openpyxl.packaging.relationship import get_dependents, get_rels_path
    from openpyxl.reader.excel import ExcelReader, _find_workbook_part
    from openpyxl.xml.constants import SHARED_STRINGS
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(str(path), read_only=True, data_only=True)
    try:
        reader.read_manifest()
        if _find_workbook_part(reader.package).PartName != "/xl/workbook.xml":
            raise _Irregular
        reader.read_strings()
        reader.read_workbook()
        reader.read_properties()
        reader.read_custom()
        reader.read_theme()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = []
        for sheet, rel in reader.parser.find_sheets():
            if rel.target not in reader.valid_files:
                continue
            if "chartsheet" in rel.Type or not _SHEET_TARGET.fullmatch(rel.target or ""):
                raise _Irregular
            rels_path = get_rels_path(rel.target)
            if rels_path in reader.valid_files:
                get_dependents(reader.archive, rels_path)
            sheets.append((sheet.name, sheet.state, rel.target))
        if any(k != "global" for k in reader.parser.defined_names.by_sheet()):
            raise _Irregular
        ct = reader.package.find(SHARED_STRINGS)
        sst = ct.PartName[1:] if ct is not None else None
        if sst not in (None, "xl/sharedStrings.xml") or not reader.wb._cell_styles:
            raise _Irregular
        return sheets, set(reader.wb._date_formats), sst, len(reader.shared_strings)
    finally:
        reader.archive.close()


# --------------------------------------------------------------------------- checks on the XML

def _parts(zf: zipfile.ZipFile, part: str):
    """The part's bytes in chunks of whole ``<row>`` elements (the last chunk: the rest), each also fed
    to expat, which raises on XML that is not well-formed."""
    parser = xml.parsers.expat.ParserCreate()
    carry = b""
    with zf.open(part) as src:
        while True:
            chunk = src.read(_CHUNK)
            parser.Parse(chunk, not chunk)
            if not chunk:
                if carry:
                    yield carry
                return
            buf = carry + chunk
            cut = buf.rfind(b"</row>")
            if cut < 0:
                if len(buf) > _MAX_ROW_BYTES:
                    raise _Irregular
                carry = buf
                continue
            cut += len(b"</row>")
            carry = buf[cut:]
            yield buf[:cut]


def _scan_sheet(zf: zipfile.ZipFile, part: str, date_styles: set) -> bool:
    """Whether calamine reads the sheet as openpyxl does (see the module docstring). XML that is not
    well-formed raises (the workbook is then openpyxl's to open, and to report)."""
    plain = True
    state = "head"
    last_row = 0
    last_key = -1
    for buf in _parts(zf, part):
        if not plain:
            continue   # drain: expat still checks the rest of the part
        if state == "head":
            root = _ROOT.search(buf)
            if root is None or root.group(1) != b"worksheet" \
                    or [m.group(1) for m in _DEFAULT_NS.finditer(buf, 0, root.end())] != [MAIN]:
                plain = False
                continue
            empty, start = buf.find(b"<sheetData/>"), buf.find(b"<sheetData>")
            if 0 <= empty and (start < 0 or empty < start):
                state = "tail"   # no rows at all
                plain = b"<row" not in buf
                continue
            if start < 0 or b"xmlns" in buf[root.end():start]:
                plain = False
                continue
            buf = buf[start + len(b"<sheetData>"):]
            state = "data"
        if state == "tail":
            continue
        end = buf.find(b"</sheetData>")
        data = buf if end < 0 else buf[:end]
        if end >= 0:
            state = "tail"
        if b"xmlns" in data or _escapes(data) or _ROW.sub(b"", data).strip():
            plain = False
            continue
        rows = np.array(_ROW_NUMBERS.findall(data), dtype=np.int64)
        if rows.size:
            if rows[0] <= last_row or (rows.size > 1 and not (np.diff(rows) > 0).all()):
                plain = False
                continue
            last_row = int(rows[-1])
        keys = _cell_keys(_CELL_REFS.findall(data))
        if keys.size:
            if keys[0] <= last_key or (keys.size > 1 and not (np.diff(keys) > 0).all()):
                plain = False
                continue
            last_key = int(keys[-1])
        if date_styles:
            used = {int(a or b) for a, b in _STYLES.findall(data)}
            if used & date_styles:
                plain = False
    return plain and state == "tail"


def _escapes(data: bytes) -> bool:
    """Text calamine decodes and openpyxl does not: ``_xHHHH_`` escapes; character references."""
    return b"&#" in data or (b"_x" in data and _ESCAPE.search(data) is not None)


def _odd_strings(data: bytes) -> bool:
    return _escapes(data) or any(b in data for b in _ODD_STRINGS) or _UNTRIMMED.search(data) is not None


def _cell_keys(refs: list[bytes]) -> np.ndarray:
    """Cell references (``b"AB12"``: 1-3 letters, 1-7 digits) -> row * 2**15 + column, vectorised."""
    if not refs:
        return np.zeros(0, dtype=np.int64)
    m = np.array(refs, dtype="S10").view(np.uint8).reshape(len(refs), 10)
    letters = (m[:, :3] >= 65).sum(1)
    c = m[:, :3].astype(np.int64) - 64
    col = np.where(letters == 1, c[:, 0], np.where(letters == 2, c[:, 0] * 26 + c[:, 1],
                                                   c[:, 0] * 676 + c[:, 1] * 26 + c[:, 2]))
    digit = (m >= 48) & (m <= 57)
    end = letters + digit.sum(1)
    powers = 10 ** np.clip(end[:, None] - 1 - np.arange(10)[None, :], 0, 9)
    row = (np.where(digit, m.astype(np.int64) - 48, 0) * powers).sum(1)
    return row * 32768 + col


def _check_shared_strings(zf: zipfile.ZipFile, part: str | None) -> int:
    """The number of shared strings calamine reads as openpyxl does; raises :class:`_Irregular` when the
    table holds text the two read differently."""
    if part is None:
        return 0
    count = 0
    tail = b""
    head = True
    with zf.open(part) as src:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            if head:
                root = _ROOT.search(buf)
                if root is None or root.group(1) != b"sst" or [m.group(1) for m in _DEFAULT_NS.finditer(
                        buf, 0, root.end())] != [MAIN]:
                    raise _Irregular
                head = False
                buf = buf[root.end():]
            cut = buf.rfind(b"</si>")
            cut = cut + 5 if cut >= 0 else 0
            whole, tail = buf[:cut], buf[cut:]
            if len(tail) > _MAX_ROW_BYTES or _odd_strings(whole) or b"xmlns" in whole:
                raise _Irregular
            count += len(_SI.findall(whole))
    if _odd_strings(tail):
        raise _Irregular
    return count + len(_SI.findall(tail))


# --------------------------------------------------------------------------- values

def _texts(rows: list[list]) -> list[list[str]]:
    """calamine's values as :func:`relcoord.readers._text.cell_text` renders openpyxl's; raises
    :class:`_Irregular` for a value openpyxl may read differently (dates and times, integers of
    10^15 or more, numbers that are not finite)."""
    numbers: dict[float, str] = {}
    out = []
    for row in rows:
        texts = []
        for v in row:
            cls = v.__class__
            if cls is str:
                texts.append(v)
            elif cls is float:
                t = numbers.get(v)
                if t is None:
                    if v != v or v in (float("inf"), float("-inf")):
                        raise _Irregular
                    if v.is_integer():
                        if abs(v) >= 1e15:
                            raise _Irregular
                        t = str(int(v))
                    else:
                        t = format(v, ".15g")
                    numbers[v] = t
                texts.append(t)
            elif cls is bool:
                texts.append("TRUE" if v else "FALSE")
            elif cls is int and abs(v) < 10 ** 15:
                texts.append(str(v))
            else:
                raise _Irregular
        out.append(texts)
    return out
