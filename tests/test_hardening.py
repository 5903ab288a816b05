"""Outputs that cannot run, inputs that cannot hurt the machine, a key that is really secret (issue 12).

- CSV formula injection: hostile text written through ``write_csv`` is live in no import (comma,
  semicolon, tab; a CSV parser and a naive split; bare CR as a row break), numbers stay numbers.
- Bounded inputs: workbook bombs (a cell at XFD1048576, a huge grid, zip-bomb ratios, millions of
  shared strings, a DTD), YAML alias bombs, and a FIFO / ``/dev/zero`` / a folder given as an export
  each stop within seconds with a RelcoordError. Every bomb is built small here, and every read that
  could hang or eat memory runs in a child process with a timeout and a memory cap, so a regression
  fails the test instead of hanging CI or the machine.
- The pseudonymisation key: a folder, a binary, an empty or a world-readable key file and a short
  RELCOORD_SECRET are refused; a generated key file is private and the note says where it is.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csv_safety import live_formulas
from relcoord.errors import RelcoordError
from relcoord.pseudonymise import resolve_secret
from relcoord.readers import _limits
from relcoord.readers.generic import read_generic
from relcoord.schema import MAX_YAML_ALIAS_NODES, read_yaml
from relcoord.tables import write_csv

ROOT = Path(__file__).resolve().parents[1]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --------------------------------------------------------------------------- guards

@contextmanager
def time_limit(seconds: int):
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""
    def fail(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def isolated(code: str, timeout: int = 60, memory_gb: int = 3) -> tuple[str, float]:
    """Run ``code`` in a child Python with a timeout and an address-space cap; it must print the
    RelcoordError it catches. Returns (output, seconds)."""
    body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    prog = (f"import resource\n"
            f"resource.setrlimit(resource.RLIMIT_AS, ({memory_gb} << 30, {memory_gb} << 30))\n"
            f"from relcoord.errors import RelcoordError\n"
            f"try:\n{body}\n"
            f"except RelcoordError as exc:\n    print('RELCOORD-ERROR:', exc)\n"
            f"else:\n    print('NO-ERROR')\n")
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=timeout,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not stop within {timeout} s (hangs)")
    took = time.monotonic() - start
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, took


def refused(out: str, *phrases: str) -> None:
    assert out.startswith("RELCOORD-ERROR:"), out[:2000]
    assert "What to do:" in out, out
    for p in phrases:
        assert p in out, out


# --------------------------------------------------------------------------- workbooks

def base_workbook(path: Path) -> Path:
    """A valid SurveyXact-like workbook (Dataset, Structure, Labels) with a shared-strings part."""
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Dataset"
    ws.append(["id", "s_1"])
    ws.append(["r1", "1"])
    wb.create_sheet("Structure").append(["questionName", "variableName", "questionType", "subType",
                                         "questionText", "choiceValue", "choiceText"])
    wb.create_sheet("Labels").append(["s_1", "1", "Hjemmeplejen"])
    wb.save(path)
    return path


def replace_parts(path: Path, parts: dict[str, bytes | callable]) -> Path:
    """Rewrite the workbook with some parts replaced (bytes, or a function writing to a stream)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        names = [i.filename for i in src.infolist()]
        for name in names + [n for n in parts if n not in names]:
            new = parts.get(name)
            if new is None:
                dst.writestr(src.getinfo(name), src.read(name))
            elif callable(new):
                with dst.open(name, "w", force_zip64=True) as fh:
                    new(fh)
            else:
                dst.writestr(name, new)
    tmp.replace(path)
    return path


def shared_strings(path: Path, part) -> Path:
    """Give the workbook a shared-strings part (registered as Excel does), with its cell A2 using it."""
    with zipfile.ZipFile(path) as z:
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    types = types.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    rels = rels.replace("</Relationships>", '<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/'
                        'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    return replace_parts(path, {"[Content_Types].xml": types.encode(), "xl/_rels/workbook.xml.rels": rels.encode(),
                                "xl/worksheets/sheet1.xml": sheet_xml(HEADER + '<row r="2"><c r="A2" t="s"><v>0</v></c>'
                                                                      '<c r="B2"><v>1</v></c></row>'),
                                "xl/sharedStrings.xml": part})


def sheet_xml(rows: str, dimension: str = "A1:B2", prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {ns}>'
            f'<{p}dimension ref="{dimension}"/><{p}sheetData>{rows}</{p}sheetData></{p}worksheet>').encode()


