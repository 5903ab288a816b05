"""Generic wide CSV / Excel reader: Danish spreadsheet conventions detected or
declared, and the codebook forms a researcher writes for such tables."""

from __future__ import annotations

import unicodedata

import pytest
from openpyxl import Workbook

from relcoord.codebook import codebook_from_dict
from relcoord.errors import RelcoordError
from relcoord.readers.generic import question_of, read_generic

from ingest_helpers import ITEMS, UNITS, ingest, rules

TARGETS = list(UNITS["unit_id"])
NAMES = dict(zip(UNITS["unit_id"], UNITS["name"]))
STEM = {k: f"q{i + 1}" for i, k in enumerate(ITEMS)}
CODEBOOK = {"respondent_id": "Respondent", "rater_unit": "Enhed",
            "networks": {"variable": "Netværk", "separator": ","},
            "items": {k: {"pattern": f"{STEM[k]}_{{target}}"} for k in ITEMS},
            "background": {"Stilling": ["Leder", "Medarbejder", "Andet"]}}


def table(records: list[dict], *, naming: str = "pattern") -> list[list[str]]:
    head = ["Respondent", "Enhed", "Netværk"]
    for k in ITEMS:
        for t in TARGETS:
            head.append(f"{STEM[k]}_{t}" if naming == "pattern" else f"{k} - {NAMES[t]}")
    head.append("Stilling")
    rows = [head]
    for i, r in enumerate(records):
        row = dict.fromkeys(head, "4")
        row.update({"Respondent": r.get("id", str(i + 1)), "Enhed": r.get("unit", "Hjemmeplejen"),
                    "Netværk": r.get("nets", ""), "Stilling": "Medarbejder"})
        row.update(r.get("cells", {}))
        rows.append([row[h] for h in head])
    return rows


def write_csv(path, rows, *, delim=";", encoding="cp1252", eol="\r\n", title=()):
    text = "".join(t + eol for t in title) + eol.join(delim.join(c for c in r) for r in rows) + eol
    path.write_bytes(text.encode(encoding))
    return path


def test_question_of():
    assert question_of("Hyppig kommunikation - Hjemmeplejen") == "Hyppig kommunikation"
    assert question_of("hyppig_HJP") == "hyppig_HJP"


def test_danish_csv_cp1252_semicolons_decimal_commas_and_title_rows(tmp_path):
    recs = [{"unit": "Træning og Rehabilitering", "nets": ""},
            {"unit": "Pædagogisk Psykologisk Rådgivning", "nets": "Netværk for tidlig indsats",
             "cells": {"q1_HJP": "3,0", "q2_TRR": "4 ", "q3_PPR": " 5", "q4_HJP": "6"}},
            {"unit": "hjemmeplejen", "cells": {"q1_HJP": "4,5"}},
            {"unit": "Ukendt afdeling"}]
    path = write_csv(tmp_path / "svar.csv", table(recs), title=["Spørgeskema 2025", ""])
    r = read_generic(path, skip_rows=2)
    assert r.encoding == "cp1252" and r.delimiter == ";" and list(r.source_row) == [4, 5, 6, 7]
    res = ingest(tmp_path, "generic", path, CODEBOOK, reader={"skip_rows": 2})
    got = rules(res)
    assert got[(6, "not_a_code")] == "q1_HJP"     # 4,5 is no whole code
    assert got[(7, "unknown_unit")] == "Enhed"
    p = res.respondents.set_index("source_row")
    assert p.loc[4, "rater_unit"] == "TRR" and p.loc[5, "rater_unit"] == "PPR" and p.loc[5, "networks"] == "N-TI"
    resp = res.responses.set_index(["respondent_id", "target_unit", "item"])
    rid = p.loc[5, "respondent_id"]
    assert resp.loc[(rid, "HJP", "frequent"), "value"] == 5.0          # code 3 = just right = 5
    assert resp.loc[(rid, "TRR", "timely"), "value"] == 4.0
    assert resp.loc[(rid, "PPR", "accurate"), "value"] == 5.0
    assert resp.loc[(rid, "HJP", "problem_solving"), "answer"] == "dont_know"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
@pytest.mark.parametrize("delim", [";", ",", "\t"])
def test_encodings_and_delimiters_are_detected(tmp_path, encoding, delim):
    recs = [{"unit": NAMES[u]} for u in ("TRR", "PPR", "HJP")]
    path = write_csv(tmp_path / "x.csv", table(recs), delim=delim, encoding=encoding,
                     eol="\n" if delim == "," else "\r\n")
    res = ingest(tmp_path, "generic", path, CODEBOOK)
    assert list(res.respondents["rater_unit"]) == ["TRR", "PPR", "HJP"]
    assert res.summary["delimiter"] == delim


