"""A benchmark across organisations: pooling the published results of several studies.

A consortium of organisations (each a relcoord study of its own) pools what each organisation's
readers already see: the organisation index, the block figures and the units' within, between and
received RC of ``results/<round>/scores/organisation.csv``, ``blocks.csv`` and ``units.csv``, after
the organisation's own suppression, re-checked here with :func:`relcoord.publish.visible_rows` as the
reports do (a hidden cell never enters the pool). Respondent-level files of an organisation are
never read.

Period
    Each round becomes a *period*: with ``period="year"`` the year of the round's date
    (``2025-03-01`` -> ``2025``), with ``period="round"`` the round id. When one organisation has
    two rounds in the same year, the later-dated round represents it in that year.

Pool (``results/benchmark/pool.csv``, :data:`POOL_COLUMNS`), one row per (period, level, block,
measure):

- ``level`` ``organisation`` (block ``''``; measures rc, communication, relationship from
  organisation.csv), ``block`` (block id from blocks.csv: within_base, base_to_base, ...; the same
  three measures), ``unit_within``, ``unit_between``, ``unit_received`` (block = the unit kind,
  ``base`` or ``network``; measure rc, from units.csv);
- organisation and block levels: percentiles over organisations (one value each); unit levels:
  percentiles over all units of all organisations, ``n_units`` of them from ``n_organisations``;
- percentiles p10, p25, p50, p75, p90 by Hyndman & Fan's (1996) definition 7: for sorted values
  x(1) <= ... <= x(n) and probability p, h = (n - 1) p, Q(p) = x(floor h + 1) + (h - floor h)
  (x(floor h + 2) - x(floor h + 1)). It is R's default ``quantile(x, type = 7)`` and numpy's
  ``quantile(x, p, method="linear")``.

Privacy at pool level (:func:`pool`):

- a row is published only when at least ``min_organisations`` organisations contribute (default 5;
  below 3 is refused); for unit levels the units must come from at least that many organisations;
- a row is published only when no single figure is shared by all but at most one contributing
  organisation (for unit levels: no organisation's set of unit values is shared by that many):
  otherwise an organisation that knows its own figure would learn that every other organisation
  has that figure (e.g. five organisations, four of them at 3.80);
- a suppressed row keeps its counts and blanks every percentile;
- pool.csv names no organisation and publishes no mean, minimum, maximum, sum or respondent count:
  a mean over n organisations and the organisation's own figure would give the mean of the others,
  and two such means (periods, subsets) would give a single organisation's figure; min and max are
  single organisations' figures. Percentiles are functions of the sorted values only, so the pool is
  the same whichever organisation holds which value.

What an organisation can still learn: with few organisations the percentiles pin down order
statistics (with exactly 5, Q(.25), Q(.5) and Q(.75) are three organisations' values, and Q(.1) and
Q(.9) with the others give the remaining two): the *set* of figures in the pool, never which
organisation holds which. Every consortium that differs only in which organisation holds which
figures gives the same pool.csv and the same position file of the organisation looking, so no
figure can be attributed to another organisation; the tests check this property on random consortia
(tests/test_benchmark.py). Side knowledge outside relcoord (e.g. one partner telling another its
index) is beyond what any pool can protect.

Position of an organisation (``results/benchmark/organisations/<org>.csv``, :data:`POSITION_COLUMNS`),
only where the pool row is published: ``value`` (its own figure) and ``percentile_rank`` = 100 x
(number of *other* organisations' values below + half the number equal) / (number of other
organisations) (the mid-rank empirical distribution function, as in R's ``ecdf`` with ties counted
half); for unit levels one row per unit, ranked among the other organisations' units.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .config import period_of  # the period of a round (also importable from here)
from .errors import RelcoordError
from .publish import visible_rows

__all__ = [
    "QUANTILES", "POOL_COLUMNS", "POSITION_COLUMNS", "FIGURE_COLUMNS", "LEVELS", "MEASURES",
    "check_min_organisations", "period_of", "round_periods", "published_figures", "read_published_figures",
    "percentiles_type7", "pool", "percentile_rank", "positions", "benchmark_section", "benchmark_page_html",
    "TEXTS",
]

#: the published percentiles (probabilities) and their column names
QUANTILES: tuple[tuple[str, float], ...] = (("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75),
                                            ("p90", 0.90))
POOL_COLUMNS = ["period", "level", "block", "measure", "n_organisations", "n_units",
                *[c for c, _ in QUANTILES], "suppressed"]
POSITION_COLUMNS = ["period", "level", "block", "unit_id", "measure", "value", "percentile_rank",
                    "n_organisations"]
#: one organisation's visible figures (:func:`published_figures`)
FIGURE_COLUMNS = ["level", "block", "unit_id", "measure", "value"]
LEVELS = ("organisation", "block", "unit_within", "unit_between", "unit_received")
MEASURES = ("rc", "communication", "relationship")
UNIT_PARTS = ("within", "between", "received")
#: the smallest min_organisations allowed
MIN_ORGANISATIONS_FLOOR = 3


def check_min_organisations(m: object) -> int:
    """``min_organisations`` as an int >= 3 (a pool of two: each learns the other's figure)."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or int(m) < MIN_ORGANISATIONS_FLOOR:
        raise RelcoordError(f"min_organisations must be a whole number >= {MIN_ORGANISATIONS_FLOOR}, got {m!r}",
                            hint="set min_organisations in benchmark.yaml to 5 (the default) or more")
    return int(m)


# --------------------------------------------------------------------------- periods


def round_periods(rounds: Mapping[str, str], period: str) -> dict[str, str]:
    """period -> the round representing it, from ``rounds`` (round id -> ISO date): per period the
    latest-dated round (ties by round id)."""
    out: dict[str, tuple[str, str]] = {}
    for rid, date in rounds.items():
        p = period_of(rid, date, period)
        if p not in out or (str(date), str(rid)) > out[p]:
            out[p] = (str(date), str(rid))
    return {p: rid for p, (_, rid) in sorted(out.items())}


# --------------------------------------------------------------------------- one organisation's figures


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def published_figures(tables: Mapping[str, pd.DataFrame], min_group_size: int) -> pd.DataFrame:
    """The figures of one round a reader of the organisation's report may see (:data:`FIGURE_COLUMNS`).

    ``tables``: the round's reader-facing ``organisation``, ``blocks`` and ``units`` tables (as read
    from the CSVs; a missing one contributes nothing). Rows are re-checked with
    :func:`relcoord.publish.visible_rows` at ``min_group_size`` (the organisation's k), as the reports
    do; a non-finite value is dropped."""
    k = int(min_group_size)
    rows: list[pd.DataFrame] = []
    o = tables.get("organisation")
    if o is not None and len(o):
        o = o[visible_rows(o, k, value_cols=("mean",)) & o["measure"].astype(str).isin(MEASURES)]
        rows.append(pd.DataFrame({"level": "organisation", "block": "", "unit_id": "",
                                  "measure": o["measure"].astype(str), "value": _num(o["mean"])}))
    b = tables.get("blocks")
    if b is not None and len(b):
        b = b[visible_rows(b, k, n_cols=("n_respondents",), value_cols=("rc_mean",))]
        for measure, col in (("rc", "rc_mean"), ("communication", "communication"),
                             ("relationship", "relationship")):
            if col in b.columns:
                rows.append(pd.DataFrame({"level": "block", "block": b["block"].astype(str), "unit_id": "",
                                          "measure": measure, "value": _num(b[col])}))
    u = tables.get("units")
    if u is not None and len(u):
        for part in UNIT_PARTS:
            if f"{part}_rc" not in u.columns:
                continue
            vis = visible_rows(u, k, n_cols=(f"{part}_n",), flag=f"{part}_suppressed", value_cols=(f"{part}_rc",))
            v = u[vis]
            rows.append(pd.DataFrame({"level": f"unit_{part}", "block": v["kind"].astype(str),
                                      "unit_id": v["unit_id"].astype(str), "measure": "rc",
                                      "value": _num(v[f"{part}_rc"])}))
    if not rows:
        return pd.DataFrame(columns=FIGURE_COLUMNS)
    out = pd.concat(rows, ignore_index=True)[FIGURE_COLUMNS]
    out = out[np.isfinite(out["value"].astype(float))]
    return out.reset_index(drop=True)


def read_published_figures(score_dir: str | Path | None = None, *, organisation: str | Path | None = None,
                           blocks: str | Path | None = None, units: str | Path | None = None,
                           min_group_size: int) -> pd.DataFrame:
    """:func:`published_figures` from a round's ``scores/`` folder (or the three CSV paths). Only the
    reader-facing organisation.csv, blocks.csv and units.csv are opened."""
    paths = {"organisation": organisation, "blocks": blocks, "units": units}
    if score_dir is not None:
        paths = {name: p or Path(score_dir) / f"{name}.csv" for name, p in paths.items()}
    tables = {}
    for name, p in paths.items():
        if p is None:
            continue
        if not Path(p).is_file():
            raise RelcoordError(f"the published table {p} does not exist", file=str(p),
                                hint="run the organisation's scoring for this round first")
        tables[name] = pd.read_csv(p, dtype={"unit_id": str, "block": str, "measure": str})
    return published_figures(tables, min_group_size)


# --------------------------------------------------------------------------- the pool


def percentiles_type7(values: Sequence[float], probs: Sequence[float] = tuple(p for _, p in QUANTILES)
                      ) -> np.ndarray:
    """Hyndman & Fan (1996) definition 7 (R ``quantile(type = 7)``, numpy ``method="linear"``)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return np.full(len(probs), np.nan)
    return np.quantile(x, np.asarray(probs, dtype=float), method="linear")


def _diverse(figures_by_org: Mapping[str, tuple]) -> bool:
    """True when no single figure (a value, or a sorted tuple of unit values) is held by all but at
    most one of the organisations: then, for every organisation looking, the others' figures differ,
    so permuting them gives a different assignment with the same pool."""
    n = len(figures_by_org)
    if n == 0:
        return False
    counts = pd.Series(list(figures_by_org.values())).value_counts()
    return int(counts.iloc[0]) <= n - 2


def _check_figures(figures: pd.DataFrame) -> pd.DataFrame:
    need = {"organisation", "period", *FIGURE_COLUMNS}
    missing = need - set(figures.columns)
    if missing:
        raise ValueError(f"figures lack column(s) {sorted(missing)}")
    f = figures.copy()
    for c in ("organisation", "period", "level", "block", "unit_id", "measure"):
        f[c] = f[c].fillna("").astype(str)
    f["value"] = pd.to_numeric(f["value"], errors="coerce")
    f = f[np.isfinite(f["value"].astype(float))]
    bad = set(f["level"]) - set(LEVELS)
    if bad:
        raise ValueError(f"unknown level(s) {sorted(bad)}")
    dup = f.duplicated(["organisation", "period", "level", "block", "unit_id", "measure"])
    if dup.any():
        raise ValueError("an organisation has two figures for the same period, level, block, unit and measure")
    return f


def pool(figures: pd.DataFrame, min_organisations: int = 5) -> pd.DataFrame:
    """The benchmark pool (:data:`POOL_COLUMNS`) from the consortium's published figures.

    ``figures``: one row per organisation figure, columns ``organisation, period`` and
    :data:`FIGURE_COLUMNS` (:func:`published_figures` of each organisation's round, with its
    organisation id and period). Suppression as in the module docstring; the result names no
    organisation. Rows sorted by period, level (:data:`LEVELS` order), block, measure."""
    m = check_min_organisations(min_organisations)
    f = _check_figures(figures)
    rows = []
    for (period, level, block, measure), g in f.groupby(["period", "level", "block", "measure"], sort=False):
        unit_level = level.startswith("unit_")
        by_org = {org: tuple(sorted(gg["value"].astype(float))) for org, gg in g.groupby("organisation")}
        n_org = len(by_org)
        row = {"period": period, "level": level, "block": block, "measure": measure, "n_organisations": n_org,
               "n_units": len(g) if unit_level else pd.NA}
        ok = n_org >= m and _diverse(by_org)
        q = percentiles_type7(g["value"].astype(float).to_numpy()) if ok else np.full(len(QUANTILES), np.nan)
        row.update({c: float(v) for (c, _), v in zip(QUANTILES, q)})
        row["suppressed"] = not ok
        rows.append(row)
    out = _in_order(pd.DataFrame(rows, columns=POOL_COLUMNS), "measure")
    out["n_units"] = out["n_units"].astype("Int64")
    out["n_organisations"] = out["n_organisations"].astype(int)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out.reset_index(drop=True)


def _in_order(out: pd.DataFrame, last: str) -> pd.DataFrame:
    """pool.csv's and the position files' row order: period, level (:data:`LEVELS`), block, measure
    (:data:`MEASURES`, others after them), then ``last``."""
    if not len(out):
        return out
    level = {lv: i for i, lv in enumerate(LEVELS)}
    measure = {ms: i for i, ms in enumerate(MEASURES)}
    out = out.assign(_l=out["level"].map(level), _m=out["measure"].map(lambda x: measure.get(x, 99)))
    return out.sort_values(["period", "_l", "block", "_m", last], kind="stable").drop(columns=["_l", "_m"])


def percentile_rank(value: float, others: Sequence[float]) -> float:
    """100 x (others below ``value`` + half the others equal to it) / len(others) (mid-rank ECDF)."""
    o = np.asarray(others, dtype=float)
    if o.size == 0:
        return float("nan")
    return float(100.0 * ((o < value).sum() + 0.5 * (o == value).sum()) / o.size)


def positions(figures: pd.DataFrame, pool_table: pd.DataFrame, organisation: str) -> pd.DataFrame:
    """One organisation's place in the pool (:data:`POSITION_COLUMNS`): its figures in every published
    pool row, each with its percentile rank among the other organisations' values (unit levels: each
    of its units among the other organisations' units)."""
    f = _check_figures(figures)
    published = pool_table.loc[~pool_table["suppressed"].astype(bool)]
    keys = ["period", "level", "block", "measure"]
    n_of = {tuple(str(x) for x in r[:4]): int(r[4]) for r in
            published[[*keys, "n_organisations"]].itertuples(index=False)}
    rows = []
    own = f[f["organisation"] == str(organisation)]
    for r in own.itertuples(index=False):
        key = (r.period, r.level, r.block, r.measure)
        if key not in n_of:
            continue
        others = f.loc[(f["period"] == r.period) & (f["level"] == r.level) & (f["block"] == r.block)
                       & (f["measure"] == r.measure) & (f["organisation"] != str(organisation)), "value"]
        rows.append({"period": r.period, "level": r.level, "block": r.block, "unit_id": r.unit_id,
                     "measure": r.measure, "value": float(r.value),
                     "percentile_rank": percentile_rank(float(r.value), others.astype(float).to_numpy()),
                     "n_organisations": n_of[key]})
    out = _in_order(pd.DataFrame(rows, columns=POSITION_COLUMNS), "unit_id")
    out["n_organisations"] = out["n_organisations"].astype(int)
    return out.reset_index(drop=True)


def read_positions(path: str | Path) -> pd.DataFrame:
    """An organisation's position file (:func:`positions`, :data:`POSITION_COLUMNS`) as written by
    :func:`write_table`: ids as text (blank = ''), numbers as numbers. A file without those columns
    stops with its name and what to do."""
    df = pd.read_csv(path, dtype={c: str for c in ("period", "level", "block", "unit_id", "measure")},
                     keep_default_na=False, na_values={c: [""] for c in ("value", "percentile_rank")})
    missing = [c for c in POSITION_COLUMNS if c not in df.columns]
    if missing:
        raise RelcoordError(f"{path}: not a benchmark position file (missing column(s) {', '.join(missing)})",
                            hint="point `benchmark: positions:` at results/benchmark/organisations/<org>.csv "
                                 "of the consortium's run")
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """pool.csv and position files: UTF-8, LF, numbers with 10 significant digits, blanks for NA
    (every text cell is an id from a schema-checked config: no spreadsheet formula can start one)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(df.to_csv(index=False, lineterminator="\n", float_format="%.10g"), encoding="utf-8")


# --------------------------------------------------------------------------- reader-facing sentences

#: da/en texts of the benchmark section (to be merged into relcoord/locales/ by the lead)
TEXTS: dict[str, dict[str, object]] = {
    "da": {
        "title": "Sammenligning med andre organisationer",
        "intro": ("Jeres tal sammenlignet med {n_max} organisationer i konsortiet ({period}). Kun tal, som hver "
                  "organisations egen rapport viser, indgår; ingen organisation kan genkendes i sammenligningen."),
        "sentence_org": "Jeres {measure} ligger ved {rank}. percentil blandt {n} organisationer.",
        "sentence_block": "{block}: jeres RC-indeks ligger ved {rank}. percentil blandt {n} organisationer.",
        "sentence_unit": ("{unit} ({part}): RC ligger ved {rank}. percentil blandt enheder i {n} "
                          "organisationer."),
        "none": ("Ingen sammenligning for {period}: færre end {m} organisationer har et synligt tal, eller tallene "
                 "ville kunne henføres til en enkelt organisation."),
        "definition": ("Percentil: andelen af de andre organisationers tal, der ligger under jeres, plus halvdelen "
                       "af dem, der er lige med (×100). Fordelingens percentiler (P10–P90) er beregnet som R's "
                       "quantile(type = 7)."),
        "measures": {"rc": "RC-indeks", "communication": "kommunikation", "relationship": "mål, viden og respekt"},
        "parts": {"unit_within": "inden for enheden", "unit_between": "mellem enheder",
                  "unit_received": "modtaget"},
        "columns": {"what": "Mål", "value": "Jeres tal", "p25": "P25", "p50": "Median", "p75": "P75",
                    "rank": "Percentil", "n": "Organisationer"},
        "blocks": {"within_base": "Inden for egen basisenhed", "base_to_base": "Basisenhed → andre basisenheder",
                   "base_to_network": "Basisenhed → netværk", "network_to_base": "Netværk → basisenheder",
                   "within_network": "Inden for eget netværk", "network_to_network": "Netværk → andre netværk"},
    },
    "en": {
        "title": "Compared with other organisations",
        "intro": ("Your figures compared with {n_max} organisations of the consortium ({period}). Only figures "
                  "each organisation's own report shows are pooled; no organisation can be identified in the "
                  "comparison."),
        "sentence_org": "Your {measure} is at the {rank} percentile among {n} organisations.",
        "sentence_block": "{block}: your RC index is at the {rank} percentile among {n} organisations.",
        "sentence_unit": "{unit} ({part}): RC is at the {rank} percentile among units of {n} organisations.",
        "none": ("No comparison for {period}: fewer than {m} organisations have a visible figure, or the figures "
                 "could be attributed to a single organisation."),
        "definition": ("Percentile: the share of the other organisations' figures below yours, plus half of those "
                       "equal to it (×100). The pool's percentiles (P10–P90) are computed as R's "
                       "quantile(type = 7)."),
        "measures": {"rc": "RC index", "communication": "communication",
                     "relationship": "goals, knowledge and respect"},
        "parts": {"unit_within": "within the unit", "unit_between": "between units", "unit_received": "received"},
        "columns": {"what": "Measure", "value": "Your figure", "p25": "P25", "p50": "Median", "p75": "P75",
                    "rank": "Percentile", "n": "Organisations"},
        "blocks": {"within_base": "Within own base unit", "base_to_base": "Base unit → other base units",
                   "base_to_network": "Base unit → networks", "network_to_base": "Network → base units",
                   "within_network": "Within own network", "network_to_network": "Network → other networks"},
    },
}


def _ordinal(rank: int, lang: str) -> str:
    if lang == "da":
        return str(rank)
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def _rank_int(x: float) -> int:
    """A percentile rank as a whole number (half up), for sentences."""
    return int(np.floor(float(x) + 0.5))


def _fmt(x: float, lang: str) -> str:
    s = f"{float(x):.2f}"
    return s.replace(".", ",") if lang == "da" else s


def benchmark_section(position_df: pd.DataFrame, lang: str, *, pool_table: pd.DataFrame | None = None,
                      period: str | None = None, min_organisations: int = 5,
                      unit_names: Mapping[str, str] | None = None) -> dict:
    """The benchmark section of an organisation's round report, ready for a template.

    ``position_df``: the organisation's position file (:func:`positions`); ``period``: the period to
    show (default: the latest in ``position_df``); ``pool_table``: pool.csv, for the P25/median/P75
    columns (optional). Returns ``{title, intro, sentences (organisation and block level), units
    (sentences per unit), rows (table rows: what, value, p25, p50, p75, rank, n), columns,
    definition, empty (bool), period}``; every text is plain (escape it in the template)."""
    if lang not in TEXTS:
        raise ValueError(f"language must be one of {sorted(TEXTS)}, got {lang!r}")
    t = TEXTS[lang]
    pos = position_df.copy()
    for c in ("period", "level", "block", "unit_id", "measure"):
        if c in pos.columns:
            pos[c] = pos[c].fillna("").astype(str)
    if period is None:
        period = max(pos["period"]) if len(pos) else ""
    pos = pos[pos["period"] == str(period)]
    out = {"title": t["title"], "period": str(period), "definition": t["definition"], "columns": t["columns"],
           "sentences": [], "units": [], "rows": [], "empty": pos.empty}
    if pos.empty:
        out["intro"] = t["none"].format(period=period or "–", m=min_organisations)
        return out
    out["intro"] = t["intro"].format(n_max=int(pos["n_organisations"].max()), period=period)
    quart = {}
    if pool_table is not None and len(pool_table):
        pt = pool_table.copy()
        for c in ("period", "level", "block", "measure"):
            pt[c] = pt[c].fillna("").astype(str)
        pt = pt[(pt["period"] == str(period)) & ~pt["suppressed"].astype(bool)]
        quart = {(r.level, r.block, r.measure): (r.p25, r.p50, r.p75) for r in pt.itertuples(index=False)}
    for r in pos.itertuples(index=False):
        rank = _ordinal(_rank_int(r.percentile_rank), lang)
        n = int(r.n_organisations)
        if r.level == "organisation":
            what = t["measures"].get(r.measure, r.measure)
            sentence = t["sentence_org"].format(measure=what, rank=rank, n=n)
            out["sentences"].append(sentence[0].upper() + sentence[1:])
        elif r.level == "block":
            what = f"{t['blocks'].get(r.block, r.block)}: {t['measures'].get(r.measure, r.measure)}"
            if r.measure == "rc":
                out["sentences"].append(t["sentence_block"].format(block=t["blocks"].get(r.block, r.block),
                                                                   rank=rank, n=n))
        else:
            name = (unit_names or {}).get(r.unit_id, r.unit_id)
            what = f"{name} ({t['parts'][r.level]})"
            out["units"].append(t["sentence_unit"].format(unit=name, part=t["parts"][r.level], rank=rank, n=n))
        q = quart.get((r.level, r.block, r.measure), (np.nan, np.nan, np.nan))
        out["rows"].append({"what": what, "value": _fmt(r.value, lang),
                            "p25": "" if pd.isna(q[0]) else _fmt(q[0], lang),
                            "p50": "" if pd.isna(q[1]) else _fmt(q[1], lang),
                            "p75": "" if pd.isna(q[2]) else _fmt(q[2], lang),
                            "rank": str(_rank_int(r.percentile_rank)), "n": str(n), "level": r.level})
    return out


def benchmark_page_html(section: Mapping, lang: str, title: str = "") -> str:
    """A small stand-alone HTML page of one organisation's benchmark section (every text escaped)."""
    e = html.escape
    cols = section["columns"]
    parts = [f'<!DOCTYPE html>\n<html lang="{e(lang)}">\n<head>\n<meta charset="utf-8">\n'
             f"<title>{e(title or section['title'])}</title>\n"
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ccc;"
             "text-align:right}td:first-child,th:first-child{text-align:left}</style>\n</head>\n<body>\n",
             f"<h1>{e(title or section['title'])}</h1>\n<h2>{e(section['title'])} {e(section['period'])}</h2>\n",
             f"<p>{e(section['intro'])}</p>\n"]
    if section["sentences"]:
        parts.append("<ul>\n" + "".join(f"<li>{e(s)}</li>\n" for s in section["sentences"]) + "</ul>\n")
    if section["rows"]:
        head = "".join(f"<th>{e(cols[c])}</th>" for c in ("what", "value", "p25", "p50", "p75", "rank", "n"))
        body = "".join("<tr>" + "".join(f"<td>{e(str(r[c]))}</td>" for c in ("what", "value", "p25", "p50", "p75",
                                                                             "rank", "n")) + "</tr>\n"
                       for r in section["rows"])
        parts.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n")
    parts.append(f"<p><small>{e(section['definition'])}</small></p>\n</body>\n</html>\n")
    return "".join(parts)
