"""The trend report over three or more rounds (``results/trends/report.html``) and its figures.

Reads only ``trend.csv`` and ``model.csv`` (:mod:`relcoord.trends`): every point there is a number a
round report already shows, hidden where that report hides it, so nothing here is recomputed from
respondent-level data. The headline sets the change per round (``linear`` model, 95 % CI) against
the round-to-round noise (the steps of the ``factor`` model and the uncertainty of one step): its
direction words follow from the sign of the interval (:func:`s_trend`: rose / fell / no clear trend),
and a trend that is clear only over all rounds together is said to be so.

Figures (:data:`TREND_FIGURES`, small multiples drawn with matplotlib under the package style of
:mod:`relcoord.figures`, saved byte-identically by :func:`relcoord.figures.save_figure`):
``trend_organisation`` (the whole organisation and each kind of relation) and ``trend_units`` (one
panel per unit and network: within, rating others, received). Texts come from the catalogue group
``trends`` (``relcoord/locales/<lang>.yaml``) on top of the reports' group ``report``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .figure_names import TREND_FIGURES  # the stems, importable without matplotlib
from .figures import BAND_FILLS, STYLE, band_of, block_label, figure_files, fmt_tick, measure_label, save_figure
from .group_tests import Z975
from .locales import group
from .present import Fmt, ci_direction, fmt_int, fmt_num, unit_label, unit_names, unit_order
from .report import (TEXT, _cell, _check_lang, _env, _figures_ctx, _glossary, _provenance_ctx, _table, _title,
                     _version)

__all__ = ["TREND_FIGURES", "TREND_SECTIONS", "trend_figures", "s_trend", "trend_findings", "trend_report",
           "trend_summary"]

TREND_SECTIONS: tuple[str, ...] = ("summary", "figures", "organisation", "units", "ties", "model", "methods",
                                   "glossary", "provenance")
TREND_GLOSSARY: tuple[str, ...] = ("rc", "relation", "group", "level", "point", "ci", "mixed_model", "hidden")
#: lang -> the trend texts on top of the reports' texts (catalogue groups ``report``, ``index``, ``trends``)
TTEXT: dict[str, dict[str, str]] = {lang: {**TEXT[lang], **dict(g)} for lang, g in group("trends").items()}

#: one colour (Okabe & Ito 2008) and one marker per line, so a line is told apart without colour too
LINE_STYLE = {"rc": ("#0072B2", "o", "-"), "communication": ("#E69F00", "s", "--"),
              "relationship": ("#009E73", "^", "--"), "unit_within": ("#0072B2", "o", "-"),
              "unit_between": ("#E69F00", "s", "-"), "unit_received": ("#009E73", "^", "-")}
#: a departure from a straight line is mentioned below this p only: with many respondent-ties the test finds
#: small wiggles, and RC changes are small, so a conventional 0.05 would over-read them
LINEARITY_ALPHA = 0.01
BLOCKS = ("within_base", "base_to_base", "base_to_network", "network_to_base", "within_network",
          "network_to_network")


def _t(lang: str) -> Mapping[str, str]:
    return TTEXT[_check_lang(lang)]


# --------------------------------------------------------------------------- reading the tables


def _points(trend: pd.DataFrame) -> pd.DataFrame:
    d = trend.copy()
    for c in ("level", "rater_unit", "target_unit", "measure", "round"):
        d[c] = d[c].fillna("").astype(str)
    for c in ("n", "mean", "ci_low", "ci_high"):
        d[c] = pd.to_numeric(d[c], errors="coerce")
    hidden = d["suppressed"].map(lambda x: str(x).strip().lower() in ("true", "1"))
    d["visible"] = ~hidden & np.isfinite(d["mean"])
    return d


def _term(model: pd.DataFrame | None, name: str, term: str) -> dict[str, float] | None:
    if model is None or not len(model):
        return None
    r = model[(model["model"].astype(str) == name) & (model["term"].astype(str) == term)]
    if not len(r):
        return None
    out = {c: pd.to_numeric(pd.Series([r.iloc[0].get(c)]), errors="coerce").iloc[0]
           for c in ("estimate", "se", "ci_low", "ci_high", "p")}
    return None if not np.isfinite(out["estimate"]) else {k: float(v) for k, v in out.items()}


def trend_summary(model: pd.DataFrame | None) -> dict[str, Any]:
    """The numbers the headline uses: ``slope`` (linear, with ``lo``/``hi``), ``steps`` [(a, b, estimate)],
    ``step_se`` and ``linearity_p`` (None where model.csv has none)."""
    lin = _term(model, "linear", "round_linear")
    steps = []
    if model is not None and len(model):
        s = model[(model["model"].astype(str) == "steps") & model["term"].astype(str).str.startswith("step:")]
        for term, est in zip(s["term"].astype(str), pd.to_numeric(s["estimate"], errors="coerce")):
            _, a, b = term.split(":")
            steps.append((a, b, float(est)))
    se = _term(model, "steps", "step_se")
    dep = _term(model, "linearity", "departure_from_line")
    return {"slope": lin["estimate"] if lin else None, "lo": lin["ci_low"] if lin else None,
            "hi": lin["ci_high"] if lin else None, "steps": steps, "step_se": se["estimate"] if se else None,
            "linearity_p": dep["p"] if dep and np.isfinite(dep["p"]) else None}


# --------------------------------------------------------------------------- sentences


def s_trend(slope: Any, lo: Any, hi: Any, n_rounds: int, lang: str) -> Markup:
    """The trend per round in words: rose / fell when the 95 % CI lies above / below 0, else no clear trend."""
    t = _t(lang)
    if slope is None or not np.isfinite(float(slope)):
        return Markup(t["f_model_missing"])
    d = ci_direction(lo, hi)
    key = "f_rose" if d > 0 else "f_fell" if d < 0 else "f_flat"
    shown = fmt_num(abs(slope), lang) if d else fmt_num(slope, lang, sign=True)
    return Markup(t[key]).format(n=n_rounds, slope=shown, lo=fmt_num(lo, lang, sign=True),
                                 hi=fmt_num(hi, lang, sign=True))


def s_noise(slope: Any, lo: Any, hi: Any, steps: Sequence[tuple[str, str, float]], step_se: Any,
            round_labels: Mapping[str, str], lang: str) -> Markup | None:
    """The round-to-round steps and the uncertainty of one step, and what that means for the trend."""
    t = _t(lang)
    if not steps or step_se is None or not np.isfinite(float(step_se)) or slope is None:
        return None
    half = Z975 * float(step_se)
    listed = ", ".join(
        f"{fmt_num(e, lang, sign=True)} ({t['step'].format(a=round_labels.get(a, a), b=round_labels.get(b, b))})"
        for a, b, e in steps)
    d = ci_direction(lo, hi)
    verdict = t["f_noise_flat"] if d == 0 else t["f_noise_exceeds"] if abs(float(slope)) >= half else \
        t["f_noise_within"]
    return Markup(t["f_steps"]).format(steps=listed, half=fmt_num(half, lang)) + Markup(" ") + Markup(verdict)


def trend_findings(trend: pd.DataFrame, model: pd.DataFrame | None, *, lang: str, k: int,
                   round_labels: Mapping[str, str], rounds: Sequence[str],
                   merged: Mapping[str, Sequence[str]] | None = None) -> list[Markup]:
    """The headline sentences: the organisation's RC by round, the trend per round against the
    round-to-round noise, a departure from a straight line, how many figures are hidden; never causal."""
    t = _t(lang)
    f = Fmt(lang, k)
    d = _points(trend)
    out: list[Markup] = []
    org = d[(d["level"] == "organisation") & (d["measure"] == "rc")].set_index("round")
    vals = [f"{f.num(org.loc[r, 'mean']) if r in org.index and org.loc[r, 'visible'] else '–'} "
            f"({round_labels.get(r, r)})" for r in rounds]
    out.append(Markup(t["f_org"]).format(values="; ".join(vals)))
    s = trend_summary(model)
    out.append(s_trend(s["slope"], s["lo"], s["hi"], len(rounds), lang))
    noise = s_noise(s["slope"], s["lo"], s["hi"], s["steps"], s["step_se"], round_labels, lang)
    if noise is not None:
        out.append(noise)
    if s["linearity_p"] is not None and s["linearity_p"] < LINEARITY_ALPHA:
        out.append(Markup(t["f_not_straight"]).format(p=f.p(s["linearity_p"])))
    groups = d[d["level"].isin(["unit_within", "unit_between", "unit_received", "tie"]) & (d["measure"] == "rc")]
    if len(groups):
        out.append(Markup(t["f_hidden"]).format(hidden=fmt_int(int((~groups["visible"]).sum()), lang),
                                                total=fmt_int(len(groups), lang), k=k))
    if merged:
        out.append(Markup(t["f_merged"]).format(units="; ".join(f"{' + '.join(v)} → {u}" for u, v in merged.items())))
    out.append(Markup(t["f_anon"]))
    return out


# --------------------------------------------------------------------------- figures


def _new_figure(size: tuple[float, float]) -> Figure:
    """A Figure with its own Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _ylim(values: Iterable[float], bands: Mapping[str, float]) -> tuple[float, float]:
    v = [x for x in values if np.isfinite(x)]
    lo = min(v + [bands["weak_below"]]) if v else 1.0
    hi = max(v + [bands["strong_above"]]) if v else 5.0
    pad = max(0.1, (hi - lo) * 0.08)
    return max(1.0, math.floor((lo - pad) * 10) / 10), min(5.0, math.ceil((hi + pad) * 10) / 10)


