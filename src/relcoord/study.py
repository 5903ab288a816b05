"""A study folder, apart from the code: ``relcoord init``, ``relcoord add-round``, ``relcoord run``.

A study is a folder of its own (the Snakemake workflow catalog's layout for a workflow used from
another folder): ``config/`` (config.yaml, units.tsv, memberships.tsv, instrument.yaml,
codebooks/<round>.yaml, README.md) and ``results/``. The exports stay where the organisation keeps
them (the config records their paths) unless ``--copy`` puts them in ``data/raw/<round>/``. The
workflow runs with the study as its working directory (``snakemake --directory STUDY``), so every
relative path in the config, the results, the logs and Snakemake's own ``.snakemake/`` are the
study's; nothing of a study is written into the code checkout.

``init`` and ``add-round`` read the set-up from the export itself (:mod:`relcoord.infer`), write
the config files, then validate the round exactly as the workflow will and print the counts.
"""

from __future__ import annotations

import difflib
import html
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import date as _date, timedelta
from pathlib import Path

import pandas as pd
import yaml

from .codes import normalise_text
from .config import config_text, config_with_round, load_config, load_settings, study_config
from .errors import RelcoordError
from .infer import Choices, Inferred, infer_study
from .ingest import ingest_round, read_export
from .instrument import instrument_from_dict
from .registry import UNIT_COLUMNS, language_name_columns, load_memberships, load_units
from .schema import read_yaml
from .validation import check_missing_units

MEMBERSHIP_COLUMNS = ["network_id", "unit_id", "from_round", "to_round"]
_GITIGNORE = "# survey data and results never go into version control\nresults/\ndata/\n.snakemake/\nlogs/\n"


def checkout() -> Path:
    """The code checkout holding the Snakefile (RELCOORD_HOME, or the folder the package lives in)."""
    env = os.environ.get("RELCOORD_HOME")
    root = Path(env) if env else Path(__file__).resolve().parents[2]
    if not (root / "Snakefile").is_file() or not (root / "workflow").is_dir():
        raise RelcoordError(f"the relcoord workflow (Snakefile, workflow/) is not in {root}",
                            hint="install relcoord from its checkout (`make setup` there: pip install -e .) or set "
                                 "RELCOORD_HOME to the checkout")
    return root


# --------------------------------------------------------------------------- formats

def detect_format(path: Path) -> str:
    """The export format from the export's files (``--format`` chooses when this cannot)."""
    if path.is_dir():
        names = {p.name.lower() for p in path.iterdir()}
        if {"responses.csv", "respondents.csv"} <= names:
            return "canonical"
        if {"dataset.csv", "structure.csv"} <= names:
            return "surveyxact"
        raise RelcoordError(f"{path} is a folder, but neither a SurveyXact CSV trio (dataset.csv, structure.csv, "
                            "labels.csv) nor a canonical export (responses.csv, respondents.csv)", file=str(path),
                            hint="point --export at the export's file or folder, or give --format")
    suffix = path.suffix.lower()
    if suffix == ".sav":
        return "spss"
    if suffix == ".xlsx":
        sheets = {s.lower() for s in _sheet_names(path)}
        if "structure" in sheets and any(s.startswith("dataset") for s in sheets):
            return "surveyxact"
        raise RelcoordError(f"{path}: a workbook without SurveyXact's Dataset and Structure sheets",
                            file=str(path), hint="give --format (generic workbooks need a codebook written by hand, "
                                                 "config/README.md)")
    head = path.read_bytes()[:4096].decode("utf-8", "ignore")
    if "ResponseId" in head or "ImportId" in head:
        return "qualtrics"
    raise RelcoordError(f"the format of {path} cannot be told from its name and first line", file=str(path),
                        hint="give --format (surveyxact, spss, qualtrics, limesurvey, generic, canonical)")


