"""Codebooks: where an export keeps the respondent id, base unit, network
memberships and each (item, target unit) answer.

A codebook is a small YAML file (schema: workflow/schemas/codebook.schema.yaml).
Unit and network texts found in the export (value labels, matrix row texts,
choice texts) are matched to the unit register by unit_id, name or alias,
ignoring case, surrounding blanks and repeated spaces.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import RelcoordError
from .instrument import Instrument
from .readers import RawExport
from .schema import read_yaml, validate


@dataclass(frozen=True)
class Codebook:
    respondent_id: str
    rater_unit: str
    items: dict[str, str | dict]
    networks: str | None = None
    background: tuple[str, ...] = ()
    source: str = ""


@dataclass
class ColumnMap:
    """The resolved codebook for one export."""

    respondent_id: str
    rater_unit: str
    rater_codes: dict[str, str]          # export code -> base unit_id (only matched codes)
    rater_labels: dict[str, str]         # export code -> label text (all codes)
    networks: dict[str, str]             # 0/1 variable -> network unit_id
    items: pd.DataFrame                  # variable, item, target_unit (instrument order, then target)
    dont_know: dict[str, set[str]] = field(default_factory=dict)  # variable -> codes labelled "don't know"
    background: tuple[str, ...] = ()
    unused: list[str] = field(default_factory=list)  # export columns not carried (privacy: dropped)


def load_codebook(path: str | Path) -> Codebook:
    data = read_yaml(path) or {}
    data = validate(data, "codebook.schema.yaml", str(path))
    return Codebook(respondent_id=data["respondent_id"], rater_unit=data["rater_unit"], items=dict(data["items"]),
                    networks=data.get("networks"), background=tuple(data.get("background", [])), source=str(path))


def normalise_text(text: str) -> str:
    """Case-folded, NFC, single-spaced, stripped: how unit names are matched."""
    text = unicodedata.normalize("NFC", str(text))
    return re.sub(r"\s+", " ", text).strip().casefold()


def unit_lookup(units: pd.DataFrame, kind: str | None = None) -> dict[str, str]:
    """normalised text -> unit_id for ids, names and '|'-separated aliases."""
    u = units if kind is None else units[units["kind"] == kind]
    out: dict[str, str] = {}
    for uid, name, aliases in zip(u["unit_id"], u["name"], u.get("aliases", pd.Series([""] * len(u)))):
        for text in [uid, name, *str(aliases).split("|")]:
            if text and text.strip():
                out.setdefault(normalise_text(text), uid)
    return out


def _row_text(question_text: str) -> str:
    """Matrix row text: what follows the last ' - ' of SurveyXact's questionText."""
    parts = str(question_text).rsplit(" - ", 1)
    return parts[-1] if len(parts) == 2 else str(question_text)


