"""The simulator (planted effects, canonical tables) and the SurveyXact writer."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from relcoord.instrument import load_instrument
from relcoord.registry import memberships_in_round, shared_networks
from relcoord.simulate import (build_organisation, expected_score, main_simulate, make_demo,
                               respondent_tie_rc, simple_did, simulate_study)
from relcoord.writers.surveyxact import read_codebook, write_surveyxact

from conftest import scoring

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = ROOT / "config" / "instrument.yaml"
CODEBOOK = ROOT / "config" / "codebooks" / "demo.yaml"


@pytest.fixture(scope="module")
def inst():
    return load_instrument(INSTRUMENT)


@pytest.fixture(scope="module")
def study(inst):
    return simulate_study(seed=11, n_respondents=450, instrument=inst)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    truth = make_demo(out / "raw", out / "config", seed=2024)
    return out, truth


def _sha(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- the model

def test_deterministic_given_seed():
    a = simulate_study(seed=5, n_respondents=120)
    b = simulate_study(seed=5, n_respondents=120)
    c = simulate_study(seed=6, n_respondents=120)
    for rid in a.rounds:
        for x, y in zip(a.rounds[rid], b.rounds[rid]):
            pd.testing.assert_frame_equal(x, y)
        np.testing.assert_array_equal(a.dont_know[rid], b.dont_know[rid])
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)
    pd.testing.assert_frame_equal(a.units, c.units)  # the organisation does not depend on the seed
    assert not a.rounds["2024"][0]["value"].equals(c.rounds["2024"][0]["value"])
    assert not a.rounds["2024"][1]["respondent_id"].equals(c.rounds["2024"][1]["respondent_id"])


def test_canonical_tables_complete_and_in_range(study, inst):
    units = study.units
    targets = units["unit_id"].tolist()
    assert set(units["kind"]) == {"base", "network"}
    assert len(units[units.kind == "network"]) == 4 and len(units[units.kind == "base"]) == 10
    assert any(c in "".join(units["name"]) for c in "æøå")
    ids_seen = set()
    for rid, (responses, respondents) in study.rounds.items():
        assert list(responses.columns) == ["respondent_id", "rater_unit", "target_unit", "item", "value"]
        assert list(respondents.columns) == ["respondent_id", "rater_unit", "networks", "role"]
        n = len(respondents)
        assert n == 450 and respondents["respondent_id"].is_unique
        assert respondents["respondent_id"].str.fullmatch(r"\d{8}").all()
        assert not ids_seen & set(respondents["respondent_id"])  # anonymous rounds: fresh ids
        ids_seen |= set(respondents["respondent_id"])
        assert len(responses) == n * len(targets) * len(inst.keys)
        assert not responses.duplicated(["respondent_id", "target_unit", "item"]).any()
        full = pd.MultiIndex.from_product([respondents["respondent_id"], targets, inst.keys])
        got = pd.MultiIndex.from_frame(responses[["respondent_id", "target_unit", "item"]])
        assert got.equals(full)
        v = responses["value"]
        assert set(v.dropna().unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
        assert len(set(v.dropna().unique())) == 5
        # missing (blank) and don't know at the requested rates (3 % + 4 %)
        dk = study.dont_know[rid]
        assert dk.shape == (len(responses),) and v[dk].isna().all()
        assert abs(v.isna().mean() - 0.07) < 0.006
        assert abs(dk.mean() - 0.04) < 0.005
        # rater unit agrees between the tables
        m = responses.drop_duplicates("respondent_id").set_index("respondent_id")["rater_unit"]
        assert m.reindex(respondents["respondent_id"]).tolist() == respondents["rater_unit"].tolist()
        # unbalanced units, one of them too small to show
        counts = respondents["rater_unit"].value_counts()
        assert counts.min() < 5 and counts.min() >= 3
        assert (counts.drop(counts.idxmin()) >= 12).all()
        assert counts.max() >= 2.5 * counts.drop(counts.idxmin()).min()
        # network members come only from member units of that round, sorted ids
        members = set(memberships_in_round(study.memberships, rid, study.round_ids).itertuples(index=False, name=None))
        for unit, nets in zip(respondents["rater_unit"], respondents["networks"]):
            if nets:
                ns = nets.split(";")
                assert ns == sorted(ns) and all((x, unit) in members for x in ns)
        assert (respondents["networks"] != "").mean() > 0.1
        assert set(respondents["role"]) <= {"Leder", "Medarbejder", "Andet"}


def test_memberships_change_between_rounds(study):
    m = study.memberships
    assert list(m.columns) == ["network_id", "unit_id", "from_round", "to_round"]
    assert (m["from_round"] == "2025").sum() >= 3  # some units join in the follow-up round
    assert (m["to_round"] == "2024").sum() == 1    # one leaves after the baseline
    base = set(study.units.loc[study.units.kind == "base", "unit_id"])
    assert set(m["unit_id"]) <= base
    s24, s25 = shared_networks(m, "2024", study.round_ids), shared_networks(m, "2025", study.round_ids)
    assert set(s25) - set(s24) and set(s24) - set(s25)
    assert all(a != b and (b, a) in s25 for a, b in s25)
    assert sorted(map(tuple, study.truth["shared_directed_pairs"])) == sorted(s25)


def test_expected_score_interpolation_is_exact_enough():
    x = np.random.default_rng(0).normal(3.5, 3.0, 300_000)
    cuts = (1.5, 2.5, 3.5, 4.5)
    approx, exact = expected_score(x, cuts, 0.75), expected_score(x, cuts, 0.75, exact=True)
    assert np.abs(approx - exact).max() < 1e-7
    assert exact.min() >= 1 and exact.max() <= 5
    assert expected_score(np.array([3.0]), (3.0,), 1.0)[0] == pytest.approx(1.5)


@pytest.fixture(scope="module")
def big_studies():
    return {ne: simulate_study(seed=31, n_respondents=3000, network_effect=ne) for ne in (0.30, 0.0)}


def test_planted_network_effect_is_recoverable(big_studies):
    st = big_studies[0.30]
    t = st.truth
    did = simple_did(st, "2024", "2025", min_items=scoring().min_items)
    assert did == pytest.approx(t["network_effect_rc_sample_did"], abs=1e-12)
    # attenuated by the ordinal cut, but clearly there
    assert 0.15 < t["network_effect_rc"] < 0.30
    assert did == pytest.approx(t["network_effect_rc"], abs=0.035)
    assert t["network_effect_rc_did_expected"] == pytest.approx(t["network_effect_rc"], abs=0.035)


def test_no_network_effect_gives_no_did(big_studies):
    st = big_studies[0.0]
    assert st.truth["network_effect_rc"] == 0.0
    assert abs(simple_did(st, "2024", "2025", min_items=scoring().min_items)) < 0.035


def test_planted_drift_is_recoverable(big_studies):
    st = big_studies[0.0]
    t = st.truth
    assert 0.03 < t["drift_rc"] < 0.05
    mean = {rid: respondent_tie_rc(st.rounds[rid][0], min_items=scoring().min_items)["rc"].mean()
            for rid in st.round_ids}
    assert mean["2025"] - mean["2024"] == pytest.approx(t["drift_rc"], abs=0.03)


def test_truth_is_json_and_documents_the_model(study):
    t = json.loads(json.dumps(study.truth))
    for key in ("network_effect_rc", "drift_rc", "network_effect_latent", "drift_latent_per_round",
                "shared_pairs", "latent", "per_round", "small_unit"):
        assert key in t
    assert set(t["latent"]["target_reputation"]) == set(study.units["unit_id"])
    assert t["per_round"]["2024"]["network_effect_rc"] == 0.0


def test_more_rounds_and_units():
    st = simulate_study(seed=1, rounds=("a", "b", "c"), n_respondents=800, n_base_units=25, n_networks=6)
    assert len(st.units) == 31 and st.units["unit_id"].is_unique
    assert len(st.rounds) == 3
    assert st.truth["per_round"]["c"]["drift_rc"] > st.truth["per_round"]["b"]["drift_rc"] > 0
    with pytest.raises(ValueError):
        simulate_study(n_respondents=20, n_base_units=10)


def test_organisation_is_stable():
    u1, m1 = build_organisation()
    u2, m2 = build_organisation()
    pd.testing.assert_frame_equal(u1, u2)
    pd.testing.assert_frame_equal(m1, m2)
    assert u1.loc[u1.kind == "base", "unit_id"].str.fullmatch(r"[A-Z]{3}").all()
    assert u1.loc[u1.kind == "network", "unit_id"].str.startswith("N-").all()
    assert (u1.loc[u1.kind == "network", "area"] == "").all()
    assert u1.loc[u1.kind == "base", "area"].nunique() in (3, 4)


# --------------------------------------------------------------------------- the writer

def _read_csv(path: Path, delimiter=";", encoding="latin-1"):
    rows = list(csv.reader(io.StringIO(path.read_text(encoding=encoding)), delimiter=delimiter))
    return rows


def _decode(inst, codebook, units, export: pd.DataFrame):
    """Decode an export (as strings) back to canonical values with the instrument's code maps."""
    targets = units["unit_id"].tolist()
    out = {}
    for key, q in codebook["items"].items():
        item = inst.item(key)
        for m, t in enumerate(targets, start=1):
            col = export[f"{q}_{m}"]
            out[(t, key)] = col.map(
                lambda s, item=item: item.codes.get(int(s), np.nan) if s not in ("", "6") else np.nan)
    return out


