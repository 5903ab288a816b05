"""What a reader may see: a round's and a comparison's tables after every
suppression rule of :mod:`relcoord.privacy` and the exact disclosure audit of
:mod:`relcoord.disclosure` (the layer above the statistics: it reads the
scores' tables and recomputes edges from the suppressed ties)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .disclosure import audit_round
from .privacy import (_as_count, check_min_group_size, count_exposure, secondary_suppress_ties,
                      secondary_suppress_units, suppress, suppress_counts)
from .scores import edges as _edges

__all__ = ["reader_facing", "visible_rows", "change_visibility", "suppress_changes"]

#: statistic columns per known table (besides item columns, found by exclusion)
_TIE_ID = {"rater_unit", "target_unit", "rater_kind", "target_kind", "n", "suppressed", "suppression",
           "ci_method"}
_BLOCK_STATS = ["rc_mean", "rc_sd", "communication", "relationship", "n_ties"]
_ORG_STATS = ["mean", "sd", "ci_low", "ci_high"]
_RESPONDENT_LEVEL = ("respondent_ties", "respondent_index", "rater_groups")


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
