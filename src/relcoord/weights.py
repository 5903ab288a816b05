"""Who answered: the optional staff register (``staff:``, config/staff.tsv), response rates per base
unit and round, and organisation and block figures weighted to the staff (post-stratification by base
unit).

**Register.** ``unit_id, round, staff``: the number of staff of a *base* unit in a round (networks have no
staff of their own: their members are counted in their base units). :func:`load_staff` checks it once,
before any job runs; every problem names the file, row and column.

**Response rates** (:func:`response_rates`): respondents (valid, after validation) / staff per base unit;
the organisation's rate is the sum of respondents over the sum of staff. A unit whose rate is below
``low_response_ratio`` (default 0.5) times the organisation's rate is flagged ``low_response``. Privacy:
rate x staff gives the count back, so where ``summary.json`` hides a unit's respondent count its rate and
flag are hidden too (empty, with the reason).

**Post-stratification** (:func:`strata`, :func:`weighted_table`): respondent i of stratum h gets the
weight w_i = N_h / n_h (staff / valid respondents of the stratum in the round). The weighted mean is
the ratio estimator sum(w y) / sum(w x) over the rows of a figure (x = 1 per row: the organisation
uses one row per respondent, the respondent-level means of organisation.csv; a block uses the
respondent-tie rows of blocks.csv, the respondent being the cluster), so with equal weights it is
exactly the published unweighted figure. Its variance is the stratified (post-strata treated as
strata, i.e. conditional on the n_h) linearisation variance with finite population correction,

    Var = sum_h (1 - n_h/N_h) n_h/(n_h - 1) sum_{i in h} (z_i - mean_h z)^2,
    z_i = w_i (y_i - R x_i) / sum(w x),

over *all* n_h respondents of the stratum (z_i = 0 outside the figure: domain estimation). For the
organisation (one row per respondent) this is Cochran's stratified variance
sum_h W_h^2 (1 - n_h/N_h) s_h^2 / n_h, W_h = N_h / N (Cochran 1977, Sampling Techniques, 5.9; Lohr 2010,
Sampling: Design and Analysis, 4.4 post-stratification). It equals R ``survey``'s
``svymean`` on ``svydesign(ids = ~respondent, strata = ~stratum, fpc = ~N)`` (tests/r/weights.R).
The 95 % interval is mean +/- t(0.975, df) se with the design's degrees of freedom df = the figure's
respondents - their strata (``confint(..., df = degf(design))``). Kish's effective sample size
n_eff = (sum w)^2 / sum w^2 over the figure's respondents (Kish 1965); ``unequal_weights`` flags n_eff / n < 0.5.

**Weights never override suppression.** A weighted figure is hidden wherever the unweighted one is
(and below k respondents). No post-stratum is smaller than k (``privacy.min_group_size``): a base
unit with fewer than k valid respondents, whose respondent count ``summary.json`` hides, or with any
hidden tie of its own (ties.csv) is pooled with the others of its kind into one remainder stratum
(their staff summed); while the remainder has 1..k-1 respondents the smallest other stratum is merged
into it. So every hidden count and every hidden base-unit tie enters the weighted figures with one
common weight, which the unweighted figure already sums with equal weights: the weighted figure is a
function of the unweighted one and of published ties, and adds nothing about a hidden group (the
attacker-favouring linear reading of the disclosure audit, :mod:`relcoord.disclosure`). Blocks rated
from networks are not weighted: a respondent's weight comes from their base unit, and weighting a
network's figure would split it by base unit into groups that may be smaller than k.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RelcoordError
from .privacy import check_min_group_size
from .registry import units_in_round
from .tables import read_tsv

__all__ = ["STAFF_COLUMNS", "RATE_COLUMNS", "WEIGHTED_COLUMNS", "POOLED", "load_staff", "staff_in_round",
           "register_problems", "response_rates", "round_response", "empty_rates", "strata", "kish_n_eff",
           "stratified_mean", "weighted_table", "empty_weighted"]

STAFF_COLUMNS = ["unit_id", "round", "staff"]
#: results/R/validation/response_rates.csv
RATE_COLUMNS = ["unit_id", "staff", "respondents", "response_rate", "low_response", "hidden", "note"]
#: results/R/scores/weighted.csv
WEIGHTED_COLUMNS = ["level", "block", "rater_kind", "target_kind", "measure", "n", "sum_weights", "n_eff",
                    "mean_unweighted", "mean_weighted", "se_weighted", "ci_low", "ci_high", "df", "unequal_weights",
                    "suppressed", "suppression"]
#: the remainder stratum's label (units pooled by the privacy rule)
POOLED = "pooled"
#: n_eff / n below this flags extremely unequal weights
UNEQUAL_WEIGHTS = 0.5
_CONFIDENCE = 0.95


# --------------------------------------------------------------------------- the register


def load_staff(path: str | Path, units: pd.DataFrame, round_order: Sequence[str]) -> pd.DataFrame:
    """Read and check the staff register: ``unit_id, round, staff`` (tab-separated, a header line).

    Checks: the three columns (no others); ``staff`` a whole number >= 0; ``unit_id`` a *base* unit
    of the unit register (``units``, :func:`relcoord.registry.load_units`) that exists in the row's
    round; ``round`` a configured round id; one row per (unit_id, round). Every problem is listed,
    each naming its row (the header is row 1) and column; a :class:`RelcoordError` names the file and
    the first one. Returns ``unit_id, round, staff`` (int) and ``row`` (the row in the file)."""
    path = str(path)
    df = read_tsv(path, required=STAFF_COLUMNS, optional=[])
    order = [str(r) for r in round_order]
    extra = [c for c in df.columns if c not in STAFF_COLUMNS]
    problems: list[tuple[int | None, str, str]] = [(None, c, f"unexpected column {c!r} (the register has exactly "
                                                    "the columns unit_id, round, staff)") for c in extra]
    kinds = dict(zip(units["unit_id"].astype(str), units["kind"].astype(str)))
    exists = {r: set(units_in_round(units, r, order)["unit_id"].astype(str)) for r in order}
    seen: dict[tuple[str, str], int] = {}
    for i, (uid, rnd, staff) in enumerate(zip(df["unit_id"], df["round"], df["staff"])):
        row = i + 2
        if not uid:
            problems.append((row, "unit_id", "the unit_id is empty"))
        elif uid not in kinds:
            problems.append((row, "unit_id", f"{uid!r} is not a unit_id of the unit register"))
        elif kinds[uid] != "base":
            problems.append((row, "unit_id", f"{uid!r} is a network: networks have no staff of their own "
                             "(their members are counted in their base units)"))
        if rnd not in order:
            problems.append((row, "round", f"{rnd!r} is not a configured round id (configured: {', '.join(order)})"))
        elif uid in kinds and kinds[uid] == "base" and uid not in exists[rnd]:
            problems.append((row, "unit_id", f"unit {uid!r} does not exist in round {rnd!r} (valid_from/valid_to "
                             "in the unit register)"))
        if not staff.isdigit():
            problems.append((row, "staff", f"staff {staff!r} is not a whole number >= 0"))
        key = (uid, rnd)
        if uid and rnd and key in seen:
            problems.append((row, "unit_id", f"unit {uid!r} in round {rnd!r} is given twice (rows {seen[key]} "
                             f"and {row})"))
        seen.setdefault(key, row)
    if problems:
        lines = "\n".join(f"  - {f'row {r}, ' if r else ''}column {c!r}: {m}" for r, c, m in problems[:20])
        more = f"\n  - … and {len(problems) - 20} more" if len(problems) > 20 else ""
        row, col, _ = problems[0]
        raise RelcoordError(
            f"the staff register has problems:\n{lines}{more}", file=path, row=row, column=col,
            hint=f"correct the rows above in {path}: one row per base unit and round, staff a whole number "
                 "(columns documented in config/README.md, section staff)")
    out = df[STAFF_COLUMNS].copy()
    out["staff"] = out["staff"].astype(np.int64)
    out["row"] = np.arange(2, len(out) + 2, dtype=np.int64)
    return out.reset_index(drop=True)


def staff_in_round(staff: pd.DataFrame | None, round_id: str) -> dict[str, int]:
    """``{unit_id: staff}`` of one round (empty when the register has no row for it)."""
    if staff is None or not len(staff):
        return {}
    s = staff[staff["round"].astype(str) == str(round_id)]
    return {str(u): int(n) for u, n in zip(s["unit_id"], s["staff"])}


def register_problems(staff_round: Mapping[str, int], counts: Mapping[str, int], staff_rows: Mapping[str, int],
                      *, staff_file: str, units_file: str, unit_rows: Mapping[str, int], round_id: str
                      ) -> pd.DataFrame:
    """The round's register problems as warning rows of failures.csv (``source_file, source_row, column,
    value, rule, message, action``): ``staff_missing`` (a base unit with valid respondents and no staff
    row; located at the unit's row of the unit register) and ``respondents_exceed_staff`` (fewer staff
    than valid respondents; at the staff row). Either stops the round's weights (never a silent wrong
    weight). A round without any staff row has no problems here (it simply gets no rates). The
    messages hold no respondent count (a unit's count may be hidden)."""
    cols = ["source_file", "source_row", "column", "value", "rule", "message", "action"]
    rows = []
    if staff_round:
        for u, n in counts.items():
            if n > 0 and u not in staff_round:
                rows.append([units_file, int(unit_rows.get(u, 1)), "unit_id", u, "staff_missing",
                             f"base unit {u!r} has valid respondents in round {round_id} but no row in {staff_file}; "
                             f"no response rate for it and no weighted figures for the round: add a row "
                             f"({u}, {round_id}, staff)", "warned"])
        for u, s in staff_round.items():
            if counts.get(u, 0) > s:
                rows.append([staff_file, int(staff_rows.get(u, 1)), "staff", str(s), "respondents_exceed_staff",
                             f"base unit {u!r} has more valid respondents in round {round_id} than its staff ({s}); "
                             "no weighted figures for the round: correct the staff number (or the respondents' "
                             "unit in the export)", "warned"])
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- response rates


def response_rates(counts: Mapping[str, int], staff_round: Mapping[str, int], hidden: Mapping[str, str],
                   base_units: Sequence[str], *, low_response_ratio: float) -> tuple[pd.DataFrame, dict]:
    """Response rates per base unit of a round (validation/response_rates.csv) and the organisation's.

    ``counts``: true valid respondents per base unit; ``staff_round``: :func:`staff_in_round`;
    ``hidden``: unit -> reason its count is hidden (``summary.json``'s ``respondents_per_unit_hidden``);
    ``base_units``: the round's base units in register order. Rate = respondents / staff. The
    organisation's rate is sum(respondents) / sum(staff) over the units with a staff row, published
    only when every base unit with respondents has one (else a hidden unit's count would follow from
    the total). ``low_response``: rate < ``low_response_ratio`` x the organisation's rate (computed on
    true counts, shown only where the rate is shown). A hidden unit's respondents, rate and flag are
    empty, ``hidden`` gives the reason. ``note``: ``staff_missing`` / ``respondents_exceed_staff``
    (no weights for the round) or "" (ok).
    Returns ``(table, overall)``; ``overall`` = {respondents, staff, response_rate} or None."""
    staffed = [u for u in base_units if u in staff_round]
    n_tot = sum(int(counts.get(u, 0)) for u in staffed)
    s_tot = sum(int(staff_round[u]) for u in staffed)
    org_rate = n_tot / s_tot if s_tot > 0 else np.nan
    complete = bool(staff_round) and all(u in staff_round for u in base_units if counts.get(u, 0) > 0)
    rows = []
    for u in base_units:
        n = int(counts.get(u, 0))
        s = staff_round.get(u)
        rate = n / s if s else np.nan
        why = str(hidden.get(u, ""))
        note = "staff_missing" if s is None and n > 0 else "respondents_exceed_staff" if s is not None and n > s \
            else ""
        if s is None and n == 0:
            continue
        low = bool(rate < low_response_ratio * org_rate) if np.isfinite(rate) and np.isfinite(org_rate) else None
        rows.append({"unit_id": u, "staff": s, "respondents": None if why else n,
                     "response_rate": None if why or not np.isfinite(rate) else round(float(rate), 6),
                     "low_response": None if why else low, "hidden": why, "note": note})
    table = pd.DataFrame(rows, columns=RATE_COLUMNS)
    table["staff"] = table["staff"].astype("Int64")
    table["respondents"] = table["respondents"].astype("Int64")
    table["response_rate"] = table["response_rate"].astype(float)
    table["low_response"] = table["low_response"].astype("boolean")
    overall = ({"respondents": n_tot, "staff": s_tot, "response_rate": round(float(org_rate), 6)}
               if complete and s_tot > 0 else None)
    return table, overall


# --------------------------------------------------------------------------- strata and weights


def strata(counts: Mapping[str, int], staff_round: Mapping[str, int], k: int, pooled: Iterable[str] = ()
           ) -> dict[str, str]:
    """The post-strata: base unit -> stratum (its own unit id, or :data:`POOLED`).

    ``counts``: valid respondents per base unit; ``staff_round``: staff per base unit (every unit of
    ``staff_round`` is a unit of the population); ``pooled``: units that must not have a weight of their
    own (their count or a tie of theirs is hidden). A unit with fewer than k respondents, or in
    ``pooled``, joins the remainder stratum; while the remainder holds 1..k-1 respondents the smallest
    other stratum (fewest respondents, then id) joins it too. A unit with staff but no respondents is
    in the remainder (its staff counted there). With a single stratum left, every weight is equal."""
    k = check_min_group_size(k)
    units = sorted(set(staff_round) | {u for u, n in counts.items() if n > 0})
    forced = {str(u) for u in pooled}
    out = {u: (POOLED if int(counts.get(u, 0)) < k or u in forced else u) for u in units}

    def n_pooled() -> int:
        return sum(int(counts.get(u, 0)) for u, s in out.items() if s == POOLED)

    while 0 < n_pooled() < k or (n_pooled() == 0 and any(s == POOLED and staff_round.get(u, 0) > 0
                                                         for u, s in out.items())):
        rest = [u for u, s in out.items() if s != POOLED]
        if not rest:
            break
        out[min(rest, key=lambda u: (int(counts.get(u, 0)), u))] = POOLED
    return out


def kish_n_eff(w: Sequence[float] | np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 (Kish 1965); NaN for no weights."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum()) if len(w) and (w * w).sum() > 0 else np.nan


def stratified_mean(y: np.ndarray, x: np.ndarray, stratum: np.ndarray, weight: np.ndarray,
                    fpc: np.ndarray) -> dict[str, float]:
    """The weighted (ratio) mean sum(w y) / sum(w x) of a stratified sample of respondents and its
    linearisation standard error with finite population correction (module docstring).

    One entry per respondent of the *whole* sample (every stratum's n_h): ``y`` the sum of their values
    in the figure, ``x`` their number of rows in it (0 outside the figure), ``stratum`` its label,
    ``weight`` N_h / n_h, ``fpc`` N_h. Returns mean, se, df (the figure's respondents - their strata,
    as R survey's ``degf`` of the subset design), ci_low, ci_high (t interval), n (respondents with
    x > 0), sum_weights, n_eff (Kish, over those respondents), mean_unweighted (sum y / sum x)."""
    from scipy import stats  # here, not at module level: the workflow imports this module when it parses

    y, x, w, fpc = (np.asarray(a, dtype=float) for a in (y, x, weight, fpc))
    inside = x > 0
    out = {"n": int(inside.sum()), "sum_weights": float(w[inside].sum()), "n_eff": kish_n_eff(w[inside]),
           "mean_unweighted": float(y.sum() / x.sum()) if x.sum() > 0 else np.nan}
    if x.sum() <= 0:
        return {**out, "mean": np.nan, "se": np.nan, "df": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    total_x = float((w * x).sum())
    r = float((w * y).sum()) / total_x
    z = w * (y - r * x) / total_x
    codes, labels = pd.factorize(pd.Series(stratum).astype(str))
    var = 0.0
    for h in range(len(labels)):
        zh = z[codes == h]
        nh = len(zh)
        if nh < 2:
            continue
        f = nh / float(fpc[codes == h][0])
        var += (1 - f) * nh / (nh - 1) * float(((zh - zh.mean()) ** 2).sum())
    se = float(np.sqrt(max(var, 0.0)))
    df = float(inside.sum() - len(np.unique(codes[inside])))     # R survey's degf: PSUs - strata in the figure
    half = float(stats.t.ppf(0.5 + _CONFIDENCE / 2, df)) * se if df >= 1 else np.nan
    return {**out, "mean": r, "se": se, "df": df, "ci_low": r - half, "ci_high": r + half}


def empty_rates() -> pd.DataFrame:
    """response_rates.csv without rows (no staff register)."""
    return pd.DataFrame(columns=RATE_COLUMNS)


def empty_weighted() -> pd.DataFrame:
    """weighted.csv without rows (no staff register, or no weights for the round)."""
    return pd.DataFrame(columns=WEIGHTED_COLUMNS)


def weighted_table(respondent_index: pd.DataFrame, rater_groups: pd.DataFrame, respondents: pd.DataFrame,
                   staff_round: Mapping[str, int], *, k: int, organisation: pd.DataFrame,
                   blocks: pd.DataFrame, ties: pd.DataFrame, hidden_units: Iterable[str],
                   measures: Sequence[str]) -> tuple[pd.DataFrame, dict]:
    """The organisation's and the blocks' figures weighted to the staff (results/R/scores/weighted.csv).

    ``respondent_index``: respondent-level means (organisation.csv's rows); ``rater_groups``: the
    respondent-tie rows under each rater group (:func:`relcoord.scores.rater_groups`, as blocks.csv uses
    them); ``respondents``: the round's valid respondents (``respondent_id, rater_unit``: n_h);
    ``staff_round``: :func:`staff_in_round` (the caller has checked :func:`register_problems`);
    ``organisation``, ``blocks``, ``ties``: the *published* tables (a weighted figure is hidden wherever
    the unweighted one is; a base unit with a hidden tie is pooled); ``hidden_units``: units whose count
    ``summary.json`` hides; ``measures``: organisation.csv's measures (rc, communication, relationship,
    items). Rows: the organisation's measures, then each block of blocks.csv with rc, communication
    and relationship; blocks rated from networks are not weighted (suppression ``network_raters``).
    Returns ``(table, info)``; ``info``: strata, pooled units and whether the weights collapsed to one."""
    k = check_min_group_size(k)
    resp = respondents.drop_duplicates("respondent_id")
    rid = resp["respondent_id"].astype(str).to_numpy()
    unit = resp["rater_unit"].astype(str).to_numpy()
    counts = pd.Series(unit).value_counts().to_dict()
    bt = ties[(ties["rater_kind"].astype(str) == "base") & ties["suppressed"].eq(True)]
    pooled = set(map(str, hidden_units)) | set(bt["rater_unit"].astype(str))
    st_of = strata(counts, staff_round, k, pooled)
    st = np.array([st_of.get(u, POOLED) for u in unit], dtype=object)
    n_h = pd.Series(st).value_counts().to_dict()
    big_n = {}
    for u, s in st_of.items():
        big_n[s] = big_n.get(s, 0) + int(staff_round.get(u, 0))
    fpc = np.array([big_n[s] for s in st], dtype=float)
    w = fpc / np.array([n_h[s] for s in st], dtype=float)
    pos = {r: i for i, r in enumerate(rid)}

    def per_respondent(ids: pd.Series, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        ok = values.notna().to_numpy()
        idx = ids.astype(str).map(pos).to_numpy()[ok]
        keep = ~pd.isna(idx)
        idx = idx[keep].astype(np.int64)
        vals = values.to_numpy(dtype=float)[ok][keep]
        return (np.bincount(idx, vals, minlength=len(rid)), np.bincount(idx, minlength=len(rid)).astype(float))

    rows = []
    org = organisation.set_index("measure") if len(organisation) else pd.DataFrame()
    for m in measures:
        hide_reason = _hidden_reason(org.loc[m] if m in org.index else None, "n", k)
        y, x = per_respondent(respondent_index["respondent_id"], respondent_index[m])
        rows.append(_row("organisation", "", "", "", m, y, x, st, w, fpc, k, hide_reason))
    d = rater_groups[rater_groups["rc"].notna()]
    diag = d["rater_group"].astype(str).to_numpy() == d["target_unit"].astype(str).to_numpy()
    label = np.where(diag, "within_" + d["rater_kind"].astype(str).to_numpy().astype(object),
                     d["rater_kind"].astype(str).to_numpy().astype(object) + "_to_"
                     + d["target_kind"].astype(str).to_numpy().astype(object))
    for _, b in blocks.iterrows():
        name = str(b["block"])
        rows_b = d[label == name]
        for m in ("rc", "communication", "relationship"):
            reason = _hidden_reason(b, "n_respondents", k)
            if str(b["rater_kind"]) == "network":
                reason = "network_raters"
            y, x = per_respondent(rows_b["respondent_id"], rows_b[m] if m in rows_b.columns else
                                  pd.Series(np.nan, index=rows_b.index))
            rows.append(_row("block", name, str(b["rater_kind"]), str(b["target_kind"]), m, y, x, st, w, fpc, k,
                             reason))
    table = pd.DataFrame(rows, columns=WEIGHTED_COLUMNS)
    for c in ("n", "df"):
        table[c] = table[c].astype("Int64")
    info = {"strata": len(set(st_of.values())), "pooled_units": sorted(u for u, s in st_of.items() if s == POOLED),
            "single_stratum": len(set(st_of.values())) == 1}
    return table, info


def _hidden_reason(published: pd.Series | None, n_col: str, k: int) -> str:
    """Why the unweighted figure is hidden ("" when it is shown)."""
    if published is None:
        return "primary"
    n = pd.to_numeric(pd.Series([published.get(n_col)]), errors="coerce").iloc[0]
    if str(published.get("suppressed", False)) == "True":
        why = str(published.get("suppression", "") or "")
        return why if why and why != "nan" else "primary"
    return "" if n >= k else "primary"


def _row(level, block, rk, tk, measure, y, x, st, w, fpc, k, reason) -> list:
    est = stratified_mean(y, x, st, w, fpc)
    if not reason and est["n"] < k:
        reason = "primary"
    if reason:
        return [level, block, rk, tk, measure, None, None, None, None, None, None, None, None, None, None, True,
                reason]
    unequal = bool(est["n_eff"] / est["n"] < UNEQUAL_WEIGHTS) if est["n"] else None
    return [level, block, rk, tk, measure, est["n"], est["sum_weights"], est["n_eff"], est["mean_unweighted"],
            est["mean"], est["se"], est["ci_low"], est["ci_high"], est["df"], unequal, False, ""]


# --------------------------------------------------------------------------- one round, as the workflow runs it


def round_response(summary: Mapping, respondents: pd.DataFrame, staff: pd.DataFrame, units: pd.DataFrame, *,
                   round_id: str, round_order: Sequence[str], low_response_ratio: float, staff_file: str,
                   units_file: str) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """The validation step's part: ``(summary, failures, rates)``.

    ``summary``: the published validation summary (``respondents_per_unit_hidden`` says which counts are
    hidden); ``respondents``: the round's valid respondents; ``staff``: :func:`load_staff`'s table;
    ``units``: the whole unit register (:func:`relcoord.registry.load_units`; rows as in the file).
    Returns the summary with ``response_rates`` (``status``: ``ok``, ``no_register`` (no staff row for the
    round), ``staff_missing`` or ``respondents_exceed_staff``; ``weighted``: whether the round gets
    weighted figures; ``organisation``; ``units``: the rows of the rates table; ``low_response_ratio``)
    and ``failures_by_rule`` counting the register's warning rows, those rows (:func:`register_problems`)
    and the rates table (validation/response_rates.csv)."""
    order = [str(r) for r in round_order]
    rows = {str(u): i + 2 for i, u in enumerate(units["unit_id"].astype(str))}
    base = units_in_round(units, round_id, order)
    base = [str(u) for u in base.loc[base["kind"] == "base", "unit_id"]]
    counts = respondents.drop_duplicates("respondent_id")["rater_unit"].astype(str).value_counts()
    counts = {u: int(counts.get(u, 0)) for u in base}
    s_round = staff_in_round(staff, round_id)
    s_rows = {str(u): int(r) for u, rnd, r in zip(staff["unit_id"], staff["round"], staff["row"])
              if str(rnd) == str(round_id)}
    failures = register_problems(s_round, counts, s_rows, staff_file=staff_file, units_file=units_file,
                                 unit_rows=rows, round_id=round_id)
    hidden = dict(summary.get("respondents_per_unit_hidden") or {})
    table, overall = response_rates(counts, s_round, hidden, base, low_response_ratio=low_response_ratio)
    status = "no_register" if not s_round else (str(failures["rule"].iloc[0]) if len(failures) else "ok")
    out = dict(summary)
    by_rule = dict(out.get("failures_by_rule") or {})
    for rule, n in failures.groupby("rule").size().items():
        by_rule[str(rule)] = by_rule.get(str(rule), 0) + int(n)
    out["failures_by_rule"] = dict(sorted(by_rule.items()))
    out["response_rates"] = {
        "status": status, "weighted": status == "ok", "low_response_ratio": float(low_response_ratio),
        "organisation": overall,
        "units": [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                  for r in table.to_dict("records")],
    }
    return out, failures, table
