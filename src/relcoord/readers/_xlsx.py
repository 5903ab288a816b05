"""Excel workbook checks shared by the workbook readers (SurveyXact, generic):
formulas without a saved value, and hidden sheets.

A workbook is read with openpyxl in read-only, ``data_only`` mode: a formula
cell reads as the value Excel saved with it. A workbook written by a program
(openpyxl, pandas, some exporters) or edited in a tool that does not
calculate holds formulas *without* a saved value; openpyxl reads them as
empty cells, so an answer would silently become a blank. These cells are
found here, so the readers can report them (rule ``formula_without_value``)
or stop.

Finding them costs one extra pass over the sheet's XML bytes, which usually
finds no formula at all; only a sheet holding formulas is parsed a second
time, to locate them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from relcoord.errors import RelcoordError

__all__ = ["formulas_without_value", "sheet_visible", "visible_sheets", "cell_name", "stop_on_formulas",
           "formula_problems", "FORMULA_HINT"]

FORMULA_HINT = ("open the workbook in Excel and save it (Excel then stores every formula's value), or copy the "
                "cells and paste them as values; then export or point the round at the saved file again")

# A formula element in the sheet XML: <f>, <f t="shared" .../>, <f/>, or with a namespace prefix (<x:f>).
_FORMULA_TAGS = (b"<f>", b"<f ", b"<f/>", b":f>", b":f ", b":f/>")
_CHUNK = 1 << 22


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _source(ws):
    """The sheet's XML part, as openpyxl's read-only worksheet opens it."""
    return ws.parent._archive.open(ws._worksheet_path)


def _may_hold_formulas(ws) -> bool:
    tail = b""
    with _source(ws) as src:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                return False
            buf = tail + chunk
            if any(t in buf for t in _FORMULA_TAGS):
                return True
            tail = buf[-5:]


def _column_index(coordinate: str) -> tuple[int, int]:
    from openpyxl.utils.cell import coordinate_to_tuple
    return coordinate_to_tuple(coordinate)


def formulas_without_value(ws) -> dict[tuple[int, int], str]:
    """The formula cells of a read-only worksheet that hold no saved value:
    ``(row, column) -> formula text`` (row as a spreadsheet counts, from 1; column 0-based).

    A formula has no saved value when its ``<v>`` element is absent, or empty while the cell
    is not of the string type (Excel saves a formula returning "" as an empty string value,
    ``t="str"``; a program that cannot calculate writes an empty ``<v/>``)."""
    if not hasattr(ws, "_worksheet_path"):  # not a read-only worksheet: nothing to check here
        return {}
    try:
        return _formulas_without_value(ws) if _may_hold_formulas(ws) else {}
    except Exception as exc:  # noqa: BLE001 - zip / zlib / XML errors of a damaged workbook
        raise RelcoordError(f"cannot read the sheet {ws.title!r} ({type(exc).__name__}: {exc}); the workbook looks "
                            "damaged", file=getattr(getattr(ws.parent, "_archive", None), "filename", None),
                            hint="save the workbook again from Excel, or export it again") from None


def _formulas_without_value(ws) -> dict[tuple[int, int], str]:
    out: dict[tuple[int, int], str] = {}
    row_no = col_no = 0   # numbered as openpyxl numbers them: by the r attribute, else one more than the last
    with _source(ws) as src:
        for event, el in ET.iterparse(src, events=("start", "end")):
            name = _local(el.tag)
            if event == "start":
                if name == "row":
                    r = el.get("r")
                    row_no = int(float(r)) if r else row_no + 1
                    col_no = 0
                continue
            if name == "c":
                coord = el.get("r")
                if coord:
                    row, col_no = _column_index(coord)
                else:
                    row, col_no = row_no, col_no + 1
                f = v = None
                for child in el:
                    cn = _local(child.tag)
                    if cn == "f":
                        f = child
                    elif cn == "v":
                        v = child
                if f is not None and (v is None or (not v.text and el.get("t", "n") != "str")):
                    out[(row, col_no - 1)] = "=" + f.text if f.text else "(a shared formula)"
            elif name == "row":
                el.clear()
            elif name == "sheetData":
                break
    return out


def sheet_visible(ws) -> bool:
    return getattr(ws, "sheet_state", "visible") == "visible"


def visible_sheets(wb) -> list[str]:
    return [n for n in wb.sheetnames if sheet_visible(wb[n])]


def cell_name(row: int, col: int) -> str:
    """(row from 1, column from 0) -> 'B5'."""
    from openpyxl.utils import get_column_letter
    return f"{get_column_letter(col + 1)}{row}"


def stop_on_formulas(formulas: dict[tuple[int, int], str], where: str, what: str,
                     rows: range | None = None) -> None:
    """Stop on formula cells without a saved value in ``rows`` (all rows if None): cells that
    are not answers (a header row, a Structure or Labels sheet) cannot be quarantined."""
    cells = sorted(k for k in formulas if rows is None or k[0] in rows)
    if not cells:
        return
    r, c = cells[0]
    more = f" (and {len(cells) - 1} more such cell(s))" if len(cells) > 1 else ""
    raise RelcoordError(f"cell {cell_name(r, c)} of {what} holds a formula ({formulas[(r, c)]}) without a saved "
                        f"value{more}: it would read as an empty cell", file=where, row=r, hint=FORMULA_HINT)


def formula_problems(formulas: dict[tuple[int, int], str], header: list[str], first_row: int, where: str,
                     n_records: int | None = None) -> list[dict]:
    """Reader problems (rule ``formula_without_value``, one per cell) for the formula cells of
    the records; ``first_row`` is the sheet row of record 0, ``header`` names the columns."""
    out = []
    for (r, c), text in sorted(formulas.items()):
        i = r - first_row
        if i < 0 or (n_records is not None and i >= n_records) or c >= len(header):
            continue
        out.append(dict(index=i, rule="formula_without_value", column=header[c], value=text,
                        message="", source_file=where, source_row=r))
    return out
