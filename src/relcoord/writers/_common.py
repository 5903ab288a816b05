"""What every export writer needs from a simulated round: the respondents, and
the cube of export codes (respondent x target unit x item) that the
instrument's code -> score map turns back into the simulated scores.

The cube holds the *export code* of each answer (the inverse of the item's
``codes`` map, so the RC Survey 2.0 frequency trap and reversed items survive
a round trip), ``DONT_KNOW_CODE`` for a "don't know" and -1 for a blank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..instrument import Instrument, load_instrument
from .surveyxact import (BACKGROUND_ORDER, BACKGROUND_QUESTIONS, DONT_KNOW_LABEL, EXPORT_LANG, NETWORK_QUESTION,
                         RATER_QUESTION, _score_to_code, _split_round, option_label)

__all__ = ["RoundCodes", "round_codes", "DONT_KNOW_CODE", "DONT_KNOW_LABEL", "RATER_QUESTION", "NETWORK_QUESTION",
           "BACKGROUND_QUESTIONS", "EXPORT_LANG", "option_label", "item_question", "background_categories"]

DONT_KNOW_CODE = 6


@dataclass
class RoundCodes:
    ids: np.ndarray              # respondent ids (str), in respondents order
    rater: np.ndarray            # base unit_id per respondent
    networks: list[list[str]]    # network unit_ids per respondent (register order)
    extra: pd.DataFrame          # background columns of respondents (e.g. role)
    codes: np.ndarray            # (n, T, I) export codes, -1 blank
    targets: list[str]           # unit_ids, register order
    items: list[str]             # item keys, instrument order
    base_ids: list[str]
    net_ids: list[str]
    name_of: dict[str, str]      # unit_id -> name
    instrument: Instrument


def item_question(item, lang: str) -> str:
    return item.question.get(lang) or item.question.get("en") or item.label(lang)


def background_categories(values: pd.Series, column: str) -> list[str]:
    """The categories of a background column in a fixed order (codes 1..K)."""
    pref = BACKGROUND_ORDER.get(column, [])
    seen = set(values.fillna("").astype(str)) - {""}
    return [v for v in pref if v in seen] + sorted(seen - set(pref))


def round_codes(study_round, units: pd.DataFrame, instrument, dont_know_code: int = DONT_KNOW_CODE) -> RoundCodes:
    """The export-code cube of one simulated round over every unit (register order) and item."""
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    responses, respondents, dont_know = _split_round(study_round)
    base_ids = units.loc[units["kind"] == "base", "unit_id"].tolist()
    net_ids = units.loc[units["kind"] == "network", "unit_id"].tolist()
    targets = base_ids + net_ids
    items = list(inst.keys)
    ids = respondents["respondent_id"].astype(str).to_numpy(dtype=object)
    if not pd.Index(ids).is_unique:
        raise ValueError("respondent ids in respondents are not unique")
    n = len(ids)
    r_index, t_index, i_index = pd.Index(ids), pd.Index(targets), pd.Index(items)
    sel = (responses["item"].isin(items) & responses["target_unit"].isin(targets)).to_numpy()
    resp = responses[sel]
    ri = r_index.get_indexer(resp["respondent_id"].astype(str))
    if (ri < 0).any():
        raise ValueError("responses hold respondent ids missing from respondents")
    ti = t_index.get_indexer(resp["target_unit"].astype(str))
    ii = i_index.get_indexer(resp["item"].astype(str))
    vals = resp["value"].to_numpy(dtype=float)
    cell = np.full(len(vals), -1, dtype=np.int64)
    for q, key in enumerate(items):
        inv = _score_to_code(inst.item(key))
        s = (ii == q) & ~np.isnan(vals)
        v = vals[s]
        if (v != np.round(v)).any():
            raise ValueError(f"item {key}: non-integer scores")
        c = np.array([inv.get(int(x), -2) for x in v], dtype=np.int64)
        if (c == -2).any():
            raise ValueError(f"item {key}: a score has no export code in the instrument")
        cell[s] = c
    if dont_know is not None:
        dk = np.asarray(dont_know, dtype=bool)[sel]
        cell[dk & np.isnan(vals)] = dont_know_code
    codes = np.full((n, len(targets), len(items)), -1, dtype=np.int64)
    codes[ri, ti, ii] = cell
    nets = respondents["networks"].fillna("").astype(str)
    networks = [[u for u in net_ids if u in set(x.replace(" ", "").split(";"))] for x in nets]
    extra = respondents[[c for c in respondents.columns if c not in ("respondent_id", "rater_unit", "networks")]]
    return RoundCodes(ids=ids, rater=respondents["rater_unit"].astype(str).to_numpy(dtype=object),
                      networks=networks, extra=extra.reset_index(drop=True), codes=codes, targets=targets,
                      items=items, base_ids=base_ids, net_ids=net_ids,
                      name_of=dict(zip(units["unit_id"], units["name"])), instrument=inst)


def text_answers(rc: RoundCodes, q: int, lang: str) -> np.ndarray:
    """(n, T) answer texts of item q: the option text of each code, "Ved ikke", "" for blank."""
    item = rc.instrument.item(rc.items[q])
    lut = {c: option_label(item, c, lang) for c in item.codes}
    lut[DONT_KNOW_CODE] = DONT_KNOW_LABEL
    lut[-1] = ""
    cube = rc.codes[:, :, q]
    uniq, inv = np.unique(cube, return_inverse=True)
    return np.array([lut[int(u)] for u in uniq], dtype=object)[inv].reshape(cube.shape)


def code_strings(a: np.ndarray, prefix: str = "") -> np.ndarray:
    """Integer codes -> text ("" for -1), optionally prefixed (LimeSurvey's A1..A6)."""
    uniq, inv = np.unique(a, return_inverse=True)
    return np.array(["" if u < 0 else f"{prefix}{u}" for u in uniq], dtype=object)[inv].reshape(a.shape)