def test_decomposed_danish_letters_match_units(tmp_path):
    recs = [{"unit": unicodedata.normalize("NFD", "Pædagogisk Psykologisk Rådgivning")}]
    res = ingest(tmp_path, "generic", write_csv(tmp_path / "x.csv", table(recs), encoding="utf-8"), CODEBOOK)
    assert list(res.respondents["rater_unit"]) == ["PPR"]


def test_declared_options_that_do_not_fit_stop(tmp_path):
    path = write_csv(tmp_path / "x.csv", table([{"unit": "Træning og Rehabilitering"}]), encoding="utf-8")
    with pytest.raises(RelcoordError, match="but it is UTF-8"):
        read_generic(path, encoding="latin-1")
    with pytest.raises(RelcoordError, match="looks semicolon-separated"):
        read_generic(path, delimiter=",")
    with pytest.raises(RelcoordError, match="applies to Excel workbooks only"):
        read_generic(path, sheet="Svar")
    latin = write_csv(tmp_path / "y.csv", table([{"unit": "Træning og Rehabilitering"}]), encoding="cp1252")
    with pytest.raises(RelcoordError, match="cannot decode the file as utf-8") as e:
        read_generic(latin, encoding="utf-8")
    assert e.value.row == 1     # "Netværk" in the header


def test_excel_sheet_numbers_and_question_named_columns(tmp_path):
    rows = table([{"unit": "Træning og Rehabilitering"}, {"unit": "PPR", "cells": {"frequent - Hjemmeplejen": "x"}}],
                 naming="question")
    wb = Workbook()
    wb.active.title = "Forside"
    wb.active.append(["Relationel koordinering 2025"])
    ws = wb.create_sheet("Svar")
    for r in rows:
        ws.append([float(v.replace(",", ".")) if v.replace(",", "").isdigit() else v for v in r])
    wb.save(tmp_path / "svar.xlsx")
    cb = {**CODEBOOK, "items": {k: k for k in ITEMS}}
    res = ingest(tmp_path, "generic", tmp_path / "svar.xlsx", cb, reader={"sheet": "svar"})
    assert rules(res)[(3, "not_a_code")] == "frequent - Hjemmeplejen" and res.summary["quarantined"] == 1
    assert res.failures["source_file"].iat[0].endswith("svar.xlsx:Svar")
    with pytest.raises(RelcoordError, match="no sheet named 'Data'.*'Forside', 'Svar'"):
        read_generic(tmp_path / "svar.xlsx", sheet="Data")
    with pytest.raises(RelcoordError, match="no respondent rows") as e:   # default: the first sheet, a title only
        read_generic(tmp_path / "svar.xlsx")
    assert "svar.xlsx:Forside" in str(e.value) and "it also has 'Svar'" in str(e.value)


@pytest.mark.parametrize("spec, match", [
    ({"pattern": "hyppig"}, "exactly one {target} or {n}"),
    ({"pattern": "hyppig_{n}"}, "needs `targets:`"),
    ({"pattern": "hyppig_{n}", "targets": {"HJP": "HJP"}}, "must be numbered"),
    ({"pattern": "hyppig_{target}", "variables": {"a": "HJP"}}, "exactly one of question, variables, pattern"),
    ({"question": "Q3", "targets": {1: "HJP"}}, r"unknown key\(s\) 'targets'"),
    ({"variables": {"a": "HJP"}, "answers": {"A1": "sometimes"}}, "not valid"),
])
def test_codebook_mistakes_stop_with_the_key(spec, match):
    with pytest.raises(RelcoordError, match=match):
        codebook_from_dict({**CODEBOOK, "items": {"frequent": spec}}, "cb.yaml")


def test_answer_map_to_an_unknown_code_stops(tmp_path):
    path = write_csv(tmp_path / "x.csv", table([{}]))
    with pytest.raises(RelcoordError, match="maps 'A7' to code 7, which is neither"):
        ingest(tmp_path, "generic", path, {**CODEBOOK, "answers": {"A7": 7}})


def test_pattern_matching_nothing_stops_listing_columns(tmp_path):
    path = write_csv(tmp_path / "x.csv", table([{}]))
    cb = {**CODEBOOK, "items": {**CODEBOOK["items"], "timely": {"pattern": "rettidig_{target}"}}}
    with pytest.raises(RelcoordError, match="no column matches the pattern 'rettidig_{target}'"):
        ingest(tmp_path, "generic", path, cb)


def test_scores_instead_of_codes(tmp_path):
    recs = [{"unit": "Træning og Rehabilitering", "cells": {"q1_HJP": "5", "q4_HJP": "5"}}]
    res = ingest(tmp_path, "generic", write_csv(tmp_path / "x.csv", table(recs)), {**CODEBOOK, "values": "scores"})
    resp = res.responses.set_index(["target_unit", "item"])["value"]
    assert resp[("HJP", "frequent")] == 5.0 and resp[("HJP", "problem_solving")] == 5.0   # never recoded
    assert resp[("TRR", "problem_solving")] == 4.0