def test_csv_export_round_trips(study, inst, tmp_path):
    cb = read_codebook(CODEBOOK)
    sr = study.round("2024")
    info = write_surveyxact(sr, study.units, inst, cb, tmp_path / "x", kind="csv", seed=3)
    folder = tmp_path / "x"
    assert sorted(p.name for p in folder.iterdir()) == ["dataset.csv", "labels.csv", "structure.csv"]
    data = _read_csv(folder / "dataset.csv")
    header, records = data[0], data[1:]
    targets = study.units["unit_id"].tolist()
    K = (study.units.kind == "network").sum()
    expected = (["id", "s_1"] + [f"v_2_{k}" for k in range(1, K + 1)]
                + [f"s_{q}_{m}" for q in range(3, 10) for m in range(1, len(targets) + 1)]
                + ["t_1", "b_1", "email", "navn"] + [f"stato_{s}" for s in range(1, 6)])
    assert header == expected
    assert len(records) == 450 + 5 == info["n_records"]
    # the invalid records are where the writer says
    df = pd.DataFrame(records, columns=header)
    bad = {b["kind"]: b for b in info["invalid_rows"]}
    assert set(bad) == {"unknown_unit_code", "out_of_range_code", "duplicate_id", "empty_id"}
    assert df.loc[bad["unknown_unit_code"]["source_rows"][0] - 2, "s_1"] == "99"
    oor = bad["out_of_range_code"]
    assert df.loc[oor["source_rows"][0] - 2, oor["column"]] == "7"
    assert df.loc[oor["source_rows"][0] - 2, "id"] == oor["respondent_id"]
    rows = bad["duplicate_id"]["source_rows"]
    assert len(rows) == 2 and len({df.loc[r - 2, "id"] for r in rows}) == 1
    assert (df["id"] == bad["duplicate_id"]["respondent_id"]).sum() == 2
    assert df.loc[bad["empty_id"]["source_rows"][0] - 2, "id"] == ""
    invalid = {r - 2 for b in info["invalid_rows"] for r in b["source_rows"]}
    valid = df.drop(index=sorted(invalid)).reset_index(drop=True)
    # the valid records are exactly the canonical respondents, in order
    responses, respondents = study.rounds["2024"]
    assert valid["id"].tolist() == respondents["respondent_id"].tolist()
    names = study.units.set_index("unit_id")["name"]
    labels = pd.DataFrame(_read_csv(folder / "labels.csv"), columns=["variable", "value", "label"])
    s1 = labels[labels.variable == "s_1"].set_index("value")["label"]
    assert [s1[c] for c in valid["s_1"]] == names.reindex(respondents["rater_unit"]).tolist()
    # item cells decode to the simulated scores; 6 exactly where the answer was "don't know"
    decoded = _decode(inst, cb, study.units, valid)
    cube = responses.set_index(["respondent_id", "target_unit", "item"])["value"]
    for (t, key), vals in decoded.items():
        want = cube.xs((t, key), level=("target_unit", "item")).reindex(respondents["respondent_id"])
        np.testing.assert_array_equal(vals.to_numpy(dtype=float), want.to_numpy())
    item_cols = [c for c in header if c.startswith("s_") and c.count("_") == 2]
    n_dk = (valid[item_cols] == "6").to_numpy().sum()
    assert n_dk == sr.dont_know.sum()
    assert ((valid[item_cols] == "").to_numpy().sum() == (responses["value"].isna().sum() - n_dk))
    # networks as 0/1
    for k, net in enumerate(study.units.loc[study.units.kind == "network", "unit_id"], start=1):
        assert (valid[f"v_2_{k}"] == "1").tolist() == respondents["networks"].str.split(";").map(
            lambda xs, net=net: net in xs).tolist()


