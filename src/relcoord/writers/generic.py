"""Write one survey round as a generic wide table, the way a Danish
spreadsheet or an in-house tool would (and the codebook that reads it).

Columns: ``Respondent``; ``Enhed`` (the base unit's name); ``Netværk`` (the
networks' names separated by ``, ``); one column per item and target unit;
``Stilling`` (role, as text); ``Bemærkning`` (comment). Answers are export
codes, 6 = "Ved ikke"; with ``decimal_comma`` every seventh answer is written
``4,0`` (a spreadsheet's number format), which reads as the code 4.

``naming="pattern"`` names answer columns ``hyppig_HJP`` (item stem + unit
id; read with ``pattern: "hyppig_{target}"``); ``naming="question"`` names them
``"Hyppig kommunikation - Hjemmeplejen"`` (read with the question name
``"Hyppig kommunikation"``).

``kind="csv"``: ``;`` and cp1252 by default (what Excel's "CSV (semikolon-
separeret)" writes on a Danish Windows), or any delimiter/encoding;
``kind="xlsx"``: one sheet (``sheet``), numbers as numbers.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from pathlib import Path

import numpy as np

from ._common import code_strings, round_codes
from ..instrument import Instrument, load_instrument

__all__ = ["write_generic", "generic_codebook", "STEMS"]

#: item key -> column stem (naming="pattern")
STEMS = {"frequent": "hyppig", "timely": "rettidig", "accurate": "praecis", "problem_solving": "problemloesning",
         "shared_goals": "maal", "shared_knowledge": "viden", "mutual_respect": "respekt"}


def _stem(key: str) -> str:
    return STEMS.get(key, key)


def generic_codebook(units, instrument, *, naming: str = "pattern") -> dict:
    """The codebook reading what :func:`write_generic` writes."""
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    if naming == "pattern":
        items = {k: {"pattern": f"{_stem(k)}_{{target}}"} for k in inst.keys}
    else:
        items = {k: inst.item(k).label("da") for k in inst.keys}
    return {"respondent_id": "Respondent", "rater_unit": "Enhed",
            "networks": {"variable": "Netværk", "separator": ","}, "items": items,
            "background": {"Stilling": ["Leder", "Medarbejder", "Andet"]}}


def write_generic(study_round, units, instrument, path, *, kind: str = "csv", delimiter: str = ";",
                  encoding: str = "cp1252", decimal_comma: bool = True, naming: str = "pattern",
                  sheet: str = "Svar", lineterminator: str = "\r\n", seed: int = 0) -> dict:
    """Write ``path`` (.csv or .xlsx); returns ``{files, codebook, reader, n_records}``."""
    if kind not in ("csv", "xlsx") or naming not in ("pattern", "question"):
        raise ValueError("kind must be 'csv' or 'xlsx', naming 'pattern' or 'question'")
    rc = round_codes(study_round, units, instrument)
    rng = np.random.default_rng(seed)
    n = len(rc.ids)
    names: list[str] = ["Respondent", "Enhed", "Netværk"]
    cols: list[np.ndarray] = [rc.ids.astype(object), np.array([rc.name_of[u] for u in rc.rater], dtype=object),
                              np.array([", ".join(rc.name_of[x] for x in ns) for ns in rc.networks], dtype=object)]
    numeric: list[bool] = [False, False, False]
    for q, key in enumerate(rc.items):
        item = rc.instrument.item(key)
        cube = rc.codes[:, :, q]
        for m, t in enumerate(rc.targets):
            names.append(f"{_stem(key)}_{t}" if naming == "pattern" else f"{item.label('da')} - {rc.name_of[t]}")
            if kind == "xlsx":
                cols.append(cube[:, m].astype(object))
                numeric.append(True)
            else:
                text = code_strings(cube[:, m])
                if decimal_comma:
                    every7 = (np.arange(n) + m + q) % 7 == 0
                    text = np.where(every7 & (text != ""), np.char.add(text.astype(str), ",0"), text).astype(object)
                cols.append(text)
                numeric.append(False)
    role = rc.extra["role"].fillna("").astype(str).to_numpy(dtype=object) if "role" in rc.extra.columns \
        else np.full(n, "", dtype=object)
    names += ["Stilling", "Bemærkning"]
    cols += [role, np.where(rng.random(n) < 0.1, "Godt samarbejde; men for lidt tid, især om fredagen", "")
             .astype(object)]
    numeric += [False, False]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator, quoting=csv.QUOTE_MINIMAL)
        w.writerow(names)
        w.writerows(np.column_stack(cols).tolist())
        with open(path, "w", encoding=encoding, newline="") as fh:
            fh.write(buf.getvalue())
        reader = {"encoding": "auto", "delimiter": "auto"}
    else:
        from openpyxl import Workbook
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet)
        ws.append(names)
        for row in zip(*cols):
            ws.append([(None if v < 0 else int(v)) if num else (v if v != "" else None)
                       for v, num in zip(row, numeric)])
        fixed = _dt.datetime(2024, 1, 1)
        wb.properties.created = wb.properties.modified = fixed
        wb.save(path)
        reader = {"sheet": sheet}
    return {"files": [str(path)], "n_records": n, "reader": reader,
            "codebook": generic_codebook(units, rc.instrument, naming=naming)}
