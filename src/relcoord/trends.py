"""Trends over three or more survey rounds (``results/trends/``): the statistics.

Two products:

- :func:`trend_points` ``trend.csv``: one row per (level, group, measure, round)
  with the round's figure. Every point is **exactly the number that round's
  report publishes** (its reader-facing ``scores/*.csv``, after primary,
  secondary and complementary suppression and the disclosure audit), so a
  trend shows nothing a round report does not. The one exception is a unit
  that the register merges (``successor``): in a round before the merge its
  point pools the respondent-level rows of its former units. Such a point is
  shown only when it is exactly the count-weighted combination of cells that
  round publishes visibly (checked against ``respondent_ties``: the same rows,
  the same mean), so it too adds nothing; otherwise it is hidden. A renamed
  unit (one former unit) keeps its published figures under its new id.
- :func:`trend_models` ``model.csv``: crossed random-intercept models
  (:mod:`relcoord.reml`, as the comparisons' models) of the respondent-tie RC
  score over the rounds: round as a linear term (``round_linear``: the change
  per round, rounds equally spaced by their order) and as a factor
  (``round[R]``: round R minus the first), with ``(1|rater_unit) +
  (1|target_unit) + (1|respondent)`` (respondents nested in rounds, or linked
  across rounds by a panel key); the round-to-round steps with their standard
  errors, the spread of the steps and a Wald test of the departure from a
  straight line, so a report can set a slope against round-to-round noise.

Levels and keys follow :mod:`relcoord.compare`: ``organisation`` ("", "");
``block`` (block id in ``rater_unit``, e.g. ``base_to_base``); ``unit_within``
(A, A); ``unit_between`` (A, ""); ``unit_received`` (A, ""); ``tie`` (A, B).
Measures: every measure of organisation.csv; rc, communication and
relationship for blocks and relations; rc for units (the measures the round
tables publish). ``ci_low``/``ci_high``: the round's 95 % CI where it
publishes one (organisation, relations' rc), else empty.

Heavy libraries imported lazily (on first use, through
:func:`relcoord.lazy.lazy_module`): scipy.stats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .compare import MODEL_COLUMNS, _model_data, fit_model
from .errors import RelcoordError
from .group_tests import Z975
from .lazy import lazy_module
from .privacy import check_min_group_size
from .publish import visible_rows
from .registry import successor_map, successor_note, unit_kinds
from .scores import rater_groups

stats = lazy_module("scipy.stats")

__all__ = ["LEVELS", "TREND_COLUMNS", "MODEL_COLUMNS", "round_points", "trend_points", "trend_models",
           "trend_tables"]

LEVELS: tuple[str, ...] = ("organisation", "block", "unit_within", "unit_between", "unit_received", "tie")
TREND_COLUMNS: list[str] = ["level", "rater_unit", "target_unit", "measure", "round", "n", "mean", "ci_low",
                            "ci_high", "suppressed"]
_SUBSCALES = (("rc_mean", "rc"), ("communication", "communication"), ("relationship", "relationship"))
_UNIT_PARTS = ("within", "between", "received")
#: a merged point must equal the combination of the published cells to this (CSVs print 6 significant digits)
_TOLERANCE = 1e-3


# --------------------------------------------------------------------------- one round's published points


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _frame(level: str, rater, target, measure, n, mean, lo, hi, visible) -> pd.DataFrame:
    m = len(visible)

    def col(x):
        return np.asarray(x, dtype=object) if np.ndim(x) else np.full(m, x, dtype=object)

    return pd.DataFrame({"level": level, "rater_unit": col(rater), "target_unit": col(target),
                         "measure": col(measure), "n": np.asarray(n, float), "mean": np.asarray(mean, float),
                         "ci_low": np.asarray(lo, float) if np.ndim(lo) else np.full(m, np.nan),
                         "ci_high": np.asarray(hi, float) if np.ndim(hi) else np.full(m, np.nan),
                         "visible": np.asarray(visible, bool)})


def round_points(public: Mapping[str, pd.DataFrame], k: int) -> pd.DataFrame:
    """A round's published cells as trend points (ids as the round has them): ``level, rater_unit,
    target_unit, measure, n, mean, ci_low, ci_high, visible``.

    ``public``: the round's reader-facing tables (``organisation``, ``blocks``, ``units``, ``ties``).
    ``visible`` is what a reader of the round sees (:func:`relcoord.publish.visible_rows`); a unit's
    within figure and the relation A → A are hidden together when either table hides one of them.
    Hidden points carry no count, mean or interval."""
    k = check_min_group_size(k)
    parts: list[pd.DataFrame] = []
    o = public.get("organisation")
    if o is not None and len(o):
        parts.append(_frame("organisation", "", "", o["measure"].astype(str).to_numpy(), _num(o, "n"),
                            _num(o, "mean"), _num(o, "ci_low"), _num(o, "ci_high"),
                            visible_rows(o, k, value_cols=("mean",)).to_numpy()))
    b = public.get("blocks")
    if b is not None and len(b):
        vis = visible_rows(b, k, n_cols=("n_respondents",), value_cols=("rc_mean",)).to_numpy()
        for col, measure in _SUBSCALES:
            if col in b.columns:
                parts.append(_frame("block", b["block"].astype(str).to_numpy(), "", measure, _num(b, "n_respondents"),
                                    _num(b, col), np.nan, np.nan, vis))
    u = public.get("units")
    if u is not None and len(u):
        ids = u["unit_id"].astype(str).to_numpy()
        for part in _UNIT_PARTS:
            if f"{part}_rc" not in u.columns:
                continue
            vis = visible_rows(u, k, n_cols=(f"{part}_n",), flag=f"{part}_suppressed",
                               value_cols=(f"{part}_rc",)).to_numpy()
            parts.append(_frame(f"unit_{part}", ids, ids if part == "within" else "", "rc", _num(u, f"{part}_n"),
                                _num(u, f"{part}_rc"), np.nan, np.nan, vis))
    t = public.get("ties")
    if t is not None and len(t):
        vis = visible_rows(t, k, value_cols=("rc_mean",)).to_numpy()
        r, c = t["rater_unit"].astype(str).to_numpy(), t["target_unit"].astype(str).to_numpy()
        for col, measure in _SUBSCALES:
            if col in t.columns:
                rc = measure == "rc"
                parts.append(_frame("tie", r, c, measure, _num(t, "n"), _num(t, col),
                                    _num(t, "ci_low") if rc else np.nan, _num(t, "ci_high") if rc else np.nan, vis))
    if not parts:
        return _frame("organisation", [], [], [], [], [], [], [], []).iloc[0:0]
    pts = pd.concat(parts, ignore_index=True)
    # within A (units.csv) and the relation A -> A (ties.csv) are the same respondents' figure
    hid = pts.loc[~pts["visible"] & pts["level"].isin(["unit_within", "tie"])]
    hid = set(hid.loc[hid["rater_unit"] == hid["target_unit"], "rater_unit"])
    same = pts["level"].isin(["unit_within", "tie"]) & (pts["rater_unit"] == pts["target_unit"])
    pts.loc[same & pts["rater_unit"].isin(hid), "visible"] = False
    pts.loc[~pts["visible"], ["n", "mean", "ci_low", "ci_high"]] = np.nan
    return pts


# --------------------------------------------------------------------------- merged units


def _round_rows(rt: pd.DataFrame, respondents: pd.DataFrame | None, units: pd.DataFrame,
                mapping: Mapping[str, str]) -> pd.DataFrame:
    """A round's respondent-tie rows under every rater group (base unit, and each network the
    respondent lists), RC defined, with the mapped ids ``_g`` (rater group), ``_u`` (base unit) and
    ``_t`` (target)."""
    rt = rt.loc[pd.to_numeric(rt["rc"], errors="coerce").notna(),
                ["respondent_id", "rater_unit", "target_unit", "rc"]].copy()
    for c in ("respondent_id", "rater_unit", "target_unit"):
        rt[c] = rt[c].astype(str)
    resp = respondents if respondents is not None else rt[["respondent_id"]].drop_duplicates()
    rtg = rater_groups(rt, resp, units, networks_as_raters=True)
    rtg["rater_group"] = rtg["rater_group"].astype(str)

    def mapped(s: pd.Series) -> pd.Series:
        return s.map(lambda x: mapping.get(x, x))

    return rtg.assign(_g=mapped(rtg["rater_group"]), _u=mapped(rtg["rater_unit"]), _t=mapped(rtg["target_unit"]))


def _published(pts: pd.DataFrame, level: str, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame | None:
    """The rc points of ``level`` with the given (rater, target) keys; None when one of them is hidden."""
    want = set(pairs)
    sel = pts[(pts["level"] == level) & (pts["measure"] == "rc")]
    sel = sel[[(r, t) in want for r, t in zip(sel["rater_unit"], sel["target_unit"])]]
    if not sel["visible"].all():
        return None
    return sel


def _merged_point(level: str, key: tuple[str, str], members: Mapping[str, list[str]], pts: pd.DataFrame,
                  rows: pd.DataFrame | None, kinds: Mapping[str, str], k: int) -> tuple[float, float] | None:
    """(n, mean) of a merged unit's point in a round before the merge, or None (hidden).

    Shown only when every cell of the round it combines is published visibly and the point is exactly
    their count-weighted combination (the same respondent-level rows, the same mean), with at least k
    respondents: then it can be worked out from the round's own tables and reveals nothing new."""
    if rows is None:
        return None
    g, t = key
    mg = members.get(g, [g])
    mt = members.get(t, [t]) if t else []
    if level in ("tie", "unit_within"):
        t = g if level == "unit_within" else t
        mt = mg if level == "unit_within" else mt
        value = _published(pts, "tie", [(a, b) for a in mg for b in mt])
        guards = [_published(pts, "unit_within", [(a, a) for a in mg])] if g == t else []
        sel = rows[(rows["_g"] == g) & (rows["_t"] == t)]
        values = sel["rc"].to_numpy(float)
    elif level == "unit_between":
        value = _published(pts, "unit_between", [(a, "") for a in mg])
        guards = []
        sel = rows[(rows["_g"] == g) & (rows["rater_group"] != rows["target_unit"])]
        per = sel.groupby(["rater_group", "respondent_id"], sort=False)["rc"].mean()
        values = per.to_numpy(float)
        sel = per.reset_index()
    elif level == "unit_received":
        if kinds.get(g, "base") != "base":
            return None          # the rows a merged network's figure leaves out are published nowhere
        received = _published(pts, "unit_received", [(a, "") for a in mg])
        inner = _published(pts, "tie", [(a, b) for a in mg for b in mg if a != b])
        if received is None or inner is None:
            return None
        value = pd.concat([received, inner.assign(n=-inner["n"])], ignore_index=True)
        guards = []
        sel = rows[(rows["rater_kind"] == "base") & (rows["_t"] == g) & (rows["_u"] != g)]
        values = sel["rc"].to_numpy(float)
    else:
        return None
    if value is None or any(x is None for x in guards) or not len(values):
        return None
    n_rows = float(value["n"].sum())
    combined = float((value["n"] * value["mean"]).sum() / n_rows) if n_rows else np.nan
    mean = float(values.mean())
    if n_rows != len(values) or not abs(mean - combined) <= _TOLERANCE:
        return None
    n = int(sel["respondent_id"].nunique())
    return (float(n), mean) if n >= k else None


