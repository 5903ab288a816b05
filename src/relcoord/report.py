"""Self-contained HTML reports: one per round, one per comparison, and an index page.

Readers are managers, network leads and staff: every page opens by double
click (images embedded as base64 PNG, CSS inline, no network access), starts
with plain-language findings and the figures, then tables, reliability,
methods and data provenance, in Danish or English (``report.language``).

Privacy: the functions take the **reader-facing** tables only (scores/*.csv,
changes.csv, model.csv). A value that is missing there, flagged
``suppressed``, or that comes with a count below ``privacy.min_group_size`` is
rendered "–" with the footnote "hidden: fewer than k respondents"; a count
below k is rendered "< k". Nothing is recomputed from respondent-level data.
A number that does not exist (a response rate without ``invited``, an interval
that is not computed) is "ikke oplyst" / "n/a", never "–".

Vocabulary (both languages, every page): a *relation* is one direction A → B
(B → A is another); a *pair* is two groups with both relations; a *group* is a
base unit or a network; the *level* is weak / moderate / strong. The headline
says in plain words what changed (:mod:`relcoord.present`'s sentence
functions: each direction word follows from the sign and significance of its
numbers); technical measures (Hedges' g, FDR, the difference in differences)
are in the tables, the methods and the glossary.

Entry points: :func:`round_report`, :func:`comparison_report`,
:func:`index_page`; helpers :func:`software_versions`, :func:`config_hash`,
:func:`embed_png`. Fixed texts come from the language catalogues
(``relcoord/locales/<lang>.yaml``, groups ``report`` and ``index``; :data:`TEXT`);
numbers and unit names from :mod:`relcoord.present`.
"""

from __future__ import annotations

import base64
import io
import json
import platform
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .figures import (
    COMPARISON_FIGURES,
    ROUND_FIGURES,
    _as_bool,
    band_of,
    block_label,
    captions,
    change_visibility,
    did_estimate,
    measure_label,
    visible_rows,
)
from .locales import group, languages, text
from .present import (Fmt, _finite, cfa_fit, fmt_date, fmt_int, fmt_num, invariance_case, s_blocks, s_cfa, s_change,
                      s_invariance, s_network_effect, s_org_level, s_sensitivity, s_subscales, s_ties, unit_label,
                      unit_names, unit_order)
from .present import MISSING
from .privacy import summary_for_readers
from .runner import config_hash  # noqa: F401  (re-exported: report.config_hash)

__all__ = ["TEXT", "ROUND_SECTIONS", "COMPARISON_SECTIONS", "round_report", "comparison_report", "index_page",
           "software_versions", "config_hash", "embed_png", "round_findings", "comparison_findings",
           "validation_findings"]

TEMPLATES = Path(__file__).with_name("templates")

ROUND_SECTIONS: tuple[str, ...] = ("summary", "figures", "response", "units", "blocks", "ties", "reliability",
                                   "methods", "glossary", "provenance")
COMPARISON_SECTIONS: tuple[str, ...] = ("summary", "figures", "response", "organisation", "blocks", "units",
                                        "ties", "model", "methods", "glossary", "provenance")
#: the glossary's terms (catalogue group ``glossary``) of each kind of report, in order
ROUND_GLOSSARY: tuple[str, ...] = ("rc", "relation", "group", "level", "point", "ci", "hidden", "not_available",
                                   "alpha", "icc", "rwg")
COMPARISON_GLOSSARY: tuple[str, ...] = ("rc", "relation", "group", "level", "point", "ci", "clear", "significant",
                                        "fdr", "hedges_g", "did", "mixed_model", "hidden", "not_available")

# --------------------------------------------------------------------------- texts

#: lang -> the report's fixed texts (catalogue groups ``report`` and ``index``; keys used by the templates too)
TEXT: dict[str, dict[str, str]] = {lang: {**text(lang)["report"], **text(lang)["index"]} for lang in languages()}
#: lang -> the validation's texts (rule names in plain words: ``rule_<rule>``)
VTEXT: dict[str, Mapping[str, str]] = group("validation")

SOFTWARE = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "networkx", "jinja2", "pandera",
            "snakemake", "relcoord")

# --------------------------------------------------------------------------- helpers


