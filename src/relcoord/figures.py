"""Figures for round and comparison reports (matplotlib; seaborn for the item distributions; networkx layouts).

Every figure function takes **reader-facing** (already suppressed) tables, returns a
:class:`matplotlib.figure.Figure` built without pyplot (no global state, nothing to
close) and never shows a statistic from fewer than ``min_group_size`` respondents:
a row flagged ``suppressed``, or with a count below k, is drawn hatched and empty
(matrix) or not at all (map, forest, dumbbell), whatever value it still carries.

Round figures (stems in :data:`ROUND_FIGURES`): :func:`rc_matrix`, :func:`rc_map`,
:func:`dimension_profile`, :func:`item_distributions`, :func:`response_overview`.
Comparison figures (:data:`COMPARISON_FIGURES`): :func:`forest_changes`,
:func:`tie_dumbbell`, :func:`network_effect`. :func:`round_figures` and
:func:`comparison_figures` draw and save a whole set; :func:`save_figure` writes
``stem.png`` and ``stem.svg`` byte-identically on every run; :func:`captions`
gives the one-line caption of every figure in Danish or English.

Colours: strength bands use a blue/orange/grey scale that survives the common
colour-vision deficiencies (Okabe & Ito 2008 hues) and is always doubled by a
number, a line width or a legend; a number's band is decided on the number as
printed (:func:`band_of`: 3.49944 prints "3,50" and is moderate), so a colour
never contradicts its label; each unit keeps one colour in every figure
(:func:`unit_colours`, derived from the unit register only).

Cells without a number have two different marks (:data:`CELL_MARKS`), each in
the figure's legend when it is used: *hidden* (privacy; hatched, dotted when
hidden to protect another small group) and *no data* (not asked or nobody rated:
blank with a light frame).

Unit names too long for a label are cut with "…" and then listed in full in a
key below the figure (same image); in the SVG every unit label, chip, node,
bar and cell carries the full names as a ``<title>`` (hover text).
"""

from __future__ import annotations

import html
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .figure_names import COMPARISON_FIGURES, ROUND_FIGURES  # the stems, importable without matplotlib
from .lazy import lazy_module
from .locales import group, languages, text
from .present import fmt_int, fmt_num, fmt_pct, fmt_tick, unit_order  # noqa: F401  (re-exported)
from .present import unit_groups as _groups
from .present import unit_kinds as _kinds
from .present import unit_names as _names
from .privacy import summary_for_readers  # noqa: F401  (re-exported)
from .publish import _as_bool, change_visibility, visible_rows  # noqa: F401  (re-exported)

#: Heavy drawing libraries imported on first use, deliberately: seaborn here (through
#: :func:`relcoord.lazy.lazy_module`; it draws :func:`item_distributions`), networkx and
#: scipy.stats inside the functions that need them (:func:`rc_map`, :func:`_mean_ci`).
sns = lazy_module("seaborn")

__all__ = [
    "ROUND_FIGURES",
    "COMPARISON_FIGURES",
    "FIG_TEXT",
    "CAPTIONS",
    "BAND_COLOURS",
    "BAND_FILLS",
    "captions",
    "write_captions",
    "unit_colours",
    "unit_order",
    "fmt_num",
    "fmt_int",
    "band_of",
    "printed_value",
    "VALUE_DIGITS",
    "save_figure",
    "rc_matrix",
    "rc_map",
    "dimension_profile",
    "item_distributions",
    "response_overview",
    "forest_changes",
    "tie_dumbbell",
    "network_effect",
    "round_figures",
    "comparison_figures",
    "visible_rows",
    "change_visibility",
    "did_estimate",
    "block_label",
    "measure_label",
    "group_sizes",
    "figure_files",
]

DPI = 150

# --------------------------------------------------------------------------- colours

#: band -> line colour (Okabe-Ito vermillion / grey / blue)
BAND_COLOURS = {"weak": "#D55E00", "moderate": "#8A8A8A", "strong": "#0072B2"}
#: band -> cell fill (light tints of the same hues, dark text stays readable; print-safe)
BAND_FILLS = {"weak": "#F7C9A9", "moderate": "#EDEDED", "strong": "#AFD3EE"}
HIDDEN_FILL, HIDDEN_HATCH = "#FFFFFF", "#9A9A9A"
#: hatch of a cell hidden to protect another, small group (secondary/complementary suppression), not itself small
PROTECT_HATCH = "...."
_PROTECT_REASONS = ("secondary", "complementary")
#: area hues for base units (Paul Tol's "muted" scheme minus its purples, which mark networks)
AREA_HUES = ("#88CCEE", "#DDCC77", "#44AA99", "#CC6677", "#999933", "#117733", "#332288", "#882255")
NETWORK_HUE = "#AA4499"
UNKNOWN_COLOUR = "#BBBBBB"
#: Likert scores 1..5 (orange -> grey -> blue, colour-blind safe), don't know, blank
LIKERT_COLOURS = ("#B35806", "#F1A340", "#D9D9D9", "#92C5DE", "#2166AC")
DONT_KNOW_COLOUR = "#707070"
CHANGE_COLOURS = {"up": "#0072B2", "down": "#D55E00", "ns": "#6E6E6E"}
SHARED_COLOUR, OTHER_COLOUR = "#0072B2", "#7A7A7A"

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "relcoord",
    "svg.fonttype": "path",
    "figure.dpi": 100,
    "hatch.linewidth": 0.6,
    "figure.constrained_layout.use": True,
}

# --------------------------------------------------------------------------- text

#: lang -> figure titles, axes and legends; lang -> block names (catalogues: relcoord/locales/<lang>.yaml)
FIG_TEXT: dict[str, Mapping[str, str]] = group("figures")
BLOCK_LABELS: dict[str, Mapping[str, str]] = group("blocks")
#: figure -> caption template per language; fields {k}, {weak}, {strong}
CAPTIONS: dict[str, dict[str, str]] = {
    stem: {lang: group("captions")[lang][stem] for lang in languages()} for stem in group("captions")[languages()[0]]
}


def _text(lang: str) -> dict[str, str]:
    if lang not in FIG_TEXT:
        raise ValueError(f"language must be one of {sorted(FIG_TEXT)}, got {lang!r}")
    return FIG_TEXT[lang]


def captions(lang: str, min_group_size: int, bands: Mapping[str, float]) -> dict[str, str]:
    """Figure stem -> one-line caption in ``lang`` (da | en), thresholds filled in."""
    _text(lang)
    b = bands
    fields = {
        "k": int(min_group_size),
        "weak": fmt_num(b["weak_below"], lang, 1),
        "strong": fmt_num(b["strong_above"], lang, 1),
    }
    return {name: tpl.format(**fields) for name, tpl in text(lang)["captions"].items()}


def write_captions(
    out_dir: str | Path, lang: str, min_group_size: int, bands: Mapping[str, float], names: Iterable[str] | None = None
) -> dict[str, Path]:
    """Write ``<out_dir>/<stem>.rst`` caption files (for Snakemake ``report(caption=...)``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    caps = captions(lang, min_group_size, bands)
    paths = {}
    for name in names or caps:
        p = out / f"{name}.rst"
        p.write_text(caps[name] + "\n", encoding="utf-8")
        paths[name] = p
    return paths


# --------------------------------------------------------------------------- formatting


def _formatter(lang: str, digits: int = 1) -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: fmt_tick(v, lang, digits))


# --------------------------------------------------------------------------- units and bands


def _mix(colour: str, other: str, t: float) -> str:
    a, b = np.array(mpl.colors.to_rgb(colour)), np.array(mpl.colors.to_rgb(other))
    return mpl.colors.to_hex((1 - t) * a + t * b)


#: shade steps within a group (negative: towards black, positive: towards white); the j-th unit
#: of a group always gets step j, so adding a unit at the end of an area changes no other colour
_SHADE_STEPS = (0.0, 0.45, -0.35, 0.7, -0.55, 0.25, -0.18, 0.58, 0.12, -0.45)


def _shades(hue: str, m: int) -> list[str]:
    """m shades of one hue, the j-th fixed whatever m is (deterministic)."""
    out = []
    for j in range(m):
        t = _SHADE_STEPS[j % len(_SHADE_STEPS)] * (0.85 ** (j // len(_SHADE_STEPS)))
        out.append(_mix(hue, "#000000", -t) if t < 0 else _mix(hue, "#FFFFFF", t))
    return out


def unit_colours(units: pd.DataFrame | Sequence[str]) -> dict[str, str]:
    """unit_id -> hex colour, the same in every figure and round.

    Depends only on the unit register (its order, kinds and areas): base units
    take a shade of their area's hue, networks shades of purple (a hue no base
    unit gets), so colour also tells the kind apart. Pass the *full* register
    (``relcoord.registry.load_units``) to every figure, not a round's subset,
    so colours stay the same across rounds. A plain list of ids is treated as
    base units without areas.
    """
    out: dict[str, str] = {}
    area_i = 0
    for kind, _, ids in _groups(units):
        if kind == "network":
            hue = NETWORK_HUE
        else:
            hue = AREA_HUES[area_i % len(AREA_HUES)]
            if area_i >= len(AREA_HUES):  # more areas than hues: shift lightness
                hue = _mix(hue, "#FFFFFF", 0.25)
            area_i += 1
        for uid, c in zip(ids, _shades(hue, len(ids))):
            out[uid] = c
    return out


def _bands(bands: Mapping[str, float]) -> dict[str, float]:
    """``scoring.bands`` (required: its defaults live in the config schema only)."""
    return {"weak_below": bands["weak_below"], "strong_above": bands["strong_above"]}


#: decimals of every score printed in a figure (and in the reports' tables)
VALUE_DIGITS = 2


def printed_value(value: Any, digits: int | None = VALUE_DIGITS) -> float | None:
    """``value`` as a reader sees it: rounded to ``digits`` exactly as :func:`fmt_num`
    prints it (same string formatting, so 3.49944 -> 3.50 and 4.005 -> 4.00, the binary
    4.00499...); None when it is missing or not finite. ``digits=None``: unrounded."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    return v if digits is None else float(f"{v:.{int(digits)}f}")


def band_of(value: float, bands: Mapping[str, float], digits: int | None = VALUE_DIGITS) -> str | None:
    """weak < weak_below <= moderate <= strong_above < strong, decided on the value
    **as printed** (:func:`printed_value`, ``digits`` decimals), so a colour never
    contradicts the number next to it: 3.49944 prints "3,50" and is moderate.
    ``digits=None`` compares the unrounded value (as ``relcoord.scores`` does)."""
    b = _bands(bands)
    v = printed_value(value, digits)
    if v is None:
        return None
    return "weak" if v < b["weak_below"] else ("strong" if v > b["strong_above"] else "moderate")


