"""LimeSurvey CSV reader: BOM, every field quoted, CRLF, ';'; array items
Q[SQ001] (and the SPSS/R variant Q_SQ001); answer codes A1.. mapped through the
codebook, or full answer texts with "code & text" headings."""

from __future__ import annotations

from pathlib import Path

import pytest

from relcoord.errors import RelcoordError
from relcoord.readers.limesurvey import question_of, read_limesurvey, split_heading

from ingest_helpers import ITEMS, UNITS, ingest, rules

TARGETS = list(UNITS["unit_id"])
NAMES = dict(zip(UNITS["unit_id"], UNITS["name"]))
ANSWERS = {"A1": 1, "A2": 2, "A3": 3, "A4": 4, "A5": 5, "A6": "missing"}
TMAP = {m + 1: t for m, t in enumerate(TARGETS)}


def lime(path: Path, records: list[dict], *, headings: str = "code", spss: bool = False, delim: str = ";",
         default: str = "A4") -> Path:
    def sq(q, k):
        return f"{q}_SQ{k:03d}" if spss else f"{q}[SQ{k:03d}]"
    heads, texts = ["id", "submitdate", "enhed", sq("netvaerk", 1)], ["", "", "Hvilken enhed?",
                                                                     "Netværk? [Netværk for tidlig indsats]"]
    for q in range(len(ITEMS)):
        for m, t in enumerate(TARGETS):
            heads.append(sq(f"RC{q + 1}", m + 1))
            texts.append(f"Spørgsmål {q + 1}? [{NAMES[t]}]")
    heads.append("rolle")
    texts.append("Stilling?")
    shown = [f"{h}. {t}" if headings == "code_text" and t else h for h, t in zip(heads, texts)]
    lines = [shown]
    for r in records:
        row = {h: default for h in heads}
        row.update({"id": r["id"], "submitdate": "2025-03-02 10:00:00", "enhed": r.get("unit", "A1"),
                    sq("netvaerk", 1): r.get("net", ""), "rolle": "A2"})
        row.update(r.get("cells", {}))
        lines.append([row[h] for h in heads])
    text = "\r\n".join(delim.join('"' + str(v).replace('"', '""') + '"' for v in line) for line in lines) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


def codebook(spss: bool = False) -> dict:
    o, c = ("_SQ", "") if spss else ("[SQ", "]")
    return {
        "respondent_id": "id",
        "rater_unit": {"variable": "enhed", "codes": {"A1": "HJP", "A2": "TRR", "A3": "PPR"}},
        "networks": {"pattern": f"netvaerk{o}{{n}}{c}", "targets": {1: "N-TI"}, "selected": ["Y"]},
        "items": {k: {"pattern": f"RC{q + 1}{o}{{n}}{c}", "targets": TMAP} for q, k in enumerate(ITEMS)},
        "answers": ANSWERS,
        "background": {"rolle": ["A1", "A2", "A3"]},
    }


def test_heading_helpers():
    assert question_of("RC1[SQ001]") == "RC1" and question_of("RC1_SQ001") == "RC1" and question_of("id") == "id"
    assert split_heading("RC1[SQ001]. Hvor ofte? [Hjemmeplejen]") == ("RC1[SQ001]", "Hvor ofte? [Hjemmeplejen]")
    assert split_heading("enhed. Hvilken enhed?") == ("enhed", "Hvilken enhed?")
    assert split_heading("RC1[SQ001]") == ("RC1[SQ001]", "")


