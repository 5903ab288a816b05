"""Canonical long format (responses.csv + respondents.csv): validated with the
same rules as any export, failures naming the row of the file that holds the
problem; problems only a long table can have are quarantined, never lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from relcoord.errors import RelcoordError
from relcoord.readers.canonical import read_canonical

from ingest_helpers import ITEMS, ingest

CODEBOOK = {"respondent_id": "respondent_id", "rater_unit": "rater_unit",
            "networks": {"variable": "networks", "separator": ";"}, "items": {k: k for k in ITEMS},
            "values": "scores", "background": {"role": ["Leder", "Medarbejder", "Andet"]}}
TARGETS = ["HJP", "TRR", "PPR", "N-TI"]


def write(folder: Path, people: list[tuple], answers: list[tuple] | None = None, *, extra: list[tuple] = (),
          sep: str = ",") -> Path:
    """people: (id, unit, networks, role); answers default: every (target, item) = 4 for each person."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [sep.join(["respondent_id", "rater_unit", "networks", "role"])]
    lines += [sep.join(f'"{v}"' if sep in v else v for v in p) for p in people]
    (folder / "respondents.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if answers is None:
        answers = [(p[0], p[1], t, k, "4", "valid") for p in people for t in TARGETS for k in ITEMS]
    answers = list(answers) + list(extra)
    lines = [sep.join(["respondent_id", "rater_unit", "target_unit", "item", "value", "answer"])]
    lines += [sep.join(a) for a in answers]
    (folder / "responses.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


PEOPLE = [("p1", "HJP", "N-TI", "Leder"), ("p2", "TRR", "", "Medarbejder"), ("p3", "PPR", "N-TI", "Andet"),
          ("p4", "Træning og Rehabilitering", "", "Medarbejder")]


def row_of(folder: Path, rid: str, target: str, item: str) -> int:
    lines = (folder / "responses.csv").read_text(encoding="utf-8").splitlines()
    return next(i + 1 for i, line in enumerate(lines) if line.startswith(f"{rid},") and f",{target},{item}," in line)


def test_clean_tables(tmp_path):
    folder = write(tmp_path / "x", PEOPLE)
    r = read_canonical(folder)
    assert r.format == "canonical" and len(r.data) == 4 and list(r.source_row) == [2, 3, 4, 5]
    res = ingest(tmp_path, "canonical", folder, CODEBOOK)
    assert set(res.failures["rule"]) <= {"straightlining"}
    assert list(res.respondents["rater_unit"]) == ["HJP", "TRR", "PPR", "TRR"]   # a name reads as the unit
    assert list(res.respondents["networks"]) == ["N-TI", "", "N-TI", ""]
    # 4 respondents: every role category is below privacy.min_group_size (5), so all merge into "other"
    assert list(res.respondents["role"]) == ["other"] * 4
    assert res.background_merged == {"role": ["Andet", "Leder", "Medarbejder"]}
    # scores are never recoded: 4 is 4 for the RC 2.0 frequency item and the reversed item alike
    assert set(res.responses["value"]) == {4.0}


def test_answer_level_problems_name_the_responses_row(tmp_path):
    folder = write(tmp_path / "x", PEOPLE)
    text = (folder / "responses.csv").read_text(encoding="utf-8")
    text = text.replace("p1,HJP,TRR,timely,4,valid", "p1,HJP,TRR,timely,7,valid")
    text = text.replace("p2,TRR,PPR,accurate,4,valid", "p2,TRR,PPR,accurate,Ofte,valid")
    text = text.replace("p3,PPR,HJP,frequent,4,valid", "p3,PPR,HJP,frequent,,dont_know")
    text = text.replace("p3,PPR,HJP,timely,4,valid", "p3,PPR,HJP,timely,4.0,valid")
    (folder / "responses.csv").write_text(text, encoding="utf-8")
    res = ingest(tmp_path, "canonical", folder, CODEBOOK)
    f = res.failures[res.failures["action"] == "quarantined"].set_index("rule")
    assert f.loc["code_out_of_range", "source_row"] == row_of(folder, "p1", "TRR", "timely")
    assert f.loc["code_out_of_range", "column"] == "value" and f.loc["code_out_of_range", "value"] == "7"
    assert f.loc["code_out_of_range", "source_file"].endswith("responses.csv")
    assert f.loc["not_a_code", "source_row"] == row_of(folder, "p2", "PPR", "accurate")
    resp = res.responses.set_index(["respondent_id", "target_unit", "item"])
    p3 = res.respondents.set_index("source_row").loc[4, "respondent_id"]
    assert resp.loc[(p3, "HJP", "frequent"), "answer"] == "dont_know"
    assert resp.loc[(p3, "HJP", "timely"), "value"] == 4.0


def test_long_format_problems_are_quarantined(tmp_path):
    extra = [("p9", "HJP", "HJP", "timely", "3", "valid"),        # not in respondents.csv
             ("p1", "HJP", "HJP", "timely", "2", "valid"),        # contradicts p1's 4 for the same cell
             ("p2", "TRR", "HJP", "timely", "4", "valid"),        # an identical repeat: harmless
             ("p3", "HJP", "TRR", "shared_goals", "4", "valid")]  # p3 is PPR in respondents.csv
    folder = write(tmp_path / "x", PEOPLE + [("p5", "HJP", "N-TI;N-UKENDT", "Leder"), ("p6", "PPR", "", "")],
                   extra=extra)
    text = (folder / "responses.csv").read_text(encoding="utf-8")
    (folder / "responses.csv").write_text("\n".join(l for l in text.splitlines() if not l.startswith("p6,")) + "\n",
                                          encoding="utf-8")
    res = ingest(tmp_path, "canonical", folder, CODEBOOK)
    q = res.failures[res.failures["action"] == "quarantined"]
    got = {r: (row, col) for r, row, col in zip(q["rule"], q["source_row"], q["column"])}
    n_lines = len((folder / "responses.csv").read_text(encoding="utf-8").splitlines())
    assert got["not_in_respondents"] == (n_lines - 3, "respondent_id")
    assert got["conflicting_answers"] == (n_lines - 2, "value")
    assert got["inconsistent_rater_unit"] == (n_lines, "rater_unit")
    assert got["no_valid_answers"] == (7, "")                    # p6 has no answers at all
    assert "p9" not in " ".join(q["value"].astype(str)) + " ".join(q["message"])   # ids stay pseudonymised
    assert res.summary["records_in"] == 7 and res.summary["quarantined"] == 4 and res.summary["valid"] == 3
    w = res.failures[res.failures["rule"] == "unknown_network"]
    assert list(w["value"]) == ["N-UKENDT"] and list(w["source_row"]) == [6]
    assert res.respondents.set_index("source_row").loc[6, "networks"] == "N-TI"


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("p1,HJP,TRR,timely", "p1,HJP,XYZ,timely", 1), r"names 'XYZ'.*responses.csv row \d+"),
    (lambda t: t.replace("p1,HJP,TRR,timely", "p1,HJP,TRR,timeley", 1), r"item 'timeley'.*row \d+"),
    (lambda t: t.replace("target_unit", "target", 1), "required column.*target_unit"),
    (lambda t: t.replace("p1,HJP,TRR,timely", "p1,HJP,,timely", 1), "the target_unit of this answer is empty"),
])
def test_structural_problems_stop_naming_file_and_row(tmp_path, edit, match):
    folder = write(tmp_path / "x", PEOPLE)
    p = folder / "responses.csv"
    p.write_text(edit(p.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(RelcoordError, match=match) as e:
        ingest(tmp_path, "canonical", folder, CODEBOOK)
    assert "responses.csv" in str(e.value)


def test_missing_respondents_file_stops(tmp_path):
    folder = write(tmp_path / "x", PEOPLE)
    (folder / "respondents.csv").unlink()
    with pytest.raises(RelcoordError, match="respondents.csv is missing"):
        read_canonical(folder)
    with pytest.raises(RelcoordError, match="respondents.csv is missing"):
        read_canonical(folder / "responses.csv")


def test_semicolons_and_codes(tmp_path):
    folder = write(tmp_path / "x", PEOPLE[:2], sep=";")
    res = ingest(tmp_path, "canonical", folder, {**CODEBOOK, "values": "codes", "networks": None})
    r = res.responses
    sel = (r["target_unit"] == "HJP") & (r["item"] == "problem_solving")
    assert r.loc[sel, "value"].tolist() == [2.0, 2.0]   # codes: 4 is reversed to 2


def test_scores_outside_the_scale_are_quarantined_not_dont_know(tmp_path):
    """With `values: scores`, 6, 8 and 9 are scores the scale does not have, not the instrument's
    missing codes; only explicit missing words (dont_know, the instrument's missing labels) are missing."""
    folder = write(tmp_path / "x", PEOPLE)
    text = (folder / "responses.csv").read_text(encoding="utf-8")
    text = text.replace("p1,HJP,TRR,timely,4,valid", "p1,HJP,TRR,timely,6,valid")
    text = text.replace("p2,TRR,PPR,accurate,4,valid", "p2,TRR,PPR,accurate,9,valid")
    text = text.replace("p3,PPR,HJP,frequent,4,valid", "p3,PPR,HJP,frequent,dont_know,valid")
    text = text.replace("p3,PPR,HJP,timely,4,valid", "p3,PPR,HJP,timely,Ved ikke,valid")
    text = text.replace("p4,Træning og Rehabilitering,HJP,timely,4,valid", "p4,Træning og Rehabilitering,HJP,timely,"
                                                                             "\uff14,valid")
    (folder / "responses.csv").write_text(text, encoding="utf-8")
    res = ingest(tmp_path, "canonical", folder, CODEBOOK)
    q = res.failures[res.failures["action"] == "quarantined"]
    got = {(r, v) for r, v in zip(q["rule"], q["value"])}
    assert got == {("code_out_of_range", "6"), ("code_out_of_range", "9"), ("not_a_code", "\uff14")}
    assert set(q["source_row"]) == {row_of(folder, "p1", "TRR", "timely"), row_of(folder, "p2", "PPR", "accurate"),
                                    row_of(folder, "p4", "HJP", "timely")}
    resp = res.responses.set_index(["respondent_id", "target_unit", "item"])
    p3 = res.respondents.set_index("source_row").loc[4, "respondent_id"]
    assert resp.loc[(p3, "HJP", "frequent"), "answer"] == "dont_know"
    assert resp.loc[(p3, "HJP", "timely"), "answer"] == "dont_know"