HEADER = ('<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c>'
          '<c r="B1" t="inlineStr"><is><t>s_1</t></is></c></row>')
READERS = {
    "generic": "from relcoord.readers.generic import read_generic as read",
    "surveyxact": "from relcoord.readers.surveyxact import read_surveyxact as read",
}


def read_in_child(path: Path, reader: str, timeout: int = 60) -> tuple[str, float]:
    return isolated(
        f"""
        {READERS[reader]}
        read({str(path)!r})
    """,
        timeout=timeout,
    )


@pytest.mark.parametrize("reader", sorted(READERS))
def test_workbook_with_one_cell_at_xfd1048576_stops(tmp_path, reader):
    """32 kB: one cell in the last row and column. Before: 13 GB of padded rows, then MemoryError."""
    book = replace_parts(
        base_workbook(tmp_path / "export.xlsx"),
        {
            "xl/worksheets/sheet1.xml": sheet_xml(
                HEADER + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', dimension="A1:XFD1048576"
            )
        },
    )
    assert book.stat().st_size < 32_000
    out, took = read_in_child(book, reader)
    refused(out, "row 1,048,576", f"up to {_limits.MAX_ROWS:,} rows", "export.xlsx", "A1:XFD1048576", "'Dataset'")
    assert took < 20


@pytest.mark.parametrize("prefix", ["", "x"])
def test_workbook_grid_beyond_the_cell_limit_stops(tmp_path, prefix):
    """Within the row and column limits, but a grid of 999,999 x 16,384 cells (a header cell at XFD1,
    a value in the last row); also with namespace-prefixed tags (<x:row>, <x:c>) and cells without
    references, which take the exact (openpyxl-like) walk."""
    p = f"{prefix}:" if prefix else ""
    rows = (
        f'<{p}row r="1"><{p}c r="A1" t="inlineStr"><{p}is><{p}t>id</{p}t></{p}is></{p}c>'
        f'<{p}c r="XFD1" t="inlineStr"><{p}is><{p}t>far</{p}t></{p}is></{p}c></{p}row>'
        f'<{p}row r="999999"><{p}c><{p}v>1</{p}v></{p}c></{p}row>'
    )
    book = replace_parts(
        base_workbook(tmp_path / "export.xlsx"), {"xl/worksheets/sheet1.xml": sheet_xml(rows, prefix=prefix)}
    )
    out, took = read_in_child(book, "generic")
    refused(out, "999,999 rows x 16,384 columns", f"({_limits.MAX_CELLS:,})")
    assert took < 20


def test_workbook_row_without_references_beyond_the_column_limit_stops(tmp_path):
    cells = "<c><v>1</v></c>" * (_limits.MAX_COLUMNS + 5)
    book = replace_parts(
        base_workbook(tmp_path / "export.xlsx"), {"xl/worksheets/sheet1.xml": sheet_xml(HEADER + f"<row>{cells}</row>")}
    )
    with time_limit(30), pytest.raises(RelcoordError, match=f"column {_limits.MAX_COLUMNS + 5:,}"):
        read_generic(book)


def test_shared_strings_zip_bomb_stops(tmp_path):
    """6 million shared strings (100 MB) packed into 100 kB: refused by the compression ratio before
    openpyxl loads them (before: a minute and gigabytes of memory)."""
    n = 6_000_000

    def write(fh):
        fh.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{n}" uniqueCount="{n}">'.encode())
        block = b"<si><t>lol</t></si>" * 50_000
        for _ in range(n // 50_000):
            fh.write(block)
        fh.write(b"</sst>")

    book = shared_strings(base_workbook(tmp_path / "export.xlsx"), write)
    assert book.stat().st_size < 2_000_000
    out, took = read_in_child(book, "surveyxact")
    refused(out, "xl/sharedStrings.xml", "zip bomb", f"up to {_limits.MAX_RATIO}")
    assert took < 20


def test_too_many_shared_strings_stop(tmp_path, monkeypatch):
    """The count itself (the bomb above is caught earlier by its ratio): limit lowered to 1,000."""
    monkeypatch.setattr(_limits, "MAX_SHARED_STRINGS", 1_000)
    strings = "".join(f"<si><t>text {i} {i * 7919 % 104729}</t></si>" for i in range(2_000))
    book = shared_strings(
        base_workbook(tmp_path / "export.xlsx"),
        f'<sst xmlns="{MAIN}" count="2000" uniqueCount="2000">{strings}</sst>'.encode(),
    )
    with time_limit(30), pytest.raises(RelcoordError, match="shared-strings table holds more than 1,000"):
        read_generic(book)


def test_workbook_unpacking_beyond_the_total_limit_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(_limits, "MAX_UNCOMPRESSED_BYTES", 2_000)
    book = base_workbook(tmp_path / "export.xlsx")
    with time_limit(30), pytest.raises(RelcoordError, match="unpacks to .* more than relcoord reads"):
        read_generic(book)


def test_workbook_with_a_dtd_stops(tmp_path):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c>'
        "</row></sheetData></worksheet>"
    )
    book = replace_parts(base_workbook(tmp_path / "export.xlsx"), {"xl/worksheets/sheet1.xml": laughs.encode()})
    with time_limit(30), pytest.raises(RelcoordError, match="DTD"):
        read_generic(book)


