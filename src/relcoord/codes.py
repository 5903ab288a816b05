"""The code grammar: how export texts and answer codes are compared.

One home for the keys every layer matches on: unit names, aliases, labels and
respondent ids by :func:`normalise_text`; answer codes by :func:`plain_code`
(scalar), :func:`answer_key` (a cell against a code map) and
:func:`normalise_code` (a column of cells). Readers, the codebook, the labels
check, validation and the unit register all import these from here.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["MISSING", "is_blank", "normalise_text", "plain_code", "answer_key", "distinct_strings", "normalise_code"]

#: An answer-map target: "don't know" / "not relevant", never a score.
MISSING = "missing"


def is_blank(x) -> bool:
    """An empty cell: None, NaN, pd.NA, NaT, or text of blanks only."""
    return (x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and np.isnan(x))
            or (isinstance(x, str) and not x.strip()))


def normalise_text(text: str) -> str:
    """How unit names, aliases, labels and respondent ids are compared: Unicode NFKC (full-width and
    other compatibility forms fold to their plain form), case-folded, invisible format characters
    (Unicode category Cf: zero-width space/joiners, BOM, soft hyphen, bidi marks) removed, every run
    of whitespace (NBSP included) collapsed to one space, stripped."""
    text = str(text)
    if text.isascii():  # the common case: no compatibility forms, no format characters
        return " ".join(text.split()).lower()
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


#: A plain integer code: ASCII digits with an optional leading '-', optionally followed by a
#: decimal point or comma and one or two zeros ('4', '04', '-1', '4.0', '4,0', '4,00'), after
#: stripping surrounding blanks. Not codes: '1,000' / '4.000' (a thousands separator), '4.5', '+4',
#: '4e0', 'inf', '0x4', '0_4', and digits of other scripts ('٤', full-width '４').
_CODE = re.compile(r"(-?)([0-9]+)(?:[.,]0{1,2})?")


def plain_code(value) -> str | None:
    """The canonical text of a plain integer code ('4,0' -> '4', ' 04 ' -> '4', '-1' -> '-1'), or
    None when ``value`` is not one (see ``_CODE``). Surrounding blanks are ignored."""
    m = _CODE.fullmatch(str(value).strip())
    if m is None:
        return None
    return str(int(m.group(1) + m.group(2)))


def answer_key(value) -> str:
    """How an export value is matched against a code map: a plain integer code (see
    :func:`plain_code`) by its canonical text ('4 ', '4,0', '4.0' -> '4'); other text by
    :func:`normalise_text`, except text that only looks like a code after Unicode normalisation
    (full-width '４', '4' with a zero-width space): that keeps its stripped original, so it never
    matches a code. (The scalar form of :func:`normalise_code`.)"""
    s = str(value).strip()
    code = plain_code(s)
    if code is not None:
        return code
    key = normalise_text(s)
    return s if _CODE.fullmatch(key) else key


def distinct_strings(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(inverse, distinct)``: the cells' distinct values as strings (numpy's
    ``astype(str)``) and each cell's index into them, as
    ``np.unique(values.astype(str), return_inverse=True)`` up to the order of
    the distinct values, by hashing the cells instead of sorting their strings."""
    codes, uniq = pd.factorize(np.asarray(values).ravel(), use_na_sentinel=False)
    return codes, np.asarray(uniq, dtype=object).astype(str)


def normalise_code(values: np.ndarray) -> np.ndarray:
    """A plain integer code -> its canonical text ('4 ', '04', '4,0', '4.0' -> '4'; see
    :func:`plain_code`); blanks -> ''; anything else stripped but unchanged (so
    '1,000', '4e0', 'inf', '0_4', '٤' or a full-width '４' stay text and fail as ``not_a_code``).
    Computed once per distinct value."""
    inv, uniq = distinct_strings(values)
    out = []
    for u in uniq:
        s = u.strip()
        c = plain_code(s)
        out.append(s if c is None else c)
    return np.array(out, dtype=object)[inv].reshape(values.shape)