def software_versions() -> dict[str, str]:
    """Python and package versions (importlib.metadata; nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in SOFTWARE:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = ""
    return out


def embed_png(figure: Any) -> str | None:
    """A ``data:image/png;base64,...`` URI from a PNG path, PNG bytes or a matplotlib Figure."""
    if figure is None:
        return None
    if isinstance(figure, (str, Path)):
        p = Path(figure)
        if p.suffix.lower() != ".png":
            p = p.with_suffix(".png")
        if not p.exists():
            return None
        data = p.read_bytes()
    elif isinstance(figure, (bytes, bytearray)):
        data = bytes(figure)
    else:                                              # a Figure
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=150, metadata={"Software": None})
        data = buf.getvalue()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("embed_png: not a PNG image")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _check_lang(lang: str) -> str:
    if lang not in TEXT:
        raise ValueError(f"report language must be one of {sorted(TEXT)}, got {lang!r}")
    return lang


def _title(title: str, lang: str) -> str:
    """``report.title``; when it is empty or a language's default title (the schema's default
    is the Danish one), the default title in ``lang``."""
    title = str(title or "")
    if not title or title in {v["default_title"] for v in TEXT.values()}:
        title = TEXT[lang]["default_title"]
    return title


def _cell(text: Any, cls: str = "") -> dict[str, Any]:
    return {"text": text, "cls": cls}


def _table(headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]], caption: str | None = None,
           note: str | None = None) -> dict[str, Any]:
    """A table for the template: headers [(text, "num"|"")], rows of cells (str or _cell dicts)."""
    body = []
    for r in rows:
        cells = []
        for (_, cls), c in zip(headers, r):
            cells.append(c if isinstance(c, dict) else _cell(c, cls))
        body.append(cells)
    return {"headers": [{"text": h, "cls": c} for h, c in headers], "rows": body, "caption": caption,
            "note": note}


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def _figures_ctx(figures: Mapping[str, Any] | None, names: Sequence[str], caps: Mapping[str, str],
                 t: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    figures = dict(figures or {})
    for name in list(names) + [n for n in figures if n not in names]:
        if name not in figures:
            continue
        uri = embed_png(figures[name])
        out.append({"id": f"fig-{name}", "uri": uri, "caption": caps.get(name, ""), "missing": t["figure_missing"]})
    return out


def _provenance_ctx(provenance: Mapping[str, Any] | None, summaries: Sequence[Mapping[str, Any]], f: Fmt,
                    t: Mapping[str, str]) -> dict[str, Any]:
    prov = dict(provenance or {})
    files = list(prov.pop("files", []) or [])
    for s in summaries:
        files += list(s.get("files") or [])
    seen, rows = set(), []
    for fi in files:
        key = (fi.get("path"), fi.get("sha256"))
        if key in seen:
            continue
        seen.add(key)
        rows.append([Markup("<code>{}</code>").format(fi.get("path", "")),
                     Markup("<code class=\"hash\">{}</code>").format(fi.get("sha256", "")),
                     fmt_int(fi.get("bytes"), f.lang) if fi.get("bytes") is not None else "–"])
    chash = prov.pop("settings_sha256", None) or prov.pop("config_sha256", None) or prov.pop("config_hash", None)
    versions = prov.pop("software", None) or software_versions()
    soft = [[k_, v or t["not_installed"]] for k_, v in versions.items()]
    other = [[str(k_), json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (dict, list)) else str(v)]
             for k_, v in prov.items()]
    return {
        "files": _table([(t["path"], ""), (t["sha256"], ""), (t["bytes"], "num")], rows) if rows else None,
        "config_hash": chash,
        "software": _table([(t["package"], ""), (t["version"], "")], soft),
        "other": _table([("", ""), ("", "")], other) if other else None,
    }


# --------------------------------------------------------------------------- round report


def _visible(df: pd.DataFrame | None, k: int, **kw) -> pd.DataFrame:
    if df is None or not len(df):
        return pd.DataFrame() if df is None else df.iloc[0:0]
    return df[visible_rows(df, k, **kw)]


def round_findings(tables: Mapping[str, pd.DataFrame], units: pd.DataFrame, instrument: Any, *,
                   lang: str, k: int, bands: Mapping[str, float]) -> list[Markup]:
    """Plain-language key findings of a round, from the reader-facing tables only
    (``k``: privacy.min_group_size; ``bands``: scoring.bands)."""
    lang = _check_lang(lang)
    t = TEXT[lang]
    f = Fmt(lang, k)
    names = unit_names(units)
    out: list[Markup] = []

    def say(key: str, **kw) -> None:
        out.append(Markup(t[key]).format(**kw))

    org = tables.get("organisation")
    orgv = _visible(org, k, value_cols=("mean",)).set_index("measure") if org is not None else pd.DataFrame()
    if "rc" in orgv.index:
        r = orgv.loc["rc"]
        out.append(s_org_level(r["mean"], r["ci_low"], r["ci_high"], r["n"], band_of(r["mean"], bands), lang))
    else:
        out.append(s_org_level(None, None, None, None, None, lang))
    if {"communication", "relationship"} <= set(orgv.index):
        c, r = orgv.loc["communication"], orgv.loc["relationship"]
        out.append(s_subscales(c["mean"], c["ci_low"], c["ci_high"], r["mean"], r["ci_low"], r["ci_high"], lang))
    items = [i for i in instrument.index_keys if i in orgv.index]
    if len(items) >= 2:
        s = orgv.loc[items, "mean"].astype(float).sort_values(kind="mergesort")
        say("f_items", weak_item=measure_label(s.index[0], lang, instrument), weak=f.num(s.iloc[0]),
            strong_item=measure_label(s.index[-1], lang, instrument), strong=f.num(s.iloc[-1]))
    blocks = tables.get("blocks")
    if blocks is not None and len(blocks):
        bv = _visible(blocks, k, n_cols=("n_respondents",), value_cols=("rc_mean",)).set_index("block")["rc_mean"]
        if {"within_base", "base_to_base"} <= set(bv.index):
            say("f_within", within=f.num(bv["within_base"]), between=f.num(bv["base_to_base"]),
                to_net=f.num(bv.get("base_to_network", np.nan)))
    edges = tables.get("edges")
    if edges is not None and len(edges):
        ev = edges[visible_rows(edges, k, n_cols=("n_a_to_b", "n_b_to_a"), value_cols=("a_to_b", "b_to_a"))]
        if len(ev):
            ev = ev.assign(symmetric_rc=(pd.to_numeric(ev["a_to_b"]) + pd.to_numeric(ev["b_to_a"])) / 2)
            ev = ev.sort_values(["symmetric_rc", "unit_a", "unit_b"], kind="mergesort")
            for key, row in (("f_weakest", ev.iloc[0]), ("f_strongest", ev.iloc[-1])):
                a, b = str(row["unit_a"]), str(row["unit_b"])
                say(key, a=names.get(a, a), b=names.get(b, b), a_id=a, b_id=b, ab=f.num(row["a_to_b"]),
                    ba=f.num(row["b_to_a"]))
            d = (pd.to_numeric(ev["a_to_b"]) - pd.to_numeric(ev["b_to_a"])).abs()
            row = ev.loc[d.sort_values(ascending=False, kind="mergesort").index[0]]
            a, b = str(row["unit_a"]), str(row["unit_b"])
            if row["a_to_b"] < row["b_to_a"]:
                a, b = b, a
                ab, ba = row["b_to_a"], row["a_to_b"]
            else:
                ab, ba = row["a_to_b"], row["b_to_a"]
            say("f_asym", a_id=a, b_id=b, ab=f.num(ab), ba=f.num(ba), diff=f.num(abs(ab - ba)))
    ties = tables.get("ties")
    if ties is not None and len(ties):
        tv = ties[visible_rows(ties, k, value_cols=("rc_mean",))]
        off = tv[tv["rater_unit"].astype(str) != tv["target_unit"].astype(str)]
        bands_ = [band_of(v, bands) for v in off["rc_mean"]]
        say("f_counts", n=fmt_int(len(off), lang), weak=fmt_int(bands_.count("weak"), lang),
            moderate=fmt_int(bands_.count("moderate"), lang), strong=fmt_int(bands_.count("strong"), lang))
        hidden = len(ties) - len(tv)
        if hidden:
            why = ties["suppression"].fillna("").astype(str) if "suppression" in ties.columns else pd.Series("")
            protect = int(why.isin(["secondary", "complementary"]).sum())
            say("f_hidden", hidden=fmt_int(hidden, lang), total=fmt_int(len(ties), lang), k=k,
                small=fmt_int(hidden - protect, lang), protect=fmt_int(protect, lang))
    low = [f'"{x}"' for x in _low_alpha_scopes(tables.get("reliability"), k, t)]
    if low:
        say("f_rel_low", scopes=low[0] if len(low) == 1 else ", ".join(low[:-1]) + f" {t['and']} " + low[-1])
    say("f_caution")
    return out


#: reliability measures with the usual 0.70 threshold
THRESHOLD_MEASURES = ("alpha_listwise", "alpha_pairwise", "icc2")
THRESHOLD = 0.70


def _low_alpha_scopes(rel: pd.DataFrame | None, k: int, t: Mapping[str, str]) -> list[str]:
    """The scopes (in words) whose Cronbach's alpha (complete answers) is below 0.70, shown ones only."""
    if rel is None or not len(rel):
        return []
    r = rel[visible_rows(rel, k, value_cols=("value",))]
    r = r[(r["measure"].astype(str) == "alpha_listwise") & (pd.to_numeric(r["value"], errors="coerce") < THRESHOLD)]
    return list(dict.fromkeys(t.get("scope_" + str(s), str(s)) for s in r["scope"]))


def validation_findings(summary: Mapping[str, Any], units: pd.DataFrame | None, lang: str,
                        validation_href: str = "validation/report.html") -> list[Markup]:
    """The headline's validation lines: how many records were set aside (linking the validation report,
    ``validation_href``) and which base units have no valid respondent (whatever
    ``validation.max_quarantined_fraction`` allows); none when neither."""
    t = TEXT[lang]
    s = summary or {}
    out: list[Markup] = []
    n = int(s.get("records_set_aside", s.get("quarantined", 0)) or 0)
    if n:
        out.append(Markup(t["f_set_aside"]).format(n=fmt_int(n, lang), total=fmt_int(s.get("records_in", 0), lang),
                                                   href=validation_href))
    missing = [str(u) for u in s.get("missing_units") or []]
    if missing:
        names = {**(unit_names(units) if units is not None else {}), **(s.get("missing_unit_names") or {})}
        out.append(Markup(t["f_missing_units"]).format(names=", ".join(str(names.get(u, u)) for u in missing)))
    return out


def _respondent_counts_why(summary: Mapping[str, Any], units: pd.DataFrame, k: int
                           ) -> tuple[dict[str, int | None], dict[str, str]]:
    """(unit -> count or None, unit -> why hidden: "primary" (< k) | "secondary" | "hidden")."""
    s = summary_for_readers(summary, k)
    per = {str(u): n for u, n in (s.get("respondents_per_unit") or {}).items()}
    why = {str(u): str(r) for u, r in (s.get("respondents_per_unit_hidden") or {}).items()}
    kinds = dict(zip(units["unit_id"].astype(str), units["kind"].astype(str))) if units is not None else {}
    in_round = set(per) | {str(x) for x in summary.get("targets") or []}
    order = [u for u in unit_order(units, per) if kinds.get(u, "base") != "network"
             and (u in in_round or not summary.get("targets"))]
    shown = {u: (int(per[u]) if per.get(u) is not None else None) for u in order}
    return shown, {u: (why.get(u, "primary") if u in per else "primary") for u in order if shown[u] is None}