def test_a_large_real_workbook_passes_the_checks_quickly(tmp_path):
    """10,000 respondents x 120 columns (as `relcoord simulate --respondents 10000 --format surveyxact
    --file-type xlsx` writes, 36 MB unpacked): the checks pass in a few seconds. (The full read takes
    ~20 s, so it is not repeated here.)"""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(j) for j in range(1, 121)]

    def write(fh):
        fh.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
        head = "".join(f'<c r="{c}1" t="inlineStr"><is><t>v_{c}</t></is></c>' for c in letters)
        fh.write(f'<row r="1">{head}</row>'.encode())
        for r in range(2, 10_002):
            fh.write(
                (
                    f'<row r="{r}">'
                    + "".join(f'<c r="{c}{r}" t="n"><v>{(r * 7 + j) % 5 + 1}</v></c>' for j, c in enumerate(letters))
                    + "</row>"
                ).encode()
            )
        fh.write(b"</sheetData></worksheet>")

    book = replace_parts(base_workbook(tmp_path / "export.xlsx"), {"xl/worksheets/sheet1.xml": write})
    start = time.monotonic()
    _limits.check_workbook(book, "hint")
    assert time.monotonic() - start < 10


def test_pad_rows_is_bounded_by_the_data():
    rows = [["id", "s_1", "", ""], ["r1"] + [""] * 16_383, []]
    assert _limits.pad_rows(rows) == [["id", "s_1"], ["r1", ""], ["", ""]]


# --------------------------------------------------------------------------- not a regular file

SPECIAL = ["fifo", "dev-zero", "folder"]


def special_file(tmp_path: Path, kind: str, name: str) -> Path:
    p = tmp_path / name
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dev-zero":
        p.symlink_to("/dev/zero")
    else:
        p.mkdir()
    return p


@pytest.mark.parametrize("kind", SPECIAL)
@pytest.mark.parametrize(
    "reader,name",
    [
        ("from relcoord.readers.generic import read_generic as read", "export.csv"),
        ("from relcoord.readers.generic import read_generic as read", "export.xlsx"),
        ("from relcoord.readers.qualtrics import read_qualtrics as read", "export.csv"),
        ("from relcoord.readers.spss import read_spss as read", "export.sav"),
    ],
    ids=["generic-csv", "generic-xlsx", "qualtrics", "spss"],
)
def test_a_pipe_device_or_folder_as_export_stops(tmp_path, kind, reader, name):
    """Before: a FIFO blocks forever on open, /dev/zero is read until memory runs out."""
    p = special_file(tmp_path, kind, name)
    out, took = isolated(
        f"""
        {reader}
        read({str(p)!r})
    """,
        timeout=30,
    )
    refused(out, str(p))
    assert ("folder" in out) if kind == "folder" else ("not a regular file" in out)
    assert took < 20


def test_surveyxact_workbook_fifo_stops(tmp_path):
    p = special_file(tmp_path, "fifo", "export.xlsx")
    out, _ = isolated(
        f"""
        from relcoord.readers.surveyxact import read_surveyxact
        read_surveyxact({str(p)!r})
    """,
        timeout=30,
    )
    refused(out, "named pipe", "not a regular file")


# --------------------------------------------------------------------------- YAML


