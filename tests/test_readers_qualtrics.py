"""Qualtrics CSV reader: the qualtRics samples (3 header rows; legacy with BOM
and 2 rows) and an RC survey exported with choice texts or recode values."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from relcoord.errors import RelcoordError
from relcoord.readers.qualtrics import question_of, read_qualtrics

from ingest_helpers import ITEMS, UNITS, ingest, rules

SAMPLES = Path(__file__).parent / "data" / "qualtrics"
TARGETS = list(UNITS["name"])


def test_sample_three_header_rows():
    r = read_qualtrics(SAMPLES / "sample.csv")
    assert r.format == "qualtrics-csv (3 header rows)" and r.encoding == "utf-8" and r.delimiter == ","
    assert list(r.source_row) == [4]          # a spreadsheet user counts the three header rows
    assert r.data.loc[0, "ResponseId"] == "R_2YPOQ602ER1jkf1"
    assert r.data.loc[0, "Q1"] == "2" and r.data.loc[0, "Q2"] == "Hello World!"
    st = r.structure.set_index("variableName")
    assert st.loc["Q1", "questionText"] == "This is a multiple choice question."
    assert st.loc["UserLanguage", "questionText"] == "Benutzersprache"
    assert not r.data.isna().any().any()


def test_sample_legacy_two_header_rows_with_bom():
    r = read_qualtrics(SAMPLES / "sample_legacy.csv")
    assert r.format == "qualtrics-csv (2 header rows)" and r.encoding == "utf-8-sig"
    assert list(r.source_row) == [3]
    assert r.data.columns[0] == "V1" and r.data.loc[0, "V1"] == "R_2YPOQ602ER1jkf1"
    assert list(r.data.columns)[-1] == "LocationAccuracy"    # the trailing comma adds no column
    assert r.structure.set_index("variableName").loc["V1", "questionText"] == "ResponseID"


def test_question_names():
    assert question_of("Q3_1") == "Q3" and question_of("Q3_1_TEXT") == "Q3_1" and question_of("Q1") == "Q1"
    assert question_of("_recordId") == "_recordId" and question_of("ResponseId") == "ResponseId"


def rc_export(path: Path, records: list[dict], *, mode: str = "text", header_rows: int = 3,
              encoding: str = "utf-8-sig") -> Path:
    """A Qualtrics RC export: ResponseId, Q1 unit, Q2 networks, Q3..Q9 matrices over TARGETS, Q10 role.

    records: {id, unit (index or text), nets (text), cells: {column: value}}; answers default to
    "Ofte"/"For ofte"/... (text) or "4" (codes)."""
    names = ["StartDate", "ResponseId", "RecipientEmail", "Q1", "Q2"]
    texts = ["Start Date", "Response ID", "Recipient Email", "Hvilken enhed er du ansat i?", "Hvilke netværk?"]
    for q, key in enumerate(ITEMS):
        for m, t in enumerate(TARGETS):
            names.append(f"Q{q + 3}_{m + 1}")
            texts.append(f"Spørgsmål om {key} - {t}")
    names.append("Q10")
    texts.append("Stilling")
    rows = [names, texts]
    if header_rows == 3:
        rows.append([json.dumps({"ImportId": f"QID{n[1:]}" if n.startswith("Q") else n}) for n in names])
    for r in records:
        row = {n: "" for n in names}
        row.update({"StartDate": "2025-03-01 10:00:00", "ResponseId": r["id"], "RecipientEmail": "a@b.example",
                    "Q1": r.get("unit", "Hjemmeplejen"), "Q2": r.get("nets", ""), "Q10": "Medarbejder"})
        for q, key in enumerate(ITEMS):
            for m in range(len(TARGETS)):
                default = ("For ofte" if key == "frequent" else "Ofte") if mode == "text" else "4"
                if key not in ("frequent", "timely", "accurate") and mode == "text":
                    default = {"problem_solving": "Løser oftest sammen", "shared_goals": "For det meste",
                               "shared_knowledge": "Meget", "mutual_respect": "For det meste"}[key]
                row[f"Q{q + 3}_{m + 1}"] = default
        row.update(r.get("cells", {}))
        rows.append([row[n] for n in names])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


CODEBOOK_TEXT = {"respondent_id": "ResponseId", "rater_unit": "Q1",
                 "networks": {"variable": "Q2", "separator": ","},
                 "items": {k: f"Q{q + 3}" for q, k in enumerate(ITEMS)}, "answers": "options",
                 "background": {"Q10": ["Leder", "Medarbejder", "Andet"]}}


def test_choice_text_export_ingests_with_rows_as_a_spreadsheet_counts(tmp_path):
    recs = [{"id": f"R_{i}", "unit": ["Hjemmeplejen", "Træning og Rehabilitering", "PPR"][i % 3],
             "nets": "Netværk for tidlig indsats" if i % 3 == 0 else ""} for i in range(6)]
    recs[1]["cells"] = {"Q3_1": "Ved ikke", "Q4_2": ""}
    recs[2]["cells"] = {"Q5_3": "Måske"}                        # not an answer of the item
    recs[3]["nets"] = "Netværk for tidlig indsats,Ukendt netværk"
    recs[4]["unit"] = "Ukendt afdeling"
    res = ingest(tmp_path, "qualtrics", rc_export(tmp_path / "q.csv", recs), CODEBOOK_TEXT)
    got = rules(res)
    assert got[(6, "not_a_code")] == "Q5_3"                      # record 3 is row 6 (three header rows)
    assert got[(8, "unknown_unit")] == "Q1"
    assert got[(7, "unknown_network")] == "Q2"
    assert res.summary["quarantined"] == 2 and res.summary["valid"] == 4
    r = res.responses.set_index(["respondent_id", "target_unit", "item"])
    p = res.respondents.set_index("source_row")
    first = p.loc[5, "respondent_id"]
    assert r.loc[(first, "HJP", "frequent"), "answer"] == "dont_know"
    assert r.loc[(first, "TRR", "timely"), "answer"] == "blank"
    # "For ofte" is code 4 of the RC 2.0 frequency item: score 4; "Løser oftest sammen" scores 4
    assert r.loc[(p.loc[4, "respondent_id"], "HJP", "frequent"), "value"] == 4.0
    assert r.loc[(p.loc[4, "respondent_id"], "HJP", "problem_solving"), "value"] == 4.0
    assert p.loc[4, "networks"] == "N-TI" and p.loc[7, "networks"] == "N-TI"
    assert p.loc[4, "rater_unit"] == "HJP" and p.loc[5, "rater_unit"] == "TRR"
    assert "RecipientEmail" in res.dropped_columns and "dropped_columns" not in res.summary


def test_recode_values_and_legacy_layout(tmp_path):
    recs = [{"id": f"R_{i}", "unit": str(1 + i % 3), "nets": "1" if i % 3 == 0 else ""} for i in range(4)]
    recs[1]["cells"] = {"Q3_1": "6", "Q6_2": "5"}
    cb = {"respondent_id": "ResponseId", "rater_unit": {"variable": "Q1", "codes": {1: "HJP", 2: "TRR", 3: "PPR"}},
          "networks": {"variable": "Q2", "separator": ",", "codes": {1: "N-TI"}},
          "items": {k: f"Q{q + 3}" for q, k in enumerate(ITEMS)}}
    path = rc_export(tmp_path / "legacy.csv", recs, mode="codes", header_rows=2)
    res = ingest(tmp_path, "qualtrics", path, cb, reader={"header_rows": 2})
    assert set(res.failures["rule"]) == {"straightlining"} and res.summary["valid"] == 4
    assert list(res.respondents["source_row"]) == [3, 4, 5, 6]
    assert list(res.respondents["rater_unit"]) == ["HJP", "TRR", "PPR", "HJP"]
    r = res.responses.set_index(["respondent_id", "target_unit", "item"])
    rid = res.respondents["respondent_id"].iat[1]
    assert r.loc[(rid, "HJP", "frequent"), "answer"] == "dont_know"
    assert r.loc[(rid, "TRR", "problem_solving"), "value"] == 1.0   # code 5 reversed


def test_undetectable_layout_stops_and_asks_for_header_rows(tmp_path):
    p = tmp_path / "one_header.csv"
    p.write_text("ResponseId,Q1\nR_1,2\nR_2,3\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="header_rows"):
        read_qualtrics(p)
    r = read_qualtrics(p, header_rows=1)
    assert list(r.source_row) == [2, 3]


def test_not_a_csv_stops(tmp_path):
    p = tmp_path / "export.csv"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(RelcoordError, match="Excel workbook or another zip") as e:
        read_qualtrics(p)
    assert str(p) in str(e.value)