# --------------------------------------------------------------------------- trend.csv


def _members(present: set[str], mapping: Mapping[str, str]) -> dict[str, list[str]]:
    """mapped id -> the round's ids that map to it (sorted)."""
    out: dict[str, list[str]] = {}
    for u in sorted(present):
        out.setdefault(mapping.get(u, u), []).append(u)
    return out


def trend_points(rounds: Sequence[str], public: Mapping[str, Mapping[str, pd.DataFrame]], units: pd.DataFrame,
                 *, k: int, respondent_rows: Mapping[str, tuple[pd.DataFrame, pd.DataFrame | None]] | None = None
                 ) -> pd.DataFrame:
    """``trend.csv``: every round's published figures, keyed by the units' final successors.

    ``rounds``: the trend's round ids in date order; ``public``: round -> its reader-facing tables
    (``organisation, blocks, units, ties``); ``units``: the unit register (successors); ``k``:
    privacy.min_group_size; ``respondent_rows``: round -> (respondent_ties, respondents), used only
    for points of merged units (without them such points are hidden). A point is ``suppressed``
    (count, mean and interval empty) when the round's report hides it, and a merged unit's point
    when it is not exactly a combination of cells the round shows (:func:`_merged_point`)."""
    k = check_min_group_size(k)
    mapping = successor_map(units)
    kinds = unit_kinds(units)
    frames = []
    for rid in rounds:
        if rid not in public:
            raise RelcoordError(f"trend: no published tables for round {rid!r}")
        pts = round_points(public[rid], k)
        is_unit = pts["level"].isin(["unit_within", "unit_between", "unit_received", "tie"])
        present = set(pts.loc[is_unit, "rater_unit"]) | set(pts.loc[is_unit, "target_unit"])
        present.discard("")
        members = _members(present, mapping)
        merged_ids = {m for m, us in members.items() if len(us) > 1}
        out = pts.copy()
        for col in ("rater_unit", "target_unit"):
            out[col] = np.where(is_unit, out[col].map(lambda x: mapping.get(x, x)), out[col])
        touched = is_unit & (out["rater_unit"].isin(merged_ids) | out["target_unit"].isin(merged_ids))
        keep = out[~touched]
        rows = None
        if touched.any() and respondent_rows is not None and rid in respondent_rows:
            rt, resp = respondent_rows[rid]
            rows = _round_rows(rt, resp, units, mapping)
        merged = []
        for (level, g, t), _ in out[touched].groupby(["level", "rater_unit", "target_unit"], sort=True):
            res = _merged_point(level, (g, t), members, pts, rows, kinds, k)
            n, mean = res if res is not None else (np.nan, np.nan)
            merged.append({"level": level, "rater_unit": g, "target_unit": t, "measure": "rc", "n": n,
                           "mean": mean, "ci_low": np.nan, "ci_high": np.nan, "visible": res is not None})
        part = pd.concat([keep, pd.DataFrame(merged, columns=keep.columns)], ignore_index=True) if merged else keep
        frames.append(part.assign(round=rid))
    if not frames:
        return _empty_points()
    df = pd.concat(frames, ignore_index=True)
    df["suppressed"] = ~df.pop("visible").astype(bool)
    df.loc[df["suppressed"], ["n", "mean", "ci_low", "ci_high"]] = np.nan
    df["n"] = df["n"].round().astype("Int64")
    return _sorted(df[TREND_COLUMNS], rounds)


