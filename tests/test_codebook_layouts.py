"""The two SurveyXact matrix layouts read alike: per item (one question per RC item, one row per
target unit; config/codebooks/demo.yaml) and per target (one question per target unit, one row per
item; ``items: {layout: per_target, ...}``), in Danish and English, with either frequency coding."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from relcoord.codebook import codebook_from_dict
from relcoord.errors import RelcoordError
from relcoord.ingest import ingest_export
from relcoord.instrument import load_instrument
from relcoord.simulate import simulate_study
from relcoord.writers.surveyxact import read_codebook, write_surveyxact

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = ROOT / "config" / "instrument.yaml"
DEMO = ROOT / "config" / "codebooks" / "demo.yaml"
KEY = b"layout-test-key-0123456789abcdef"
CORE = ["respondent_id", "rater_unit", "networks", "n_valid_answers"]
BASE = {"respondent_id": "id", "rater_unit": "s_1", "networks": "v_2", "background": {"b_1": [1, 2, 3]}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layouts")
    inst = load_instrument(INSTRUMENT)
    study = simulate_study(seed=31, rounds=("2024",), n_respondents=200, instrument=inst)
    study.units.to_csv(tmp / "units.tsv", sep="\t", index=False)
    study.memberships.to_csv(tmp / "memberships.tsv", sep="\t", index=False)
    rnd = study.round("2024")
    ref_path = tmp / "per_item"
    write_surveyxact(rnd, study.units, inst, DEMO, ref_path, kind="csv", invalid_rows=False)
    ref = ingest(tmp, ref_path, read_codebook(DEMO))
    return tmp, study, inst, rnd, ref


def ingest(tmp: Path, export: Path, codebook: dict, instrument: Path = INSTRUMENT, name: str = "codebook"):
    cb = tmp / f"{name}.yaml"
    cb.write_text(yaml.safe_dump(codebook, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result, _ = ingest_export(export, fmt="surveyxact", reader={}, codebook=cb, units=tmp / "units.tsv",
                              memberships=tmp / "memberships.tsv", instrument=instrument, round_id="2024",
                              round_order=["2024"], secret_env="RELCOORD_LAYOUT_TEST_UNSET",
                              secret_file=str(tmp / "no-secret"), key=KEY, straightlining_min_answers=5,
                              min_targets_fraction=0.0, accept_missing_units=(), min_group_size=5)
    assert result.summary["accounting_ok"]
    return result


def assert_same(res, ref, n):
    assert res.summary["valid"] == ref.summary["valid"] == n
    pd.testing.assert_frame_equal(res.responses, ref.responses)
    pd.testing.assert_frame_equal(res.respondents[CORE], ref.respondents[CORE])


def write(world, name, kind="csv", **kw):
    tmp, study, inst, rnd, _ = world
    path = tmp / name / ("export.xlsx" if kind == "xlsx" else "trio")
    return path, write_surveyxact(rnd, study.units, kw.pop("instrument", inst), DEMO, path, kind=kind,
                                  invalid_rows=False, **kw)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_per_target_reads_like_per_item(world, kind):
    tmp, study, inst, rnd, ref = world
    item_path, item_info = write(world, f"item-{kind}", kind, max_columns=40)
    target_path, target_info = write(world, f"target-{kind}", kind, layout="per_target", max_columns=40)
    cb = target_info["codebook"]
    targets = list(study.units["unit_id"])   # base units, then networks, in register order
    assert cb["items"] == {"layout": "per_target", "questions": {f"s_{3 + m}": t for m, t in enumerate(targets)}}
    assert f"s_{3 + len(targets) - 1}_7" in target_info["columns"]
    assert_same(ingest(tmp, item_path, item_info["codebook"], name=f"i-{kind}"), ref, len(rnd.respondents))
    assert_same(ingest(tmp, target_path, cb, name=f"t-{kind}"), ref, len(rnd.respondents))


def test_per_target_structure(world):
    path, _ = write(world, "structure", layout="per_target")
    s = pd.read_csv(path / "structure.csv", sep=";", encoding="latin-1", dtype=str, index_col=False)
    rows = s[s["questionName"] == "s_3"]
    assert list(rows["variableName"]) == [f"s_3_{q}" for q in range(1, 8)]
    assert rows["questionText"].iloc[0] == ("Hjemmeplejen - Hvor ofte kommunikerer medarbejdere i hver af disse "
                                            "grupper med dig om jeres fælles opgaver?")
    labels = pd.read_csv(path / "labels.csv", sep=";", encoding="latin-1", header=None, dtype=str)
    assert list(labels.loc[labels[0] == "s_3_1", 2]) == ["Slet ikke nok", "Ikke nok", "Tilpas", "For ofte",
                                                         "Alt for ofte", "Ved ikke"]


def test_pattern_form(world):
    tmp, study, inst, rnd, ref = world
    path, _ = write(world, "pattern", layout="per_target", heading="Samarbejdet med {name}")
    cb = {**BASE, "items": {"layout": "per_target", "pattern": "samarbejdet  MED {target}"}}
    assert_same(ingest(tmp, path, cb, name="pattern"), ref, len(rnd.respondents))


def test_rows_form_and_row_texts_naming_no_item(world):
    tmp, study, inst, rnd, ref = world
    path, info = write(world, "rows", layout="per_target")
    structure = (path / "structure.csv").read_text(encoding="latin-1")
    for q, item in enumerate(inst.items, start=1):
        structure = structure.replace(f" - {item.question['da']};", f" - Spørgsmål {q};")
    (path / "structure.csv").write_text(structure, encoding="latin-1")
    with pytest.raises(RelcoordError) as err:
        ingest(tmp, path, info["codebook"], name="rows-bad")
    msg = str(err.value)
    assert "'Spørgsmål 1'" in msg and "no item's question or label" in msg
    assert "Hvor ofte kommunikerer" in msg and "Do they respect the work you do?" in msg   # the texts to choose from
    assert "rows: {1: frequent, 2: timely, 3: accurate" in msg
    rows = dict(enumerate(inst.keys, start=1))
    cb = {**info["codebook"], "items": {**info["codebook"]["items"], "rows": rows}}
    assert_same(ingest(tmp, path, cb, name="rows"), ref, len(rnd.respondents))
    # a row left out: its item is not mapped
    cb["items"]["rows"] = {k: v for k, v in rows.items() if v != "mutual_respect"}
    with pytest.raises(RelcoordError, match="maps no question to item.s. mutual_respect"):
        ingest(tmp, path, cb, name="rows-short")


def test_unknown_target_in_heading(world):
    tmp, study, inst, rnd, ref = world
    path, _ = write(world, "unknown", layout="per_target", heading="Samarbejdet med {name}",
                    names={"YDS": "Borgerservice"})
    cb = {**BASE, "items": {"layout": "per_target", "pattern": "Samarbejdet med {target}"}}
    with pytest.raises(RelcoordError, match="'Borgerservice' is not a unit in the unit register"):
        ingest(tmp, path, cb, name="unknown")
    cb["items"]["pattern"] = "Samarbejde med {target}"
    with pytest.raises(RelcoordError, match="no question's heading matches .* 'Samarbejdet med Hjemmeplejen'"):
        ingest(tmp, path, cb, name="nomatch")


@pytest.mark.parametrize("layout", ["per_item", "per_target"])
def test_english_export(world, layout):
    tmp, study, inst, rnd, ref = world
    path, info = write(world, f"en-{layout}", layout=layout, survey_language="en", encoding="utf-8")
    text = (path / "labels.csv").read_text(encoding="utf-8")
    assert "Just the right amount" in text and "Don't know" in text and "Tilpas" not in text
    assert "How frequently do people" in (path / "structure.csv").read_text(encoding="utf-8")
    assert_same(ingest(tmp, path, info["codebook"], name=f"en-{layout}"), ref, len(rnd.respondents))


def test_identity_frequency_coding(world):
    """An instrument whose frequent item is coded 1..5 = score 1..5 (options, listed in score order,
    unchanged): the writer codes by it and the export reads back with it."""
    tmp, study, inst, rnd, ref = world
    data = yaml.safe_load(INSTRUMENT.read_text(encoding="utf-8"))
    freq = next(it for it in data["items"] if it["key"] == "frequent")
    freq["codes"] = {c: c for c in range(1, 6)}
    identity = tmp / "instrument-identity.yaml"
    identity.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    inst_id = load_instrument(identity)
    for layout in ("per_item", "per_target"):
        path, info = write(world, f"identity-{layout}", layout=layout, instrument=inst_id)
        labels = pd.read_csv(path / "labels.csv", sep=";", encoding="latin-1", header=None, dtype=str)
        first = "s_3_1"   # frequent about the first target in both layouts
        assert list(labels.loc[labels[0] == first, 2]) == [*freq["options"]["da"], "Ved ikke"]
        assert_same(ingest(tmp, path, info["codebook"], instrument=identity, name=f"id-{layout}"), ref,
                    len(rnd.respondents))
    # the export's labels say which coding it has: read with the display-order instrument, it stops
    with pytest.raises(RelcoordError):
        ingest(tmp, path, info["codebook"], name="id-wrong")


def test_codebook_form_problems():
    base = {"respondent_id": "id", "rater_unit": "s_1"}
    ok = codebook_from_dict({**base, "items": {"layout": "per_target", "questions": {"s_3": "HJP"},
                                               "rows": {1: "frequent"}}})
    assert ok.item_layout == "per_target" and ok.items == {}
    assert ok.per_target == {"questions": {"s_3": "HJP"}, "rows": {"1": "frequent"}}
    assert codebook_from_dict({**base, "items": {"frequent": "s_3"}}).item_layout == "per_item"
    bad = [
        ({"layout": "per_target", "questions": {"s_3": "HJP"}, "answers": "options"},
         "unknown key(s) 'answers' for the `questions` form; allowed: layout, questions, rows"),
        ({"layout": "per_target", "questions": {"s_3": "HJP"}, "pattern": "x {target}"},
         "give exactly one of questions, pattern"),
        ({"layout": "per_target", "pattern": "Q{n}"}, "exactly one {target} placeholder"),
        ({"layout": "per_target", "pattern": "{target}", "rows": {"first": "frequent"}},
         "numbered by their position"),
        ({"layout": "by_unit", "questions": {"s_3": "HJP"}}, "layout 'by_unit' is not known"),
    ]
    for items, words in bad:
        with pytest.raises(RelcoordError) as err:
            codebook_from_dict({**base, "items": items})
        assert words in str(err.value), (items, str(err.value))
