"""Writing a stage's tables to the output contract's files, deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .tables import write_csv


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Parquet without pandas' index or timestamps (reproducible bytes)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


def write_json(obj: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n",
                          encoding="utf-8")


__all__ = ["write_csv", "write_json", "write_parquet"]
