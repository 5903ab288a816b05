"""Workbooks read with python-calamine give what openpyxl gave (issue 17): cell for cell, reader result for
reader result, error message for error message, on every workbook of the corpus and on hand-built and
mutated ones; and calamine really reads the ordinary ones (the comparison is not with openpyxl twice).

The reference is ``_workbook.open_with_openpyxl``, the reader before issue 17, patched into the readers.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relcoord.simulate import main_simulate
from relcoord.errors import RelcoordError
from relcoord.readers import generic, surveyxact
from relcoord.readers._limits import pad_rows
from relcoord.readers._text import sheet_rows
from relcoord.readers._workbook import Book, open_with_openpyxl, open_workbook

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path("/work/shared/samples")
BAD = ROOT / "tests" / "data" / "bad"
CORPUS = sorted(p for p in (ROOT / "tests").rglob("*.xlsx")) + sorted((ROOT / "data/raw/demo").glob("*/export.xlsx"))
READERS = {"surveyxact": lambda p, **kw: surveyxact.read_surveyxact(p),
           "generic": lambda p, **kw: generic.read_generic(p, **kw)}


# --------------------------------------------------------------------------- comparing the two readers

def _normal(rows: list[list[str]]) -> list[list[str]]:
    """Rows as the readers use them: rectangular, as wide as the data, without trailing empty rows."""
    rows = pad_rows([list(r) for r in rows])
    while rows and not any(rows[-1]):
        rows.pop()
    return rows


def _sheets(path: Path, opener) -> dict | str:
    try:
        wb = opener(path, "hint")
    except RelcoordError as exc:
        return f"stop: {exc}"
    try:
        return {n: (wb[n].sheet_state, _normal(sheet_rows(wb[n]))) for n in wb.sheetnames}
    except Exception as exc:  # noqa: BLE001 - the same failure from both is what is compared
        return f"{type(exc).__name__}: {exc}"
    finally:
        wb.close()


def _outcome(path: Path, fmt: str, monkeypatch, calamine: bool, **reader) -> object:
    opener = open_workbook if calamine else (lambda p, h: open_with_openpyxl(p, h))
    with monkeypatch.context() as m:
        m.setattr(surveyxact, "open_workbook", opener)
        m.setattr(generic, "open_workbook", opener)
        try:
            raw = READERS[fmt](path, **reader)
        except RelcoordError as exc:
            return f"stop: {exc}"
    frames = {k: getattr(raw, k) for k in ("data", "source_file", "source_row", "structure", "labels", "problems")}
    return frames, raw.format, raw.column_files


def _same(a, b) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    (fa, fmt_a, cols_a), (fb, fmt_b, cols_b) = a, b
    assert (fmt_a, cols_a) == (fmt_b, cols_b)
    for k in fa:
        if fa[k] is None or fb[k] is None:
            assert fa[k] is None and fb[k] is None, k
        elif isinstance(fa[k], pd.DataFrame):
            pd.testing.assert_frame_equal(fa[k], fb[k], check_exact=True)
        else:
            pd.testing.assert_series_equal(fa[k], fb[k], check_exact=True)


def assert_same_reading(path: Path, monkeypatch, formats=("surveyxact", "generic"), **reader) -> None:
    """Cells of every sheet, and each reader's result or stop, are the same with calamine and openpyxl."""
    assert _sheets(path, open_workbook) == _sheets(path, lambda p, h: open_with_openpyxl(p, h))
    for fmt in formats:
        _same(_outcome(path, fmt, monkeypatch, True, **reader), _outcome(path, fmt, monkeypatch, False, **reader))


def calamine_reads_all(path: Path) -> bool:
    """Whether calamine reads every sheet of the workbook (none goes to openpyxl)."""
    wb = open_workbook(path, "hint")
    try:
        if not isinstance(wb, Book):
            return False
        for n in wb.sheetnames:
            try:
                sheet_rows(wb[n])
            except Exception:  # noqa: BLE001 - openpyxl's stop on a sheet it cannot read: not calamine's
                pass
        return all(wb[n].read_by == "calamine" for n in wb.sheetnames)
    finally:
        wb.close()


# --------------------------------------------------------------------------- the corpus

@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_corpus_workbooks_read_the_same(path, monkeypatch):
    assert_same_reading(path, monkeypatch)


def test_bad_corpus_workbooks_with_their_reader_options(monkeypatch):
    import yaml
    entries = yaml.safe_load((BAD / "corpus.yaml").read_text(encoding="utf-8"))
    entries = entries["files"] if isinstance(entries, dict) else entries
    xlsx = [e for e in entries if str(e["file"]).endswith(".xlsx")]
    assert len(xlsx) >= 5
    for e in xlsx:
        assert_same_reading(BAD / e["file"], monkeypatch, formats=(e["format"],), **(e.get("reader") or {}))


