"""Write one survey round as an SPSS ``.sav`` file the way SurveyXact names
its variables (and the codebook that reads it: the same as for SurveyXact's
CSV and Excel exports, ``config/codebooks/demo.yaml``).

Variables: ``id`` (string); ``s_1`` base unit (codes 1..J, value labels = unit
names); ``v_2_1 .. v_2_K`` networks (0/1; variable label ``"<question> -
<network name>"``); ``s_3_1 .. s_9_T`` the seven matrix items (export codes;
variable label ``"<question> - <unit name>"``; value labels with the option
texts and 6 = "Ved ikke", which is also declared user-missing); ``b_1`` role
(coded, labelled); ``t_1`` comment; ``email`` (never carried by relcoord).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (BACKGROUND_QUESTIONS, DONT_KNOW_CODE, DONT_KNOW_LABEL, EXPORT_LANG, NETWORK_QUESTION,
                      RATER_QUESTION, background_categories, item_question, option_label, round_codes)
from ..instrument import Instrument, load_instrument

__all__ = ["write_spss", "spss_codebook"]


def spss_codebook(units, instrument) -> dict:
    """The codebook reading what :func:`write_spss` writes (SurveyXact's variable names)."""
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    return {"respondent_id": "id", "rater_unit": "s_1", "networks": "v_2",
            "items": {k: f"s_{3 + q}" for q, k in enumerate(inst.keys)}, "background": {"b_1": [1, 2, 3]}}


def write_spss(study_round, units, instrument, path, *, seed: int = 0, user_missing: bool = True) -> dict:
    """Write ``path`` (a .sav file); returns ``{files, codebook, n_records}``."""
    import pyreadstat

    rc = round_codes(study_round, units, instrument)
    rng = np.random.default_rng(seed)
    n = len(rc.ids)
    data: dict[str, np.ndarray] = {}
    col_labels: dict[str, str] = {}
    value_labels: dict[str, dict] = {}
    missing: dict[str, list] = {}

    data["id"] = rc.ids.astype(str)
    col_labels["id"] = "Respondent-id"
    base_pos = {u: j + 1 for j, u in enumerate(rc.base_ids)}
    data["s_1"] = np.array([base_pos[u] for u in rc.rater], dtype=float)
    col_labels["s_1"] = RATER_QUESTION
    value_labels["s_1"] = {float(j + 1): rc.name_of[u] for j, u in enumerate(rc.base_ids)}
    for k, net in enumerate(rc.net_ids):
        var = f"v_2_{k + 1}"
        data[var] = np.array([1.0 if net in ns else 0.0 for ns in rc.networks])
        col_labels[var] = f"{NETWORK_QUESTION} - {rc.name_of[net]}"
        value_labels[var] = {0.0: "Ikke valgt", 1.0: "Valgt"}
    for q, key in enumerate(rc.items):
        item = rc.instrument.item(key)
        labels = {float(c): option_label(item, c, EXPORT_LANG) for c in sorted(item.codes)}
        labels[float(DONT_KNOW_CODE)] = DONT_KNOW_LABEL
        for m, t in enumerate(rc.targets):
            var = f"s_{3 + q}_{m + 1}"
            c = rc.codes[:, m, q].astype(float)
            c[c < 0] = np.nan
            data[var] = c
            col_labels[var] = f"{item_question(item, EXPORT_LANG)} - {rc.name_of[t]}"
            value_labels[var] = labels
            if user_missing:
                missing[var] = [float(DONT_KNOW_CODE)]
    if "role" in rc.extra.columns:
        role = rc.extra["role"].fillna("").astype(str)
        cats = background_categories(role, "role")
        pos = {c: float(j + 1) for j, c in enumerate(cats)}
        data["b_1"] = np.array([pos.get(v, np.nan) for v in role])
        value_labels["b_1"] = {v: c for c, v in pos.items()}
    else:
        data["b_1"] = np.full(n, np.nan)
    col_labels["b_1"] = BACKGROUND_QUESTIONS["role"]
    data["t_1"] = np.where(rng.random(n) < 0.1, "Vi mangler tid på tværs – æøå", "").astype(str)
    col_labels["t_1"] = "Kommentar"
    data["email"] = np.array([f"person{i}@demokommune.example" for i in range(n)], dtype=str)
    col_labels["email"] = "E-mail"
    df = pd.DataFrame(data)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_sav(df, str(path), column_labels=col_labels, variable_value_labels=value_labels,
                         missing_ranges=missing or None)
    return {"files": [str(path)], "n_records": n, "reader": {}, "codebook": spss_codebook(units, rc.instrument)}
