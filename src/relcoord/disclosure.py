"""Disclosure audit: can a hidden small group be worked out from what is published?

Primary suppression hides every cell from fewer than k respondents. This
module checks a round's reader-facing tables exactly, over the atoms of the
partition, and chooses every further cell to hide (``complementary``) until no
figure of a small group is derivable: the set rules of :mod:`relcoord.privacy`
(a partner in every *set* whose total is published) are off when the audit
runs, since they cannot see that base units and networks rate the same
targets and they pick the smallest visible rater (a whole unit's row) where a
cheap aggregate would do (statistical disclosure control, Hundepool et al.
2012: audit of linked tables).

**Atoms.** Respondents fall into classes *c* = (base unit, set of networks).
For a target *t* the atom (t, c) is the respondents of class c whose RC about
t is defined. Every published aggregate is a union of atoms with a published
count and sum, i.e. an integer vector over coordinates:

* *sums* (RC values): coordinate ``("s", t, c)`` = the sum of RC[r, t] over
  atom (t, c). Tie G -> t: the atoms of G for t; received RC of t: the atoms
  not in t; within = the tie t -> t; a block: the sum of its ties' vectors
  (exact: a block's mean is the n-weighted mean of its ties and ``n_ties`` is
  published); a unit's between RC: the sum of its off-diagonal ties; the
  organisation: the sum of all base-rater ties. The last two are linear only
  when every respondent has the same number of defined ties (respondent
  means); treating them as linear always is the attacker-favouring, safe side.
* *counts* (people): a count is a set of respondents; per class it is either
  the whole class (coordinate ``("R", c)``, shared by every figure that counts
  the whole class, in every target: "complete answers") or a proper subset
  (coordinate ``("S", c, members)``: identical subsets share it). Tie n,
  received/between/within n, a block's ``n_ties`` and ``n_respondents``, the
  organisation's n, and the respondents per unit of ``summary.json`` with its
  total (fixed here: validation publishes them).

**Hidden groups** (protected zones): every primary cell with 1 <= n < k
(ties, units' within/between/received, blocks, the respondents of a small
unit in ``summary.json``) and every base unit or network with 1..k-1
respondents. A zone is the coordinates of the group's atoms; *any* nonzero
published combination supported on them is a disclosure (the cell itself, a
difference of two of its sums, the group's mean over all targets that the
organisation minus every visible tie gives, the number of its members in a
network).

**Test.** A zone is disclosed when the row space of the published vectors
holds a nonzero vector supported on it (exact integer Gaussian elimination,
fraction-free with content reduction, zone coordinates last: the echelon rows
whose pivot lies in the zones span exactly that intersection; a
representation is tracked alongside). Before
elimination, published vectors that own a coordinate nobody else has (and no
protected vector has) are peeled off (they cannot enter any representation),
and per-target sum coordinates are only built for targets a hidden vector
touches: both exact.

**Complements.** While some protected vector is disclosed, the published
items in its representation are candidates; the cheapest is hidden (with every
visible item publishing the very same vector, which would otherwise still
publish it) and the audit repeats. Cost of hiding an item (:func:`item_cost`),
the information a reader loses: a base unit's tie 1 + n (its own view, found
nowhere else); a network's tie 1 + n (1/4 + 3/4 s), s the share of its
raters whose base unit's tie to the target is hidden (otherwise their answers
are visible in their units); a unit's received or between cell 2 and a block
3 (aggregates of visible ties); the organisation 10^6 (last resort);
``summary.json`` counts are never chosen (written by validation, whose
complement of a lone small unit is the unit whose own ties expose its count
least, :func:`relcoord.privacy.count_exposure`). So received cells, blocks
and network rows go before a 16-person base unit's ties.

**Not covered** (README "Privacy"): item and subscale means are over each
item's valid answers, whose counts are not published (with complete items they
equal the RC sets audited here); approximate (inequality or rounding)
inference, e.g. bounds on a count; agreement/reliability tables beyond their
ties; respondent-level tables (never published).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import gcd

import numpy as np
import pandas as pd

__all__ = ["Audit", "audit_round", "item_cost", "in_row_space", "class_of_respondents"]

#: candidate complements tried per step for one that stops the derivation alone
_TRIES = 12


# --------------------------------------------------------------------------- exact linear algebra


def _subtract(target: dict, row: Mapping, factor: int) -> None:
    """``target -= factor * row`` on sparse integer vectors, dropping zeros."""
    for key, x in row.items():
        y = target.get(key, 0) - factor * x
        if y:
            target[key] = y
        else:
            target.pop(key, None)


class _Span:
    """Row space of integer sparse vectors (dict col -> int), fraction-free
    echelon form; every row carries its expression over item keys (dict key ->
    int) so that ``vec == sum(expr[k] * item_vec[k])``."""

    def __init__(self) -> None:
        self.piv: dict = {}

    def reduce(self, vec: dict, expr: dict) -> tuple[dict, dict]:
        v, e = dict(vec), dict(expr)
        piv = self.piv
        while v:
            cols = [c for c in v if c in piv]
            if not cols:
                break
            c = min(cols)
            bv, be = piv[c]
            a, p = v[c], bv[c]
            g = gcd(a, p)
            ma, mb = p // g, a // g
            if ma != 1:
                v = {k: x * ma for k, x in v.items()}
                e = {k: x * ma for k, x in e.items()}
            _subtract(v, bv, mb)
            _subtract(e, be, mb)
            g = 0
            for x in v.values():
                g = gcd(g, x)
                if g == 1:
                    break
            if g != 1:
                for x in e.values():
                    g = gcd(g, x)
                    if g == 1:
                        break
            if g > 1:
                v = {k: x // g for k, x in v.items()}
                e = {k: x // g for k, x in e.items()}
        return v, e

    def add(self, vec: dict, expr: dict) -> bool:
        v, e = self.reduce(vec, expr)
        if not v:
            return False
        self.piv[min(v)] = (v, e)
        return True


def in_row_space(target: Mapping, rows: Iterable[Mapping]) -> bool:
    """True when the integer vector ``target`` (dict coordinate -> int) is an
    exact rational combination of ``rows``. Coordinates may be any sortable
    keys of one type."""
    cols: dict = {}

    def enc(v: Mapping) -> dict:
        return {cols.setdefault(k, len(cols)): int(x) for k, x in v.items() if x}

    s = _Span()
    for r in rows:
        s.add(enc(r), {})
    v, _ = s.reduce(enc(target), {})
    return not v


# --------------------------------------------------------------------------- the round's structure


@dataclass
class Audit:
    """Result of :func:`audit_round`: published items hidden as complements
    (key -> reason ``"complementary"``), the protected items that were
    disclosed before (key -> list of items their representation used), and
    protected items that could not be protected (only fixed items disclose
    them)."""

    hidden: dict = field(default_factory=dict)
    disclosed_before: dict = field(default_factory=dict)
    unresolved: list = field(default_factory=list)
    iterations: int = 0
    steps: list = field(default_factory=list)      # (protected key, items hidden for it)


def item_cost(key: tuple, n: float | None, unique_share: float | None = None) -> float | None:
    """Cost of hiding a published item: the information a reader loses (see
    the module docstring); None: never chosen.

    * a base unit's tie (within included): ``1 + n``: a group's own directed
      view, found nowhere else;
    * a network's tie: ``1 + n * (1/4 + 3/4 * unique_share)``, where
      ``unique_share`` is the share of its raters whose base unit's tie to the
      same target is hidden (their answers are then shown nowhere else; 1 when
      not given): a network row whose members are visible in their base units
      is mostly a regrouping of visible answers;
    * a unit's received or between cell: 2 (an aggregate of ties: the
      received RC is the n-weighted mean of the visible base-unit ties to the
      unit, the between RC the mean of the unit's own ties);
    * a block figure: 3 (an aggregate of its ties);
    * the organisation: 10^6 (last resort); ``summary.json`` counts: never.
    """
    n = 0.0 if n is None or not np.isfinite(n) else float(n)
    kind = key[0]
    if kind == "tie":
        if key[3] == "network":
            share = 1.0 if unique_share is None else min(max(float(unique_share), 0.0), 1.0)
            return 1.0 + n * (0.25 + 0.75 * share)
        return 1.0 + n
    if kind == "unit":
        return 1.0 + n if key[1] == "within" else 2.0
    if kind == "block":
        return 3.0
    if kind == "org":
        return 1e6
    return None


def class_of_respondents(respondents: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, frozenset]]]:
    """Class index per respondent and the classes (base unit, networks)."""
    nets = respondents["networks"].fillna("").astype(str) if "networks" in respondents.columns else \
        pd.Series("", index=respondents.index)
    pats = [frozenset(x.strip() for x in s.split(";") if x.strip()) for s in nets]
    keys = [(str(b), p) for b, p in zip(respondents["rater_unit"].astype(str), pats)]
    index: dict = {}
    cls = np.array([index.setdefault(kp, len(index)) for kp in keys], dtype=np.int64)
    classes = [None] * len(index)
    for kp, i in index.items():
        classes[i] = kp
    return cls, classes


class _Round:
    """Atoms and vectors of one round (see the module docstring)."""

    def __init__(self, respondents: pd.DataFrame, defined: pd.DataFrame, kinds: Mapping[str, str],
                 networks_as_raters: bool):
        r = respondents.drop_duplicates("respondent_id").reset_index(drop=True)
        self.ids = r["respondent_id"].astype(str).to_numpy()
        self.cls, self.classes = class_of_respondents(r)
        self.size = np.bincount(self.cls, minlength=len(self.classes))
        self.kinds = dict(kinds)
        self.nar = networks_as_raters
        pos = pd.Series(np.arange(len(self.ids)), index=self.ids)
        d = defined[defined["respondent_id"].astype(str).isin(pos.index)]
        ri = pos.loc[d["respondent_id"].astype(str)].to_numpy()
        tg = d["target_unit"].astype(str).to_numpy()
        self.targets = sorted(set(tg))
        self.def_by_t: dict[str, np.ndarray] = {}
        for t in self.targets:
            m = np.zeros(len(self.ids), dtype=bool)
            m[ri[tg == t]] = True
            self.def_by_t[t] = m
        self.any_def = np.zeros(len(self.ids), dtype=bool)
        for m in self.def_by_t.values():
            self.any_def |= m
        self.members: dict[str, np.ndarray] = {}        # group -> class ids
        groups = {b for b, _ in self.classes} | {n for _, p in self.classes for n in p}
        for g in groups:
            self.members[g] = np.array([i for i, (b, p) in enumerate(self.classes) if b == g or g in p], dtype=np.int64)
        self._cnt_t: dict[str, dict[int, object]] = {}

    # -- coordinates
    def class_in(self, g: str) -> np.ndarray:
        return self.members.get(g, np.zeros(0, dtype=np.int64))

    def _counts_t(self, t: str) -> dict[int, object]:
        """class -> count coordinate of atom (t, c), for classes with a defined RC about t."""
        if t not in self._cnt_t:
            m = self.def_by_t.get(t)
            out: dict[int, object] = {}
            if m is not None:
                idx = np.flatnonzero(m)
                cl = self.cls[idx]
                n = np.bincount(cl, minlength=len(self.classes))
                for c in np.flatnonzero(n):
                    out[int(c)] = ("R", int(c)) if n[c] == self.size[c] else \
                        ("S", int(c), frozenset(idx[cl == c].tolist()))
            self._cnt_t[t] = out
        return self._cnt_t[t]

    def atom_n(self, t: str, c: int) -> int:
        """Respondents of class c with a defined RC about t."""
        if not hasattr(self, "_atom_n"):
            self._atom_n: dict[str, np.ndarray] = {}
        if t not in self._atom_n:
            m = self.def_by_t.get(t)
            self._atom_n[t] = np.bincount(self.cls[m], minlength=len(self.classes)) if m is not None else \
                np.zeros(len(self.classes), dtype=np.int64)
        return int(self._atom_n[t][c])

    def count_of_mask(self, mask: np.ndarray) -> dict:
        idx = np.flatnonzero(mask)
        cl = self.cls[idx]
        n = np.bincount(cl, minlength=len(self.classes))
        out = {}
        for c in np.flatnonzero(n):
            key = ("R", int(c)) if n[c] == self.size[c] else ("S", int(c), frozenset(idx[cl == c].tolist()))
            out[key] = 1
        return out

    def sum_vec(self, t: str, classes: Iterable[int]) -> dict:
        cnt = self._counts_t(t)
        return {("s", t, int(c)): 1 for c in classes if int(c) in cnt}

    def cnt_vec(self, t: str, classes: Iterable[int]) -> dict:
        cnt = self._counts_t(t)
        out: dict = {}
        for c in classes:
            k = cnt.get(int(c))
            if k is not None:
                out[k] = out.get(k, 0) + 1
        return out

    def tie(self, g: str, t: str) -> tuple[dict, dict]:
        cl = self.class_in(g)
        return self.sum_vec(t, cl), self.cnt_vec(t, cl)

    def received(self, t: str) -> tuple[dict, dict]:
        inside = set(self.class_in(t).tolist())
        cl = [c for c in range(len(self.classes)) if c not in inside]
        return self.sum_vec(t, cl), self.cnt_vec(t, cl)

    def between_count(self, g: str) -> dict:
        inside = np.isin(self.cls, self.class_in(g))
        other = np.zeros(len(self.ids), dtype=bool)
        for t, m in self.def_by_t.items():
            if t != g:
                other |= m
        return self.count_of_mask(inside & other)

    def block_respondents(self, label: str) -> dict:
        mask = np.zeros(len(self.ids), dtype=bool)
        base = np.array([self.classes[c][0] for c in self.cls], dtype=object)
        pats = [self.classes[c][1] for c in self.cls]
        for t, m in self.def_by_t.items():
            tkind = self.kinds.get(t, "base")
            if label == "within_base":
                mask |= m & (base == t)
            elif label == "base_to_base" and tkind == "base":
                mask |= m & (base != t)
            elif label == "base_to_network" and tkind == "network":
                mask |= m
            elif label == "network_to_base" and tkind == "base":
                mask |= m & np.array([len(p) > 0 for p in pats])
            elif label == "within_network" and tkind == "network":
                mask |= m & np.array([t in p for p in pats])
            elif label == "network_to_network" and tkind == "network":
                mask |= m & np.array([len(p - {t}) > 0 for p in pats])
        return self.count_of_mask(mask)


def _add(acc: dict, vec: Mapping, f: int = 1) -> None:
    for k, x in vec.items():
        y = acc.get(k, 0) + f * x
        if y:
            acc[k] = y
        else:
            acc.pop(k, None)


def _block_of(rater: str, target: str, rk: str, tk: str) -> str:
    return f"within_{rk}" if rater == target else f"{rk}_to_{tk}"


# --------------------------------------------------------------------------- the audit


def audit_round(ties: pd.DataFrame, units: pd.DataFrame | None, blocks: pd.DataFrame | None,
                organisation: pd.DataFrame | None, respondents: pd.DataFrame, defined: pd.DataFrame,
                unit_kinds: Mapping[str, str], k: int, *, networks_as_raters: bool,
                summary_hidden: Iterable[str] = (), max_iter: int = 10_000) -> Audit:
    """Audit a round after primary and secondary suppression; return the
    complements to hide.

    ``ties``: internal ties with ``n`` and the current ``suppressed`` /
    ``suppression`` flags; ``units``: internal units with ``*_n`` and
    ``*_suppressed``; ``blocks``: with ``n_respondents`` and ``suppressed``;
    ``organisation``: with ``n`` (and ``suppressed`` if hidden);
    ``respondents``: the validated respondents (``respondent_id, rater_unit,
    networks``); ``defined``: (``respondent_id, target_unit``) of every
    respondent-tie with a defined RC; ``unit_kinds``: unit -> base|network;
    ``summary_hidden``: base units whose respondent count ``summary.json``
    hides (others are published there, with the total).
    Keys: ``("tie", rater, target, rater_kind)``, ``("unit", part, unit)``,
    ``("block", label)``, ``("org",)``.
    """
    rd = _Round(respondents, defined, unit_kinds, networks_as_raters)
    summary_hidden = {str(u) for u in summary_hidden}
    items: dict[tuple, dict] = {}        # key -> {"n", "visible", "primary", "cost", "sum", "cnt" (list)}

    t = ties.reset_index(drop=True)
    tn = pd.to_numeric(t["n"], errors="coerce").to_numpy(dtype=float)
    tsup = t["suppressed"].eq(True).to_numpy() if "suppressed" in t.columns else ~(tn >= k)
    treason = t["suppression"].fillna("").astype(str).to_numpy() if "suppression" in t.columns else \
        np.where(tsup, "primary", "")
    tie_key = {}
    for i, (g, tg, rk, tk) in enumerate(zip(t["rater_unit"].astype(str), t["target_unit"].astype(str),
                                            t["rater_kind"].astype(str), t["target_kind"].astype(str))):
        key = ("tie", g, tg, rk)
        tie_key[(g, tg)] = key
        items[key] = {"n": tn[i], "visible": not tsup[i], "primary": tsup[i] and treason[i] == "primary",
                      "block": _block_of(g, tg, rk, tk), "rater": g, "target": tg, "rk": rk}

    if units is not None and len(units):
        for _, row in units.iterrows():
            uid = str(row["unit_id"])
            for part in ("within", "between", "received"):
                if f"{part}_n" not in row.index:
                    continue
                n = pd.to_numeric(pd.Series([row[f"{part}_n"]]), errors="coerce").iloc[0]
                sup = row.get(f"{part}_suppressed", False) in (True,) or not (n >= k)   # NaN is not True
                if part == "within" and (uid, uid) in tie_key:
                    continue                        # the within RC *is* the tie A -> A
                items[("unit", part, uid)] = {"n": float(n), "visible": not sup, "primary": bool(n < k),
                                              "unit": uid, "part": part}
    if blocks is not None and len(blocks):
        for _, row in blocks.iterrows():
            n = float(pd.to_numeric(pd.Series([row["n_respondents"]]), errors="coerce").iloc[0])
            sup = bool(row.get("suppressed", False)) or not (n >= k)
            items[("block", str(row["block"]))] = {"n": n, "visible": not sup, "primary": not (n >= k)}
    if organisation is not None and len(organisation):
        o = organisation[organisation["measure"].astype(str) == "rc"] if "measure" in organisation.columns \
            else organisation
        if len(o):
            n = float(pd.to_numeric(o["n"], errors="coerce").iloc[0])
            sup = bool(o["suppressed"].eq(True).iloc[0]) if "suppressed" in o.columns else False
            items[("org",)] = {"n": n, "visible": not (sup or not n >= k), "primary": not (n >= k)}

    # vectors (built once; complex ones from ties)
    base_units = sorted({b for b, _ in rd.classes})
    for key, it in items.items():
        kind = key[0]
        if kind == "tie":
            it["sum"], c = rd.tie(it["rater"], it["target"])
            it["cnt"] = [c]
        elif kind == "unit":
            uid, part = it["unit"], it["part"]
            if part == "within":
                it["sum"], c = rd.tie(uid, uid)
                it["cnt"] = [c]
            elif part == "received":
                it["sum"], c = rd.received(uid)
                it["cnt"] = [c]
            else:
                it["parts"] = [(uid, tg) for tg in rd.targets if tg != uid]
                it["cnt"] = [rd.between_count(uid)]
        elif kind == "block":
            it["parts"] = [(v["rater"], v["target"]) for v in items.values() if v.get("block") == key[1]]
            it["cnt"] = [None, rd.block_respondents(key[1])]     # n_ties: built per iteration
        elif kind == "org":
            it["parts"] = [(b, tg) for b in base_units for tg in rd.targets]
            it["cnt"] = [rd.count_of_mask(rd.any_def)]
    fixed: list[tuple[tuple, dict]] = []
    for u in base_units:
        m = np.isin(rd.cls, [i for i, (b, _) in enumerate(rd.classes) if b == u])
        vec = rd.count_of_mask(m)
        if u in summary_hidden:
            n = int(m.sum())
            if 1 <= n < k:
                items[("summary", u)] = {"n": float(n), "visible": False, "primary": True, "cnt": [vec], "sum": {}}
        else:
            fixed.append((("summary", u), vec))
    fixed.append((("summary_total",), rd.count_of_mask(np.ones(len(rd.ids), dtype=bool))))

    def part_vecs(g: str, tg: str) -> tuple[dict, dict]:
        key = tie_key.get((g, tg))
        if key is not None:
            return items[key]["sum"], items[key]["cnt"][0]
        return rd.tie(g, tg)

    def is_published(g: str, tg: str) -> tuple | None:
        key = tie_key.get((g, tg))
        return key if key is not None and items[key]["visible"] else None

    out = Audit()
    protected: list[tuple] = [key for key, it in items.items() if it["primary"] and it["n"] >= 1]
    # a small group (a base unit or a network with 1..k-1 respondents): every figure about its
    # respondents alone is protected (e.g. its mean over all targets, which the organisation minus every
    # visible tie gives when it is the only hidden rater), not only its own cells
    groups: dict[tuple, frozenset] = {}
    for g in sorted(rd.members):
        cl = rd.members[g]
        size = int(rd.size[cl].sum()) if len(cl) else 0
        if 1 <= size < k:
            groups[("group", g)] = frozenset(int(c) for c in cl)
    protected += list(groups)
    if not protected:
        return out
    for key, it in items.items():
        it["cost"] = item_cost(key, it["n"])

    def unique_share(key: tuple) -> float:
        """Share of a network tie's raters whose base unit's tie to the same target is hidden."""
        tg = key[2]
        tot = hid = 0
        for c in rd.class_in(key[1]):
            m = rd.atom_n(tg, int(c))
            if not m:
                continue
            b = rd.classes[int(c)][0]
            bk = tie_key.get((b, tg))
            tot += m
            if bk is None or not items[bk]["visible"]:
                hid += m
        return hid / tot if tot else 1.0

    def cost(key: tuple) -> float | None:
        it = items[key]
        if key[0] == "tie" and key[3] == "network" and it["cost"] is not None:
            return item_cost(key, it["n"], unique_share(key))
        return it["cost"]

    def find(keys):
        return _find_disclosure(items, keys, groups, fixed, part_vecs, is_published, cost)

    while out.iterations < max_iter:
        out.iterations += 1
        found = find(protected)
        if found is None:
            break
        pkey, support = found
        out.disclosed_before.setdefault(pkey, sorted(map(str, support)))
        cand = [s for s in support if s in items and items[s]["visible"] and items[s]["cost"] is not None]
        if not cand:
            out.unresolved.append(pkey)
            protected = [p for p in protected if p != pkey]
            continue
        # hide the cheapest candidate together with every visible item publishing the same vectors
        grouped = []
        for c in cand:
            same = [c] + [o for o, v in items.items() if o != c and v["visible"] and v["cost"] is not None
                          and _same_vectors(items[c], v)]
            grouped.append((sum(cost(s) for s in same), str(c), same))
        grouped.sort(key=lambda g: (g[0], g[1]))
        pick = grouped[0][2]
        # the cheapest group whose hiding alone stops this derivation (else the cheapest: the loop goes on)
        for _, _, same in grouped[:_TRIES]:
            for s in same:
                items[s]["visible"] = False
            still = find([pkey])
            for s in same:
                items[s]["visible"] = True
            if still is None:
                pick = same
                break
        out.steps.append((pkey, list(pick)))
        for s in pick:
            items[s]["visible"] = False
            out.hidden[s] = "complementary"
    return out


def _same_vectors(a: dict, b: dict) -> bool:
    if "parts" in a or "parts" in b:
        return False
    return a.get("sum") == b.get("sum") and a.get("cnt") == b.get("cnt")


def _find_disclosure(items: dict, protected: list, groups: Mapping, fixed: list, part_vecs, is_published,
                     cost=None):
    """The first protected zone from which a figure can be derived: (key, the
    published keys of the representation), or None. A protected item's zone
    is the coordinates of its sum and count vectors (so not only the cell but
    every figure of the same few respondents, e.g. a difference of two of
    their sums, is protected); a small group's zone (``groups``: key ->
    classes) every coordinate of its classes."""
    cost = cost or (lambda key: items[key]["cost"])
    # ---- published vectors, sums and counts
    sums: list[tuple[tuple, dict, dict]] = []
    cnts: list[tuple[tuple, dict, dict]] = []
    for key, it in items.items():
        if not it["visible"]:
            continue
        if "parts" in it:
            vec, expr, cvec = {}, {key: 1}, {}
            for g, tg in it["parts"]:
                pk = is_published(g, tg)
                s, c = part_vecs(g, tg)
                if pk is None:
                    _add(vec, s)
                    _add(cvec, c)
                else:
                    expr[pk] = expr.get(pk, 0) - 1
            if vec:
                sums.append((key, vec, expr))
            if key[0] == "block":                      # n_ties and n_respondents: two vectors, two names
                if cvec:
                    cnts.append((key, cvec, dict(expr)))
                cnts.append((key, it["cnt"][1], {("#", key, 1): 1}))
            else:
                cnts.append((key, it["cnt"][0], {key: 1}))
        else:
            if it.get("sum"):
                sums.append((key, it["sum"], {key: 1}))
            for j, c in enumerate(it["cnt"]):
                if c:
                    cnts.append((key, c, {key if j == 0 else ("#", key, j): 1}))
    for key, vec in fixed:
        cnts.append((key, vec, {key: 1}))
    # ---- protected zones (coordinate sets)
    zsum, zcnt = [], []
    universe_s = {c for _, v, _ in sums for c in v}
    universe_c = {c for _, v, _ in cnts for c in v}
    for key in protected:
        if key in groups:
            cl = groups[key]
            zsum.append((key, {c for c in universe_s if c[2] in cl}))
            zcnt.append((key, {c for c in universe_c if c[1] in cl}))
            continue
        it = items[key]
        sv: dict = {}
        cv: set = set()
        if "parts" in it:
            for g, tg in it["parts"]:
                _add(sv, part_vecs(g, tg)[0])
            if key[0] == "block":
                for g, tg in it["parts"]:
                    cv |= set(part_vecs(g, tg)[1])
                cv |= set(it["cnt"][1])
            else:
                cv |= set(it["cnt"][0])
        else:
            sv = dict(it.get("sum") or {})
            for c in it["cnt"]:
                if c:
                    cv |= set(c)
        zsum.append((key, set(sv)))
        zcnt.append((key, cv))

    def order(p):
        c = cost(p[0]) if p[0] in items else -1.0     # fixed items first: they cannot be hidden
        return (-1.0 if c is None else c, str(p[0]))

    for zones, pub in ((zsum, sums), (zcnt, cnts)):
        res = _check(zones, sorted((_norm(p) for p in pub), key=order))
        if res is not None:
            return res
    return None


def _norm(p):
    return p if len(p) == 3 else (p[0], p[1], {p[0]: 1})


def _check(zones: list, pub: list):
    """Peel, eliminate, test; (zone key, support) of the first zone in which a
    nonzero vector of the published row space lies.

    Exact: with the zone coordinates ordered last, the echelon rows whose
    pivot lies in the union of the zones span exactly the published vectors
    supported on that union; a vector supported on one zone is then looked for
    among those few rows (the zone's own coordinates last)."""
    zones = [(key, z) for key, z in zones if z]
    if not zones:
        return None
    touched: set = set()
    for _, z in zones:
        touched |= z
    # only the connected components (vectors sharing coordinates) that hold a protected coordinate matter
    parent: dict = {}

    def find(x):
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for _, v, _ in pub:
        if not v:
            continue
        it = iter(v)
        first = find(next(it))
        for c in it:
            r = find(c)
            if r != first:
                parent[r] = first
    roots = {find(c) for c in touched}
    pub = [p for p in pub if p[1] and find(next(iter(p[1]))) in roots]
    # peel: a published vector owning a coordinate nobody else has, outside every zone, cannot be used
    alive = [True] * len(pub)
    occ: dict = {}
    for i, (_, v, _) in enumerate(pub):
        for c in v:
            occ.setdefault(c, []).append(i)
    count = {c: len(ix) for c, ix in occ.items()}
    changed = True
    while changed:
        changed = False
        for i, (_, v, _) in enumerate(pub):
            if not alive[i]:
                continue
            if any(count[c] == 1 and c not in touched for c in v):
                alive[i] = False
                changed = True
                for c in v:
                    count[c] -= 1
    live, seen = [], set()
    for p, a in zip(pub, alive):
        if a:
            sig = frozenset(p[1].items())
            if sig not in seen:                         # a duplicate adds nothing to the span (cheapest kept)
                seen.add(sig)
                live.append(p)
    if not live:
        return None
    coords = {c for _, v, _ in live for c in v}
    outside = sorted((c for c in coords if c not in touched), key=repr)
    inside = sorted((c for c in coords if c in touched), key=repr)
    enc = {c: i for i, c in enumerate(outside + inside)}
    span = _Span()
    for _, v, e in live:                                # cheap first: representations prefer cheap items
        span.add({enc[c]: int(x) for c, x in v.items()}, dict(e))
    cut = len(outside)
    rows = [(v, e) for pv, (v, e) in sorted(span.piv.items()) if pv >= cut]
    if not rows:
        return None
    dec = {i: c for c, i in enc.items()}
    for key, z in zones:
        here = {dec[i] for v, _ in rows for i in v}
        if not here & z:
            continue
        rest = sorted((c for c in here if c not in z), key=repr)
        own = sorted((c for c in here if c in z), key=repr)
        enc2 = {c: i for i, c in enumerate(rest + own)}
        span2 = _Span()
        for v, e in rows:
            span2.add({enc2[dec[i]]: x for i, x in v.items()}, dict(e))
        for pv, (_v, e) in sorted(span2.piv.items()):
            if pv >= len(rest):
                return key, sorted({s[1] if s[0] == "#" else s for s, x in e.items() if x}, key=str)
    return None