def test_answer_codes_through_the_codebook(tmp_path):
    recs = [{"id": str(i), "unit": ["A1", "A2", "A3"][i % 3], "net": "Y" if i % 3 != 1 else ""} for i in range(6)]
    recs[1]["cells"] = {"RC1[SQ001]": "A6", "RC2[SQ002]": "", "RC4[SQ003]": "A5"}
    recs[2]["cells"] = {"RC3[SQ001]": "A9"}  # no such answer code
    recs[3]["unit"] = "A7"  # no such unit code
    recs[4]["net"] = "N"  # neither Y nor empty
    path = lime(tmp_path / "l.csv", recs)
    r = read_limesurvey(path)
    assert r.encoding == "utf-8-sig" and r.delimiter == ";" and r.format == "limesurvey-csv"
    assert list(r.source_row) == [2, 3, 4, 5, 6, 7]
    res = ingest(tmp_path, "limesurvey", path, codebook())
    got = rules(res)
    assert got[(4, "not_a_code")] == "RC3[SQ001]"
    assert got[(5, "unknown_unit")] == "enhed"
    assert got[(6, "invalid_network_flag")] == "netvaerk[SQ001]"
    assert res.summary["quarantined"] == 2
    p = res.respondents.set_index("source_row")
    rid = p.loc[3, "respondent_id"]
    resp = res.responses.set_index(["respondent_id", "target_unit", "item"])
    assert resp.loc[(rid, "HJP", "frequent"), "answer"] == "dont_know"
    assert resp.loc[(rid, "TRR", "timely"), "answer"] == "blank"
    assert resp.loc[(rid, "PPR", "problem_solving"), "value"] == 1.0  # A5 = code 5, reversed
    assert resp.loc[(rid, "HJP", "timely"), "value"] == 4.0
    assert p.loc[2, "networks"] == "N-TI" and p.loc[3, "networks"] == "" and p.loc[6, "networks"] == ""


def test_spss_style_names(tmp_path):
    recs = [{"id": str(i), "unit": "A2"} for i in range(3)]
    res = ingest(tmp_path, "limesurvey", lime(tmp_path / "l.csv", recs, spss=True, delim=","), codebook(spss=True))
    assert res.summary["valid"] == 3 and set(res.respondents["rater_unit"]) == {"TRR"}


def test_code_and_text_headings_with_full_answer_texts(tmp_path):
    recs = [{"id": str(i), "unit": "Træning og Rehabilitering", "net": "Ja"} for i in range(3)]
    recs[0]["unit"] = "PPR"  # an alias
    recs[1]["cells"] = {"RC2[SQ001]": "Ved ikke", "RC2[SQ002]": "Altid"}
    cb = {
        "respondent_id": "id",
        "rater_unit": "enhed",
        "networks": {"question": "netvaerk", "selected": ["Ja"]},
        "items": {k: f"RC{q + 1}" for q, k in enumerate(ITEMS)},
        "answers": "options",
    }
    path = lime(tmp_path / "l.csv", recs, headings="code_text", default="Ofte")
    r = read_limesurvey(path)
    assert "RC1[SQ002]" in r.data.columns and "enhed" in r.data.columns
    assert r.structure.set_index("variableName").loc["RC1[SQ002]", "questionText"] == f"Spørgsmål 1? [{NAMES['TRR']}]"
    res = ingest(tmp_path, "limesurvey", path, cb)
    # "Ofte" is an option of timely/accurate only: elsewhere it is no answer of the item
    assert res.summary["quarantined"] == 3 and "not_a_code" in set(res.failures["rule"])
    res2 = ingest(
        tmp_path / "b",
        "limesurvey",
        path,
        {
            **cb,
            "items": {k: v for k, v in cb["items"].items()},
            "answers": {"Ofte": 4, "Altid": 5, "Ved ikke": "missing"},
        },
    )
    assert res2.summary["valid"] == 3
    assert list(res2.respondents["rater_unit"]) == ["PPR", "TRR", "TRR"]
    assert set(res2.respondents["networks"]) == {"N-TI"}
    resp = res2.responses.set_index(["respondent_id", "target_unit", "item"])
    rid = res2.respondents["respondent_id"].iat[1]
    assert resp.loc[(rid, "HJP", "timely"), "answer"] == "dont_know"
    assert resp.loc[(rid, "TRR", "timely"), "value"] == 5.0


def test_pattern_with_an_unlisted_row_stops_naming_it(tmp_path):
    path = lime(tmp_path / "l.csv", [{"id": "1"}])
    cb = codebook()
    cb["items"]["frequent"] = {"pattern": "RC1[SQ{n}]", "targets": {1: "HJP", 2: "TRR", 3: "PPR"}}
    with pytest.raises(RelcoordError, match=r"RC1\[SQ004\].*not in its targets"):
        ingest(tmp_path, "limesurvey", path, cb)
