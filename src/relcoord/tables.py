"""Small I/O helpers shared by the config tables and the outputs."""

from __future__ import annotations

import csv
import re
import secrets
from pathlib import Path

import pandas as pd

from .errors import RelcoordError
from .readers._limits import check_regular_file


def read_tsv(path: str | Path, required: list[str], optional: list[str]) -> pd.DataFrame:
    """Read a tab-separated config table as strings (blank -> ""), add missing
    optional columns, and stop naming any required column that is absent."""
    path = Path(path)
    if not path.exists():
        raise RelcoordError("file not found", file=str(path), hint="check the path in config/config.yaml")
    check_regular_file(path, "point the path in config/config.yaml at the table file itself")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig",
                         comment=None)
    except UnicodeDecodeError:
        raise RelcoordError("not UTF-8 text", file=str(path), hint="save the file as UTF-8 (tab-separated)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RelcoordError(f"cannot be read as a tab-separated table ({exc})", file=str(path),
                            hint="use one header line and tabs between columns") from None
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise RelcoordError(f"required column(s) {', '.join(missing)} missing (found: {', '.join(df.columns)})",
                            file=str(path), column=missing[0],
                            hint="add the column; the file must be tab-separated with a header line")
    for c in optional:
        if c not in df.columns:
            df[c] = ""
    return df.apply(lambda s: s.str.strip())


def failures_to_message(failure_cases: pd.DataFrame, df: pd.DataFrame, limit: int = 20) -> str:
    """Turn pandera failure cases on a table read from a file (index = data
    line - 2) into lines 'row N, column C: value V: check'."""
    lines = []
    fc = failure_cases.copy()
    for _, f in fc.head(limit).iterrows():
        idx = f.get("index")
        row = f"row {int(idx) + 2}, " if pd.notna(idx) else ""
        col = f.get("column")
        check = str(f.get("check"))
        if check == "column_in_schema":
            lines.append(f"  - unexpected column {f['failure_case']!r}")
        elif check == "column_in_dataframe":
            lines.append(f"  - missing column {f['failure_case']!r}")
        elif check == "field_uniqueness":
            lines.append(f"  - {row}column {col!r}: {f['failure_case']!r} appears more than once")
        else:
            lines.append(f"  - {row}column {col!r}: value {f['failure_case']!r}: {check}")
    if len(fc) > limit:
        lines.append(f"  - … and {len(fc) - limit} more")
    return "\n".join(lines)


#: Characters that make a spreadsheet read a cell as a formula (after leading spaces), and the
#: characters at which an importer may split a cell into new cells or rows.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SPLIT = re.compile(r"[,;\t\r\n]")
_QUOTE = re.compile(r"[,;\t\"\r\n]")
#: A plain number ("-0.12", "+3", "1e-05", "-0,5"): a spreadsheet reads it as a number, never a formula.
NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
_LIVE_AT = re.compile(r"[ \t\r\n\x0b\x0c\xa0\"]*[=+\-@]|[\t\r]")


def neutralise(text: str) -> str:
    """``text`` with a ``'`` wherever a spreadsheet could start a cell that runs as a formula: at the
    start, and after every ``,`` ``;`` tab or line break (where an import with another delimiter, or
    one that breaks rows at a bare CR, starts a new cell), when what follows starts, after spaces and
    quotes, with ``= + - @`` (or is a tab or CR). A text that is a plain number (``"-0.12"``) is left
    alone; inside a longer text, ``;-1`` becomes ``;'-1`` like any other part."""
    if not text or NUMBER.fullmatch(text.strip()):
        return text
    starts = [0] + [m.end() for m in _SPLIT.finditer(text)]
    live = [p for p in starts if _LIVE_AT.match(text, p)]
    if not live:
        return text
    pieces, prev = [], 0
    for p in live:
        pieces += [text[prev:p], "'"]
        prev = p
    pieces.append(text[prev:])
    return "".join(pieces)


def _is_text_column(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s)


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a reader-facing CSV deterministically (UTF-8, comma-separated, LF line ends) so that no
    spreadsheet runs any of its cells as a formula, whatever delimiter it imports with.

    Numbers are never altered: a column of a numeric (or boolean, date) dtype, and a number (int,
    float, numpy number) inside a text column, are written as pandas writes them (floats ``%.6g``), so
    ``-0.12`` stays the number -0.12. Every other cell is text (a ``str`` in an object, string or
    category column, and the column names): a text that is a plain number (``"-0.12"``) is left alone;
    otherwise a ``'`` goes before the text when, after trimming spaces, it starts with ``= + - @``, tab
    or CR, and before every part after a ``,`` ``;`` tab or line break that does (:func:`neutralise`).
    A text cell holding ``,`` ``;`` tab, ``"``, CR or LF is quoted (``"..."``, quotes doubled), so a
    comma import keeps it one cell and a bare CR never starts a row."""
    out = df.copy()
    token = secrets.token_hex(8)
    quoted: list[str] = []

    def cell(v):
        if not isinstance(v, str):
            return v
        t = neutralise(v)
        if _QUOTE.search(t) or token in t:
            quoted.append('"' + t.replace('"', '""') + '"')
            return f"{token}_{len(quoted) - 1}_"
        return t

    for c in out.columns:
        if _is_text_column(out[c]):
            s = out[c].astype(object)
            out[c] = s.map(cell).astype(object)
    out.columns = [cell(c) if isinstance(c, str) else c for c in out.columns]
    text = out.to_csv(None, index=False, lineterminator="\n", float_format="%.6g", quoting=csv.QUOTE_MINIMAL)
    if quoted:
        text = re.sub(re.escape(token) + r"_(\d+)_", lambda m: quoted[int(m.group(1))], text)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
