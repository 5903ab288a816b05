"""Compare two results/ folders file by file (used by run_slurm_demo.sh).

A file is ``identical`` when its bytes are; otherwise tables are compared by
content (``same content``: parquet and CSV read with pandas and compared
exactly, JSON parsed and compared), and anything else ``differs``. Exit 1
when a file is missing on one side or differs in content.

    python tests/slurm/compare_results.py A/results B/results [--tsv OUT.tsv] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _json_diff(a, b, path="") -> list[str]:
    if type(a) is not type(b):
        return [path or "/"]
    if isinstance(a, dict):
        out = [f"{path}/{k}" for k in sorted(set(a) ^ set(b), key=str)]
        for k in sorted(set(a) & set(b), key=str):
            out += _json_diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path} (length)"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _json_diff(x, y, f"{path}/{i}")]
    return [] if a == b else [path or "/"]


def compare_file(a: Path, b: Path, allow: tuple[str, ...] = ()) -> tuple[str, str]:
    """``(status, note)``; ``allow``: JSON key paths (prefixes) that may differ."""
    if a.read_bytes() == b.read_bytes():
        return "identical", ""
    suffix = a.suffix.lower()
    if suffix in (".parquet", ".csv", ".tsv"):
        import pandas as pd

        read = pd.read_parquet if suffix == ".parquet" else (
            lambda p: pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False))
        try:
            pd.testing.assert_frame_equal(read(a), read(b), check_exact=True)
            return "same content", "bytes differ, table equal"
        except AssertionError as err:
            return "differs", str(err).splitlines()[0][:200]
    if suffix == ".json":
        diff = _json_diff(json.loads(a.read_text(encoding="utf-8")), json.loads(b.read_text(encoding="utf-8")))
        allowed = [d for d in diff if any(d == k or d.startswith(k + "/") for k in allow)]
        if diff and len(allowed) == len(diff):
            return "same content", f"differs only in {', '.join(allowed)} (allowed)"
        return ("same content", "bytes differ, JSON equal") if not diff else ("differs", "; ".join(diff[:10]))
    return "differs", f"{a.stat().st_size} vs {b.stat().st_size} bytes"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--tsv", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--allow", action="append", default=[], metavar="FILE:KEYPATH",
                    help="a JSON key path that may differ in FILE, e.g. provenance.json:/workflow")
    args = ap.parse_args(argv)
    allow: dict[str, tuple[str, ...]] = {}
    for a in args.allow:
        f, k = a.split(":", 1)
        allow[f] = allow.get(f, ()) + (k,)
    fa = {p.relative_to(args.a).as_posix() for p in args.a.rglob("*") if p.is_file()}
    fb = {p.relative_to(args.b).as_posix() for p in args.b.rglob("*") if p.is_file()}
    rows = []
    for f in sorted(fa | fb):
        if f not in fb or f not in fa:
            rows.append((f, "missing", f"only in {args.a if f in fa else args.b}"))
        else:
            rows.append((f, *compare_file(args.a / f, args.b / f, allow.get(f, ()))))
    counts: dict[str, int] = {}
    for _, status, _ in rows:
        counts[status] = counts.get(status, 0) + 1
    for f, status, note in rows:
        if status != "identical":
            print(f"  {status:<12} {f}  {note}")
    print(f"  {len(rows)} files: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if args.tsv:
        args.tsv.write_text("file\tstatus\tnote\n" + "".join(f"{f}\t{s}\t{n}\n" for f, s, n in rows), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"summary": {"files": len(rows), **counts},
                                         "files": [{"file": f, "status": s, "note": n} for f, s, n in rows]},
                                        indent=2) + "\n", encoding="utf-8")
    return 0 if not ({"missing", "differs"} & set(counts)) else 1


if __name__ == "__main__":
    sys.exit(main())
