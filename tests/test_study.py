"""Study folders set up from the export itself: `relcoord init`, `relcoord add-round` (relcoord.study,
relcoord.infer). Every export is read back through the written configuration, and its validated
answers are held against what was simulated (the export's own labels say the same)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT
from relcoord.codebook import unit_lookup
from relcoord.codes import normalise_text
from relcoord.config import load_settings
from relcoord.errors import RelcoordError
from relcoord.infer import Choices, unit_ids
from relcoord.ingest import ingest_round
from relcoord.instrument import load_instrument
from relcoord.simulate import simulate_study
from relcoord.study import add_round, detect_format, init_study
from relcoord.writers import write_round
from relcoord.writers.surveyxact import write_surveyxact

INSTRUMENT = ROOT / "config" / "instrument.yaml"
DEMO_CODEBOOK = ROOT / "config" / "codebooks" / "demo.yaml"
SECRET = "test-secret-0123456789abcdef"


def _init(*args, **kwargs):
    """init_study as `relcoord init` without --language calls it (the report language the schema's)."""
    return init_study(*args, language=kwargs.pop("language", None), **kwargs)


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("RELCOORD_SECRET", SECRET)


@pytest.fixture(scope="module")
def study_round():
    inst = load_instrument(INSTRUMENT)
    st = simulate_study(seed=11, rounds=("2024",), n_respondents=160, instrument=inst)
    return st, inst


def _validated(study: Path, round_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(responses with unit names, the study's units) as the written configuration reads the round."""
    settings = load_settings(study / "config" / "config.yaml")
    result, _ = ingest_round(settings, round_id, base=study)
    units = pd.read_csv(study / "config" / "units.tsv", sep="\t", dtype=str, keep_default_na=False)
    return result.responses, units


def _by_name(responses: pd.DataFrame, units: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """responses with each unit named by the reference register's id (through the unit's name, which the
    reference knows as a name or an alias: ids differ between registers), sorted."""
    look = unit_lookup(ref.assign(aliases=ref.get("aliases", "")))
    key = {u: look.get(normalise_text(n), look.get(normalise_text(u))) for u, n in zip(units["unit_id"], units["name"])}
    out = pd.DataFrame({"rater": responses["rater_unit"].astype(str).map(key),
                        "target": responses["target_unit"].astype(str).map(key),
                        "item": responses["item"].astype(str),
                        "value": responses["value"].astype(float)})
    assert out["rater"].notna().all() and out["target"].notna().all()
    out = out.dropna(subset=["value"])   # scored answers (blank and "don't know" are no score)
    return out.sort_values(["rater", "target", "item", "value"]).reset_index(drop=True)


def _simulated(st, round_id="2024") -> pd.DataFrame:
    resp = st.round(round_id).responses.dropna(subset=["value"])
    return _by_name(resp, st.units, st.units)


# --------------------------------------------------------------------------- the demo's own exports

@pytest.mark.parametrize("export", ["data/raw/demo/2024", "data/raw/demo/2025/export.xlsx",
                                    "data/raw/demo/2026/export.xlsx"])
def test_init_on_the_demo_exports_reads_what_the_hand_written_config_reads(tmp_path, export):
    round_id = export.split("/")[3]
    w = _init(tmp_path / "s", ROOT / export, round_id, date=f"{round_id}-03-01")
    assert (w.summary["records_in"], w.summary["valid"], w.summary["quarantined"]) == (455, 450, 5)
    ours, units = _validated(tmp_path / "s", round_id)
    settings = load_settings(ROOT / "config" / "config.yaml")
    demo, _ = ingest_round(settings, round_id, base=ROOT)
    demo_units = pd.read_csv(ROOT / "config" / "units.tsv", sep="\t", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(_by_name(ours, units, demo_units), _by_name(demo.responses, demo_units, demo_units))
    # the frequency item's display-order coding and the reversed problem-solving item, from the labels
    inst = yaml.safe_load((tmp_path / "s" / "config" / "instrument.yaml").read_text(encoding="utf-8"))
    codes = {it["key"]: it["codes"] for it in inst["items"]}
    assert codes["frequent"] == {1: 1, 2: 3, 3: 5, 4: 4, 5: 2}
    assert codes["problem_solving"] == {1: 5, 2: 4, 3: 3, 4: 2, 5: 1}
    assert inst["missing_codes"] == [6]
    # the register: ten base units from s_1, four networks from v_2, all of the demo's names
    assert sorted(units.loc[units["kind"] == "base", "name"].map(normalise_text)) == sorted(
        demo_units.loc[demo_units["kind"] == "base"].apply(
            lambda r: normalise_text(r["name"] if round_id != "2026" or r["unit_id"] != "PPR" else r["aliases"]),
            axis=1))
    assert (units["kind"] == "network").sum() == 4


def test_init_names_every_decision_in_the_codebook(tmp_path):
    _init(tmp_path / "s", ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    text = (tmp_path / "s" / "config" / "codebooks" / "2024.yaml").read_text(encoding="utf-8")
    for said in ("base-unit question: s_1", "network question: v_2", "respondent id: id",
                 "item frequent: codes 1=1, 2=3, 3=5, 4=4, 5=2", "memberships:"):
        assert said in text
    cb = yaml.safe_load(text)
    assert cb == {"respondent_id": "id", "rater_unit": "s_1", "networks": "v_2",
                  "items": {k: f"s_{i + 3}" for i, k in enumerate(
                      ["frequent", "timely", "accurate", "problem_solving", "shared_goals", "shared_knowledge",
                       "mutual_respect"])}}


# --------------------------------------------------------------------------- layouts, languages, codings

@pytest.mark.parametrize("layout", ["per_item", "per_target"])
@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("heading", ["{name}", "Samarbejdet med {name}"])
def test_both_layouts_and_languages_read_back_as_simulated(tmp_path, study_round, layout, language, heading):
    st, inst = study_round
    export = tmp_path / "export"
    write_surveyxact(st.round("2024"), st.units, inst, DEMO_CODEBOOK, export, kind="csv", layout=layout,
                     survey_language=language, heading=heading, invalid_rows=False)
    w = _init(tmp_path / "s", export, "2024", date="2024-03-01")
    cb = yaml.safe_load((tmp_path / "s" / "config" / "codebooks" / "2024.yaml").read_text(encoding="utf-8"))
    if layout == "per_target":
        assert cb["items"]["layout"] == "per_target" and len(cb["items"]["questions"]) == len(st.units)
    else:
        assert set(cb["items"]) == set(inst.keys)
    assert w.summary["quarantined"] == 0
    ours, units = _validated(tmp_path / "s", "2024")
    pd.testing.assert_frame_equal(_by_name(ours, units, st.units), _simulated(st))


def _rows_as_questions(folder: Path) -> None:
    """Name every matrix row as a question of its own, as real SurveyXact exports do (``i_01``, ``i_02``
    with questionText "heading - row"), instead of the shared ``s_3``."""
    st = pd.read_csv(folder / "structure.csv", sep=";", encoding="latin-1", dtype=str, keep_default_na=False,
                     index_col=False)
    matrix = st["questionType"].eq("Closed") & st["subType"].eq("Single") & st["questionText"].str.contains(" - ")
    st.loc[matrix, "questionName"] = st.loc[matrix, "variableName"]
    st.to_csv(folder / "structure.csv", sep=";", encoding="latin-1", index=False)


@pytest.mark.parametrize("layout", ["per_item", "per_target"])
def test_matrix_rows_that_are_questions_of_their_own_are_grouped_by_their_heading(tmp_path, study_round, layout):
    st, inst = study_round
    export = tmp_path / "export"
    write_surveyxact(st.round("2024"), st.units, inst, DEMO_CODEBOOK, export, kind="csv", layout=layout,
                     invalid_rows=False, heading="Samarbejdet med {name}")
    _rows_as_questions(export)
    w = _init(tmp_path / "s", export, "2024", date="2024-03-01")
    cb = yaml.safe_load((tmp_path / "s" / "config" / "codebooks" / "2024.yaml").read_text(encoding="utf-8"))
    assert all(len(spec["variables"]) == len(st.units) for spec in cb["items"].values())
    assert any(".." in n for n in w.notes)
    ours, units = _validated(tmp_path / "s", "2024")
    pd.testing.assert_frame_equal(_by_name(ours, units, st.units), _simulated(st))


def _identity_instrument(tmp_path: Path) -> Path:
    """The instrument with the frequency item coded in score order (1 = not nearly enough ... 5 = just right)."""
    data = yaml.safe_load(INSTRUMENT.read_text(encoding="utf-8"))
    for it in data["items"]:
        if it["key"] == "frequent":
            it["codes"] = {c: c for c in range(1, 6)}
    path = tmp_path / "identity.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["per_item", "per_target"])
def test_both_frequency_codings_score_by_their_labels(tmp_path, study_round, layout):
    st, _ = study_round
    inst = load_instrument(_identity_instrument(tmp_path))
    export = tmp_path / "export.xlsx"
    write_surveyxact(st.round("2024"), st.units, inst, DEMO_CODEBOOK, export, kind="xlsx", layout=layout,
                     invalid_rows=False)
    _init(tmp_path / "s", export, "2024", date="2024-03-01")   # starts from the display-order instrument
    inst_out = yaml.safe_load((tmp_path / "s" / "config" / "instrument.yaml").read_text(encoding="utf-8"))
    assert next(it for it in inst_out["items"] if it["key"] == "frequent")["codes"] == {c: c for c in range(1, 6)}
    ours, units = _validated(tmp_path / "s", "2024")
    pd.testing.assert_frame_equal(_by_name(ours, units, st.units), _simulated(st))


@pytest.mark.parametrize("fmt", ["spss", "qualtrics", "canonical"])
def test_other_formats_with_their_texts_read_back_as_simulated(tmp_path, study_round, fmt):
    st, inst = study_round
    info = write_round(fmt, st.round("2024"), st.units, inst, tmp_path / "export")
    export = Path(info["export"])
    assert detect_format(export) == fmt
    _init(tmp_path / "s", export, "2024", date="2024-03-01")
    ours, units = _validated(tmp_path / "s", "2024")
    pd.testing.assert_frame_equal(_by_name(ours, units, st.units), _simulated(st))
    if fmt == "canonical":   # the canonical format names units by id: the same ids as the simulation's
        assert set(units["unit_id"]) == set(st.units["unit_id"])


def test_limesurvey_with_answer_texts_reads_back_as_simulated(tmp_path, study_round):
    from relcoord.writers.limesurvey import write_limesurvey

    st, inst = study_round
    write_limesurvey(st.round("2024"), st.units, inst, tmp_path / "export.csv", answers="text",
                     headings="code_text")
    _init(tmp_path / "s", tmp_path / "export.csv", "2024", date="2024-03-01", fmt="limesurvey")
    ours, units = _validated(tmp_path / "s", "2024")
    pd.testing.assert_frame_equal(_by_name(ours, units, st.units), _simulated(st))


@pytest.mark.parametrize("fmt,kind", [("limesurvey", "limesurvey"), ("generic-csv", "generic")])
def test_exports_of_bare_codes_stop_saying_what_is_missing(tmp_path, study_round, fmt, kind):
    st, inst = study_round
    info = write_round(fmt, st.round("2024"), st.units, inst, tmp_path / "export")
    with pytest.raises(RelcoordError) as err:
        _init(tmp_path / "s", info["export"], "2024", date="2024-03-01", fmt=kind)
    text = str(err.value)
    assert "answer codes without labels" in text and "--codebook FILE --units FILE" in text
    assert not (tmp_path / "s" / "config").exists()
    # with the codebook and register written by hand (here: the writer's), init sets the study up from them
    (tmp_path / "cb.yaml").write_text(yaml.safe_dump(info["codebook"], allow_unicode=True), encoding="utf-8")
    st.units.to_csv(tmp_path / "units.tsv", sep="\t", index=False)
    st.memberships.to_csv(tmp_path / "mem.tsv", sep="\t", index=False)
    w = _init(tmp_path / "s", info["export"], "2024", date="2024-03-01", fmt=kind, codebook=tmp_path / "cb.yaml",
                   units=tmp_path / "units.tsv", memberships=tmp_path / "mem.tsv")
    assert any("not read from the export" in n for n in w.notes)
    ours, units = _validated(tmp_path / "s", "2024")
    pd.testing.assert_frame_equal(_by_name(ours, units, st.units), _simulated(st))


def test_a_failed_check_leaves_no_half_made_study(tmp_path, study_round):
    st, inst = study_round
    info = write_round("generic-csv", st.round("2024"), st.units, inst, tmp_path / "export")
    (tmp_path / "cb.yaml").write_text(yaml.safe_dump({**info["codebook"], "respondent_id": "nope"}),
                                      encoding="utf-8")
    st.units.to_csv(tmp_path / "units.tsv", sep="\t", index=False)
    with pytest.raises(RelcoordError, match="nope"):
        _init(tmp_path / "s", info["export"], "2024", date="2024-03-01", fmt="generic",
                   codebook=tmp_path / "cb.yaml", units=tmp_path / "units.tsv")
    assert not (tmp_path / "s").exists()


# --------------------------------------------------------------------------- what cannot be decided

def _demo_trio(tmp_path: Path) -> Path:
    dest = tmp_path / "trio"
    shutil.copytree(ROOT / "data/raw/demo/2024", dest)
    return dest


def _edit(path: Path, fn) -> None:
    text = path.read_text(encoding="latin-1")
    path.write_text(fn(text), encoding="latin-1")


def test_two_questions_naming_the_units_stop_with_both_candidates(tmp_path):
    trio = _demo_trio(tmp_path)
    # a second single choice over the same unit names: "which unit do you work with most?"
    _edit(trio / "structure.csv", lambda t: t.replace(
        "s_1;s_1;Closed;Single;Hvilken enhed er du ansat i?;;;\n",
        "s_1;s_1;Closed;Single;Hvilken enhed er du ansat i?;;;\n"
        "s_99;s_99;Closed;Single;Hvilken enhed samarbejder du mest med?;;;\n"))
    _edit(trio / "labels.csv", lambda t: t + "".join(
        line.replace("s_1;", "s_99;", 1) + "\n" for line in t.splitlines() if line.startswith("s_1;")))
    data = pd.read_csv(trio / "dataset.csv", sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    data.insert(2, "s_99", data["s_1"])
    data.to_csv(trio / "dataset.csv", sep=";", encoding="latin-1", index=False)
    with pytest.raises(RelcoordError) as err:
        _init(tmp_path / "s", trio, "2024", date="2024-03-01")
    text = str(err.value)
    assert "base unit cannot be decided" in text and "s_1" in text and "s_99" in text
    assert "--unit-question" in text
    assert not (tmp_path / "s" / "config").exists()
    w = _init(tmp_path / "s", trio, "2024", date="2024-03-01", choices=Choices(unit_question="s_1"))
    assert "base-unit question: s_1 (chosen with --unit-question)" in w.notes


def test_items_with_the_same_options_and_plain_texts_stop_with_the_item_flags(tmp_path):
    trio = _demo_trio(tmp_path)
    # timely (s_4) and accurate (s_5) share their options; without their texts they cannot be told apart
    _edit(trio / "structure.csv", lambda t: t.replace("Kommunikerer de med dig i rette tid?", "Spørgsmål 2")
          .replace("Kommunikerer de præcist med dig?", "Spørgsmål 3"))
    with pytest.raises(RelcoordError) as err:
        _init(tmp_path / "s", trio, "2024", date="2024-03-01")
    text = str(err.value)
    assert "--item timely=s_4" in text and "--item accurate=s_5" in text
    w = _init(tmp_path / "s", trio, "2024", date="2024-03-01", choices=Choices(items={"timely": "s_4"}))
    assert any("accurate: question 's_5' (the only item" in n for n in w.notes)
    cb = yaml.safe_load((tmp_path / "s" / "config" / "codebooks" / "2024.yaml").read_text(encoding="utf-8"))
    assert cb["items"]["timely"] == "s_4" and cb["items"]["accurate"] == "s_5"


def test_an_unknown_answer_wording_stops_naming_the_alias_to_add(tmp_path):
    trio = _demo_trio(tmp_path)
    _edit(trio / "labels.csv", lambda t: t.replace(";Tilpas\n", ";Nogenlunde\n"))
    with pytest.raises(RelcoordError) as err:
        _init(tmp_path / "s", trio, "2024", date="2024-03-01")
    assert "frequent" in str(err.value) and "aliases" in str(err.value)


def test_an_unknown_wording_names_the_variable_and_the_alias_line_and_the_instrument_fixes_it(tmp_path):
    trio = _demo_trio(tmp_path)
    _edit(trio / "labels.csv", lambda t: t.replace(";Noget\n", ";Noget om\n"))
    with pytest.raises(RelcoordError) as err:
        _init(tmp_path / "s", trio, "2024", date="2024-03-01")
    text = str(err.value)
    assert "no question has the answers of item(s) shared_knowledge" in text
    assert "add to item shared_knowledge `aliases: {3: ['Noget om']}`" in text and "--instrument FILE" in text
    data = yaml.safe_load(INSTRUMENT.read_text(encoding="utf-8"))
    next(i for i in data["items"] if i["key"] == "shared_knowledge")["aliases"][3] = ["Noget om"]
    (tmp_path / "inst.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    w = _init(tmp_path / "s", trio, "2024", date="2024-03-01", instrument=str(tmp_path / "inst.yaml"))
    assert w.summary["valid"] == 450


def test_a_target_neither_unit_nor_network_stops_with_the_closest(tmp_path):
    trio = _demo_trio(tmp_path)
    _edit(trio / "structure.csv", lambda t: t.replace("- Vej og Park;", "- Vej & Park;"))
    with pytest.raises(RelcoordError) as err:
        _init(tmp_path / "s", trio, "2024", date="2024-03-01")
    assert "'Vej & Park'" in str(err.value) and "closest: 'Vej og Park'" in str(err.value)
    assert "--extra-network" in str(err.value)


# --------------------------------------------------------------------------- add-round

def test_add_round_matches_renames_and_follows_memberships(tmp_path):
    s = tmp_path / "s"
    _init(s, ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    w = add_round(s, ROOT / "data/raw/demo/2025/export.xlsx", "2025", date="2025-03-01")
    assert not any(n.startswith("renamed:") for n in w.notes)
    w = add_round(s, ROOT / "data/raw/demo/2026/export.xlsx", "2026", date="2026-03-01")
    units = pd.read_csv(s / "config/units.tsv", sep="\t", dtype=str, keep_default_na=False)
    ppr = units[units["name"] == "Pædagogisk Psykologisk Rådgivning"]
    assert ppr["aliases"].iat[0] == "Pædagogisk-psykologisk rådgivning (PPR)"   # the rename, sure: same code
    assert any(n.startswith("renamed: 'Pædagogisk-psykologisk rådgivning (PPR)'") for n in w.notes)
    assert len(units) == 14 and (units["valid_to"] == "").all()
    cfg = yaml.safe_load((s / "config/config.yaml").read_text(encoding="utf-8"))
    assert cfg["comparisons"] == [{"baseline": "2024", "followup": "2025"}, {"baseline": "2025", "followup": "2026"}]
    # the memberships equal the demo's register, read through the unit names
    demo_units = pd.read_csv(ROOT / "config/units.tsv", sep="\t", dtype=str, keep_default_na=False)
    to_name = dict(zip(demo_units["unit_id"], demo_units["name"]))
    ours_name = dict(zip(units["unit_id"], units["name"]))
    demo_mem = pd.read_csv(ROOT / "config/memberships.tsv", sep="\t", dtype=str, keep_default_na=False)
    ours_mem = pd.read_csv(s / "config/memberships.tsv", sep="\t", dtype=str, keep_default_na=False)

    def named(m, names):
        return sorted(zip(m["network_id"].map(names), m["unit_id"].map(names), m["from_round"], m["to_round"]))

    assert named(ours_mem, ours_name) == named(demo_mem, to_name)


def test_add_round_lists_new_and_vanished_units_and_takes_aliases(tmp_path):
    s = tmp_path / "s"
    _init(s, ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    trio = _demo_trio(tmp_path)
    _edit(trio / "labels.csv", lambda t: t.replace("s_1;10;Byggesager", "s_1;10;Byg og Plan"))
    _edit(trio / "structure.csv", lambda t: t.replace("- Byggesager;", "- Byg og Plan;"))
    w = add_round(s, trio, "2025", date="2025-03-01")
    units = pd.read_csv(s / "config/units.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert units.loc[units["name"] == "Byggesager", "valid_to"].iat[0] == "2024"
    assert units.loc[units["name"] == "Byg og Plan", "valid_from"].iat[0] == "2025"
    assert any("possible rename" in n and "--alias 'Byg og Plan'=BYGGESAGER" in n for n in w.notes)
    # told that it is the same unit, the new name becomes an alias
    s2 = tmp_path / "s2"
    _init(s2, ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    add_round(s2, trio, "2025", date="2025-03-01", alias={"Byg og Plan": "BYGGESAGER"})
    units = pd.read_csv(s2 / "config/units.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert units.loc[units["unit_id"] == "BYGGESAGER", "aliases"].iat[0] == "Byg og Plan"
    assert len(units) == 14


def test_add_round_needs_a_later_date_and_a_new_id(tmp_path):
    s = tmp_path / "s"
    _init(s, ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    with pytest.raises(RelcoordError, match="already in"):
        add_round(s, ROOT / "data/raw/demo/2025/export.xlsx", "2024", date="2025-03-01")
    with pytest.raises(RelcoordError, match="not after the last round"):
        add_round(s, ROOT / "data/raw/demo/2025/export.xlsx", "2025", date="2023-03-01")


# --------------------------------------------------------------------------- the folder

def test_init_refuses_an_existing_study_and_a_folder_in_the_checkout(tmp_path):
    _init(tmp_path / "s", ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    with pytest.raises(RelcoordError, match="already a study"):
        _init(tmp_path / "s", ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    with pytest.raises(RelcoordError, match="inside the relcoord code checkout"):
        _init(ROOT / "my-study", ROOT / "data/raw/demo/2024", "2024", date="2024-03-01")
    assert not (ROOT / "my-study").exists()



def test_without_a_date_the_round_id_or_the_export_dates_the_round(tmp_path):
    w = _init(tmp_path / "t", ROOT / "data/raw/demo/2024", "2024")
    assert "date: 2024-01-01 (from the round id '2024'; give --date to set the fieldwork date)" in w.notes
    w = add_round(tmp_path / "t", ROOT / "data/raw/demo/2025/export.xlsx", "followup")
    cfg = yaml.safe_load((tmp_path / "t/config/config.yaml").read_text(encoding="utf-8"))
    assert cfg["rounds"]["followup"]["date"] > cfg["rounds"]["2024"]["date"]
    assert any(n.startswith("date: ") for n in w.notes)


def test_a_unit_label_nobody_chose_and_nobody_rates_is_no_unit(tmp_path):
    trio = _demo_trio(tmp_path)
    _edit(trio / "labels.csv", lambda t: t.replace("s_1;10;Byggesager\n", "s_1;10;Byggesager\ns_1;11;Anden enhed\n"))
    w = _init(tmp_path / "s", trio, "2024", date="2024-03-01")
    assert any("not units" in n and "Anden enhed" in n for n in w.notes)
    units = pd.read_csv(tmp_path / "s/config/units.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert "Anden enhed" not in set(units["name"])


def test_a_rated_unit_without_respondents_is_accepted_as_missing(tmp_path):
    trio = _demo_trio(tmp_path)
    data = pd.read_csv(trio / "dataset.csv", sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    data = data[data["s_1"].str.strip() != "10"]          # nobody from Byggesager answered
    data.to_csv(trio / "dataset.csv", sep=";", encoding="latin-1", index=False)
    w = _init(tmp_path / "s", trio, "2024", date="2024-03-01")
    cfg = yaml.safe_load((tmp_path / "s/config/config.yaml").read_text(encoding="utf-8"))
    assert cfg["validation"]["accept_missing_units"] == ["BYGGESAGER"]
    assert w.summary["missing_units"] == ["BYGGESAGER"]


def test_copy_puts_the_export_into_the_study(tmp_path):
    _init(tmp_path / "s", ROOT / "data/raw/demo/2025/export.xlsx", "2025", date="2025-03-01", copy=True)
    cfg = yaml.safe_load((tmp_path / "s/config/config.yaml").read_text(encoding="utf-8"))
    assert cfg["rounds"]["2025"]["export"] == "data/raw/2025/export.xlsx"
    assert (tmp_path / "s/data/raw/2025/export.xlsx").read_bytes() == \
        (ROOT / "data/raw/demo/2025/export.xlsx").read_bytes()


def test_unit_ids_are_readable_and_unique():
    assert unit_ids(["Træning og Rehabilitering", "Træning og Rehabilitering", "Vej og Park", "%%"]) == \
        ["TRAENING", "TRAENING-2", "VEJ-OG-PARK", "UNIT"]
    ids = unit_ids([f"Enhed {i} for noget meget langt navn" for i in range(30)])
    assert len(set(ids)) == 30 and all(len(i) <= 24 for i in ids)
    assert np.all([i == i.upper() for i in ids])
