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
            "items": {k: {"pattern": f"{STEM[k]}_{{target}}"} for k in ITEMS}, "background": ["Stilling"]}


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
