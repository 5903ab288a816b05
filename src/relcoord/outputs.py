"""Writing a stage's tables to the output contract's files, deterministically."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .tables import write_csv


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Parquet without pandas' index or timestamps (reproducible bytes)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


def read_parquet(path: str | Path, columns: Sequence[str], categorical: Sequence[str] = ()) -> pd.DataFrame:
    """The ``columns`` of a parquet file that it has (in that order): a stage reads only what it uses.
    ``categorical``: text columns to read as categoricals (one string per distinct value)."""
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in columns if c in names], engine="pyarrow",
                           read_dictionary=[c for c in categorical if c in names] or None)


def write_json(obj: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n",
                          encoding="utf-8")


__all__ = ["read_parquet", "write_csv", "write_json", "write_parquet"]


#: the zip entry time of every workbook relcoord writes (same bytes for the same input)
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def deterministic_xlsx(data: bytes) -> bytes:
    """A workbook (openpyxl's bytes) rewritten with fixed zip entry times and a fixed
    ``dcterms:modified`` (openpyxl stamps 'now'), so the same input gives the same bytes."""
    y, mo, d, h, mi, se = FIXED_ZIP_TIME
    stamp = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{se:02d}Z"
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, content)
    return out.getvalue()