def test_demo_and_sample_workbooks_are_read_by_calamine():
    demo = sorted((ROOT / "data/raw/demo").glob("*/export.xlsx"))
    assert demo
    for path in demo + [ROOT / "tests/data/surveyxact/ex_survey2.xlsx"]:
        assert calamine_reads_all(path), path


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared samples (/work/shared/samples) are not on this machine")
def test_shared_sample_workbooks_read_the_same(monkeypatch):
    paths = sorted(SAMPLES.rglob("*.xlsx"))
    if not paths:
        pytest.skip("no .xlsx among the shared samples")
    for path in paths:
        assert_same_reading(path, monkeypatch)
        assert calamine_reads_all(path), path


@pytest.mark.parametrize("fmt", ["surveyxact", "generic"])
def test_simulated_workbooks_read_the_same(fmt, tmp_path, monkeypatch):
    out, config = tmp_path / "raw", tmp_path / "config"
    assert main_simulate(["--format", fmt, "--file-type", "xlsx", "--respondents", "300", "--out", str(out),
                          "--config-dir", str(config)]) == 0
    paths = sorted(out.rglob("*.xlsx"))
    assert paths
    for path in paths:
        assert calamine_reads_all(path), path
        assert_same_reading(path, monkeypatch, formats=(fmt,))


# --------------------------------------------------------------------------- hand-built workbooks

_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
_STYLES = ('<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2">'
           '<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/>'
           '</numFmts><fonts count="1"><font/></fonts><fills count="1"><fill><patternFill patternType="none"/></fill>'
           '</fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
           '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/>'
           '<xf numFmtId="49"/></cellXfs></styleSheet>')
STRINGS = ["<t>id</t>", "<t>Q1</t>", '<t xml:space="preserve">  padded  </t>', "<t>line1\r\nline2</t>", "<t/>",
           "<t>007</t>", "<t>amp &amp; &lt; æøå</t>", '<t xml:space="preserve">Idrettsfag </t>',
           "<r><t>rich</t></r><r><rPr><b/></rPr><t>text</t></r>"]


def book(path: Path, sheets: list[tuple], strings=STRINGS, date1904: bool = False) -> Path:
    """A workbook from raw sheet XML: sheets are (name, state, sheetData content[, XML before sheetData])."""
    sheet_ct = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                       f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                       for i in range(1, len(sheets) + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" '
                   'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' + sheet_ct +
                   '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
        z.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                   'officeDocument" Target="xl/workbook.xml"/></Relationships>')
        pr = '<workbookPr date1904="1"/>' if date1904 else ""
        z.writestr("xl/workbook.xml", f"<workbook {_NS}>{pr}<sheets>" + "".join(
            f'<sheet name="{s[0]}" sheetId="{i}"' + (f' state="{s[1]}"' if s[1] != "visible" else "")
            + f' r:id="rId{i}"/>'
            for i, s in enumerate(sheets, 1)) + "</sheets></workbook>")
        rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
        n = len(sheets)
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + "".join(
                       f'<Relationship Id="rId{i}" Type="{rel}worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, n + 1)) +
                   f'<Relationship Id="rId{n + 1}" Type="{rel}sharedStrings" Target="sharedStrings.xml"/>'
                   f'<Relationship Id="rId{n + 2}" Type="{rel}styles" Target="styles.xml"/></Relationships>')
        z.writestr("xl/styles.xml", _STYLES)
        z.writestr("xl/sharedStrings.xml", f'<sst {_NS} count="{len(strings)}">'
                   + "".join(f"<si>{s}</si>" for s in strings) + "</sst>")
        for i, s in enumerate(sheets, 1):
            before = s[3] if len(s) > 3 else ""
            z.writestr(f"xl/worksheets/sheet{i}.xml", f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}>'
                       f"{before}<sheetData>{s[2]}</sheetData></worksheet>")
    return path


def row(r: int, cells: str) -> str:
    return f'<row r="{r}">{cells}</row>'


def num(ref: str, v: str, s: int | None = None) -> str:
    return f'<c r="{ref}"' + (f' s="{s}"' if s is not None else "") + f"><v>{v}</v></c>"


def sst(ref: str, k: int) -> str:
    return f'<c r="{ref}" t="s"><v>{k}</v></c>'


def table(*cells: str) -> str:
    """A header row (id, Q1) and one record row holding ``cells`` after its id."""
    return row(1, sst("A1", 0) + sst("B1", 1)) + row(2, num("A2", 1) + "".join(cells))


