"""Reader for Qualtrics CSV exports.

Current exports have three header rows: the variable names (``ResponseId``,
``Q1``, ``Q3_1`` ...), the question texts (a matrix row's text is
``"<question> - <row text>"``) and a row of JSON import ids
(``{"ImportId":"QID3_1"}``); records start in row 4, so the first record's
``source_row`` is 4, as a spreadsheet user counts. Legacy exports start with a
UTF-8 byte-order mark and have two header rows (``V1, V2, ...`` or the
variable names, then the question texts); records start in row 3.

Answers are the choice texts or the recode values, whichever the export was
made with; the codebook says which (``answers: options`` or codes).

The reader synthesises a structure table: one row per column, the question
name being the column name without its last ``_<part>`` (``Q3_1`` -> ``Q3``),
the question text the second header row. So ``items: {frequent: Q3}`` finds
``Q3_1 .. Q3_K`` and each row's target unit after the last " - ".
"""

from __future__ import annotations

import re
from pathlib import Path

from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers._text import (check_delimiter, decode, delimiter_option, encoding_option, file_series,
                                    parse_csv, problems_frame, read_bytes, refuse_binary, sniff_delimiter,
                                    split_header, structure_frame, truncated_last_row)

__all__ = ["read_qualtrics", "question_of"]

HINT = ("export the responses from Qualtrics again (Data & Analysis > Export & Import > Export data > CSV), "
        "or set `reader: {encoding: ..., delimiter: ..., header_rows: ...}` in the round's config")
_IMPORT_ID = re.compile(r'^\s*\{\s*"ImportId"\s*:')


def question_of(name: str) -> str:
    """``Q3_1`` -> ``Q3``; ``Q3_1_TEXT`` -> ``Q3_1``; ``Q1`` -> ``Q1``."""
    return name.rsplit("_", 1)[0] if "_" in name.strip("_") else name


def _header_rows(frame, file: str) -> int:
    if frame.shape[0] >= 3:
        third = [str(v) for v in frame.iloc[2].tolist() if str(v).strip()]
        if third and sum(bool(_IMPORT_ID.match(v)) for v in third) >= max(1, len(third) // 2):
            return 3
    if frame.shape[0] >= 2:
        first = [str(v).strip() for v in frame.iloc[0].tolist()]
        second = [str(v).strip() for v in frame.iloc[1].tolist()]
        if first and (first[0] == "V1" or second[0] in ("ResponseID", "ResponseId", "Response ID")):
            return 2
    raise RelcoordError(
        "cannot tell how many header rows this Qualtrics export has: row 3 holds no "
        '{"ImportId": ...} cells and rows 1-2 do not look like a legacy export (V1 / ResponseID)',
        file=file, row=1,
        hint="set `reader: {header_rows: 3}` (current exports), 2 (legacy) or 1 (only the names row left) in the "
             "round's config; or export the data from Qualtrics again without editing it")


def read_qualtrics(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto",
                   header_rows: int | str = "auto") -> RawExport:
    """Read a Qualtrics CSV export (three header rows, or the legacy two)."""
    p = Path(path)
    if not p.exists():
        raise RelcoordError("the Qualtrics export does not exist", file=str(p),
                            hint="check the path in the round's config; it must name the exported .csv file")
    if p.is_dir():
        raise RelcoordError("this is a folder; a Qualtrics export is one .csv file", file=str(p),
                            hint="point the round's `export:` at the .csv file Qualtrics produced")
    raw = read_bytes(p)
    refuse_binary(raw, str(p), "a Qualtrics CSV export",
                  "export the responses from Qualtrics as CSV (not Excel or SPSS), or set the round's `format:` "
                  "to the file's real format (spss, generic, ...)")
    text, enc = decode(p, encoding_option(encoding), HINT, raw=raw)
    forced = delimiter_option(delimiter)
    delim = forced or sniff_delimiter(text)
    check_delimiter(text, delim, forced is not None, str(p))
    frame = parse_csv(text, delim, str(p), HINT)
    if header_rows in (None, "auto", ""):
        n_header = _header_rows(frame, str(p))
    else:
        try:
            n_header = int(header_rows)
        except (TypeError, ValueError):
            n_header = 0
        if n_header not in (1, 2, 3):
            raise RelcoordError(f"reader option header_rows is {header_rows!r}; use auto, 1, 2 or 3",
                                hint="current Qualtrics exports have 3 header rows, legacy ones 2")
    headers, body, source_row = split_header(frame, n_header, str(p), HINT)
    names = list(body.columns)
    texts = headers[1] if n_header >= 2 else [""] * len(names)
    structure = structure_frame(names, question_of, texts)
    return RawExport(
        data=body, source_file=file_series(body.index, str(p)),
        source_row=source_row, structure=structure, files=[p],
        format=f"qualtrics-csv ({n_header} header rows)", encoding=enc, delimiter=delim,
        problems=problems_frame(truncated_last_row(text, delim, len(names), len(body) - 1)))
