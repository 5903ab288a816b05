"""One round: export -> validated canonical tables (the ingest stage)."""

from __future__ import annotations

from pathlib import Path

from .codebook import load_codebook, resolve
from .config import Settings
from .errors import RelcoordError
from .instrument import load_instrument
from .pseudonymise import resolve_secret
from .readers import RawExport
from .readers.canonical import read_canonical
from .readers.generic import read_generic
from .readers.limesurvey import read_limesurvey
from .readers.qualtrics import read_qualtrics
from .readers.spss import read_spss
from .readers.surveyxact import read_surveyxact
from .registry import load_memberships, load_units, memberships_in_round, units_in_round
from .validation import (IngestResult, check_missing_units, check_quarantine_ceiling, failures_schema,
                         respondents_schema, responses_schema, validate_export)

#: format -> the reader options it takes (every reader takes encoding; `auto` is always the default)
READERS: dict[str, tuple[str, ...]] = {
    "surveyxact": ("encoding", "delimiter"),
    "qualtrics": ("encoding", "delimiter", "header_rows"),
    "limesurvey": ("encoding", "delimiter"),
    "spss": ("encoding",),
    "generic": ("encoding", "delimiter", "sheet", "skip_rows"),
    "canonical": ("encoding", "delimiter"),
}
_DEFAULTS = {"encoding": "auto", "delimiter": "auto", "header_rows": "auto", "skip_rows": 0, "sheet": None}


def read_export(fmt: str, path: str | Path, options: dict | None = None) -> RawExport:
    """Read one export with the reader of its configured ``format``.

    ``options`` are the round's ``reader:`` settings; an option the format does
    not take stops with a message naming it (a default value is ignored)."""
    options = dict(options or {})
    if fmt not in READERS:
        raise RelcoordError(f"unknown export format {fmt!r}", hint=f"use one of: {', '.join(READERS)}")
    extra = sorted(k for k, v in options.items() if k not in READERS[fmt] and v != _DEFAULTS.get(k, object()))
    if extra:
        raise RelcoordError(f"reader option(s) {', '.join(extra)} do not apply to format {fmt!r}",
                            file=str(path), hint=f"format {fmt} takes: {', '.join(READERS[fmt])}; remove the others "
                                                 "from the round's `reader:` settings")
    opt = {k: options.get(k, _DEFAULTS[k]) for k in READERS[fmt]}
    if fmt == "surveyxact":
        return read_surveyxact(path, **opt)
    if fmt == "qualtrics":
        return read_qualtrics(path, **opt)
    if fmt == "limesurvey":
        return read_limesurvey(path, **opt)
    if fmt == "spss":
        return read_spss(path, **opt)
    if fmt == "generic":
        return read_generic(path, **opt)
    return read_canonical(path, **opt)


def ingest_round(settings: Settings, round_id: str, base: str | Path = ".", export_path: str | Path | None = None,
                 key: bytes | None = None, *, stop_on_missing_units: bool = True) -> tuple[IngestResult, str]:
    """Read, map and validate one round of ``settings`` (the decoded
    config.yaml, :func:`relcoord.config.settings_from_config`; used by
    ``relcoord check``). Returns the result and a note on where the
    pseudonymisation key came from."""
    base = Path(base)
    rnd, v, p = settings.rounds[round_id], settings.validation, settings.privacy
    return ingest_export(
        export_path or base / rnd.export, fmt=rnd.format, reader=dict(rnd.reader),
        codebook=base / rnd.codebook, units=base / settings.units, memberships=base / settings.memberships,
        instrument=base / settings.instrument, round_id=round_id, round_order=list(settings.round_order),
        secret_env=p.secret_env, secret_file=p.secret_file, key=key,
        straightlining_min_answers=v.straightlining_min_answers, min_targets_fraction=v.min_targets_fraction,
        accept_missing_units=v.accept_missing_units, stop_on_missing_units=stop_on_missing_units,
        min_group_size=p.min_group_size)


def ingest_export(export: str | Path, *, fmt: str, reader: dict | None, codebook: str | Path, units: str | Path,
                  memberships: str | Path, instrument: str | Path, round_id: str, round_order: list[str],
                  secret_env: str, secret_file: str, key: bytes | None = None,
                  straightlining_min_answers: int, min_targets_fraction: float,
                  accept_missing_units: tuple[str, ...], min_group_size: int,
                  stop_on_missing_units: bool = True) -> tuple[IngestResult, str]:
    """Read, map and validate one round's export, every setting given
    explicitly. Returns the result and a note on where the pseudonymisation
    key came from.

    Stops (:func:`relcoord.validation.check_missing_units`) when a base unit of
    the round's register has no valid respondent left and is not in
    ``accept_missing_units``; ``stop_on_missing_units=False`` leaves that check
    to the caller (``relcoord check`` prints its problem list first).
    ``min_group_size`` (``privacy.min_group_size``): background categories
    with fewer respondents are merged into "other" (validate_export)."""
    unit_register = load_units(units, round_order)
    member_register = load_memberships(memberships, unit_register, round_order)
    instr = load_instrument(instrument)
    book = load_codebook(codebook)
    raw = read_export(fmt, export, reader)
    round_units = units_in_round(unit_register, round_id, round_order)
    colmap = resolve(raw, book, round_units, instr, round_id)
    if key is None:
        key, key_note = resolve_secret(secret_env, secret_file)
    else:
        key_note = "key given by caller"
    not_base = [str(u) for u in accept_missing_units
                if str(u) not in set(unit_register.loc[unit_register["kind"] == "base", "unit_id"].astype(str))]
    if not_base:
        raise RelcoordError(f"validation.accept_missing_units names {', '.join(map(repr, not_base))}, which is not a "
                            "base unit of the unit register", file=str(units),
                            hint="list unit ids of base units (the unit_id column of the register)")
    result = validate_export(raw, colmap, instr, round_units,
                             memberships_in_round(member_register, round_id, round_order), key,
                             straightlining_min_answers=straightlining_min_answers,
                             min_targets_fraction=min_targets_fraction,
                             accept_missing_units=accept_missing_units, units_file=str(units),
                             min_group_size=min_group_size)
    result.summary = {"round": round_id, **result.summary, "labels_checked": dict(colmap.labels_checked)}
    # The canonical tables cross a file boundary: check them against their schemas.
    responses_schema(instr, unit_register).validate(result.responses, lazy=True)
    respondents_schema().validate(result.respondents, lazy=True)
    failures_schema().validate(result.failures, lazy=True)
    if stop_on_missing_units:
        check_missing_units(result, str(raw.files[0]) if raw.files else str(export), str(units))
    return result, key_note


def enforce_ceiling(result: IngestResult, max_quarantined_fraction: float, source: str) -> None:
    check_quarantine_ceiling(result, max_quarantined_fraction, source)
