"""Bad input never loses data and never shows a traceback.

- The corpus of malformed and hostile files (tests/data/bad/, built by
  make_corpus.py, listed with the expected outcome in corpus.yaml) goes
  through ``ingest_round``: each file either stops with a RelcoordError naming
  the file (and row), or ingests with every record valid or quarantined
  (in = valid + quarantined), the expected rules listed in failures with
  file and row, and the quarantine ceiling (or a base unit left without a valid
  respondent) stopping the round where expected.
- The whole corpus goes through the ``relcoord check`` command in a
  subprocess: no traceback reaches the terminal; a few files also through the
  installed ``relcoord`` executable.
- Hypothesis fuzzes every reader with random bytes and the whole ingest with
  mutated valid exports: nothing but RelcoordError escapes.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relcoord.config import load_config, settings_from_config
from relcoord.errors import RelcoordError
from relcoord.ingest import ingest_round
from relcoord.validation import FAILURE_COLUMNS, RULES, check_quarantine_ceiling

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "bad"
ROOT = HERE.parent
KEY = b"bad-input-key-0123456789abcdef!!"
ENTRIES = yaml.safe_load((CORPUS / "corpus.yaml").read_text(encoding="utf-8"))
RELCOORD = Path(sys.executable).with_name("relcoord")


def _make_corpus_module():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A fresh build of the corpus (with the large files that are not committed)."""
    out = tmp_path_factory.mktemp("bad")
    entries = _make_corpus_module().build(out, instrument=ROOT / "config" / "instrument.yaml")
    return out, entries, load_config(out / "config.yaml")


def test_corpus_is_large_and_committed_as_built(built):
    out, entries, _ = built
    assert len(entries) >= 30
    assert entries == ENTRIES
    fresh = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    committed = {p.relative_to(CORPUS): p.read_bytes() for p in CORPUS.rglob("*") if p.is_file()
                 and p.name not in (".gitignore", "make_corpus.py") and "__pycache__" not in p.parts}
    fresh = {k: v for k, v in fresh.items() if not k.name.startswith("huge_") and k.name != "config.yaml"}
    committed.pop(Path("config.yaml"))
    assert {k for k in committed if not k.name.startswith("huge_")} == set(fresh)
    changed = [str(k) for k in fresh if fresh[k] != committed[k]]
    assert not changed, f"rerun tests/data/bad/make_corpus.py: {changed}"
    assert {e["expect"] for e in entries} == {"stop", "records"}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_corpus_file(built, entry):
    out, _, cfg = built
    rid = entry["id"]
    if entry["expect"] == "stop":
        with pytest.raises(RelcoordError) as e:
            ingest_round(settings_from_config(cfg), rid, base=out, key=KEY)
        text = str(e.value)
        assert Path(entry["file"]).name in text, text
        assert re.search(entry["match"], text, re.S), text
        if "row" in entry:
            assert e.value.row == entry["row"] or f"row {entry['row']}" in text, text
        assert "What to do" in text
        return
    if entry.get("missing_units"):  # a base unit left without a valid respondent stops the round
        with pytest.raises(RelcoordError) as e:
            ingest_round(settings_from_config(cfg), rid, base=out, key=KEY)
        assert Path(entry["file"]).name in str(e.value) and "accept_missing_units" in str(e.value)
        assert all(f"- {u} (" in str(e.value) for u in entry["missing_units"]), str(e.value)
    result, _ = ingest_round(settings_from_config(cfg), rid, base=out, key=KEY, stop_on_missing_units=False)
    s, f = result.summary, result.failures
    assert s["missing_units"] == entry.get("missing_units", [])
    assert s["records_in"] == s["valid"] + s["quarantined"] and s["accounting_ok"]
    assert list(f.columns) == FAILURE_COLUMNS
    assert set(entry["rules"]) <= set(f["rule"]), f[["source_row", "column", "value", "rule"]]
    assert set(f["rule"]) <= set(RULES)
    if "valid" in entry:
        assert (s["valid"], s["quarantined"]) == (entry["valid"], entry["quarantined"]), f
    assert (f["source_row"] >= 1).all() and f["source_file"].astype(str).str.len().gt(0).all()
    assert f["message"].astype(str).str.len().gt(0).all()
    q_rows = set(f.loc[f["action"] == "quarantined", "source_row"])
    assert len(result.respondents) == s["valid"]
    assert not set(result.respondents["source_row"]) & q_rows or entry["format"] == "canonical"
    if entry.get("ceiling"):
        with pytest.raises(RelcoordError, match="quarantined"):
            check_quarantine_ceiling(result, cfg["validation"]["max_quarantined_fraction"], entry["file"])
    else:
        check_quarantine_ceiling(result, cfg["validation"]["max_quarantined_fraction"], entry["file"])


