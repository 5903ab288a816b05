"""Is any cell of a CSV file live in a spreadsheet? (A test oracle, independent of relcoord.tables.)

``live_formulas(path)`` imports the file the ways a spreadsheet user might and returns every cell
that a spreadsheet would run as a formula: after trimming spaces and quotes it starts with
``= + - @``, tab or CR, and it is not a plain number (``-0.12``, ``1e-05``, ``-0,5``; ``-inf``/``nan``
run nothing either). The imports:

- a CSV parser (Python's ``csv``) with ``,`` (the file's own delimiter), ``;`` (Danish Excel's
  default) and tab as the delimiter;
- a naive import that splits lines at LF and cells at the delimiter, ignoring quotes;
- both again with every bare CR taken as a row break (as old Mac-style importers do).

Usage (e.g. over every CSV a demo run writes)::

    from csv_safety import live_formulas
    for path in results.rglob("*.csv"):
        assert not live_formulas(path), (path, live_formulas(path)[:5])

Known limit, reported rather than hidden: in a ``;`` import of a comma-separated row, the cells up to
the first ``;`` form one cell. When a row's *first* column is a negative number, that cell starts with
``-`` and is reported (e.g. ``-0.12,4,HJP``), although relcoord never alters numbers: keep a text
column (an id or name) first in every reader-facing table.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

__all__ = ["live_formulas", "is_live"]

_START = ("=", "+", "-", "@", "\t", "\r")
_TRIM = " \t\r\n\x0b\x0c\xa0\""
_DELIMITERS = (",", ";", "\t")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_NOT_A_FORMULA = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}


def _number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text)) or text.lower() in _NOT_A_FORMULA


def is_live(cell: str) -> bool:
    """Would a spreadsheet run this cell as a formula?"""
    if cell[:1] in _START and not _number(cell):
        return True
    t = cell.lstrip(_TRIM)
    return t[:1] in _START and not _number(t.rstrip(_TRIM))


def _imports(text: str):
    variants = {"as written": text, "bare CR as row break": text.replace("\r\n", "\n").replace("\r", "\n")}
    for how, body in variants.items():
        for d in _DELIMITERS:
            name = "tab" if d == "\t" else repr(d)
            try:
                rows = list(csv.reader(io.StringIO(body, newline=""), delimiter=d, strict=False))
            except csv.Error as exc:   # a parser that gives up imports nothing
                rows = [[f"(csv error: {exc})"]]
            yield f"csv, delimiter {name}, {how}", rows
            yield f"naive split, delimiter {name}, {how}", [line.split(d) for line in body.split("\n")]


def live_formulas(path: str | Path) -> list[tuple[str, int, int, str]]:
    """Every live cell as (import, row, column, cell), rows and columns counted from 1."""
    text = Path(path).read_bytes().decode("utf-8-sig")
    out = []
    for how, rows in _imports(text):
        for i, row in enumerate(rows, start=1):
            for j, cell in enumerate(row, start=1):
                if is_live(cell):
                    out.append((how, i, j, cell))
    return out
