"""The export's own labels are believed over silent assumptions (relcoord.labels): value labels that
contradict the instrument's code -> score map, "don't know" labels or SPSS user-missing values on codes
the instrument scores, and one code labelled twice all stop the round, naming what to fix."""

from __future__ import annotations

import copy

import pandas as pd
import pyreadstat
import pytest
import yaml

from relcoord.codebook import codebook_from_dict, resolve
from relcoord.errors import RelcoordError
from relcoord.instrument import instrument_from_dict, load_instrument
from relcoord.labels import label_key
from relcoord.readers.surveyxact import read_surveyxact
from relcoord.writers.surveyxact import option_label

from ingest_helpers import INSTRUMENT as INSTRUMENT_FILE, ITEMS, UNITS, ingest

INSTRUMENT = load_instrument(INSTRUMENT_FILE)
NAMES = list(UNITS["name"])                      # targets: three base units and one network
BASE = list(UNITS.loc[UNITS["kind"] == "base", "name"])
CODEBOOK = {"respondent_id": "id", "rater_unit": "s_1", "networks": "v_2",
            "items": {k: f"s_{3 + q}" for q, k in enumerate(ITEMS)}}


def item_labels(key: str) -> dict[int, str]:
    """An item's labels as a correct export writes them: the option text of each code, 6 = "Ved ikke"."""
    return {**{c: option_label(INSTRUMENT.item(key), c, "da") for c in range(1, 6)}, 6: "Ved ikke"}


def trio(folder, *, labels: dict[str, dict] | None = None, extra_labels=(), extra_structure=(), cells=None,
         n: int = 6):
    """A SurveyXact CSV trio (';', UTF-8): id, s_1 (1..3 = the base units), v_2_1 (a network flag),
    s_3_1 .. s_9_4 (the seven items over four targets, every answer 4 unless ``cells`` says otherwise).
    ``labels``: item key -> {code: label} replacing the correct labels of every variable of the item."""
    folder.mkdir(parents=True, exist_ok=True)
    cols = ["id", "s_1", "v_2_1"]
    st = [["id", "id", "Open", "String", "Respondent-id", "", ""],
          ["s_1", "s_1", "Closed", "Single", "Hvilken enhed?", "", ""],
          ["v_2", "v_2_1", "Closed", "Multiple", "Hvilke netværk?", "1", NAMES[3]]]
    lab = [["s_1", str(j + 1), name] for j, name in enumerate(BASE)]
    lab += [["v_2_1", "0", "Ikke valgt"], ["v_2_1", "1", "Valgt"]]
    for q, key in enumerate(ITEMS):
        for m, name in enumerate(NAMES):
            var = f"s_{3 + q}_{m + 1}"
            cols.append(var)
            st.append([f"s_{3 + q}", var, "Closed", "Single", f"Spørgsmål om {key} - {name}", "", ""])
            lab += [[var, str(c), t] for c, t in ((labels or {}).get(key) or item_labels(key)).items()]
    lab += [list(r) for r in extra_labels]
    st += [list(r) for r in extra_structure]
    rows = []
    for i in range(n):
        row = {c: "4" for c in cols}
        row.update({"id": f"R{i}", "s_1": str(1 + i % 3), "v_2_1": "1" if i % 3 == 0 else "0"})
        row.update((cells or {}).get(i, {}))
        rows.append(row)

    def csv(lines):
        return "\n".join(";".join(f'"{v}"' if ";" in str(v) else str(v) for v in r) for r in lines) + "\n"

    header = ["questionName", "variableName", "questionType", "subType", "questionText", "choiceValue", "choiceText"]
    (folder / "dataset.csv").write_text(csv([cols] + [[r[c] for c in cols] for r in rows]), encoding="utf-8")
    (folder / "structure.csv").write_text(csv([header] + st), encoding="utf-8")
    (folder / "labels.csv").write_text(csv(lab), encoding="utf-8")
    return folder


def stop(tmp_path, fmt, export, codebook=CODEBOOK) -> str:
    with pytest.raises(RelcoordError) as e:
        ingest(tmp_path / "cfg", fmt, export, codebook)
    text = str(e.value)
    assert "Traceback" not in text
    return text


def colmap(export, instrument=INSTRUMENT, codebook=CODEBOOK):
    units = UNITS.assign(valid_from="", valid_to="")
    return resolve(export, codebook_from_dict(copy.deepcopy(codebook)), units, instrument, "2025")


# --------------------------------------------------------------------------- matching