def _panel(ax, series: Sequence[tuple[str, pd.DataFrame, bool]], rounds: Sequence[str],
           labels: Sequence[str], ylim: tuple[float, float], bands: Mapping[str, float], lang: str,
           title: str, show_x: bool) -> None:
    ax.axhspan(ylim[0], bands["weak_below"], color=BAND_FILLS["weak"], alpha=0.45, lw=0, zorder=0)
    ax.axhspan(bands["strong_above"], ylim[1], color=BAND_FILLS["strong"], alpha=0.45, lw=0, zorder=0)
    x = np.arange(len(rounds))
    shown = 0
    for key, pts, with_ci in series:
        colour, marker, ls = LINE_STYLE[key]
        p = pts.set_index("round").reindex(rounds)
        y = np.where(p["visible"].fillna(False).astype(bool), p["mean"], np.nan)
        shown += int(np.isfinite(y).sum())
        ax.plot(x, y, ls=ls, color=colour, lw=1.6, zorder=3)
        ax.plot(x, y, ls="none", marker=marker, ms=5, color=colour, mec="white", mew=0.6, zorder=4)
        if with_ci:
            lo, hi = p["ci_low"].to_numpy(float), p["ci_high"].to_numpy(float)
            ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
            ax.vlines(x[ok], lo[ok], hi[ok], color=colour, lw=1.2, zorder=2)
    ax.set_xlim(-0.35, len(rounds) - 0.65)
    ax.set_ylim(*ylim)
    ax.set_xticks(x)
    ax.set_xticklabels(labels if show_x else [""] * len(rounds), fontsize=8,
                       rotation=30 if len(rounds) > 4 else 0, ha="right" if len(rounds) > 4 else "center")
    ax.yaxis.set_major_locator(mpl.ticker.MultipleLocator(0.2 if ylim[1] - ylim[0] <= 1.6 else 0.5))
    ax.yaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _p: fmt_tick(v, lang, 1)))
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title, loc="left", fontsize=9.5)
    ax.grid(axis="y", color="#DDDDDD", lw=0.6, zorder=1)
    if not shown:
        ax.text(0.5, 0.5, _t(lang)["fig_all_hidden"], transform=ax.transAxes, ha="center", va="center",
                fontsize=8.5, color="#555555", bbox={"facecolor": "white", "edgecolor": "#BBBBBB", "pad": 3})


