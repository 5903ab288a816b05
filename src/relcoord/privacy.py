"""Small-group suppression rules and personal-data masking (the low layer of privacy).

What a reader may see is assembled above the statistics, in :mod:`relcoord.publish`
(:func:`~relcoord.publish.reader_facing`, :func:`~relcoord.publish.suppress_changes`), from these rules
and the disclosure audit.

Rule (the survey platforms' common minimum of 5 respondents, never below 3): no statistic computed from fewer
than ``privacy.min_group_size`` respondents (default 5, refused below 3) is
shown to a reader.

* **Primary suppression** (:func:`suppress`): a row whose count is below k (or
  unknown) is flagged ``suppressed`` and its statistics *and its count* are
  blanked (NaN): "n = 2" is itself identifying and "<k" is not a number, so a
  suppressed cell shows nothing at all.
* **Secondary (complementary) suppression** (:func:`secondary_suppress_ties`):
  a suppressed tie can be recovered by subtraction when it is the only hidden
  tie in a set of ties whose n-weighted total is published elsewhere. The
  received RC of B (units.csv) is the n-weighted mean of the base-rater ties
  A -> B (A != B); a block score (blocks.csv) is the n-weighted mean of its
  ties; with complete answers a unit's between RC is the equal-weight mean of
  its outgoing ties. So in every such set (column = one target and one rater
  kind, off-diagonal; row = one rater, off-diagonal; block) that holds exactly
  one hidden tie with n >= 1 and at least one visible tie, the visible tie
  with the smallest n is also hidden (``suppression = "secondary"``); repeated
  until no set changes. Applied to every set unconditionally (also where the
  total is not exactly a linear function of the ties), which errs on the safe
  side. This is a practical rule, not a full statistical-disclosure audit.
* **Units** (:func:`secondary_suppress_units`): the same rule on the between
  and the received cells of units.csv, per unit kind (a column of counts such
  as ``between_n`` adds up to about the number of respondents, which is
  published). The within cell *is* the tie A -> A and follows the ties.
* **Counts** (:func:`suppress_counts`, :func:`summary_for_readers`):
  respondents per unit (validation/summary.json, the reports' response
  overview) are published next to their total, so a unit below k shows no
  count, and when it is the only hidden unit with respondents the smallest
  visible unit is hidden too: only the sum of two or more hidden units can be
  worked out, never one.
* **Agreement** (rwg(j) per tie) is hidden wherever ties.csv hides the tie,
  so a secondarily hidden tie's n cannot be read there.
* **Audit** (:mod:`relcoord.disclosure`, run by :func:`relcoord.publish.reader_facing`
  whenever the respondent-level rows are given): an exact audit over the
  atoms (base unit x networks) checks that no figure of a small group lies in
  the row space of everything published and chooses every complement itself
  (``complementary``); the tie and unit set rules above are then off (they
  remain the fallback without respondent-level rows, and ``set_rules=True``
  runs them before the audit). The count rule of ``summary.json`` stays
  (validation publishes it before scoring), with the complement chosen by
  :func:`count_exposure`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import RelcoordError

__all__ = ["check_min_group_size", "suppress", "secondary_suppress_ties",
           "secondary_suppress_units", "suppress_counts", "count_exposure", "summary_for_readers",
           "check_background", "mask_personal", "quote_cell", "looks_personal", "merge_small_categories"]

_HARD_MINIMUM = 3



def check_min_group_size(k: object) -> int:
    """Return k as int; raise :class:`RelcoordError` if it is not a whole number >= 3."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer, float, np.floating)) or k != int(k):
        raise RelcoordError(f"privacy.min_group_size must be a whole number, got {k!r}",
                            hint="set privacy.min_group_size in config/config.yaml to 3 or more (5 recommended)")
    if k < _HARD_MINIMUM:
        raise RelcoordError(
            f"privacy.min_group_size = {int(k)} refused below {_HARD_MINIMUM}: groups that small identify people",
            hint="set privacy.min_group_size in config/config.yaml to 3 or more (5 recommended, "
                 "the common survey-platform minimum)")
    return int(k)