def _response_ctx(summary: Mapping[str, Any], units: pd.DataFrame, f: Fmt, t: Mapping[str, str],
                  invited: int | None) -> dict[str, Any]:
    s = summary or {}
    rec_in, valid = int(s.get("records_in", 0)), int(s.get("valid", 0))
    kpis = [(t["records_in"], fmt_int(rec_in, f.lang)), (t["valid"], fmt_int(valid, f.lang)),
            (t["quarantined"], fmt_int(s.get("quarantined", 0), f.lang)),
            (t["warned"], fmt_int(s.get("warned", 0), f.lang))]
    if invited:
        kpis.append((t["rate"], f.pct(valid / invited)))
    a = s.get("answers") or {}
    answers = " / ".join(fmt_int(a.get(x, 0), f.lang) for x in ("valid", "dont_know", "blank"))
    rules = [[rule_label(r, f.lang), fmt_int(n, f.lang)] for r, n in sorted((s.get("failures_by_rule") or {}).items())]
    counts, why = _respondent_counts_why(s, units, f.k)
    names = unit_names(units)
    per = [[unit_label(u, names), fmt_int(n, f.lang) if n is not None else f"< {f.k}" if why.get(u) == "primary"
            else "–"] for u, n in counts.items()]
    return {"kpis": kpis, "answers": answers,
            "rules": _table([(t["rule"], ""), (t["count"], "num")], rules) if rules else None,
            "per_unit": _table([(t["unit"], ""), (t["respondents"], "num")], per, note=t["response_note"].format(
                k=f.k))}


def _who_ctx(summary: Mapping[str, Any], weighted: pd.DataFrame | None, units: pd.DataFrame, f: Fmt,
             t: Mapping[str, str]) -> dict[str, Any] | None:
    """"Who answered" (with a staff register, relcoord.weights): the response rate per base unit (hidden
    where summary.json hides the unit's count; a rate far below the rest marked in words), the
    organisation's rate, and the organisation's and blocks' RC weighted to the staff next to the
    unweighted figure, with n, the sum of weights and Kish's effective n. None without a register."""
    rr = (summary or {}).get("response_rates")
    if not rr:
        return None
    if rr.get("status") == "no_register":
        return {"intro": t["who_no_register"], "org": None, "rates": None, "weighted": None, "notes": []}
    names = unit_names(units)
    entries = {str(e["unit_id"]): e for e in rr.get("units") or []}
    rows = []
    for u in unit_order(units, entries):
        e = entries[u]
        hidden = str(e.get("hidden") or "")
        staff = fmt_int(e["staff"], f.lang) if e.get("staff") is not None else f.na
        if hidden:
            n, rate, flag = f.hidden_count(hidden), MISSING, t["who_hidden"]
        else:
            n = fmt_int(e.get("respondents"), f.lang)
            rate = f.pct(e["response_rate"]) if e.get("response_rate") is not None else f.na
            flag = t["who_low"] if e.get("low_response") is True else \
                t[f"who_note_{e['note']}"] if e.get("note") else ""
        rows.append([unit_label(u, names), staff, n, rate, _cell(flag, "flag low" if e.get("low_response") is True
                                                                  and not hidden else "")])
    org = rr.get("organisation")
    org_text = t["who_org_rate"].format(pct=f.pct(org["response_rate"]), n=fmt_int(org["respondents"], f.lang),
                                        staff=fmt_int(org["staff"], f.lang)) if org else t["who_org_rate_na"]
    ratio = f.pct(float(rr.get("low_response_ratio", 0.5)))
    notes = [t["who_rates_note"].format(k=f.k, ratio=ratio)]
    wtable = None
    if not rr.get("weighted"):
        notes.append(t["who_no_weights"].format(why=t[f"who_why_{rr.get('status')}"]))
    elif weighted is not None and len(weighted):
        w = weighted[weighted["measure"].astype(str) == "rc"]
        wrows = []
        for _, r in w.iterrows():
            label = t["who_org_rc"] if r["level"] == "organisation" else block_label(str(r["block"]), f.lang)
            if _as_bool(pd.Series([r.get("suppressed")])).iloc[0]:
                why = t["who_network_raters"] if str(r.get("suppression")) == "network_raters" else t["who_hidden"]
                wrows.append([label, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, why])
                continue
            unequal = _as_bool(pd.Series([r.get("unequal_weights")])).iloc[0]
            wrows.append([label, f.num(r["mean_unweighted"]), f.num(r["mean_weighted"]),
                          f.ci(r["ci_low"], r["ci_high"]), fmt_int(r["n"], f.lang),
                          fmt_num(r["sum_weights"], f.lang, 0), fmt_num(r["n_eff"], f.lang, 0),
                          t["who_unequal"] if unequal else ""])
        wtable = _table([(t["who_figure"], ""), (t["who_unweighted"], "num"), (t["who_weighted"], "num"),
                         (t["who_ci"], "num"), (t["n"], "num"), (t["who_sum_weights"], "num"),
                         (t["who_n_eff"], "num"), (t["who_remark"], "")], wrows, note=t["who_weighted_note"].format(
                             k=f.k))
    return {"intro": t["who_intro"], "org": org_text,
            "rates": _table([(t["unit"], ""), (t["who_staff"], "num"), (t["respondents"], "num"),
                             (t["rate"], "num"), (t["who_remark"], "")], rows),
            "weighted": wtable, "notes": notes}


def rule_label(rule: str, lang: str) -> Markup:
    """A validation rule in plain words, its name for analysts beside it in a small code element."""
    words = VTEXT[lang].get(f"rule_{rule}")
    if words is None:
        return Markup('<code class="rule">{}</code>').format(rule)
    return Markup('{} <code class="rule">{}</code>').format(words, rule)


def _weakest_dim(row: Mapping[str, Any], items: Sequence[str], lang: str, instrument: Any) -> str:
    vals = [(float(row[i]), i) for i in items if i in row and pd.notna(row[i])]
    if not vals:
        return Fmt(lang, 0).na
    return measure_label(min(vals)[1], lang, instrument)


# --------------------------------------------------------------------------- round report, step by step
# Each step builds one part of the page from a reader-facing table; ``f`` carries the language and k.


def _round_kpis(organisation: pd.DataFrame | None, ties: pd.DataFrame, visible_ties: pd.DataFrame,
                summary: Mapping[str, Any], invited: int | None, f: Fmt, t: Mapping[str, str]) -> list[tuple[str, str]]:
    """The headline numbers: RC index, respondents, response rate, visible ties."""
    orgv = _visible(organisation, f.k, value_cols=("mean",)).set_index("measure") if organisation is not None \
        else pd.DataFrame()
    kpis = [(t["kpi_rc"], f.num(orgv.loc["rc", "mean"]) if "rc" in orgv.index else "–"),
            (t["kpi_respondents"], fmt_int(summary.get("valid"), f.lang))]
    if invited:
        kpis.append((t["kpi_rate"], f.pct(int(summary.get("valid", 0)) / invited)))
    kpis.append((t["kpi_ties"], f"{fmt_int(len(visible_ties), f.lang)} / {fmt_int(len(ties), f.lang)}"))
    return kpis


