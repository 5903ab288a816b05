"""A page per unit for the feedback dialogue: ``results/R/units/<unit_id>.html`` and an index.

Each page shows one base unit or network: its name and kind, its respondents
(when the round publishes the count), its within-unit RC, how it rates the
other groups on average and how they rate it, and, side by side for every
other group B (in register order, never by score), how the unit sees B
(A → B) and how B sees the unit (B → A), each with its 95 % CI and n; then
the seven dimensions (item means) of the relations with the highest and the
lowest RC among its visible relations (mean of the visible directions); with
a comparison's ``changes`` table, the change of each relation since the
baseline round. The tone is neutral: no ranking of units against each other,
no band colours, a short reading guide first (RC feedback can feel like a
verdict).

Privacy: only the **reader-facing** tables are read (results/R/scores/*.csv,
validation/summary.json as published, changes.csv as published). A cell that
is flagged suppressed, has a count below k or no value is shown as "hidden"
(its count "< k" when fewer than k answered, else "–"), and no value of it is
printed. A unit whose every figure is hidden gets no page and is not listed.
Nothing is recomputed from respondent-level data; the only derived number
(the mean of both directions, used to pick the two relations whose dimensions
are shown) is never printed.

Texts come from the language catalogues (group ``unit_page``); numbers and
names from :mod:`relcoord.present`; the page uses the reports' stylesheet
(``templates/base.html.j2``) plus print rules for one A4 page.

Entry points: :func:`unit_pages` (file name -> HTML), :func:`write_unit_pages`
(writes them into a folder), :func:`page_names`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .locales import languages, text
from .present import Fmt, _finite, unit_label, unit_order, units_frame
from .privacy import summary_for_readers
from .publish import change_visibility, visible_rows

__all__ = ["INDEX", "unit_pages", "write_unit_pages", "page_names"]

TEMPLATES = Path(__file__).with_name("templates")

#: the index page's file name (a unit whose id would collide gets a hashed file name)
INDEX = "index.html"

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("relcoord")
    except PackageNotFoundError:
        return "dev"


def page_names(unit_ids: Iterable[str]) -> dict[str, str]:
    """unit id -> file name of its page: ``<unit_id>.html`` when the id is a plain file name
    (letters, digits, ``_ . -``), else (and when it would clash with the index or, ignoring case,
    with another page) a slug of the id plus a short hash."""
    out: dict[str, str] = {}
    taken = {INDEX.lower()}
    for uid in dict.fromkeys(str(u) for u in unit_ids):
        name = f"{uid}.html"
        if not _SAFE_ID.fullmatch(uid) or ".." in uid or name.lower() in taken:
            slug = re.sub(r"[^A-Za-z0-9_-]+", "-", uid).strip("-")[:40] or "unit"
            name = f"{slug}-{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:10]}.html"
        taken.add(name.lower())
        out[uid] = name
    return out


# --------------------------------------------------------------------------- reading the public tables


class _Cell:
    """One published cell: its value and interval, n, and whether (and why) it is hidden."""

    __slots__ = ("visible", "value", "lo", "hi", "n", "reason", "items")

    def __init__(self, visible: bool, value: Any = None, lo: Any = None, hi: Any = None, n: Any = None,
                 reason: Any = "", items: Mapping[str, Any] | None = None):
        self.visible = bool(visible) and _finite(value) is not None
        self.value, self.lo, self.hi, self.n = (value, lo, hi, n) if self.visible else (None, None, None, None)
        self.reason = "" if self.visible else ("" if reason is None or pd.isna(reason) else str(reason))
        self.items = dict(items or {}) if self.visible else {}


_ABSENT = _Cell(False)


def _ties(tables: Mapping[str, pd.DataFrame], k: int, items: Sequence[str]) -> dict[tuple[str, str], _Cell]:
    t = tables.get("ties")
    if t is None or not len(t):
        return {}
    vis = visible_rows(t, k, value_cols=("rc_mean",)).to_numpy()
    out = {}
    for ok, r in zip(vis, t.to_dict("records")):
        key = (str(r["rater_unit"]), str(r["target_unit"]))
        out[key] = _Cell(ok, r.get("rc_mean"), r.get("ci_low"), r.get("ci_high"), r.get("n"), r.get("suppression", ""),
                         {i: r.get(i) for i in items})
    return out


def _unit_parts(tables: Mapping[str, pd.DataFrame], k: int) -> dict[str, dict[str, _Cell]]:
    """unit id -> part (within, between, received) -> cell (units.csv)."""
    u = tables.get("units")
    out: dict[str, dict[str, _Cell]] = {}
    if u is None or not len(u):
        return out
    ids = u["unit_id"].astype(str).tolist()
    for part in ("within", "between", "received"):
        if f"{part}_rc" not in u.columns:
            continue
        vis = visible_rows(u, k, n_cols=(f"{part}_n",), flag=f"{part}_suppressed",
                           value_cols=(f"{part}_rc",)).to_numpy()
        reasons = u[f"{part}_suppression"] if f"{part}_suppression" in u.columns else pd.Series("", index=u.index)
        for uid, ok, v, n, why in zip(ids, vis, u[f"{part}_rc"], u.get(f"{part}_n", pd.Series(np.nan, index=u.index)),
                                      reasons):
            out.setdefault(uid, {})[part] = _Cell(ok, v, n=n, reason=why)
    return out


def _respondents(summary: Mapping[str, Any] | None, k: int) -> dict[str, _Cell]:
    """base unit -> respondents as the round publishes them (validation/summary.json)."""
    if not summary:
        return {}
    s = summary_for_readers(summary, k)
    why = {str(u): str(r) for u, r in (s.get("respondents_per_unit_hidden") or {}).items()}
    out = {}
    for u, n in (s.get("respondents_per_unit") or {}).items():
        v = _finite(n)
        ok = v is not None and v >= k
        out[str(u)] = _Cell(ok, v, n=v, reason=why.get(str(u), "primary"))
    return out


def _changes(changes: pd.DataFrame | None, tables: Mapping[str, pd.DataFrame], k: int) -> dict[tuple[str, str], Any]:
    """(rater, target) -> the change of the tie's RC a reader may see (this round's hidden cells hidden too)."""
    if changes is None or not len(changes):
        return {}
    c = change_visibility(changes, k, None, {n: tables[n] for n in ("ties", "units") if n in tables})
    c = c[(c["level"] == "tie") & (c["measure"] == "rc") & c["visible"]]
    return {(r, t): d for r, t, d in zip(c["rater_unit"], c["target_unit"], c["diff"]) if _finite(d) is not None}


# --------------------------------------------------------------------------- one page


def _show(cell: _Cell, f: Fmt, t: Mapping[str, str]) -> dict[str, Any]:
    """Template fields of a cell: value, CI, n (hidden: the word "hidden", n "< k" or "–")."""
    if not cell.visible:
        return {"hidden": True, "value": t["hidden"], "ci": "–",
                "n": f"< {f.k}" if cell.reason == "primary" else "–"}
    return {"hidden": False, "value": f.num(cell.value), "ci": f.ci(cell.lo, cell.hi), "n": f.count(cell.n)}


def _pick_relations(uid: str, others: Sequence[str], ties: Mapping[tuple[str, str], _Cell]) -> list[str]:
    """[highest, lowest] (or one, or none) of the other groups by the mean of both directions, among
    the relations with both directions visible (when there is none: with one visible); ties broken by
    register order."""
    by_count: dict[int, list[tuple[float, int, str]]] = {1: [], 2: []}
    for pos, b in enumerate(others):
        vals = [c.value for c in (ties.get((uid, b), _ABSENT), ties.get((b, uid), _ABSENT)) if c.visible]
        if vals:
            by_count[len(vals)].append((float(np.mean(vals)), pos, b))
    scored = by_count[2] or by_count[1]
    if not scored:
        return []
    scored.sort()
    hi, lo = scored[-1][2], scored[0][2]
    return [hi] if hi == lo else [hi, lo]


def _page(uid: str, reg: pd.DataFrame, names: Mapping[str, str], ties: Mapping[tuple[str, str], _Cell],
          parts: Mapping[str, _Cell], resp: _Cell | None, change: Mapping[tuple[str, str], Any],
          items: Sequence[str], instrument: Any, f: Fmt, t: Mapping[str, str], *, round_label: str,
          changes_label: str | None, present: Iterable[str], report_href: str | None) -> dict[str, Any] | None:
    """The template context of ``uid``'s page; None when every figure of it is hidden."""
    others = [b for b in unit_order(reg, present) if b != uid and ((uid, b) in ties or (b, uid) in ties)]
    own, within_u = ties.get((uid, uid)), parts.get("within")
    if own is not None and not own.visible:
        within = own                                       # hidden in either table: hidden
    elif within_u is not None and not within_u.visible:
        within = within_u
    else:                                                  # the tie A -> A carries the interval
        within = own if own is not None else within_u
    between, received = parts.get("between"), parts.get("received")
    rows = []
    for b in others:
        ab, ba = ties.get((uid, b), _ABSENT), ties.get((b, uid), _ABSENT)
        rows.append({"label": unit_label(b, names), "ab": _show(ab, f, t), "ba": _show(ba, f, t),
                     "d_ab": f.num(change.get((uid, b)), sign=True) if ab.visible else "–",
                     "d_ba": f.num(change.get((b, uid)), sign=True) if ba.visible else "–"})
    shown = [c for c in (resp, within, between, received) if c is not None and c.visible]
    shown += [1 for b in others if ties.get((uid, b), _ABSENT).visible or ties.get((b, uid), _ABSENT).visible]
    if not shown:
        return None
    row = reg.loc[reg["unit_id"] == uid]
    kind = str(row["kind"].iloc[0]) if len(row) else "base"
    area = str(row["area"].iloc[0]) if len(row) else ""

    def label(key: str) -> str:
        try:
            return instrument.item(key).label(f.lang)
        except (KeyError, AttributeError):
            return key.replace("_", " ").capitalize()

    picked = _pick_relations(uid, others, ties)
    dim_heads = []
    for j, b in enumerate(picked):
        key = "highest" if j == 0 else "lowest"
        dim_heads.append(t[key].format(name=names.get(b, b)) if len(picked) > 1 else t["only"].format(
            name=names.get(b, b)))
    dim_rows = []
    for i in items:
        cells = []
        for b in picked:
            for cell in (ties.get((uid, b), _ABSENT), ties.get((b, uid), _ABSENT)):
                v = cell.items.get(i) if cell.visible else None
                cells.append({"hidden": not cell.visible, "value": f.num(v) if cell.visible else t["hidden"]})
        dim_rows.append({"label": label(i), "cells": cells})
    kpis = []
    if kind != "network" and resp is not None:
        kpis.append({"label": t["respondents"], "value": f.count(resp.n) if resp.visible else t["hidden"],
                     "hidden": not resp.visible, "sub": ""})
    for key, cell, pair in (("within", within, (uid, uid)), ("between", between, None),
                            ("received", received, None)):
        if cell is None:
            continue
        sub = ""
        if cell.visible:
            bits = [f"n = {f.count(cell.n)}"]
            if _finite(cell.lo) is not None:
                bits.insert(0, f"{t['ci']} {f.ci(cell.lo, cell.hi)}")
            if changes_label and pair is not None and pair in change:
                bits.append(t["change_short"].format(label=changes_label, diff=f.num(change[pair], sign=True)))
            sub = " · ".join(bits)
        kpis.append({"label": t[key], "value": f.num(cell.value) if cell.visible else t["hidden"],
                     "hidden": not cell.visible, "sub": sub})
    name = names.get(uid, uid)
    return {
        "uid": uid, "name": name, "kind": t["network"] if kind == "network" else t["base"], "area": area,
        "round_label": round_label, "doc_title": f"{name} – {round_label}", "kpis": kpis, "rows": rows,
        "is_network": kind == "network", "dim_heads": dim_heads, "dim_rows": dim_rows,
        "has_change": changes_label is not None,
        "change_head": t["change"],
        "report_href": report_href,
    }