def suppress(df: pd.DataFrame, n_col: str, stat_cols: Sequence[str], k: int, flag_col: str = "suppressed",
             reason_col: str | None = "suppression") -> pd.DataFrame:
    """Primary suppression: a copy of ``df`` with small rows blanked.

    A row is hidden when ``n_col`` < k, when ``n_col`` is missing, or when
    ``flag_col`` is already True (e.g. secondary suppression). Hidden rows get
    NaN in every ``stat_cols`` column **and in ``n_col``**, ``flag_col`` True,
    and, when ``reason_col`` is given, reason "primary" for rows hidden by
    their own count (an existing reason such as "secondary" is kept; visible
    rows get "").
    """
    k = check_min_group_size(k)
    out = df.copy()
    n = pd.to_numeric(out[n_col], errors="coerce")
    small = ~(n >= k)
    prior = out[flag_col].eq(True) if flag_col in out.columns else pd.Series(False, index=out.index)
    hide = small | prior
    for c in stat_cols:
        if c in out.columns:
            out[c] = out[c].where(~hide)
    out[n_col] = _as_count(n.where(~hide))
    out[flag_col] = hide.to_numpy()
    if reason_col:
        old = out[reason_col].fillna("").astype(str) if reason_col in out.columns else pd.Series("", index=out.index)
        reason = np.where(hide & (old == ""), "primary", np.where(hide, old, ""))
        out[reason_col] = reason.astype(object)
    return out


def _as_count(x: pd.Series) -> pd.Series:
    """Counts as nullable integers (CSV shows 8, not 8.0; a blanked count is empty)."""
    x = pd.to_numeric(x, errors="coerce")
    vals = x.dropna()
    if len(vals) == 0 or (np.mod(vals, 1) == 0).all():
        return x.astype("Int64")
    return x


def _block_label(t: pd.DataFrame) -> np.ndarray:
    rk, tk = t["rater_kind"].to_numpy(), t["target_kind"].to_numpy()
    diag = t["rater_unit"].to_numpy() == t["target_unit"].to_numpy()
    lab = np.char.add(np.char.add(rk.astype(str), "_to_"), tk.astype(str)).astype(object)
    return np.where(diag, "within_" + rk.astype(str).astype(object), lab)