def _units_table(u: pd.DataFrame | None, units: pd.DataFrame, names: Mapping[str, str], bands: Mapping[str, float],
                 f: Fmt, t: Mapping[str, str]) -> dict[str, Any]:
    """Every unit: within, rating others and received, each with its n (units.csv)."""
    unit_rows = []
    if u is not None and len(u):
        uu = u.copy()
        uu["unit_id"] = uu["unit_id"].astype(str)
        uu = uu.set_index("unit_id").reindex(unit_order(units, uu["unit_id"]))
        for uid, r in uu.iterrows():
            row = [unit_label(uid, names), t["network"] if r.get("kind") == "network" else t["base"],
                   "" if pd.isna(r.get("area")) else str(r.get("area"))]
            for part in ("within", "between", "received"):
                hide = _as_bool(pd.Series([r.get(f"{part}_suppressed", False)])).iloc[0] or not (
                    pd.to_numeric(pd.Series([r.get(f"{part}_n")]), errors="coerce").iloc[0] >= f.k)
                v = np.nan if hide else r.get(f"{part}_rc")
                row += [_band_cell(v, bands, f), f.hidden_count(r.get(f"{part}_suppression", "")) if hide
                        else f.count(r.get(f"{part}_n"))]
            unit_rows.append(row)
    return _table([(t["unit"], ""), (t["kind"], ""), (t["area"], ""), (t["within"], "num"), (t["n"], "num"),
                   (t["between"], "num"), (t["n"], "num"), (t["received"], "num"), (t["n"], "num")],
                  unit_rows, note=t["units_note"])


def _blocks_table(b: pd.DataFrame | None, bands: Mapping[str, float], f: Fmt, t: Mapping[str, str]) -> dict[str, Any]:
    """Within and between kinds of groups (blocks.csv)."""
    block_rows = []
    if b is not None and len(b):
        bvis = visible_rows(b, f.k, n_cols=("n_respondents",), value_cols=("rc_mean",))
        for (_, r), ok in zip(b.iterrows(), bvis):
            block_rows.append([block_label(r["block"], f.lang), _band_cell(r["rc_mean"] if ok else np.nan, bands, f),
                               f.num(r.get("communication") if ok else np.nan),
                               f.num(r.get("relationship") if ok else np.nan),
                               f.count(r.get("n_respondents")) if ok else f.hidden_count(r.get("suppression", ""))])
    return _table([(t["block"], ""), (t["rc"], "num"), (t["communication"], "num"),
                   (t["relationship"], "num"), (t["n_respondents"], "num")], block_rows, note=t["blocks_note"])


def _pair_tables(e: pd.DataFrame | None, names: Mapping[str, str], bands: Mapping[str, float], n_pairs: int,
                 f: Fmt, t: Mapping[str, str]) -> list[dict[str, Any]]:
    """The weakest and the strongest pairs, both directions side by side (edges.csv)."""
    pair_tables = []
    if e is not None and len(e):
        ev = e[visible_rows(e, f.k, n_cols=("n_a_to_b", "n_b_to_a"), value_cols=("a_to_b", "b_to_a"))].copy()
        ev["sym"] = (pd.to_numeric(ev["a_to_b"]) + pd.to_numeric(ev["b_to_a"])) / 2
        ev = ev.sort_values(["sym", "unit_a", "unit_b"], kind="mergesort")
        hdr = [(t["group_a"], ""), (t["group_b"], ""), (t["a_to_b"], "num"), (t["n"], "num"), (t["b_to_a"], "num"),
               (t["n"], "num"), (t["mean_both"], "num"), (t["difference"], "num")]
        for key, part in (("weakest_pairs", ev.head(n_pairs)), ("strongest_pairs", ev.tail(n_pairs).iloc[::-1])):
            rows = [[unit_label(str(r["unit_a"]), names), unit_label(str(r["unit_b"]), names),
                     _band_cell(r["a_to_b"], bands, f), f.count(r["n_a_to_b"]), _band_cell(r["b_to_a"], bands, f),
                     f.count(r["n_b_to_a"]), f.num(r["sym"]), f.num(r["a_to_b"] - r["b_to_a"], sign=True)]
                    for _, r in part.iterrows()]
            pair_tables.append(_table(hdr, rows, caption=t[key], note=t["ties_note"]))
    return pair_tables


def _ties_table(ties: pd.DataFrame, units: pd.DataFrame, names: Mapping[str, str], items: Sequence[str],
                instrument: Any, bands: Mapping[str, float], f: Fmt, t: Mapping[str, str]) -> dict[str, Any]:
    """Every tie in unit order, hidden ones as "–" (ties.csv)."""
    all_rows = []
    if len(ties):
        tt = ties.copy()
        tt["rater_unit"], tt["target_unit"] = tt["rater_unit"].astype(str), tt["target_unit"].astype(str)
        vis = visible_rows(tt, f.k, value_cols=("rc_mean",))
        order = {uid: i for i, uid in enumerate(unit_order(units, set(tt["rater_unit"]) | set(tt["target_unit"])))}
        tt["_o"] = [order.get(r, 0) * 10000 + order.get(c, 0) for r, c in zip(tt["rater_unit"], tt["target_unit"])]
        tt["_vis"] = vis
        for _, r in tt.sort_values("_o", kind="mergesort").iterrows():
            ok = bool(r["_vis"])
            all_rows.append([unit_label(r["rater_unit"], names), unit_label(r["target_unit"], names),
                             _band_cell(r["rc_mean"] if ok else np.nan, bands, f),
                             f.ci(r.get("ci_low"), r.get("ci_high")) if ok else "–",
                             f.count(r["n"]) if ok else f.hidden_count(r.get("suppression", "")),
                             f.num(r.get("communication") if ok else np.nan),
                             f.num(r.get("relationship") if ok else np.nan),
                             _weakest_dim(r, items, f.lang, instrument) if ok else "–"])
    return _table([(t["rater"], ""), (t["target"], ""), (t["rc"], "num"), (t["ci"], "num"), (t["n"], "num"),
                   (t["communication"], "num"), (t["relationship"], "num"), (t["weakest_dim"], "")], all_rows,
                  note=t["ties_note"])


def _reliability_table(rel: pd.DataFrame | None, f: Fmt, t: Mapping[str, str]) -> dict[str, Any]:
    """Alpha and ICC with what they mean (reliability.csv)."""
    rel_rows = []
    if rel is not None and len(rel):
        rv = visible_rows(rel, f.k, value_cols=("value",))
        for (_, r), ok in zip(rel.iterrows(), rv):
            m = str(r["measure"])
            if m not in ("alpha_listwise", "alpha_pairwise", "icc1", "icc2"):
                continue
            exp = t["exp_alpha"] if m.startswith("alpha") else t["exp_" + m]
            val = f.num(r["value"] if ok else np.nan)
            if ok and pd.notna(r.get("flag")) and str(r.get("flag")) not in ("", "nan"):
                exp += f" ({t['negative_flag']})" if "negative" in str(r.get("flag")) else f" ({r.get('flag')})"
            low = ok and m in THRESHOLD_MEASURES and pd.notna(r["value"]) and float(r["value"]) < THRESHOLD
            if low:
                exp += " " + t["below"].format(name=t["alpha_short"] if m.startswith("alpha") else t["rel_" + m],
                                               value=val)
            ci = f.ci(r.get("ci_low"), r.get("ci_high")) if ok else "–"
            rel_rows.append([t.get("rel_" + m, m), t.get("scope_" + str(r["scope"]), str(r["scope"])),
                             _cell(f"{val} ({t['below_mark']})", "num low") if low else val,
                             f.na if ok and ci == "–" else ci, f.count(r["n"] if ok else np.nan), exp])
    return _table([(t["measure"], ""), (t["scope"], ""), (t["value"], "num"), (t["ci"], "num"),
                   (t["n"], "num"), (t["explanation"], "")], rel_rows, note=t["rel_note"])


