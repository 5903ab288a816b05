"""Tests for the SurveyXact reader (CSV trio and Excel workbook)."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers.surveyxact import STRUCTURE_COLUMNS, _cell_text, read_surveyxact

SAMPLES = Path(__file__).parent / "data" / "surveyxact"
COMMA = SAMPLES / "ex_survey2_comma_ansi"
SEMICOLON = SAMPLES / "ex_survey2_semicolon_ansi"
TAB = SAMPLES / "ex_survey2_tab_utf16"
XLSX = SAMPLES / "ex_survey2.xlsx"
# Only the comma export carries SurveyXact's contact (background) columns.
CONTACT_COLUMNS = ["id", "orgnr", "forn", "ettern", "email"]
N_RESPONDENTS = 999


@pytest.fixture(scope="module")
def variants() -> dict[str, RawExport]:
    return {name: read_surveyxact(p) for name, p in
            [("comma", COMMA), ("semicolon", SEMICOLON), ("tab", TAB), ("xlsx", XLSX)]}


def _copy_trio(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        shutil.copyfile(f, dst / f.name)
    return dst


def _assert_all_str(df: pd.DataFrame) -> None:
    assert not df.isna().any().any()
    assert all(isinstance(v, str) for v in df.to_numpy().ravel())


# --------------------------------------------------------------------------- the samples

@pytest.mark.parametrize("name, fmt, encoding, delimiter", [
    ("comma", "surveyxact-csv", "cp1252", ","),
    ("semicolon", "surveyxact-csv", "cp1252", ";"),
    ("tab", "surveyxact-csv", "utf-16", "\t"),
    ("xlsx", "surveyxact-xlsx", None, None),
])
def test_sample_basics(variants, name, fmt, encoding, delimiter):
    r = variants[name]
    assert r.format == fmt
    assert r.encoding == encoding
    assert r.delimiter == delimiter
    assert len(r.data) == N_RESPONDENTS   # the workbook's 4 empty trailing rows are dropped
    _assert_all_str(r.data)
    assert list(r.source_row) == list(range(2, N_RESPONDENTS + 2))
    assert r.source_row.index.equals(r.data.index)
    assert r.source_file.nunique() == 1
    if fmt == "surveyxact-csv":
        assert r.source_file.iloc[0].endswith("dataset.csv")
        assert {p.name for p in r.files} == {"dataset.csv", "structure.csv", "labels.csv"}
    else:
        assert r.source_file.iloc[0] == f"{XLSX}:Dataset"
        assert r.files == [XLSX]
    assert list(r.structure.columns) == STRUCTURE_COLUMNS
    _assert_all_str(r.structure)
    assert list(r.labels.columns) == ["variable", "value", "label"]
    _assert_all_str(r.labels)
    assert r.data.columns[0] == "v_1_1" and "stato_5" in r.data.columns


def test_variants_hold_the_same_data(variants):
    base = variants["tab"].data
    for name in ("semicolon", "xlsx"):
        other = variants[name].data
        assert list(other.columns) == list(base.columns), name
        pd.testing.assert_frame_equal(other, base, check_names=False, obj=name)
    comma = variants["comma"].data
    assert [c for c in comma.columns if c not in base.columns] == CONTACT_COLUMNS
    assert [c for c in base.columns if c not in comma.columns] == []
    pd.testing.assert_frame_equal(comma[list(base.columns)], base, obj="comma")
    # Values are kept exactly: codes as typed, blanks as "".
    assert base.loc[0, "s_2"] == "5" and base.loc[0, "p_01"] == ""


def test_variants_hold_the_same_labels(variants):
    def as_set(r):
        return set(map(tuple, r.labels.to_numpy()))
    base = as_set(variants["tab"])
    assert as_set(variants["semicolon"]) == base
    # The comma export also labels b_1_1 (the schools): a superset.
    comma = as_set(variants["comma"])
    assert base < comma
    assert {v for v, _, _ in comma - base} == {"b_1_1"}
    # The workbook keeps line breaks the CSV exports turn into a space.
    xlsx = variants["xlsx"].labels
    tab = variants["tab"].labels
    assert xlsx[["variable", "value"]].equals(tab[["variable", "value"]])
    assert (xlsx["label"].str.rstrip() == tab["label"].str.rstrip()).all()
    for r in variants.values():
        s6 = r.labels[r.labels["variable"] == "s_6"]
        assert s6.loc[s6["label"].str.strip() == "Vet ikke", "value"].tolist() == ["6"]


def test_variants_hold_the_same_structure(variants):
    base = variants["tab"].structure
    pd.testing.assert_frame_equal(variants["semicolon"].structure, base)
    # The comma structure rows end with a trailing delimiter (8 fields for a
    # 7-name header); it also describes the contact fields id and orgnr.
    comma = variants["comma"].structure
    assert comma[~comma["variableName"].isin(["id", "orgnr"])].reset_index(drop=True).equals(base)
    xlsx = variants["xlsx"].structure
    assert xlsx.shape == base.shape
    assert (xlsx.apply(lambda c: c.str.rstrip()) == base.apply(lambda c: c.str.rstrip())).all().all()
    assert xlsx.loc[0, "choiceValue"] == "1"   # an int cell in the workbook
    assert base.loc[0, "choiceText"] == "Design og redesign "
    assert xlsx.loc[0, "choiceText"] == "Design og redesign\n"
    # A choiceText quoted because it holds the delimiter.
    assert "Biologi; Kjemi; Fysikk; Geofag" in set(base["choiceText"])


def test_explicit_options_match_auto():
    r = read_surveyxact(SEMICOLON, encoding="latin-1", delimiter=";")
    assert r.encoding == "iso8859-1" and r.delimiter == ";"
    pd.testing.assert_frame_equal(r.data, read_surveyxact(SEMICOLON).data)
    assert read_surveyxact(TAB, delimiter="tab").delimiter == "\t"


def test_path_to_dataset_csv_reads_the_folder():
    assert read_surveyxact(TAB / "dataset.csv").data.shape == (N_RESPONDENTS, 242)


# --------------------------------------------------------------------------- CSV details

def _trio(tmp_path: Path, dataset: bytes | str, *, encoding: str = "utf-8",
          structure: str | None = None, labels: str | None = None) -> Path:
    d = tmp_path / "export"
    d.mkdir(exist_ok=True)
    if isinstance(dataset, str):
        dataset = dataset.encode(encoding)
    (d / "dataset.csv").write_bytes(dataset)
    (d / "structure.csv").write_text(
        structure if structure is not None else
        ",".join(STRUCTURE_COLUMNS) + "\ns_1,s_1,Closed,Single,Q?,1,Yes,\n", encoding="utf-8")
    (d / "labels.csv").write_text(labels if labels is not None else '"s_1",1,"Yes"\n',
                                  encoding="utf-8")
    return d


def test_utf8_bom_stripped_spaces_kept(tmp_path):
    d = _trio(tmp_path, "\ufeffs_1;s_2\r\n 1 ;x\r\n2;\r\n", encoding="utf-8")
    r = read_surveyxact(d)
    assert r.encoding == "utf-8-sig" and r.delimiter == ";"
    assert list(r.data.columns) == ["s_1", "s_2"]
    assert r.data.to_numpy().tolist() == [[" 1 ", "x"], ["2", ""]]


def test_plain_utf8_and_cp1252_detected(tmp_path):
    assert read_surveyxact(_trio(tmp_path, "navn\nÆble\n", encoding="utf-8")).encoding == "utf-8"
    r = read_surveyxact(_trio(tmp_path, "navn\nÆble – ø\n", encoding="cp1252"))
    assert r.encoding == "cp1252"
    assert r.data["navn"].tolist() == ["Æble – ø"]


def test_short_rows_padded_quoted_newlines_and_blank_rows(tmp_path):
    text = 'a,b,c\n1\n"two\nlines",x,y\n\n3,,\n\n\n'
    r = read_surveyxact(_trio(tmp_path, text))
    assert r.data.to_numpy().tolist() == [
        ["1", "", ""], ["two\nlines", "x", "y"], ["", "", ""], ["3", "", ""]]
    # Rows as a spreadsheet counts them; trailing blank rows dropped, inner kept.
    assert r.source_row.tolist() == [2, 3, 4, 5]


def test_trailing_delimiter_on_every_line_is_tolerated(tmp_path):
    r = read_surveyxact(_trio(tmp_path, "a;b;\n1;2;\n3;4;\n"))
    assert list(r.data.columns) == ["a", "b"]
    assert r.data.to_numpy().tolist() == [["1", "2"], ["3", "4"]]


def test_file_names_are_case_insensitive(tmp_path):
    d = _copy_trio(SEMICOLON, tmp_path / "x")
    (d / "dataset.csv").rename(d / "DataSet.CSV")
    (d / "labels.csv").rename(d / "Labels.csv")
    r = read_surveyxact(d)
    assert len(r.data) == N_RESPONDENTS
    assert r.source_file.iloc[0].endswith("DataSet.CSV")


@pytest.mark.parametrize("value, text", [
    (None, ""), (3, "3"), (3.0, "3"), (3.5, "3.5"), (0.1 + 0.2, "0.3"), (-2.0, "-2"),
    (True, "TRUE"), ("  x ", "  x "), (1e20, "1e+20"),
])
def test_excel_cells_render_as_seen(value, text):
    assert _cell_text(value) == text


# --------------------------------------------------------------------------- workbooks

def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


_STRUCTURE_ROWS = [STRUCTURE_COLUMNS, ["s_1", "s_1", "Closed", "Single", "Q?", 1, "Yes"]]
_LABEL_ROWS = [["s_1", 1, "Yes"], ["s_1", 6, "Vet ikke"]]


@pytest.fixture(scope="module")
def sample_head() -> pd.DataFrame:
    return read_surveyxact(TAB).data.head(40)


@pytest.mark.parametrize("second_name", ["Dataset2", "Dataset (2)"])
def test_dataset_split_over_sheets(tmp_path, sample_head, second_name):
    df = sample_head
    cols = list(df.columns)
    half = len(cols) // 2

    def rows(columns, extra_empty=0):
        out = [columns] + [[(int(v) if v.isdigit() else v) for v in r]
                           for r in df[columns].to_numpy().tolist()]
        return out + [[None] * len(columns)] * extra_empty

    whole = _workbook(tmp_path / "whole.xlsx", {
        "Dataset": rows(cols), "Structure": _STRUCTURE_ROWS, "Labels": _LABEL_ROWS})
    # Second sheet repeats the first column (a key) and has empty trailing rows.
    split = _workbook(tmp_path / "split.xlsx", {
        "Labels": _LABEL_ROWS,
        "Dataset": rows(cols[:half]),
        second_name: rows([cols[0]] + cols[half:], extra_empty=3),
        "Structure": _STRUCTURE_ROWS})
    a, b = read_surveyxact(whole), read_surveyxact(split)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(b.data, df.reset_index(drop=True))
    assert b.source_file.iloc[0] == f"{split}:Dataset"
    assert b.source_row.tolist() == list(range(2, len(df) + 2))
    assert b.labels.to_numpy().tolist() == [["s_1", "1", "Yes"], ["s_1", "6", "Vet ikke"]]


def test_split_sheets_that_do_not_line_up(tmp_path):
    path = _workbook(tmp_path / "bad.xlsx", {
        "Dataset": [["id", "a"], [1, "x"], [2, "y"]],
        "Dataset2": [["id", "b"], [2, "p"], [1, "q"]],
        "Structure": _STRUCTURE_ROWS, "Labels": _LABEL_ROWS})
    with pytest.raises(RelcoordError) as e:
        read_surveyxact(path)
    assert "Dataset2" in str(e.value) and e.value.column == "id" and e.value.row == 2


# --------------------------------------------------------------------------- errors

def _raises(path, **kw) -> RelcoordError:
    with pytest.raises(RelcoordError) as e:
        read_surveyxact(path, **kw)
    assert e.value.hint, "every user-fixable error carries a hint"
    return e.value


def test_missing_path(tmp_path):
    err = _raises(tmp_path / "nope")
    assert "nope" in str(err)


def test_missing_labels_csv(tmp_path):
    d = _copy_trio(SEMICOLON, tmp_path / "x")
    (d / "labels.csv").unlink()
    err = _raises(d)
    assert "labels.csv" in str(err)
    assert "all three" in err.hint


def test_missing_structure_sheet(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Dataset": [["a"], [1]], "Labels": _LABEL_ROWS})
    err = _raises(path)
    assert str(path) in str(err)
    assert "'Structure'" in err.message and "'Dataset', 'Labels'" in err.message


def test_missing_dataset_sheet(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Data": [["a"], [1]], "Structure": _STRUCTURE_ROWS,
                                           "Labels": _LABEL_ROWS})
    err = _raises(path)
    assert "'Dataset'" in err.message and "'Data'" in err.message


def test_undecodable_with_forced_encoding(tmp_path):
    err = _raises(SEMICOLON, encoding="utf-8")
    assert err.file.endswith("dataset.csv") and "utf-8" in err.message
    assert "reader: {encoding" in err.hint
    assert err.row is not None and err.row >= 1


def test_unknown_encoding_name():
    err = _raises(TAB, encoding="klingon")
    assert "klingon" in err.message


def test_bad_zip(tmp_path):
    path = tmp_path / "export.xlsx"
    shutil.copyfile(SEMICOLON / "dataset.csv", path)
    err = _raises(path)
    assert str(path) in str(err) and "not an Excel" in err.message


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", "\ufeff".encode("utf-8")])
def test_empty_dataset(tmp_path, content):
    err = _raises(_trio(tmp_path, content))
    assert err.file.endswith("dataset.csv") and "empty" in err.message


def test_header_only_dataset(tmp_path):
    err = _raises(_trio(tmp_path, "a,b\n"))
    assert err.file.endswith("dataset.csv") and "no respondent rows" in err.message


def test_empty_dataset_sheet(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Dataset": [], "Structure": _STRUCTURE_ROWS,
                                           "Labels": _LABEL_ROWS})
    err = _raises(path)
    assert f"{path}:Dataset" in str(err) and "empty" in err.message


def test_duplicate_header(tmp_path):
    err = _raises(_trio(tmp_path, "s_1,s_2,s_3,s_2\n1,2,3,4\n"))
    assert err.file.endswith("dataset.csv") and err.row == 1 and err.column == "s_2"
    assert "column 2 (B)" in err.message and "column 4 (D)" in err.message


def test_duplicate_header_in_workbook(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Dataset": [["a", "b", "a"], [1, 2, 3]],
                                           "Structure": _STRUCTURE_ROWS, "Labels": _LABEL_ROWS})
    err = _raises(path)
    assert f"{path}:Dataset" in str(err) and "column 1 (A)" in err.message


def test_row_with_too_many_fields(tmp_path):
    # Row 3 holds a quoted line break: row numbers count records, not lines.
    text = 'a;b\n1;2\n"x\ny";3\n4;5\n6;7;8\n9;10\n'
    err = _raises(_trio(tmp_path, text))
    assert err.file.endswith("dataset.csv") and err.row == 5
    assert "row 5" in str(err) and "3 fields" in err.message and "2" in err.message


def test_too_many_fields_in_sample(tmp_path):
    d = _copy_trio(SEMICOLON, tmp_path / "x")
    lines = (d / "dataset.csv").read_bytes().split(b"\n")
    lines[10] = lines[10] + b";extra"          # the 11th line = row 11
    (d / "dataset.csv").write_bytes(b"\n".join(lines))
    err = _raises(d)
    assert err.row == 11 and "row 11" in str(err)


def test_unclosed_quote(tmp_path):
    err = _raises(_trio(tmp_path, 'a,b\n1,2\n3,"four\n5,6\n'))
    assert err.file.endswith("dataset.csv") and err.row == 3


def test_nul_characters(tmp_path):
    err = _raises(_trio(tmp_path, b"a,b\n1,2\x003\n"))
    assert err.file.endswith("dataset.csv") and err.row == 2


def test_not_an_export(tmp_path):
    p = tmp_path / "survey.txt"
    p.write_text("x")
    assert "survey.txt" in str(_raises(p))


def test_label_row_with_too_many_fields(tmp_path):
    err = _raises(_trio(tmp_path, "s_1\n1\n", labels="s_1;1;Yes\ns_1;2;Maybe;not\n"))
    assert err.file.endswith("labels.csv") and err.row == 2


def test_structure_without_its_header(tmp_path):
    err = _raises(_trio(tmp_path, "s_1\n1\n", structure="s_1,s_1,Closed,Single,Q?,1,Yes\n"))
    assert err.file.endswith("structure.csv") and "questionName" in err.message


# --------------------------------------------------------------------------- fuzz

_CSVISH = st.text(alphabet=list('ab1 ,;\t"\r\n\x00éø–\ufeff'), max_size=300)
_ANY_BYTES = st.one_of(
    st.binary(max_size=600),
    st.tuples(_CSVISH, st.sampled_from(["utf-8", "utf-16", "cp1252", "utf-8-sig"])).map(
        lambda t: t[0].encode(t[1], errors="replace")),
    st.binary(max_size=300).map(lambda b: b"\xff\xfe" + b),   # a UTF-16 BOM, then noise
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return _trio(tmp_path_factory.mktemp("fuzz"), b"")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_ANY_BYTES)
def test_random_bytes_read_or_raise_relcoord_error(fuzz_dir, raw):
    (fuzz_dir / "dataset.csv").write_bytes(raw)
    try:
        r = read_surveyxact(fuzz_dir)
    except RelcoordError as err:
        assert err.file and err.file.endswith("dataset.csv")
        return
    assert len(r.data) >= 1
    _assert_all_str(r.data)
    assert r.data.columns.is_unique
    assert r.source_row.tolist() == list(range(2, len(r.data) + 2))


def test_values_under_a_nameless_column(tmp_path):
    err = _raises(_trio(tmp_path, "a,,c\n1,2,3\n"))
    assert err.file.endswith("dataset.csv") and "column 2 (B)" in err.message
    path = _workbook(tmp_path / "w.xlsx", {"Dataset": [["a", "b"], [1, 2, 3]],
                                           "Structure": _STRUCTURE_ROWS, "Labels": _LABEL_ROWS})
    err = _raises(path)
    assert f"{path}:Dataset" in str(err) and "column 3 (C)" in err.message


def test_forced_utf16_on_latin1_file():
    err = _raises(SEMICOLON, encoding="utf-16")
    assert err.file.endswith("dataset.csv")
    assert "middle of a character" in err.message and err.row is None


# --------------------------------------------------------------------------- formulas without a value, hidden sheets

def test_workbook_formula_without_saved_value_is_a_reader_problem(tmp_path):
    path = _workbook(tmp_path / "f.xlsx", {
        "Dataset": [["id", "s_1"], [1, 1], [2, "=1+0"], [3, 1]],
        "Structure": _STRUCTURE_ROWS, "Labels": _LABEL_ROWS})
    r = read_surveyxact(path)
    assert r.data["s_1"].tolist() == ["1", "", "1"]
    p = r.problems
    assert p[["index", "rule", "column", "value", "source_row"]].values.tolist() == [
        [1, "formula_without_value", "s_1", "=1+0", 3]]
    assert p["source_file"].iat[0] == f"{path}:Dataset"


def test_workbook_formula_in_structure_or_labels_stops(tmp_path):
    path = _workbook(tmp_path / "f.xlsx", {
        "Dataset": [["id", "s_1"], [1, 1]], "Structure": _STRUCTURE_ROWS,
        "Labels": _LABEL_ROWS + [["s_1", 9, "=A1"]]})
    e = _raises(path)
    assert "C3" in str(e) and "Labels" in str(e) and "without a saved value" in str(e)


@pytest.mark.parametrize("hidden", ["Dataset", "Labels", "Structure"])
def test_hidden_workbook_sheet_stops(tmp_path, hidden):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in {"Dataset": [["id", "s_1"], [1, 1]], "Structure": _STRUCTURE_ROWS,
                       "Labels": _LABEL_ROWS}.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb[hidden].sheet_state = "hidden"
    wb.save(tmp_path / "h.xlsx")
    e = _raises(tmp_path / "h.xlsx")
    assert f"'{hidden}'" in str(e) and "hidden" in str(e) and "Unhide" in str(e)