@pytest.mark.parametrize("fmt, reader, match", [
    ("spss", {"delimiter": ";"}, r"delimiter do not apply to format 'spss'"),
    ("canonical", {"sheet": "Svar"}, r"sheet do not apply to format 'canonical'"),
    ("qualtrics", {"skip_rows": 2}, r"skip_rows do not apply to format 'qualtrics'"),
])
def test_reader_options_of_another_format_stop(fmt, reader, match):
    from relcoord.ingest import read_export
    with pytest.raises(RelcoordError, match=match):
        read_export(fmt, "whatever", reader)


def test_unknown_format_stops():
    from relcoord.ingest import read_export
    with pytest.raises(RelcoordError, match="(?s)unknown export format .xlsx.*surveyxact, qualtrics"):
        read_export("xlsx", "whatever", {})


# --------------------------------------------------------------------------- workbooks: formulas, hidden sheets

def _xlsx(path, sheets: dict[str, list[list]], hidden=(), cache: dict | None = None):
    """A workbook; formulas written by openpyxl carry no saved value, unless ``cache`` gives
    one: {formula text: cached value} patched into the sheet XML as Excel would save it."""
    import zipfile
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append([float(v) if isinstance(v, str) and v.isdigit() else v for v in r])
        if name in hidden:
            ws.sheet_state = "hidden"
    wb.save(path)
    if cache:
        tmp = path.with_suffix(".tmp")
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename.startswith("xl/worksheets/"):
                    for f, v in cache.items():
                        data = data.replace(f"<f>{f}</f><v />".encode(), f"<f>{f}</f><v>{v}</v>".encode())
                zout.writestr(item, data)
        tmp.replace(path)
    return path


def test_formula_without_saved_value_is_quarantined_not_blank(tmp_path):
    rows = table([{"unit": "Træning og Rehabilitering"}, {"unit": "PPR", "cells": {"q2_TRR": "=3+1"}},
                  {"cells": {"q3_PPR": "=2+2"}}])
    path = _xlsx(tmp_path / "svar.xlsx", {"Svar": rows}, cache={"2+2": 4})
    res = ingest(tmp_path, "generic", path, CODEBOOK)
    q = res.failures[res.failures["action"] == "quarantined"]
    assert list(zip(q["rule"], q["source_row"], q["column"], q["value"])) == [
        ("formula_without_value", 3, "q2_TRR", "=3+1")]
    assert q["source_file"].iat[0].endswith("svar.xlsx:Svar") and "save it" in q["message"].iat[0]
    p = res.respondents.set_index("source_row")
    assert 3 not in p.index and res.summary["quarantined"] == 1
    resp = res.responses.set_index(["respondent_id", "target_unit", "item"])
    assert resp.loc[(p.loc[4, "respondent_id"], "PPR", "accurate"), "value"] == 4.0   # a saved value reads
    r = read_generic(path)
    assert r.data.loc[1, "q2_TRR"] == "" and r.problems["rule"].tolist() == ["formula_without_value"]


def test_formula_without_value_in_a_trailing_row_or_the_header(tmp_path):
    rows = table([{"unit": "Træning og Rehabilitering"}])
    path = _xlsx(tmp_path / "a.xlsx", {"Svar": rows + [["=A2"] + [None] * (len(rows[0]) - 1)]})
    r = read_generic(path)   # a row holding only a formula is a record, not a trailing blank row
    assert len(r.data) == 2 and list(r.problems["source_row"]) == [3] and r.problems["column"].iat[0] == "Respondent"
    rows[0][1] = "=B5"
    with pytest.raises(RelcoordError, match=r"cell B1 .*formula.*without a saved value") as e:
        read_generic(_xlsx(tmp_path / "b.xlsx", {"Svar": rows}))
    assert "save it" in str(e.value) and "b.xlsx:Svar" in str(e.value)


def test_hidden_first_sheet_is_never_read_silently(tmp_path):
    rows = table([{"unit": "Træning og Rehabilitering"}, {"unit": "PPR"}])
    old = table([{"unit": "Hjemmeplejen"}])
    one = _xlsx(tmp_path / "one.xlsx", {"Gammel": old, "Svar": rows}, hidden={"Gammel"})
    r = read_generic(one)   # the only visible sheet
    assert r.source_file.iat[0].endswith("one.xlsx:Svar") and len(r.data) == 2
    two = _xlsx(tmp_path / "two.xlsx", {"Gammel": old, "Svar": rows, "Noter": [["x"]]}, hidden={"Gammel"})
    with pytest.raises(RelcoordError, match=r"first sheet 'Gammel' is hidden.*'Svar', 'Noter'") as e:
        read_generic(two)
    assert "sheet:" in str(e.value)
    r = read_generic(two, sheet="Gammel")   # named explicitly: read
    assert r.source_file.iat[0].endswith("two.xlsx:Gammel") and len(r.data) == 1
