"""The canonical reader's pyarrow path (text without quotes, read into categoricals) gives exactly
what the pandas path (``parse_csv``: every cell a Python string) gives: the same records, source
rows, structure, problems and stops, on every canonical export in tests/ and on files with the
quirks a text file can have (line ends, BOM, 8-bit encodings, blank and short rows, trailing
delimiters, blank trailing records, quotes, conflicts and orphans)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from relcoord.errors import RelcoordError
from relcoord.readers import canonical as CAN
from relcoord.readers._text import parse_csv

TESTS = Path(__file__).parent
CORPUS = sorted(p.parent for p in TESTS.rglob("responses.csv"))


def read(folder: Path, monkeypatch, arrow: bool):
    with monkeypatch.context() as m:
        if not arrow:
            m.setattr(CAN, "_arrow_input", lambda text, raw, enc, delim: None)   # parse_csv for every file
        try:
            return CAN.read_canonical(folder)
        except RelcoordError as exc:
            return ("stop", str(exc))


def assert_same(a, b) -> None:
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
        return
    for name in ("data", "source_file", "source_row", "structure", "problems"):
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        else:
            pd.testing.assert_series_equal(x, y, check_exact=True)
    assert a.data.map(type).eq(str).all().all()
    assert (a.files, a.encoding, a.delimiter, a.column_files, a.column_labels) == \
        (b.files, b.encoding, b.delimiter, b.column_files, b.column_labels)
    assert a.cell_rows.keys() == b.cell_rows.keys()
    for k in a.cell_rows:
        np.testing.assert_array_equal(a.cell_rows[k], b.cell_rows[k])


def test_the_corpus_has_canonical_exports():
    assert len(CORPUS) >= 4


@pytest.mark.parametrize("folder", CORPUS, ids=lambda p: str(p.relative_to(TESTS)))
def test_corpus_reads_the_same(folder, monkeypatch):
    assert_same(read(folder, monkeypatch, True), read(folder, monkeypatch, False))


PEOPLE = "respondent_id,rater_unit,networks,role\np1,HJP,N-TI,Leder\np2,PPR,,Medarbejder\np3, HJP ,N-TI;N-BO,Ø\n"
ANSWERS = ("respondent_id,target_unit,item,value,answer\n"
           "p1,PPR,frequent,3,valid\np1,PPR,timely,,dont_know\np1,HJP,frequent,4,valid\n"
           "p2,HJP,timely,5,valid\np2,hjp ,frequent,2,valid\np3,PPR,frequent,9,valid\n"
           "p9,PPR,frequent,1,valid\np1,PPR,frequent,4,valid\n")


def variants():
    yield "plain", PEOPLE, ANSWERS, "utf-8"
    yield "crlf", PEOPLE.replace("\n", "\r\n"), ANSWERS.replace("\n", "\r\n"), "utf-8"
    yield "cr", PEOPLE.replace("\n", "\r"), ANSWERS.replace("\n", "\r"), "utf-8"
    yield "bom", "\ufeff" + PEOPLE, "\ufeff" + ANSWERS, "utf-8"
    yield "cp1252", PEOPLE, ANSWERS, "cp1252"
    yield "utf16", PEOPLE, ANSWERS, "utf-16"
    yield "semicolon", PEOPLE.replace(",", ";").replace("N-TI;N-BO", "N-TI N-BO"), ANSWERS.replace(",", ";"), "utf-8"
    yield "no_final_newline", PEOPLE, ANSWERS.rstrip("\n"), "utf-8"
    yield "cut_last_row", PEOPLE, ANSWERS + "p2,PPR", "utf-8"
    yield "short_row", PEOPLE, ANSWERS + "p2,PPR,timely\n", "utf-8"
    yield "long_row", PEOPLE, ANSWERS + "p2,PPR,timely,3,valid,x\n", "utf-8"
    yield "blank_line_inside", PEOPLE, ANSWERS.replace("p2,HJP", "\np2,HJP"), "utf-8"
    yield "blank_trailing_records", PEOPLE + ",,,\n,,,\n", ANSWERS + ",,,,\n\n", "utf-8"
    yield "trailing_delimiter", PEOPLE.replace("\n", ",\n"), ANSWERS.replace("\n", ",\n"), "utf-8"
    yield "quotes", PEOPLE.replace("Leder", '"Leder, chef"'), ANSWERS.replace("p2,HJP", '"p2",HJP'), "utf-8"
    yield "bare_quote", PEOPLE.replace("Leder", 'Le"der'), ANSWERS, "utf-8"
    yield "header_only", PEOPLE, ANSWERS.split("\n")[0] + "\n", "utf-8"
    yield "empty", PEOPLE, "", "utf-8"
    yield "blank_item", PEOPLE, ANSWERS + "p2,PPR,,3,valid\n", "utf-8"
    yield "missing_value_column", PEOPLE, ANSWERS.replace(",value", ",score"), "utf-8"


@pytest.mark.parametrize("case", list(variants()), ids=lambda c: c[0])
def test_quirky_files_read_the_same(case, tmp_path, monkeypatch):
    _, people, answers, enc = case
    (tmp_path / "respondents.csv").write_bytes(people.encode(enc))
    (tmp_path / "responses.csv").write_bytes(answers.encode(enc))
    a, b = read(tmp_path, monkeypatch, True), read(tmp_path, monkeypatch, False)
    assert_same(a, b)


def test_a_quote_free_file_is_read_into_categoricals():
    frame = CAN._arrow_frame(*CAN._arrow_input(ANSWERS, ANSWERS.encode(), "utf-8", ","), ",")
    assert all(isinstance(t, pd.CategoricalDtype) for t in frame.dtypes)
    assert frame.astype(object).equals(parse_csv(ANSWERS, ",", "f", CAN.HINT))
    assert CAN._arrow_input('a,"b"\n1,2\n', b'a,"b"\n1,2\n', "utf-8", ",") is None