def test_csv_structure_and_labels_like_surveyxact(study, inst, tmp_path):
    cb = read_codebook(CODEBOOK)
    write_surveyxact(study.round("2025"), study.units, inst, cb, tmp_path, kind="csv", seed=1)
    raw = (tmp_path / "structure.csv").read_bytes()
    text = raw.decode("latin-1")
    assert "æ" in text or "ø" in text
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == "questionName;variableName;questionType;subType;questionText;choiceValue;choiceText"
    assert all(line.endswith(";") for line in lines[1:] if line)  # SurveyXact's trailing delimiter
    rows = [r[:7] for r in csv.reader(io.StringIO(text), delimiter=";")][1:]
    st = pd.DataFrame(rows, columns=lines[0].split(";"))
    names = study.units["name"].tolist()
    s3 = st[st.questionName == "s_3"]
    assert s3["variableName"].tolist() == [f"s_3_{m}" for m in range(1, len(names) + 1)]
    assert (s3["questionType"] == "Closed").all() and (s3["subType"] == "Single").all()
    assert [q.rsplit(" - ", 1)[1] for q in s3["questionText"]] == names
    assert s3["questionText"].iloc[0].startswith(inst.item("frequent").question["da"])
    v2 = st[st.questionName == "v_2"]
    assert (v2["subType"] == "Multiple").all()
    assert v2["choiceText"].tolist() == study.units.loc[study.units.kind == "network", "name"].tolist()
    assert v2["choiceValue"].tolist() == [str(k) for k in range(1, len(v2) + 1)]
    assert set(st["variableName"]) >= {"email", "navn", "t_1", "b_1", "stato_1", "stato_5"}
    labels = pd.DataFrame(_read_csv(tmp_path / "labels.csv"), columns=["variable", "value", "label"])
    assert labels.iloc[0].tolist() == ["s_1", "1", names[0]]  # no header row
    for var in s3["variableName"]:
        lab = labels[labels.variable == var].set_index("value")["label"]
        assert lab["6"] == "Ved ikke"
        assert list(lab.index) == ["1", "2", "3", "4", "5", "6"]
    ps = labels[labels.variable == "s_6_1"].set_index("value")["label"]
    assert ps["1"] == "Løser altid sammen" and ps["5"] == "Giver altid andre skylden"  # reversed item
    assert "99" not in set(labels.loc[labels.variable == "s_1", "value"])


