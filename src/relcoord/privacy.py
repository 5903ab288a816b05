"""Small-group suppression for every reader-facing table.

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
* **Audit** (:mod:`relcoord.disclosure`, run by :func:`reader_facing`
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

from .disclosure import audit_round
from .errors import RelcoordError

__all__ = ["check_min_group_size", "suppress", "secondary_suppress_ties",
           "secondary_suppress_units", "suppress_counts", "count_exposure", "summary_for_readers", "reader_facing",
           "check_background", "mask_personal", "quote_cell", "looks_personal", "merge_small_categories"]

_HARD_MINIMUM = 3

#: statistic columns per known table (besides item columns, found by exclusion)
_TIE_ID = {"rater_unit", "target_unit", "rater_kind", "target_kind", "n", "suppressed", "suppression",
           "ci_method"}
_BLOCK_STATS = ["rc_mean", "rc_sd", "communication", "relationship", "n_ties"]
_ORG_STATS = ["mean", "sd", "ci_low", "ci_high"]
_RESPONDENT_LEVEL = ("respondent_ties", "respondent_index", "rater_groups")


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


def _generic_stats(df: pd.DataFrame, n_cols: Sequence[str]) -> list[str]:
    return [c for c in df.columns if c not in n_cols and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]


_PARTS = ("within", "between", "received")


def _unit_reasons(u: pd.DataFrame, before: pd.DataFrame, ties: pd.DataFrame | None, k: int) -> pd.DataFrame:
    """``<part>_suppression`` per unit cell: primary (n < k), secondary (flagged
    by the set rules; within: the tie A -> A's reason), "" when visible."""
    u = u.copy()
    diag = {}
    if ties is not None and len(ties):
        d = ties[ties["rater_unit"].astype(str) == ties["target_unit"].astype(str)]
        diag = dict(zip(d["rater_unit"].astype(str), d["suppression"].fillna("").astype(str)))
    for part in _PARTS:
        if f"{part}_n" not in u.columns:
            continue
        n = pd.to_numeric(u[f"{part}_n"], errors="coerce")
        col = f"{part}_suppressed"
        flag = u[col].eq(True) if col in u.columns else pd.Series(False, index=u.index)
        reason = np.where(~(n >= k), "primary", np.where(flag, "secondary", "")).astype(object)
        if part == "within":
            ids = u["unit_id"].astype(str).to_numpy()
            reason = np.array([diag.get(i, r) or r for i, r in zip(ids, reason)], dtype=object)
        u[f"{part}_suppression"] = reason
    return u


def _run_audit(
    tables: Mapping[str, pd.DataFrame],
    ties: pd.DataFrame,
    units: pd.DataFrame | None,
    respondents: pd.DataFrame | None,
    k: int,
):
    """:func:`relcoord.disclosure.audit_round` on the internal tables (None
    when the respondent-level rows it needs are missing)."""

    rtg = tables.get("rater_groups")
    rt = tables.get("respondent_ties")
    src = rtg if rtg is not None else rt
    if src is None or not len(ties):
        return None
    base = src[src["rater_kind"] == "base"] if "rater_kind" in src.columns else src
    defined = base.loc[base["rc"].notna(), ["respondent_id", "target_unit"]]
    if respondents is None:
        ids = src[["respondent_id", "rater_unit"]].drop_duplicates("respondent_id")
        nets = (
            src[src["rater_kind"] == "network"]
            .groupby("respondent_id")["rater_group"]
            .agg(lambda x: ";".join(sorted(set(map(str, x)))))
            if rtg is not None
            else pd.Series(dtype=object)
        )
        respondents = ids.assign(networks=ids["respondent_id"].map(nets).fillna(""))
    kinds = dict(zip(ties["target_unit"].astype(str), ties["target_kind"].astype(str)))
    kinds.update(dict(zip(ties["rater_unit"].astype(str), ties["rater_kind"].astype(str))))
    if units is not None and "kind" in units.columns:
        kinds.update(dict(zip(units["unit_id"].astype(str), units["kind"].astype(str))))
    per = respondents.drop_duplicates("respondent_id")["rater_unit"].astype(str).value_counts().to_dict()
    _, summary_hidden = suppress_counts(per, k, count_exposure(respondents, defined))   # as validation publishes
    nar = bool((ties["rater_kind"].astype(str) == "network").any())
    return audit_round(
        ties,
        units,
        tables.get("blocks"),
        tables.get("organisation"),
        respondents,
        defined,
        kinds,
        k,
        networks_as_raters=nar,
        summary_hidden=summary_hidden,
    )


def _apply_audit(res, ties: pd.DataFrame, units: pd.DataFrame | None):
    """The audit's complements into the flags and reasons."""
    t = ties.copy()
    hide_t = {(key[1], key[2]) for key in res.hidden if key[0] == "tie"}
    if hide_t:
        m = np.array([(r, c) in hide_t for r, c in zip(t["rater_unit"].astype(str), t["target_unit"].astype(str))])
        t.loc[m, "suppressed"] = True
        t.loc[m, "suppression"] = "complementary"
    u = units
    if u is not None:
        u = u.copy()
        ids = u["unit_id"].astype(str)
        for part in _PARTS:
            if f"{part}_suppressed" not in u.columns:
                continue
            hid = {key[2] for key in res.hidden if key[0] == "unit" and key[1] == part}
            if part == "within":
                hid |= {r for r, c in hide_t if r == c}
            m = ids.isin(hid).to_numpy()
            u.loc[m, f"{part}_suppressed"] = True
            if f"{part}_suppression" in u.columns:
                u.loc[m, f"{part}_suppression"] = "complementary"
    blocks = {key[1]: "complementary" for key in res.hidden if key[0] == "block"}
    return t, u, blocks, ("org",) in res.hidden


def reader_facing(tables: Mapping[str, pd.DataFrame], k: int, respondents: pd.DataFrame | None = None, *,
                  audit: bool = True, set_rules: bool | None = None) -> dict[str, pd.DataFrame]:
    """The tables as a reader may see them: primary + secondary suppression,
    then the disclosure audit (:func:`relcoord.disclosure.audit_round`).

    * ``ties``: primary (n < k), secondary (:func:`secondary_suppress_ties`),
      then statistics, ``band`` and ``n`` blanked on every suppressed row;
      adds ``suppression``.
    * ``units``: within/between/received each blanked on its own count (and
      within also when the tie A -> A was hidden), between and received with
      secondary suppression per unit kind (:func:`secondary_suppress_units`);
      counts of hidden cells blanked.
    * ``agreement``: also hidden wherever ``ties`` hides the tie.
    * ``blocks``: on ``n_respondents`` (``n_ties`` blanked too).
    * ``edges``: recomputed from the suppressed ties when ``ties`` is given (so a
      secondarily hidden tie is not revealed by the symmetric mean), counts of
      suppressed edges blanked.
    * ``organisation`` and any other table with an ``n`` column (e.g.
      agreement, reliability): rows with n < k blanked (all numeric columns).
      Tables with ``n_*`` columns but no ``n``: a row is hidden when any
      ``n_*`` < k.
    * ``respondent_ties`` and ``respondent_index`` are respondent-level, never
      reader-facing: they are **dropped** from the result.
    * any other table is passed through unchanged.
    * **audit** (when ``audit`` and the internal ``rater_groups`` or
      ``respondent_ties`` are given): every hidden small group (primary cell,
      or a unit count ``summary.json`` hides) is checked against everything
      published (ties of base units and networks, units, blocks, organisation,
      respondents per unit); cells that would let one be worked out are hidden
      too with reason ``complementary``. ``respondents`` (validated
      respondents with ``networks``) gives the memberships; without it they
      are read from the network rows of ``rater_groups``.
    Reasons: ``suppression`` in ties and blocks, ``<part>_suppression`` in
    units: ``primary`` (fewer than k), ``secondary`` (set rule),
    ``complementary`` (audit); "" when visible.
    """
    from .scores import edges as _edges  # late import: scores imports this module

    k = check_min_group_size(k)
    out: dict[str, pd.DataFrame] = {}
    units = tables.get("units")
    sec_ties = u_sec = None
    block_hide: dict[str, str] = {}
    org_hidden = False
    can_audit = audit and "ties" in tables and any(tables.get(x) is not None for x in
                                                   ("rater_groups", "respondent_ties"))
    if set_rules is None:
        set_rules = not can_audit           # the audit chooses every complement; the set rules without it
    if "ties" in tables:
        sec_ties, units = secondary_suppress_ties(tables["ties"], units, k, rules=set_rules)
    if units is not None:
        u_sec = secondary_suppress_units(units, k) if set_rules else units.copy()
        u_sec = _unit_reasons(u_sec, units, sec_ties, k)
    if can_audit and sec_ties is not None:
        res = _run_audit(tables, sec_ties, u_sec, respondents, k)
        if res is not None:
            sec_ties, u_sec, block_hide, org_hidden = _apply_audit(res, sec_ties, u_sec)
    for name, df in tables.items():
        if name in _RESPONDENT_LEVEL or name in ("ties", "units", "edges"):
            continue
        if name == "blocks":
            bl = df.assign(suppression=df["block"].astype(str).map(block_hide).fillna("")) if block_hide else df
            if block_hide:
                bl = bl.assign(suppressed=bl["suppressed"].eq(True) | (bl["suppression"] != ""))
            b = suppress(bl, "n_respondents", _BLOCK_STATS, k)
            if "n_ties" in b.columns:
                b["n_ties"] = _as_count(b["n_ties"])
            out[name] = b
        elif name == "organisation":
            out[name] = suppress(df.assign(suppressed=True) if org_hidden else df, "n", _ORG_STATS, k, reason_col=None)
        elif "n" in df.columns:
            out[name] = suppress(df, "n", _generic_stats(df, ["n"]), k, reason_col=None)
        elif any(str(c).startswith("n_") for c in df.columns):
            n_cols = [c for c in df.columns if str(c).startswith("n_")]
            nmin = df[n_cols].apply(pd.to_numeric, errors="coerce").min(axis=1, skipna=False)
            tmp = df.assign(_n_min=nmin)
            tmp = suppress(tmp, "_n_min", _generic_stats(df, n_cols) + n_cols, k, reason_col=None)
            for c in n_cols:
                tmp[c] = _as_count(tmp[c])
            out[name] = tmp.drop(columns="_n_min")
        else:
            out[name] = df.copy()
    if sec_ties is not None:
        t = sec_ties
        stats_cols = [c for c in t.columns if c not in _TIE_ID]
        out["ties"] = suppress(t, "n", stats_cols, k)
    if u_sec is not None:
        u = u_sec
        for part in ("within", "between", "received"):
            if f"{part}_n" in u.columns:
                cols = [
                    c
                    for c in u.columns
                    if c.startswith(f"{part}_") and c not in (f"{part}_n", f"{part}_suppressed", f"{part}_suppression")
                ]
                u = suppress(u, f"{part}_n", cols, k, flag_col=f"{part}_suppressed", reason_col=None)
        out["units"] = u
    if "ties" in out and "agreement" in out and {"rater_unit", "target_unit"} <= set(out["agreement"].columns):
        # rwg(j) per tie: hidden wherever ties.csv hides the tie (its n would reveal a secondary cell)
        t_hidden = set(
            zip(
                out["ties"].loc[out["ties"]["suppressed"], "rater_unit"].astype(str),
                out["ties"].loc[out["ties"]["suppressed"], "target_unit"].astype(str),
            )
        )
        a = out["agreement"]
        flag = np.array(
            [(r, c) in t_hidden for r, c in zip(a["rater_unit"].astype(str), a["target_unit"].astype(str))], dtype=bool
        )
        a = a.assign(suppressed=a["suppressed"].eq(True) | flag if "suppressed" in a.columns else flag)
        out["agreement"] = suppress(a, "n", _generic_stats(a, ["n"]), k, reason_col=None)
    if "ties" in out:
        e = _edges(out["ties"], k)
    elif "edges" in tables:
        e = tables["edges"]
    else:
        e = None
    if e is not None:
        e = e.copy()
        hide = e["suppressed"].fillna(True).astype(bool)
        for c in ("a_to_b", "b_to_a", "symmetric_rc", "asymmetry", "difference", "n_a_to_b", "n_b_to_a"):
            if c in e.columns:
                e[c] = pd.to_numeric(e[c], errors="coerce").where(~hide)
        for c in ("n_a_to_b", "n_b_to_a"):
            if c in e.columns:
                e[c] = _as_count(e[c])
        out["edges"] = e
    return {name: out[name] for name in tables if name in out}


# --------------------------------------------------------------------------- visibility for readers


def _as_bool(s: pd.Series) -> pd.Series:
    if s.dtype == bool:
        return s
    return s.map(lambda x: str(x).strip().lower() in ("true", "1", "yes")).astype(bool)


def visible_rows(
    df: pd.DataFrame,
    min_group_size: int,
    n_cols: Sequence[str] = ("n",),
    flag: str = "suppressed",
    value_cols: Sequence[str] = (),
) -> pd.Series:
    """Boolean mask of rows a reader may see: not flagged, every count in
    ``n_cols`` present and >= k, every ``value_cols`` finite. Defensive: also
    hides rows an upstream step forgot to blank."""
    ok = pd.Series(True, index=df.index)
    if flag in df.columns:
        ok &= ~_as_bool(df[flag].fillna(True))
    for c in n_cols:
        if c in df.columns:
            ok &= pd.to_numeric(df[c], errors="coerce") >= min_group_size
    for c in value_cols:
        if c in df.columns:
            ok &= np.isfinite(pd.to_numeric(df[c], errors="coerce"))
    return ok


def _hidden_keys(public: Mapping[str, pd.DataFrame] | None, k: int) -> dict[str, set]:
    """What a round's reader-facing tables hide, keyed like changes.csv rows:
    ``tie`` (rater, target), ``unit_within``/``unit_between``/``unit_received``
    unit id, ``block`` block label, ``organisation`` measure."""
    out: dict[str, set] = {
        lvl: set() for lvl in ("tie", "unit_within", "unit_between", "unit_received", "block", "organisation")
    }
    if not public:
        return out
    t = public.get("ties")
    if t is not None and len(t):
        hid = t[~visible_rows(t, k, value_cols=("rc_mean",))]
        pairs = set(zip(hid["rater_unit"].astype(str), hid["target_unit"].astype(str)))
        out["tie"] |= pairs
        out["unit_within"] |= {r for r, c in pairs if r == c}
    u = public.get("units")
    if u is not None and len(u):
        for part in ("within", "between", "received"):
            if f"{part}_rc" not in u.columns:
                continue
            vis = visible_rows(u, k, n_cols=(f"{part}_n",), flag=f"{part}_suppressed", value_cols=(f"{part}_rc",))
            out[f"unit_{part}"] |= set(u.loc[~vis, "unit_id"].astype(str))
    b = public.get("blocks")
    if b is not None and len(b):
        vis = visible_rows(b, k, n_cols=("n_respondents",), value_cols=("rc_mean",))
        out["block"] |= set(b.loc[~vis, "block"].astype(str))
    o = public.get("organisation")
    if o is not None and len(o):
        vis = visible_rows(o, k, value_cols=("mean",))
        out["organisation"] |= set(o.loc[~vis, "measure"].astype(str))
    return out


def change_visibility(
    changes: pd.DataFrame,
    min_group_size: int,
    public_a: Mapping[str, pd.DataFrame] | None = None,
    public_b: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The unpaired rows of changes.csv with a ``visible`` column a reader may see.

    Hidden: ``suppressed``, either n below k, a missing mean; and, when the
    rounds' reader-facing tables are given (``public_a``/``public_b``: dicts
    with any of ``ties, units, blocks, organisation``), every row whose cell is
    hidden in either round (e.g. a tie or a unit's within RC removed by
    secondary suppression), because a comparison must not reveal what a round
    report hides. Measures other than rc of a hidden cell are hidden too."""
    k = int(min_group_size)
    c = changes.copy()
    for col in ("level", "rater_unit", "target_unit", "measure", "block"):
        c[col] = c[col].fillna("").astype(str) if col in c.columns else ""
    if "test" in c.columns:
        c = c[~c["test"].astype(str).str.startswith(("paired", "wilcoxon"))]
    for col in ("n_a", "n_b", "mean_a", "mean_b", "diff", "hedges_g", "g_ci_low", "g_ci_high", "p", "p_fdr"):
        if col in c.columns:
            c[col] = pd.to_numeric(c[col], errors="coerce")
    c = c.reset_index(drop=True)
    vis = visible_rows(c, k, n_cols=("n_a", "n_b"), value_cols=("mean_a", "mean_b", "diff")).to_numpy()
    ha, hb = _hidden_keys(public_a, k), _hidden_keys(public_b, k)
    hidden = {lvl: ha[lvl] | hb[lvl] for lvl in ha}
    keys = []
    for lvl, r, t, m, blk in zip(c["level"], c["rater_unit"], c["target_unit"], c["measure"], c["block"]):
        if lvl == "tie":
            keys.append((r, t) in hidden["tie"])
        elif lvl.startswith("unit_"):
            keys.append((r or t) in hidden.get(lvl, set()))
        elif lvl == "block":
            keys.append((blk or f"{r}_to_{t}") in hidden["block"])
        elif lvl == "organisation":
            keys.append(m in hidden["organisation"])
        else:
            keys.append(False)
    c["visible"] = vis & ~np.asarray(keys, dtype=bool) & ~_new_aggregates(c, public_a, public_b, k)
    return c


def _published_counts(public: Mapping[str, pd.DataFrame] | None, k: int) -> dict[tuple, float]:
    """(level, rater, target) -> the count a round publishes for that cell (visible cells only)."""
    out: dict[tuple, float] = {}
    if not public:
        return out
    t = public.get("ties")
    if t is not None and len(t):
        v = t[visible_rows(t, k, value_cols=("rc_mean",))]
        for r, c, n in zip(v["rater_unit"].astype(str), v["target_unit"].astype(str), pd.to_numeric(v["n"])):
            out[("tie", r, c)] = float(n)
    u = public.get("units")
    if u is not None and len(u):
        for part in _PARTS:
            if f"{part}_n" not in u.columns:
                continue
            vis = visible_rows(u, k, n_cols=(f"{part}_n",), flag=f"{part}_suppressed", value_cols=(f"{part}_rc",))
            for uid, n in zip(u.loc[vis, "unit_id"].astype(str), pd.to_numeric(u.loc[vis, f"{part}_n"])):
                out[(f"unit_{part}", uid)] = float(n)
    return out


def _new_aggregates(
    c: pd.DataFrame, public_a: Mapping[str, pd.DataFrame] | None, public_b: Mapping[str, pd.DataFrame] | None, k: int
) -> np.ndarray:
    """Disclosure audit of a comparison, per round side: a tie or unit row of
    changes.csv publishes (n, mean) of a set of that round's respondents. When
    the round's own tables publish the same cell with the same count, the row
    adds nothing the round's audit has not checked; when the round publishes
    that cell with a *different* count (e.g. other respondents: a mapped unit,
    a panel subset), it is a new aggregate over the round's respondents that
    the audit never saw, and it could be differenced against the round's cells:
    hidden (every measure of the cell). Rows of a round whose tables are not
    given are not judged here."""
    hide = np.zeros(len(c), dtype=bool)
    for public, n_col in ((public_a, "n_a"), (public_b, "n_b")):
        if not public or n_col not in c.columns:
            continue
        pub = _published_counts(public, k)
        bad = set()
        meas = c["measure"] if "measure" in c.columns else pd.Series("rc", index=c.index)
        for lvl, r, t, m, n in zip(
            c["level"], c["rater_unit"], c["target_unit"], meas, pd.to_numeric(c[n_col], errors="coerce")
        ):
            key = ("tie", r, t) if lvl == "tie" else (lvl, r or t) if lvl.startswith("unit_") else None
            if m != "rc" or key is None or key not in pub or not np.isfinite(n):  # items: own valid n
                continue
            if pub[key] != float(n):
                bad.add(key)
        if bad:
            hide |= np.array(
                [
                    (("tie", r, t) if lvl == "tie" else (lvl, r or t)) in bad
                    for lvl, r, t in zip(c["level"], c["rater_unit"], c["target_unit"])
                ],
                dtype=bool,
            )
    return hide


def suppress_changes(
    changes: pd.DataFrame,
    k: int,
    public_a: Mapping[str, pd.DataFrame] | None,
    public_b: Mapping[str, pd.DataFrame] | None,
) -> pd.DataFrame:
    """changes.csv as a reader may see it: a row is hidden (``suppressed``,
    statistics and counts blanked) when either round has fewer than k
    respondents in it, or when its cell is hidden in either round's
    reader-facing tables (primary or secondary suppression there): a
    comparison must never reveal what a round report hides. Paired rows are
    judged by the same keys."""
    k = check_min_group_size(k)
    c = changes.reset_index(drop=True).assign(_row=np.arange(len(changes)))
    probe = c.assign(test="") if "test" in c.columns else c
    vis = change_visibility(probe, k, public_a, public_b)
    visible = np.zeros(len(c), dtype=bool)
    visible[vis.loc[vis["visible"], "_row"].to_numpy(dtype=int)] = True
    hide = ~visible
    out = c.drop(columns="_row")
    n_cols = [col for col in ("n_a", "n_b") if col in out.columns]
    stat_cols = [
        col
        for col in out.columns
        if col not in n_cols
        and col != "suppressed"
        and pd.api.types.is_numeric_dtype(out[col])
        and not pd.api.types.is_bool_dtype(out[col])
    ]
    out.loc[hide, stat_cols] = np.nan
    for col in n_cols:
        out[col] = _as_count(out[col].where(~hide))
    out["suppressed"] = hide
    return out