def test_label_key_is_robust_but_not_fuzzy():
    for text in ["Tilpas", " tilpas ", "TILPAS", "3 Tilpas", "3. Tilpas", "3 = Tilpas", "(3) Tilpas", "3) Tilpas",
                 '"Tilpas"', "«Tilpas»", "Tilpas.", "3: Tilpas", "Ｔｉｌｐａｓ", "Til\u200bpas"]:
        assert label_key(text) == "tilpas", text
    assert label_key("Ikke  nok") == label_key("ikke\u00a0nok") == "ikke nok"
    assert label_key("Don’t know") == label_key("Don't know")
    assert label_key("Tilpasset") != "tilpas" and label_key("1-2 gange") == "1-2 gange"


def test_correct_labels_pass_and_are_counted(tmp_path):
    """The demo layout (RC 2.0 display order for frequent, problem_solving reversed) agrees with the
    instrument, also when labels carry numbering and quotes."""
    numbered = {c: f"{c}. {t}" for c, t in item_labels("frequent").items()}
    res = ingest(tmp_path / "cfg", "surveyxact", trio(tmp_path / "x", labels={"frequent": numbered}), CODEBOOK)
    assert res.summary["valid"] == 6
    cm = colmap(read_surveyxact(tmp_path / "x"))
    assert cm.labels_checked == {k: 6 for k in ITEMS}


def test_demo_exports_pass_the_label_check():
    """The committed demo exports (2024 CSV trio, 2025 workbook) label every item as the instrument scores it."""
    from relcoord.registry import load_units, units_in_round
    root = INSTRUMENT_FILE.parents[1]
    order = ["2024", "2025"]
    units = load_units(root / "config" / "units.tsv", order)
    book = codebook_from_dict(yaml.safe_load((root / "config" / "codebooks" / "demo.yaml").read_text("utf-8")))
    for rnd, path in (("2024", "data/raw/demo/2024"), ("2025", "data/raw/demo/2025/export.xlsx")):
        cm = resolve(read_surveyxact(root / path), book, units_in_round(units, rnd, order), INSTRUMENT, rnd)
        assert cm.labels_checked == {k: 6 for k in ITEMS}


# --------------------------------------------------------------------------- 1. labels contradict codes

def test_surveyxact_labels_contradicting_the_code_map_stop(tmp_path):
    """The export says 2 = "Alt for ofte", 5 = "Tilpas"; the instrument maps frequent {..., 2: 3, ..., 5: 2}:
    "Tilpas" would silently score 2."""
    swapped = {1: "Slet ikke nok", 2: "Alt for ofte", 3: "Ikke nok", 4: "For ofte", 5: "Tilpas", 6: "Ved ikke"}
    text = stop(tmp_path, "surveyxact", trio(tmp_path / "x", labels={"frequent": swapped}))
    assert "labels contradict the instrument" in text
    assert "item frequent: the export labels code 5 'Tilpas' (variable s_3_1 and 3 more, in labels.csv), which is " \
           "score 5" in text
    assert "code 5 score 2 ('Alt for ofte')" in text
    assert "code 2 'Alt for ofte'" in text and "code 3 'Ikke nok'" in text
    assert "`codes: {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}`" in text          # what the labels say the map is
    assert "item timely" not in text


def test_spss_labels_contradicting_the_code_map_stop(tmp_path):
    reversed_ps = {c: option_label(INSTRUMENT.item("problem_solving"), 6 - c, "da") for c in range(1, 6)}
    path = sav(tmp_path / "x.sav", labels={"problem_solving": reversed_ps})
    text = stop(tmp_path, "spss", path)
    assert "item problem_solving: the export labels code 1 'Giver altid andre skylden' (variable s_6_1 and 3 " \
           "more, in the SPSS value labels), which is score 1" in text
    assert "code 1 score 5 ('Løser altid sammen')" in text


def test_a_label_matching_nothing_stops_with_the_aliases_line(tmp_path):
    odd = {**item_labels("timely"), 3: "Engang imellem", 5: "Hele tiden"}
    text = stop(tmp_path, "surveyxact", trio(tmp_path / "x", labels={"timely": odd}))
    assert "item timely: the export labels 2 scored codes with texts that are none of the item's options" in text
    assert ("code 3 'Engang imellem' (variable s_4_1 and 3 more, in labels.csv), which `codes` scores 3 "
            "('Nogle gange')") in text
    assert '`aliases: {3: ["Engang imellem"], 5: ["Hele tiden"]}`' in text
    # with the aliases in the instrument, the same export passes
    data = yaml.safe_load(INSTRUMENT_FILE.read_text(encoding="utf-8"))
    next(i for i in data["items"] if i["key"] == "timely")["aliases"] = {3: ["Engang imellem"], 5: "Hele tiden"}
    inst = instrument_from_dict(data, "instrument.yaml")
    assert colmap(read_surveyxact(tmp_path / "x"), inst).labels_checked["timely"] == 6


