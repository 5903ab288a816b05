"""``relcoord check``: the problem list grouped by rule (issue 11, "nothing silent"), and the
stop when a base unit of the round is left without a valid respondent."""

from __future__ import annotations

import pandas as pd

from relcoord.cli import main

from ingest_helpers import ITEMS, make_config

TARGETS = ("HJP", "TRR", "PPR")
HEAD = ["Respondent", "Enhed"] + [f"q{i + 1}_{t}" for i in range(len(ITEMS)) for t in TARGETS]
BOOK = {"respondent_id": "Respondent", "rater_unit": "Enhed",
        "items": {k: {"pattern": f"q{i + 1}_{{target}}"} for i, k in enumerate(ITEMS)}}


def _export(path, units: list[str], straight: int = 0):
    """Records of the given base-unit texts with varied answers; the first ``straight`` answer 4 throughout."""
    rows = [[str(i + 1), u] + ["4" if i < straight else str(3 + (i + j) % 3) for j in range(len(HEAD) - 2)]
            for i, u in enumerate(units)]
    path.write_text("\n".join(";".join(r) for r in [HEAD, *rows]) + "\n", encoding="utf-8")
    return path


def _check(tmp_path, capsys, accept, *extra):
    # 15 straight-lined (warned) records first, then 55 of a renamed HJP ('Hjemmepleje Nord': unknown_unit)
    units = ["Træning og Rehabilitering", "PPR"] * 10 + ["Hjemmepleje Nord"] * 55
    export = _export(tmp_path / "svar.csv", units, straight=15)
    cfg = make_config(tmp_path, "generic", export, BOOK, accept_missing_units=accept)
    code = main(["check", str(export), "--config", str(cfg), "--round", "2025", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_groups_problems_by_rule_quarantines_first(tmp_path, capsys):
    code, out, err = _check(tmp_path, capsys, ["HJP"], "--show", "3", "--failures", str(tmp_path / "f.csv"))
    assert code == 0, err
    counts = out[out.index("Problems by rule (70 rows):"):]
    assert counts.index("unknown_unit") < counts.index("straightlining")
    assert "quarantined  unknown_unit" in counts and "55" in counts.splitlines()[1]
    q = out.index("unknown_unit (quarantined, 55 rows; first 3 shown):")
    w = out.index("straightlining (warned, 15 rows; first 3 shown):")
    assert q < w
    examples = out[q:w].splitlines()[1:4]
    assert all("'Hjemmepleje Nord'" in x and "aliases column of HJP" in x for x in examples), examples
    assert "... 52 more" in out[q:w] and "... 12 more" in out[w:]
    assert "HJP (Hjemmeplejen, accepted)" in out
    assert len(pd.read_csv(tmp_path / "f.csv")) == 70   # --failures still writes every row


def test_check_stops_after_the_list_when_a_unit_is_missing(tmp_path, capsys):
    code, out, err = _check(tmp_path, capsys, [], "--show", "1")
    assert code == 1
    assert "unknown_unit (quarantined, 55 rows; first 1 shown):" in out     # the list is printed first
    assert "HJP (Hjemmeplejen): the export has no record from it" in err
    assert "'Hjemmepleje Nord', 55 record(s); perhaps HJP (Hjemmeplejen) renamed" in err
    assert "accept_missing_units: [HJP]" in err and "What to do" in err


# --------------------------------------------------------------------------- relcoord simulate

def _simulate(tmp_path, *extra):
    return main(["simulate", "--out", str(tmp_path / "raw"), "--config-dir", str(tmp_path / "cfg"),
                 "--respondents", "60", "--seed", "9", *extra])


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_simulate_refuses_existing_files_without_force(tmp_path, capsys):
    assert _simulate(tmp_path, "--format", "canonical") == 0
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert _simulate(tmp_path, "--format", "canonical") == 1
    err = capsys.readouterr().err
    assert "rerun with --force to replace them" in err and "units.tsv" in err and "responses.csv" in err
    assert _snapshot(tmp_path) == before
    assert _simulate(tmp_path, "--format", "canonical", "--seed", "10", "--force") == 0
    out = capsys.readouterr().out
    assert _snapshot(tmp_path) != before
    assert "format: canonical" in out and str(tmp_path / "cfg" / "codebooks" / "canonical.yaml") in out


def test_simulate_old_format_names_rejected(tmp_path, capsys):
    for old in ("csv", "generic-xlsx"):
        try:
            _simulate(tmp_path, "--format", old)
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"--format {old} accepted")
        assert "invalid choice" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


def test_simulate_one_round_workbook(tmp_path, capsys):
    assert _simulate(tmp_path, "--rounds", "2026", "--format", "surveyxact", "--file-type", "xlsx") == 0
    assert [p.name for p in (tmp_path / "raw").iterdir() if p.is_dir()] == ["2026"]
    assert (tmp_path / "raw" / "2026" / "export.xlsx").is_file()
    assert f"export: {(tmp_path / 'raw' / '2026' / 'export.xlsx').as_posix()}" in capsys.readouterr().out
