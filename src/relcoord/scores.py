"""Relational-coordination scores: respondent ties, directed ties, units, blocks.

Every function is a plain, vectorised function over pandas DataFrames (no
loop over respondents or ties). The formulas follow Gittell's Relational
Coordination Survey (Gittell et al. 2000, Med Care 38(8), 807-819; directed
matrix: Nadolski et al. 2006, BMC Med Educ 6:23):

* respondent-tie score RC[r, t] = mean of r's valid index items about t, defined
  only when at least ``min_items`` are valid; subscales likewise;
* directed tie A -> B = mean of RC[r, B] over raters r in A (A -> B != B -> A);
* within RC of A = tie A -> A; between RC of A = mean over r in A of r's mean
  RC over targets t != A; received RC of B = mean of RC[r, B] over r not in B;
* organisation index = mean of respondent-level indices.

One rule holds for every aggregate in this module: **a respondent-tie enters an
aggregate only if its RC index is defined**; within such ties each dimension
and item is averaged over its valid values. So every number of a tie, block or
respondent comes from the same respondent-ties, and ``n`` is their count.
(With the schema's default ``scoring.min_items`` (6 of 7) an RC-defined tie always
has both subscales defined, so this only matters for items and for laxer minimums.)

Privacy: these tables are *internal*. They carry every statistic unsuppressed
plus ``suppressed`` flags (n < min_group_size); :mod:`relcoord.privacy`
(:func:`relcoord.publish.reader_facing`) blanks them before anything is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .config import Scoring
from .errors import RelcoordError
from .instrument import Instrument
from .privacy import check_min_group_size

__all__ = [
    "BLOCKS", "respondent_ties", "rater_groups", "ties",
    "unit_scores", "blocks", "edges", "organisation", "respondent_index", "score_round",
]

#: block label -> (rater kind, target kind); diagonal ties (A -> A) form their own blocks.
BLOCKS: dict[str, tuple[str, str]] = {
    "within_base": ("base", "base"),
    "base_to_base": ("base", "base"),
    "base_to_network": ("base", "network"),
    "network_to_base": ("network", "base"),
    "within_network": ("network", "network"),
    "network_to_network": ("network", "network"),
}

_TIE_KEYS = ["rater_kind", "rater_group", "target_unit"]
_CONFIDENCE = 0.95


# --------------------------------------------------------------------------- helpers


def _require(df: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RelcoordError(f"table {table!r} lacks column(s) {missing}",
                            hint=f"{table} must have the columns {list(columns)} (see README.md, Outputs)")


def _mean_of_valid(block: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    """Row means over non-NaN entries, NaN where fewer than ``minimum`` are valid."""
    if block.shape[1] == 0:
        return np.full(block.shape[0], np.nan), np.zeros(block.shape[0], dtype=np.int64)
    valid = ~np.isnan(block)
    count = valid.sum(axis=1)
    total = np.where(valid, block, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    mean[count < minimum] = np.nan
    return mean, count


def _check_minimum(minimum: int, keys: Sequence[str], what: str, option: str) -> None:
    if keys and minimum > len(keys):
        raise RelcoordError(
            f"scoring.{option} = {minimum} but the instrument has only {len(keys)} {what} item(s) {list(keys)}",
            hint=f"set scoring.{option} to at most {len(keys)}")


def _t_interval(mean: np.ndarray, sd: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95 % Student t interval mean +/- t(0.975, n-1) * sd / sqrt(n); NaN for n < 2."""
    from scipy import stats  # here, not at module level: the workflow imports this module when it parses

    n = np.asarray(n, dtype=float)
    ok = n >= 2
    df = np.where(ok, n - 1, 1.0)
    half = stats.t.ppf(0.5 + _CONFIDENCE / 2, df) * np.asarray(sd, float) / np.sqrt(np.where(ok, n, 1.0))
    half = np.where(ok, half, np.nan)
    return mean - half, mean + half