def _cfa_table(cfa: pd.DataFrame | None, f: Fmt, t: Mapping[str, str]) -> dict[str, Any] | None:
    """The fit of the two factor models (cfa.csv), one row each, with the verdict by
    :func:`relcoord.present.cfa_fit`; None without cfa.csv. Whole-round figures; a model fitted on
    fewer than k responses is shown as not estimated."""
    if cfa is None or not len(cfa):
        return None
    rows = []
    for model in ("one_factor", "two_factor"):
        m = cfa[cfa["model"] == model]
        v = {str(a): _finite(b) for a, b in zip(m["measure"], m["value"])}
        n = v.get("n")
        if n is None or n < f.k:      # not estimated, or (never in practice) from fewer than k responses
            v, fit = {}, "unknown"
        else:
            fit = cfa_fit(cfa, model)
        num = {key: f.num(v.get(key, np.nan)) for key in ("chisq", "cfi", "tli", "srmr", "rmsea")}
        chisq = f"{num['chisq']} ({fmt_int(v['df'], f.lang)})" if v.get("chisq") is not None and \
            v.get("df") is not None else "–"
        rmsea = f"{num['rmsea']} ({f.ci(v.get('rmsea_ci_lower'), v.get('rmsea_ci_upper'))})" \
            if v.get("rmsea") is not None else "–"
        rows.append([t[f"cfa_model_{model}"], f.count(n if v else np.nan), chisq, f.p(v.get("pvalue", np.nan)),
                     num["cfi"], num["tli"], rmsea, num["srmr"],
                     _cell(t[f"fit_{fit}"], "low" if fit == "poor" else "")])
    return _table([(t["cfa_model"], ""), (t["cfa_n"], "num"),
                   (t["cfa_chisq"], "num"), (t["cfa_p"], "num"), ("CFI", "num"), ("TLI", "num"),
                   (t["cfa_rmsea"], "num"), ("SRMR", "num"), (t["cfa_fit"], "")], rows, note=t["cfa_note"])


def _agreement(ag: pd.DataFrame | None, visible_ties: pd.DataFrame, f: Fmt, t: Mapping[str, str]) -> str | None:
    """One sentence on rwg(j) over the visible ties (agreement.csv); None when there is none."""
    if ag is None or not len(ag) or not len(visible_ties):
        return None
    a = ag.copy()
    a["rater_unit"], a["target_unit"] = a["rater_unit"].astype(str), a["target_unit"].astype(str)
    a = a[visible_rows(a, f.k, value_cols=("rwg_j",))]
    keep = set(zip(visible_ties["rater_unit"].astype(str), visible_ties["target_unit"].astype(str)))
    a = a[[(x, y) in keep for x, y in zip(a["rater_unit"], a["target_unit"])]]
    if not len(a):
        return None
    r = pd.to_numeric(a["rwg_j"])
    return t["agreement"].format(median=f.num(r.median()), n=fmt_int(len(r), f.lang),
                                 share=f.pct(float((r >= 0.70).mean())))


def _round_methods(ties: pd.DataFrame, n_items: int, min_items: int, bw: Mapping[str, str], f: Fmt,
                   t: Mapping[str, str]) -> list[str]:
    """The methods paragraphs, with the interval method the scores were computed with."""
    ci_method = str(ties["ci_method"].dropna().iloc[0]) if "ci_method" in ties.columns and \
        ties["ci_method"].notna().any() else "t"
    ci_text = t.get(f"ci_method_{ci_method}", ci_method)
    return [t["methods_round"].format(min_items=min_items, n_items=n_items, ci=ci_text),
            t["methods_bands"].format(**bw), t["methods_privacy"].format(k=f.k), t["methods_reliability"]]


def _glossary(terms: Sequence[str], lang: str, k: int, bands: Mapping[str, float]) -> list[dict[str, str]]:
    """The glossary's entries ``{"term", "def"}`` (catalogue group ``glossary``), thresholds filled in."""
    g = text(lang)["glossary"]
    fields = {"k": k, "weak": fmt_num(bands["weak_below"], lang, 1), "strong": fmt_num(bands["strong_above"], lang, 1)}
    return [{"term": g[x]["term"].format(**fields), "def": g[x]["def"].format(**fields)} for x in terms]


def _with_benchmark(sections: Sequence[str]) -> tuple[str, ...]:
    """The round report's sections with "benchmark" after the blocks."""
    i = list(sections).index("blocks") + 1
    return (*sections[:i], "benchmark", *sections[i:])


def round_report(round_id: str, label: str, tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any],
                 figures: Mapping[str, Any] | None, units: pd.DataFrame, instrument: Any,
                 provenance: Mapping[str, Any] | None = None, *, lang: str, k: int, bands: Mapping[str, float],
                 title: str, min_items: int, invited: int | None, n_pairs: int = 10,
                 validation_href: str = "validation/report.html", units_href: str | None = "units/index.html",
                 cfa: pd.DataFrame | None = None, weighted: pd.DataFrame | None = None,
                 benchmark: Mapping[str, Any] | None = None) -> str:
    """The round's report.html as a string.

    ``tables``: reader-facing ``ties, units, blocks, edges, organisation,
    reliability, agreement`` (results/R/scores/*.csv); ``summary``:
    validation/summary.json; ``figures``: stem -> PNG path (or bytes/Figure),
    stems :data:`relcoord.figures.ROUND_FIGURES`; ``units``: the unit register
    of the round; ``provenance``: e.g. ``{"config_sha256": ..., "software":
    software_versions()}`` plus any key -> value to list (export files come
    from ``summary["files"]``). Settings: ``lang`` (report.language), ``k``
    (privacy.min_group_size), ``bands`` (scoring.bands), ``title``
    (report.title), ``min_items`` (scoring.min_items, for the methods),
    ``invited`` (the round's ``invited``, None when not configured). Links (relative to the report;
    None: no link): ``validation_href``, the round's validation report; ``units_href``, the index of
    the round's unit pages (written by :mod:`relcoord.unit_pages`). ``cfa``: the round's cfa.csv
    (relcoord.cfa), shown with the reliability; None leaves it out. With a staff register (``summary``
    holds ``response_rates``, relcoord.weights) the response part gets "who answered": rates per unit
    and, from ``weighted`` (scores/weighted.csv), the figures weighted to the staff; without one the
    report is as before. ``benchmark``: the organisation's place in a consortium's benchmark
    (:func:`relcoord.benchmark.benchmark_section`), a section of its own; None leaves it out."""
    lang, title = _check_lang(lang), _title(title, lang)
    t = TEXT[lang]
    f = Fmt(lang, k)
    names = unit_names(units)
    items = list(instrument.index_keys)
    bw = {"weak": fmt_num(bands["weak_below"], lang, 1), "strong": fmt_num(bands["strong_above"], lang, 1)}
    findings = validation_findings(summary, units, lang, validation_href) + round_findings(
        tables, units, instrument, lang=lang, k=k, bands=bands)
    links = [(t["validation_report"], validation_href), (t["unit_pages"], units_href)]
    ties = tables.get("ties", pd.DataFrame())
    tv = ties[visible_rows(ties, k, value_cols=("rc_mean",))] if len(ties) else ties
    ctx = {
        "lang": lang, "t": t, "title": title, "subtitle": f"{t['round_report']}: {label}",
        "doc_title": f"{title} – {label}", "kind": "round",
        "sections": _with_benchmark(ROUND_SECTIONS) if benchmark else ROUND_SECTIONS, "benchmark": benchmark,
        "how_to_read": t["how_to_read"].format(**bw),
        "kpis": _round_kpis(tables.get("organisation"), ties, tv, summary, invited, f, t), "findings": findings,
        "figures": _figures_ctx(figures, ROUND_FIGURES, captions(lang, k, bands), t),
        "response": _response_ctx(summary, units, f, t, invited),
        "who": _who_ctx(summary, weighted, units, f, t),
        "units_table": _units_table(tables.get("units"), units, names, bands, f, t),
        "blocks_table": _blocks_table(tables.get("blocks"), bands, f, t),
        "pair_tables": _pair_tables(tables.get("edges"), names, bands, n_pairs, f, t),
        "all_ties": _ties_table(ties, units, names, items, instrument, bands, f, t),
        "rel_intro": t["rel_intro"], "rel_table": _reliability_table(tables.get("reliability"), f, t),
        "agreement": _agreement(tables.get("agreement"), tv, f, t),
        "cfa_table": _cfa_table(cfa, f, t), "cfa_sentence": s_cfa(cfa, lang) if cfa is not None else None,
        "methods": _round_methods(ties, len(items), min_items, bw, f, t),
        "glossary": _glossary(ROUND_GLOSSARY, lang, k, bands),
        "links": [{"text": x, "href": h} for x, h in links if h],
        "provenance": _provenance_ctx(provenance, [summary], f, t),
        "hidden_note": t["hidden_note"].format(k=k), "footer": t["footer"].format(version=_version()),
    }
    return _env().get_template("round_report.html.j2").render(**ctx)