def secondary_suppress_ties(ties_df: pd.DataFrame, units_df: pd.DataFrame | None, k: int, *, rules: bool = True
                            ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Complementary suppression of ties (see the module docstring).

    Input: internal ties (numeric ``n``). Returns copies: ties with
    ``suppressed`` (primary: n < k, or already flagged; secondary: added here)
    and ``suppression`` in {"", "primary", "secondary"}; and units with
    ``within_suppressed`` also set where the tie A -> A was hidden (the within
    RC *is* that tie). Values are not blanked here; :func:`suppress` does that.
    Sets examined: column (target_unit, rater_kind) and row (rater_unit) of the
    off-diagonal ties, and block (kind -> kind, within separate), iterated to a
    fixed point. The visible tie chosen is the one with the smallest n (ties
    broken by rater_unit, target_unit), i.e. the "next-smallest" one.
    ``rules=False``: primary flags and reasons only (the disclosure audit then
    chooses every complement).
    """
    k = check_min_group_size(k)
    t = ties_df.copy().reset_index(drop=True)
    n = pd.to_numeric(t["n"], errors="coerce")
    flagged = t["suppressed"].eq(True) if "suppressed" in t.columns else False
    hidden = (~(n >= k) | flagged).to_numpy()
    old = t["suppression"].fillna("").astype(str).to_numpy() if "suppression" in t.columns else np.full(len(t), "")
    reason = np.where(hidden & (old == ""), "primary", np.where(hidden, old, "")).astype(object)
    informative = ~(n < 1).to_numpy()                       # n >= 1, or unknown (NaN): could be recovered
    offdiag = (t["rater_unit"].to_numpy() != t["target_unit"].to_numpy())
    n_sort = n.fillna(np.inf).to_numpy()
    sets = [
        (offdiag, [t["target_unit"].astype(str).to_numpy(), t["rater_kind"].astype(str).to_numpy()]),
        (offdiag, [t["rater_unit"].astype(str).to_numpy()]),
        (np.ones(len(t), bool), [_block_label(t).astype(str)]),
    ]
    set_codes = []
    for mask, keys in sets:
        code = pd.MultiIndex.from_arrays(keys).factorize()[0] if len(t) else np.zeros(0, np.int64)
        set_codes.append(np.where(mask, code, -1))
    tie_order = np.lexsort((t["target_unit"].astype(str).to_numpy(), t["rater_unit"].astype(str).to_numpy(),
                            n_sort))                       # smallest n first, then ids
    changed = rules
    while changed:
        changed = False
        for code in set_codes:
            m = code >= 0
            if not m.any():
                continue
            size = code.max() + 1
            n_hidden = np.bincount(code[m], weights=(hidden & informative)[m], minlength=size)
            n_visible = np.bincount(code[m], weights=(~hidden)[m], minlength=size)
            need = (n_hidden == 1) & (n_visible >= 1)
            if not need.any():
                continue
            cand = tie_order[m[tie_order] & ~hidden[tie_order] & need[np.maximum(code[tie_order], 0)]]
            _, first = np.unique(code[cand], return_index=True)
            pick = cand[first]
            hidden[pick] = True
            reason[pick] = "secondary"
            changed = True
    t["suppressed"] = hidden
    t["suppression"] = reason
    u = None
    if units_df is not None:
        u = units_df.copy()
        diag_hidden = t.loc[~offdiag & hidden, "rater_unit"].astype(str)
        if "within_suppressed" in u.columns:
            u["within_suppressed"] = u["within_suppressed"].eq(True) | \
                u["unit_id"].astype(str).isin(set(diag_hidden))
    return t, u


def _complement(hidden: np.ndarray, informative: np.ndarray, n: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """One set: if exactly one hidden member with respondents (``informative``)
    and at least one visible member, also hide the visible member with the
    smallest count (ties broken by id). Returns the new hidden mask."""
    hidden = hidden.copy()
    if (hidden & informative).sum() == 1 and (~hidden).any():
        cand = np.flatnonzero(~hidden)
        order = np.lexsort((ids[cand].astype(str), np.where(np.isfinite(n[cand]), n[cand], np.inf)))
        hidden[cand[order[0]]] = True
    return hidden


def suppress_counts(counts: Mapping[str, object], k: int, exposure: Mapping[str, float] | None = None
                    ) -> tuple[dict[str, int | None], dict[str, str]]:
    """Counts per group (e.g. respondents per unit) as a reader may see them,
    next to a published total.

    Returns ``(shown, hidden)``: ``shown`` maps every group to its count or
    ``None`` (hidden); ``hidden`` maps each hidden group to ``"primary"``
    (fewer than k), ``"secondary"``, or ``"hidden"`` (given as ``None``). Secondary: when exactly one
    hidden group has respondents (a count >= 1, or unknown) and some group is
    visible, one visible group is hidden too, so the total minus the visible
    counts gives only the sum of two hidden groups: the one whose count costs
    least to keep hidden elsewhere (``exposure``, see :func:`count_exposure`;
    ties broken by the smaller count, then id), or without ``exposure`` the
    smallest. Groups already ``None`` count as hidden (idempotent: the output
    passed in again comes back unchanged)."""
    k = check_min_group_size(k)
    ids = np.array([str(g) for g in counts], dtype=object)
    n = np.array([np.nan if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
                  for v in counts.values()], dtype=float)
    primary = ~(n >= k)
    informative = ~(n < 1)
    if exposure:
        hidden = primary.copy()
        if (primary & informative).sum() == 1 and (~primary).any():
            cand = np.flatnonzero(~primary)
            best = min(cand, key=lambda i: (float(exposure.get(ids[i], np.inf)), n[i], str(ids[i])))
            hidden[best] = True
    else:
        hidden = _complement(primary, informative, n, ids)
    shown = {g: (None if h else int(v)) for g, v, h in zip(ids, n, hidden)}
    reason = {g: ("hidden" if np.isnan(v) else "primary" if p else "secondary")
              for g, v, p, h in zip(ids, n, primary, hidden) if h}
    return shown, reason


def count_exposure(respondents: pd.DataFrame, defined: pd.DataFrame) -> dict[str, float]:
    """Base unit -> what hiding its respondent count costs elsewhere: a tie of
    the unit about a target every one of its respondents rated has the unit's
    count as its ``n`` and would give the hidden count away, so it would have
    to be hidden too (1 + n each, the disclosure audit's cost of a base tie),
    plus 2 for the between cell (its n is the count as well). A large unit
    whose respondents skipped a target here and there exposes its count
    nowhere exactly: hiding it costs little (:func:`suppress_counts`).
    ``defined``: (``respondent_id, target_unit``) of every respondent-tie with
    a defined RC."""
    r = respondents.drop_duplicates("respondent_id")
    size = r["rater_unit"].astype(str).value_counts()
    unit_of = dict(zip(r["respondent_id"].astype(str), r["rater_unit"].astype(str)))
    d = defined.assign(unit=defined["respondent_id"].astype(str).map(unit_of)).dropna(subset=["unit"])
    per = d.drop_duplicates(["respondent_id", "target_unit"]).groupby(["unit", "target_unit"]).size()
    out = {}
    for u, n in size.items():
        full = int((per.get(u, pd.Series(dtype=int)) == n).sum()) if u in per.index.get_level_values(0) else 0
        out[str(u)] = 2.0 + full * (1.0 + float(n))
    return out


def summary_for_readers(summary: Mapping[str, object], k: int, exposure: Mapping[str, float] | None = None
                        ) -> dict:
    """validation/summary.json as published: ``respondents_per_unit`` through
    :func:`suppress_counts` (hidden counts are ``null``), the reason per hidden
    unit in ``respondents_per_unit_hidden`` and ``min_group_size``; dropped
    columns only counted (``dropped_columns_count``; their names, which can
    be personal data such as an e-mail address used as a header, are
    removed). Everything else is unchanged (totals, answers, failures per
    rule). ``exposure`` (validation passes :func:`count_exposure`) chooses the
    complement of a lone small unit; the disclosure audit assumes the same."""
    out = dict(summary)
    if "dropped_columns" in out:
        names = out.pop("dropped_columns") or []
        out.setdefault("dropped_columns_count", len(names))
    per = dict(summary.get("respondents_per_unit") or {})
    hidden_before = dict(summary.get("respondents_per_unit_hidden") or {})
    shown, reason = suppress_counts(per, k, exposure)
    out["respondents_per_unit"] = shown
    out["respondents_per_unit_hidden"] = {g: hidden_before.get(g, r) for g, r in sorted(reason.items())}
    out["min_group_size"] = check_min_group_size(k)
    return out


def secondary_suppress_units(units_df: pd.DataFrame, k: int, parts: Sequence[str] = ("between", "received")
                             ) -> pd.DataFrame:
    """Complementary suppression of the per-unit cells of units.csv.

    For each part (``between``, ``received``) and each unit kind, the cells
    form a set whose counts (and n-weighted values) add up to published totals
    (respondents, blocks). A cell is hidden when ``<part>_suppressed`` is set
    or ``<part>_n`` < k; where exactly one hidden cell has respondents and
    some cell is visible, the visible cell with the smallest ``<part>_n`` is
    flagged too. Returns a copy with the ``<part>_suppressed`` flags set
    (values are blanked by :func:`suppress`)."""
    k = check_min_group_size(k)
    u = units_df.copy().reset_index(drop=True)
    kind = u["kind"].astype(str).to_numpy() if "kind" in u.columns else np.full(len(u), "")
    ids = u["unit_id"].astype(str).to_numpy() if "unit_id" in u.columns else np.arange(len(u)).astype(str)
    for part in parts:
        n_col, flag = f"{part}_n", f"{part}_suppressed"
        if n_col not in u.columns:
            continue
        n = pd.to_numeric(u[n_col], errors="coerce").to_numpy(dtype=float)
        hidden = ~(n >= k)
        if flag in u.columns:
            hidden |= u[flag].eq(True).to_numpy()
        informative = ~(n < 1)
        for kd in np.unique(kind):
            m = kind == kd
            hidden[m] = _complement(hidden[m], informative[m], n[m], ids[m])
        u[flag] = hidden
    u.index = units_df.index
    return u


# --------------------------------------------------------------------------- personal data in export text

#: What :func:`mask_personal` replaces, in this order (placeholder, pattern). Digits are ASCII; a match
#: never starts or ends inside a word, so codes ('4', 'A1'), dates ('2024-03-01'), numbers with
#: separators ('1,000', '4.5') and hex pseudonyms are left alone.
_HEX = r"[0-9A-Fa-f]{1,4}"
_PERSONAL: list[tuple[str, re.Pattern]] = [
    ("[e-mail]", re.compile(r"[\w.%+'\-]+@[\w\-]+(?:\.[\w\-]+)*")),
    ("[IP]", re.compile(  # IPv6: eight groups, or compressed with '::' (IPv4-mapped tails included)
        rf"(?<![\w:])(?:(?:{_HEX}:){{7}}{_HEX}"
        rf"|(?:{_HEX}(?::{_HEX}){{0,6}})?::(?:{_HEX}(?::{_HEX}){{0,6}})?(?::?\d{{1,3}}(?:\.\d{{1,3}}){{3}})?)"
        rf"(?![\w:]|\.\d)")),
    ("[IP]", re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                        r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)", re.ASCII)),
    ("[CPR]", re.compile(r"(?<![\w\-+])([0-3]\d)([01]\d)(\d\d)-?(\d{4})(?![\w]|[.,\-]\d)", re.ASCII)),
    ("[phone]", re.compile(  # international: +CC or 00CC, then groups (one may be in brackets)
        r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .\-]?(?:\(\d{1,4}\)|\d{1,5})){1,6}(?![\w]|[.,]\d)", re.ASCII)),
    ("[phone]", re.compile(  # Danish: 8 digits, written together or in groups of 2 or 4 with spaces
        r"(?<![\w.,\-+])(?:\d{8}|\d{2} \d{2} \d{2} \d{2}|\d{4} \d{4}|\d{4} \d{2} \d{2})(?![\w]|[.,\-]\d)",
        re.ASCII)),
    ("[phone]", re.compile(r"(?<![\w.,\-+])\d{9,15}(?![\w]|[.,\-]\d)", re.ASCII)),  # other long numbers
]
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _cpr_date_ok(m: re.Match) -> bool:
    day, month = int(m.group(1)), int(m.group(2))
    return 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]


def _ip6_ok(text: str) -> bool:
    return text != "::" and any(ch.isalnum() for ch in text)


def _phone_ok(text: str) -> bool:
    return sum(ch.isdigit() for ch in text) >= 7


_CHECK = {"[CPR]": lambda m: _cpr_date_ok(m), "[phone]": lambda m: _phone_ok(m.group(0)),
          "[IP]": lambda m: ":" not in m.group(0) or _ip6_ok(m.group(0)), "[e-mail]": lambda m: True}


def mask_personal(text: object) -> str:
    """``text`` with whatever looks like personal contact data replaced by a placeholder:
    e-mail addresses ``[e-mail]``, IPv4/IPv6 addresses ``[IP]``, Danish CPR numbers (ddmmyy-xxxx or
    ddmmyyxxxx with a valid day and month) ``[CPR]``, phone numbers (Danish 8 digits, together or
    in groups of 2/4 with spaces, with an optional +45/0045; international +CC/00CC forms; any other
    run of 9-15 digits) ``[phone]``. Codes, dates, amounts and pseudonyms are left alone ('4',
    '2024-03-01', '1,000', '4.5', 'a3f09c...'). Names cannot be told from other text and are not
    masked (hence the length cap of :func:`quote_cell`). Idempotent; ``None``/NaN give ''."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = str(text)
    if not any(ch.isdigit() or ch in "@:" for ch in s):
        return s                                            # the common case: nothing to find
    for placeholder, rx in _PERSONAL:
        ok = _CHECK[placeholder]
        s = rx.sub(lambda m, placeholder=placeholder, ok=ok: placeholder if ok(m) else m.group(0), s)
    return s


def looks_personal(text: object) -> bool:
    """Whether :func:`mask_personal` would change ``text``."""
    s = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    return mask_personal(s) != s


def quote_cell(value: object, limit: int = 60) -> str:
    """An export cell as a failure row or a message may quote it: masked (:func:`mask_personal`),
    then cut to ``limit`` characters plus "…" (so a comment pasted into a cell is not copied whole).
    ``None``/NaN give ''."""
    s = mask_personal(value)
    return s if len(s) <= limit else s[:limit].rstrip() + "…"


def merge_small_categories(respondents: pd.DataFrame, fields: Sequence[str], k: int, other: str = "other"
                           ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Background categories as they may be carried: in each of ``fields`` a category held by fewer
    than k respondents (k = ``privacy.min_group_size``) is merged into ``other``; when ``other``
    then still has 1..k-1 respondents, the smallest remaining category (ties by name) is merged too,
    until ``other`` has k or more or is the only category left. Blank values stay blank (missing, not
    a category). Returns a copy and, per field, the categories merged (for the analyst's log; a
    category already called ``other`` is merged into, never listed)."""
    k = check_min_group_size(k)
    out = respondents.copy()
    merged: dict[str, list[str]] = {}
    for col in fields:
        if col not in out.columns:
            continue
        v = out[col].map(lambda x: None if x is None or (isinstance(x, float) and x != x) or str(x).strip() == ""
                         else str(x))
        counts = v.dropna().value_counts()
        small = sorted(c for c, n in counts.items() if n < k and c != other)
        rest = {c: int(n) for c, n in counts.items() if c not in small and c != other}
        n_other = int(counts.get(other, 0)) + int(sum(counts[c] for c in small))
        while 0 < n_other < k and rest:
            c = min(rest, key=lambda x: (rest[x], x))
            small.append(c)
            n_other += rest.pop(c)
        if small:
            out[col] = out[col].astype(object).where(~v.isin(set(small)).to_numpy(), other)
            merged[col] = sorted(small)
    return out, merged


def check_background(respondents: pd.DataFrame, columns: Sequence[str], source: str | None = None) -> None:
    """Stop when a ``background`` field the codebook carries into results/
    holds contact data: ANY value that looks like an e-mail address, an IP
    address, a phone number or a CPR number (:func:`mask_personal`). The
    message quotes the value masked. (Names cannot be told apart from other
    text: the codebook's list of allowed values is the safeguard; README
    "Privacy".)"""
    for col in columns:
        if col not in respondents.columns:
            continue
        v = respondents[col].dropna().astype(str).str.strip()
        v = v[v != ""]
        if not len(v):
            continue
        uniq = pd.unique(v.to_numpy())
        bad = [u for u in uniq if looks_personal(u)]
        if bad:
            n_bad = int(v.isin(set(bad)).sum())
            kinds = sorted({p for u in bad for p in re.findall(r"\[(?:e-mail|IP|CPR|phone)\]", mask_personal(u))})
            raise RelcoordError(
                f"background field {col!r} holds what looks like contact data ({', '.join(kinds)}: {n_bad} of "
                f"{len(v)} values, e.g. {quote_cell(bad[0])!r}): personal data that must not reach results/",
                file=source, column=col,
                hint=f"remove {col!r} from the codebook's `background:`, or list its allowed values there "
                     "(values outside the list are blanked); correct the export if a cell holds contact data")