def _empty_points() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in TREND_COLUMNS})
    for c in ("mean", "ci_low", "ci_high"):
        df[c] = df[c].astype(float)
    df["n"] = df["n"].astype("Int64")
    df["suppressed"] = df["suppressed"].astype(bool)
    return df


def _sorted(df: pd.DataFrame, rounds: Sequence[str]) -> pd.DataFrame:
    lvl = {v: i for i, v in enumerate(LEVELS)}
    meas = {"rc": 0, "communication": 1, "relationship": 2}
    rnd = {r: i for i, r in enumerate(rounds)}
    key = pd.DataFrame({"l": df["level"].map(lvl), "r": df["rater_unit"].astype(str),
                        "t": df["target_unit"].astype(str), "m": df["measure"].map(lambda m: meas.get(m, 3)),
                        "m2": df["measure"].astype(str), "o": df["round"].map(rnd)})
    order = np.lexsort([key[c].to_numpy() for c in ("o", "m2", "m", "t", "r", "l")])
    return df.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- model.csv


def _round_term(rid: str) -> str:
    return f"round[{rid}]"


def trend_models(rounds: Sequence[str], respondent_rows: Mapping[str, tuple[pd.DataFrame, pd.DataFrame | None]],
                 units: pd.DataFrame, *, panel_key: str | None = None, engine: str = "reml") -> pd.DataFrame:
    """Mixed models of the respondent-tie RC over the trend's rounds (``model.csv``, columns
    :data:`relcoord.compare.MODEL_COLUMNS`).

    Data: every round's respondent-ties with a defined RC (base-unit raters), units mapped to their
    final successors, ``round_linear`` = the round's position (0, 1, 2, ...). Models (``model``):

    - ``linear``: rc ~ round_linear + (1|rater_unit) + (1|target_unit) + (1|respondent);
      ``round_linear`` is the change per round.
    - ``factor``: rc ~ round[R2] + round[R3] + ... + the same intercepts (each round against the
      first).
    - ``sensitivity_linear``: ``linear`` on rater and target units present in every round.
    - ``steps``: from ``factor``, each step ``step:A:B`` (round B minus the round A before it) with its
      Wald CI; ``sd_of_steps`` (their standard deviation) and ``step_se`` (root mean square of their
      standard errors: how much a single round-to-round change moves by chance).
    - ``linearity``: ``departure_from_line``, a Wald chi-square (df = rounds − 2) of the ``factor``
      round effects against a straight line.

    Respondents are nested in rounds (``round:id``) unless ``panel_key`` names a column of every
    round's respondents, which then links them across rounds (``note`` says which). A respondent rates
    every group, so without the respondent intercept the standard errors of round terms are far too
    small (:func:`relcoord.compare.mixed_models`)."""
    rounds = [str(r) for r in rounds]
    if len(rounds) < 3:
        raise RelcoordError(f"a trend needs three or more rounds (got {len(rounds)})")
    linked = bool(panel_key) and all(resp is not None and panel_key in resp.columns
                                     for _, resp in (respondent_rows[r] for r in rounds))
    frames = []
    for j, rid in enumerate(rounds):
        rt, resp = respondent_rows[rid]
        d = _model_data(rt, resp, units, rid, panel_key if linked else None)
        frames.append(d.assign(round_linear=float(j), _round=rid))
    d = pd.concat(frames, ignore_index=True)
    d["respondent"] = pd.Categorical(d["respondent"])
    kinds = unit_kinds(units)
    d = d[d["rater_unit"].map(kinds).fillna("base") == "base"].reset_index(drop=True)
    terms = [_round_term(r) for r in rounds[1:]]
    for r, term in zip(rounds[1:], terms):
        d[term] = (d["_round"] == r).astype(float)
    resp_note = ("respondent intercept; respondents linked across rounds by " + str(panel_key) if linked
                 else "respondent intercept; respondents nested in rounds (anonymous rounds)")
    reg = successor_note(units, [x[0] for x in respondent_rows.values()], ["rater_unit", "target_unit"])
    reg = reg.replace("in both rounds", "in every round")
    spacing = "rounds equally spaced by their order: " + ", ".join(rounds)
    note = "; ".join(x for x in (resp_note, spacing, reg) if x)
    factors = ["rater_unit", "target_unit", "respondent"]
    everywhere_r = set.intersection(*(set(d.loc[d["_round"] == r, "rater_unit"]) for r in rounds))
    everywhere_t = set.intersection(*(set(d.loc[d["_round"] == r, "target_unit"]) for r in rounds))
    sens = d[d["rater_unit"].isin(everywhere_r) & d["target_unit"].isin(everywhere_t)]
    left = sorted((set(d["rater_unit"]) - everywhere_r) | (set(d["target_unit"]) - everywhere_t))
    sens_note = "units present in every round only" + (f"; left out: {', '.join(left)}" if left else
                                                       "; no unit left out")
    rows: list[dict] = []
    rows += fit_model("linear", d, ["round_linear"], factors, note, engine)[0]
    factor_rows, fit, data = fit_model("factor", d, terms, factors, note, engine)
    rows += factor_rows
    rows += fit_model("sensitivity_linear", sens, ["round_linear"], factors, sens_note + "; " + note, engine)[0]
    rows += _step_rows(fit, rounds, data, factors, note)
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def _step_rows(fit: Any, rounds: Sequence[str], data: pd.DataFrame, factors: Sequence[str],
               note: str) -> list[dict]:
    """Round-to-round steps, their spread and the departure from a line, from the factor model."""
    n_groups = "; ".join(f"{f}={data[f].nunique()}" for f in factors) if len(data) else ""
    base = {"n_obs": int(len(data)), "n_groups": n_groups}
    if fit is None:
        return [{**base, "model": "steps", "term": "", "estimate": np.nan, "se": np.nan, "ci_low": np.nan,
                 "ci_high": np.nan, "p": np.nan, "note": "not estimable: the factor model was not estimable"}]
    R = len(rounds)
    beta = np.concatenate([[0.0], np.asarray(fit.beta[1:R], float)])          # round effects, first = 0
    cov = np.zeros((R, R))
    cov[1:, 1:] = np.asarray(fit.cov_beta, float)[1:R, 1:R]
    D = np.zeros((R - 1, R))
    for j in range(1, R):
        D[j - 1, j], D[j - 1, j - 1] = 1.0, -1.0
    step = D @ beta
    se = np.sqrt(np.clip(np.diag(D @ cov @ D.T), 0.0, None))
    txt = "from the factor model: later round minus the round before; CI and p: Wald z; " + note
    rows = []
    for j in range(R - 1):
        z = step[j] / se[j] if se[j] > 0 else np.nan
        rows.append({**base, "model": "steps", "term": f"step:{rounds[j]}:{rounds[j + 1]}",
                     "estimate": float(step[j]), "se": float(se[j]), "ci_low": float(step[j] - Z975 * se[j]),
                     "ci_high": float(step[j] + Z975 * se[j]),
                     "p": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan, "note": txt})
    rows.append({**base, "model": "steps", "term": "sd_of_steps",
                 "estimate": float(np.std(step, ddof=1)) if len(step) > 1 else np.nan, "se": np.nan,
                 "ci_low": np.nan, "ci_high": np.nan, "p": np.nan,
                 "note": "standard deviation of the round-to-round steps (ddof 1)"})
    rows.append({**base, "model": "steps", "term": "step_se", "estimate": float(np.sqrt(np.mean(se ** 2))),
                 "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan,
                 "note": "root mean square of the steps' standard errors: how much one round-to-round change "
                         "moves by chance"})
    # departure from a line: the round effects' components orthogonal to (1, position)
    pos = np.arange(R, dtype=float)
    X = np.column_stack([np.ones(R), pos])
    resid = np.eye(R) - X @ np.linalg.pinv(X)
    w, v = np.linalg.eigh(resid)
    C = v[:, w > 0.5].T                                                          # (R - 2) x R contrasts
    dev = C @ beta
    V = C @ cov @ C.T
    try:
        chi2 = float(dev @ np.linalg.solve(V, dev))
        p = float(stats.chi2.sf(chi2, R - 2))
    except np.linalg.LinAlgError:
        chi2, p = np.nan, np.nan
    rows.append({**base, "model": "linearity", "term": "departure_from_line", "estimate": chi2, "se": np.nan,
                 "ci_low": np.nan, "ci_high": np.nan, "p": p,
                 "note": f"Wald chi-square, df = {R - 2}: do the round effects of the factor model depart from a "
                         "straight line? (estimate = the chi-square statistic)"})
    return rows


# --------------------------------------------------------------------------- both


def trend_tables(rounds: Sequence[str], public: Mapping[str, Mapping[str, pd.DataFrame]],
                 respondent_rows: Mapping[str, tuple[pd.DataFrame, pd.DataFrame | None]], units: pd.DataFrame, *,
                 k: int, panel_key: str | None = None, engine: str = "reml") -> dict[str, pd.DataFrame]:
    """``{"trend": trend.csv, "model": model.csv}`` for the rounds (date order); ``k``:
    privacy.min_group_size; ``panel_key``: a respondents column linking people across rounds, if any."""
    return {"trend": trend_points(rounds, public, units, k=k, respondent_rows=respondent_rows),
            "model": trend_models(rounds, respondent_rows, units, panel_key=panel_key, engine=engine)}