def _sheet_names(path: Path) -> list[str]:
    """A workbook's sheet names from xl/workbook.xml (read bounded; [] when it is not a workbook)."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("xl/workbook.xml")
            if info.file_size > 5_000_000:
                return []
            text = z.read(info).decode("utf-8", "ignore")
    except (zipfile.BadZipFile, KeyError, OSError):
        return []
    return [html.unescape(m) for m in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bname="([^"]*)"', text)]


# --------------------------------------------------------------------------- writing

def _yaml(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)


def _write_tsv(df: pd.DataFrame, path: Path, columns: list[str]) -> None:
    out = df.reindex(columns=columns).fillna("").astype(str)
    path.write_text(out.to_csv(sep="\t", index=False, lineterminator="\n"), encoding="utf-8")


def _instrument_text(template: dict, inferred: Inferred, round_id: str, export: str) -> str:
    """The study's instrument: the template's items and texts, each item's ``codes`` as the export's
    labels say, the "don't know" codes found."""
    data = yaml.safe_load(_yaml(template))
    missing = sorted({c for cs in inferred.missing_codes.values() for c in cs})
    data["missing_codes"] = missing
    for it in data["items"]:
        if it["key"] in inferred.codes:
            it["codes"] = {int(c): (int(s) if float(s).is_integer() else s)
                           for c, s in inferred.codes[it["key"]].items()}
    header = ["# The survey instrument of this study: Gittell's seven relational-coordination items.",
              "# Written by `relcoord init` from the export's own value labels; each item's `codes` maps the",
              "# export's answer code to the score 1..5 its label means (options are listed in SCORE order).",
              f"# Read from round {round_id} ({export}):"]
    for key, labs in inferred.option_labels.items():
        header.append(f"#   {key}: " + "; ".join(
            f"{c} {t!r} -> {'missing' if c in inferred.missing_codes.get(key, []) else int(inferred.codes[key][c])}"
            for c, t in sorted(labs.items())))
    header.append("# Every key is explained in the code checkout's config/instrument.yaml and config/README.md.")
    return "\n".join(header) + "\n" + _yaml(data)


def _codebook_text(inferred: Inferred, round_id: str, export: str, answers: dict | None = None) -> str:
    cb = dict(inferred.codebook)
    if answers:
        cb["answers"] = answers
    lines = [f"# Codebook of round {round_id}: where the export ({export}) keeps what relcoord needs.",
             "# Written by relcoord from the export itself; how each entry was decided:"]
    lines += [f"#   {n}" for n in inferred.notes]
    lines.append("# The forms are documented in config/README.md (Codebooks).")
    return "\n".join(lines) + "\n" + _yaml(cb)


def _study_readme(name: str) -> str:
    return f"""# Study: {name}

A relcoord study folder: the configuration of one organisation's relational-coordination survey
and its results, apart from the relcoord code.

- `config/config.yaml`: the rounds (date, export, format, codebook), comparisons, privacy, report language;
- `config/units.tsv`, `config/memberships.tsv`: the unit register and the network memberships;
- `config/instrument.yaml`: the seven RC items and how the export's answer codes score;
- `config/codebooks/<round>.yaml`: where each export keeps what relcoord needs;
- `results/`: everything the workflow writes; open `results/index.html`.

Commands (from anywhere, with relcoord installed):

    relcoord run {name}                        # run the workflow for this study
    relcoord add-round {name} --export PATH --round ID --date YYYY-MM-DD
    relcoord check PATH --config {name}/config/config.yaml --round ID

or plain Snakemake with the study as working directory:

    snakemake -s /path/to/relcoord/Snakefile --directory {name} --cores all

