"""Write one survey round in the canonical long format (and the codebook that reads it).

``responses.csv``: ``respondent_id, rater_unit, target_unit, item, value,
answer`` -- one row per (respondent, target unit, item); ``value`` the score
(empty when missing), ``answer`` ``valid``, ``dont_know`` or ``blank``.
``respondents.csv``: ``respondent_id, rater_unit, networks`` (network ids
separated by ``;``) and the background columns. UTF-8, ``,``, LF.
This is also what any other tool can produce for relcoord to read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..instrument import Instrument, default_instrument, load_instrument
from ..writers.surveyxact import _split_round

__all__ = ["write_canonical", "canonical_codebook"]


def canonical_codebook(units=None, instrument=None) -> dict:
    """The codebook reading the canonical format: item keys as they are, values as scores."""
    inst = (instrument if isinstance(instrument, Instrument) else
            load_instrument(instrument) if instrument is not None else default_instrument())
    return {"respondent_id": "respondent_id", "rater_unit": "rater_unit",
            "networks": {"variable": "networks", "separator": ";"},
            "items": {k: k for k in inst.keys}, "values": "scores",
            "background": {"role": ["Leder", "Medarbejder", "Andet"]}}


def write_canonical(study_round, units, instrument, path, *, seed: int = 0) -> dict:
    """Write ``path/responses.csv`` and ``path/respondents.csv``; returns ``{files, codebook, n_records}``."""
    responses, respondents, dont_know = _split_round(study_round)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    r = responses[["respondent_id", "rater_unit", "target_unit", "item", "value"]].copy()
    v = r["value"].to_numpy(dtype=float)
    dk = np.zeros(len(r), dtype=bool) if dont_know is None else np.asarray(dont_know, dtype=bool)
    r["value"] = np.where(np.isnan(v), "", pd.Series(v).map(lambda x: "" if x != x else
                                                            (str(int(x)) if float(x).is_integer() else repr(x))))
    r["answer"] = np.select([~np.isnan(v), dk], ["valid", "dont_know"], "blank")
    r.to_csv(path / "responses.csv", index=False, lineterminator="\n")
    p = respondents.copy()
    p.to_csv(path / "respondents.csv", index=False, lineterminator="\n")
    cb = canonical_codebook(units, instrument)
    # background fields are categorical: the codebook lists each field's values (codebook.background_spec)
    cb["background"] = {c: vals for c in p.columns if c not in ("respondent_id", "rater_unit", "networks")
                        if (vals := sorted(set(p[c].dropna().astype(str).str.strip()) - {""}))}
    if not cb["background"]:
        del cb["background"]
    return {"files": [str(path / "responses.csv"), str(path / "respondents.csv")], "n_records": len(p),
            "reader": {}, "codebook": cb}