def test_options_of_another_item_are_named(tmp_path):
    text = stop(tmp_path, "surveyxact", trio(tmp_path / "x", labels={"frequent": item_labels("timely")}))
    assert "They are the options of item timely: does the codebook map the right question to item frequent?" in text


def test_a_missing_code_labelled_as_an_answer_stops_but_an_unknown_missing_label_does_not(tmp_path):
    labels = {**item_labels("shared_goals"), 6: "Fuldstændigt", 9: "Uoplyst"}
    text = stop(tmp_path, "surveyxact", trio(tmp_path / "x", labels={"shared_goals": labels}))
    assert "code 6 'Fuldstændigt'" in text and "code 6 missing (a missing code)" in text
    assert "Uoplyst" not in text
    ok = {**item_labels("shared_goals"), 9: "Uoplyst"}  # 9 is a missing code: no score, no stop
    assert colmap(read_surveyxact(trio(tmp_path / "y", labels={"shared_goals": ok}))).labels_checked


def test_instrument_aliases_may_not_make_a_text_ambiguous():
    data = yaml.safe_load(INSTRUMENT_FILE.read_text(encoding="utf-8"))
    next(i for i in data["items"] if i["key"] == "timely")["aliases"] = {4: ["Altid"]}
    with pytest.raises(RelcoordError, match="'Altid' .*also stands for option 5"):
        instrument_from_dict(data, "instrument.yaml")
    next(i for i in data["items"] if i["key"] == "timely")["aliases"] = {7: ["Meget ofte"]}
    with pytest.raises(RelcoordError, match="score 7, which no code of the item scores"):
        instrument_from_dict(data, "instrument.yaml")


# --------------------------------------------------------------------------- 2. don't know on scored codes


def test_dont_know_label_on_a_scored_code_stops_with_the_number_of_answers(tmp_path):
    labels = {**item_labels("timely"), 3: "Ved ikke"}
    cells = {i: {"s_4_1": "3", "s_4_2": "3"} for i in range(3)}  # 6 answers hold code 3
    text = stop(tmp_path, "surveyxact", trio(tmp_path / "x", labels={"timely": labels}, cells=cells))
    assert (
        "item timely: the export labels code 3 'Ved ikke' (variable s_4_1 and 3 more, in labels.csv), which "
        "means don't "
        "know, but the instrument scores code 3 as score 3 ('Nogle gange'); 6 answers in the export hold "
        "code 3 and would silently become don't know" in text
    )


def test_spss_user_missing_range_over_a_scored_code_stops(tmp_path):
    cells = {(i, "s_4_1"): 5.0 for i in range(4)}
    path = sav(tmp_path / "x.sav", missing={"timely": [{"lo": 5.0, "hi": 9.0}]}, cells=cells)
    text = stop(tmp_path, "spss", path)
    assert (
        "item timely: the SPSS file declares code 5 'Altid' user-missing (variable s_4_1), but the "
        "instrument scores code 5 as score 5 ('Altid'); 4 answers in the export hold code 5" in text
    )
    assert "Variable View > Missing" in text


def test_spss_user_missing_on_a_missing_code_is_fine(tmp_path):
    path = sav(tmp_path / "x.sav", missing={"timely": [{"lo": 6.0, "hi": 9.0}]}, cells={(0, "s_4_1"): 9.0})
    res = ingest(tmp_path / "cfg", "spss", path, CODEBOOK)
    assert res.summary["valid"] == 6


# --------------------------------------------------------------------------- 3. one code, two labels


def test_base_unit_code_labelled_twice_stops(tmp_path):
    folder = trio(tmp_path / "x", extra_labels=[["s_1", "1", "Træning og Rehabilitering"]])
    text = stop(tmp_path, "surveyxact", folder)
    assert (
        "variable 's_1': code 1 is labelled twice with different texts, 'Hjemmeplejen' (in labels.csv) and "
        "'Træning og Rehabilitering' (in labels.csv)" in text
    )


def test_identical_duplicate_labels_are_fine(tmp_path):
    folder = trio(tmp_path / "x", extra_labels=[["s_1", "1", "Hjemmeplejen "], ["s_3_1", "3", "tilpas"]])
    assert ingest(tmp_path / "cfg", "surveyxact", folder, CODEBOOK).summary["valid"] == 6


