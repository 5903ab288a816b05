"""One round: export -> validated canonical tables (the ingest stage)."""

from __future__ import annotations

from pathlib import Path

from .codebook import load_codebook, resolve
from .config import round_order
from .errors import RelcoordError
from .instrument import load_instrument
from .pseudonymise import resolve_secret
from .readers import RawExport
from .registry import load_memberships, load_units, memberships_in_round, units_in_round
from .validation import (IngestResult, check_quarantine_ceiling, failures_schema, respondents_schema,
                         responses_schema, validate_export)

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
        from .readers.surveyxact import read_surveyxact
        return read_surveyxact(path, **opt)
    if fmt == "qualtrics":
        from .readers.qualtrics import read_qualtrics
        return read_qualtrics(path, **opt)
    if fmt == "limesurvey":
        from .readers.limesurvey import read_limesurvey
        return read_limesurvey(path, **opt)
    if fmt == "spss":
        from .readers.spss import read_spss
        return read_spss(path, **opt)
    if fmt == "generic":
        from .readers.generic import read_generic
        return read_generic(path, **opt)
    from .readers.canonical import read_canonical
    return read_canonical(path, **opt)


def ingest_round(cfg: dict, round_id: str, base: str | Path = ".", export_path: str | Path | None = None,
                 key: bytes | None = None) -> tuple[IngestResult, str]:
    """Read, map and validate one configured round. Returns the result and a
    note on where the pseudonymisation key came from."""
    base = Path(base)
    rnd = cfg["rounds"][round_id]
    order = round_order(cfg)
    units = load_units(base / cfg["units"], order)
    memberships = load_memberships(base / cfg["memberships"], units, order)
    instrument = load_instrument(base / cfg["instrument"])
    codebook = load_codebook(base / rnd["codebook"])
    export = read_export(rnd["format"], export_path or base / rnd["export"], rnd.get("reader"))
    round_units = units_in_round(units, round_id, order)
    colmap = resolve(export, codebook, round_units, instrument, round_id)
    if key is None:
        key, key_note = resolve_secret(cfg["privacy"]["secret_env"], cfg["privacy"]["secret_file"])
    else:
        key_note = "key given by caller"
    v = cfg["validation"]
    result = validate_export(export, colmap, instrument, round_units,
                             memberships_in_round(memberships, round_id, order), key,
                             straightlining_min_answers=v["straightlining_min_answers"],
                             min_targets_fraction=v["min_targets_fraction"])
    result.summary = {"round": round_id, **result.summary}
    # The canonical tables cross a file boundary: check them against their schemas.
    responses_schema(instrument, units).validate(result.responses, lazy=True)
    respondents_schema().validate(result.respondents, lazy=True)
    failures_schema().validate(result.failures, lazy=True)
    return result, key_note


def enforce_ceiling(result: IngestResult, cfg: dict, source: str) -> None:
    check_quarantine_ceiling(result, cfg["validation"]["max_quarantined_fraction"], source)
