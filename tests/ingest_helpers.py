"""Helpers for the reader tests: a small municipality on disk and a config
naming one export, so a test ingests from config alone, like an analyst."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from relcoord.config import load_config, settings_from_config
from relcoord.ingest import ingest_round

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = ROOT / "config" / "instrument.yaml"
KEY = b"reader-test-key-0123456789abcdef"

#: three base units (Danish letters on purpose), one network
UNITS = pd.DataFrame({
    "unit_id": ["HJP", "TRR", "PPR", "N-TI"],
    "name": ["Hjemmeplejen", "Træning og Rehabilitering", "Pædagogisk Psykologisk Rådgivning",
             "Netværk for tidlig indsats"],
    "kind": ["base", "base", "base", "network"],
    "area": ["Social og Sundhed", "Social og Sundhed", "Børn og Unge", ""],
    "valid_from": "", "valid_to": "", "successor": "", "aliases": ["", "Træning", "PPR", ""],
})
MEMBERSHIPS = pd.DataFrame({"network_id": ["N-TI", "N-TI"], "unit_id": ["HJP", "PPR"], "from_round": "",
                            "to_round": ""})
ITEMS = ["frequent", "timely", "accurate", "problem_solving", "shared_goals", "shared_knowledge", "mutual_respect"]


def write_world(folder: Path, units: pd.DataFrame = UNITS, memberships: pd.DataFrame = MEMBERSHIPS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    units.to_csv(folder / "units.tsv", sep="\t", index=False)
    memberships.to_csv(folder / "memberships.tsv", sep="\t", index=False)


def make_config(folder: Path, fmt: str, export, codebook: dict | str | Path, reader: dict | None = None,
                max_quarantined: float = 1.0, **validation) -> Path:
    """Write units, memberships, the codebook and config.yaml into ``folder``; return the config path."""
    folder = Path(folder)
    if not (folder / "units.tsv").exists():
        write_world(folder)
    if isinstance(codebook, dict):
        (folder / "codebook.yaml").write_text(yaml.safe_dump(codebook, allow_unicode=True, sort_keys=False),
                                              encoding="utf-8")
        codebook = folder / "codebook.yaml"
    rnd = {"date": "2025-03-01", "format": fmt, "export": str(export), "codebook": str(codebook)}
    # the reader tests' small exports need not cover every base unit of the register: accepted here
    # (a base unit left without a valid respondent otherwise stops the round; tests/test_validation.py)
    registered = pd.read_csv(folder / "units.tsv", sep="\t", dtype=str, keep_default_na=False)
    validation.setdefault("accept_missing_units", list(registered.loc[registered["kind"] == "base", "unit_id"]))
    if reader:
        rnd["reader"] = reader
    cfg = {"units": str(folder / "units.tsv"), "memberships": str(folder / "memberships.tsv"),
           "instrument": str(INSTRUMENT), "rounds": {"2025": rnd},
           "validation": {"max_quarantined_fraction": max_quarantined, **validation}}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def ingest(folder: Path, fmt: str, export, codebook, reader: dict | None = None, **kw):
    cfg = load_config(make_config(folder, fmt, export, codebook, reader, **kw))
    result, _ = ingest_round(settings_from_config(cfg), "2025", key=KEY)
    s = result.summary
    assert s["records_in"] == s["valid"] + s["quarantined"] and s["accounting_ok"]
    return result


def rules(result) -> dict[tuple[int, str], str]:
    """(source_row, rule) -> column, for compact assertions."""
    f = result.failures
    return {(int(r), rule): c for r, rule, c in zip(f["source_row"], f["rule"], f["column"])}
