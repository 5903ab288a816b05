"""The ``relcoord`` command: set up and run a study (init, add-round, run), check an export,
simulate a demo municipality."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import load_settings
from .errors import RelcoordError
from .ingest import ingest_round
from .consortium import run_consortium
from .simulate import build_parser as simulate_parser, run_simulate
from .infer import Choices
from .study import add_round, init_study, run_study
from .tables import write_csv
from .validation import check_missing_units, check_quarantine_ceiling


def _cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    base = Path(args.base) if args.base else Path(args.config).resolve().parent.parent
    export = Path(args.export)
    round_id = args.round
    if round_id is None:
        for rid, r in settings.rounds.items():
            if (base / r.export).resolve() == export.resolve():
                round_id = rid
        if round_id is None:
            if len(settings.rounds) == 1:
                round_id = next(iter(settings.rounds))
            else:
                raise RelcoordError(f"the export is not a configured round's export; say which round's codebook and "
                                    f"units apply with --round ({', '.join(settings.rounds)})", file=str(export))
    if round_id not in settings.rounds:
        raise RelcoordError(f"round {round_id!r} is not configured ({', '.join(settings.rounds)})", file=args.config)
    # the missing-units stop comes after the problem list, which shows why a unit lost its records
    result, key_note = ingest_round(settings, round_id, base=base, export_path=export, stop_on_missing_units=False)
    s = result.summary
    print(f"Export {export} checked against round {round_id!r} of {args.config}")
    print(f"  format {s['format']}, encoding {s['encoding']}, delimiter {s['delimiter']!r}")
    print(f"  records in {s['records_in']}: valid {s['valid']}, quarantined {s['quarantined']}, "
          f"warned {s['warned']} (accounting {'ok' if s['accounting_ok'] else 'BROKEN'})")
    a = s["answers"]
    print(f"  answers: {a['valid']} valid, {a['dont_know']} don't know, {a['blank']} blank")
    missing = s.get("missing_units") or []
    if missing:
        accepted = set(s.get("missing_units_accepted") or [])
        names = s.get("missing_unit_names") or {}
        print("  base units without a valid respondent: " + ", ".join(
            f"{u} ({names.get(u, u)}{', accepted' if u in accepted else ''})" for u in missing))
    f = result.failures
    _print_problems(f, args.show)
    if args.failures:
        write_csv(f, args.failures)
        print(f"\nAll problems written to {args.failures}")
    check_missing_units(result, str(export), str(base / settings.units))
    check_quarantine_ceiling(result, settings.validation.max_quarantined_fraction, str(export))
    return 0


_ACTION_ORDER = {"stopped": 0, "quarantined": 1, "warned": 2}


def _print_problems(failures, show: int) -> None:
    """The problems grouped by rule: counts per rule (quarantines before warnings, larger first),
    then up to ``show`` examples per rule in the same order, so that many rows of one cause are
    never hidden behind another's."""
    if not len(failures):
        return
    groups = failures.groupby(["action", "rule"], sort=False).size().reset_index(name="n")
    groups["_o"] = groups["action"].map(_ACTION_ORDER).fillna(len(_ACTION_ORDER))
    groups = groups.sort_values(["_o", "n", "rule"], ascending=[True, False, True], kind="stable")
    width = max(len(str(r)) for r in groups["rule"])
    print(f"\nProblems by rule ({len(failures)} rows):")
    for g in groups.itertuples(index=False):
        print(f"  {g.action:<12} {g.rule:<{width}} {g.n:>6}")
    if show <= 0:
        return
    for g in groups.itertuples(index=False):
        rows = failures[(failures["action"] == g.action) & (failures["rule"] == g.rule)]
        print(f"\n{g.rule} ({g.action}, {g.n} row{'s' if g.n != 1 else ''}"
              + (f"; first {show} shown" if g.n > show else "") + "):")
        for r in rows.head(show).itertuples(index=False):
            print(f"  {r.source_file} row {r.source_row}, column {r.column!r}: {r.message}")
        if g.n > show:
            print(f"  ... {g.n - show} more (--failures FILE writes every row)")


def _cmd_simulate(args: argparse.Namespace) -> int:
    if args.consortium is not None:     # many studies and their benchmark.yaml (relcoord.consortium)
        return run_consortium(args, default_out=simulate_parser().get_default("out"),
                              default_rounds=simulate_parser().get_default("rounds"))
    return run_simulate(args)


def _choices(args: argparse.Namespace) -> Choices:
    items = {}
    for spec in args.item or []:
        key, sep, question = spec.partition("=")
        if not sep or not key.strip() or not question.strip():
            raise RelcoordError(f"--item {spec!r}: write it as KEY=QUESTION, e.g. --item timely=s_4")
        items[key.strip()] = question.strip()
    return Choices(id_column=args.id_column, unit_question=args.unit_question,
                   network_question=args.network_question, items=items,
                   extra_networks=tuple(args.extra_network or ()))


def _reader(args: argparse.Namespace) -> dict | None:
    opts = {k: v for k, v in (("encoding", args.encoding), ("delimiter", args.delimiter)) if v}
    return opts or None