_DRIVER = r"""
import contextlib, io, json, sys, traceback
from relcoord.cli import main
out = []
for rid, export, cfg, base in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(["check", export, "--config", cfg, "--base", base, "--round", rid])
        except SystemExit as e:
            code = e.code
        except BaseException:
            code, _ = "uncaught", err.write(traceback.format_exc())
    sys.stderr.write(err.getvalue())
    out.append([rid, code, err.getvalue()])
print(json.dumps(out))
"""


def test_relcoord_check_on_the_whole_corpus_prints_no_traceback(built):
    """Every corpus file through the `relcoord check` command (its main, in one subprocess)."""
    out, entries, _ = built
    jobs = [[e["id"], str(out / e["file"]), str(out / "config.yaml"), str(out)] for e in entries]
    proc = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps(jobs)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "RELCOORD_SECRET": KEY.decode()})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    got = {rid: (code, err) for rid, code, err in json.loads(proc.stdout.strip().splitlines()[-1])}
    for e in entries:
        code, err = got[e["id"]]
        want = 1 if e["expect"] == "stop" or e.get("ceiling") or e.get("missing_units") else 0
        assert code == want, (e["id"], code, err)
        if want:
            assert err.startswith("relcoord: ") and "What to do" in err, (e["id"], err)


@pytest.mark.parametrize("rid", ["utf8_declared_latin1", "spss_truncated", "limesurvey_unknown_codes"])
def test_installed_command_stops_cleanly(built, rid):
    out, entries, _ = built
    e = next(x for x in entries if x["id"] == rid)
    proc = subprocess.run([str(RELCOORD), "check", str(out / e["file"]), "--config", str(out / "config.yaml"),
                           "--base", str(out), "--round", rid], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RELCOORD_SECRET": KEY.decode()})
    assert "Traceback" not in proc.stderr + proc.stdout
    if e["expect"] == "stop":
        assert proc.returncode == 1 and proc.stderr.startswith("relcoord: file ")
        assert Path(e["file"]).name in proc.stderr
    else:
        assert proc.returncode == 0 and "quarantined 2" in proc.stdout and "row 3, column 'enhed'" in proc.stdout


# --------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
CSV_CHARS = st.sampled_from(list(';,\t"\r\n \ufeff\x00=+-@0123456789AYQ_[]æøåÆØÅ.') + ["Hjemmeplejen", "q1_HJP",
                                                                                     "Respondent", "Enhed"])
csv_like = st.lists(CSV_CHARS, max_size=300).map("".join)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _read_all(fuzz_dir: Path, raw: bytes) -> None:
    from relcoord.readers.canonical import read_canonical
    from relcoord.readers.generic import read_generic
    from relcoord.readers.limesurvey import read_limesurvey
    from relcoord.readers.qualtrics import read_qualtrics
    from relcoord.readers.spss import read_spss
    from relcoord.readers.surveyxact import read_surveyxact
    for name in ("x.csv", "x.xlsx", "x.sav", "responses.csv", "respondents.csv", "dataset.csv", "structure.csv",
                 "labels.csv"):
        (fuzz_dir / name).write_bytes(raw)
    for read, arg in ((read_qualtrics, "x.csv"), (read_limesurvey, "x.csv"), (read_generic, "x.csv"),
                      (read_generic, "x.xlsx"), (read_spss, "x.sav"), (read_canonical, "."),
                      (read_surveyxact, ".")):
        try:
            read(fuzz_dir / arg)
        except RelcoordError:
            pass


@FUZZ
@given(raw=st.binary(max_size=3000))
def test_readers_survey_random_bytes(fuzz_dir, raw):
    _read_all(fuzz_dir, raw)


@FUZZ
@given(text=csv_like, enc=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_readers_survey_random_csv_like_text(fuzz_dir, text, enc):
    _read_all(fuzz_dir, text.encode(enc, errors="replace"))


HOSTILE = [b";", b",", b'"', b"\r\n", b"\n", b"\r", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"=1+1", b"-", b"\xe6",
           b"\xc3", b"9", b"A9", b";;;;", b'""', b"\t", b"  ", b"\xc3\xa6"]


def _mutate(raw: bytes, seed: int) -> bytes:
    rnd = random.Random(seed)
    b = bytearray(raw)
    for _ in range(rnd.randint(1, 5)):
        if not b:
            break
        pos, op = rnd.randrange(len(b)), rnd.random()
        if op < 0.3:
            b[pos] = rnd.randrange(256)
        elif op < 0.55:
            b[pos:pos] = rnd.choice(HOSTILE)
        elif op < 0.7:
            del b[pos:pos + rnd.randint(1, 40)]
        elif op < 0.8:
            b = b[:pos]
        elif op < 0.9:   # duplicate a line
            start = b.rfind(b"\n", 0, pos) + 1
            end = b.find(b"\n", pos)
            stop = end + 1 if end >= 0 else len(b)
            b[stop:stop] = b[start:stop]
        else:  # swap two bytes far apart
            q = rnd.randrange(len(b))
            b[pos], b[q] = b[q], b[pos]
    return bytes(b)


def _mutate_xlsx(raw: bytes, seed: int) -> bytes:
    """Mutate the XML of the sheet inside the workbook (a byte-mutated zip is just a bad zip)."""
    zin = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml":
                data = _mutate(data, seed)
            zout.writestr(info.filename, data)
    return buf.getvalue()


MUTABLE = {  # corpus entry whose export is mutated -> the file to mutate inside it
    "danish_cp1252": None,
    "danish_utf8_bom": None,
    "danish_utf16le_bom": None,
    "spss_codes": None,
    "qualtrics_unknown_answers": None,
    "limesurvey_unknown_codes": None,
    "canonical_ok": "responses.csv",
    "workbook_formula_text": "xlsx",
}


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(rid=st.sampled_from(sorted(MUTABLE)), seed=st.integers(0, 2**32 - 1))
def test_mutated_exports_ingest_or_stop_cleanly(built, tmp_path_factory, rid, seed):
    out, entries, cfg = built
    e = next(x for x in entries if x["id"] == rid)
    src = out / e["file"]
    work = tmp_path_factory.mktemp("mut")
    if src.is_dir():
        target = work / src.name
        target.mkdir()
        for f in src.iterdir():
            (target / f.name).write_bytes(f.read_bytes())
        victim = target / MUTABLE[rid]
        victim.write_bytes(_mutate(victim.read_bytes(), seed))
    else:
        target = work / src.name
        raw = src.read_bytes()
        target.write_bytes(_mutate_xlsx(raw, seed) if MUTABLE[rid] == "xlsx" else _mutate(raw, seed))
    try:
        result, _ = ingest_round(settings_from_config(cfg), rid, base=out, export_path=target, key=KEY)
    except RelcoordError as err:
        assert str(err).strip()
        return
    s = result.summary
    assert s["records_in"] == s["valid"] + s["quarantined"]
    assert len(result.respondents) == s["valid"]
    assert (result.failures["source_row"] >= 1).all()


@pytest.fixture(scope="module")
def surveyxact_workbook(tmp_path_factory):
    from relcoord.simulate import simulate_study
    from relcoord.writers.surveyxact import write_surveyxact

    study = simulate_study(seed=5, n_respondents=50, rounds=("2025",))
    path = tmp_path_factory.mktemp("sx") / "export.xlsx"
    write_surveyxact(
        study.round("2025"),
        study.units,
        ROOT / "config" / "instrument.yaml",
        ROOT / "config" / "codebooks" / "demo.yaml",
        path,
        kind="xlsx",
        max_columns=120,
    )
    return path.read_bytes()


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_surveyxact_workbook_stops_cleanly(surveyxact_workbook, fuzz_dir, seed):
    from relcoord.readers.surveyxact import read_surveyxact

    path = fuzz_dir / "sx.xlsx"
    path.write_bytes(_mutate_xlsx(surveyxact_workbook, seed))
    try:
        read_surveyxact(path)
    except RelcoordError:
        pass