def _bootstrap_interval(values: np.ndarray, sizes: np.ndarray, reps: int, seed: int,
                        budget: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap 95 % CI of the mean for many groups at once.

    ``values`` holds the groups' observations back to back (group g occupies
    ``sizes[g]`` consecutive entries, in a canonical order). Groups are
    processed by size class in ascending size; within a class, in their order,
    in chunks of at most ``budget`` resampled values, each chunk one
    ``(groups, reps, size)`` index draw from ``numpy.random.default_rng(seed)``.
    Deterministic for a given input; NaN for groups of fewer than 2.
    Percentiles use numpy's default (linear) quantile.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    low = np.full(len(sizes), np.nan)
    high = np.full(len(sizes), np.nan)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else sizes
    rng = np.random.default_rng(seed)
    alpha = (1 - _CONFIDENCE) / 2
    for size in np.unique(sizes[sizes >= 2]):          # loop over size classes, not ties
        groups = np.flatnonzero(sizes == size)
        per_chunk = max(1, budget // (reps * int(size)))
        for c0 in range(0, len(groups), per_chunk):
            g = groups[c0:c0 + per_chunk]
            mat = values[starts[g][:, None] + np.arange(size)[None, :]]          # (g, size)
            dtype = np.uint16 if size <= np.iinfo(np.uint16).max else np.int64
            idx = rng.integers(0, size, size=(len(g), reps, int(size)), dtype=dtype)
            means = mat[np.arange(len(g))[:, None, None], idx].mean(axis=2)          # (g, reps)
            q = np.quantile(means, [alpha, 1 - alpha], axis=1)
            low[g], high[g] = q[0], q[1]
    return low, high


def _bands(mean: np.ndarray, bands: Mapping[str, float]) -> np.ndarray:
    """weak < weak_below <= moderate <= strong_above < strong (configurable convention), decided on the
    mean as every report prints it (two decimals, as ``f"{x:.2f}"``): 3.49944 prints 3.50 and is moderate,
    so a level never contradicts the number shown next to it."""
    mean = np.asarray(mean, dtype=float)
    mean = np.array([float(f"{x:.2f}") if np.isfinite(x) else np.nan for x in mean.ravel()]).reshape(mean.shape)
    out = np.select([mean < bands["weak_below"], mean > bands["strong_above"], ~np.isnan(mean)],
                    ["weak", "strong", "moderate"], default="")
    return out.astype(object)


def _item_columns(rt: pd.DataFrame, items: Sequence[str] | None) -> list[str]:
    if items is not None:
        return list(items)
    fixed = {"respondent_id", "rater_unit", "target_unit", "rc", "communication", "relationship",
             "n_items", "rater_group", "rater_kind", "target_kind"}
    return [c for c in rt.columns if c not in fixed and pd.api.types.is_float_dtype(rt[c])]


def _unit_table(units: pd.DataFrame) -> pd.DataFrame:
    _require(units, ["unit_id", "kind"], "units")
    u = units.copy()
    u["unit_id"] = u["unit_id"].astype(str)
    for col in ("name", "area"):
        if col not in u.columns:
            u[col] = u["unit_id"] if col == "name" else ""
    u["area"] = u["area"].fillna("").astype(str)
    # one row per unit id (a register holds one; keep the last if a history slipped in)
    return u.drop_duplicates("unit_id", keep="last").reset_index(drop=True)


def _memberships(respondents: pd.DataFrame) -> pd.DataFrame:
    """(respondent_id, network) pairs from the ';'-joined ``networks`` column."""
    _require(respondents, ["respondent_id"], "respondents")
    if "networks" not in respondents.columns:
        return pd.DataFrame({"respondent_id": pd.Series(dtype=object), "network": pd.Series(dtype=object)})
    nets = respondents["networks"].fillna("").astype(str)
    has = nets.str.len() > 0
    m = pd.DataFrame({"respondent_id": respondents.loc[has, "respondent_id"].to_numpy(),
                      "network": nets[has].str.split(";").to_numpy()}).explode("network")
    m["network"] = m["network"].str.strip()
    m = m[m["network"].str.len() > 0]
    return m.drop_duplicates().reset_index(drop=True)


def _stat_block(g: pd.core.groupby.DataFrameGroupBy, cols: list[str]) -> pd.DataFrame:
    out = g[cols].mean()
    out["n"] = g["rc"].count()
    out["rc_sd"] = g["rc"].std(ddof=1)
    return out


# --------------------------------------------------------------------------- 1. respondent ties


def respondent_ties(responses: pd.DataFrame, instrument: Instrument, min_items: int,
                    min_communication: int, min_relationship: int) -> pd.DataFrame:
    """One row per (respondent, target): the respondent-tie scores.

    Columns ``respondent_id, rater_unit, target_unit, rc, communication,
    relationship, n_items`` and one column per instrument item (its score).

    RC[r, t] = mean of r's valid index items about t, NaN unless at least
    ``min_items`` index items are valid (Gittell et al. 2000; Gittell's RC Survey:
    the index is the mean of the seven items). communication / relationship
    likewise over their index items with ``min_communication`` /
    ``min_relationship``. Items with ``in_index`` False are carried as columns
    only. ``n_items`` counts the valid index items. Rows are sorted by
    respondent_id, target_unit. Built by one scatter into a (pair x item) array.
    """
    _require(responses, ["respondent_id", "rater_unit", "target_unit", "item", "value"], "responses")
    keys = instrument.keys
    index_keys = instrument.index_keys
    comm_keys = instrument.subscale_keys("communication")
    rel_keys = instrument.subscale_keys("relationship")
    _check_minimum(min_items, index_keys, "index", "min_items")
    _check_minimum(min_communication, comm_keys, "communication", "min_communication")
    _check_minimum(min_relationship, rel_keys, "relationship", "min_relationship")

    icode = pd.Categorical(responses["item"], categories=keys).codes
    if (icode < 0).any():
        unknown = sorted(set(responses["item"][icode < 0].astype(str)))
        raise RelcoordError(f"responses hold item(s) {unknown[:10]} not declared in the instrument",
                            hint="declare the item in config/instrument.yaml or fix the codebook mapping")
    rcode, r_uni = pd.factorize(responses["respondent_id"], sort=True)
    tcode, t_uni = pd.factorize(responses["target_unit"], sort=True)
    ucode, u_uni = pd.factorize(responses["rater_unit"])
    if (rcode < 0).any() or (tcode < 0).any() or (ucode < 0).any():
        raise RelcoordError("responses have empty respondent_id, rater_unit or target_unit",
                            hint="every response row needs a respondent, a rater unit and a target unit")
    n_r, n_t, n_i = len(r_uni), len(t_uni), len(keys)

    unit_of = np.full(n_r, -1, dtype=np.int64)
    unit_of[rcode] = ucode
    if (unit_of[rcode] != ucode).any():
        bad = pd.Index(r_uni).take(np.unique(rcode[unit_of[rcode] != ucode]))[:5].tolist()
        raise RelcoordError(f"respondent(s) {bad} have more than one rater_unit",
                            hint="a respondent belongs to exactly one base unit; check the ingest mapping")

    pair = rcode.astype(np.int64) * n_t + tcode
    if n_r * n_t <= 8 * len(pair) + 1024:            # dense: (respondent, target) grid is ~full
        present = np.zeros(n_r * n_t, dtype=bool)
        present[pair] = True
        upair = np.flatnonzero(present)
        pinv = (np.cumsum(present) - 1)[pair]
    else:
        upair, pinv = np.unique(pair, return_inverse=True)
    n_p = len(upair)
    cell = pinv * n_i + icode
    if len(cell) and np.bincount(cell, minlength=n_p * n_i).max() > 1:
        dup = np.bincount(cell, minlength=n_p * n_i)[cell] > 1
        first = responses.loc[dup, ["respondent_id", "target_unit", "item"]].iloc[0].tolist()
        raise RelcoordError(f"responses hold {int(dup.sum())} duplicated (respondent, target, item) rows, e.g. {first}",
                            hint="each respondent answers each item about each target once; check the ingest")
    mat = np.full(n_p * n_i, np.nan)
    mat[cell] = responses["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    mat = mat.reshape(n_p, n_i)

    col = {k: j for j, k in enumerate(keys)}
    rc, n_items = _mean_of_valid(mat[:, [col[k] for k in index_keys]], min_items)
    comm, _ = _mean_of_valid(mat[:, [col[k] for k in comm_keys]], min_communication)
    rel, _ = _mean_of_valid(mat[:, [col[k] for k in rel_keys]], min_relationship)

    r_of_pair = upair // n_t
    out = pd.DataFrame({
        "respondent_id": pd.Index(r_uni).take(r_of_pair).to_numpy(),
        "rater_unit": pd.Index(u_uni).take(unit_of[r_of_pair]).to_numpy(),
        "target_unit": pd.Index(t_uni).take(upair % n_t).to_numpy(),
        "rc": rc, "communication": comm, "relationship": rel,
        "n_items": n_items.astype(np.int64),
    })
    for k, j in col.items():
        out[k] = mat[:, j]
    return out


# --------------------------------------------------------------------------- 2. rater groups


def rater_groups(rt: pd.DataFrame, respondents: pd.DataFrame, units: pd.DataFrame,
                 networks_as_raters: bool) -> pd.DataFrame:
    """The respondent-tie rows under each rater group the respondent rates from.

    Each row appears once under the respondent's base unit (``rater_kind``
    "base", ``rater_group`` = rater_unit) and, when ``networks_as_raters``, once
    more per network in the respondent's ``networks`` (kind "network"): as a
    member of a network they can also be counted as a rater for that network
    (once in organisation totals). ``target_kind`` comes from the unit register. Raises if a rater
    unit, network or target is not in the register.
    """
    _require(rt, ["respondent_id", "rater_unit", "target_unit", "rc"], "respondent_ties")
    u = _unit_table(units)
    kind = pd.Series(u["kind"].to_numpy(), index=u["unit_id"])
    parts = [rt.assign(rater_group=rt["rater_unit"], rater_kind="base")]
    if networks_as_raters:
        memb = _memberships(respondents).rename(columns={"network": "rater_group"})
        bad = sorted(set(memb["rater_group"]) - set(kind.index[kind == "network"]))
        if bad:
            raise RelcoordError(f"respondents list network(s) {bad[:10]} that are not networks in the unit register",
                                hint="add them to config/units.tsv with kind network, or fix the memberships")
        if len(memb):
            net = rt.merge(memb, on="respondent_id", how="inner", sort=False)
            parts.append(net.assign(rater_kind="network"))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    tk = out["target_unit"].map(kind)
    if tk.isna().any():
        bad = sorted(set(out.loc[tk.isna(), "target_unit"].astype(str)))
        raise RelcoordError(f"target unit(s) {bad[:10]} are not in the unit register",
                            hint="add them to config/units.tsv (or map them to a registered unit in the codebook)")
    bad = sorted(set(rt["rater_unit"].astype(str)) - set(kind.index[kind == "base"]))
    if bad:
        raise RelcoordError(f"rater unit(s) {bad[:10]} are not base units in the unit register",
                            hint="every respondent's rater_unit must be a unit of kind base in config/units.tsv")
    out["target_kind"] = tk.to_numpy()
    front = ["respondent_id", "rater_unit", "rater_group", "rater_kind", "target_unit", "target_kind"]
    return out[front + [c for c in out.columns if c not in front]]


# --------------------------------------------------------------------------- 3. ties


def _tie_table(rtg: pd.DataFrame, item_keys: list[str], scoring: Scoring, k: int, seed: int) -> pd.DataFrame:
    cols = ["rc", "communication", "relationship", *item_keys]
    defined = rtg["rc"].notna()
    # statistics only from respondent-ties with a defined RC (see module docstring)
    data = rtg[_TIE_KEYS + ["target_kind", "respondent_id"]].copy()
    vals = rtg[cols].where(defined, np.nan)
    data[cols] = vals
    g = data.groupby(_TIE_KEYS, sort=True, observed=True)
    out = _stat_block(g, cols)
    out["target_kind"] = g["target_kind"].first()
    out = out.reset_index()
    n = out["n"].to_numpy()
    mean = out["rc"].to_numpy()
    if scoring.ci == "bootstrap":
        # observations back to back per tie (tie = row of `out`), respondents in id order
        tie_id = g.ngroup().to_numpy()[defined.to_numpy()]
        rid = pd.factorize(data.loc[defined, "respondent_id"], sort=True)[0]
        order = np.lexsort((rid, tie_id))
        values = data.loc[defined, "rc"].to_numpy()[order]
        lo, hi = _bootstrap_interval(values, n.astype(np.int64), int(scoring.bootstrap_reps), int(seed))
    else:
        lo, hi = _t_interval(mean, out["rc_sd"].to_numpy(), n)
    out = out.rename(columns={"rater_group": "rater_unit", "rc": "rc_mean"})
    out["ci_low"], out["ci_high"] = lo, hi
    out["band"] = _bands(mean, scoring.bands)
    out["suppressed"] = n < k
    out["ci_method"] = scoring.ci
    out["n"] = out["n"].astype(np.int64)
    order = ["rater_unit", "target_unit", "rater_kind", "target_kind", "n", "rc_mean", "rc_sd", "ci_low",
             "ci_high", "communication", "relationship", *item_keys, "band", "suppressed", "ci_method"]
    return out[order].reset_index(drop=True)


def ties(rt: pd.DataFrame, respondents: pd.DataFrame, units: pd.DataFrame, instrument: Instrument,
         scoring: Scoring, *, k: int, seed: int, rt_groups: pd.DataFrame | None = None) -> pd.DataFrame:
    """Directed ties A -> B (ties.csv; internal: values unsuppressed, ``suppressed`` flag).

    Over the respondents of rater group A whose RC about B is defined:
    n, rc_mean, rc_sd (ddof 1), 95 % CI, and the mean of each subscale and item
    (Gittell et al. 2000; Nadolski et al. 2006 for the directed matrix).
    ``scoring``: :class:`relcoord.config.Scoring` (ci, bootstrap_reps, bands,
    networks_as_raters); ``k``: privacy.min_group_size; ``seed``: the config's seed.
    CI: ``scoring.ci = "t"``: mean +/- t(0.975, n-1)·sd/sqrt(n) (scipy.stats.t);
    ``"bootstrap"``: percentile bootstrap of the mean, ``bootstrap_reps``
    resamples from ``seed`` (respondents in respondent_id order within a tie,
    so the result does not depend on row order). CI is NaN for n < 2.
    band: weak < weak_below <= moderate <= strong_above < strong.
    suppressed: n < k. Ties with n = 0 (no defined RC) are kept.
    Sorted by rater_kind, rater_unit, target_unit.

    ``rt_groups``: optional precomputed :func:`rater_groups` output built with
    ``networks_as_raters=True`` (network rows are dropped here when the option is off).
    """
    k = check_min_group_size(k)
    if rt_groups is None:
        rt_groups = rater_groups(rt, respondents, units, scoring.networks_as_raters)
    elif not scoring.networks_as_raters:
        rt_groups = rt_groups[rt_groups["rater_kind"] == "base"]
    return _tie_table(rt_groups, instrument.keys, scoring, k, seed)


# --------------------------------------------------------------------------- 4. units


def unit_scores(rt: pd.DataFrame, respondents: pd.DataFrame, units: pd.DataFrame,
                min_group_size: int, *, rt_groups: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per unit: within, between and received RC (units.csv; internal, with flags).

    * within_rc / within_n: the tie A -> A (mean of RC[r, A] over r in A);
    * between_rc / between_n: mean over r in A of r's mean RC over targets
      t != A, base and network targets alike (r counted if at least one such
      RC is defined);
    * received_rc / received_n: mean of RC[r, A] over r not in A (base unit:
      respondents of other base units; network: respondents not members).
    Gittell et al. 2000. For networks the members are the raters of within/between
    (whatever ``networks_as_raters`` says). ``*_suppressed`` = n < min_group_size.
    Units: those of the register that occur in the data (as target, base unit
    or network), in register order.

    ``rt_groups``: optional :func:`rater_groups` output built with ``networks_as_raters=True``.
    """
    k = check_min_group_size(min_group_size)
    u = _unit_table(units)
    if rt_groups is None:
        rt_groups = rater_groups(rt, respondents, units, networks_as_raters=True)
    rtg = rt_groups.loc[rt_groups["rc"].notna(), ["respondent_id", "rater_group", "rater_kind", "target_unit", "rc"]]
    own = rtg["rater_group"].to_numpy() == rtg["target_unit"].to_numpy()

    w = rtg.loc[own].groupby("rater_group", sort=False)["rc"].agg(["mean", "count"])
    per_resp = (rtg.loc[~own].groupby(["rater_group", "respondent_id"], sort=False, observed=True)["rc"].mean())
    b = per_resp.groupby(level=0, sort=False).agg(["mean", "count"])

    # received: respondent-ties about A by non-members of A
    d = rt.loc[rt["rc"].notna(), ["respondent_id", "rater_unit", "target_unit", "rc"]]
    member_pairs = rtg.loc[own & (rtg["rater_kind"] == "network").to_numpy(), ["respondent_id", "target_unit"]]
    is_member = d["rater_unit"].to_numpy() == d["target_unit"].to_numpy()
    if len(member_pairs):
        idx = pd.MultiIndex.from_frame(d[["respondent_id", "target_unit"]])
        is_member |= idx.isin(pd.MultiIndex.from_frame(member_pairs))
    r = d.loc[~is_member].groupby("target_unit", sort=False)["rc"].agg(["mean", "count"])

    present = (set(rt["target_unit"]) | set(rt["rater_unit"]) | set(_memberships(respondents)["network"]))
    out = u.loc[u["unit_id"].isin(present), ["unit_id", "name", "kind", "area"]].reset_index(drop=True)
    for name, tab in (("within", w), ("between", b), ("received", r)):
        out[f"{name}_rc"] = out["unit_id"].map(tab["mean"]).astype(float)
        out[f"{name}_n"] = out["unit_id"].map(tab["count"]).fillna(0).astype(np.int64)
    for name in ("within", "between", "received"):
        out[f"{name}_suppressed"] = out[f"{name}_n"] < k
    return out


# --------------------------------------------------------------------------- 5. blocks


def blocks(rt_groups: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Block scores by kind (blocks.csv; internal, with ``suppressed``).

    Rows, in this order: ``within_base`` (A -> A, A base), ``base_to_base``
    (A -> B, A != B), ``base_to_network``, ``network_to_base``,
    ``within_network`` (N -> N, members rating their own network) and
    ``network_to_network`` (N -> M, N != M). Statistics are over the
    respondent-tie rows of the block (rc defined): rc_mean, rc_sd (ddof 1),
    subscale means; ``n_respondents`` distinct respondents, ``n_ties``
    respondent-tie rows. A respondent in networks is counted in every group
    they rate from (so network_* blocks overlap base_* blocks in people, and
    n_respondents of different blocks do not add up). Empty blocks are kept
    (n 0, NaN). suppressed: n_respondents < min_group_size.
    """
    k = check_min_group_size(min_group_size)
    _require(rt_groups, ["respondent_id", "rater_group", "rater_kind", "target_unit", "target_kind", "rc"],
             "rater groups")
    d = rt_groups[rt_groups["rc"].notna()]
    rk = d["rater_kind"].to_numpy()
    tk = d["target_kind"].to_numpy()
    diag = d["rater_group"].to_numpy() == d["target_unit"].to_numpy()
    bb, bn = (rk == "base"), (rk == "network")
    tb, tn = (tk == "base"), (tk == "network")
    code = np.select([bb & tb & diag, bb & tb, bb & tn, bn & tb, bn & tn & diag, bn & tn],
                     np.arange(len(BLOCKS)), default=-1)
    keep = code >= 0
    code = code[keep]
    nb = len(BLOCKS)
    cols = ["rc", "communication", "relationship"]
    out = pd.DataFrame({"block": list(BLOCKS), "rater_kind": [v[0] for v in BLOCKS.values()],
                        "target_kind": [v[1] for v in BLOCKS.values()]})
    rc = d["rc"].to_numpy()[keep]
    n_ties = np.bincount(code, minlength=nb)
    for c in cols:
        x = d[c].to_numpy(dtype=float)[keep] if c in d.columns else np.full(len(code), np.nan)
        ok = ~np.isnan(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["rc_mean" if c == "rc" else c] = (np.bincount(code[ok], x[ok], minlength=nb)
                                                  / np.bincount(code[ok], minlength=nb))
    # sd (ddof 1) from centred values: sum((x - mean_block)^2) / (n - 1)
    dev = rc - out["rc_mean"].to_numpy()[code]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rc_sd"] = np.sqrt(np.bincount(code, dev * dev, minlength=nb) / (n_ties - 1))
    out.loc[n_ties < 2, "rc_sd"] = np.nan
    rid = pd.factorize(d["respondent_id"])[0][keep].astype(np.int64)
    pairs = np.unique(code.astype(np.int64) * (rid.max() + 1 if len(rid) else 1) + rid)
    out["n_respondents"] = np.bincount(pairs // (rid.max() + 1 if len(rid) else 1), minlength=nb).astype(np.int64)
    out["n_ties"] = n_ties.astype(np.int64)
    out["suppressed"] = out["n_respondents"] < k
    return out[["block", "rater_kind", "target_kind", "rc_mean", "rc_sd", "communication", "relationship",
                "n_respondents", "n_ties", "suppressed"]]


# --------------------------------------------------------------------------- 6. edges


def edges(ties_df: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Symmetric edges A – B (A != B) from the directed ties.

    ``a_to_b`` / ``b_to_a`` are the tie means, ``symmetric_rc`` = (a_to_b +
    b_to_a) / 2, ``asymmetry`` = |a_to_b − b_to_a|, ``difference`` = a_to_b −
    b_to_a (Nadolski et al. 2006). Statistics only when both directions have n >=
    min_group_size and neither tie is flagged ``suppressed`` (so secondary
    suppression carries over); otherwise all four are NaN and ``suppressed`` is
    True. A missing direction counts as n = 0. unit_a < unit_b; sorted.
    """
    k = check_min_group_size(min_group_size)
    _require(ties_df, ["rater_unit", "target_unit", "n", "rc_mean"], "ties")
    t = ties_df.loc[ties_df["rater_unit"] != ties_df["target_unit"]]
    sup = t["suppressed"] if "suppressed" in t.columns else pd.Series(False, index=t.index)
    t = pd.DataFrame({"src": t["rater_unit"].astype(str), "dst": t["target_unit"].astype(str),
                      "n": pd.to_numeric(t["n"], errors="coerce"), "rc": t["rc_mean"].astype(float),
                      "sup": sup.eq(True),
                      "src_kind": t["rater_kind"] if "rater_kind" in t.columns else "",
                      "dst_kind": t["target_kind"] if "target_kind" in t.columns else ""})
    fwd = t[t["src"] < t["dst"]].rename(columns={"src": "unit_a", "dst": "unit_b", "n": "n_a_to_b",
                                                 "rc": "a_to_b", "sup": "sup_ab", "src_kind": "kind_a",
                                                 "dst_kind": "kind_b"})
    bwd = t[t["src"] > t["dst"]].rename(columns={"dst": "unit_a", "src": "unit_b", "n": "n_b_to_a",
                                                 "rc": "b_to_a", "sup": "sup_ba", "dst_kind": "kind_a2",
                                                 "src_kind": "kind_b2"})
    e = fwd.merge(bwd, on=["unit_a", "unit_b"], how="outer", sort=True)
    e["kind_a"] = e["kind_a"].fillna(e["kind_a2"])
    e["kind_b"] = e["kind_b"].fillna(e["kind_b2"])
    n_ab = e["n_a_to_b"].fillna(0)
    n_ba = e["n_b_to_a"].fillna(0)
    ok = (n_ab >= k) & (n_ba >= k) & ~e["sup_ab"].eq(True) & ~e["sup_ba"].eq(True)
    ok &= e["a_to_b"].notna() & e["b_to_a"].notna()
    # a missing direction counts 0; a blanked n (reader-facing ties) stays NaN
    e["n_a_to_b"] = e["n_a_to_b"].where(e["sup_ab"].notna(), 0).astype("Int64")
    e["n_b_to_a"] = e["n_b_to_a"].where(e["sup_ba"].notna(), 0).astype("Int64")
    e["a_to_b"] = e["a_to_b"].where(ok)
    e["b_to_a"] = e["b_to_a"].where(ok)
    e["symmetric_rc"] = (e["a_to_b"] + e["b_to_a"]) / 2
    e["difference"] = e["a_to_b"] - e["b_to_a"]
    e["asymmetry"] = e["difference"].abs()
    e["suppressed"] = ~ok
    return e[["unit_a", "unit_b", "kind_a", "kind_b", "a_to_b", "b_to_a", "n_a_to_b", "n_b_to_a",
              "symmetric_rc", "asymmetry", "difference", "suppressed"]].reset_index(drop=True)


# --------------------------------------------------------------------------- 7./8. organisation


def respondent_index(rt: pd.DataFrame, items: Sequence[str] | None = None) -> pd.DataFrame:
    """Respondent-level means: ``respondent_id, rater_unit, rc, communication,
    relationship``, one column per item, ``n_ties``.

    Each is the mean over the respondent's ties with a defined RC (the
    respondent-level index of Gittell et al. 2000, used for the organisation index,
    ICC and before/after comparisons). Every respondent appears once (base unit
    only); respondents with no defined tie get NaN and n_ties 0. ``items``
    defaults to the item columns found in ``rt``.
    """
    item_cols = _item_columns(rt, items)
    cols = ["rc", "communication", "relationship", *item_cols]
    vals = rt[cols].where(rt["rc"].notna(), np.nan)
    vals.insert(0, "respondent_id", rt["respondent_id"].to_numpy())
    g = vals.groupby("respondent_id", sort=True)
    out = g[cols].mean()
    out["n_ties"] = g["rc"].count().astype(np.int64)
    units = rt.groupby("respondent_id", sort=True)["rater_unit"].first()
    out.insert(0, "rater_unit", units)
    return out.reset_index()


def organisation(rt: pd.DataFrame, instrument: Instrument, *, index: pd.DataFrame | None = None) -> pd.DataFrame:
    """Organisation-wide scores (organisation.csv): one row per measure.

    ``measure`` in rc, communication, relationship and each item key; ``mean,
    sd, ci_low, ci_high, n`` over respondent-level means (each respondent once,
    even when they also rate from networks): the organisation index is the mean
    of respondent-level RC indices (Gittell et al. 2000). 95 % t CI (scipy.stats.t),
    sd with ddof 1, n = respondents with a defined respondent-level value.
    """
    ri = index if index is not None else respondent_index(rt, instrument.keys)
    measures = ["rc", "communication", "relationship", *instrument.keys]
    x = ri[measures]
    n = x.count().to_numpy()
    mean = x.mean().to_numpy(dtype=float)
    sd = x.std(ddof=1).to_numpy(dtype=float)
    lo, hi = _t_interval(mean, sd, n)
    return pd.DataFrame({"measure": measures, "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi,
                         "n": n.astype(np.int64)})


# --------------------------------------------------------------------------- 9. round


def score_round(responses: pd.DataFrame, respondents: pd.DataFrame, units: pd.DataFrame,
                instrument: Instrument, scoring: Scoring, *, k: int, seed: int) -> dict[str, pd.DataFrame]:
    """Score one round: all internal tables, keyed ``respondent_ties,
    respondent_index, ties, units, blocks, edges, organisation, rater_groups``
    (the respondent-tie rows expanded to rater groups, as the ties use them).

    ``scoring``: :class:`relcoord.config.Scoring`; ``k``: privacy.min_group_size;
    ``seed``: the config's seed (bootstrap intervals).
    Internal = unsuppressed values with flags; pass the result through
    :func:`relcoord.publish.reader_facing` before writing anything a reader sees.
    """
    k = check_min_group_size(k)
    rt = respondent_ties(responses, instrument, scoring.min_items, scoring.min_communication,
                         scoring.min_relationship)
    rtg_all = rater_groups(rt, respondents, units, networks_as_raters=True)
    rtg = rtg_all if scoring.networks_as_raters else rtg_all[rtg_all["rater_kind"] == "base"]
    ties_df = _tie_table(rtg, instrument.keys, scoring, k, seed)
    ri = respondent_index(rt, instrument.keys)
    return {
        "respondent_ties": rt,
        "respondent_index": ri,
        "ties": ties_df,
        "units": unit_scores(rt, respondents, units, k, rt_groups=rtg_all),
        "blocks": blocks(rtg, k),
        "edges": edges(ties_df, k),
        "organisation": organisation(rt, instrument, index=ri),
        "rater_groups": rtg,
    }
