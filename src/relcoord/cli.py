"""The ``relcoord`` command: simulate a demo municipality, check an export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import load_settings
from .errors import RelcoordError
from .ingest import ingest_round
from .simulate import build_parser as simulate_parser, run_simulate
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
    return run_simulate(args)


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
