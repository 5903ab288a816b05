"""The workflow configuration (config/config.yaml): loading, validation
against workflow/schemas/config.schema.yaml, and cross-checks a JSON schema
cannot express (comparisons naming configured rounds, distinct dates)."""

from __future__ import annotations

from pathlib import Path

from .errors import RelcoordError
from .schema import read_yaml, validate


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
            problems.append(f"comparisons/{i}: baseline {c['baseline']!r} is not dated before followup {c['followup']!r}")
    dates = [r["date"] for r in rounds.values()]
    if len(set(dates)) != len(dates):
        problems.append("two rounds share a date; dates order the rounds and must differ")
    if problems:
        raise RelcoordError("invalid configuration:\n  - " + "\n  - ".join(problems), file=source,
                            hint="name only configured round ids in comparisons (see config/README.md)")
    return cfg


def load_config(path: str | Path) -> dict:
    cfg = normalise_keys(read_yaml(path) or {})
    validate(cfg, "config.schema.yaml", str(path))
    return check_config(cfg, str(path))


def round_order(cfg: dict) -> list[str]:
    """Round ids ordered by date."""
    return [r for r, _ in sorted(cfg["rounds"].items(), key=lambda kv: (kv[1]["date"], kv[0]))]


def check_round_files(cfg: dict, base: str | Path = ".", source: str = "config/config.yaml") -> None:
    """Every file the config names must exist before anything runs: each
    round's export (a file, or a folder for the SurveyXact CSV trio and the
    canonical format) and codebook, the unit register, memberships and the
    instrument. A missing one stops the run naming the config key, so results
    are never re-rendered from an earlier export that is no longer there."""
    base = Path(base)
    problems = []
    for key in ("units", "memberships", "instrument"):
        if key in cfg and not (base / cfg[key]).is_file():
            problems.append(f"{key}: {cfg[key]!r} does not exist (or is not a file)")
    for rid, r in cfg["rounds"].items():
        export = base / r["export"]
        if not export.exists():
            problems.append(f"rounds/{rid}/export: {r['export']!r} does not exist")
        elif not (export.is_file() or export.is_dir()):
            problems.append(f"rounds/{rid}/export: {r['export']!r} is neither a regular file nor a folder")
        elif export.is_dir() and not any(p.is_file() and not p.name.startswith(".") for p in export.iterdir()):
            problems.append(f"rounds/{rid}/export: the folder {r['export']!r} holds no files")
        if not (base / r["codebook"]).is_file():
            problems.append(f"rounds/{rid}/codebook: {r['codebook']!r} does not exist (or is not a file)")
    if problems:
        raise RelcoordError("a file named in the configuration is missing:\n  - " + "\n  - ".join(problems),
                            file=source, hint="put the file where the config says (paths are relative to the "
                                              "project folder) or correct the path; nothing was run, and the "
                                              "results of the last run are unchanged")