def _band_cell(v: Any, bands: Mapping[str, float], f: Fmt) -> dict[str, Any]:
    s = f.num(v)
    band = band_of(v, bands)
    return _cell(s, "num" + (f" band-{band}" if band else " hidden"))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("relcoord")
    except PackageNotFoundError:
        return "dev"


# --------------------------------------------------------------------------- comparison report


def _sig(row: Mapping[str, Any]) -> bool:
    p = row.get("p_fdr")
    return p is not None and pd.notna(p) and float(p) < 0.05


def _model_term(model: pd.DataFrame | None, name: str, term: str) -> dict[str, float] | None:
    """``estimate, ci_low, ci_high`` of one term of one model (model.csv), or None."""
    if model is None or not len(model):
        return None
    r = model[(model["model"].astype(str) == name) & (model["term"].astype(str) == term)]
    if not len(r):
        return None
    return {c: float(pd.to_numeric(pd.Series([r.iloc[0].get(c)]), errors="coerce").iloc[0])
            for c in ("estimate", "ci_low", "ci_high")}


def comparison_findings(changes: pd.DataFrame, model: pd.DataFrame | None, *, lang: str, k: int,
                        label_a: str = "A", label_b: str = "B",
                        public_a: Mapping[str, pd.DataFrame] | None = None,
                        public_b: Mapping[str, pd.DataFrame] | None = None) -> list[Markup]:
    """Plain-language findings of a comparison, each from the sign and significance of its numbers
    (:mod:`relcoord.present`'s sentence functions; never causal); ``k``: privacy.min_group_size."""
    lang = _check_lang(lang)
    t = TEXT[lang]
    out: list[Markup] = []
    c = change_visibility(changes, k, public_a, public_b)
    org = c[(c["level"] == "organisation") & (c["measure"] == "rc")]
    if len(org) and bool(org["visible"].iloc[0]):
        r = org.iloc[0]
        out.append(s_change(r["diff"], r["p_fdr"], r["mean_a"], r["mean_b"], label_a, label_b, lang))
    else:
        out.append(s_change(None, None, None, None, label_a, label_b, lang))
    did = did_estimate(model)
    if did is not None:
        other = _model_term(model, str(did["model"]), "round") or {}
        out.append(s_network_effect(did["estimate"], did["ci_low"], did["ci_high"], other.get("estimate"),
                                    other.get("ci_low"), other.get("ci_high"), label_b, lang))
        sens = did_estimate(model, ("sensitivity_network_did",))
        if sens is not None:
            out.append(s_sensitivity(did["ci_low"], did["ci_high"], sens["estimate"], sens["ci_low"],
                                     sens["ci_high"], lang))
    tie = c[(c["level"] == "tie") & (c["measure"] == "rc") & c["visible"]]
    if len(tie):
        sig = tie[tie["p_fdr"] < 0.05]
        out.append(s_ties(len(tie), int((sig["diff"] > 0).sum()), int((sig["diff"] < 0).sum()), lang))
    blk = c[(c["level"] == "block") & (c["measure"] == "rc") & c["visible"]]
    if len(blk):
        out.append(s_blocks([(block_label(r.get("block") or "", lang), r["diff"], r["p_fdr"])
                             for r in blk.to_dict("records")], lang))
    if did is not None:
        out.append(Markup(t["f_c_did_caveat"]))
    out.append(Markup(t["f_c_anon"]))
    return out


def _change_row(r: Mapping[str, Any], label: str, f: Fmt, t: Mapping[str, str]) -> list[Any]:
    if not r["visible"]:
        def n_hidden(n: Any) -> str:          # a count is shown only as "< k"; a hidden cell's count not at all
            return f.count(n) if pd.notna(n) and float(n) < f.k else "–"
        return [label, "–", "–", "–", "–", "–", n_hidden(r["n_a"]) + " / " + n_hidden(r["n_b"]), "–"]
    sig = _sig(r)
    g = f.num(r["hedges_g"], sign=True) + " (" + f.ci(r["g_ci_low"], r["g_ci_high"]) + ")"
    return [label, f.num(r["mean_a"]), f.num(r["mean_b"]),
            _cell(f.num(r["diff"], sign=True), "num " + ("up" if sig and r["diff"] > 0 else "down" if sig else "")),
            g, f.p(r["p_fdr"]), f.count(r["n_a"]) + " / " + f.count(r["n_b"]),
            _cell(t["sig"] if sig else t["nsig"], "sig" if sig else "nsig")]


# --------------------------------------------------------------------------- comparison report, step by step
# Each step builds one part of the page from changes.csv (with the rounds' suppression: ``c``) or model.csv.


def _change_header(label_a: str, label_b: str, t: Mapping[str, str]) -> list[tuple[str, str]]:
    """Columns of every change table (the first, the row label, is named by each table): the rounds by their labels."""
    return [("", ""), (label_a, "num"), (label_b, "num"), (t["diff"], "num"),
            (t["g"], "num"), (t["p_fdr"], "num"), (t["n"], "num"), (t["verdict"], "")]


def _change_rows(d: pd.DataFrame, labeller: Callable[[Mapping[str, Any]], str], f: Fmt,
                 t: Mapping[str, str]) -> list[list[Any]]:
    return [_change_row(r, labeller(r), f, t) for r in d.to_dict("records")]


def _organisation_changes(c: pd.DataFrame, hdr: list[tuple[str, str]], instrument: Any, f: Fmt,
                          t: Mapping[str, str]) -> dict[str, Any]:
    """The whole organisation: RC index, subscales, then the items."""
    org = c[c["level"] == "organisation"]
    order = ["rc", "communication", "relationship"] + [m for m in org["measure"] if
                                                        m not in ("rc", "communication", "relationship")]
    org = org.set_index("measure").reindex([m for m in dict.fromkeys(order) if m in set(org["measure"])]).reset_index()
    return _table([(t["measure"], "")] + hdr[1:],
                  _change_rows(org, lambda r: measure_label(r["measure"], f.lang, instrument), f, t),
                  note=t["changes_note"].format(la=hdr[1][0], lb=hdr[2][0]))


def _block_changes(c: pd.DataFrame, hdr: list[tuple[str, str]], f: Fmt, t: Mapping[str, str]) -> dict[str, Any]:
    blk = c[(c["level"] == "block") & (c["measure"] == "rc")]
    return _table([(t["block"], "")] + hdr[1:],
                  _change_rows(blk, lambda r: block_label(r.get("block") or "", f.lang), f, t),
                  note=t["changes_note"].format(la=hdr[1][0], lb=hdr[2][0]))


