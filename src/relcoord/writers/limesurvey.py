"""Write one survey round as a LimeSurvey CSV export (and the codebook that reads it).

As LimeSurvey's CSV writer does: UTF-8 with a byte-order mark, every field
quoted, CRLF, ``;`` between fields (LimeSurvey's CSV export). Columns: ``id``,
``submitdate``, ``lastpage``, ``startlanguage``, ``seed``; ``enhed`` (base
unit, a list question); ``netvaerk[SQ001]`` .. (networks, a multiple-choice
question: ``Y`` ticked, empty not); ``RC1[SQ001]`` .. ``RC7[SQ0TT]`` (the seven
items as array questions, one sub-question per target unit in register
order); ``rolle``; ``kommentar``.

``answers="codes"`` writes answer codes (``A1`` .. ``A5`` = the export codes,
``A6`` = "Ved ikke"; ``enhed`` as ``A1`` .. in register order);
``answers="text"`` writes the full answer texts (Danish options, unit names,
``Ja`` for a ticked network). ``headings="code"`` writes question codes
(``RC1[SQ001]``); ``headings="code_text"`` writes LimeSurvey's "question code &
question text" headings (``RC1[SQ001]. <question> [<unit name>]``). ``spss_names``
writes the SPSS/R variant ``RC1_SQ001``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import (BACKGROUND_QUESTIONS, EXPORT_LANG, NETWORK_QUESTION, RATER_QUESTION,
                      background_categories, code_strings, item_question, round_codes, text_answers)
from ..instrument import Instrument, load_instrument

__all__ = ["write_limesurvey", "limesurvey_codebook"]


def _sq(name: str, k: int, spss_names: bool) -> str:
    return f"{name}_SQ{k:03d}" if spss_names else f"{name}[SQ{k:03d}]"


def limesurvey_codebook(units, instrument, *, answers: str = "codes", headings: str = "code",
                        spss_names: bool = False) -> dict:
    """The codebook reading what :func:`write_limesurvey` writes."""
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    base = units.loc[units["kind"] == "base", "unit_id"].tolist()
    nets = units.loc[units["kind"] == "network", "unit_id"].tolist()
    targets = base + nets
    open_, close = ("_SQ", "") if spss_names else ("[SQ", "]")
    cb: dict = {"respondent_id": "id"}
    if answers == "codes":
        cb["rater_unit"] = {"variable": "enhed", "codes": {f"A{j + 1}": u for j, u in enumerate(base)}}
    else:
        cb["rater_unit"] = "enhed"
    selected = ["Y"] if answers == "codes" else ["Ja"]
    if headings == "code_text":
        cb["networks"] = {"question": "netvaerk", "selected": selected}
        cb["items"] = {key: f"RC{q + 1}" for q, key in enumerate(inst.keys)}
    else:
        cb["networks"] = {"pattern": f"netvaerk{open_}{{n}}{close}", "targets": {k + 1: u for k, u in enumerate(nets)},
                          "selected": selected}
        tmap = {m + 1: t for m, t in enumerate(targets)}
        cb["items"] = {key: {"pattern": f"RC{q + 1}{open_}{{n}}{close}", "targets": tmap}
                       for q, key in enumerate(inst.keys)}
    if answers == "codes":
        cb["answers"] = {"A1": 1, "A2": 2, "A3": 3, "A4": 4, "A5": 5, "A6": "missing"}
    else:
        cb["answers"] = "options"
    cb["background"] = {"rolle": ["A1", "A2", "A3"] if answers == "codes" else ["Leder", "Medarbejder", "Andet"]}
    return cb


def write_limesurvey(study_round, units, instrument, path, *, answers: str = "codes", headings: str = "code",
                     spss_names: bool = False, delimiter: str = ";", seed: int = 0) -> dict:
    """Write ``path`` (a .csv file); returns ``{files, codebook, n_records}``."""
    if answers not in ("codes", "text") or headings not in ("code", "code_text"):
        raise ValueError("answers must be 'codes' or 'text', headings 'code' or 'code_text'")
    rc = round_codes(study_round, units, instrument)
    rng = np.random.default_rng(seed)
    n = len(rc.ids)
    heads: list[str] = []
    cols: list[np.ndarray] = []

    def add(code: str, text: str, values) -> None:
        heads.append(f"{code}. {text}" if headings == "code_text" and text else code)
        cols.append(np.asarray(values, dtype=object))

    add("id", "", rc.ids)
    add("submitdate", "", np.array([f"2025-03-{1 + d:02d} 10:{m:02d}:00" for d, m in
                                    zip(rng.integers(0, 14, n), rng.integers(0, 60, n))], dtype=object))
    add("lastpage", "", np.full(n, "3", dtype=object))
    add("startlanguage", "", np.full(n, "da", dtype=object))
    add("seed", "", rng.integers(10 ** 8, 10 ** 9, n).astype(str).astype(object))
    base_pos = {u: j + 1 for j, u in enumerate(rc.base_ids)}
    if answers == "codes":
        add("enhed", RATER_QUESTION, np.array([f"A{base_pos[u]}" for u in rc.rater], dtype=object))
    else:
        add("enhed", RATER_QUESTION, np.array([rc.name_of[u] for u in rc.rater], dtype=object))
    tick = "Y" if answers == "codes" else "Ja"
    for k, net in enumerate(rc.net_ids):
        add(_sq("netvaerk", k + 1, spss_names), f"{NETWORK_QUESTION} [{rc.name_of[net]}]",
            np.array([tick if net in ns else "" for ns in rc.networks], dtype=object))
    for q, key in enumerate(rc.items):
        item = rc.instrument.item(key)
        cube = code_strings(rc.codes[:, :, q], "A") if answers == "codes" else text_answers(rc, q, EXPORT_LANG)
        for m, t in enumerate(rc.targets):
            add(_sq(f"RC{q + 1}", m + 1, spss_names), f"{item_question(item, EXPORT_LANG)} [{rc.name_of[t]}]",
                cube[:, m])
    if "role" in rc.extra.columns:
        role = rc.extra["role"].fillna("").astype(str)
        cats = background_categories(role, "role")
        pos = {c: f"A{j + 1}" for j, c in enumerate(cats)}
        vals = [pos.get(v, "") for v in role] if answers == "codes" else list(role)
        add("rolle", BACKGROUND_QUESTIONS["role"], np.array(vals, dtype=object))
    else:
        add("rolle", BACKGROUND_QUESTIONS["role"], np.full(n, "", dtype=object))
    add("kommentar", "Kommentar", np.where(rng.random(n) < 0.1, 'Mere "tværgående" tid; tak', "").astype(object))

    def q(s) -> str:
        return '"' + str(s).replace('"', '""') + '"'

    lines = [delimiter.join(q(h) for h in heads)]
    mat = np.column_stack(cols)
    lines += [delimiter.join(q(x) for x in row) for row in mat.tolist()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write("\r\n".join(lines) + "\r\n")
    return {"files": [str(path)], "n_records": n, "reader": {},
            "codebook": limesurvey_codebook(units, rc.instrument, answers=answers, headings=headings,
                                            spss_names=spss_names)}