def group_sizes(
    units: pd.DataFrame | None = None,
    summary: Mapping[str, Any] | None = None,
    unit_table: pd.DataFrame | None = None,
    *,
    min_group_size: int,
) -> dict[str, int | None]:
    """Respondents per unit for display: base units from the validation summary
    (``respondents_per_unit``), networks from the reader-facing units table
    (``between_n``: members who rated from the network). ``None`` = fewer than k,
    or hidden by secondary suppression (never shown as a number; see
    :func:`relcoord.privacy.summary_for_readers`)."""
    out: dict[str, int | None] = {}
    per = summary_for_readers(summary or {}, min_group_size)["respondents_per_unit"]
    for uid in unit_order(units, None) if units is not None else per:
        out[uid] = None
    for uid, n in per.items():
        out[str(uid)] = int(n) if n is not None and n >= min_group_size else None
    if unit_table is not None and "unit_id" in unit_table.columns:
        kinds = dict(
            zip(unit_table["unit_id"].astype(str), unit_table.get("kind", pd.Series("base", index=unit_table.index)))
        )
        for col in ("between_n", "within_n"):
            if col not in unit_table.columns:
                continue
            for uid, n in zip(unit_table["unit_id"].astype(str),
                              pd.to_numeric(unit_table[col], errors="coerce").astype(float)):
                if kinds.get(uid) == "network" and out.get(uid) is None and np.isfinite(n) and n >= min_group_size:
                    out[uid] = int(n)
    return out


def hidden_count_reasons(summary: Mapping[str, Any] | None, min_group_size: int) -> dict[str, str]:
    """Unit -> why ``summary.json`` hides its respondent count: ``primary``
    (fewer than k) or ``secondary`` (hidden to protect a small unit; not small
    itself). :func:`relcoord.privacy.summary_for_readers`."""
    return {
        str(u): str(r)
        for u, r in summary_for_readers(summary or {}, min_group_size)["respondents_per_unit_hidden"].items()
    }


def block_label(block: str, lang: str) -> str:
    return BLOCK_LABELS[lang].get(str(block), str(block))


def measure_label(measure: str, lang: str, instrument: Any = None) -> str:
    t = _text(lang)
    if measure == "rc":
        return t["rc_index"]
    if measure in ("communication", "relationship"):
        return t[measure]
    if instrument is not None:
        try:
            return instrument.item(measure).label(lang)
        except KeyError:
            pass
    return str(measure).replace("_", " ").capitalize()


def _short(s: str, width: int = 30) -> str:
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def _wrap(s: str, width: int) -> str:
    return "\n".join(textwrap.wrap(s, max(width, 4), break_long_words=False)) or s


# --------------------------------------------------------------------------- full names: hover titles and key


def _root(fig) -> Figure:
    return fig.get_figure(root=True) if hasattr(fig, "get_figure") else fig


def _hover(fig, artist, gid: str, title: str) -> None:
    """Give ``artist`` the SVG id ``gid`` and, in the SVG :func:`save_figure` writes,
    a ``<title>`` (the tooltip a browser shows on hover) ``title``."""
    artist.set_gid(gid)
    root = _root(fig)
    titles = getattr(root, "_relcoord_titles", None)
    if titles is None:
        titles = root._relcoord_titles = {}
    titles[gid] = str(title)


def _full(uid: str, names: Mapping[str, str]) -> str:
    """"Full name (ID)", or the bare id when the unit has no other name."""
    name = str(names.get(uid, uid))
    return f"{name} ({uid})" if name != uid else str(uid)


def _tie_title(r: str, c: str, names: Mapping[str, str], what: str) -> str:
    return f"{_full(r, names)} → {_full(c, names)}: {what}"


def _hover_ticks(fig, labels, uids: Sequence[str], names: Mapping[str, str], prefix: str) -> None:
    for lab, u in zip(labels, uids):
        _hover(fig, lab, f"{prefix}:{u}", _full(u, names))


def _cut(names: Mapping[str, str], uids: Iterable[str], width: int) -> dict[str, str]:
    """uid -> full name of the units :func:`_short` cuts at ``width``."""
    return {u: str(names.get(u, u)) for u in uids if len(str(names.get(u, u))) > width}


_KEY_FONT = 8.0  # points
_KEY_LINE = _KEY_FONT * 1.5 / 72  # inches per key line
_CHAR_IN = _KEY_FONT * 0.62 / 72  # a generous mean glyph width (DejaVu Sans), inches