PLAIN = {   # what calamine reads (as openpyxl does)
    "numbers": table(num("B2", "3.0"), num("C2", "-0"), num("D2", "007"), num("E2", "2.5"), num("F2", "1e3"),
                     num("G2", "0.30000000000000004"), num("H2", "999999999999999"), num("I2", "+5".lstrip("+"))),
    "booleans and formulas": table('<c r="B2" t="b"><v>1</v></c><c r="C2" t="b"><v>0</v></c>'
                                   '<c r="D2"><f>1+1</f><v>2</v></c><c r="E2" t="str"><f>A1</f><v>  x  </v></c>'
                                   '<c r="F2"><f>1+1</f></c><c r="G2"><f>1+1</f><v/></c>'),
    "strings": table(*(sst(f"{c}2", k) for c, k in zip("BCDEFGH", (2, 3, 4, 5, 6, 7, 8)))),
    "inline strings": table('<c r="B2" t="inlineStr"><is><t>inline</t></is></c><c r="C2" t="inlineStr"><is>'
                            '<t xml:space="preserve"> sp </t></is></c><c r="D2" t="inlineStr"/>'),
    "gaps": row(3, num("C3", "1") + sst("D3", 0)) + '<row r="5"/>' + row(7, num("B7", "2")) + '<row r="9"/>',
    "empty cells": row(2, '<c r="B2" s="4"/><c r="C2"></c>') + '<row r="10"/>',
}
IRREGULAR = {   # what openpyxl reads instead, each a way calamine reads differently
    "escape": (table(sst("B2", 2)), "<t>a_x000D_b</t>"),
    "escape of an escape": (table(sst("B2", 2)), "<t>esc_x005F_x000D_</t>"),
    "escape inline": table('<c r="B2" t="inlineStr"><is><t>a_x0041_b</t></is></c>'),
    "escape in a formula's text": table('<c r="B2" t="str"><f>A1</f><v>a_x000D_b</v></c>'),
    "trimmed rich text": (table(sst("B2", 2)), "<r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r>"),
    "phonetic": (table(sst("B2", 2)), '<t>ruby</t><rPh sb="0" eb="1"><t>R</t></rPh>'),
    "char ref": (table(sst("B2", 2)), "<t>&#13;ent</t>"),
    "untrimmed inline": table('<c r="B2" t="inlineStr"><is><t> y </t></is></c>'),
    "number with spaces": table(num("B2", " 5")), "number with underscore": table(num("B2", "1_0")),
    "big integer": table(num("B2", "1000000000000000")), "huge integer": table(num("B2", "12345678901234567890")),
    "infinite": table(num("B2", "1e400")), "error cells": table('<c r="B2" t="e"><v>#N/A</v></c>'),
    "string index text": table('<c r="B2" t="s"><v>1.0</v></c>'),
    "boolean text": table('<c r="B2" t="b"><v>true</v></c>'),
    "inline in a shared-string cell": table('<c r="B2" t="s"><is><t>x</t></is></c>'),
    "cell in another row": row(1, sst("A1", 0)) + row(2, num("A5", "1") + num("B2", "2")),
    "columns out of order": row(1, num("C1", "1") + num("A1", "2")),
    "row twice": row(1, num("A1", "1")) + row(1, num("B1", "2")),
    "rows out of order": row(2, num("A2", "1")) + row(1, num("A1", "3")),
    "empty row out of order": '<row r="5"/>' + row(3, num("A3", "1")),
    "no references": '<row><c><v>1</v></c><c t="s"><v>0</v></c></row><row r="5"><c><v>4</v></c></row>',
    "value twice": row(1, '<c r="A1"><v>1</v><v>2</v></c>'),
    "date": table(num("B2", "45000.5", 2)), "date serial 60": table(num("B2", "60", 1)),
    "negative date": table(num("B2", "-1", 1)), "date out of range": table(num("B2", "2958466", 1)),
    "duration": table(num("B2", "1.25", 3)), "iso date": table('<c r="B2" t="d"><v>2024-03-01T12:00:00</v></c>'),
    "unknown type": table('<c r="B2" t="zz"><v>1</v></c>'), "shared string out of range": table(sst("B2", 99)),
    "comment": row(1, num("A1", "1")) + "<!-- x -->", "extra cell attribute": row(1, '<c r="A1" cm="1"><v>1</v></c>'),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_sheets_are_read_by_calamine_as_by_openpyxl(name, tmp_path, monkeypatch):
    path = book(tmp_path / "b.xlsx", [("Ark1", "visible", PLAIN[name])])
    assert calamine_reads_all(path)
    assert_same_reading(path, monkeypatch, formats=("generic",))


@pytest.mark.parametrize("name", sorted(IRREGULAR))
def test_sheets_calamine_reads_differently_go_to_openpyxl(name, tmp_path, monkeypatch):
    sheet, odd = IRREGULAR[name] if isinstance(IRREGULAR[name], tuple) else (IRREGULAR[name], "<t>x</t>")
    path = book(tmp_path / "b.xlsx", [("Ark1", "visible", sheet)], strings=STRINGS[:2] + [odd])
    assert not calamine_reads_all(path)
    assert_same_reading(path, monkeypatch, formats=("generic",))


def test_date1904_sheet_names_states_and_order(tmp_path, monkeypatch):
    path = book(tmp_path / "b.xlsx", [("Z first &amp; æ", "visible", row(3, num("C3", "1") + sst("D3", 0)),
                                       '<dimension ref="A1:XFD1048576"/>'),
                                      ("Skjult", "hidden", row(1, num("A1", "1"))),
                                      ("Meget skjult", "veryHidden", row(1, num("A1", "1"))),
                                      ("Tom", "visible", "")], date1904=True)
    wb = open_workbook(path, "hint")
    assert isinstance(wb, Book)
    assert wb.sheetnames == ["Z first & æ", "Skjult", "Meget skjult", "Tom"]
    assert [wb[n].sheet_state for n in wb.sheetnames] == ["visible", "hidden", "veryHidden", "visible"]
    wb.close()
    assert_same_reading(path, monkeypatch, formats=("generic",))
    assert_same_reading(path, monkeypatch, formats=("generic",), sheet="Skjult")


def test_a_declared_huge_dimension_builds_no_huge_grid(tmp_path):
    """calamine ignores the declared range: a sheet saying A1:XFD1048576 with three cells reads in
    a child process capped at 3 GB of address space."""
    path = book(tmp_path / "b.xlsx", [("Ark1", "visible", table(num("B2", "4")), '<dimension ref="A1:XFD1048576"/>')])
    soft = 3 << 30
    code = textwrap.dedent(f"""\
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({soft}, {soft}))
        from relcoord.readers._workbook import open_workbook, Book
        from relcoord.readers._text import sheet_rows
        wb = open_workbook({str(path)!r}, "hint")
        assert isinstance(wb, Book) and wb["Ark1"].plain
        print(sheet_rows(wb["Ark1"]))
        assert wb["Ark1"].read_by == "calamine"
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[['id', 'Q1'], ['1', '4']]"


# --------------------------------------------------------------------------- mutated workbooks

@pytest.fixture(scope="module")
def small_surveyxact_workbook(tmp_path_factory) -> bytes:
    from relcoord.simulate import simulate_study
    from relcoord.writers.surveyxact import write_surveyxact
    study = simulate_study(seed=11, n_respondents=50, rounds=("2025",))
    path = tmp_path_factory.mktemp("sx") / "export.xlsx"
    write_surveyxact(study.round("2025"), study.units, ROOT / "config" / "instrument.yaml",
                     ROOT / "config" / "codebooks" / "demo.yaml", path, kind="xlsx", max_columns=60)
    return path.read_bytes()


def _mutate(raw: bytes, seed: int) -> bytes:
    """Small edits of the sheets' XML (bytes deleted, duplicated, swapped or replaced)."""
    rnd = random.Random(seed)
    zin = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = bytearray(zin.read(info.filename))
            if info.filename.startswith("xl/worksheets/") and rnd.random() < 0.7:
                for _ in range(rnd.randint(1, 3)):
                    pos = rnd.randrange(len(data))
                    op = rnd.random()
                    if op < 0.3:
                        data[pos] = rnd.choice(b'<>/"= 019.-eAZ_x&;r')
                    elif op < 0.55:
                        del data[pos:pos + rnd.randint(1, 30)]
                    elif op < 0.8:
                        start = data.rfind(b"<", 0, pos)
                        end = data.find(b">", pos)
                        if 0 <= start < end:
                            data[end + 1:end + 1] = data[start:end + 1]
                    else:
                        q = rnd.randrange(len(data))
                        data[pos], data[q] = data[q], data[pos]
            zout.writestr(info.filename, bytes(data))
    return buf.getvalue()


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_workbooks_read_the_same(small_surveyxact_workbook, tmp_path_factory, seed):
    path = tmp_path_factory.mktemp("mut") / "export.xlsx"
    path.write_bytes(_mutate(small_surveyxact_workbook, seed))
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert_same_reading(path, monkeypatch)


def test_the_unmutated_workbook_is_read_by_calamine(small_surveyxact_workbook, tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(small_surveyxact_workbook)
    assert calamine_reads_all(path)
