"""Reader for a generic wide table: one row per respondent, one column per
answer, in a CSV/text file or an Excel workbook (what a spreadsheet, R, SPSS
"save as" or an in-house tool produces).

Danish spreadsheet conventions are detected, or declared in the round's
``reader:`` options: ``;`` between fields (``,`` and tab are detected too;
``|`` when declared), decimal commas (``4,0`` reads as the code 4, as does ``4.0``),
Latin-1/cp1252 or UTF-8 with or without a byte-order mark, or UTF-16.

- CSV: the header is row ``skip_rows + 1`` (``skip_rows``: title lines above
  it, default 0); records follow.
- Excel (``.xlsx``/``.xlsm``): the sheet named by ``sheet`` (default: the
  first sheet); cells are read as Excel shows them (``3.0`` -> ``"3"``).

The synthesised structure names a column ``"Hyppig kommunikation -
Hjemmeplejen"`` as question ``"Hyppig kommunikation"`` with row text
``Hjemmeplejen``, so a codebook may name such a question; otherwise the
codebook maps columns with ``variables:`` or ``pattern:``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers._text import (check_delimiter, check_header, decode, delimiter_option, encoding_option,
                                    file_series, open_workbook, parse_csv, problems_frame, read_bytes,
                                    read_sheet, rows_to_frame, sniff_delimiter, sniff_kind, split_header,
                                    structure_frame, truncated_last_row)
from relcoord.readers._xlsx import formula_problems, formulas_without_value, sheet_visible, stop_on_formulas, \
    visible_sheets

__all__ = ["read_generic", "question_of"]

_LINE_BREAK = re.compile(r"\r\n|\n|\r")

HINT = ("save the table again as CSV (UTF-8 or Latin-1, ';' or ',' between fields, one header row) or .xlsx, "
        "or set `reader: {encoding: ..., delimiter: ..., skip_rows: ..., sheet: ...}` in the round's config")


def question_of(name: str) -> str:
    """``"Hyppig - Hjemmeplejen"`` -> ``"Hyppig"``; a name without " - " is its own question."""
    parts = name.rsplit(" - ", 1)
    return parts[0].strip() if len(parts) == 2 else name


def _skip(skip_rows) -> int:
    try:
        n = int(skip_rows or 0)
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise RelcoordError(f"reader option skip_rows is {skip_rows!r}; use a whole number >= 0",
                            hint="skip_rows is the number of title lines above the header row")
    return n


def read_generic(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto",
                 sheet: str | None = None, skip_rows: int = 0) -> RawExport:
    """Read a wide table from CSV/text or an Excel workbook."""
    p = Path(path)
    if not p.exists():
        raise RelcoordError("the export does not exist", file=str(p),
                            hint="check the path in the round's config; it must name the .csv or .xlsx file")
    if p.is_dir():
        raise RelcoordError("this is a folder; a generic export is one .csv or .xlsx file", file=str(p),
                            hint="point the round's `export:` at the file")
    skip = _skip(skip_rows)
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_workbook(p, sheet, skip)
    raw = read_bytes(p)
    kind = sniff_kind(raw)
    if suffix == ".xls" or kind == "xls":
        raise RelcoordError("this is an old-style .xls workbook, which relcoord does not read", file=str(p),
                            hint="open it in Excel and save it as .xlsx (or as CSV)")
    if kind == "zip":
        raise RelcoordError("this file is a zip archive (an Excel workbook?) but is not named .xlsx", file=str(p),
                            hint="rename it to .xlsx if it is a workbook, or save the table as CSV")
    if kind is not None:
        what = "an SPSS .sav file" if kind == "sav" else f"a {kind} file"
        raise RelcoordError(f"this is not a text table but {what}",
                            file=str(p), hint="set the round's `format:` to the file's real format (e.g. spss), "
                                              "or save the table as CSV")
    if sheet:
        raise RelcoordError("reader option `sheet` applies to Excel workbooks only, but this is a text file",
                            file=str(p), hint="remove `sheet:` from the round's reader options")
    text, enc = decode(p, encoding_option(encoding), HINT, raw=raw)
    if skip:
        pos = 0
        for _ in range(skip):
            m = _LINE_BREAK.search(text, pos)
            pos = m.end() if m else len(text)
        if not text[pos:].strip():
            raise RelcoordError(f"the file has nothing below the {skip} line(s) skip_rows says to skip",
                                file=str(p), hint="lower `skip_rows` in the round's reader options")
        text = text[pos:]
    forced = delimiter_option(delimiter)
    delim = forced or sniff_delimiter(text)
    check_delimiter(text, delim, forced is not None, str(p))
    frame = parse_csv(text, delim, str(p), HINT)
    _, body, source_row = split_header(frame, 1, str(p), HINT, first_row=skip + 1)
    names = list(body.columns)
    return RawExport(data=body, source_file=file_series(body.index, str(p)), source_row=source_row,
                     structure=structure_frame(names, question_of, names), files=[p], format="generic-csv",
                     encoding=enc, delimiter=delim,
                     problems=problems_frame(truncated_last_row(text, delim, len(names), len(body) - 1)))


def _read_workbook(p: Path, sheet: str | None, skip: int) -> RawExport:
    wb = open_workbook(p, HINT)
    try:
        names = list(wb.sheetnames)
        if not names:
            raise RelcoordError("the workbook has no sheets", file=str(p), hint=HINT)
        if sheet:
            hits = [n for n in names if n.strip().casefold() == str(sheet).strip().casefold()]
            if not hits:
                raise RelcoordError(
                    f"the workbook has no sheet named {sheet!r} (sheets present: "
                    f"{', '.join(repr(n) for n in names)})", file=str(p),
                    hint="set `reader: {sheet: ...}` to one of the sheets above, or rename the sheet")
            name = hits[0]   # named explicitly: read even when hidden
        else:
            name = _default_sheet(wb, names, p)
        rows = read_sheet(wb, name, f"{p}:{name}", "save the workbook again from Excel, or export the table again")
        formulas = formulas_without_value(wb[name])
    finally:
        try:
            wb.close()
        except Exception:  # pragma: no cover - closing must never mask the real error
            pass
    where = f"{p}:{name}"
    others = [n for n in names if n != name]
    hint = HINT if sheet or len(names) == 1 else (
        f"this is the workbook's {'first' if name == names[0] else 'only visible'} sheet; it also has "
        f"{', '.join(repr(n) for n in others)}: name the sheet with the table in `reader: {{sheet: ...}}`")
    if formulas:   # formulas without a saved value: stop in the header, report (quarantine) in the records
        stop_on_formulas(formulas, where, "the header row", rows=range(skip + 1, skip + 2))
        for (r, c), text in formulas.items():   # keep the text for now, so the record and column survive
            if r > skip + 1:
                rows.extend([] for _ in range(r - len(rows)))
                rows[r - 1] = list(rows[r - 1]) + [""] * (c + 1 - len(rows[r - 1]))
                rows[r - 1][c] = text
    if len(rows) <= skip or not any(any(c for c in r) for r in rows[skip:]):
        raise RelcoordError("the sheet is empty" + (f" below the {skip} skipped row(s)" if skip else ""),
                            file=where, hint=hint)
    frame = rows_to_frame(rows[skip:])
    _, body, source_row = split_header(frame, 1, where, hint, first_row=skip + 1)
    cols = list(body.columns)
    check_header(cols, where, skip + 1, HINT)
    values = body.to_numpy(dtype=object)
    problems = formula_problems(formulas, cols, skip + 2, where, len(body)) if formulas else []
    for (r, c) in formulas:   # a formula without a saved value reads as blank, and is reported (quarantined)
        if 0 <= r - skip - 2 < len(values) and c < len(cols):
            values[r - skip - 2, c] = ""
    body = pd.DataFrame(values, columns=cols, dtype=object)
    source_row.index = body.index
    return RawExport(data=body, source_file=file_series(body.index, where),
                     source_row=pd.Series(np.asarray(source_row), index=body.index, dtype="int64",
                                          name="source_row"),
                     structure=structure_frame(cols, question_of, cols), files=[p], format="generic-xlsx",
                     encoding=None, delimiter=None, problems=problems_frame(problems))


def _default_sheet(wb, names: list[str], p: Path) -> str:
    """Without `sheet:`, the first sheet; when it is hidden, the only visible sheet; else stop
    (a hidden sheet is never read unless named)."""
    if sheet_visible(wb[names[0]]):
        return names[0]
    visible = visible_sheets(wb)
    if len(visible) == 1:
        return visible[0]
    raise RelcoordError(
        f"the workbook's first sheet {names[0]!r} is hidden and relcoord does not read hidden sheets unless named; "
        + (f"it has {len(visible)} visible sheets ({', '.join(repr(n) for n in visible)})" if visible else
           "no sheet is visible"), file=str(p),
        hint="name the sheet with the table in the round's `reader: {sheet: ...}` (a hidden sheet is read only "
             "when named there), or unhide it in Excel")