def unit_pages(tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any] | None, units: pd.DataFrame,
               instrument: Any, *, round_label: str, lang: str, k: int, title: str = "",
               changes: pd.DataFrame | None = None, changes_label: str | None = None,
               report_href: str | None = "../report.html") -> dict[str, str]:
    """file name -> HTML of every unit page and of ``index.html`` (listing the pages).

    ``tables``: the round's reader-facing ``ties`` and ``units`` (results/R/scores/*.csv);
    ``summary``: validation/summary.json as published (respondents per unit); ``units``: the
    unit register; ``instrument``: item labels and the index items (the dimensions). Settings:
    ``lang`` (report.language), ``k`` (privacy.min_group_size), ``title`` (report.title).
    ``changes``: a comparison's changes.csv whose follow-up is this round (tie level is used;
    rows hidden in this round are hidden here too), ``changes_label`` the baseline's label;
    ``report_href``: the round report, relative to the pages (None: no link)."""
    if lang not in languages():
        raise ValueError(f"language must be one of {list(languages())}, got {lang!r}")
    k = int(k)
    t = dict(text(lang)["unit_page"])
    f = Fmt(lang, k)
    reg = units_frame(units)
    items = [i for i in getattr(instrument, "index_keys", []) if "ties" in tables and i in tables["ties"].columns]
    ties = _ties(tables, k, items)
    parts = _unit_parts(tables, k)
    resp = _respondents(summary, k)
    change = _changes(changes, tables, k)
    label_b = (changes_label or t["previous"]) if changes is not None else None
    present = {r for r, _ in ties} | {c for _, c in ties} | set(parts)
    ids = unit_order(reg, present)
    names = dict(zip(reg["unit_id"], reg["name"]))
    files = page_names(ids)
    footer = t["footer"].format(version=_version())
    env = _env()
    defaults = {str(text(x)[g].get("default_title", "")) for x in languages() for g in ("report", "unit_page")}
    doc_title = t["default_title"] if str(title or "").strip() in defaults | {""} else str(title).strip()
    pages: dict[str, str] = {}
    listed: list[dict[str, Any]] = []
    for uid in ids:
        ctx = _page(uid, reg, names, ties, parts.get(uid, {}), resp.get(uid), change, items, instrument, f, t,
                    round_label=round_label, changes_label=label_b, present=present, report_href=report_href)
        if ctx is None:
            continue
        pages[files[uid]] = env.get_template("unit_page.html.j2").render(
            lang=lang, t=t, footer=footer, title=doc_title, index_href=INDEX,
            intro=t["intro"].format(round=round_label), hidden_note=t["hidden_note"].format(k=k),
            change_note=t["change_note"].format(label=label_b) if ctx["has_change"] else "", **ctx)
        listed.append({"href": files[uid], "label": unit_label(uid, names), "network": ctx["is_network"],
                       "area": ctx["area"]})
    groups: list[dict[str, Any]] = []                   # base units by area (register order), then networks
    for e in listed:
        head, area = (t["networks"], "") if e["network"] else (t["base_units"], e["area"])
        if not groups or groups[-1]["head"] != head:
            groups.append({"head": head, "areas": []})
        if not groups[-1]["areas"] or groups[-1]["areas"][-1]["area"] != area:
            groups[-1]["areas"].append({"area": area, "pages": []})
        groups[-1]["areas"][-1]["pages"].append(e)
    pages[INDEX] = env.get_template("unit_index.html.j2").render(
        lang=lang, t=t, footer=footer, title=doc_title, round_label=round_label,
        doc_title=f"{t['index_title']} – {round_label}", groups=groups, report_href=report_href,
        index_intro=t["index_intro"])
    return pages


def write_unit_pages(folder: str | Path, tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any] | None,
                     units: pd.DataFrame, instrument: Any, **kw: Any) -> list[Path]:
    """Write :func:`unit_pages` into ``folder`` (created; earlier ``*.html`` there removed, so a
    unit that is now hidden keeps no old page). Returns the written paths, index last."""
    pages = unit_pages(tables, summary, units, instrument, **kw)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.html"):
        old.unlink()
    paths = []
    for name in sorted(pages, key=lambda n: (n == INDEX, n)):
        p = out / name
        p.write_text(pages[name], encoding="utf-8")
        paths.append(p)
    return paths