Everything `relcoord init` decided is listed at the top of each codebook. Check
`config/units.tsv` (unit names, kinds, areas) and `config/memberships.tsv` before reading results.
"""


@dataclass
class Written:
    study: Path
    round_id: str
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def _check_outside_checkout(study: Path) -> None:
    try:
        root = checkout()
    except RelcoordError:
        return
    if study.resolve().is_relative_to(root.resolve()):
        raise RelcoordError(f"{study} is inside the relcoord code checkout ({root})",
                            hint="a study lives apart from the code: choose a folder outside the checkout, e.g. "
                                 f"{root.parent / study.name}")


def _export_entry(study: Path, export: Path, round_id: str, copy: bool) -> tuple[str, Path]:
    """(the config's `export` value, the export's path now) after an optional copy into the study."""
    export = export.resolve()
    if copy:
        dest_dir = study / "data" / "raw" / round_id
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / export.name
        if export.is_dir():
            shutil.copytree(export, dest, dirs_exist_ok=False)
        else:
            shutil.copy2(export, dest)
        return dest.relative_to(study).as_posix(), dest
    if export.is_relative_to(study.resolve()):
        return export.relative_to(study.resolve()).as_posix(), export
    return str(export), export


def _round_date(round_id: str, date: str | None, export: Path, notes: list[str]) -> str:
    """The round's date: --date; else from a round id that is a year (2024 -> 2024-01-01) or a month
    (2024-03 -> 2024-03-01); else the export's modification date. Said in the notes."""
    if date:
        try:
            _date.fromisoformat(date)
        except ValueError:
            raise RelcoordError(f"--date {date!r} is not a date YYYY-MM-DD") from None
        return date
    m = re.fullmatch(r"((?:19|20)\d\d)(?:[-_.]?(0[1-9]|1[0-2]))?", round_id.strip())
    if m:
        out = f"{m.group(1)}-{m.group(2) or '01'}-01"
        notes.append(f"date: {out} (from the round id {round_id!r}; give --date to set the fieldwork date)")
        return out
    files = [p for p in ([export] if export.is_file() else export.iterdir()) if p.is_file()]
    out = _date.fromtimestamp(max(p.stat().st_mtime for p in files)).isoformat()
    notes.append(f"date: {out} (the export's modification date; give --date to set the fieldwork date)")
    return out


def _template(instrument: str | None) -> tuple[dict, Path]:
    path = Path(instrument) if instrument else checkout() / "config" / "instrument.yaml"
    return read_yaml(path), path