def laughs(depth: int = 9, kind: str = "list") -> str:
    """A flow-style "billion laughs": each level holds the previous one ten times (an anchor, nine aliases)."""
    expr = '&a0 ["lol", "lol"]' if kind == "list" else "&a0 {a: lol, b: lol}"
    for d in range(1, depth + 1):
        refs = [f"*a{d - 1}"] * 9
        expr = (
            f"&a{d} [{expr}, {', '.join(refs)}]"
            if kind == "list"
            else f"&a{d} {{k0: {expr}, " + ", ".join(f"k{i + 1}: {r}" for i, r in enumerate(refs)) + "}"
        )
    return expr


BOMB_TARGETS = {  # a real file, with one value replaced by the bomb (where a string or number belongs)
    "config": (
        "config/config.yaml",
        "  language: da",
        "  language: {bomb}",
        "from relcoord.config import load_config as load",
    ),
    "codebook": (
        "config/codebooks/limesurvey.yaml",
        "respondent_id: id",
        "respondent_id: {bomb}",
        "from relcoord.codebook import load_codebook as load",
    ),
    "instrument": (
        "config/instrument.yaml",
        "missing_codes: [6, 8, 9]",
        "missing_codes: {bomb}",
        "from relcoord.instrument import load_instrument as load",
    ),
}


@pytest.mark.parametrize("kind", ["list", "map"])
@pytest.mark.parametrize("target", sorted(BOMB_TARGETS))
def test_yaml_alias_bomb_stops(tmp_path, target, kind):
    """Under 2 kB, a billion values when written out. Before: the schema check's message spelled the value
    out (hangs, 2 GB and more)."""
    src, old, new, loader = BOMB_TARGETS[target]
    text = (ROOT / src).read_text(encoding="utf-8")
    assert text.count(old) == 1
    p = tmp_path / "bomb.yaml"
    p.write_text(text.replace(old, new.format(bomb=laughs(kind=kind))), encoding="utf-8")
    assert p.stat().st_size < len(text) + 2_000
    out, took = isolated(
        f"""
        {loader}
        load({str(p)!r})
    """,
        timeout=60,
    )
    refused(out, "bomb.yaml", "billion laughs", f"more than {MAX_YAML_ALIAS_NODES:,}")
    assert took < 20


def test_yaml_aliases_in_real_files_still_read():
    """The LimeSurvey codebook repeats its targets with an alias (targets: *units)."""
    book = read_yaml(ROOT / "config" / "codebooks" / "limesurvey.yaml")
    assert book["items"]["timely"]["targets"] == book["items"]["frequent"]["targets"]


def test_yaml_recursive_alias_deep_nesting_and_fifo_stop(tmp_path):
    (tmp_path / "cycle.yaml").write_text("a: &a [1, *a]\n", encoding="utf-8")
    (tmp_path / "deep.yaml").write_text("[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    os.mkfifo(tmp_path / "fifo.yaml")
    with time_limit(30):
        with pytest.raises(RelcoordError, match="refers to the anchor"):
            read_yaml(tmp_path / "cycle.yaml")
        with pytest.raises(RelcoordError, match="nested too deeply"):
            read_yaml(tmp_path / "deep.yaml")
        with pytest.raises(RelcoordError, match="named pipe"):
            read_yaml(tmp_path / "fifo.yaml")


# --------------------------------------------------------------------------- CSV formula injection

HOSTILE = [
    "\r=1+1",
    "x;=cmd|' /C calc'!A0;",
    "=SUM(1;2) Hjemmeplejen",
    "+45 Social og Sundhed",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    " =1+1",
    "a,=1+1",
    "a, -1+1",
    "a\n=1+1",
    "a\r\n@x",
    'a;"=1+1";b',
    '"=HYPERLINK(""http://x"")"',
    "x,\t=1",
    "=1",
    "-",
    "+",
    "@",
    "Team A; Team B",
    'He said "hi"',
    "",
]


def test_write_csv_leaves_no_live_formula_in_any_import(tmp_path):
    df = pd.DataFrame(
        {
            "name": HOSTILE,
            "rc": np.linspace(-0.5, 0.5, len(HOSTILE)).round(3),
            "n": np.arange(-3, len(HOSTILE) - 3),
            "mixed": [-0.12, "-0.12", "=1", 3, None, "a;-1", "x", "y", "z", "-1e-05", "+3", "-0,5"]
            + [""] * (len(HOSTILE) - 12),
            "kind": pd.Categorical(["a;@b"] * len(HOSTILE)),
            "suppressed": [True, False] * (len(HOSTILE) // 2),
        }
    )
    df = df[["name", "rc", "n", "mixed", "kind", "suppressed"]]
    df.columns = ["name", "rc", "n", "mixed", "=kind", "suppressed"]
    path = tmp_path / "units.csv"
    write_csv(df, path)
    assert live_formulas(path) == []
    raw = path.read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw, newline="")))  # every CR and LF is inside a quoted cell
    assert len(rows) == len(df) + 1 and {len(r) for r in rows} == {df.shape[1]}
    back = pd.read_csv(path, dtype={"name": str, "mixed": str}, keep_default_na=False)
    # numbers are numbers: numeric columns, and numbers inside a text column, unchanged
    assert back["rc"].tolist() == df["rc"].tolist()
    assert back["n"].tolist() == df["n"].tolist()
    assert back["mixed"].tolist()[:4] == ["-0.12", "-0.12", "'=1", "3"]
    assert back["mixed"].tolist()[9:12] == ["-1e-05", "+3", "-0,5"]
    # text reads back as given, with a ' before each part a spreadsheet would run
    assert back["name"].tolist()[:4] == [
        "'\r'=1+1",
        "x;'=cmd|' /C calc'!A0;",
        "'=SUM(1;2) Hjemmeplejen",
        "'+45 Social og Sundhed",
    ]
    assert back["name"].tolist()[-3:] == ["Team A; Team B", 'He said "hi"', ""]
    assert list(back.columns)[4] == "'=kind"