def resolve(export: RawExport, codebook: Codebook, units: pd.DataFrame, instrument: Instrument,
            round_id: str) -> ColumnMap:
    """Resolve the codebook against one export. Structural problems (a column
    the codebook names is absent, a matrix row naming no registered unit, an
    item unknown to the instrument) raise one RelcoordError."""
    cols = set(export.data.columns)
    src = str(export.files[0]) if export.files else export.format
    problems: list[str] = []

    def need(var: str, what: str) -> None:
        if var not in cols:
            problems.append(f"column {var!r} ({what}, from codebook {codebook.source}) is not in the export")

    need(codebook.respondent_id, "respondent id")
    need(codebook.rater_unit, "base unit")

    structure = export.structure.fillna("").astype(str)
    labels = export.labels.fillna("").astype(str)
    labels_by_var = {v: dict(zip(g["value"].str.strip(), g["label"])) for v, g in labels.groupby("variable")}

    # Rater unit: value labels -> base units.
    base = unit_lookup(units, "base")
    rater_labels = labels_by_var.get(codebook.rater_unit, {})
    if codebook.rater_unit in cols and not rater_labels:
        problems.append(f"the base-unit variable {codebook.rater_unit!r} has no value labels in the export's labels")
    rater_codes = {code: base[normalise_text(lab)] for code, lab in rater_labels.items() if normalise_text(lab) in base}

    # Networks: 0/1 variables of one multiple-choice question.
    networks: dict[str, str] = {}
    if codebook.networks:
        net = unit_lookup(units, "network")
        rows = structure[structure["questionName"] == codebook.networks]
        if rows.empty:
            problems.append(f"the networks question {codebook.networks!r} is not in the export's structure")
        for var, text in zip(rows["variableName"], rows["choiceText"]):
            need(var, f"network choice of {codebook.networks}")
            key = normalise_text(text)
            if key not in net:
                problems.append(f"network choice {var!r} says {text.strip()!r}, which is not a network in the unit "
                                f"register for round {round_id}")
            else:
                networks[var] = net[key]

    # Items: matrix question -> one variable per target unit.
    every = unit_lookup(units)
    item_rows = []
    for key, spec in codebook.items.items():
        if key not in instrument.keys:
            problems.append(f"codebook item {key!r} is not an item of the instrument ({', '.join(instrument.keys)})")
            continue
        if isinstance(spec, dict):
            for var, target in spec["variables"].items():
                need(var, f"item {key}")
                uid = every.get(normalise_text(target))
                if uid is None:
                    problems.append(f"item {key}: variable {var!r} maps to {target!r}, not a unit in round {round_id}")
                else:
                    item_rows.append((var, key, uid))
            continue
        rows = structure[structure["questionName"] == spec]
        if rows.empty:
            problems.append(f"item {key}: question {spec!r} is not in the export's structure")
        for var, qtext, ctext in zip(rows["variableName"], rows["questionText"], rows["choiceText"]):
            need(var, f"item {key}")
            text = ctext if ctext.strip() else _row_text(qtext)
            uid = every.get(normalise_text(text))
            if uid is None:
                problems.append(f"item {key}: matrix row {var!r} names {text.strip()!r}, which is not a unit in "
                                f"the unit register for round {round_id}")
            else:
                item_rows.append((var, key, uid))
    missing_items = [k for k in instrument.index_keys if k not in codebook.items]
    if missing_items:
        problems.append(f"the codebook maps no question to item(s) {', '.join(missing_items)}")
    for var in codebook.background:
        need(var, "background field")

    items = pd.DataFrame(item_rows, columns=["variable", "item", "target_unit"])
    dup = items[items.duplicated(["item", "target_unit"], keep=False)]
    if len(dup):
        problems.append("more than one variable answers the same (item, target): "
                        + ", ".join(f"{v}->{i}/{t}" for v, i, t in dup.head(6).itertuples(index=False)))
    if problems:
        raise RelcoordError("the export does not match the codebook:\n  - " + "\n  - ".join(problems), file=src,
                            hint=f"check the variable names in {codebook.source} against the export, and that every "
                                 "unit named in the export is in config/units.tsv (name or aliases) for this round")

    order = {k: i for i, k in enumerate(instrument.keys)}
    items = items.assign(_o=items["item"].map(order)).sort_values(["_o", "target_unit"]).drop(columns="_o")
    missing_words = {normalise_text(w) for w in instrument.missing_labels}
    dont_know = {var: {c for c, lab in labels_by_var.get(var, {}).items() if normalise_text(lab) in missing_words}
                 for var in items["variable"]}
    used = {codebook.respondent_id, codebook.rater_unit, *networks, *items["variable"], *codebook.background}
    return ColumnMap(respondent_id=codebook.respondent_id, rater_unit=codebook.rater_unit, rater_codes=rater_codes,
                     rater_labels=rater_labels, networks=networks, items=items.reset_index(drop=True),
                     dont_know=dont_know, background=codebook.background,
                     unused=[c for c in export.data.columns if c not in used])