def init_study(study: str | Path, export: str | Path, round_id: str, *, language: str | None,
               date: str | None = None,
               fmt: str | None = None, label: str | None = None, copy: bool = False,
               instrument: str | None = None, choices: Choices | None = None,
               reader: dict | None = None, codebook: str | None = None, units: str | None = None,
               memberships: str | None = None) -> Written:
    """Create a study folder from one round's export (see the module docstring). With ``codebook``
    and ``units`` (files written by hand, for an export of bare codes that cannot describe itself),
    those are used instead of what the export says."""
    study, export = Path(study), Path(export)
    _check_outside_checkout(study)
    if (study / "config" / "config.yaml").exists():
        raise RelcoordError(f"{study} is already a study (it has config/config.yaml)",
                            hint=f"add a later round with `relcoord add-round {study} --export PATH --round ID`")
    if not export.exists():
        raise RelcoordError(f"the export {export} does not exist", hint="give --export the export's file or folder")
    if (codebook is None) != (units is None) or (memberships is not None and codebook is None):
        raise RelcoordError("--codebook and --units go together (and --memberships needs them)",
                            hint="give both to use hand-written files, or neither to read the set-up from the export")
    fresh = not study.exists() or not any(study.iterdir())
    date_notes: list[str] = []
    date = _round_date(round_id, date, export, date_notes)
    fmt = fmt or detect_format(export)
    if codebook is not None:
        return _init_from_files(study, export, round_id, date, fmt, label, copy, instrument, language, reader,
                                Path(codebook), Path(units), Path(memberships) if memberships else None, date_notes,
                                fresh)
    raw = read_export(fmt, export, reader)
    template, template_path = _template(instrument)
    inst = instrument_from_dict(yaml.safe_load(_yaml(template)), str(template_path))
    inferred = infer_study(raw, inst, choices=choices, source=str(export))

    cfg_dir = study / "config"
    rnd = _new_round(study, export, round_id, date, fmt, label, copy, reader)
    settings = study_config(round_id, rnd, language=language, accept_missing_units=inferred.no_respondents)
    inferred.notes[:0] = date_notes
    units = inferred.units.assign(area="", valid_from="", valid_to="", successor="", aliases="")
    mem = inferred.memberships.assign(from_round="", to_round="")
    files = {
        cfg_dir / "config.yaml": config_text(settings),
        cfg_dir / "instrument.yaml": _instrument_text(template, inferred, round_id, str(export)),
        cfg_dir / "codebooks" / f"{round_id}.yaml": _codebook_text(inferred, round_id, str(export)),
        cfg_dir / "README.md": (checkout() / "config" / "README.md").read_text(encoding="utf-8"),
        study / "README.md": _study_readme(study.name),
        study / ".gitignore": _GITIGNORE,
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    _write_tsv(units, cfg_dir / "units.tsv", UNIT_COLUMNS)
    _write_tsv(mem, cfg_dir / "memberships.tsv", MEMBERSHIP_COLUMNS)
    out = Written(study, round_id, inferred.notes, [*files, cfg_dir / "units.tsv", cfg_dir / "memberships.tsv"])
    out.summary = _check_or_undo(study, round_id, fresh)
    return out


def _new_round(study: Path, export: Path, round_id: str, date: str, fmt: str, label, copy: bool,
               reader) -> dict:
    """The round's config entry (the export copied in first with ``copy``); the study's config/codebooks/
    and results/ folders made."""
    (study / "config" / "codebooks").mkdir(parents=True, exist_ok=True)
    (study / "results").mkdir(exist_ok=True)
    entry, _ = _export_entry(study, export, round_id, copy)
    rnd = {"date": date, "label": label or round_id, "format": fmt, "export": entry,
           "codebook": f"config/codebooks/{round_id}.yaml"}
    if reader:
        rnd["reader"] = dict(reader)
    return rnd


def _check_or_undo(study: Path, round_id: str, fresh: bool) -> dict:
    """:func:`_check`; when it stops, a study folder init created is removed again (a half-made study
    would refuse the corrected rerun)."""
    try:
        return _check(study, round_id)
    except RelcoordError:
        if fresh:
            shutil.rmtree(study, ignore_errors=True)
        raise


def _init_from_files(study: Path, export: Path, round_id: str, date: str, fmt: str, label, copy: bool,
                     instrument, language: str, reader, codebook: Path, units: Path, memberships: Path | None,
                     notes: list[str], fresh: bool) -> Written:
    """init with a hand-written codebook and unit register (and memberships) copied into the study."""
    for p in (codebook, units, memberships, Path(instrument) if instrument else None):
        if p is not None and not p.is_file():
            raise RelcoordError(f"{p} does not exist", hint="give the path of an existing file")
    cfg_dir = study / "config"
    rnd = _new_round(study, export, round_id, date, fmt, label, copy, reader)
    settings = study_config(round_id, rnd, language=language, accept_missing_units=())
    inst_src = Path(instrument) if instrument else checkout() / "config" / "instrument.yaml"
    files = {cfg_dir / "config.yaml": config_text(settings),
             cfg_dir / "instrument.yaml": inst_src.read_text(encoding="utf-8"),
             cfg_dir / "codebooks" / f"{round_id}.yaml": codebook.read_text(encoding="utf-8"),
             cfg_dir / "units.tsv": units.read_text(encoding="utf-8"),
             cfg_dir / "memberships.tsv": (memberships.read_text(encoding="utf-8") if memberships
                                           else "\t".join(MEMBERSHIP_COLUMNS) + "\n"),
             cfg_dir / "README.md": (checkout() / "config" / "README.md").read_text(encoding="utf-8"),
             study / "README.md": _study_readme(study.name),
             study / ".gitignore": _GITIGNORE}
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    notes = [*notes, f"codebook, unit register{', memberships' if memberships else ''} and instrument copied from "
                     f"{codebook}, {units}{', ' + str(memberships) if memberships else ''}, {inst_src} (not read "
                     "from the export)"]
    out = Written(study, round_id, notes, list(files))
    out.summary = _check_or_undo(study, round_id, fresh)
    return out


def _check(study: Path, round_id: str) -> dict:
    """Validate the round as the workflow will (registers, codebook, labels, rules); its summary."""
    settings = load_settings(study / "config" / "config.yaml")
    load_memberships(study / settings.memberships, load_units(study / settings.units, list(settings.round_order)),
                     list(settings.round_order))
    result, _ = ingest_round(settings, round_id, base=study, stop_on_missing_units=False)
    check_missing_units(result, str(study / settings.rounds[round_id].export), str(study / settings.units))
    return result.summary


# --------------------------------------------------------------------------- add-round

def _sure_aliases(new: pd.DataFrame, register: pd.DataFrame, present: set[str],
                  current_raw_codes: dict[str, str], previous_codes: dict[str, str],
                  given: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """new unit text -> registered unit_id for renames: given with --alias, or sure (the same base-unit
    code in both rounds' exports, the old name gone from the new export, the names alike). Also the
    renames that are only possible, as lines to show."""
    aliases: dict[str, str] = {}
    maybe: list[str] = []
    for text in new["name"]:
        if normalise_text(text) in {normalise_text(k) for k in given}:
            uid = next(v for k, v in given.items() if normalise_text(k) == normalise_text(text))
            if uid not in set(register["unit_id"]):
                raise RelcoordError(f"--alias {text}={uid}: {uid} is not in the unit register")
            aliases[text] = uid
            continue
        code = current_raw_codes.get(text)
        old_uid = previous_codes.get(code) if code is not None else None
        gone = old_uid is not None and old_uid not in present
        if old_uid is not None:
            old_name = register.loc[register["unit_id"] == old_uid, "name"].iat[0]
            ratio = difflib.SequenceMatcher(None, normalise_text(text), normalise_text(old_name)).ratio()
            if gone and ratio >= 0.6:
                aliases[text] = old_uid
                continue
            if gone:
                maybe.append(f"{text!r} has code {code} in the base-unit question, which was {old_uid} "
                             f"({old_name!r}) in the previous round: if it is the same unit renamed, rerun with "
                             f"--alias {text!r}={old_uid}")
    return aliases, maybe


def add_round(study: str | Path, export: str | Path, round_id: str, *, date: str | None = None,
              fmt: str | None = None, label: str | None = None, copy: bool = False,
              choices: Choices | None = None, alias: dict[str, str] | None = None,
              reader: dict | None = None) -> Written:
    """Add a later round to a study: its codebook, units and memberships updated, the comparison with
    the previous round (see the module docstring)."""
    study, export = Path(study), Path(export)
    cfg_path = study / "config" / "config.yaml"
    if not cfg_path.exists():
        raise RelcoordError(f"{study} is not a study (no config/config.yaml)",
                            hint=f"create it with `relcoord init {study} --export PATH --round ID --date YYYY-MM-DD`")
    rounds = load_config(cfg_path)["rounds"]
    if round_id in rounds:
        raise RelcoordError(f"round {round_id!r} is already in {cfg_path}", hint="choose another --round id")
    if not export.exists():
        raise RelcoordError(f"the export {export} does not exist", hint="give --export the export's file or folder")
    date_notes: list[str] = []
    given = date
    date = _round_date(round_id, date, export, date_notes)
    order = sorted(rounds, key=lambda r: rounds[r]["date"])
    previous = order[-1]
    if not given and date <= rounds[previous]["date"]:
        date = (_date.fromisoformat(rounds[previous]["date"]) + timedelta(days=1)).isoformat()
        date_notes = [f"date: {date} (the day after round {previous!r}, the last round; give --date to set the "
                      "fieldwork date)"]
    if date <= rounds[previous]["date"]:
        last = rounds[previous]["date"]
        raise RelcoordError(f"--date {date} is not after the last round {previous!r} ({last})",
                            hint="add-round adds a later round; its date must be after every configured round")
    fmt = fmt or detect_format(export)
    settings = load_settings(cfg_path)
    rounds_before = list(settings.round_order)
    units_path, mem_path = study / settings.units, study / settings.memberships
    register = load_units(units_path, rounds_before)
    inst_path = study / settings.instrument
    inst = instrument_from_dict(read_yaml(inst_path), str(inst_path))
    raw = read_export(fmt, export, reader)
    inferred = infer_study(raw, inst, choices=choices, register=register, source=str(export))

    # the previous round's base-unit codes, to tell renames from new units
    prev_rnd = settings.rounds[previous]
    try:
        prev_raw = read_export(prev_rnd.format, study / prev_rnd.export, dict(prev_rnd.reader))
        prev_inf = infer_study(prev_raw, inst, choices=choices, register=register, source=str(prev_rnd.export))
        prev_codes = _unit_codes(prev_raw, prev_inf)
    except (RelcoordError, OSError):
        prev_inf, prev_codes = None, {}
    cur_codes = {v: k for k, v in _unit_codes(raw, inferred, by="name").items()}
    known = set(register["unit_id"])
    new = inferred.units[~inferred.units["unit_id"].isin(known)]
    present = set(inferred.units["unit_id"]) - set(new["unit_id"])
    aliases, maybe = _sure_aliases(new, register, present, cur_codes, prev_codes, alias or {})
    notes = [*date_notes, *inferred.notes]
    register = register.copy()
    for text, uid in aliases.items():
        i = register.index[register["unit_id"] == uid][0]
        old = [a for a in str(register.at[i, "aliases"]).split("|") if a.strip()]
        register.at[i, "aliases"] = "|".join([*old, text])
        notes.append(f"renamed: {text!r} is {uid} ({register.at[i, 'name']!r}); added to its aliases")
    id_fix = {inferred.units.loc[inferred.units["name"] == t, "unit_id"].iat[0]: uid for t, uid in aliases.items()}
    units_now = inferred.units.assign(unit_id=inferred.units["unit_id"].replace(id_fix))
    truly_new = units_now[~units_now["unit_id"].isin(known)]
    if len(truly_new):
        notes.append("new units (valid from " + round_id + "): " + ", ".join(
            f"{u} ({n!r}, {k})" for u, n, k in truly_new[["unit_id", "name", "kind"]].itertuples(index=False)))
        add = truly_new.assign(area="", valid_from=round_id, valid_to="", successor="", aliases="")
        register = pd.concat([register, add], ignore_index=True)
    active_before = set(register.loc[register["valid_to"].fillna("") == "", "unit_id"]) & known
    vanished = sorted(active_before - set(units_now["unit_id"]))
    for uid in vanished:
        register.loc[register["unit_id"] == uid, "valid_to"] = previous
    if vanished:
        notes.append(f"vanished units (valid to {previous}): " + ", ".join(
            f"{u} ({register.loc[register['unit_id'] == u, 'name'].iat[0]!r})" for u in vanished))
    notes += [f"possible rename (not written): {m}" for m in maybe]

    # memberships: new pairs start now, pairs no longer ticked end with the previous round
    mem = pd.read_csv(mem_path, sep="\t", dtype=str, keep_default_na=False)
    now = {(id_fix.get(a, a), id_fix.get(b, b))
           for a, b in zip(inferred.memberships["network_id"], inferred.memberships["unit_id"])}
    open_rows = mem["to_round"] == ""
    ended = []
    for i in mem.index[open_rows]:
        pair = (mem.at[i, "network_id"], mem.at[i, "unit_id"])
        if pair not in now:
            mem.at[i, "to_round"] = previous
            ended.append(pair)
    open_pairs = set(zip(mem.loc[mem["to_round"] == "", "network_id"], mem.loc[mem["to_round"] == "", "unit_id"]))
    started = sorted(now - open_pairs - set(ended))
    if started:
        mem = pd.concat([mem, pd.DataFrame([(a, b, round_id, "") for a, b in started], columns=MEMBERSHIP_COLUMNS)],
                        ignore_index=True)
        notes.append("memberships from " + round_id + ": " + ", ".join(f"{b} in {a}" for a, b in started))
    if ended:
        notes.append("memberships ended with " + previous + ": " + ", ".join(f"{b} in {a}" for a, b in ended))

    # the export's codes against the study's instrument: an `answers:` map where they differ
    answers = _answers_map(inferred, inst, str(export))
    if answers and inferred.layout == "per_target":
        raise RelcoordError("this round codes the answers differently from the study's instrument, and the export "
                            "is a matrix per target", file=str(export),
                            hint="write the codebook's `answers:` by hand (config/README.md, Codebooks)")
    cb = dict(inferred.codebook)
    if answers:
        cb["items"] = {k: ({"question": q, "answers": answers[k]} if k in answers else q)
                       for k, q in cb["items"].items()}
        notes.append("answer codes differ from the instrument's for item(s) " + ", ".join(answers)
                     + ": the codebook maps them (answers:)")
    inferred.codebook = cb

    rnd = _new_round(study, export, round_id, date, fmt, label, copy, reader)
    silent = [id_fix.get(u, u) for u in inferred.no_respondents]
    updated = config_with_round(read_yaml(cfg_path), round_id, rnd, previous, accept_missing_units=silent)
    cb_path = study / "config" / "codebooks" / f"{round_id}.yaml"
    cb_path.write_text(_codebook_text(inferred, round_id, str(export)), encoding="utf-8")
    _write_tsv(register, units_path, [*UNIT_COLUMNS, *language_name_columns(register)])
    _write_tsv(mem, mem_path, MEMBERSHIP_COLUMNS)
    cfg_path.write_text(config_text(updated), encoding="utf-8")
    out = Written(study, round_id, notes, [cfg_path, cb_path, units_path, mem_path])
    out.summary = _check(study, round_id)
    return out


def _unit_codes(raw, inferred: Inferred, by: str = "id") -> dict[str, str]:
    """base-unit question code -> unit_id (by='id') or -> unit name as exported (by='name')."""
    labels = raw.labels.fillna("").astype(str)
    var = inferred.codebook["rater_unit"]
    rows = labels[labels["variable"] == var]
    id_of = dict(zip(inferred.units["name"].map(normalise_text), inferred.units["unit_id"]))
    out = {}
    for value, lab in zip(rows["value"].str.strip(), rows["label"].str.strip()):
        if normalise_text(lab) in id_of:
            out[value] = id_of[normalise_text(lab)] if by == "id" else lab
    return out


def _answers_map(inferred: Inferred, inst, source: str) -> dict[str, dict]:
    """item -> {export code: instrument code | 'missing'} where this export's codes score differently."""
    out = {}
    for key, codes in inferred.codes.items():
        item = inst.item(key)
        if {int(c): float(s) for c, s in item.codes.items()} == codes and \
                set(inferred.missing_codes.get(key, [])) <= set(item.missing_codes):
            continue
        by_score = {float(s): int(c) for c, s in item.codes.items()}
        amap: dict = {}
        for c, s in codes.items():
            if s not in by_score:
                raise RelcoordError(f"item {key}: score {s:g} has no code in the study's instrument", file=source)
            amap[c] = by_score[s]
        for c in inferred.missing_codes.get(key, []):
            amap[c] = "missing"
        out[key] = amap
    return out


# --------------------------------------------------------------------------- run

def run_study(study: str | Path, snakemake_args: list[str]) -> int:
    """Run the workflow for a study: the checkout's Snakefile, the study as working directory (its
    config replaces the demo's), the local profile; extra arguments go to Snakemake."""
    study = Path(study)
    if not (study / "config" / "config.yaml").exists():
        raise RelcoordError(f"{study} is not a study (no config/config.yaml)",
                            hint=f"create it with `relcoord init {study} --export PATH --round ID --date YYYY-MM-DD`")
    root = checkout()
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe) if exe.exists() else "snakemake", "--snakefile", str(root / "Snakefile"),
           "--directory", str(study.resolve()), "--profile", str(root / "workflow" / "profiles" / "local"),
           *snakemake_args]
    print("running: " + " ".join(cmd), flush=True)
    return subprocess.call(cmd)
