"""The benchmark configuration (``benchmark.yaml``): loading, validation against
relcoord/schemas/benchmark.schema.yaml (which fills the defaults) and decoding into a frozen
:class:`BenchmarkSettings`, plus each organisation's own study settings.

benchmark.yaml lists the consortium's organisations (id -> study folder, relative to the folder
holding benchmark.yaml), ``min_organisations`` (default 5, refused below 3) and ``period``
(``year`` or ``round``) and ``scores`` (``run`` or ``published``); see :mod:`relcoord.benchmark` for
what is pooled.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .benchmark import round_periods
from .config import Settings, load_settings
from .errors import RelcoordError
from .schema import read_yaml, validate

__all__ = ["BenchmarkSettings", "benchmark_from_config", "load_benchmark", "organisation_settings",
           "study_path", "benchmark_rounds"]


@dataclass(frozen=True)
class BenchmarkSettings:
    """benchmark.yaml decoded: ``organisations`` id -> study folder (as written), ``min_organisations``,
    ``period``, ``scores`` (``run``: the consortium workflow scores every organisation; ``published``:
    each organisation's own ``results/<round>/scores/`` tables are read)."""

    organisations: Mapping[str, str]
    min_organisations: int
    period: str
    scores: str = "run"


def benchmark_from_config(cfg: Mapping[str, Any], source: str = "benchmark.yaml") -> BenchmarkSettings:
    """Validate (schema defaults filled in) and decode; ``cfg`` itself is not changed."""
    cfg = validate(copy.deepcopy(dict(cfg or {})), "benchmark.schema.yaml", source)
    orgs = {str(k): str(v) for k, v in cfg["organisations"].items()}
    folders = [Path(v).as_posix().rstrip("/") for v in orgs.values()]
    if len(set(folders)) != len(folders):
        raise RelcoordError("two organisations name the same study folder", file=source,
                            hint="give each organisation its own study folder")
    return BenchmarkSettings(organisations=MappingProxyType(orgs), min_organisations=int(cfg["min_organisations"]),
                             period=str(cfg["period"]), scores=str(cfg["scores"]))


def load_benchmark(path: str | Path) -> BenchmarkSettings:
    return benchmark_from_config(read_yaml(path) or {}, str(path))


def study_path(folder: str | Path, path: str | Path) -> str:
    """A path of a study's config (relative to the study folder) as seen from the consortium folder."""
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else Path(folder) / p)


def organisation_settings(bench: BenchmarkSettings, base: str | Path = ".") -> dict[str, Settings]:
    """org id -> its study's :class:`Settings` (``<folder>/config/config.yaml``), every problem of every
    organisation reported at once."""
    out, problems = {}, []
    for org, folder in bench.organisations.items():
        cfg = Path(base) / folder / "config" / "config.yaml"
        if not cfg.is_file():
            problems.append(f"organisations/{org}: {cfg} does not exist (not a relcoord study)")
            continue
        try:
            out[org] = load_settings(cfg)
        except RelcoordError as err:
            problems.append(f"organisations/{org}: {err}")
    if problems:
        raise RelcoordError("the benchmark's organisations cannot be read:\n  - " + "\n  - ".join(problems),
                            hint="each organisation's folder must be a relcoord study (relcoord init)")
    return out


def benchmark_rounds(settings: Settings, period: str) -> dict[str, str]:
    """period -> the organisation's round representing it (:func:`relcoord.benchmark.round_periods`)."""
    return round_periods({rid: r.date for rid, r in settings.rounds.items()}, period)
