"""Reader for SPSS ``.sav`` / ``.zsav`` exports (SurveyXact and LimeSurvey
both write them), via pyreadstat.

Values become the text a person sees in SPSS's Data View with value labels
off: whole numbers without decimals (``3.0`` -> ``"3"``), system-missing
-> ``""``, strings as they are, dates in ISO form. What SPSS knows about the
variables becomes the export's metadata:

- value labels -> ``labels`` (so a base-unit code is named by its label, and
  an answer code labelled "Ved ikke" / "Ikke relevant" is recognised as
  missing through the instrument's ``missing_labels``);
- user-defined missing values (declared in SPSS as missing) are kept as codes
  and treated as "don't know", never as a score;
- variable labels -> the structure's question text: the question of
  ``s_3_1`` is ``s_3`` (SurveyXact) and of ``Q3_SQ001`` is ``Q3``
  (LimeSurvey), and a matrix row's target unit is read from the label after
  the last " - " or inside a trailing ``[...]``.

``source_row`` is the case number (SPSS's Data View row; the first case is 1).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers._limits import check_regular_file
from relcoord.readers._text import cell_text, encoding_option, file_series, sniff_kind, structure_frame

__all__ = ["read_spss", "question_of", "render_numbers"]

HINT = ("export the data again as SPSS (.sav) from SurveyXact or LimeSurvey, or set the round's `format:` to the "
        "file's real format")
_SURVEYXACT = re.compile(r"^([A-Za-z]+_\d+)_\d+$")
_LIMESURVEY = re.compile(r"^(.+?)_(SQ[0-9A-Za-z]*)$")


def question_of(name: str) -> str:
    """``s_3_1`` -> ``s_3``; ``v_2_4`` -> ``v_2``; ``Q3_SQ001`` -> ``Q3``; anything else unchanged."""
    for pat in (_SURVEYXACT, _LIMESURVEY):
        m = pat.match(name)
        if m:
            return m.group(1)
    return name


def _number_text(v: float) -> str:
    if v != v:
        return ""
    if v in (float("inf"), float("-inf")):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return format(float(v), ".15g")


def render_numbers(values: np.ndarray) -> np.ndarray:
    """Numbers -> text, computed once per distinct value (NaN -> "")."""
    values = np.asarray(values, dtype=float)
    uniq, inv = np.unique(values, return_inverse=True)   # NaNs sort last, one entry each
    text = np.array([_number_text(u) for u in uniq], dtype=object)
    return text[inv.reshape(-1)]


def _column_text(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        return np.where(s.to_numpy(), "1", "0").astype(object)
    if pd.api.types.is_numeric_dtype(s):
        return render_numbers(s.to_numpy(dtype=float))
    if pd.api.types.is_datetime64_any_dtype(s):
        return np.array(["" if pd.isna(v) else cell_text(v.to_pydatetime()) for v in s], dtype=object)
    cache: dict = {}

    def text(v) -> str:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            return ""
        key = (type(v), v)
        if key not in cache:
            cache[key] = cell_text(v)
        return cache[key]

    return np.array([text(v) for v in s.to_numpy(dtype=object)], dtype=object)


def _read_child(path: str, encoding: str | None, conn) -> None:
    """Run in a child process: read the file and send (True, (data, metadata)) or (False, message)."""
    try:
        import pyreadstat
        df, meta = pyreadstat.read_sav(path, user_missing=True, apply_value_formats=False, encoding=encoding)
        info = {"column_labels": meta.column_labels, "variable_value_labels": meta.variable_value_labels,
                "missing_ranges": getattr(meta, "missing_ranges", None) or {},
                "file_encoding": getattr(meta, "file_encoding", None)}
        conn.send((True, (df, info)))
    except BaseException as exc:  # noqa: BLE001 - every failure of the C library becomes one clear stop
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _read_isolated(p: Path, encoding: str | None):
    """pyreadstat in a child process: ReadStat (C) can crash on a damaged file (a segmentation fault
    found by fuzzing pyreadstat 1.3.7); a crash must end in a clear stop, never take the run down."""
    import multiprocessing as mp
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_read_child, args=(str(p), encoding, sender), daemon=True)
    proc.start()
    sender.close()
    try:
        message = receiver.recv()
    except EOFError:
        message = None
    finally:
        receiver.close()
        proc.join()
    hint = HINT + "; if the texts are garbled, set `reader: {encoding: ...}`"
    if message is None:
        raise RelcoordError(f"cannot read the SPSS file: the reader crashed on it (exit code {proc.exitcode}), so "
                            "the file is damaged or not a valid .sav", file=str(p), hint=hint)
    ok, payload = message
    if not ok:
        raise RelcoordError(f"cannot read the SPSS file ({payload})", file=str(p), hint=hint)
    return payload


def read_spss(path: str | Path, *, encoding: str = "auto") -> RawExport:
    """Read an SPSS ``.sav``/``.zsav`` file with its value labels and user-missing values."""
    p = Path(path)
    if not p.exists():
        raise RelcoordError("the SPSS export does not exist", file=str(p),
                            hint="check the path in the round's config; it must name the .sav file")
    if p.is_dir():
        raise RelcoordError("this is a folder; an SPSS export is one .sav file", file=str(p), hint=HINT)
    check_regular_file(p)   # a pipe or device would block or never end
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise RelcoordError(f"cannot read the file: {exc.strerror or exc}", file=str(p),
                            hint="check that the file exists and is readable") from None
    if sniff_kind(head) != "sav":
        what = {"zip": "an Excel workbook or another zip archive", "xls": "an old-style .xls/OLE file",
                "pdf": "a PDF document", "gzip": "a gzip-compressed file"}.get(sniff_kind(head) or "",
                                                                             "a text or other file")
        raise RelcoordError(f"this is not an SPSS .sav file (it does not start with $FL2/$FL3; it looks like {what})",
                            file=str(p), hint=HINT)
    enc = encoding_option(encoding)
    df, meta = _read_isolated(p, enc)
    if df.shape[1] == 0:
        raise RelcoordError("the SPSS file has no variables", file=str(p), hint=HINT)
    if df.shape[0] == 0:
        raise RelcoordError("the SPSS file has variables but no cases (respondents)", file=str(p),
                            hint="check that the export is from the right survey and that it has responses")
    names = [str(c) for c in df.columns]
    data = pd.DataFrame({n: _column_text(df[c]) for n, c in zip(names, df.columns)}, columns=names, dtype=object)
    labels = []
    for var, vl in (meta["variable_value_labels"] or {}).items():
        for value, label in vl.items():
            text = _number_text(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
                else str(value)
            labels.append((var, text, "" if label is None else str(label)))
    labels_df = pd.DataFrame(labels, columns=["variable", "value", "label"], dtype=object)
    missing: dict[str, set[str]] = {}
    for var, ranges in (meta["missing_ranges"] or {}).items():
        if var not in data.columns:
            continue
        col = df[var]
        hits: set[str] = set()
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if pd.api.types.is_numeric_dtype(col) and isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
                vals = pd.unique(col.dropna())
                hits |= {_number_text(v) for v in vals if lo <= v <= hi}
            elif lo is not None:
                hits.add(str(lo))
        if hits:
            missing[var] = hits
    col_labels = list(meta["column_labels"] or [None] * len(names))
    texts = ["" if t is None else str(t) for t in col_labels]
    structure = structure_frame(names, question_of, texts)
    return RawExport(
        data=data, source_file=file_series(data.index, str(p)),
        source_row=pd.Series(np.arange(1, len(data) + 1), index=data.index, dtype="int64", name="source_row"),
        structure=structure, labels=labels_df, files=[p], format="spss-sav",
        encoding=meta["file_encoding"], delimiter=None, missing_values=missing)