def _with_name_key(fig: Figure, cut: Mapping[str, str], order: Sequence[str], lang: str):
    """The area to draw a figure in: ``fig`` itself, or, when some unit names are cut
    (``cut``: uid -> full name), the upper part of ``fig`` with a key below it (in the
    same image) giving every cut name in full, "ID  full name", in register ``order``
    and in as many columns as fit. The figure grows by the key's height."""
    if not cut:
        return fig
    ids = [u for u in order if u in cut] + sorted(u for u in cut if u not in order)
    width, height = fig.get_figwidth(), fig.get_figheight()
    id_w = (max(len(u) for u in ids) + 2) * _CHAR_IN * 1.1  # ids bold
    col_w = id_w + max(len(cut[u]) for u in ids) * _CHAR_IN + 0.3
    ncol = max(1, min(3, len(ids), int((width - 0.2) // col_w)))
    nrow = math.ceil(len(ids) / ncol)
    key_h = (nrow + 1.5) * _KEY_LINE + 0.12
    fig.set_figheight(height + key_h)
    main, key = fig.subfigures(2, 1, height_ratios=[height, key_h])
    t_ = _text(lang)
    top = 1.0 - 0.06 / key_h
    key.text(0.1 / width, top, t_["name_key"], ha="left", va="top", fontsize=_KEY_FONT,
             fontweight="bold", color="#333333")
    step_w = (width - 0.2) / ncol
    for i, u in enumerate(ids):
        col, row = divmod(i, nrow)
        x = (0.1 + col * step_w) / width
        y = top - (row + 1.25) * _KEY_LINE / key_h
        key.text(x, y, u, ha="left", va="top", fontsize=_KEY_FONT, fontweight="bold", color="#222222")
        txt = key.text(x + id_w / width, y, cut[u], ha="left", va="top", fontsize=_KEY_FONT, color="#222222")
        _hover(fig, txt, f"name-key:{u}", _full(u, {u: cut[u]}))
    return main


# --------------------------------------------------------------------------- saving


def _styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw under the package style (fonts, hash salt, constrained layout)."""

    def wrapper(*args, **kwargs):
        with mpl.rc_context(STYLE):
            return fn(*args, **kwargs)

    wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = fn.__name__, fn.__doc__, fn
    return wrapper


def save_figure(fig: Figure, stem: str | Path, dpi: int = DPI) -> tuple[Path, Path]:
    """Write ``stem.png`` (``dpi``) and ``stem.svg``, byte-identical on every run:
    no dates or software tags in the metadata, a fixed SVG hash salt, glyphs as paths;
    the SVG's labelled elements get their ``<title>`` (full unit names, on hover)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    with mpl.rc_context({"svg.hashsalt": "relcoord", "svg.fonttype": "path", "path.simplify": True}):
        _freeze_layout(fig, dpi)  # solve the layout once, at the PNG's dpi, for both files
        fig.savefig(png, dpi=dpi, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    _add_svg_titles(svg, getattr(fig, "_relcoord_titles", None) or {})
    return png, svg


#: decimals (figure fractions) kept of a solved layout
_LAYOUT_DECIMALS = 9


def _freeze_layout(fig: Figure, dpi: float) -> None:
    """Run the figure's constrained layout once at ``dpi``, round every axes and
    subfigure position to :data:`_LAYOUT_DECIMALS` and switch the layout off. The
    solver (kiwisolver) can differ from run to run in the last bits (~1e-16) when
    subfigures are nested, which is invisible but changes the SVG's clip-path ids
    (hashes of the exact coordinates); rounded, both files are the same on every run."""
    from matplotlib import cbook
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from matplotlib.transforms import Bbox

    if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return
    with cbook._setattr_cm(fig, dpi=dpi):
        fig.draw_without_rendering()
    stack = list(fig.subfigs)
    while stack:
        sf = stack.pop()
        sf.bbox_relative.set_points(np.round(sf.bbox_relative.get_points(), _LAYOUT_DECIMALS))
        stack.extend(sf.subfigs)
    for ax in fig.get_axes():
        pos = ax.get_position(original=True).get_points()
        ax.set_position(Bbox(np.round(pos, _LAYOUT_DECIMALS)), which="both")
    fig.set_layout_engine("none")


_SVG_GROUP = re.compile(r'<g id="([^"]*)">')


def _add_svg_titles(svg: Path, titles: Mapping[str, str]) -> None:
    """Insert ``<title>`` (hover text) as first child of every ``<g id=...>`` whose id
    has a title (:func:`_hover`); same input, same bytes."""
    if not titles:
        return
    text = svg.read_text(encoding="utf-8")

    def add(m: re.Match) -> str:
        title = titles.get(html.unescape(m.group(1)))
        if title is None:
            return m.group(0)
        return f"{m.group(0)}<title>{html.escape(title, quote=False)}</title>"

    svg.write_text(_SVG_GROUP.sub(add, text), encoding="utf-8", newline="\n")


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A Figure with its own Agg canvas (no pyplot, no global state; ``fig.canvas.draw()`` works)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _empty(ax, lang: str) -> None:
    ax.text(0.5, 0.5, _text(lang)["no_rows"], ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def _title(fig: Figure, title: str, subtitle: str | None = None, ax=None) -> None:
    """Bold figure title, left-aligned; the subtitle (plain) above ``ax`` when given."""
    fig.suptitle(title + (f"\n{subtitle}" if subtitle and ax is None else ""), x=0.01, ha="left")
    if subtitle and ax is not None:
        ax.set_title(subtitle, loc="left", fontsize=9, color="#333333")


def _band_handles(lang: str, bands: Mapping[str, float], k: int, fills: bool = True, hidden: bool = False) -> list:
    """Legend entries of the three bands (cell fills or line colours); ``hidden``: also
    the hatched "hidden" mark (prefer :func:`_mark_handles`, which adds only the marks used)."""
    t = _text(lang)
    b = {"weak": fmt_num(bands["weak_below"], lang, 1), "strong": fmt_num(bands["strong_above"], lang, 1)}
    hs = []
    for band in ("weak", "moderate", "strong"):
        lab = t[f"band_{band}"].format(**b)
        if fills:
            hs.append(Patch(facecolor=BAND_FILLS[band], edgecolor="#666666", linewidth=0.5, label=lab))
        else:
            hs.append(Line2D([], [], color=BAND_COLOURS[band], lw=_BAND_LW[band], label=lab))
    return hs + (_mark_handles(lang, k, {"hidden"}) if hidden else [])


#: the marks of a cell without a number: hidden by privacy (hatched), hidden to protect
#: a small group (dotted), no data at all: not asked or nobody answered (blank, light frame)
CELL_MARKS: tuple[str, ...] = ("hidden", "protect", "no_data")
NO_DATA_FILL, NO_DATA_EDGE = "#FFFFFF", "#C8C8C8"


def _mark_patch(mark: str, **kw) -> dict[str, Any]:
    if mark == "no_data":
        return dict(facecolor=NO_DATA_FILL, edgecolor=NO_DATA_EDGE, linewidth=0.6, **kw)
    return dict(
        facecolor=HIDDEN_FILL, hatch=PROTECT_HATCH if mark == "protect" else "////", hatchcolor=HIDDEN_HATCH, **kw
    )


def _mark_handles(lang: str, k: int, used: Iterable[str]) -> list:
    """Legend entries of the cell marks in ``used`` (a subset of :data:`CELL_MARKS`), in that order."""
    t = _text(lang)
    labels = {"hidden": t["hidden"].format(k=k), "protect": t["hidden_protect"], "no_data": t["no_data"]}
    used = set(used)
    out = []
    for m in CELL_MARKS:
        if m in used:
            kw = _mark_patch(m, label=labels[m])
            if m != "no_data":
                kw.update(edgecolor="#666666", linewidth=0.5)
            out.append(Patch(**kw))
    return out


_BAND_LW = {"weak": 1.5, "moderate": 0.6, "strong": 1.5}


# --------------------------------------------------------------------------- round: matrix


def _tie_frame(ties: pd.DataFrame, k: int) -> pd.DataFrame:
    t = ties.copy()
    t["rater_unit"] = t["rater_unit"].astype(str)
    t["target_unit"] = t["target_unit"].astype(str)
    t["rc_mean"] = pd.to_numeric(t["rc_mean"], errors="coerce")
    t["visible"] = visible_rows(t, k, value_cols=("rc_mean",))
    return t


_MATRIX_NAME_W = 28  # characters of a unit name in the matrix's row labels


def _tie_marks(t: pd.DataFrame, k: int) -> dict[tuple[str, str], str | None]:
    """(rater, target) -> None for a tie shown with its value, else its mark
    (:data:`CELL_MARKS`): ``hidden`` when flagged ``suppressed`` or without a count
    of at least k (whatever value it still carries), ``protect`` when hidden to
    protect another group (``suppression`` secondary/complementary), ``no_data``
    when visible by its flag and count but without a value (no RC defined)."""
    flag = _as_bool(t["suppressed"].fillna(True)) if "suppressed" in t.columns else pd.Series(False, index=t.index)
    why = t["suppression"].fillna("").astype(str) if "suppression" in t.columns else pd.Series("", index=t.index)
    n = pd.to_numeric(t["n"], errors="coerce") if "n" in t.columns else pd.Series(np.inf, index=t.index)
    counted = n >= k
    out: dict[tuple[str, str], str | None] = {}
    for r, c, vis, f, w, ok in zip(t["rater_unit"], t["target_unit"], t["visible"], flag, why, counted):
        if vis:
            out[(r, c)] = None
        elif w in _PROTECT_REASONS:
            out[(r, c)] = "protect"
        elif f or not ok:
            out[(r, c)] = "hidden"
        else:
            out[(r, c)] = "no_data"
    return out


def _cell_grid(ax, n_rows: int, n_cols: int) -> None:
    ax.set_xlim(-1.0, n_cols)
    ax.set_ylim(n_rows, -1.0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.tick_params(length=0)


def _draw_cell(
    ax,
    r: int,
    c: int,
    value: float | None,
    mark: str | None,
    bands,
    lang: str,
    fontsize: float,
    gid: str,
    title: str,
    k: int | None,
) -> str:
    """One cell at row ``r``, column ``c``: ``value`` printed on its band fill when
    ``mark`` is None, else the mark (:data:`CELL_MARKS`) and no text at all. The band
    follows the printed value (:func:`band_of`). ``title``: hover text in the SVG
    (the cell's state is appended). Returns the mark drawn ("value" for a number)."""
    fig = ax.figure
    t_ = _text(lang)
    if mark is None and band_of(value, bands) is None:
        mark = "no_data"
    if mark == "no_data":
        p = ax.add_patch(Rectangle((c + 0.04, r + 0.04), 0.92, 0.92, **_mark_patch("no_data")))
        if title:
            _hover(fig, p, f"nodata:{gid}", f"{title}: {t_['no_data']}")
        else:
            p.set_gid(f"nodata:{gid}")
        return mark
    if mark in ("hidden", "protect"):
        p = ax.add_patch(Rectangle((c, r), 1, 1, **_mark_patch(mark, edgecolor="#FFFFFF", linewidth=1.0)))
        what = t_["hidden_protect"] if mark == "protect" else t_["hidden"].format(k=k)
        if title:
            _hover(fig, p, f"hidden:{gid}", f"{title}: {what}")
        else:
            p.set_gid(f"hidden:{gid}")
        return mark
    band = band_of(value, bands)  # the band of the printed number, never of the unrounded one
    p = ax.add_patch(Rectangle((c, r), 1, 1, facecolor=BAND_FILLS[band], edgecolor="#FFFFFF", linewidth=1.0))
    label = fmt_num(value, lang, VALUE_DIGITS)
    txt = ax.text(c + 0.5, r + 0.5, label, ha="center", va="center", fontsize=fontsize, color="#111111")
    if title:
        _hover(fig, p, f"cell:{gid}", f"{title}: {label}")
        _hover(fig, txt, f"value:{gid}", f"{title}: {label}")
    else:
        p.set_gid(f"cell:{gid}")
        txt.set_gid(f"value:{gid}")
    return "value"


def _group_spans(order: Sequence[str], units) -> list[tuple[str, str, int, int]]:
    """(kind, label, start, stop) runs of ``order`` by register group."""
    group_of = {}
    for kind, label, ids in _groups(units):
        for uid in ids:
            group_of[uid] = (kind, label)
    spans: list[tuple[str, str, int, int]] = []
    for i, uid in enumerate(order):
        g = group_of.get(uid, ("base", ""))
        if spans and (spans[-1][0], spans[-1][1]) == g:
            spans[-1] = (g[0], g[1], spans[-1][2], i + 1)
        else:
            spans.append((g[0], g[1], i, i + 1))
    return spans


def _chip(ax, x: float, y: float, colour: str, gid: str, network: bool) -> Rectangle:
    return ax.add_patch(
        Rectangle(
            (x + 0.2, y + 0.2),
            0.6,
            0.6,
            facecolor=colour,
            edgecolor="#333333",
            linewidth=0.8 if network else 0.4,
            gid=gid,
            clip_on=False,
        )
    )


@_styled
def rc_matrix(
    ties: pd.DataFrame,
    units: pd.DataFrame,
    *,
    lang: str,
    min_group_size: int,
    bands: Mapping[str, float],
    round_label: str | None = None,
) -> Figure:
    """Directed RC matrix: rows = rater group, columns = target, ``rc_mean``
    annotated (2 decimals) on a cell coloured by the band of the printed value;
    suppressed ties hatched and empty (dotted when hidden to protect a small
    group), pairs absent from ties.csv (not asked, e.g. the diagonal) blank with
    a light frame, each mark in the legend when used; units ordered base by
    area, then networks, with area separators and labels; the diagonal
    (within-group RC) outlined; unit colour chips. Row names longer than 28
    characters are cut with "…" and given in full in a key below the matrix;
    in the SVG every cell, chip and label has the full names as hover title."""
    t_ = _text(lang)
    k, b = int(min_group_size), _bands(bands)
    t = _tie_frame(ties, k)
    order = unit_order(units, set(t["rater_unit"]) | set(t["target_unit"]))
    rows = [u for u in order if u in set(t["rater_unit"])]
    cols = [u for u in order if u in set(t["target_unit"])]
    names, kinds, colours = _names(units), _kinds(units), unit_colours(units)
    cell = 0.42
    fig = _new_figure(figsize=(3.9 + cell * len(cols), 3.0 + cell * len(rows)))
    main = _with_name_key(fig, _cut(names, rows, _MATRIX_NAME_W), order, lang)
    ax = main.add_subplot()
    _cell_grid(ax, len(rows), len(cols))
    marks = _tie_marks(t, k)
    lookup = {(r, c): v for r, c, v in zip(t["rater_unit"], t["target_unit"], t["rc_mean"])}
    fs = 7.5
    used = set()
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            # a pair missing from ties.csv was not asked (or nobody was asked): no data, not hidden
            mark = marks.get((r, c), "no_data")
            used.add(
                _draw_cell(
                    ax, i, j, lookup.get((r, c)), mark, b, lang, fs, f"{r}->{c}",
                    title=f"{_full(r, names)} → {_full(c, names)}", k=k,
                )
            )
            if r == c:
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor="#222222", linewidth=1.4, zorder=3))
    for i, r in enumerate(rows):
        chip = _chip(ax, -1.0, i, colours.get(r, UNKNOWN_COLOUR), f"unit-row:{r}", kinds.get(r) == "network")
        _hover(fig, chip, f"unit-row:{r}", _full(r, names))
    for j, c in enumerate(cols):
        chip = _chip(ax, j, -1.0, colours.get(c, UNKNOWN_COLOUR), f"unit-col:{c}", kinds.get(c) == "network")
        _hover(fig, chip, f"unit-col:{c}", _full(c, names))
    ax.set_yticks(np.arange(len(rows)) + 0.5, [f"{_short(names.get(r, r), _MATRIX_NAME_W)} ({r})" for r in rows])
    ax.set_xticks(np.arange(len(cols)) + 0.5, cols, rotation=90)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(t_["target"])
    _hover_ticks(fig, ax.get_yticklabels(), rows, names, "row-label")
    _hover_ticks(fig, ax.get_xticklabels(), cols, names, "col-label")
    ax.set_ylabel(t_["rater"])
    # separators and group labels (columns: below the matrix; rows: right of it)
    for spans, along in ((_group_spans(cols, units), "x"), (_group_spans(rows, units), "y")):
        for kind, label, a, z in spans:
            text = t_["networks"] if kind == "network" else label
            if a > 0:
                lw = 2.2 if kind == "network" else 1.2
                if along == "x":
                    ax.plot([a, a], [0, len(rows)], color="#222222", lw=lw, zorder=4)
                else:
                    ax.plot([0, len(cols)], [a, a], color="#222222", lw=lw, zorder=4)
            if not text:
                continue
            width_chars = int((z - a) * cell * 72 / 5.2)
            if along == "x":
                y0 = len(rows) + 0.25
                ax.plot([a + 0.1, z - 0.1], [y0, y0], color="#444444", lw=1, clip_on=False)
                ax.text(
                    (a + z) / 2,
                    y0 + 0.2,
                    _wrap(text, width_chars),
                    ha="center",
                    va="top",
                    fontsize=7.5,
                    clip_on=False,
                    linespacing=1.0,
                )
            else:
                x0 = len(cols) + 0.25
                ax.plot([x0, x0], [a + 0.1, z - 0.1], color="#444444", lw=1, clip_on=False)
                ax.text(
                    x0 + 0.2,
                    (a + z) / 2,
                    _wrap(text, width_chars),
                    ha="left",
                    va="center",
                    fontsize=7.5,
                    rotation=270,
                    rotation_mode="anchor",
                    clip_on=False,
                    linespacing=1.0,
                )
    main.legend(
        handles=_band_handles(lang, b, k) + _mark_handles(lang, k, used),
        loc="outside lower center",
        ncol=3,
        frameon=False,
    )
    _title(fig, t_["matrix_title"] + (f" – {round_label}" if round_label else ""))
    return fig


# --------------------------------------------------------------------------- round: map


_MAP_KEY_W = 36  # characters of "ID  name" in the map's key (names cut to fit)


def _map_name_w(uid: str) -> int:
    return max(16, _MAP_KEY_W - len(str(uid)))


def _circle_positions(order: Sequence[str], units) -> dict[str, tuple[float, float, float]]:
    """unit -> (x, y, angle in degrees) on a circle, groups separated by gaps, clockwise from the top."""
    spans = _group_spans(order, units)
    gap = 0.9 if len(spans) > 1 else 0.0
    slots: list[float] = []
    pos = 0.0
    for _, _, a, z in spans:
        for _ in range(a, z):
            slots.append(pos)
            pos += 1.0
        pos += gap
    total = pos if len(spans) > 1 else max(pos, 1.0)
    out = {}
    for uid, s in zip(order, slots):
        ang = 90.0 - 360.0 * s / total
        out[uid] = (math.cos(math.radians(ang)), math.sin(math.radians(ang)), ang)
    return out


def _node_radius(n: int | None, n_max: float) -> float:
    """Marker radius in points: area proportional to respondents (min 6 pt for hidden counts)."""
    if n is None or n_max <= 0:
        return 6.0
    return 7.0 + 11.0 * math.sqrt(n / n_max)


def _draw_map_panel(
    ax,
    fig: Figure,
    edges,
    order: Sequence[str],
    pos,
    radius,
    square,
    colours,
    curvature: float,
    big: bool,
    lim: float,
    title: str,
    protect: set | frozenset = frozenset(),
) -> None:
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_title(title, loc="center", fontsize=10, fontweight="bold")
    alpha = {"moderate": 0.55, "weak": 0.85, "strong": 0.85}
    for band_name in ("moderate", "weak", "strong"):
        for r, c, d in sorted(edges, key=lambda e: (e[0], e[1])):
            if d["band"] != band_name:
                continue
            (x1, y1, _), (x2, y2, _) = pos[r], pos[c]
            ax.add_patch(
                FancyArrowPatch(
                    (x1, y1),
                    (x2, y2),
                    connectionstyle=f"arc3,rad={curvature}",
                    arrowstyle="-|>",
                    mutation_scale=6 if big else 7.5,
                    shrinkA=radius[r] * (1.2 if square[r] else 1.0) + 1.0,
                    shrinkB=radius[c] * (1.2 if square[c] else 1.0) + 1.5,
                    color=BAND_COLOURS[band_name],
                    lw=_BAND_LW[band_name] * (0.8 if big else 1.0),
                    alpha=alpha[band_name],
                    zorder=1 if band_name == "moderate" else 2,
                    gid=f"tie:{r}->{c}",
                )
            )
    # axes width in inches -> data units per point, for label offsets
    w_in = ax.get_position().width * fig.get_figwidth()
    per_pt = (2 * lim) / (w_in * 72) if w_in > 0 else 0.004
    for u in order:
        x, y, ang = pos[u]
        r_pt = radius[u]
        side = 2 * r_pt * (0.9 if square[u] else 1.0)
        ax.scatter(
            [x],
            [y],
            s=side**2,
            marker="s" if square[u] else "o",
            c=[colours.get(u, UNKNOWN_COLOUR)],
            edgecolors="#222222",
            linewidths=1.6 if square[u] else 0.8,
            zorder=5,
            gid=f"unit-node:{u}",
            linestyles="--" if u in protect else "solid",
        )
        right = -90 <= ang <= 90
        off = 1.0 + (r_pt * (1.25 if square[u] else 1.0) + 4) * per_pt
        ax.text(
            x * off,
            y * off,
            u,
            rotation=ang if right else ang + 180,
            rotation_mode="anchor",
            ha="left" if right else "right",
            va="center",
            fontsize=7 if big else 8,
            fontweight="bold",
            zorder=6,
            gid=f"label:{u}",
        )


def _size_key(ax, fig: Figure, entries: Sequence[tuple[float, str]], title: str, top: float) -> None:
    """A key of circle sizes drawn at their true size in points, stacked down from ``top`` (axes fraction)."""
    from matplotlib.transforms import ScaledTranslation

    ax.text(0.0, top, title, transform=ax.transAxes, va="bottom", ha="left", fontsize=8)
    r_max = max(r for r, _ in entries)
    y = 6.0
    for r, label in entries:
        y += r
        tr = ax.transAxes + ScaledTranslation((r_max + 2) / 72, -y / 72, fig.dpi_scale_trans)
        ax.scatter(
            [0.0],
            [top],
            s=(2 * r) ** 2,
            marker="o",
            facecolor="#FFFFFF",
            edgecolor="#222222",
            linewidths=0.8,
            transform=tr,
            clip_on=False,
        )
        tt = ax.transAxes + ScaledTranslation((2 * r_max + 10) / 72, -y / 72, fig.dpi_scale_trans)
        ax.text(0.0, top, label, transform=tt, va="center", ha="left", fontsize=8)
        y += r + 6


@_styled
def rc_map(
    ties: pd.DataFrame,
    units: pd.DataFrame,
    *,
    sizes: Mapping[str, int | None] | None = None,
    lang: str,
    min_group_size: int,
    bands: Mapping[str, float],
    round_label: str | None = None,
    curvature: float = 0.14,
    split: bool = True,
    max_ties: int | None = 120,
    hidden: Mapping[str, str] | None = None,
) -> Figure:
    """Directed RC map: units on a circle grouped by area (networks together),
    base units as circles and networks as squares (each in its unit colour,
    networks in purple shades), sized by respondents (``sizes``: unit ->
    count, None = fewer than k, drawn smallest); every visible tie between two
    different units a curved arrow from rater to target coloured by band; the
    two directions of a pair bend to opposite sides. ``split`` (default) draws
    two panels, weak ties and moderate + strong ties, so every tie is drawn
    once; a panel holding more than ``max_ties`` ties shows only the most
    extreme ones (the weakest, resp. the strongest) and says so in its title,
    so a large organisation does not become a hairball. Suppressed ties are
    not drawn. A key lists the code and name of every unit (names cut to fit are
    given in full below the figure). ``hidden``: unit ->
    why its count is hidden (:func:`hidden_count_reasons`); a unit hidden to
    protect a small group (``secondary``) is drawn with a dashed outline and
    keyed as such, never as "< k"."""
    import networkx as nx

    t_ = _text(lang)
    k, b = int(min_group_size), _bands(bands)
    t = _tie_frame(ties, k)
    order = unit_order(units, set(t["rater_unit"]) | set(t["target_unit"]))
    names, kinds, colours = _names(units), _kinds(units), unit_colours(units)
    sizes = dict(sizes or {})
    # a count hidden to protect a small group is not "< k": its own outline and key entry
    protect = {u for u, w in (hidden or {}).items() if w != "primary" and sizes.get(u) is None and u in order}
    g = nx.DiGraph()
    g.add_nodes_from(order)
    vis = t[t["visible"] & (t["rater_unit"] != t["target_unit"])]
    for r, c, v in zip(vis["rater_unit"], vis["target_unit"], vis["rc_mean"]):
        g.add_edge(r, c, rc=float(v), band=band_of(v, b))
    pos = _circle_positions(order, units)
    big = len(order) > 20
    n_max = max([n for n in sizes.values() if n] or [1])
    scale = 0.62 if big else 0.8
    radius = {u: (_node_radius(sizes.get(u), n_max) if sizes else 10.0) * scale for u in order}
    square = {u: kinds.get(u) == "network" for u in order}
    bw = {"weak": fmt_num(b["weak_below"], lang, 1), "strong": fmt_num(b["strong_above"], lang, 1)}
    cut = {u: full for u in order for full in _cut(names, [u], _map_name_w(u)).values()}
    if split:
        fig = _new_figure(figsize=(13.0, 7.4) if big else (12.0, 6.6))
        main = _with_name_key(fig, cut, order, lang)
        gs = main.add_gridspec(1, 3, width_ratios=[1.0, 1.0, 0.72])
        panels = [
            (("weak",), t_["band_weak"].format(**bw)),
            (("moderate", "strong"), t_["band_moderate"].format(**bw) + " · " + t_["band_strong"].format(**bw)),
        ]
    else:
        fig = _new_figure(figsize=(11.5, 8.6) if big else (10.5, 7.6))
        main = _with_name_key(fig, cut, order, lang)
        gs = main.add_gridspec(1, 2, width_ratios=[1.0, 0.45])
        panels = [(("weak", "moderate", "strong"), "")]
    lim = 1.30
    axes = [main.add_subplot(gs[0, i]) for i in range(len(panels))]
    kax = main.add_subplot(gs[0, len(panels)])
    kax.axis("off")
    for pi, (ax, (shown, title)) in enumerate(zip(axes, panels)):
        edges = [e for e in g.edges(data=True) if e[2]["band"] in shown]
        if split and max_ties and len(edges) > max_ties:
            low = pi == 0
            edges = sorted(edges, key=lambda e: (e[2]["rc"] if low else -e[2]["rc"], e[0], e[1]))
            title += "\n" + t_["map_cap_low" if low else "map_cap_high"].format(n=max_ties, total=len(edges))
            edges = edges[:max_ties]
        elif split:
            title += "\n" + t_["n_ties"].format(n=len(edges))
        _draw_map_panel(ax, fig, edges, order, pos, radius, square, colours, curvature, big, lim, title, protect)
        for art in ax.get_children():
            gid = art.get_gid()
            if isinstance(gid, str) and gid.startswith(("unit-node:", "label:")):
                u = gid.split(":", 1)[1]
                _hover(fig, art, gid, _full(u, names))
            elif isinstance(gid, str) and gid.startswith("tie:"):
                r, c = gid[4:].split("->", 1)
                _hover(fig, art, gid, _tie_title(r, c, names, fmt_num(g.edges[r, c]["rc"], lang, VALUE_DIGITS)))
    unit_handles = [
        Line2D(
            [],
            [],
            marker="s" if square[u] else "o",
            linestyle="",
            markersize=7,
            markerfacecolor=colours.get(u, UNKNOWN_COLOUR),
            markeredgecolor="#222222",
            label=f"{u}  {_short(names.get(u, u), _map_name_w(u))}",
        )
        for u in order
    ]
    leg1 = kax.legend(
        handles=unit_handles,
        title=t_["map_nodes"],
        loc="upper left",
        frameon=False,
        fontsize=7 if big else 8,
        handletextpad=0.4,
        borderaxespad=0,
        alignment="left",
    )
    kax.add_artist(leg1)
    for txt, u in zip(leg1.get_texts(), order):
        _hover(fig, txt, f"key:{u}", _full(u, names))
    shown_n = sorted({n for n in sizes.values() if n}, reverse=True)
    ref: list[int | None] = list(dict.fromkeys([shown_n[0], shown_n[len(shown_n) // 2]])) if shown_n else []
    if any(sizes.get(u, 0) is None and u not in protect for u in order) or not protect:
        ref.append(None)
    if sizes:
        entries = [
            (_node_radius(n, n_max) * scale, fmt_int(n, lang) if n else t_["size_hidden"].format(k=k)) for n in ref
        ]
        if protect:
            entries.append((_node_radius(None, n_max) * scale, t_["size_protect"]))
        _size_key(kax, fig, entries, t_["size"], top=0.30)
    kind_handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            markerfacecolor=AREA_HUES[0],
            markeredgecolor="#222222",
            label=t_["base"],
        ),
        Line2D(
            [],
            [],
            marker="s",
            linestyle="",
            markersize=8,
            markerfacecolor=NETWORK_HUE,
            markeredgecolor="#222222",
            markeredgewidth=1.6,
            label=t_["network"],
        ),
    ]
    kax.legend(
        handles=kind_handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 0.34),
        frameon=False,
        borderaxespad=0,
        alignment="left",
    )
    main.legend(
        handles=_band_handles(lang, b, k, fills=False),
        title=t_["map_ties"],
        loc="outside lower center",
        ncol=3,
        frameon=False,
    )
    _title(fig, t_["map_title"] + (f" – {round_label}" if round_label else ""))
    return fig


# --------------------------------------------------------------------------- round: dimension profile


def _received_items(ties: pd.DataFrame, items: Sequence[str], order: Sequence[str], k: int) -> pd.DataFrame:
    """target -> item means over visible ties from other groups (weighted by n)."""
    t = ties.copy()
    t["rater_unit"], t["target_unit"] = t["rater_unit"].astype(str), t["target_unit"].astype(str)
    ok = visible_rows(t, k, value_cols=("rc_mean",)) & (t["rater_unit"] != t["target_unit"])
    if "rater_kind" in t.columns:
        ok &= t["rater_kind"].astype(str) == "base"
    t = t[ok]
    n = pd.to_numeric(t["n"], errors="coerce")
    out = pd.DataFrame(index=list(order), columns=list(items), dtype=float)
    for it in items:
        if it not in t.columns:
            continue
        v = pd.to_numeric(t[it], errors="coerce")
        w = n.where(v.notna())
        num = (v * w).groupby(t["target_unit"]).sum(min_count=1)
        den = w.groupby(t["target_unit"]).sum(min_count=1)
        out[it] = (num / den).reindex(out.index)
    return out


_PROFILE_NAME_W = 26  # characters of a unit name in the profile's row labels


def _received_marks(ties: pd.DataFrame, order: Sequence[str], k: int) -> dict[str, str]:
    """target -> the mark of its empty profile cells: ``hidden`` when ties from other
    (base) groups towards it exist but are hidden (``protect`` when all of them are
    hidden to protect a small group), ``no_data`` when there are none (nobody was asked)."""
    t = _tie_frame(ties, k)
    t = t[t["rater_unit"] != t["target_unit"]]
    if "rater_kind" in t.columns:
        t = t[t["rater_kind"].astype(str) == "base"]
    marks = _tie_marks(t, k)
    out = {}
    for u in order:
        got = [m for (r, c), m in marks.items() if c == u and m in ("hidden", "protect")]
        out[u] = ("protect" if all(m == "protect" for m in got) else "hidden") if got else "no_data"
    return out


@_styled
def dimension_profile(
    organisation: pd.DataFrame,
    ties: pd.DataFrame,
    units: pd.DataFrame,
    instrument: Any,
    *,
    lang: str,
    min_group_size: int,
    bands: Mapping[str, float],
    round_label: str | None = None,
) -> Figure:
    """Left: the organisation profile (RC index, the two subscales and the seven
    items, mean and 95 % CI from organisation.csv). Right: per unit, how the
    *other* base units rate it on each item (n-weighted mean of the visible
    ties towards it; band-coloured, annotated; hatched when every such tie is
    hidden, blank when there is none: no data). On the left a hidden measure
    reads "hidden", one missing from organisation.csv "no data"."""
    t_ = _text(lang)
    k, b = int(min_group_size), _bands(bands)
    items = list(instrument.index_keys)
    org = organisation.copy()
    org["measure"] = org["measure"].astype(str)
    org = org[visible_rows(org, k, value_cols=("mean",))].set_index("measure")
    comm = [i for i in items if i in instrument.subscale_keys("communication")]
    rel = [i for i in items if i in instrument.subscale_keys("relationship")]
    other = [i for i in items if i not in comm + rel]
    rows = ["rc", "communication", *comm, "relationship", *rel, *other]
    order = unit_order(units, set(ties["target_unit"].astype(str)))
    rec = _received_items(ties, items, order, k)
    names, colours, kinds = _names(units), unit_colours(units), _kinds(units)
    fig = _new_figure(figsize=(11.5, max(5.6, 2.3 + 0.32 * max(len(order), len(rows)))))
    main = _with_name_key(fig, _cut(names, order, _PROFILE_NAME_W), order, lang)
    left_fig, right_fig = main.subfigures(1, 2, width_ratios=[1.0, 1.3])
    ax = left_fig.add_subplot()
    hx = right_fig.add_subplot()
    # left: dots with CI, bands shaded
    y = np.arange(len(rows))
    present = [m in org.index for m in rows]
    # a measure in organisation.csv but not visible is hidden; one missing from it has no data
    in_table = set(organisation["measure"].astype(str))
    means = np.array([org.at[m, "mean"] if p else np.nan for m, p in zip(rows, present)], dtype=float)
    lo = np.array([org.at[m, "ci_low"] if p else np.nan for m, p in zip(rows, present)], dtype=float)
    hi = np.array([org.at[m, "ci_high"] if p else np.nan for m, p in zip(rows, present)], dtype=float)
    finite = np.isfinite(means)
    if finite.any():
        xlo = max(1.0, math.floor((np.nanmin(np.where(np.isfinite(lo), lo, means)) - 0.35) * 2) / 2)
        xhi = min(5.0, math.ceil((np.nanmax(np.where(np.isfinite(hi), hi, means)) + 0.35) * 2) / 2)
    else:
        xlo, xhi = 1.0, 5.0
    ax.axvspan(xlo, b["weak_below"], color=BAND_FILLS["weak"], alpha=0.45, lw=0, zorder=0)
    ax.axvspan(b["strong_above"], xhi, color=BAND_FILLS["strong"], alpha=0.45, lw=0, zorder=0)
    for i, m in enumerate(rows):
        if not finite[i]:
            what = t_["hidden"].format(k=k) if m in in_table else t_["no_data"]
            ax.text(xlo + 0.05, i, what, va="center", color="#555555", fontsize=8, fontstyle="italic")
            continue
        heavy = m in ("rc", "communication", "relationship")
        colour = BAND_COLOURS[band_of(means[i], b)]  # the band of the printed mean
        if np.isfinite(lo[i]) and np.isfinite(hi[i]):
            ax.plot([lo[i], hi[i]], [i, i], color="#333333", lw=2.2 if heavy else 1.4, solid_capstyle="butt")
        ax.plot(
            [means[i]],
            [i],
            marker="D" if heavy else "o",
            markersize=8 if heavy else 6.5,
            color=colour,
            markeredgecolor="#222222",
            linestyle="",
        )
        ci = f"  [{fmt_num(lo[i], lang, 2)}–{fmt_num(hi[i], lang, 2)}]" if np.isfinite(lo[i]) else ""
        ax.text(
            hi[i] + 0.04 if np.isfinite(hi[i]) else means[i] + 0.06,
            i,
            fmt_num(means[i], lang, VALUE_DIGITS) + ci,
            va="center",
            ha="left",
            fontsize=8,
        )
    labels = [measure_label(m, lang, instrument) for m in rows]
    ax.set_yticks(
        y, [lab if m in ("rc", "communication", "relationship") else "   " + lab for m, lab in zip(rows, labels)]
    )
    for tick, m in zip(ax.get_yticklabels(), rows):
        if m in ("rc", "communication", "relationship"):
            tick.set_fontweight("bold")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(xlo, xhi + 0.55)
    ax.xaxis.set_major_formatter(_formatter(lang, 1))
    ax.set_xlabel(t_["score"])
    ax.set_ylabel(t_["dimension"])
    ax.set_title(t_["profile_org"], loc="left")
    ax.grid(axis="x", color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)
    # right: received item means per unit
    empty = _received_marks(ties, order, k)
    used = set()
    hx.set_xlim(-0.6, len(items))
    hx.set_ylim(len(order), 0)
    for s in hx.spines.values():
        s.set_visible(False)
    hx.tick_params(length=0)
    for i, u in enumerate(order):
        chip = _chip(hx, -0.6, i, colours.get(u, UNKNOWN_COLOUR), f"unit-profile:{u}", kinds.get(u) == "network")
        _hover(fig, chip, f"unit-profile:{u}", _full(u, names))
        for j, it in enumerate(items):
            v = rec.at[u, it] if u in rec.index else np.nan
            v = float(v) if pd.notna(v) else np.nan  # a target without any visible tie: NA
            mark = None if np.isfinite(v) else empty.get(u, "no_data")
            used.add(
                _draw_cell(
                    hx, i, j, v, mark, b, lang, 7.5, f"{u}:{it}",
                    title=f"{_full(u, names)}, {measure_label(it, lang, instrument)}", k=k,
                )
            )
    hx.set_yticks(np.arange(len(order)) + 0.5, [f"{_short(names.get(u, u), _PROFILE_NAME_W)} ({u})" for u in order])
    _hover_ticks(fig, hx.get_yticklabels(), order, names, "row-label")
    hx.set_xticks(
        np.arange(len(items)) + 0.5,
        [_short(measure_label(i, lang, instrument), 30) for i in items],
        rotation=40,
        ha="left",
        rotation_mode="anchor",
        fontsize=8,
    )
    hx.xaxis.tick_top()
    hx.set_xlabel(t_["dimension"])
    hx.set_ylabel(t_["receiving"])
    hx.set_title(t_["profile_units"], loc="left")
    handles = _band_handles(lang, b, k) + _mark_handles(lang, k, used)
    main.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
    _title(fig, t_["profile_title"] + (f" – {round_label}" if round_label else ""))
    return fig


# --------------------------------------------------------------------------- round: item distributions


def _answer_kind(responses: pd.DataFrame) -> pd.Series:
    if "answer" in responses.columns:
        return responses["answer"].astype(str)
    return pd.Series(
        np.where(pd.to_numeric(responses["value"], errors="coerce").notna(), "valid", "blank"), index=responses.index
    )


#: the columns of validated/responses.parquet that :func:`round_figures` reads
RESPONSE_COLUMNS = ("respondent_id", "item", "value", "answer")


def _text_codes(col: pd.Series) -> tuple[np.ndarray, list[str]]:
    """``(codes, texts)``: ``texts[codes]`` is ``col.astype(str)``, ``str`` made once per distinct
    value (a categorical's own codes, missing values as "nan")."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        texts = [str(c) for c in col.cat.categories]
        if (codes < 0).any():
            codes = np.where(codes < 0, len(texts), codes)
            texts.append(str(np.nan))
        return codes, texts
    codes, uniq = pd.factorize(col, use_na_sentinel=False)
    return codes, [str(u) for u in uniq]


def _answer_counts(r: pd.DataFrame, items: list[str], scores: list[int], cats: list[str]) -> pd.DataFrame:
    """Answers per item (rows ``items``) and category (columns ``cats``: the scores as text, then
    dont_know and blank): a valid answer counts under its rounded score (none outside the scale),
    a "don't know" as dont_know, anything else as blank (:func:`_answer_kind`); items outside
    ``items`` are not counted. Counted over small integer codes, never one string per answer."""
    n_cat = len(cats)
    val = pd.to_numeric(r["value"], errors="coerce").to_numpy(float).round()
    cat = np.full(len(val), n_cat - 1, dtype=np.int16)            # blank
    if "answer" in r.columns:
        codes, texts = _text_codes(r["answer"])
        valid = np.array([t == "valid" for t in texts], dtype=bool)[codes]
        cat[np.array([t == "dont_know" for t in texts], dtype=bool)[codes]] = n_cat - 2
    else:
        valid = ~np.isnan(val)
    cat[valid] = -1                                             # a valid answer off the scale: not counted
    for j, sc in enumerate(scores):
        cat[valid & (val == sc)] = j
    del val, valid
    codes, texts = _text_codes(r["item"])
    pos = {it: i for i, it in enumerate(items)}
    row = np.array([pos.get(t, -1) for t in texts], dtype=np.int64)[codes] if len(codes) else np.zeros(0, np.int64)
    keep = (row >= 0) & (cat >= 0)
    counts = np.bincount(row[keep] * n_cat + cat[keep], minlength=len(items) * n_cat).reshape(len(items), n_cat)
    return pd.DataFrame(counts.astype(np.int64), index=pd.Index(items, dtype=object, name="item"),
                        columns=pd.Index(cats, dtype=object, name="col_0"))


@_styled
def item_distributions(
    responses: pd.DataFrame, instrument: Any, *, lang: str, min_group_size: int, round_label: str | None = None
) -> Figure:
    """Stacked bars per item: shares of scores 1..5 among all answers
    organisation-wide, then "don't know" and blank (``answer`` column of
    validated/responses.parquet: valid | dont_know | blank; without it every
    missing value counts as blank). Option labels (score order) under each bar."""
    t_ = _text(lang)
    k = int(min_group_size)
    items = list(instrument.keys)
    r = responses
    n_resp = r["respondent_id"].nunique() if "respondent_id" in r.columns else len(r)
    smin, smax = int(getattr(instrument, "scale_min", 1)), int(getattr(instrument, "scale_max", 5))
    scores = list(range(smin, smax + 1))
    cats = [str(s) for s in scores] + ["dont_know", "blank"]
    tab = _answer_counts(r, items, scores, cats)
    shares = tab.div(tab.sum(axis=1).replace(0, np.nan), axis=0)
    fig = _new_figure(figsize=(11.5, 1.7 + 0.85 * len(items)))
    ax = fig.add_subplot()
    if n_resp < k or tab.to_numpy().sum() == 0:
        _empty(ax, lang)
        _title(fig, t_["items_title"])
        return fig
    colours = (
        list(LIKERT_COLOURS)
        if len(scores) == 5
        else [mpl.colormaps["RdBu"](x) for x in np.linspace(0.1, 0.9, len(scores))]
    )
    colours += [DONT_KNOW_COLOUR, "#FFFFFF"]
    palette = {c: mpl.colors.to_hex(colour) for c, colour in zip(cats, colours)}
    # seaborn: one stacked horizontal bar per item (row i), answer shares as weights, score 1 at the left
    # (histplot stacks the *last* hue level at the baseline, hence the reversed hue order)
    long = shares.fillna(0.0).mul(100).rename_axis(index="item", columns="answer").stack().rename("share").reset_index()
    long["row"] = long["item"].map({it: i for i, it in enumerate(items)})
    sns.histplot(
        data=long,
        y="row",
        hue="answer",
        weights="share",
        hue_order=cats[::-1],
        palette=palette,
        multiple="stack",
        discrete=True,
        shrink=0.5,
        alpha=1.0,
        edgecolor="#FFFFFF",
        linewidth=0.6,
        legend=False,
        ax=ax,
    )
    # histplot draws every (item, answer) bin, zero-width ones included: drop those, hatch the blank share
    for bar in list(ax.patches):
        if bar.get_width() <= 0:
            bar.remove()
        elif mpl.colors.to_hex(bar.get_facecolor()) == palette["blank"]:
            bar.set(edgecolor="#999999", hatch="////", hatchcolor="#BBBBBB", gid="answer-share:blank")
    for i, it in enumerate(items):
        left = 0.0
        for j, c in enumerate(cats):
            w = float(shares.at[it, c]) if np.isfinite(shares.at[it, c]) else 0.0
            if w <= 0:
                continue
            if w >= 0.06:
                dark = j in (0, len(scores) - 1) or c == "dont_know"
                ax.text(
                    (left + w / 2) * 100,
                    i,
                    fmt_num(w * 100, lang, 0),
                    ha="center",
                    va="center",
                    fontsize=8.5,
                    color="#FFFFFF" if dark else "#111111",
                )
            left += w
        try:
            opts = instrument.item(it).options.get(lang) or instrument.item(it).options.get("en") or []
        except (KeyError, AttributeError):
            opts = []
        if opts:
            ax.text(
                0,
                i + 0.45,
                "   ".join(f"{s} = {o}" for s, o in zip(scores, opts)),
                ha="left",
                va="center",
                fontsize=8.5,
                color="#333333",
            )
    ax.set_yticks(np.arange(len(items)), [measure_label(i, lang, instrument) for i in items])
    ax.set_ylim(len(items) - 0.35, -0.5)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(_formatter(lang, 0))
    ax.set_xlabel(t_["share"])
    ax.set_ylabel(t_["dimension"])
    handles = [
        Patch(facecolor=colours[j], edgecolor="#999999", linewidth=0.5, label=t_["score_n"].format(i=s))
        for j, s in enumerate(scores)
    ]
    handles += [
        Patch(facecolor=DONT_KNOW_COLOUR, label=t_["dont_know"]),
        Patch(facecolor="#FFFFFF", edgecolor="#999999", hatch="////", hatchcolor="#BBBBBB", label=t_["blank"]),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    sub = t_["items_sub"].format(n=fmt_int(n_resp, lang), cells=fmt_int(int(tab.to_numpy().sum()), lang))
    _title(fig, t_["items_title"] + (f" – {round_label}" if round_label else ""), sub, ax)
    return fig


# --------------------------------------------------------------------------- round: response overview


_OVERVIEW_NAME_W = 28  # characters of a unit name in the response overview


@_styled
def response_overview(
    summary: Mapping[str, Any],
    units: pd.DataFrame,
    *,
    lang: str,
    min_group_size: int,
    invited: int | None = None,
    round_label: str | None = None,
) -> Figure:
    """Left: respondents per base unit (validation summary; a unit with fewer
    than k shows "< k" and no bar, a count hidden by secondary suppression
    "–" and no bar). Right: records in the export, valid, set aside and
    warned, and the answer cells (valid / don't know / blank); the response
    rate when ``invited`` is given. A legend below explains "< k" and "–" when
    used; unit names over 28 characters are cut and given in full below."""
    t_ = _text(lang)
    k = int(min_group_size)
    readers = summary_for_readers(summary, k)
    why = readers["respondents_per_unit_hidden"]
    per = {str(u): (-1 if n is None else int(n)) for u, n in readers["respondents_per_unit"].items()}
    kinds = _kinds(units)
    in_round = set(per) | {str(x) for x in summary.get("targets") or []}
    order = [
        u
        for u in unit_order(units, per)
        if kinds.get(u, "base") != "network" and (u in in_round or not summary.get("targets"))
    ]
    names, colours = _names(units), unit_colours(units)
    fig = _new_figure(figsize=(12.0, max(4.6, 1.8 + 0.32 * len(order))))
    main = _with_name_key(fig, _cut(names, order, _OVERVIEW_NAME_W), order, lang)
    gs = main.add_gridspec(2, 2, width_ratios=[1.35, 1.0])
    ax = main.add_subplot(gs[:, 0])
    counts = [per.get(u, 0) for u in order]
    top = max([c for c in counts if c >= k] or [k])
    marks: set[str] = set()
    for i, (u, n) in enumerate(zip(order, counts)):
        if n >= k:
            bars = ax.barh(
                i,
                n,
                color=colours.get(u, UNKNOWN_COLOUR),
                edgecolor="#333333",
                linewidth=0.5,
                height=0.7,
                gid=f"unit-bar:{u}",
            )
            _hover(fig, bars.patches[0], f"unit-bar:{u}", f"{_full(u, names)}: {fmt_int(n, lang)}")
            ax.text(n + top * 0.01, i, fmt_int(n, lang), va="center", fontsize=8)
        else:
            label = f"< {k}" if n >= 0 or why.get(u) == "primary" else "–"
            marks.add(label)
            ax.text(top * 0.01, i, label, va="center", fontsize=8, color="#444444", fontstyle="italic")
    ax.set_yticks(np.arange(len(order)), [f"{_short(names.get(u, u), _OVERVIEW_NAME_W)} ({u})" for u in order])
    _hover_ticks(fig, ax.get_yticklabels(), order, names, "row-label")
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlim(0, top * 1.12)
    ax.set_xlabel(t_["respondents"])
    ax.set_ylabel(t_["unit"])
    ax.set_title(t_["per_unit"], loc="left")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_int(v, lang)))
    # right top: records
    rx = main.add_subplot(gs[0, 1])
    rec_in, valid = int(summary.get("records_in", 0)), int(summary.get("valid", 0))
    quar, warn = int(summary.get("quarantined", 0)), int(summary.get("warned", 0))
    bars = [
        (t_["records_in"], rec_in, "#7F7F7F"),
        (t_["valid"], valid, "#0072B2"),
        (t_["quarantined"], quar, "#D55E00"),
        (t_["warned"], warn, "#E69F00"),
    ]
    for i, (_lab, n, c) in enumerate(bars):
        rx.barh(i, n, color=c, height=0.6)
        share = f" ({fmt_pct(n / rec_in, lang, 1)})" if rec_in and i > 0 else ""
        rx.text(n + max(rec_in, 1) * 0.01, i, fmt_int(n, lang) + share, va="center", fontsize=8)
    rx.set_yticks(range(len(bars)), [b_[0] for b_ in bars])
    rx.set_ylim(len(bars) - 0.5, -0.5)
    rx.set_xlim(0, max(rec_in, 1) * 1.35)
    rx.set_xlabel(t_["count"])
    title = t_["records"]
    if invited:
        title += "\n" + t_["rate"].format(
            pct=fmt_pct(valid / invited, lang, 0), valid=fmt_int(valid, lang), invited=fmt_int(invited, lang)
        )
    rx.set_title(title, loc="left")
    rx.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_int(v, lang)))
    # right bottom: answer cells
    ax2 = main.add_subplot(gs[1, 1])
    a = summary.get("answers") or {}
    cells = int(a.get("cells", 0)) or 1
    parts = [
        (t_["valid_answers"], int(a.get("valid", 0)), "#0072B2", None),
        (t_["dont_know"], int(a.get("dont_know", 0)), DONT_KNOW_COLOUR, None),
        (t_["blank"], int(a.get("blank", 0)), "#FFFFFF", "////"),
    ]
    for i, (_lab, n, c, h) in enumerate(parts):
        ax2.barh(
            i, n / cells * 100, color=c, edgecolor="#999999", linewidth=0.5, hatch=h, hatchcolor="#BBBBBB", height=0.6
        )
        ax2.text(n / cells * 100 + 1, i, f"{fmt_pct(n / cells, lang, 1)} ({fmt_int(n, lang)})", va="center", fontsize=8)
    ax2.set_yticks(range(len(parts)), [p_[0] for p_ in parts])
    ax2.set_ylim(len(parts) - 0.5, -0.5)
    ax2.set_xlim(0, 135)
    ax2.set_xticks([0, 25, 50, 75, 100])
    ax2.xaxis.set_major_formatter(_formatter(lang, 0))
    ax2.set_xlabel(t_["share"])
    ax2.set_title(t_["answers"] + f": {fmt_int(cells, lang)}", loc="left")
    # what "< k" and "–" instead of a count mean (only the marks used)
    notes = [(f"< {k}", t_["hidden"].format(k=k)), ("–", t_["hidden_protect"])]
    handles = [Line2D([], [], linestyle="", label=f"{m}   {lab}") for m, lab in notes if m in marks]
    if handles:
        main.legend(handles=handles, loc="outside lower left", ncol=len(handles), frameon=False,
                    handlelength=0, handletextpad=0, columnspacing=2.5, fontsize=8)
    _title(fig, t_["response_title"] + (f" – {round_label}" if round_label else ""))
    return fig


# --------------------------------------------------------------------------- comparisons


def _changes(changes: pd.DataFrame, k: int, public_a=None, public_b=None) -> pd.DataFrame:
    c = change_visibility(changes, k, public_a, public_b)
    return c[c["visible"]]


def _sig(row, alpha: float = 0.05) -> str:
    p = row.get("p_fdr", np.nan)
    if not (isinstance(p, (float, int)) and math.isfinite(p) and p < alpha):
        return "ns"
    return "up" if row.get("diff", 0) > 0 else "down"


_FOREST_NAME_W = 26  # characters of a unit name in the forest plot


def _row_label(row: Mapping[str, Any], lang: str, names: Mapping[str, str], instrument: Any) -> str:
    lvl = row["level"]
    if lvl == "organisation":
        return measure_label(row["measure"], lang, instrument)
    if lvl == "block":
        return block_label(row.get("block") or f"{row['rater_unit']}_to_{row['target_unit']}", lang)
    if lvl.startswith("unit_"):
        u = row["rater_unit"] or row["target_unit"]
        return f"{_short(names.get(u, u), _FOREST_NAME_W)} ({u})"
    return f"{row['rater_unit']} → {row['target_unit']}"


def _row_title(row: Mapping[str, Any], names: Mapping[str, str]) -> tuple[str, str] | None:
    """(gid, hover title with full names) of a unit or tie row, None for other rows."""
    lvl = row["level"]
    if lvl.startswith("unit_"):
        u = row["rater_unit"] or row["target_unit"]
        return f"row-label:{lvl}:{u}", _full(u, names)
    if lvl == "tie":
        r, c = row["rater_unit"], row["target_unit"]
        return f"row-label:tie:{r}->{c}", f"{_full(r, names)} → {_full(c, names)}"
    return None


def _row_units(row: Mapping[str, Any]) -> list[str]:
    return [row["rater_unit"] or row["target_unit"]] if str(row["level"]).startswith("unit_") else []


@_styled
def forest_changes(
    changes: pd.DataFrame,
    units: pd.DataFrame,
    instrument: Any = None,
    *,
    lang: str,
    min_group_size: int,
    measure: str = "rc",
    top_ties: int = 15,
    levels: Sequence[str] = ("organisation", "block", "unit_between", "unit_received", "tie"),
    public_a: Mapping[str, pd.DataFrame] | None = None,
    public_b: Mapping[str, pd.DataFrame] | None = None,
    label_a: str = "A",
    label_b: str = "B",
) -> Figure:
    """Forest plot of Hedges' g (follow-up − baseline) with 95 % CI per level:
    the organisation (every measure), blocks, units (between and received RC)
    and the ``top_ties`` ties with the largest |g| (``measure``); filled =
    significant after BH-FDR (blue up, orange down), hollow grey otherwise; the
    mean difference and both n on the right. Suppressed rows (or n < k, or
    cells hidden in either round's reader-facing tables ``public_a``/``public_b``,
    see :func:`change_visibility`) are omitted."""
    t_ = _text(lang)
    k = int(min_group_size)
    names = _names(units)
    c = _changes(changes, k, public_a, public_b)
    panels = []
    for lvl in levels:
        d = c[c["level"] == lvl]
        if lvl != "organisation":
            d = d[d["measure"] == measure]
        d = d[np.isfinite(d["hedges_g"])]
        if lvl == "tie":
            d = d.reindex(d["hedges_g"].abs().sort_values(ascending=False, kind="mergesort").index).head(top_ties)
            title = t_["ties_top"].format(n=len(d))
        elif lvl == "organisation":
            order = ["rc", "communication", "relationship"] + [
                m for m in d["measure"] if m not in ("rc", "communication", "relationship")
            ]
            d = (
                d.set_index("measure")
                .reindex([m for m in dict.fromkeys(order) if m in set(d["measure"])])
                .reset_index()
            )
            title = t_["organisation"]
        elif lvl == "block":
            title = t_["blocks"]
        else:
            title = t_.get(lvl, lvl)
            ordr = {u: i for i, u in enumerate(unit_order(units, set(d["rater_unit"]) | set(d["target_unit"])))}
            d = d.iloc[
                np.argsort([ordr.get(u or v, 0) for u, v in zip(d["rater_unit"], d["target_unit"])], kind="stable")
            ]
        if len(d):
            panels.append((title, d.reset_index(drop=True)))
    heights = [max(len(d), 1) + 1.2 for _, d in panels] or [3]
    fig = _new_figure(figsize=(11.0, 1.6 + 0.24 * sum(heights)))
    shown = [u for _, d in panels for row in d.to_dict("records") for u in _row_units(row)]
    main = _with_name_key(fig, _cut(names, shown, _FOREST_NAME_W), unit_order(units, set(shown)), lang)
    if not panels:
        _empty(main.add_subplot(), lang)
        _title(fig, t_["forest_title"].format(a=label_a, b=label_b))
        return fig
    gs = main.add_gridspec(len(panels), 1, height_ratios=heights)
    lo_all = np.nanmin([np.nanmin(d["g_ci_low"]) for _, d in panels])
    hi_all = np.nanmax([np.nanmax(d["g_ci_high"]) for _, d in panels])
    span = max(abs(lo_all), abs(hi_all), 0.3) * 1.08
    first = None
    for pi, (title, d) in enumerate(panels):
        ax = main.add_subplot(gs[pi, 0], sharex=first)
        first = first or ax
        ax.axvspan(-0.2, 0.2, color="#EEEEEE", lw=0, zorder=0)
        ax.axvline(0, color="#444444", lw=0.8, zorder=1)
        for i, row in enumerate(d.to_dict("records")):
            s = _sig(row)
            col = CHANGE_COLOURS[s]
            ax.plot([row["g_ci_low"], row["g_ci_high"]], [i, i], color=col, lw=1.4, zorder=2)
            ax.plot(
                [row["hedges_g"]],
                [i],
                marker="o",
                markersize=6.5,
                zorder=3,
                color=col,
                markerfacecolor=col if s != "ns" else "#FFFFFF",
                markeredgewidth=1.3,
                linestyle="",
            )
            ax.text(
                1.01,
                i,
                t_["change_label"].format(
                    diff=fmt_num(row["diff"], lang, 2, sign=True),
                    na=fmt_int(row["n_a"], lang),
                    nb=fmt_int(row["n_b"], lang),
                ),
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7.5,
                clip_on=False,
            )
        recs = d.to_dict("records")
        ax.set_yticks(range(len(d)), [_row_label(r, lang, names, instrument) for r in recs])
        for lab, rec in zip(ax.get_yticklabels(), recs):
            got = _row_title(rec, names)
            if got:
                _hover(fig, lab, *got)
        ax.set_ylim(len(d) - 0.5, -0.7)
        ax.set_title(title, loc="left", fontsize=9, fontweight="bold")
        ax.grid(axis="x", color="#E0E0E0", lw=0.6)
        ax.set_axisbelow(True)
        if pi < len(panels) - 1:
            ax.tick_params(axis="x", labelbottom=False)
    first.set_xlim(-span, span)
    first.xaxis.set_major_formatter(_formatter(lang, 1))
    ax.set_xlabel(t_["effect_g"])
    main.supylabel("")
    handles = [
        Line2D([], [], marker="o", color=CHANGE_COLOURS["up"], label=t_["sig_up"], linestyle="-"),
        Line2D([], [], marker="o", color=CHANGE_COLOURS["down"], label=t_["sig_down"], linestyle="-"),
        Line2D(
            [],
            [],
            marker="o",
            color=CHANGE_COLOURS["ns"],
            markerfacecolor="#FFFFFF",
            label=t_["not_sig"],
            linestyle="-",
        ),
        Patch(facecolor="#EEEEEE", label=t_["small_zone"]),
    ]
    main.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    _title(fig, t_["forest_title"].format(a=label_a, b=label_b))
    return fig


def _pair_set(pairs: Iterable[Sequence[str]] | None) -> set[tuple[str, str]]:
    return {(str(p[0]), str(p[1])) for p in (pairs or [])}


def _base_ties(
    changes: pd.DataFrame, units: pd.DataFrame, k: int, public_a=None, public_b=None, measure: str = "rc"
) -> pd.DataFrame:
    kinds = _kinds(units)
    c = _changes(changes, k, public_a, public_b)
    c = c[(c["level"] == "tie") & (c["measure"] == measure) & (c["rater_unit"] != c["target_unit"])]
    return c[(c["rater_unit"].map(kinds) == "base") & (c["target_unit"].map(kinds) == "base")].reset_index(drop=True)


@_styled
def tie_dumbbell(
    changes: pd.DataFrame,
    units: pd.DataFrame,
    *,
    shared_pairs: Iterable[Sequence[str]] | None = None,
    public_a: Mapping[str, pd.DataFrame] | None = None,
    public_b: Mapping[str, pd.DataFrame] | None = None,
    lang: str,
    min_group_size: int,
    bands: Mapping[str, float],
    max_ties: int = 30,
    label_a: str = "A",
    label_b: str = "B",
) -> Figure:
    """Dumbbell chart of base → base ties between different units visible in
    both rounds (``mean_a`` hollow → ``mean_b`` filled; ``public_a``/``public_b``
    as in :func:`forest_changes`), the ``max_ties`` with
    the largest |change| sorted by change; ties between units sharing a network
    (``shared_pairs``, ordered pairs) in blue; * = significant after FDR; band
    thresholds as dotted lines."""
    t_ = _text(lang)
    k, b = int(min_group_size), _bands(bands)
    shared = _pair_set(shared_pairs)
    d = _base_ties(changes, units, k, public_a, public_b)
    total = len(d)
    d = d.reindex(d["diff"].abs().sort_values(ascending=False, kind="mergesort").index).head(max_ties)
    d = d.sort_values("diff", ascending=False, kind="mergesort").reset_index(drop=True)
    fig = _new_figure(figsize=(10.0, 2.2 + 0.27 * max(len(d), 4)))
    ax = fig.add_subplot()
    if not len(d):
        _empty(ax, lang)
        _title(fig, t_["dumbbell_title"].format(a=label_a, b=label_b))
        return fig
    vals = np.concatenate([d["mean_a"], d["mean_b"]])
    xlo, xhi = max(1.0, math.floor((vals.min() - 0.2) * 4) / 4), min(5.0, math.ceil((vals.max() + 0.2) * 4) / 4)
    for thr in (b["weak_below"], b["strong_above"]):
        if xlo < thr < xhi:
            ax.axvline(thr, color="#999999", lw=0.8, ls=":", zorder=0)
    labels = []
    for i, row in enumerate(d.to_dict("records")):
        col = SHARED_COLOUR if (row["rater_unit"], row["target_unit"]) in shared else OTHER_COLOUR
        ax.annotate(
            "",
            xy=(row["mean_b"], i),
            xytext=(row["mean_a"], i),
            arrowprops=dict(arrowstyle="-", color=col, lw=2.0, shrinkA=0, shrinkB=0),
            zorder=1,
        )
        ax.plot(
            [row["mean_a"]],
            [i],
            marker="o",
            markersize=6.5,
            markerfacecolor="#FFFFFF",
            markeredgecolor=col,
            markeredgewidth=1.5,
            linestyle="",
            zorder=2,
        )
        ax.plot([row["mean_b"]], [i], marker="o", markersize=6.5, color=col, linestyle="", zorder=3)
        star = " *" if _sig(row) != "ns" else ""
        labels.append(f"{row['rater_unit']} → {row['target_unit']}{star}")
        ax.text(
            1.01,
            i,
            fmt_num(row["diff"], lang, 2, sign=True),
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=7.5,
        )
    ax.set_yticks(range(len(d)), labels)
    names = _names(units)
    for lab, r, c in zip(ax.get_yticklabels(), d["rater_unit"], d["target_unit"]):
        _hover(fig, lab, f"row-label:tie:{r}->{c}", f"{_full(r, names)} → {_full(c, names)}")
    ax.set_ylim(len(d) - 0.5, -0.6)
    ax.set_xlim(xlo, xhi)
    ax.xaxis.set_major_formatter(_formatter(lang, 1))
    ax.set_xlabel(t_["rc_axis"])
    ax.set_ylabel(t_["tie"])
    ax.grid(axis="x", color="#E6E6E6", lw=0.6)
    ax.set_axisbelow(True)
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            markerfacecolor="#FFFFFF",
            markeredgecolor="#444444",
            linestyle="",
            label=f"{t_['baseline']} ({label_a})",
        ),
        Line2D([], [], marker="o", color="#444444", linestyle="", label=f"{t_['followup']} ({label_b})"),
        Line2D([], [], color=SHARED_COLOUR, lw=2, label=t_["shared"].format(b=label_b)),
        Line2D([], [], color=OTHER_COLOUR, lw=2, label=t_["not_shared"]),
        Line2D([], [], linestyle="", label=t_["sig_marker"]),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    _title(
        fig,
        t_["dumbbell_title"].format(a=label_a, b=label_b),
        t_["dumbbell_sub"].format(n=len(d), total=total) if total > len(d) else None,
        ax,
    )
    return fig


def did_estimate(
    model: pd.DataFrame | None,
    models: Sequence[str] = ("network_did_respondent", "network_did"),
    term: str = "round:shares_network",
) -> dict[str, Any] | None:
    """The network difference-in-differences row of model.csv (first model in
    ``models`` that has a finite estimate), as a dict, or None."""
    if model is None or not len(model):
        return None
    m = model.copy()
    for name in models:
        r = m[(m["model"].astype(str) == name) & (m["term"].astype(str) == term)]
        if len(r) and np.isfinite(pd.to_numeric(r["estimate"], errors="coerce")).iloc[0]:
            out = r.iloc[0].to_dict()
            for c in ("estimate", "se", "ci_low", "ci_high", "p"):
                out[c] = float(pd.to_numeric(pd.Series([out.get(c)]), errors="coerce").iloc[0])
            return out
    return None


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    x = x[np.isfinite(x)]
    if len(x) == 0:
        return np.nan, np.nan, np.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, np.nan, np.nan
    h = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - h, m + h


@_styled
def network_effect(
    changes: pd.DataFrame,
    model: pd.DataFrame | None,
    units: pd.DataFrame,
    shared_pairs: Iterable[Sequence[str]] | None,
    *,
    public_a: Mapping[str, pd.DataFrame] | None = None,
    public_b: Mapping[str, pd.DataFrame] | None = None,
    lang: str,
    min_group_size: int,
    label_a: str = "A",
    label_b: str = "B",
    did_models: Sequence[str] = ("network_did_respondent", "network_did"),
) -> Figure:
    """Shared-network ties vs other ties between base units, both rounds: each
    visible tie a faint dot (from changes.csv ``mean_a``/``mean_b``), the mean
    of the ties with a 95 % t interval over ties, joined across rounds; the
    difference-in-differences estimate and CI of the mixed model (model.csv,
    term ``round:shares_network``) in a box."""
    t_ = _text(lang)
    k = int(min_group_size)
    shared = _pair_set(shared_pairs)
    d = _base_ties(changes, units, k, public_a, public_b)
    d["shared"] = [(r, t) in shared for r, t in zip(d["rater_unit"], d["target_unit"])]
    fig = _new_figure(figsize=(8.5, 6.0))
    ax = fig.add_subplot()
    if not len(d):
        _empty(ax, lang)
        _title(fig, t_["did_title"])
        return fig
    handles = []
    for _gi, (flag, colour, lab) in enumerate(
        ((True, SHARED_COLOUR, t_["shared"].format(b=label_b)), (False, OTHER_COLOUR, t_["not_shared"]))
    ):
        g = d[d["shared"] == flag]
        if not len(g):
            continue
        off = -0.1 if flag else 0.1
        pts = []
        for ri, col in enumerate(("mean_a", "mean_b")):
            x = g[col].to_numpy(dtype=float)
            jitter = ((np.arange(len(x)) * 0.618034) % 1.0 - 0.5) * 0.12  # deterministic spread
            ax.scatter(ri + off * 3.2 + jitter, x, s=11, color=colour, alpha=0.3, lw=0, zorder=1)
            m, lo, hi = _mean_ci(x)
            pts.append(m)
            ax.errorbar(
                [ri + off],
                [m],
                yerr=[[m - lo], [hi - m]] if np.isfinite(lo) else None,
                fmt="o",
                color=colour,
                markersize=8,
                capsize=4,
                lw=1.8,
                zorder=3,
                markeredgecolor="#222222",
            )
            ax.text(
                ri + off,
                (hi if np.isfinite(hi) else m) + 0.02,
                fmt_num(m, lang, 2),
                ha="center",
                va="bottom",
                fontsize=8.5,
                fontweight="bold",
                color=colour,
                zorder=4,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="#FFFFFF", edgecolor="none", alpha=0.85),
            )
        ax.plot([0 + off, 1 + off], pts, color=colour, lw=1.6, zorder=2)
        handles.append(
            Line2D([], [], color=colour, marker="o", lw=1.6, label=f"{lab} ({t_['n_ties'].format(n=len(g))})")
        )
    ax.set_xticks([0, 1], [f"{t_['baseline']}\n{label_a}", f"{t_['followup']}\n{label_b}"])
    ax.set_xlim(-0.6, 1.6)
    ax.yaxis.set_major_formatter(_formatter(lang, 1))
    ax.set_ylabel(t_["rc_axis"])
    ax.set_xlabel(t_["round"])
    ax.grid(axis="y", color="#E6E6E6", lw=0.6)
    ax.set_axisbelow(True)
    est = did_estimate(model, did_models)
    if est is not None:
        txt = t_["did"].format(
            est=fmt_num(est["estimate"], lang, 2, sign=True),
            lo=fmt_num(est["ci_low"], lang, 2),
            hi=fmt_num(est["ci_high"], lang, 2),
        )
    else:
        txt = t_["did_missing"]
    ax.text(
        0.02,
        0.98,
        txt,
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=8.5,
        bbox=dict(boxstyle="round,pad=0.4", facecolor="#FFFFFF", edgecolor="#888888"),
        zorder=5,
    )
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    _title(fig, t_["did_title"], t_["mean_ci"], ax)
    return fig


# --------------------------------------------------------------------------- whole sets


def figure_files(outputs: Iterable[str | Path], stems: Sequence[str]) -> dict[str, Path]:
    """Stem -> output path without suffix, from a rule's figure outputs (each
    stem as ``.png`` and ``.svg``); a stem missing either stops with a message."""
    files = [Path(p) for p in outputs]
    out = {}
    for stem in stems:
        got = {p.suffix: p for p in files if p.stem == stem}
        if set(got) != {".png", ".svg"}:
            raise ValueError(f"figure {stem!r} needs a .png and an .svg output, got {sorted(map(str, got.values()))}")
        out[stem] = got[".png"].with_suffix("")
    return out


def round_figures(
    tables: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    responses: pd.DataFrame,
    units: pd.DataFrame,
    instrument: Any,
    outputs: Iterable[str | Path],
    *,
    lang: str,
    k: int,
    bands: Mapping[str, float],
    round_label: str | None = None,
    invited: int | None = None,
) -> dict[str, Path]:
    """Draw and save every round figure to ``outputs`` (the rule's figure files:
    ``<stem>.png`` and ``<stem>.svg`` for each stem of :data:`ROUND_FIGURES`).

    ``tables``: reader-facing ``ties, units, organisation`` (scores/*.csv);
    ``summary``: validation/summary.json; ``responses``: validated/responses.parquet;
    ``lang``: report.language; ``k``: privacy.min_group_size; ``bands``: scoring.bands.
    Returns stem -> PNG path."""
    files = figure_files(outputs, ROUND_FIGURES)
    b = _bands(bands)
    sizes = group_sizes(units, summary, tables.get("units"), min_group_size=k)
    makers = {
        "rc_matrix": lambda: rc_matrix(
            tables["ties"], units, lang=lang, min_group_size=k, bands=b, round_label=round_label
        ),
        "rc_map": lambda: rc_map(
            tables["ties"],
            units,
            sizes=sizes,
            lang=lang,
            min_group_size=k,
            bands=b,
            round_label=round_label,
            hidden=hidden_count_reasons(summary, k),
        ),
        "dimension_profile": lambda: dimension_profile(
            tables["organisation"],
            tables["ties"],
            units,
            instrument,
            lang=lang,
            min_group_size=k,
            bands=b,
            round_label=round_label,
        ),
        "item_distributions": lambda: item_distributions(
            responses, instrument, lang=lang, min_group_size=k, round_label=round_label
        ),
        "response_overview": lambda: response_overview(
            summary, units, lang=lang, min_group_size=k, invited=invited, round_label=round_label
        ),
    }
    paths = {}
    for name, make in makers.items():
        png, _ = save_figure(make(), files[name])
        paths[name] = png
    return paths


def comparison_figures(
    changes: pd.DataFrame,
    model: pd.DataFrame | None,
    units: pd.DataFrame,
    instrument: Any,
    outputs: Iterable[str | Path],
    *,
    lang: str,
    k: int,
    bands: Mapping[str, float],
    shared_pairs: Iterable[Sequence[str]] | None = None,
    public_a: Mapping[str, pd.DataFrame] | None = None,
    public_b: Mapping[str, pd.DataFrame] | None = None,
    label_a: str = "A",
    label_b: str = "B",
) -> dict[str, Path]:
    """Draw and save every comparison figure to ``outputs`` (``<stem>.png`` and
    ``<stem>.svg`` for each stem of :data:`COMPARISON_FIGURES`); returns stem -> PNG path.
    ``lang``: report.language; ``k``: privacy.min_group_size; ``bands``: scoring.bands.

    ``shared_pairs``: ordered base-unit pairs sharing a network in the follow-up
    (``relcoord.compare.shared_network_pairs(memberships, round_b, order, units)``);
    ``public_a``/``public_b``: the rounds' reader-facing tables (dicts with
    ``ties, units, blocks, organisation`` as in scores/*.csv): a cell hidden in
    either round is then never drawn (:func:`change_visibility`)."""
    files = figure_files(outputs, COMPARISON_FIGURES)
    b = _bands(bands)
    makers = {
        "forest_changes": lambda: forest_changes(
            changes,
            units,
            instrument,
            lang=lang,
            min_group_size=k,
            public_a=public_a,
            public_b=public_b,
            label_a=label_a,
            label_b=label_b,
        ),
        "tie_dumbbell": lambda: tie_dumbbell(
            changes,
            units,
            shared_pairs=shared_pairs,
            public_a=public_a,
            public_b=public_b,
            lang=lang,
            min_group_size=k,
            bands=b,
            label_a=label_a,
            label_b=label_b,
        ),
        "network_effect": lambda: network_effect(
            changes,
            model,
            units,
            shared_pairs,
            public_a=public_a,
            public_b=public_b,
            lang=lang,
            min_group_size=k,
            label_a=label_a,
            label_b=label_b,
        ),
    }
    paths = {}
    for name, make in makers.items():
        png, _ = save_figure(make(), files[name])
        paths[name] = png
    return paths
