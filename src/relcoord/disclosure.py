"""Disclosure audit: can a hidden small group be worked out from what is published?

Primary suppression hides every cell from fewer than k respondents and the
secondary rules of :mod:`relcoord.privacy` hide a partner in every *set* whose
total is published. Neither sees that base units and networks rate the same
targets: a network made of a hidden 4-person unit plus a visible 7-person unit
gives the hidden unit's mean and count away by subtraction. This module
checks a round's reader-facing tables exactly, over the atoms of the
partition, and hides further cells (``complementary``) until nothing hidden is
derivable (statistical disclosure control, Hundepool et al. 2012, Statistical
Disclosure Control, Wiley: audit of linked tables).

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

**Hidden groups** (protected vectors): every primary cell with 1 <= n < k,
its sum and its count: ties, units' within/between/received, blocks, and the
respondents of a small unit (``summary.json``).

**Test.** A protected vector is disclosed when it lies in the row space of the
published vectors (exact integer Gaussian elimination, fraction-free with
content reduction; a representation is tracked alongside). Before
elimination, published vectors that own a coordinate nobody else has (and no
protected vector has) are peeled off (they cannot enter any representation),
and per-target sum coordinates are only built for targets a hidden vector
touches: both exact.

**Complements.** While some protected vector is disclosed, the published
items in its representation are candidates; the cheapest is hidden (with every
visible item publishing the very same vector, which would otherwise still
publish it) and the audit repeats. Cost of hiding an item (:func:`item_cost`):
a network-rater tie 1 + n/2 (its raters are shown in their base units too); a
block figure 10; a base-rater tie 1 + n; a unit's within/between/received cell
1 + n; the organisation 10^6 (last resort); ``summary.json`` counts are never
chosen (written by validation). So a network-rater row or a block goes before
a 16-person base unit's tie.

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
            for k, x in bv.items():
                y = v.get(k, 0) - mb * x
                if y:
                    v[k] = y
                else:
                    v.pop(k, None)
            for k, x in be.items():
                y = e.get(k, 0) - mb * x
                if y:
                    e[k] = y
                else:
                    e.pop(k, None)
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


def item_cost(key: tuple, n: float | None) -> float | None:
    """Cost of hiding a published item (see the module docstring); None: never chosen."""
    n = 0.0 if n is None or not np.isfinite(n) else float(n)
    kind = key[0]
    if kind == "tie":
        return 1.0 + (0.5 if key[3] == "network" else 1.0) * n
    if kind == "block":
        return 10.0
    if kind == "unit":
        return 1.0 + n
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
                flag = row.get(f"{part}_suppressed", False)
                sup = bool(flag is True or flag == True) or not (n >= k)  # noqa: E712 - numpy's True too
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
    protected = [key for key, it in items.items() if it["primary"] and it["n"] >= 1]
    if not protected:
        return out
    for key, it in items.items():
        it["cost"] = item_cost(key, it["n"])

    while out.iterations < max_iter:
        out.iterations += 1
        found = _find_disclosure(items, protected, fixed, part_vecs, is_published)
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
        groups = []
        for c in cand:
            same = [c] + [o for o, v in items.items() if o != c and v["visible"] and v["cost"] is not None
                          and _same_vectors(items[c], v)]
            groups.append((sum(items[s]["cost"] for s in same), str(c), same))
        groups.sort(key=lambda g: (g[0], g[1]))
        pick = groups[0][2]
        # the cheapest group whose hiding alone stops this derivation (else the cheapest: the loop goes on)
        for _, _, same in groups[:_TRIES]:
            for s in same:
                items[s]["visible"] = False
            still = _find_disclosure(items, [pkey], fixed, part_vecs, is_published)
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


def _find_disclosure(items: dict, protected: list, fixed: list, part_vecs, is_published):
    """The first protected item whose sum or count vector lies in the span of
    the published ones: (key, published keys of the representation), or None."""
    # ---- published vectors, sums and counts
    sums: list[tuple[tuple, dict]] = []
    cnts: list[tuple[tuple, dict]] = []
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
    # ---- protected vectors
    psum, pcnt = [], []
    for key in protected:
        it = items[key]
        if "parts" in it:
            vec = {}
            for g, tg in it["parts"]:
                _add(vec, part_vecs(g, tg)[0])
            if vec:
                psum.append((key, vec))
            if key[0] == "block":
                cv = {}
                for g, tg in it["parts"]:
                    _add(cv, part_vecs(g, tg)[1])
                if cv:
                    pcnt.append((key, cv))
                pcnt.append((key, it["cnt"][1]))
            else:
                pcnt.append((key, it["cnt"][0]))
        else:
            if it.get("sum"):
                psum.append((key, it["sum"]))
            for c in it["cnt"]:
                if c:
                    pcnt.append((key, c))
    def order(p):
        c = items[p[0]]["cost"] if p[0] in items else -1.0     # fixed items first: they cannot be hidden
        return (c, str(p[0]))

    for prot, pub in ((psum, sums), (pcnt, cnts)):
        res = _check(prot, sorted((_norm(p) for p in pub), key=order))
        if res is not None:
            return res
    return None


def _norm(p):
    return p if len(p) == 3 else (p[0], p[1], {p[0]: 1})


def _check(prot: list, pub: list):
    """Peel, eliminate, test; (protected key, support) of the first disclosure."""
    if not prot:
        return None
    touched = set()
    for _, v in prot:
        touched |= set(v)
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
    # peel: a published vector owning a coordinate nobody else (and no protected vector) has cannot be used
    alive = [True] * len(pub)
    occ: dict = {}
    for i, (_, v, _) in enumerate(pub):
        for c in v:
            occ.setdefault(c, []).append(i)
    changed = True
    count = {c: len(ix) for c, ix in occ.items()}
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
    cols: dict = {}

    def enc(v: Mapping) -> dict:
        return {cols.setdefault(c, len(cols)): int(x) for c, x in v.items()}

    # cheap first: the basis prefers cheap items, so representations use them
    span = _Span()
    for _key, v, e in live:
        span.add(enc(v), dict(e))
    probe = ("__protected__",)
    for key, v in prot:
        if any(count.get(c, 0) == 0 for c in v):
            continue                                    # owns a coordinate nothing published has
        r, e = span.reduce(enc(v), {probe: 1})
        if not r:
            return key, sorted({s[1] if s[0] == "#" else s for s, x in e.items() if x and s != probe}, key=str)
    return None