def test_other_csv_flavours(study, inst, tmp_path):
    cb = read_codebook(CODEBOOK)
    write_surveyxact(study.round("2024"), study.units, inst, cb, tmp_path / "tab", delimiter="\t",
                     encoding="utf-16", seed=1)
    raw = (tmp_path / "tab" / "dataset.csv").read_bytes()
    assert raw[:2] == b"\xff\xfe" and b"\r\n".decode() in raw.decode("utf-16")
    write_surveyxact(study.round("2024"), study.units, inst, cb, tmp_path / "comma", delimiter=",", seed=1)
    first = (tmp_path / "comma" / "labels.csv").read_text(encoding="latin-1").splitlines()[0]
    assert first.startswith('"s_1",1,"')


def test_xlsx_export(study, inst, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    cb = read_codebook(CODEBOOK)
    path = tmp_path / "export.xlsx"
    info = write_surveyxact(study.round("2025"), study.units, inst, cb, path, kind="xlsx", seed=2)
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames == ["Dataset", "Dataset2", "Structure", "Labels"]
    d1 = list(wb["Dataset"].iter_rows(values_only=True))
    d2 = list(wb["Dataset2"].iter_rows(values_only=True))
    assert len(d1[0]) == 60 and list(d1[0]) + list(d2[0]) == info["columns"]
    assert len(d1) == len(d2) == 1 + 450 + 5
    assert isinstance(d1[1][0], int) and isinstance(d1[1][1], int)  # numbers as numbers
    labels = list(wb["Labels"].iter_rows(values_only=True))
    assert labels[0][0] == "s_1" and labels[0][1] == 1
    structure = list(wb["Structure"].iter_rows(values_only=True))
    assert structure[0] == ("questionName", "variableName", "questionType", "subType", "questionText",
                            "choiceValue", "choiceText")
    cols = info["columns"]
    for b in info["invalid_rows"]:
        j = cols.index(b["column"])
        sheet, jj = (d1, j) if j < 60 else (d2, j - 60)
        assert b["file"] == f"export.xlsx:{'Dataset' if j < 60 else 'Dataset2'}"
        for r in b["source_rows"]:
            cell = sheet[r - 1][jj]
            assert ("" if cell is None else str(cell)) == b["value"]
    # byte-identical on a rerun (fixed document and zip timestamps)
    again = tmp_path / "again.xlsx"
    write_surveyxact(study.round("2025"), study.units, inst, cb, again, kind="xlsx", seed=2)
    assert path.read_bytes() == again.read_bytes()


def test_alias_names_and_trailing_space(study, inst, tmp_path):
    cb = read_codebook(CODEBOOK)
    write_surveyxact(study.round("2025"), study.units, inst, cb, tmp_path, seed=1,
                     names={"PPR": "Pædagogisk-psykologisk rådgivning (PPR)"}, trailing_space_choice_text=True)
    text = (tmp_path / "labels.csv").read_text(encoding="latin-1")
    assert "s_1;5;Pædagogisk-psykologisk rådgivning (PPR)" in text
    st = (tmp_path / "structure.csv").read_text(encoding="latin-1")
    assert ";1;Netværk for tidlig indsats ;" in st


def test_reader_reads_the_exports(demo):
    reader = pytest.importorskip("relcoord.readers.surveyxact")
    out, truth = demo
    for rid, path in (("2024", out / "raw" / "2024"), ("2025", out / "raw" / "2025" / "export.xlsx")):
        exp = reader.read_surveyxact(path)
        n = truth["per_round"][rid]["n_respondents"]
        assert len(exp.data) == n + 5
        assert list(exp.data.columns[:2]) == ["id", "s_1"] and "s_9_14" in exp.data.columns
        assert exp.data.columns[-1] == "stato_5"
        rows = exp.source_row.tolist()
        for b in truth["invalid_rows"][rid]:
            for r in b["source_rows"]:
                i = rows.index(r)
                assert exp.data.iloc[i][b["column"]] == b["value"]


def test_ingest_quarantines_exactly_the_invalid_rows(demo, inst):
    pytest.importorskip("relcoord.ingest")
    from relcoord.config import load_config, settings_from_config
    from relcoord.ingest import ingest_round

    out, truth = demo
    cfg = load_config(ROOT / "config" / "config.yaml")
    cfg["units"] = str(out / "config" / "units.tsv")
    cfg["memberships"] = str(out / "config" / "memberships.tsv")
    cfg["rounds"]["2024"]["export"] = str(out / "raw" / "2024")
    cfg["rounds"]["2025"]["export"] = str(out / "raw" / "2025" / "export.xlsx")
    for rid in ("2024", "2025"):
        res, _ = ingest_round(settings_from_config(cfg), rid, base=ROOT, key=b"test-key-0123456789abcdef0123456789")
        want = sorted(r for b in truth["invalid_rows"][rid] for r in b["source_rows"])
        assert sorted(res.failures.loc[res.failures.action == "quarantined", "source_row"].unique()) == want
        assert len(res.respondents) == truth["per_round"][rid]["n_respondents"]
        assert res.summary["respondents_per_unit"] == dict(sorted(truth["per_round"][rid]["n_by_unit"].items()))


# --------------------------------------------------------------------------- the demo and the CLI

def test_make_demo_writes_everything_reproducibly(demo, tmp_path):
    out, truth = demo
    raw, conf = out / "raw", out / "config"
    for p in ("2024/dataset.csv", "2024/structure.csv", "2024/labels.csv", "2025/export.xlsx", "truth.json",
              "README.md"):
        assert (raw / p).is_file(), p
    assert "synthetic" in (raw / "README.md").read_text(encoding="utf-8").lower()
    units = pd.read_csv(conf / "units.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(units.columns[:6]) == ["unit_id", "name", "kind", "area", "valid_from", "valid_to"]
    assert "Træning og Rehabilitering" in set(units["name"])
    mem = pd.read_csv(conf / "memberships.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(mem.columns) == ["network_id", "unit_id", "from_round", "to_round"]
    t = json.loads((raw / "truth.json").read_text(encoding="utf-8"))
    assert t["network_effect_rc"] == pytest.approx(truth["network_effect_rc"])
    assert set(t["invalid_rows"]) == {"2024", "2025", "2026"}
    assert t["trend_rc_per_round"] == 0.1
    # rerun with the same seed: byte-identical files
    make_demo(tmp_path / "raw", tmp_path / "config", seed=2024)
    assert _sha(tmp_path / "raw") == _sha(raw)
    assert _sha(tmp_path / "config") == _sha(conf)


def test_the_defaults_write_the_repository_demo(demo):
    """`relcoord simulate` without options (make_demo's defaults) writes data/raw/demo and the demo's
    registers byte for byte: the committed demo is what the simulator says it is."""
    out, _ = demo
    assert _sha(out / "raw") == _sha(ROOT / "data/raw/demo")
    for p in sorted((out / "config").iterdir()):
        assert p.read_bytes() == (ROOT / "config" / p.name).read_bytes(), p.name


def test_cli_canonical(tmp_path, capsys):
    rc = main_simulate(["--out", str(tmp_path / "out"), "--config-dir", str(tmp_path / "cfg"), "--seed", "3",
                        "--respondents", "200", "--units", "12", "--format", "canonical"])
    assert rc == 0
    r = pd.read_csv(tmp_path / "out" / "2025" / "responses.csv", dtype={"respondent_id": str})
    p = pd.read_csv(tmp_path / "out" / "2025" / "respondents.csv", dtype=str, keep_default_na=False)
    assert len(p) == 200 and len(r) == 200 * (12 + 4) * 7
    assert (tmp_path / "cfg" / "units.tsv").is_file() and (tmp_path / "out" / "truth.json").is_file()
    assert "planted network effect" in capsys.readouterr().out


# --------------------------------------------------------------------------- relcoord simulate: safety and options

def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _sim(tmp_path, *extra):
    return main_simulate(["--out", str(tmp_path / "raw"), "--config-dir", str(tmp_path / "cfg"), "--seed", "5",
                          "--respondents", "60", *extra])


def test_simulate_refuses_to_overwrite_without_force(tmp_path, capsys):
    from relcoord.errors import RelcoordError

    other, tmp_path = tmp_path / "other", tmp_path / "main"
    assert _sim(tmp_path) == 0
    first = _files(tmp_path)
    units = tmp_path / "cfg" / "units.tsv"
    units.write_text(units.read_text(encoding="utf-8") + "NEW\tMin nye enhed\tbase\tBy og Miljø\t\t\t\t\n",
                     encoding="utf-8")
    before = _files(tmp_path)
    with pytest.raises(RelcoordError, match="rerun with --force to replace them") as err:
        _sim(tmp_path)
    for name in ("units.tsv", "memberships.tsv", "dataset.csv", "export.xlsx", "truth.json", "README.md"):
        assert name in str(err.value)
    assert _files(tmp_path) == before  # byte-identical, nothing new
    # a config folder with only a user's units.tsv: refused, and the export folder is not even created
    (other / "cfg").mkdir(parents=True)
    (other / "cfg" / "units.tsv").write_bytes(units.read_bytes())
    with pytest.raises(RelcoordError, match="units.tsv"):
        _sim(other, "--format", "qualtrics")
    assert _files(other) == {"cfg/units.tsv": units.read_bytes()} and not (other / "raw").exists()
    # --force replaces (the same seed gives the first run's files again)
    capsys.readouterr()
    assert _sim(tmp_path, "--force") == 0
    assert _files(tmp_path) == first
    out = capsys.readouterr().out
    assert "NEW" not in units.read_text(encoding="utf-8")
    for p in ("cfg/units.tsv", "cfg/memberships.tsv", "raw/2024/dataset.csv", "raw/2025/export.xlsx"):
        assert str(tmp_path / p) in out or p in out


def test_make_demo_refuses_without_force(tmp_path):
    from relcoord.errors import RelcoordError

    make_demo(tmp_path / "raw", tmp_path / "cfg", seed=3, n_respondents=60, fmt="canonical")
    before = _files(tmp_path)
    with pytest.raises(RelcoordError, match="--force"):
        make_demo(tmp_path / "raw", tmp_path / "cfg", seed=4, n_respondents=60, fmt="canonical")
    assert _files(tmp_path) == before
    make_demo(tmp_path / "raw", tmp_path / "cfg", seed=4, n_respondents=60, fmt="canonical", force=True)
    assert _files(tmp_path) != before


def test_simulate_one_round(tmp_path, capsys):
    assert _sim(tmp_path, "--rounds", "2026") == 0
    assert sorted(p.name for p in (tmp_path / "raw").iterdir() if p.is_dir()) == ["2026"]
    assert {p.name for p in (tmp_path / "raw" / "2026").iterdir()} == {"dataset.csv", "structure.csv", "labels.csv"}
    t = json.loads((tmp_path / "raw" / "truth.json").read_text(encoding="utf-8"))
    assert t["rounds"] == ["2026"] and set(t["invalid_rows"]) == {"2026"}
    assert "one round only" in (tmp_path / "raw" / "README.md").read_text(encoding="utf-8")
    out = capsys.readouterr().out
    assert '"2026":' in out and "format: surveyxact" in out
    assert f"export: {(tmp_path / 'raw' / '2026').as_posix()}" in out
    mem = pd.read_csv(tmp_path / "cfg" / "memberships.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert set(mem["from_round"]) <= {""} and set(mem["to_round"]) <= {""}


def test_simulate_three_rounds_generic(tmp_path, capsys):
    assert _sim(tmp_path, "--rounds", "2024", "2025", "2026", "--format", "generic") == 0
    for rid in ("2024", "2025", "2026"):
        assert (tmp_path / "raw" / rid / "export.csv").is_file()
    assert (tmp_path / "cfg" / "codebooks" / "generic-csv.yaml").is_file()
    t = json.loads((tmp_path / "raw" / "truth.json").read_text(encoding="utf-8"))
    assert (t["baseline"], t["followup"]) == ("2024", "2026") and t["network_effect_rc"] > 0
    out = capsys.readouterr().out
    assert out.count("format: generic") == 3 and "planted network effect" in out
    assert f"codebook: {(tmp_path / 'cfg' / 'codebooks' / 'generic-csv.yaml').as_posix()}" in out


def test_simulate_surveyxact_workbook(tmp_path):
    import openpyxl

    assert _sim(tmp_path, "--format", "surveyxact", "--file-type", "xlsx") == 0
    for rid in ("2024", "2025"):
        files = {p.name for p in (tmp_path / "raw" / rid).iterdir()}
        assert files == {"export.xlsx"}
        assert "Dataset" in openpyxl.load_workbook(tmp_path / "raw" / rid / "export.xlsx", read_only=True).sheetnames
    assert not (tmp_path / "cfg" / "codebooks").exists()
    # --format surveyxact alone: the CSV trio in every round, without the demo's quirks
    assert _sim(tmp_path / "b", "--format", "surveyxact") == 0
    for rid in ("2024", "2025"):
        assert (tmp_path / "b" / "raw" / rid / "dataset.csv").is_file()
    assert json.loads((tmp_path / "b" / "raw" / "truth.json").read_text(encoding="utf-8"))["export_quirks"] == []


@pytest.mark.parametrize("old", ["csv", "xlsx", "generic-csv", "generic-xlsx"])
def test_simulate_rejects_the_old_format_names(tmp_path, capsys, old):
    with pytest.raises(SystemExit) as err:
        _sim(tmp_path, "--format", old)
    assert err.value.code == 2
    msg = capsys.readouterr().err
    assert "invalid choice" in msg and "surveyxact" in msg and "generic" in msg
    assert not (tmp_path / "raw").exists()


def test_simulate_option_combinations_checked(tmp_path):
    from relcoord.errors import RelcoordError

    with pytest.raises(RelcoordError, match="--file-type"):
        _sim(tmp_path, "--format", "spss", "--file-type", "csv")
    with pytest.raises(RelcoordError, match="distinct"):
        _sim(tmp_path, "--rounds", "2024", "2024")
    assert not tmp_path.joinpath("raw").exists() and not tmp_path.joinpath("cfg").exists()


def test_simulate_with_another_instrument(tmp_path, capsys):
    """--instrument: the same answers written with another code -> score coding (timely reversed)."""
    doc = yaml.safe_load(INSTRUMENT.read_text(encoding="utf-8"))
    item = next(i for i in doc["items"] if i["key"] == "timely")
    item["codes"] = {c: 6 - c for c in range(1, 6)}
    alt = tmp_path / "instrument.yaml"
    alt.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert _sim(tmp_path / "a", "--format", "surveyxact") == 0
    assert _sim(tmp_path / "b", "--format", "surveyxact", "--instrument", str(alt)) == 0
    assert f"instrument: {alt.as_posix()}" in capsys.readouterr().out

    def read(folder):
        return pd.read_csv(folder / "raw" / "2024" / "dataset.csv", sep=";", encoding="latin-1", dtype=str,
                           keep_default_na=False)

    a, b = read(tmp_path / "a"), read(tmp_path / "b")
    timely = [c for c in a.columns if c.startswith("s_4_")]
    other = [c for c in a.columns if c.startswith("s_5_")]
    assert timely and other and (a[other] == b[other]).all().all()
    x, y = a[timely].to_numpy().ravel(), b[timely].to_numpy().ravel()
    valid = np.isin(x, ["1", "2", "3", "4", "5"])
    assert valid.sum() > 100
    assert (y[valid].astype(int) == 6 - x[valid].astype(int)).all()


def test_simulate_surveyxact_per_target_in_english(tmp_path, capsys):
    """--layout per_target --language en: an export per round and the codebook that reads it."""
    from relcoord.config import load_config, settings_from_config
    from relcoord.errors import RelcoordError
    from relcoord.ingest import ingest_round

    assert _sim(tmp_path, "--layout", "per_target", "--language", "en", "--rounds", "2026",
                "--format", "surveyxact") == 0
    book = tmp_path / "cfg" / "codebooks" / "surveyxact-per_target.yaml"
    out = capsys.readouterr().out
    assert f"codebook: {book.as_posix()}" in out and f"  {book.as_posix()}\n" in out.split("config lines")[0]
    assert yaml.safe_load(book.read_text(encoding="utf-8"))["items"]["layout"] == "per_target"
    structure = (tmp_path / "raw" / "2026" / "structure.csv").read_text(encoding="latin-1")
    assert "How frequently do people" in structure
    cfg = load_config(ROOT / "config" / "config.yaml")
    cfg["units"] = str(tmp_path / "cfg" / "units.tsv")
    cfg["memberships"] = str(tmp_path / "cfg" / "memberships.tsv")
    cfg["rounds"] = {"2026": {**cfg["rounds"]["2024"], "export": str(tmp_path / "raw" / "2026"),
                              "codebook": str(book)}}
    cfg["comparisons"] = []
    truth = json.loads((tmp_path / "raw" / "truth.json").read_text(encoding="utf-8"))
    res, _ = ingest_round(settings_from_config(cfg), "2026", base=ROOT, key=b"test-key-0123456789abcdef0123456789")
    assert len(res.respondents) == truth["per_round"]["2026"]["n_respondents"]
    # the codebook is one more file the refusal protects
    book.write_text("mine\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="surveyxact-per_target.yaml"):
        _sim(tmp_path, "--layout", "per_target", "--rounds", "2026")
    assert book.read_text(encoding="utf-8") == "mine\n"
    with pytest.raises(RelcoordError, match="SurveyXact exports only"):
        _sim(tmp_path / "x", "--format", "canonical", "--language", "en")
