"""Reader-facing text: one catalogue per language, ``locales/<lang>.yaml``.

A catalogue is one nested mapping grouped by where its texts are used:
``number`` (separators, percent and interval patterns; :mod:`relcoord.present`),
``report`` and ``index`` (:mod:`relcoord.report` and its templates),
``figures``, ``blocks`` and ``captions`` (:mod:`relcoord.figures`),
``snakemake_report`` (the ``snakemake --report`` descriptions) and
``validation`` (:mod:`relcoord.validation_report`). Every catalogue has the
same keys and the same ``{placeholders}`` per key (tests/test_locales.py);
code holds keys, never words.

Adding a language: add ``locales/<lang>.yaml``, add ``<lang>`` to
``report.language``'s enum in ``relcoord/schemas/config.schema.yaml`` and
render its ``snakemake --report`` captions with
``python -m relcoord.locales workflow/report``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = ["LOCALES", "languages", "text", "group", "rst_captions", "write_rst_captions"]

LOCALES = Path(__file__).with_name("locales")

#: snakemake --report caption files: the figure captions and the report descriptions; placeholders
#: become Jinja expressions over ``snakemake.config`` (Snakemake renders a caption before reading it as rst)
_RST_FIELDS = {
    "k": 'snakemake.config["privacy"]["min_group_size"]',
    "weak": 'snakemake.config["scoring"]["bands"]["weak_below"]',
    "strong": 'snakemake.config["scoring"]["bands"]["strong_above"]',
}


def _frozen(x: Any) -> Any:
    if isinstance(x, dict):
        return MappingProxyType({str(k): _frozen(v) for k, v in x.items()})
    return x


@cache
def languages() -> tuple[str, ...]:
    """The available catalogues' language codes (file stems of ``locales/*.yaml``), sorted."""
    return tuple(sorted(p.stem for p in LOCALES.glob("*.yaml")))


@cache
def text(lang: str) -> Mapping[str, Any]:
    """The catalogue of ``lang`` (read once, read-only): group -> key -> text."""
    if lang not in languages():
        raise ValueError(f"language must be one of {list(languages())}, got {lang!r}")
    with open(LOCALES / f"{lang}.yaml", encoding="utf-8") as fh:
        return _frozen(yaml.safe_load(fh))


def group(name: str) -> dict[str, Mapping[str, Any]]:
    """lang -> one group of every catalogue, e.g. ``group("figures")["da"]["matrix_title"]``."""
    return {lang: text(lang)[name] for lang in languages()}


def _rst_field(name: str, lang: str) -> str:
    expr = _RST_FIELDS[name]
    if name == "k":
        return "{{ " + expr + " }}"
    dec = text(lang)["number"]["decimal"]
    fmt = f'"%.1f"|format({expr})' + (f'|replace(".", "{dec}")' if dec != "." else "")
    return "{{ " + fmt + " }}"


def rst_captions(lang: str) -> dict[str, str]:
    """File name -> text of the ``snakemake --report`` caption files of ``lang``
    (``workflow/report/<lang>/``): one per figure (group ``captions``) and the
    workflow and report descriptions (group ``snakemake_report``), thresholds
    as Jinja expressions over the run's config."""
    t = text(lang)
    fields = {name: _rst_field(name, lang) for name in _RST_FIELDS}
    out = {}
    for grp in ("snakemake_report", "captions"):
        for name, tpl in t[grp].items():
            out[f"{name}.rst"] = tpl.format(**fields) + "\n"
    return out


def write_rst_captions(folder: str | Path) -> list[Path]:
    """Write ``<folder>/<lang>/*.rst`` for every language (``python -m relcoord.locales workflow/report``)."""
    paths = []
    for lang in languages():
        d = Path(folder) / lang
        d.mkdir(parents=True, exist_ok=True)
        for name, body in rst_captions(lang).items():
            (d / name).write_text(body, encoding="utf-8")
            paths.append(d / name)
    return paths


if __name__ == "__main__":          # pragma: no cover
    for p in write_rst_captions(sys.argv[1] if len(sys.argv) > 1 else "workflow/report"):
        print(p)
