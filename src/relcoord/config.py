"""The workflow configuration (config/config.yaml): loading, validation
against relcoord/schemas/config.schema.yaml, cross-checks a JSON schema
cannot express (comparisons naming configured rounds, distinct dates), and
the decoding into typed, frozen :class:`Settings`.

Settings in, values down: the config is decoded here once; every default is
the schema's ``default:`` (filled in by the schema validation), none is
restated in Python. The library below takes explicit values, never a config
mapping: this module is the only one that reads one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import RelcoordError
from .schema import _Validator, describe_error, load_schema, read_yaml, validate


def normalise_keys(cfg: dict) -> dict:
    """YAML reads unquoted round ids like 2024 as numbers: make them strings."""
    if isinstance(cfg.get("rounds"), dict):
        cfg["rounds"] = {str(k): v for k, v in cfg["rounds"].items()}
    for c in cfg.get("comparisons") or []:
        if isinstance(c, dict):
            for k in ("baseline", "followup"):
                if k in c and not isinstance(c[k], str):
                    c[k] = str(c[k])
    for r in (cfg.get("rounds") or {}).values():
        if isinstance(r, dict) and "date" in r and not isinstance(r["date"], str):
            r["date"] = str(r["date"])
    if isinstance(cfg.get("trends"), list):
        cfg["trends"] = [x if isinstance(x, str) else str(x) for x in cfg["trends"]]
    return cfg


def check_config(cfg: dict, source: str = "config/config.yaml") -> dict:
    """Cross-checks after schema validation. Raises RelcoordError."""
    rounds = cfg["rounds"]
    problems = []
    for i, c in enumerate(cfg.get("comparisons", [])):
        for k in ("baseline", "followup"):
            if c[k] not in rounds:
                problems.append(f"comparisons/{i}/{k}: round {c[k]!r} is not configured under rounds "
                                f"(configured: {', '.join(rounds)})")
        if c["baseline"] == c["followup"]:
            problems.append(f"comparisons/{i}: baseline and followup are the same round {c['baseline']!r}")
        elif c["baseline"] in rounds and c["followup"] in rounds and \
                rounds[c["baseline"]]["date"] >= rounds[c["followup"]]["date"]:
            problems.append(
                f"comparisons/{i}: baseline {c['baseline']!r} is not dated before followup {c['followup']!r}"
            )
    for r in cfg.get("trends") or []:
        if r not in rounds:
            problems.append(f"trends: round {r!r} is not configured under rounds (configured: {', '.join(rounds)})")
    if len(cfg.get("trends") or []) in (1, 2):
        problems.append("trends: name three or more rounds (a trend needs three points), or [] for no trend")
    dates = [r["date"] for r in rounds.values()]
    if len(set(dates)) != len(dates):
        problems.append("two rounds share a date; dates order the rounds and must differ")
    if problems:
        raise RelcoordError(
            "invalid configuration:\n  - " + "\n  - ".join(problems),
            file=source,
            hint="name only configured round ids in comparisons (see config/README.md)",
        )
    return cfg


def load_config(path: str | Path) -> dict:
    cfg = normalise_keys(read_yaml(path) or {})
    validate(cfg, "config.schema.yaml", str(path))
    return check_config(cfg, str(path))


def round_order(cfg: dict) -> list[str]:
    """Round ids ordered by date."""
    return [r for r, _ in sorted(cfg["rounds"].items(), key=lambda kv: (kv[1]["date"], kv[0]))]


def period_of(round_id: str, date: str, period: str) -> str:
    """The benchmark period of a round (relcoord.benchmark): the year of its date (``period="year"``)
    or its id (``"round"``)."""
    if period == "year":
        return str(date)[:4]
    if period == "round":
        return str(round_id)
    raise RelcoordError(f"period must be 'year' or 'round', got {period!r}")


def check_round_files(settings: Settings, base: str | Path = ".", source: str = "config/config.yaml") -> None:
    """Every file the config names must exist before anything runs: each
    round's export (a file, or a folder for the SurveyXact CSV trio and the
    canonical format) and codebook, the unit register, memberships, the
    instrument and the staff register when one is configured. A missing one stops the run naming the
    config key, so results are never re-rendered from an earlier export that is no longer there."""
    base = Path(base)
    problems = []
    named = [(key, getattr(settings, key)) for key in ("units", "memberships", "instrument", "staff")]
    if settings.benchmark is not None:
        named += [("benchmark/positions", settings.benchmark.positions), ("benchmark/pool", settings.benchmark.pool)]
    for key, path in named:
        if path is None:                    # staff, benchmark: optional
            continue
        if not (base / path).is_file():
            problems.append(f"{key}: {path!r} does not exist (or is not a file)")
    for rid, r in settings.rounds.items():
        export = base / r.export
        if not export.exists():
            problems.append(f"rounds/{rid}/export: {r.export!r} does not exist")
        elif not (export.is_file() or export.is_dir()):
            problems.append(f"rounds/{rid}/export: {r.export!r} is neither a regular file nor a folder")
        elif export.is_dir() and not any(p.is_file() and not p.name.startswith(".") for p in export.iterdir()):
            problems.append(f"rounds/{rid}/export: the folder {r.export!r} holds no files")
        if not (base / r.codebook).is_file():
            problems.append(f"rounds/{rid}/codebook: {r.codebook!r} does not exist (or is not a file)")
    if problems:
        raise RelcoordError(
            "a file named in the configuration is missing:\n  - " + "\n  - ".join(problems),
            file=source,
            hint="put the file where the config says (paths are relative to the "
            "project folder) or correct the path; nothing was run, and the "
            "results of the last run are unchanged",
        )


# --------------------------------------------------------------------------- typed settings


@dataclass(frozen=True)
class Bands(Mapping):
    """RC bands (``scoring.bands``): weak < weak_below <= moderate <= strong_above < strong.
    Also a read-only mapping (``bands["weak_below"]``), so it can be passed where the
    figures and report take ``bands``."""

    weak_below: float
    strong_above: float

    def __post_init__(self) -> None:
        if not self.weak_below <= self.strong_above:
            raise RelcoordError(
                f"scoring.bands: weak_below ({self.weak_below}) is above strong_above ({self.strong_above})",
                hint="weak_below must be <= strong_above",
            )

    def __getitem__(self, key: str) -> float:
        if key not in ("weak_below", "strong_above"):
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(("weak_below", "strong_above"))

    def __len__(self) -> int:
        return 2


@dataclass(frozen=True)
class Scoring:
    """``scoring``: how respondent answers become RC scores and their intervals."""

    min_items: int
    min_communication: int
    min_relationship: int
    networks_as_raters: bool
    bands: Bands
    ci: str
    bootstrap_reps: int

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Scoring:
        """From :meth:`as_values` output (a rule's params): every key given, none defaulted."""
        return cls(**{**values, "bands": Bands(**values["bands"])})

    def as_values(self) -> dict[str, Any]:
        """Plain values (for a rule's params; :meth:`from_values` is the inverse)."""
        return {f.name: (dict(self.bands) if f.name == "bands" else getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class Privacy:
    """``privacy``: the smallest group shown (k) and where the pseudonymisation key lives."""

    min_group_size: int
    secret_env: str
    secret_file: str


@dataclass(frozen=True)
class Validation:
    """``validation``: when a respondent is flagged and when a round stops."""

    max_quarantined_fraction: float
    straightlining_min_answers: int
    min_targets_fraction: float
    accept_missing_units: tuple[str, ...]


@dataclass(frozen=True)
class Benchmark:
    """``benchmark``: the organisation's position in a consortium's benchmark (relcoord.benchmark)."""

    positions: str
    pool: str | None
    period: str
    min_organisations: int


@dataclass(frozen=True)
class Weighting:
    """``weighting``: response rates and weights (used only with ``staff``)."""

    low_response_ratio: float


@dataclass(frozen=True)
class Report:
    """``report``: the readers' language and the reports' title (in that language, :func:`in_language`)."""

    language: str
    title: str


@dataclass(frozen=True)
class Round:
    """One entry of ``rounds``. ``label`` is in the report language (:func:`in_language`; the config may
    give it per language), the round id when the config gives none."""

    id: str
    date: str
    label: str
    format: str
    export: str
    codebook: str
    reader: Mapping[str, Any]
    invited: int | None


@dataclass(frozen=True)
class Comparison:
    """One entry of ``comparisons``; ``id`` is ``<baseline>_vs_<followup>`` (its result folder)."""

    baseline: str
    followup: str
    panel_key: str | None

    @property
    def id(self) -> str:
        return f"{self.baseline}_vs_{self.followup}"


@dataclass(frozen=True)
class Settings:
    """The whole configuration, decoded once (:func:`settings_from_config`)."""

    units: str
    memberships: str
    instrument: str
    rounds: Mapping[str, Round]
    round_order: tuple[str, ...]
    comparisons: tuple[Comparison, ...]
    privacy: Privacy
    scoring: Scoring
    validation: Validation
    report: Report
    seed: int
    #: the rounds of results/trends/ in date order (``trends``; every round when the config leaves it out
    #: and has three or more); empty: no trend
    trends: tuple[str, ...]
    #: the staff register (``staff``, relcoord.weights), None when the config gives none
    staff: str | None = None
    weighting: Weighting = Weighting(low_response_ratio=0.5)
    #: the consortium benchmark (``benchmark``), None when the config gives none
    benchmark: Benchmark | None = None


def _privacy(p: Mapping[str, Any]) -> Privacy:
    return Privacy(
        min_group_size=int(p["min_group_size"]), secret_env=str(p["secret_env"]), secret_file=str(p["secret_file"])
    )


def _scoring(s: Mapping[str, Any]) -> Scoring:
    b = s["bands"]
    return Scoring(
        min_items=int(s["min_items"]),
        min_communication=int(s["min_communication"]),
        min_relationship=int(s["min_relationship"]),
        networks_as_raters=bool(s["networks_as_raters"]),
        bands=Bands(weak_below=b["weak_below"], strong_above=b["strong_above"]),
        ci=str(s["ci"]),
        bootstrap_reps=int(s["bootstrap_reps"]),
    )


def _validation(v: Mapping[str, Any]) -> Validation:
    return Validation(
        max_quarantined_fraction=v["max_quarantined_fraction"],
        straightlining_min_answers=int(v["straightlining_min_answers"]),
        min_targets_fraction=v["min_targets_fraction"],
        accept_missing_units=tuple(str(u) for u in v["accept_missing_units"]),
    )


def _weighting(w: Mapping[str, Any]) -> Weighting:
    return Weighting(low_response_ratio=float(w["low_response_ratio"]))


def in_language(value: Any, lang: str, default: str = "") -> str:
    """A text the config may give per language: a plain string (every language), or a mapping
    language -> text (``{da: Før 2024, en: Baseline 2024}``), read in ``lang``; a language the
    mapping leaves out reads its first text; ``default`` when there is none."""
    if isinstance(value, Mapping):
        if lang in value and value[lang] not in (None, ""):
            return str(value[lang])
        return next((str(v) for v in value.values() if v not in (None, "")), default)
    return default if value is None or value == "" else str(value)


def _report(r: Mapping[str, Any]) -> Report:
    lang = str(r["language"])
    return Report(language=lang, title=in_language(r["title"], lang))


_SECTIONS = {"privacy": _privacy, "scoring": _scoring, "validation": _validation, "report": _report,
             "weighting": _weighting}


def settings_from_config(cfg: Mapping[str, Any], source: str = "config/config.yaml") -> Settings:
    """Decode a config (as read from config.yaml) into :class:`Settings`: keys
    normalised, validated against the schema (which fills every default),
    cross-checked (:func:`check_config`). ``cfg`` itself is not changed.
    Raises RelcoordError naming each problem."""
    cfg = check_config(validate(normalise_keys(copy.deepcopy(dict(cfg))), "config.schema.yaml", source), source)
    lang = str(cfg["report"]["language"])
    rounds = {
        rid: Round(
            id=rid,
            date=r["date"],
            label=in_language(r.get("label"), lang, rid),
            format=r["format"],
            export=r["export"],
            codebook=r["codebook"],
            reader=MappingProxyType(dict(r["reader"])),
            invited=r.get("invited"),
        )
        for rid, r in cfg["rounds"].items()
    }
    return Settings(
        units=cfg["units"],
        memberships=cfg["memberships"],
        instrument=cfg["instrument"],
        rounds=MappingProxyType(rounds),
        round_order=tuple(round_order(cfg)),
        comparisons=tuple(
            Comparison(baseline=c["baseline"], followup=c["followup"], panel_key=c.get("panel_key"))
            for c in cfg["comparisons"]
        ),
        privacy=_privacy(cfg["privacy"]),
        scoring=_scoring(cfg["scoring"]),
        validation=_validation(cfg["validation"]),
        report=_report(cfg["report"]),
        seed=int(cfg["seed"]),
        trends=tuple(r for r in round_order(cfg)
                     if r in cfg.get("trends", list(cfg["rounds"]) if len(cfg["rounds"]) >= 3 else [])),
        staff=cfg.get("staff"),
        weighting=_weighting(cfg["weighting"]),
        benchmark=Benchmark(positions=str(b["positions"]), pool=b.get("pool"), period=b.get("period", "year"),
                            min_organisations=int(b.get("min_organisations", 5)))
        if (b := cfg.get("benchmark")) else None,
    )


def load_settings(path: str | Path) -> Settings:
    """:class:`Settings` from a config file."""
    return settings_from_config(read_yaml(path) or {}, str(path))


def section(name: str, values: Mapping[str, Any] | None = None
            ) -> Privacy | Scoring | Validation | Report | Weighting:
    """One settings section (``privacy``, ``scoring``, ``validation``, ``report``, ``weighting``)
    from its config mapping, the schema's defaults filled in for what it leaves
    out: e.g. ``section("scoring", {"ci": "bootstrap"})`` (for callers without a
    whole config: tests, benchmarks, simulations)."""
    if name not in _SECTIONS:
        raise KeyError(f"no settings section {name!r} (one of {', '.join(_SECTIONS)})")
    schema = load_schema("config.schema.yaml")
    sub = {"type": "object", "properties": {name: schema["properties"][name]}}
    data = {name: copy.deepcopy(dict(values or {}))}
    errors = sorted(_Validator(sub).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise RelcoordError(
            "invalid configuration:\n  - " + "\n  - ".join(describe_error(e) for e in errors),
            hint="the allowed keys and values are documented in config/README.md",
        )
    return _SECTIONS[name](data[name])


# --------------------------------------------------------------------------- writing a study's config

def study_config(round_id: str, round_entry: Mapping[str, Any], *, language: str | None,
                 accept_missing_units: Sequence[str]) -> dict:
    """A new study's config.yaml (relcoord init): its first round, the register paths, the report
    language when given (else the schema's default), the base units accepted as missing."""
    cfg: dict[str, Any] = {"units": "config/units.tsv", "memberships": "config/memberships.tsv",
                           "instrument": "config/instrument.yaml", "rounds": {round_id: dict(round_entry)},
                           "comparisons": []}
    if language:
        cfg["report"] = {"language": language}
    if accept_missing_units:
        cfg["validation"] = {"accept_missing_units": list(accept_missing_units)}
    return cfg


def config_with_round(cfg: Mapping[str, Any], round_id: str, round_entry: Mapping[str, Any], previous: str, *,
                      accept_missing_units: Sequence[str]) -> dict:
    """``cfg`` (a study's config.yaml as read) with a later round, its comparison with ``previous`` and
    more base units accepted as missing (relcoord add-round)."""
    out = copy.deepcopy(dict(cfg))
    out.setdefault("rounds", {})[round_id] = dict(round_entry)
    out["comparisons"] = [*(out.get("comparisons") or []), {"baseline": previous, "followup": round_id}]
    if accept_missing_units:
        val = out.setdefault("validation", {})
        val["accept_missing_units"] = sorted({*val.get("accept_missing_units", []), *accept_missing_units})
    return out


def config_text(cfg: Mapping[str, Any]) -> str:
    """config.yaml as relcoord init / add-round write it."""
    import yaml  # noqa: PLC0415 - only the study commands write a config

    return ("# relcoord study configuration (written by `relcoord init` / `add-round`; every key is documented\n"
            "# in config/README.md). Paths are relative to this study's folder unless absolute.\n"
            + yaml.safe_dump(dict(cfg), allow_unicode=True, sort_keys=False, width=110))
