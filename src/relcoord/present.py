"""Presentation: how numbers and units are shown to readers, in every report and figure.

Numbers follow the language's catalogue (``number`` in ``locales/<lang>.yaml``):
decimal and thousands separators, the percent pattern, intervals ("3,58–3,66";
with a negative bound "−0,10 til 0,20", since a dash would read as a minus),
dates ("1. marts 2024"). Every number has a true minus sign; a hidden value is
"–"; a count below k is "< k" (:class:`Fmt`); a number that does not exist
(not asked, not computed) is "ikke oplyst" / "n/a" (:func:`not_available`).

The headline's sentences (``s_*``) are pure functions, numbers in, text out:
each direction word ("steg", "fell less", ...) follows from the sign and the
significance of the numbers it stands beside (tests/test_sentences.py).

Units are shown in one order everywhere (:func:`unit_order`: base units grouped
by area in register order, then networks) under their register names
(:func:`unit_names`, :func:`unit_label`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from .locales import text

__all__ = ["MISSING", "fmt_num", "fmt_int", "fmt_pct", "fmt_ci", "fmt_p", "fmt_tick", "fmt_date", "not_available",
           "Fmt", "units_frame", "unit_groups", "unit_order", "unit_names", "unit_kinds", "unit_label",
           "ci_direction", "test_direction", "magnitude", "network_case", "s_org_level", "s_subscales", "s_change",
           "s_network_effect", "s_sensitivity", "s_ties", "s_blocks"]

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

    @property
    def na(self) -> str:
        """The mark of a number that does not exist (:func:`not_available`)."""
        return not_available(self.lang)


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


# --------------------------------------------------------------------------- dates and marks


def fmt_date(iso: Any, lang: str) -> str:
    """An ISO date ("2024-03-01") the language's way ("1. marts 2024", "1 March 2024");
    anything else is returned as given."""
    s = "" if iso is None else str(iso)
    try:
        y, m, d = (int(x) for x in s[:10].split("-"))
        months = _number(lang)["months"].split()
        return _number(lang)["date"].format(day=d, month=months[m - 1], year=y)
    except (ValueError, IndexError):
        return s


def not_available(lang: str) -> str:
    """The mark of a number that does not exist (not asked, not computed), as opposed to a hidden one ("–")."""
    return _number(lang)["not_available"]


# --------------------------------------------------------------------------- sentences
# The headline's sentences: pure functions, numbers in, text out (Markup: labels are escaped). Each
# says what its numbers say: the direction word comes from the sign of the estimate, and only when it
# is significant (p below alpha, or a confidence interval that leaves out 0); otherwise "no clear
# change". The texts are the catalogue's group ``sentences``.

ALPHA = 0.05


def _s(lang: str) -> Mapping[str, str]:
    return text(lang)["sentences"]


def _say(lang: str, key: str, **kw: Any) -> Markup:
    return Markup(_s(lang)[key]).format(**kw)


def ci_direction(lo: Any, hi: Any) -> int:
    """+1 when a confidence interval lies above 0, −1 when below, 0 when it covers 0 (or is missing)."""
    a, b = _finite(lo), _finite(hi)
    if a is None or b is None:
        return 0
    return 1 if a > 0 else -1 if b < 0 else 0


def test_direction(estimate: Any, p: Any, alpha: float = ALPHA) -> int:
    """+1 / −1: the sign of a significant estimate (p < alpha); 0 otherwise."""
    e, pv = _finite(estimate), _finite(p)
    if e is None or pv is None or pv >= alpha or e == 0:
        return 0
    return 1 if e > 0 else -1


test_direction.__test__ = False          # not a pytest test


def magnitude(x: Any, lang: str) -> str:
    """|x| with two decimals; "under 0,01" when it would print as 0,00."""
    v = _finite(x)
    if v is None:
        return MISSING
    s = fmt_num(abs(v), lang)
    return _s(lang)["tiny"].format(v=fmt_num(0.01, lang)) if abs(v) < 0.005 else s


def s_org_level(mean: Any, lo: Any, hi: Any, n: Any, level: str | None, lang: str) -> Markup:
    """The round's headline: the organisation's RC index and its level (weak | moderate | strong)."""
    if _finite(mean) is None or level is None:
        return _say(lang, "org_hidden")
    return _say(lang, "org_level", mean=fmt_num(mean, lang), lo=fmt_num(lo, lang), hi=fmt_num(hi, lang),
                n=fmt_int(n, lang), level=_s(lang)[f"level_{level}"])


def s_subscales(comm: Any, comm_lo: Any, comm_hi: Any, rel: Any, rel_lo: Any, rel_hi: Any, lang: str) -> Markup:
    """Communication against goals, knowledge and respect: higher / lower only when the intervals do not overlap."""
    kw = {"comm": fmt_num(comm, lang), "rel": fmt_num(rel, lang)}
    c_lo, c_hi, r_lo, r_hi = (_finite(x) for x in (comm_lo, comm_hi, rel_lo, rel_hi))
    if None not in (c_lo, c_hi, r_lo, r_hi):
        if c_hi < r_lo:
            return _say(lang, "sub_lower", **kw)
        if r_hi < c_lo:
            return _say(lang, "sub_higher", **kw)
    return _say(lang, "sub_same", **kw)


def s_change(diff: Any, p: Any, mean_a: Any, mean_b: Any, label_a: str, label_b: str, lang: str) -> Markup:
    """The comparison's headline: the organisation's coordination rose / fell / did not change clearly
    (``p``: the FDR-adjusted p value of the change)."""
    if _finite(diff) is None:
        return _say(lang, "change_hidden")
    kw = {"a": fmt_num(mean_a, lang), "b": fmt_num(mean_b, lang), "la": label_a, "lb": label_b,
          "diff": magnitude(diff, lang), "sdiff": fmt_num(diff, lang, sign=True)}
    d = test_direction(diff, p)
    return _say(lang, "change_up" if d > 0 else "change_down" if d < 0 else "change_none", **kw)


def network_case(did: Any, did_lo: Any, did_hi: Any, other: Any = None, other_lo: Any = None,
                 other_hi: Any = None) -> str:
    """How relations between base units that share a network changed against the other relations between
    base units, from the difference in differences (``did``, its interval) and the change of the others
    (``other``, the model's round term, its interval): ``same`` (the interval of ``did`` covers 0),
    ``rose_more``, ``fell_less``, ``rose_less``, ``fell_more``, ``rose_others_fell``,
    ``fell_others_rose``, or ``better`` / ``worse`` when the change of the others is not known."""
    d = ci_direction(did_lo, did_hi)
    if d == 0 or _finite(did) is None:
        return "same"
    o = _finite(other)
    if o is None:
        return "better" if d > 0 else "worse"
    net = o + float(did)
    o_dir = ci_direction(other_lo, other_hi)
    if d > 0:
        if o >= 0:
            return "rose_more"
        if net < 0:
            return "fell_less"
        return "rose_others_fell" if o_dir < 0 else "rose_more"
    if o <= 0:
        return "fell_more"
    if net > 0:
        return "rose_less"
    return "fell_others_rose" if o_dir > 0 else "fell_more"


def s_network_effect(did: Any, did_lo: Any, did_hi: Any, other: Any, other_lo: Any, other_hi: Any,
                     label_b: str, lang: str) -> Markup:
    """The network effect in plain words (:func:`network_case`), with the change of both kinds of relations."""
    case = network_case(did, did_lo, did_hi, other, other_lo, other_hi)
    o = _finite(other)
    net = o + float(did) if o is not None and _finite(did) is not None else None
    return _say(lang, f"net_{case}", lb=label_b, did=magnitude(did, lang), sdid=fmt_num(did, lang, sign=True),
                lo=fmt_num(did_lo, lang, sign=True), hi=fmt_num(did_hi, lang, sign=True),
                net=fmt_num(net, lang, sign=True), other=fmt_num(other, lang, sign=True))


def s_sensitivity(main_lo: Any, main_hi: Any, sens: Any, sens_lo: Any, sens_hi: Any, lang: str) -> Markup:
    """Whether the network effect holds with the units present in both rounds only: the same when both
    intervals point the same way (above 0, below 0, or both covering 0)."""
    same = ci_direction(main_lo, main_hi) == ci_direction(sens_lo, sens_hi)
    return _say(lang, "sens_same" if same else "sens_differs", est=fmt_num(sens, lang, sign=True),
                lo=fmt_num(sens_lo, lang, sign=True), hi=fmt_num(sens_hi, lang, sign=True))


def invariance_case(invariance: pd.DataFrame | None) -> str:
    """How far the two rounds' answers measure the same thing (relcoord.cfa.invariance_table, the
    two-factor model, else the one-factor model): ``scalar`` (means comparable), ``metric`` (loadings
    equal, item levels not), ``none`` (not even the loadings), ``unknown`` (not estimable)."""
    if invariance is None or not len(invariance):
        return "unknown"
    for model in ("two_factor", "one_factor"):
        rows = invariance[invariance["model"] == model].set_index("step")
        if not {"metric", "scalar"} <= set(rows.index):
            continue
        metric, scalar = str(rows.at["metric", "verdict"]), str(rows.at["scalar", "verdict"])
        if "not_estimable" in (metric, scalar):
            continue
        if metric != "invariant":
            return "none"
        return "scalar" if scalar == "invariant" else "metric"
    return "unknown"


#: Hu & Bentler (1999) cut-offs for a good fit, and the looser, commonly used acceptable ones
#: (CFI/TLI >= .90, RMSEA <= .08, SRMR <= .10; e.g. Brown 2015, ch. 3)
CFA_GOOD = {"cfi": 0.95, "tli": 0.95, "rmsea": 0.06, "srmr": 0.08}
CFA_ACCEPTABLE = {"cfi": 0.90, "tli": 0.90, "rmsea": 0.08, "srmr": 0.10}
#: a factor correlation at or above this: the two factors are not told apart
CFA_SAME_FACTOR = 0.95


def cfa_fit(cfa: pd.DataFrame | None, model: str) -> str:
    """``good`` / ``acceptable`` / ``poor`` / ``unknown`` for one model of cfa.csv
    (``model, measure, value``): every one of CFI, TLI, RMSEA and SRMR within :data:`CFA_GOOD`
    (:data:`CFA_ACCEPTABLE`); unknown when the model was not estimated."""
    if cfa is None or not len(cfa):
        return "unknown"
    rows = cfa[cfa["model"] == model]
    v = {m: _finite(x) for m, x in zip(rows["measure"], rows["value"])}
    if any(v.get(m) is None for m in CFA_GOOD):
        return "unknown"

    def within(cut: Mapping[str, float]) -> bool:
        return v["cfi"] >= cut["cfi"] and v["tli"] >= cut["tli"] and v["rmsea"] <= cut["rmsea"] \
            and v["srmr"] <= cut["srmr"]

    return "good" if within(CFA_GOOD) else "acceptable" if within(CFA_ACCEPTABLE) else "poor"


def cfa_case(cfa: pd.DataFrame | None) -> str:
    """What the round's two CFA models say about the scale: ``one`` (the one-factor model fits and the
    two factors are not told apart, or both fit), ``two`` (only the two-factor model fits: communication
    and relationship are distinct), ``poor`` (neither fits), ``unknown`` (not estimated)."""
    one, two = cfa_fit(cfa, "one_factor"), cfa_fit(cfa, "two_factor")
    if one in ("good", "acceptable"):
        return "one"
    if two in ("good", "acceptable"):
        return "two"
    return "unknown" if one == two == "unknown" else "poor"


def s_cfa(cfa: pd.DataFrame | None, lang: str) -> Markup:
    """The factor analyses in plain words (:func:`cfa_case`), with the factor correlation when the two
    factors cannot be told apart."""
    case = cfa_case(cfa)
    out = _say(lang, f"cfa_{case}")
    if cfa is not None and len(cfa) and case != "unknown":
        r = cfa[(cfa["model"] == "two_factor") & (cfa["measure"] == "corr_communication_relationship")]
        corr = _finite(r["value"].iloc[0]) if len(r) else None
        if corr is not None and corr >= CFA_SAME_FACTOR:
            out = out + Markup(" ") + _say(lang, "cfa_same_factor", corr=fmt_num(corr, lang, 2))
    return out


def s_invariance(case: str, lang: str) -> Markup:
    """Whether the rounds' scores can be compared, in plain words (:func:`invariance_case`)."""
    return _say(lang, f"invariance_{case}")


def s_ties(n: int, up: int, down: int, lang: str) -> Markup:
    """How many of ``n`` relations rose and fell significantly; the rest did not change clearly."""
    kw = {"n": fmt_int(n, lang), "up": fmt_int(up, lang), "down": fmt_int(down, lang),
          "rest": fmt_int(n - up - down, lang)}
    key = "ties_mixed" if up and down else "ties_up" if up else "ties_down" if down else "ties_none"
    return _say(lang, key, **kw)


def s_blocks(changes: Iterable[tuple[str, Any, Any]], lang: str) -> Markup:
    """The kinds of relations that changed significantly: ``changes`` = (label, change, p), the
    non-significant ones left out; "none changed clearly" when none is left."""
    parts = []
    for label, diff, p in changes:
        d = test_direction(diff, p)
        if d:
            parts.append(_say(lang, "block_up" if d > 0 else "block_down", label=label, diff=magnitude(diff, lang)))
    if not parts:
        return _say(lang, "blocks_none")
    return _say(lang, "blocks_some", list=Markup("; ").join(parts))