def test_live_formulas_finds_what_the_old_writer_let_through(tmp_path):
    """The oracle itself: the two bypasses of the old write_csv are found."""
    p = tmp_path / "old.csv"
    p.write_text("name,n\n\r=1+1,1\nx;=cmd|' /C calc'!A0;,2\n", encoding="utf-8")
    found = live_formulas(p)
    assert any(c.startswith("=1+1") for _, _, _, c in found)
    assert any(c.startswith("=cmd") for _, _, _, c in found)
    q = tmp_path / "numbers.csv"
    q.write_text("unit,rc\nHJP,-0.12\nSUC,1e-05\n", encoding="utf-8")
    assert live_formulas(q) == []


# --------------------------------------------------------------------------- the key


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("RELCOORD_SECRET", raising=False)


def test_short_secret_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("RELCOORD_SECRET", "x")
    with pytest.raises(RelcoordError, match="1 character.*at least 16") as err:
        resolve_secret("RELCOORD_SECRET", "/nonexistent/secret")
    assert "token_hex" in str(err.value)
    monkeypatch.setenv("RELCOORD_SECRET", "0123456789abcdef")
    assert resolve_secret("RELCOORD_SECRET", "/nonexistent/secret") == (
        b"0123456789abcdef",
        "environment variable RELCOORD_SECRET",
    )


def test_key_file_that_is_a_folder_or_binary_or_empty_is_refused(tmp_path, no_env):
    (tmp_path / "dir").mkdir()
    with pytest.raises(RelcoordError, match="names a folder, not a key file"):
        resolve_secret("RELCOORD_SECRET", str(tmp_path / "dir"))
    binary = tmp_path / "binary"
    binary.write_bytes(bytes(range(256)) * 4)
    binary.chmod(0o600)
    with pytest.raises(RelcoordError, match="not text"):
        resolve_secret("RELCOORD_SECRET", str(binary))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(RelcoordError, match="is empty"):
        resolve_secret("RELCOORD_SECRET", str(empty))


def test_world_readable_key_file_is_refused_with_the_chmod_to_run(tmp_path, no_env):
    key = tmp_path / "secret"
    key.write_text("a-long-enough-key-0123456789\n")
    key.chmod(0o644)
    with pytest.raises(RelcoordError, match=r"mode 644") as err:
        resolve_secret("RELCOORD_SECRET", str(key))
    assert f"chmod 600 {key}" in str(err.value)
    key.chmod(0o600)
    assert resolve_secret("RELCOORD_SECRET", str(key)) == (b"a-long-enough-key-0123456789", f"key file {key}")


def test_generated_key_file_is_private_and_the_note_says_where(tmp_path, no_env):
    key = tmp_path / "config" / "relcoord" / "secret"
    value, note = resolve_secret("RELCOORD_SECRET", str(key))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(value) == 64 and key.read_text().strip().encode() == value
    assert str(key) in note and "new random key was generated" in note and "back it up" in note
    assert resolve_secret("RELCOORD_SECRET", str(key)) == (value, f"key file {key}")