def test_item_and_network_codes_labelled_twice_stop(tmp_path):
    folder = trio(
        tmp_path / "x",
        extra_labels=[["s_3_2", "5", "Tilpas"], ["v_2_1", "1", "Ikke valgt"]],
        extra_structure=[["v_2", "v_2_1", "Closed", "Multiple", "Hvilke netværk?", "1", "Andet netværk"]],
    )
    text = stop(tmp_path, "surveyxact", folder)
    assert (
        "variable 's_3_2': code 5 is labelled twice with different texts, 'Alt for ofte' (in labels.csv) and "
        "'Tilpas' (in labels.csv)" in text
    )
    assert "variable 'v_2_1': code 1 is labelled twice" in text
    assert "variable 'v_2_1' is described twice in the structure with different choice texts" in text


def test_spss_structure_choice_and_label_disagree(tmp_path):
    """labels.csv and the structure's choiceValue/choiceText give code 1 of s_1 different texts."""
    folder = trio(
        tmp_path / "x",
        extra_structure=[
            ["s_1", "s_1", "Closed", "Single", "Hvilken enhed?", "1", "Pædagogisk Psykologisk Rådgivning"]
        ],
    )
    text = stop(tmp_path, "surveyxact", folder)
    assert "variable 's_1': code 1 is labelled twice" in text and "the structure (choiceText)" in text


# --------------------------------------------------------------------------- choice texts in the codebook


def test_qualtrics_text_answers_mapped_against_their_options_stop(tmp_path):
    from test_readers_qualtrics import CODEBOOK_TEXT, rc_export

    recs = [{"id": f"R_{i}", "unit": ["Hjemmeplejen", "Træning og Rehabilitering", "PPR"][i % 3]} for i in range(6)]
    cb = copy.deepcopy(CODEBOOK_TEXT)
    cb["items"]["frequent"] = {
        "question": "Q3",
        "answers": {"Slet ikke nok": 1, "Ikke nok": 2, "Tilpas": 5, "For ofte": 4, "Alt for ofte": 3, "Ved ikke": 4},
    }
    text = stop(tmp_path, "qualtrics", rc_export(tmp_path / "q.csv", recs), cb)
    assert (
        "item frequent: the codebook's `answers:` maps the answer text 'Tilpas' to 5, which the instrument "
        "reads as score 2 ('Alt for ofte'), but 'Tilpas' is score 5" in text
    )
    assert "'Alt for ofte' to 3" in text and "'Ved ikke' to 4" in text and "'Ikke nok'" not in text


def test_limesurvey_text_answers_mapped_against_their_options_stop(tmp_path):
    from test_readers_limesurvey import lime

    recs = [{"id": str(i), "unit": "Træning og Rehabilitering", "net": "Ja"} for i in range(3)]
    cb = {
        "respondent_id": "id",
        "rater_unit": "enhed",
        "networks": {"question": "netvaerk", "selected": ["Ja"]},
        "items": {k: f"RC{q + 1}" for q, k in enumerate(ITEMS)},
        "answers": {"Aldrig": 5, "Altid": 1, "Ofte": 4, "Ved ikke": "missing"},
    }
    path = lime(tmp_path / "l.csv", recs, headings="code_text", default="Ofte")
    text = stop(tmp_path, "limesurvey", path, cb)
    assert "item timely: the codebook's `answers:` maps the answer text 'Aldrig' to 5" in text


# --------------------------------------------------------------------------- SPSS helper


def sav(path, *, labels: dict[str, dict] | None = None, missing: dict[str, list] | None = None, cells=None, n: int = 6):
    """A SurveyXact-style .sav over the same layout as :func:`trio`; ``missing``: item key -> SPSS
    missing ranges for every variable of the item."""
    data = {
        "id": [f"R{i}" for i in range(n)],
        "s_1": [float(1 + i % 3) for i in range(n)],
        "v_2_1": [1.0 if i % 3 == 0 else 0.0 for i in range(n)],
    }
    vl = {"s_1": {float(j + 1): name for j, name in enumerate(BASE)}, "v_2_1": {0.0: "Ikke valgt", 1.0: "Valgt"}}
    cl = {"id": "Respondent", "s_1": "Enhed", "v_2_1": f"Netværk - {NAMES[3]}"}
    mr = {}
    for q, key in enumerate(ITEMS):
        for m, name in enumerate(NAMES):
            var = f"s_{3 + q}_{m + 1}"
            data[var] = [4.0] * n
            vl[var] = {float(c): t for c, t in ((labels or {}).get(key) or item_labels(key)).items()}
            cl[var] = f"Spørgsmål {q + 1} - {name}"
            if missing and key in missing:
                mr[var] = missing[key]
    df = pd.DataFrame(data)
    for (i, var), v in (cells or {}).items():
        df.loc[i, var] = v
    pyreadstat.write_sav(df, str(path), column_labels=cl, variable_value_labels=vl, missing_ranges=mr or None)
    return path