def _print_written(w, what: str) -> None:
    print(f"{what} {w.study} (round {w.round_id}). What the export says, and how it was read:")
    for n in w.notes:
        print(f"  - {n}")
    s = w.summary
    print(f"Round {w.round_id} checked: {s['records_in']} records, {s['valid']} valid, {s['quarantined']} "
          f"quarantined, {s['warned']} warned; {s['answers']['valid']} answers")
    print("Written: " + ", ".join(str(f) for f in w.files))
    print(f"Next: check config/units.tsv (names, kinds, areas), then `relcoord run {w.study}`; the report will be "
          f"{w.study / 'results' / 'index.html'}")


def _cmd_init(args: argparse.Namespace) -> int:
    w = init_study(args.study, args.export, args.round, date=args.date, fmt=args.format, label=args.label,
                   copy=args.copy, instrument=args.instrument, language=args.language, choices=_choices(args),
                   reader=_reader(args), codebook=args.codebook, units=args.units, memberships=args.memberships)
    _print_written(w, "Created study")
    return 0


def _cmd_add_round(args: argparse.Namespace) -> int:
    alias = {}
    for spec in args.alias or []:
        text, sep, uid = spec.rpartition("=")
        if not sep or not text.strip() or not uid.strip():
            raise RelcoordError(f"--alias {spec!r}: write it as 'NAME IN THE EXPORT=UNIT_ID'")
        alias[text.strip()] = uid.strip()
    w = add_round(args.study, args.export, args.round, date=args.date, fmt=args.format, label=args.label,
                  copy=args.copy, choices=_choices(args), alias=alias, reader=_reader(args))
    _print_written(w, "Added to study")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    return run_study(args.study, args.snakemake_args)


def _round_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", type=Path, help="the study folder (outside the code checkout)")
    p.add_argument("--export", required=True, type=Path,
                   help="the round's export: a SurveyXact CSV-trio folder or workbook, an SPSS .sav, ... "
                        "(stays where it is unless --copy)")
    p.add_argument("--round", required=True, help="the round's id, used in result paths (e.g. 2025)")
    p.add_argument("--date", help="the round's fieldwork date YYYY-MM-DD (orders the rounds)")
    p.add_argument("--label", help="the round's name in reports (default: the round id)")
    p.add_argument("--format", choices=["surveyxact", "spss", "qualtrics", "limesurvey", "generic", "canonical"],
                   help="the export format (default: told from the export's files)")
    p.add_argument("--copy", action="store_true", help="copy the export into STUDY/data/raw/<round>/")
    p.add_argument("--encoding", help="reader option (default auto)")
    p.add_argument("--delimiter", help="reader option (default auto)")
    g = p.add_argument_group("choices where the export leaves more than one candidate")
    g.add_argument("--id-column", help="the column holding the respondent id")
    g.add_argument("--unit-question", help="the question (variable) asking for the respondent's base unit")
    g.add_argument("--network-question", help="the multiple-choice question asking for networks ('none': none)")
    g.add_argument("--item", action="append", metavar="KEY=QUESTION",
                   help="the question of an RC item, e.g. --item timely=s_4 (repeatable)")
    g.add_argument("--extra-network", action="append", metavar="NAME",
                   help="a unit the RC items ask about that is a network though the network question does not "
                        "offer it (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relcoord", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="validate one export against the config and print a summary")
    c.add_argument("export", help="the export, in the round's configured format (a file or folder)")
    c.add_argument("--config", default="config/config.yaml", help="workflow config (default: %(default)s)")
    c.add_argument("--round", help="round whose codebook and units apply (default: the round with this export)")
    c.add_argument("--base", help="folder config paths are relative to (default: the config's project folder)")
    c.add_argument("--show", type=int, default=5,
                   help="examples printed per rule, after the counts per rule (default: %(default)s)")
    c.add_argument("--failures", help="write every problem to this CSV")
    c.set_defaults(func=_cmd_check)

    i = sub.add_parser("init", help="create a study folder from a round's export (set-up read from the export)")
    _round_arguments(i)
    i.add_argument("--instrument", help="instrument to start from (default: the checkout's config/instrument.yaml)")
    i.add_argument("--language", choices=["da", "en"],
                   help="report language (default: the schema's, Danish; written to config.yaml when given)")
    h = i.add_argument_group("hand-written set-up, for an export of bare codes that cannot describe itself")
    h.add_argument("--codebook", help="a codebook for the export (copied to config/codebooks/<round>.yaml)")
    h.add_argument("--units", help="a unit register (copied to config/units.tsv)")
    h.add_argument("--memberships", help="network memberships (copied to config/memberships.tsv; default none)")
    i.set_defaults(func=_cmd_init)

    a = sub.add_parser("add-round", help="add a later round's export to a study (and its comparison)")
    _round_arguments(a)
    a.add_argument("--alias", action="append", metavar="NAME=UNIT_ID",
                   help="a unit renamed in this export: its new name is the registered unit UNIT_ID (repeatable)")
    a.set_defaults(func=_cmd_add_round)

    r = sub.add_parser("run", help="run the workflow for a study (extra arguments go to snakemake)",
                       description="Run the workflow for a study: the code checkout's Snakefile with the study as "
                                   "working directory and the local profile. Arguments after STUDY go to snakemake, "
                                   "e.g. `relcoord run mystudy --cores 2` or `relcoord run mystudy -n`.")
    r.add_argument("study", type=Path)
    r.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="options for snakemake")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("simulate", help="generate a synthetic municipality (the demo data)",
                       parents=[simulate_parser()], add_help=False)
    s.set_defaults(func=_cmd_simulate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except RelcoordError as err:
        print(f"relcoord: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:            # `relcoord check ... | head`: the reader has seen enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
