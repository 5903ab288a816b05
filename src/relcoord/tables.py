"""Small I/O helpers shared by the config tables and the outputs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from .errors import RelcoordError


def read_tsv(path: str | Path, required: list[str], optional: list[str]) -> pd.DataFrame:
    """Read a tab-separated config table as strings (blank -> ""), add missing
    optional columns, and stop naming any required column that is absent."""
    path = Path(path)
    if not path.exists():
        raise RelcoordError("file not found", file=str(path), hint="check the path in config/config.yaml")
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


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a reader-facing CSV deterministically, with text cells that a
    spreadsheet would run as a formula (= + - @ at the start) neutralised."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(out[c]):
            s = out[c].astype(object)
            mask = s.map(lambda v: isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"))
            if mask.any():
                out[c] = s.where(~mask, "'" + s.astype(str))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, lineterminator="\n", float_format="%.6g", quoting=csv.QUOTE_MINIMAL)