def _legend(fig, keys: Sequence[str], t: Mapping[str, str], bands: Mapping[str, float], lang: str) -> None:
    handles = [Line2D([], [], color=LINE_STYLE[k][0], marker=LINE_STYLE[k][1], ls=LINE_STYLE[k][2],
                      label=t["legend_" + k.replace("unit_", "")]) for k in keys]
    handles += [Patch(color=BAND_FILLS["weak"], alpha=0.6,
                      label=f"{t['legend_weak']} (< {fmt_num(bands['weak_below'], lang, 1)})"),
                Patch(color=BAND_FILLS["strong"], alpha=0.6,
                      label=f"{t['legend_strong']} (> {fmt_num(bands['strong_above'], lang, 1)})")]
    fig.legend(handles=handles, loc="outside lower left", ncols=len(handles), frameon=False, fontsize=8.5)


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def trend_organisation_figure(trend: pd.DataFrame, rounds: Sequence[str], round_labels: Mapping[str, str], *,
                              lang: str, bands: Mapping[str, float]):
    """Small multiples: the whole organisation (RC with its 95 % CI, both subscales) and each kind of relation."""
    t = _t(lang)
    d = _points(trend)
    labels = [round_labels.get(r, r) for r in rounds]
    org = d[d["level"] == "organisation"]
    blk = d[(d["level"] == "block") & (d["measure"] == "rc")]
    panels = [(t["fig_org"], [(m, org[org["measure"] == m], m == "rc") for m in ("rc", "communication",
                                                                                  "relationship")])]
    for b in BLOCKS:
        pts = blk[blk["rater_unit"] == b]
        if len(pts):
            panels.append((block_label(b, lang), [("rc", pts, False)]))
    vis = d[d["level"].isin(["organisation", "block"]) & d["visible"]]
    ylim = _ylim(list(vis["mean"]) + list(vis["ci_low"].dropna()) + list(vis["ci_high"].dropna()), bands)
    nr, nc = _grid(len(panels), 4)
    with mpl.rc_context(STYLE):
        fig = _new_figure((11.0, 0.9 + 2.5 * nr))
        axes = fig.subplots(nr, nc, sharey=True, squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= len(panels):
                ax.set_visible(False)
                continue
            title, series = panels[i]
            _panel(ax, series, rounds, labels, ylim, bands, lang, title, True)
        _legend(fig, ["rc", "communication", "relationship"], t, bands, lang)
        fig.suptitle(t["fig_title_organisation"], x=0.01, ha="left")
    return fig


def trend_units_figure(trend: pd.DataFrame, units: pd.DataFrame, rounds: Sequence[str],
                       round_labels: Mapping[str, str], *, lang: str, bands: Mapping[str, float]):
    """Small multiples, one panel per unit and network (register order): within, rating others, received."""
    t = _t(lang)
    d = _points(trend)
    d = d[d["level"].isin(["unit_within", "unit_between", "unit_received"]) & (d["measure"] == "rc")]
    labels = [round_labels.get(r, r) for r in rounds]
    names = unit_names(units)
    present = set(d["rater_unit"])
    order = [u for u in unit_order(units, present) if u in present]
    vis = d[d["visible"]]
    ylim = _ylim(vis["mean"], bands)
    nr, nc = _grid(max(1, len(order)), 4)
    with mpl.rc_context(STYLE):
        fig = _new_figure((11.0, 0.9 + 2.1 * nr))
        axes = fig.subplots(nr, nc, sharey=True, squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= len(order):
                ax.set_visible(False)
                continue
            u = order[i]
            series = [(lvl, d[(d["level"] == lvl) & (d["rater_unit"] == u)], False)
                      for lvl in ("unit_within", "unit_between", "unit_received")]
            label = unit_label(u, names)
            _panel(ax, series, rounds, labels, ylim, bands, lang, label if len(label) <= 30 else label[:29] + "…",
                   i >= len(order) - nc)
        _legend(fig, ["unit_within", "unit_between", "unit_received"], t, bands, lang)
        fig.suptitle(t["fig_title_units"], x=0.01, ha="left")
    return fig


def trend_figures(trend: pd.DataFrame, units: pd.DataFrame, outputs: Iterable[str | Path], *,
                  rounds: Sequence[str], round_labels: Mapping[str, str], lang: str,
                  bands: Mapping[str, float]) -> dict[str, Path]:
    """Draw and save the trend figures (``outputs``: the rule's PNG and SVG paths, stems
    :data:`TREND_FIGURES`); returns stem -> PNG path."""
    files = figure_files(outputs, TREND_FIGURES)
    figs = {"trend_organisation": trend_organisation_figure(trend, rounds, round_labels, lang=lang, bands=bands),
            "trend_units": trend_units_figure(trend, units, rounds, round_labels, lang=lang, bands=bands)}
    out = {}
    for stem, fig in figs.items():
        png, _ = save_figure(fig, files[stem])
        out[stem] = png
    return out


# --------------------------------------------------------------------------- tables


def _round_table(d: pd.DataFrame, rows: Sequence[tuple[str, Any]], rounds: Sequence[str],
                 round_labels: Mapping[str, str], first: str, bands: Mapping[str, float], f: Fmt,
                 caption: str | None = None, with_n: bool = False) -> dict[str, Any]:
    """rows: (label, mask into d) -> one row per label, one column per round (mean, band colour)."""
    body = []
    for label, mask in rows:
        p = d[mask].set_index("round")
        cells = [label]
        for r in rounds:
            if r in p.index and bool(p.loc[r, "visible"]):
                v = p.loc[r, "mean"]
                band = band_of(v, bands)
                txt = f.num(v) + (f" (n {f.count(p.loc[r, 'n'])})" if with_n else "")
                cells.append(_cell(txt, "num" + (f" band-{band}" if band else "")))
            else:
                cells.append(_cell("–", "num hidden"))
        body.append(cells)
    return _table([(first, "")] + [(round_labels.get(r, r), "num") for r in rounds], body, caption=caption)


def _tables(d: pd.DataFrame, units: pd.DataFrame, rounds: Sequence[str], round_labels: Mapping[str, str],
            instrument: Any, bands: Mapping[str, float], f: Fmt, t: Mapping[str, str]) -> dict[str, Any]:
    lang = f.lang
    org = d[d["level"] == "organisation"]
    items = list(getattr(instrument, "keys", None) or [])
    order = ["rc", "communication", "relationship"] + [m for m in items if m in set(org["measure"])] + \
        [m for m in dict.fromkeys(org["measure"]) if m not in ("rc", "communication", "relationship", *items)]
    org_rows = [(measure_label(m, lang, instrument), (d["level"] == "organisation") & (d["measure"] == m))
                for m in order if m in set(org["measure"])]
    blk = d[(d["level"] == "block") & (d["measure"] == "rc")]
    blk_rows = [(block_label(b, lang), (d["level"] == "block") & (d["measure"] == "rc") & (d["rater_unit"] == b))
                for b in BLOCKS if b in set(blk["rater_unit"])]
    names = unit_names(units)
    unit_tables = []
    for lvl in ("unit_within", "unit_between", "unit_received"):
        sub = d[(d["level"] == lvl) & (d["measure"] == "rc")]
        if not len(sub):
            continue
        present = set(sub["rater_unit"])
        rows = [(unit_label(u, names), (d["level"] == lvl) & (d["measure"] == "rc") & (d["rater_unit"] == u))
                for u in unit_order(units, present) if u in present]
        unit_tables.append(_round_table(d, rows, rounds, round_labels, t["unit"], bands, f, caption=t[lvl]))
    tie = d[(d["level"] == "tie") & (d["measure"] == "rc")]
    pos = {u: i for i, u in enumerate(unit_order(units, set(tie["rater_unit"]) | set(tie["target_unit"])))}
    pairs = sorted(set(zip(tie["rater_unit"], tie["target_unit"])), key=lambda p: (pos.get(p[0], 0), pos.get(p[1], 0)))
    key = tie["rater_unit"] + "\x1f" + tie["target_unit"]
    tie_rows = []
    for a, b in pairs:
        mask = pd.Series(False, index=d.index)
        mask.loc[key.index[key == a + "\x1f" + b]] = True
        tie_rows.append((f"{a} → {b}", mask))
    return {
        "org_table": _round_table(d, org_rows, rounds, round_labels, t["measure"], bands, f, with_n=False),
        "blocks_table": _round_table(d, blk_rows, rounds, round_labels, t["block"], bands, f),
        "unit_tables": unit_tables,
        "ties_table": _round_table(d, tie_rows, rounds, round_labels, t["rater"] + " → " + t["target"], bands, f),
    }


def _model_table(model: pd.DataFrame | None, rounds: Sequence[str], round_labels: Mapping[str, str], f: Fmt,
                 t: Mapping[str, str]) -> dict[str, Any]:
    rows = []
    first = round_labels.get(rounds[0], rounds[0]) if rounds else ""
    if model is not None and len(model):
        for r in model.to_dict("records"):
            name, term = str(r.get("model", "")), str(r.get("term", "") if pd.notna(r.get("term")) else "")
            if term in ("intercept", "") or term.startswith("var("):
                continue
            if term.startswith("round[") and term.endswith("]"):
                rid = term[6:-1]
                words = t["term_round"].format(r=round_labels.get(rid, rid), first=first)
            elif term.startswith("step:"):
                _, a, b = term.split(":")
                words = t["step"].format(a=round_labels.get(a, a), b=round_labels.get(b, b))
            else:
                words = t.get("term_" + term, term)
            est = pd.to_numeric(pd.Series([r.get("estimate")]), errors="coerce").iloc[0]
            sign = name != "linearity" and term not in ("sd_of_steps", "step_se")
            ci = f.ci(r.get("ci_low"), r.get("ci_high"))
            p = f.p(r.get("p"))
            rows.append([t.get("m_" + name, name), Markup('{} <code class="rule">{}</code>').format(words, term),
                         f.num(est, sign=sign) if np.isfinite(est) else f.na, f.na if ci == "–" else ci,
                         f.na if p == "–" else p, fmt_int(r.get("n_obs"), f.lang)])
    return _table([(t["model"], ""), (t["term"], ""), (t["estimate"], "num"), (t["ci"], "num"), (t["p"], "num"),
                   (t["n_obs"], "num")], rows, note=t["model_table_note"])


# --------------------------------------------------------------------------- the report


def trend_report(trend: pd.DataFrame, model: pd.DataFrame | None, figures: Mapping[str, Any] | None,
                 units: pd.DataFrame, instrument: Any, provenance: Mapping[str, Any] | None = None, *,
                 rounds: Sequence[str], round_labels: Mapping[str, str], lang: str, k: int,
                 bands: Mapping[str, float], title: str, merged: Mapping[str, Sequence[str]] | None = None) -> str:
    """results/trends/report.html as a string, from ``trend.csv`` and ``model.csv``.

    ``figures``: stem -> PNG (stems :data:`TREND_FIGURES`); ``rounds``: the trend's round ids in
    date order, ``round_labels`` their labels; ``merged``: successor -> the former units it merges
    (named in the findings). Settings: ``lang`` (report.language), ``k`` (privacy.min_group_size),
    ``bands`` (scoring.bands), ``title`` (report.title)."""
    lang, title = _check_lang(lang), _title(title, lang)
    t = _t(lang)
    f = Fmt(lang, k)
    d = _points(trend)
    rounds = [str(r) for r in rounds]
    labels = {r: str(round_labels.get(r, r)) for r in rounds}
    s = trend_summary(model)
    org = d[(d["level"] == "organisation") & (d["measure"] == "rc") & d["visible"]].set_index("round")
    first_last = "–"
    if rounds and rounds[0] in org.index and rounds[-1] in org.index:
        first_last = f"{f.num(org.loc[rounds[0], 'mean'])} → {f.num(org.loc[rounds[-1], 'mean'])}"
    kpis = [(t["kpi_rounds"], str(len(rounds))),
            (t["kpi_slope"], f.num(s["slope"], sign=True) if s["slope"] is not None else f.na),
            (t["kpi_first_last"], first_last)]
    bw = {"weak": fmt_num(bands["weak_below"], lang, 1), "strong": fmt_num(bands["strong_above"], lang, 1)}
    caps = {stem: t["cap_" + stem].format(k=k, **bw) for stem in TREND_FIGURES}
    span = f"{labels[rounds[0]]} – {labels[rounds[-1]]}" if rounds else ""
    ctx = {
        "lang": lang, "t": t, "title": title, "subtitle": f"{t['report_name'].format(n=len(rounds))}: {span}",
        "doc_title": f"{title} – {t['report_name'].format(n=len(rounds))}", "sections": TREND_SECTIONS,
        "how_to_read": t["how_to_read"].format(k=k, **bw), "kpis": kpis,
        "findings": trend_findings(trend, model, lang=lang, k=k, round_labels=labels, rounds=rounds, merged=merged),
        "links": [], "figures": _figures_ctx(figures, TREND_FIGURES, caps, t),
        **_tables(d, units, rounds, labels, instrument, bands, f, t),
        "model_intro": t["model_intro"], "model_table": _model_table(model, rounds, labels, f, t),
        "table_note": t["trend_table_note"],
        "methods": [t["methods_points"], t["methods_model"], t["methods_noise"], t["methods_privacy"].format(k=k),
                    t["methods_nocause"]],
        "glossary": _glossary(TREND_GLOSSARY, lang, k, bands),
        "provenance": _provenance_ctx(provenance, [], f, t),
        "hidden_note": t["hidden_note"].format(k=k), "footer": t["footer"].format(version=_version()),
    }
    return _env().get_template("trend_report.html.j2").render(**ctx)
