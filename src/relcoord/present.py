"""Presentation: how numbers and units are shown to readers, in every report and figure.

Numbers follow the language's catalogue (``number`` in ``locales/<lang>.yaml``):
decimal and thousands separators, the percent pattern, intervals ("3,58–3,66";
with a negative bound "−0,10 til 0,20", since a dash would read as a minus).
Every number has a true minus sign; a missing or hidden value is "–"; a count
below k is "< k" (:class:`Fmt`).

Units are shown in one order everywhere (:func:`unit_order`: base units grouped
by area in register order, then networks) under their register names
(:func:`unit_names`, :func:`unit_label`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .locales import text

__all__ = ["MISSING", "fmt_num", "fmt_int", "fmt_pct", "fmt_ci", "fmt_p", "fmt_tick", "Fmt", "units_frame",
           "unit_groups", "unit_order", "unit_names", "unit_kinds", "unit_label"]

#: a missing or hidden value
MISSING = "–"


def _number(lang: str) -> Mapping[str, str]:
    return text(lang)["number"]


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- numbers


def fmt_num(x: Any, lang: str, digits: int = 2, sign: bool = False, missing: str = MISSING) -> str:
    """A number for readers: the language's decimal separator, a true minus sign, "–" for missing."""
    v = _finite(x)
    if v is None:
        return missing
    s = f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"
    if s.lstrip("+-").strip("0.") == "" and s[0] in "+-":      # -0.00 -> 0.00
        s = s[1:] if not sign else "±" + s[1:]
    return s.replace(".", _number(lang)["decimal"]).replace("-", "−")


def fmt_int(x: Any, lang: str, missing: str = MISSING) -> str:
    """A count with the language's thousands separator (Danish 44.100, English 44,100)."""
    v = _finite(x)
    if v is None:
        return missing
    return f"{int(round(v)):,}".replace(",", _number(lang)["thousands"])


def fmt_pct(x: Any, lang: str, digits: int = 0) -> str:
    """A share (0.42) as a percentage in the language's pattern ("42 %", "42%")."""
    s = fmt_num(100 * float(x), lang, digits) if x is not None else MISSING
    return _number(lang)["percent"].format(value=s) if s != MISSING else s


def fmt_ci(lo: Any, hi: Any, lang: str, digits: int = 2) -> str:
    """An interval: "3.58–3.66"; with a negative bound "−0.10 to 0.20" (a dash would read as a minus)."""
    a, b = fmt_num(lo, lang, digits), fmt_num(hi, lang, digits)
    if a == MISSING or b == MISSING:
        return MISSING
    key = "interval_signed" if a.startswith("−") or b.startswith("−") else "interval"
    return _number(lang)[key].format(lo=a, hi=b)


def fmt_p(p: Any, lang: str) -> str:
    """A p value with three decimals; below 0.001 "< 0.001"."""
    v = _finite(p)
    if v is None:
        return MISSING
    if v < 0.001:
        return "< " + fmt_num(0.001, lang, 3)
    return fmt_num(v, lang, 3)


def fmt_tick(v: float, lang: str, digits: int) -> str:
    """Tick label with at least ``digits`` decimals and as many more (up to 2) as the value needs."""
    for d in range(digits, 3):
        if abs(round(v, d) - v) < 1e-9:
            return fmt_num(v, lang, d)
    return fmt_num(v, lang, 2)


class Fmt:
    """Number formatting bound to a language and k (hidden values -> "–", small counts -> "< k")."""

    def __init__(self, lang: str, k: int):
        self.lang, self.k = lang, k

    def num(self, x: Any, digits: int = 2, sign: bool = False) -> str:
        return fmt_num(x, self.lang, digits, sign)

    def count(self, n: Any) -> str:
        v = _finite(n)
        if v is None:
            return MISSING
        if v < self.k:
            return f"< {self.k}"
        return fmt_int(v, self.lang)

    def hidden_count(self, reason: Any) -> str:
        """The count column of a hidden cell: "< k" when it is hidden because fewer than k answered
        (``primary``), "–" when it is hidden to protect a small group (secondary/complementary)."""
        return f"< {self.k}" if str(reason) == "primary" else MISSING

    def ci(self, lo: Any, hi: Any, digits: int = 2) -> str:
        return fmt_ci(lo, hi, self.lang, digits)

    def p(self, p: Any) -> str:
        return fmt_p(p, self.lang)

    def pct(self, x: float, digits: int = 0) -> str:
        return fmt_pct(x, self.lang, digits)


# --------------------------------------------------------------------------- units


def units_frame(units: pd.DataFrame | Sequence[str] | None) -> pd.DataFrame:
    """The unit register as ``unit_id, name, kind, area`` (names default to ids, kind to base);
    a plain list of ids is taken as base units without areas."""
    if units is None:
        return pd.DataFrame(columns=["unit_id", "name", "kind", "area"])
    if not isinstance(units, pd.DataFrame):
        ids = [str(u) for u in units]
        return pd.DataFrame({"unit_id": ids, "name": ids, "kind": "base", "area": ""})
    u = units.copy()
    u["unit_id"] = u["unit_id"].astype(str)
    for c, d in (("name", None), ("kind", "base"), ("area", "")):
        if c not in u.columns:
            u[c] = u["unit_id"] if d is None else d
    u["name"] = u["name"].where(u["name"].notna() & (u["name"].astype(str) != ""), u["unit_id"]).astype(str)
    u["area"] = u["area"].fillna("").astype(str)
    u["kind"] = u["kind"].fillna("base").astype(str)
    return u.drop_duplicates("unit_id").reset_index(drop=True)


def unit_groups(units: pd.DataFrame | Sequence[str] | None) -> list[tuple[str, str, list[str]]]:
    """[(kind, group label, [unit ids])]: base units by area (register order of
    first appearance, units in register order), then networks."""
    u = units_frame(units)
    out: list[tuple[str, str, list[str]]] = []
    base = u[u["kind"] != "network"]
    for area in dict.fromkeys(base["area"].tolist()):
        out.append(("base", area, base.loc[base["area"] == area, "unit_id"].tolist()))
    nets = u.loc[u["kind"] == "network", "unit_id"].tolist()
    if nets:
        out.append(("network", "", nets))
    return out


def unit_order(units: pd.DataFrame | Sequence[str] | None, present: Iterable[str] | None = None) -> list[str]:
    """Unit ids: base units grouped by area, then networks; ids in ``present``
    but not in the register are appended (sorted)."""
    order = [uid for _, _, ids in unit_groups(units) for uid in ids]
    if present is not None:
        pres = {str(p) for p in present}
        order = [o for o in order if o in pres] + sorted(pres - set(order))
    return order


def unit_names(units: pd.DataFrame | Sequence[str] | None) -> dict[str, str]:
    """unit id -> register name."""
    u = units_frame(units)
    return dict(zip(u["unit_id"], u["name"]))


def unit_kinds(units: pd.DataFrame | Sequence[str] | None) -> dict[str, str]:
    """unit id -> kind (base | network)."""
    u = units_frame(units)
    return dict(zip(u["unit_id"], u["kind"]))


def unit_label(uid: str, names: Mapping[str, str]) -> str:
    """"Name (ID)" in tables; the bare id when the unit has no other name."""
    return f"{names.get(uid, uid)} ({uid})" if names.get(uid, uid) != uid else uid