def _unit_changes(c: pd.DataFrame, hdr: list[tuple[str, str]], units: pd.DataFrame, f: Fmt,
                  t: Mapping[str, str]) -> list[dict[str, Any]]:
    """One table per unit level (rating others, received, within), units in unit order."""
    names = unit_names(units)
    unit_tables = []
    for lvl in ("unit_between", "unit_received", "unit_within"):
        d = c[(c["level"] == lvl) & (c["measure"] == "rc")]
        if not len(d):
            continue
        pos = {u: i for i, u in enumerate(unit_order(units, set(d["rater_unit"]) | set(d["target_unit"])))}
        d = d.iloc[np.argsort([pos.get(a or b, 0) for a, b in zip(d["rater_unit"], d["target_unit"])],
                              kind="stable")]
        unit_tables.append(_table([(t["unit"], "")] + hdr[1:],
                                  _change_rows(d, lambda r: unit_label(r["rater_unit"] or r["target_unit"], names),
                                               f, t),
                                  caption=t[lvl]))
    return unit_tables


def _tie_changes(c: pd.DataFrame, hdr: list[tuple[str, str]], units: pd.DataFrame, top_ties: int, f: Fmt,
                 t: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ``top_ties`` visible ties with the largest |g|, every tie in unit order)."""
    tie = c[(c["level"] == "tie") & (c["measure"] == "rc")]
    tie_vis = tie[tie["visible"] & np.isfinite(tie["hedges_g"])]
    top = tie_vis.reindex(tie_vis["hedges_g"].abs().sort_values(ascending=False, kind="mergesort").index).head(top_ties)

    def tie_label(r):
        return f"{r['rater_unit']} → {r['target_unit']}"

    top_table = _table([(t["rater"] + " → " + t["target"], "")] + hdr[1:], _change_rows(top, tie_label, f, t),
                       caption=t["top_changes"].format(n=len(top)))
    pos = {u: i for i, u in enumerate(unit_order(units, set(tie["rater_unit"]) | set(tie["target_unit"])))}
    tie_sorted = tie.iloc[np.argsort([pos.get(a, 0) * 10000 + pos.get(b, 0) for a, b in
                                      zip(tie["rater_unit"], tie["target_unit"])], kind="stable")]
    all_table = _table([(t["rater"] + " → " + t["target"], "")] + hdr[1:], _change_rows(tie_sorted, tie_label, f, t))
    return top_table, all_table


#: model (model.csv) -> the term of interest shown in the model table
MODEL_TERMS: dict[str, str] = {
    "round": "round", "round_respondent": "round", "network_did": "round:shares_network",
    "network_did_respondent": "round:shares_network", "block_base_network": "round:to_network",
    "sensitivity_round": "round", "sensitivity_network_did": "round:shares_network"}


def _model_note(name: str, note: str, label_a: str, label_b: str, t: Mapping[str, str]) -> str:
    """What a model row means, in the report language, from the model's name and its note in model.csv
    (whose developer's English stays in model.csv)."""
    note = note or ""
    out = []
    if "not estimable" in note:
        out.append(t["mn_not_estimable"])
    if name.endswith("network_did") or name == "network_did_respondent":
        out.append(t["mn_shares"].format(lb=label_b))
        if "but not" in note:
            out.append(t["mn_joined"].format(la=label_a))
    if name == "block_base_network":
        out.append(t["mn_to_network"])
    if name.startswith("sensitivity"):
        out.append(t["mn_sensitivity"])
        left = re.search(r"left out: ([^;]+)", note)
        if left:
            out.append(t["mn_left_out"].format(units=left.group(1).strip()))
    if name.endswith("respondent"):
        out.append(t["mn_respondent_panel"] if "linked across" in note else t["mn_respondent_anonymous"])
    elif "no respondent" in note:
        out.append(t["mn_round"])
    if "warning:" in note:
        out.append(t["mn_warning"])
    return " ".join(out)


def _model_table(model: pd.DataFrame | None, label_a: str, label_b: str, f: Fmt,
                 t: Mapping[str, str]) -> dict[str, Any]:
    """The mixed models' terms of interest (model.csv): the model and the term in words (the term's name
    for analysts beside it), the estimate in points, and what the row means."""
    model_rows = []
    if model is not None and len(model):
        m = model
        for name, term in MODEL_TERMS.items():
            r = m[(m["model"].astype(str) == name) & (m["term"].astype(str) == term)]
            if not len(r):
                r = m[(m["model"].astype(str) == name)]
                if not len(r):
                    continue
            r = r.iloc[0]
            raw = str(r.get("term", ""))
            words = t.get("term_" + raw.replace(":", "_"))
            term_cell = Markup('{} <code class="rule">{}</code>').format(
                words.format(la=label_a, lb=label_b), raw) if words else Markup("<code>{}</code>").format(raw)
            est = f.num(r.get("estimate"), sign=True)
            ci, p = f.ci(r.get("ci_low"), r.get("ci_high")), f.p(r.get("p"))
            note = str(r.get("note", "")) if pd.notna(r.get("note")) else ""
            model_rows.append([t.get("m_" + name, name).format(la=label_a, lb=label_b), term_cell,
                               f.na if est == "–" else est, f.na if ci == "–" else ci, f.na if p == "–" else p,
                               fmt_int(r.get("n_obs"), f.lang),
                               _cell(_model_note(name, note, label_a, label_b, t), "note")])
    return _table([(t["model"], ""), (t["term"], ""), (t["estimate"], "num"), (t["ci"], "num"), (t["p"], "num"),
                   (t["n_obs"], "num"), (t["model_note"], "")], model_rows, note=t["model_table_note"])


def _response_table(summaries: Mapping[str, Mapping[str, Any]], round_labels: Mapping[str, str],
                    invited: Mapping[str, int | None], f: Fmt, t: Mapping[str, str]) -> dict[str, Any] | None:
    """Responses and validation of both rounds (their summary.json); None without summaries."""
    lang = f.lang
    resp_rows = []
    for rid, s in summaries.items():
        inv = invited.get(str(rid))
        a = s.get("answers") or {}
        cells = int(a.get("cells", 0)) or 1
        resp_rows.append([str(round_labels.get(str(rid)) or rid), fmt_int(s.get("records_in"), lang),
                          fmt_int(s.get("valid"), lang), fmt_int(s.get("quarantined"), lang),
                          fmt_int(s.get("warned"), lang), f.pct(int(a.get("dont_know", 0)) / cells, 1),
                          f.pct(int(a.get("blank", 0)) / cells, 1),
                          f.pct(int(s.get("valid", 0)) / inv) if inv else f.na])
    note = t["resp_note"] if any(not invited.get(str(rid)) for rid in summaries) else None
    return _table([(t["round"], ""), (t["records_in"], "num"), (t["valid"], "num"), (t["quarantined"], "num"),
                   (t["warned"], "num"), (t["dont_know_share"], "num"), (t["blank_share"], "num"),
                   (t["rate"], "num")], resp_rows, note=note) if resp_rows else None


def _comparison_kpis(c: pd.DataFrame, model: pd.DataFrame | None, f: Fmt,
                     t: Mapping[str, str]) -> list[tuple[str, str]]:
    """The headline numbers: change in the RC index, the network effect, visible ties."""
    org_rc = c[(c["level"] == "organisation") & (c["measure"] == "rc") & c["visible"]]
    kpis = []
    if len(org_rc):
        kpis.append((t["kpi_change"], f.num(org_rc["diff"].iloc[0], sign=True)))
    did = did_estimate(model)
    if did is not None:
        kpis.append((t["kpi_did"], f.num(did["estimate"], sign=True)))
    tie = c[(c["level"] == "tie") & (c["measure"] == "rc")]
    kpis.append((t["kpi_ties"], fmt_int(int(tie["visible"].sum()), f.lang)))
    return kpis


def _comparison_methods(changes: pd.DataFrame, f: Fmt, t: Mapping[str, str]) -> list[str]:
    """The methods paragraphs, with the interval method of Hedges' g."""
    gci = str(changes["g_ci_method"].dropna().iloc[0]) if "g_ci_method" in changes.columns and \
        changes["g_ci_method"].notna().any() else "analytic"
    reps = re.search(r"(\d+) resamples", gci)
    gci = t["gci_bootstrap"].format(n=fmt_int(reps.group(1), f.lang) if reps else "") if gci.startswith("bootstrap") \
        else t["gci_paired"] if "paired" in gci else t["gci_analytic"]
    return [t["methods_compare"].format(gci=gci), t["methods_model"], t["methods_privacy"].format(k=f.k),
            t["methods_nocause"]]


def comparison_report(comparison_id: str, label_a: str, label_b: str, changes: pd.DataFrame,
                      model: pd.DataFrame | None, figures: Mapping[str, Any] | None, units: pd.DataFrame,
                      instrument: Any, provenance: Mapping[str, Any] | None = None, *,
                      lang: str, k: int, bands: Mapping[str, float], title: str,
                      round_labels: Mapping[str, str], invited: Mapping[str, int | None],
                      summaries: Mapping[str, Mapping[str, Any]] | None = None,
                      public_a: Mapping[str, pd.DataFrame] | None = None,
                      public_b: Mapping[str, pd.DataFrame] | None = None, top_ties: int = 20,
                      invariance: pd.DataFrame | None = None) -> str:
    """The comparison's report.html as a string.

    ``changes``/``model``: results/comparisons/A_vs_B/changes.csv and
    model.csv; ``figures``: stem -> PNG (stems
    :data:`relcoord.figures.COMPARISON_FIGURES`); ``summaries``: the rounds'
    validation summary.json keyed by round id (``round_labels`` and
    ``invited``, keyed by round id as well) for the response table and the export files;
    ``public_a`` / ``public_b``: the rounds' reader-facing tables (dicts with
    ``ties, units, blocks, organisation``): a cell hidden in either round is
    then shown "–" here too (:func:`relcoord.figures.change_visibility`);
    pass them, since changes.csv carries only primary suppression. Settings:
    ``lang`` (report.language), ``k`` (privacy.min_group_size), ``bands``
    (scoring.bands), ``title`` (report.title); ``invariance``: the comparison's invariance.csv
    (relcoord.cfa): a finding says whether the rounds' answers measure the same thing."""
    lang, title = _check_lang(lang), _title(title, lang)
    t = TEXT[lang]
    f = Fmt(lang, k)
    c = change_visibility(changes, k, public_a, public_b)
    findings = comparison_findings(changes, model, lang=lang, k=k, label_a=label_a, label_b=label_b,
                                   public_a=public_a, public_b=public_b)
    if invariance is not None:
        findings.insert(1, s_invariance(invariance_case(invariance), lang))
    hdr = _change_header(label_a, label_b, t)
    top_table, all_table = _tie_changes(c, hdr, units, top_ties, f, t)
    summaries = dict(summaries or {})
    ctx = {
        "lang": lang, "t": t, "title": title, "subtitle": f"{t['comparison_report']}: {label_a} → {label_b}",
        "doc_title": f"{title} – {label_a} → {label_b}", "kind": "comparison", "sections": COMPARISON_SECTIONS,
        "how_to_read": t["how_to_read"].format(weak=fmt_num(bands["weak_below"], lang, 1),
                                               strong=fmt_num(bands["strong_above"], lang, 1)),
        "kpis": _comparison_kpis(c, model, f, t), "findings": findings,
        "figures": _figures_ctx(figures, COMPARISON_FIGURES, captions(lang, k, bands), t),
        "resp_table": _response_table(summaries, round_labels, invited, f, t),
        "org_table": _organisation_changes(c, hdr, instrument, f, t), "blocks_table": _block_changes(c, hdr, f, t),
        "unit_tables": _unit_changes(c, hdr, units, f, t), "top_table": top_table, "all_table": all_table,
        "model_intro": t["model_intro"], "model_table": _model_table(model, label_a, label_b, f, t),
        "methods": _comparison_methods(changes, f, t), "glossary": _glossary(COMPARISON_GLOSSARY, lang, k, bands),
        "links": [],
        "provenance": _provenance_ctx(provenance, list(summaries.values()), f, t),
        "hidden_note": t["hidden_note"].format(k=k), "footer": t["footer"].format(version=_version()),
        "comparison_id": comparison_id,
    }
    return _env().get_template("comparison_report.html.j2").render(**ctx)


# --------------------------------------------------------------------------- index


def _entries(items: Iterable[Any], lang: str, root: Path | None, kind: str) -> list[dict[str, str]]:
    """Index entries: ``id, label, href`` (default ``<id>/report.html``), the date in the language's way
    and, for rounds, the links to the validation report and to the unit pages (when they exist under
    ``root``; without ``root`` the validation report is assumed next to the report, unit pages only
    when the entry names them)."""
    out = []
    for it in items or []:
        if isinstance(it, Mapping):
            d = {k_: str(v) for k_, v in it.items() if v is not None}
        else:
            it = list(it)
            d = {"id": str(it[0]), "label": str(it[1] if len(it) > 1 else it[0]),
                 "href": str(it[2] if len(it) > 2 else it[0])}
        d.setdefault("label", d.get("id", ""))
        d.setdefault("href", f"{d.get('id', '')}/report.html")
        if d.get("date"):
            d["date_text"] = fmt_date(d["date"], lang)
        if kind == "round":
            folder = d["href"].rsplit("/", 1)[0] if "/" in d["href"] else "."
            for key, rel in (("validation_href", "validation/report.html"), ("units_href", "units/index.html")):
                if key in d:
                    continue
                href = f"{folder}/{rel}"
                if root is not None and (Path(root) / href).is_file() or root is None and key == "validation_href":
                    d[key] = href
        out.append(d)
    return out


def index_page(rounds: Iterable[Any], comparisons: Iterable[Any], *, lang: str,
               title: str | None = None, provenance_href: str | None = None,
               failed: Iterable[Mapping[str, str]] = (), root: str | Path | None = None,
               trends_href: str | None = None) -> str:
    """results/index.html linking every round and comparison report, in the report language.

    ``rounds`` / ``comparisons``: dicts ``{"id", "label", "href"}`` (``href``
    relative to results/, default ``<id>/report.html``; optional ``date``
    (ISO, shown the language's way), ``validation_href``, ``units_href``) or
    tuples ``(id, label, href)``; ``root``: the results folder, where each
    round's validation report (``<id>/validation/report.html``) and unit
    pages (``<id>/units/index.html``) are linked when they exist;
    ``provenance_href``: link to the run's provenance record
    (results/provenance.json), if any, offered under "for analysts";
    ``failed``: rounds and comparisons whose run stopped (``{"label", "step",
    "log", "stopped"}``; ``stopped`` false: not run because the run stopped
    earlier), listed without a link; ``trends_href``: the trend report over three or more rounds
    (results/trends/report.html), when the run made one."""
    if lang not in TEXT:
        raise ValueError(f"language must be one of {sorted(TEXT)}, got {lang!r}")
    t = TEXT[lang]
    root = Path(root) if root is not None else None
    title = _title(title or "", lang)
    ctx = {"lang": lang, "t": t, "title": title, "doc_title": title,
           "rounds": _entries(rounds, lang, root, "round"),
           "comparisons": _entries(comparisons, lang, root, "comparison"),
           "provenance_href": provenance_href, "trends_href": trends_href,
           "failed": [t["failed" if f.get("stopped", True) else "failed_not_run"].format(
               label=f["label"], step=t.get(f"step_{f['step']}", f["step"]), log=f.get("log", "")) for f in failed],
           "footer": t["index_footer"].format(version=_version())}
    return _env().get_template("index.html.j2").render(**ctx)
