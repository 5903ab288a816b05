"""Every export format round-trips: one simulated round written in every format
(relcoord.writers) and ingested from config alone gives identical canonical
tables -- the same pseudonymised ids, units, networks, values and "don't know"
marks -- equal to the simulated truth."""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from relcoord.codebook import codebook_from_dict, load_codebook
from relcoord.config import load_settings
from relcoord.ingest import ingest_round
from relcoord.instrument import load_instrument
from relcoord.pseudonymise import pseudonymise
from relcoord.simulate import simulate_study
from relcoord.writers.canonical import write_canonical
from relcoord.writers.generic import write_generic
from relcoord.writers.limesurvey import write_limesurvey
from relcoord.writers.qualtrics import write_qualtrics
from relcoord.writers.spss import write_spss
from relcoord.writers.surveyxact import read_codebook, write_surveyxact

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = ROOT / "config" / "instrument.yaml"
KEY = b"round-trip-key-0123456789abcdef"
CORE = ["respondent_id", "rater_unit", "networks", "n_valid_answers"]


def _surveyxact(kind):
    def write(rnd, units, inst, folder):
        path = folder / ("export.xlsx" if kind == "xlsx" else "trio")
        write_surveyxact(rnd, units, inst, ROOT / "config" / "codebooks" / "demo.yaml", path, kind=kind,
                         invalid_rows=False, delimiter=";", encoding="latin-1", max_columns=40)
        return {"files": [str(path)], "codebook": read_codebook(ROOT / "config" / "codebooks" / "demo.yaml"),
                "reader": {}}
    return write


WRITERS = {
    # name: (config format, writer(rnd, units, inst, folder) -> info, background as written: text | code)
    "surveyxact-csv": ("surveyxact", _surveyxact("csv"), "code"),
    "surveyxact-xlsx": ("surveyxact", _surveyxact("xlsx"), "code"),
    "qualtrics-text": ("qualtrics", lambda r, u, i, f: write_qualtrics(r, u, i, f / "q.csv"), "text"),
    "qualtrics-codes": ("qualtrics", lambda r, u, i, f: write_qualtrics(r, u, i, f / "q.csv", answers="codes"), "code"),
    "qualtrics-legacy": ("qualtrics", lambda r, u, i, f: write_qualtrics(r, u, i, f / "q.csv", legacy=True), "text"),
    "limesurvey-codes": ("limesurvey", lambda r, u, i, f: write_limesurvey(r, u, i, f / "l.csv"), "A-code"),
    "limesurvey-text": ("limesurvey", lambda r, u, i, f: write_limesurvey(r, u, i, f / "l.csv", answers="text",
                                                                          headings="code_text", delimiter=","), "text"),
    "limesurvey-spss-names": ("limesurvey", lambda r, u, i, f: write_limesurvey(r, u, i, f / "l.csv",
                                                                                spss_names=True), "A-code"),
    "spss": ("spss", lambda r, u, i, f: write_spss(r, u, i, f / "s.sav"), "code"),
    "generic-csv": ("generic", lambda r, u, i, f: write_generic(r, u, i, f / "g.csv"), "text"),
    "generic-csv-utf8": ("generic", lambda r, u, i, f: write_generic(r, u, i, f / "g.csv", delimiter=",",
                                                                     encoding="utf-8-sig", decimal_comma=False,
                                                                     naming="question", lineterminator="\n"), "text"),
    "generic-xlsx": ("generic", lambda r, u, i, f: write_generic(r, u, i, f / "g.xlsx", kind="xlsx",
                                                                 naming="question"), "text"),
    "canonical": ("canonical", lambda r, u, i, f: write_canonical(r, u, i, f / "canon"), "text"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("roundtrip")
    inst = load_instrument(INSTRUMENT)
    study = simulate_study(seed=17, n_respondents=70, instrument=inst, dont_know_rate=0.06, missing_rate=0.05)
    study.units.to_csv(tmp / "units.tsv", sep="\t", index=False)
    study.memberships.to_csv(tmp / "memberships.tsv", sep="\t", index=False)
    rnd = study.round("2025")
    results = {}
    for name, (fmt, write, _) in WRITERS.items():
        folder = tmp / name
        folder.mkdir()
        info = write(rnd, study.units, inst, folder)
        (folder / "codebook.yaml").write_text(yaml.safe_dump(info["codebook"], allow_unicode=True), encoding="utf-8")
        export = Path(info["files"][0])
        if fmt == "canonical":
            export = export.parent
        cfg = {"units": str(tmp / "units.tsv"), "memberships": str(tmp / "memberships.tsv"),
               "instrument": str(INSTRUMENT),
               "rounds": {"2024": {"date": "2024-03-01", "format": "surveyxact", "export": "unused",
                                   "codebook": "unused"},
                          "2025": {"date": "2025-03-01", "format": fmt, "export": str(export),
                                   "codebook": str(folder / "codebook.yaml"), "reader": info.get("reader") or {}}}}
        (folder / "config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        result, _ = ingest_round(load_settings(folder / "config.yaml"), "2025", key=KEY)
        results[name] = result
    return study, rnd, results


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_gives_the_simulated_round(world, name):
    study, rnd, results = world
    res = results[name]
    s = res.summary
    assert s["records_in"] == s["valid"] == len(rnd.respondents), (name, s["failures_by_rule"])
    assert res.failures.empty or set(res.failures["action"]) == {"warned"}, res.failures.head()
    ref = results["surveyxact-csv"]
    pd.testing.assert_frame_equal(res.responses, ref.responses, obj=f"{name} responses")
    pd.testing.assert_frame_equal(res.respondents[CORE].reset_index(drop=True),
                                  ref.respondents[CORE].reset_index(drop=True), obj=f"{name} respondents")
    pd.testing.assert_frame_equal(res.failures.drop(columns=["source_file", "source_row", "column"]),
                                  ref.failures.drop(columns=["source_file", "source_row", "column"]),
                                  obj=f"{name} warnings")


def test_the_reference_equals_the_simulated_truth(world):
    study, rnd, results = world
    res = results["surveyxact-csv"]
    sim_r, sim_p = rnd.responses, rnd.respondents
    ids = pseudonymise(sim_p["respondent_id"].astype(str), KEY)
    assert list(res.respondents["respondent_id"]) == list(ids)
    assert list(res.respondents["rater_unit"]) == list(sim_p["rater_unit"])
    assert list(res.respondents["networks"]) == list(sim_p["networks"].fillna(""))
    got = res.responses.assign(respondent_id=res.responses["respondent_id"].astype(str))
    want = sim_r.assign(respondent_id=pseudonymise(sim_r["respondent_id"].astype(str), KEY))
    key = ["respondent_id", "target_unit", "item"]
    m = want.merge(got.astype({"target_unit": str, "item": str}), on=key, how="outer", suffixes=("_sim", ""),
                   indicator=True)
    assert (m["_merge"] == "both").all()
    np.testing.assert_array_equal(m["value_sim"].to_numpy(), m["value"].to_numpy())
    dk = pd.Series(rnd.dont_know, index=sim_r.index)
    want_dk = want.assign(dk=dk.to_numpy() & sim_r["value"].isna().to_numpy())[key + ["dk"]]
    m2 = want_dk.merge(got.astype({"target_unit": str, "item": str}), on=key)
    assert ((m2["answer"] == "dont_know") == m2["dk"]).all()
    assert m2["dk"].sum() > 0 and (m2["answer"] == "blank").sum() > 0


@pytest.mark.parametrize("name", list(WRITERS))
def test_background_is_carried_as_written(world, name):
    study, rnd, results = world
    res = results[name]
    fmt_bg = WRITERS[name][2]
    col = [c for c in res.respondents.columns if c not in CORE + ["source_row"]]
    assert len(col) == 1
    got = list(res.respondents[col[0]])
    roles = list(rnd.respondents["role"])
    if fmt_bg == "text":
        assert got == roles
    else:
        cats = ["Leder", "Medarbejder", "Andet"]
        cats = [c for c in cats if c in set(roles)]
        prefix = "A" if fmt_bg == "A-code" else ""
        assert got == [f"{prefix}{cats.index(r) + 1}" for r in roles]


def test_failures_name_the_row_of_each_format(world, tmp_path):
    """A value problem is reported at the row a user sees in that format."""
    study, rnd, _ = world
    inst = load_instrument(INSTRUMENT)
    info = write_qualtrics(rnd, study.units, inst, tmp_path / "q.csv")
    with open(tmp_path / "q.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("Q3_2")
    rows[3][col] = "Tilpaz"     # the first record: row 4 as a spreadsheet user counts
    rows[6][col] = "7"          # a code where texts are expected, not in the item's codes: out of range
    with open(tmp_path / "q.csv", "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    (tmp_path / "cb.yaml").write_text(yaml.safe_dump(info["codebook"], allow_unicode=True), encoding="utf-8")
    units = tmp_path / "units.tsv"
    study.units.to_csv(units, sep="\t", index=False)
    study.memberships.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    cfg = {"units": str(units), "memberships": str(tmp_path / "m.tsv"), "instrument": str(INSTRUMENT),
           "rounds": {"2024": {"date": "2024-03-01", "format": "surveyxact", "export": "-", "codebook": "-"},
                      "2025": {"date": "2025-03-01", "format": "qualtrics", "export": str(tmp_path / "q.csv"),
                               "codebook": str(tmp_path / "cb.yaml")}},
           "validation": {"max_quarantined_fraction": 1.0}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    res, _ = ingest_round(load_settings(tmp_path / "c.yaml"), "2025", key=KEY)
    q = res.failures[res.failures["action"] == "quarantined"]
    assert list(zip(q["source_row"], q["column"], q["value"], q["rule"])) == [
        (4, "Q3_2", "Tilpaz", "not_a_code"), (7, "Q3_2", "7", "code_out_of_range")]
    assert res.summary["accounting_ok"]


@pytest.mark.parametrize("fmt", ["qualtrics", "limesurvey", "generic", "canonical"])
def test_shipped_example_codebooks_read_the_writers_exports(fmt):
    """config/codebooks/<fmt>.yaml (documented in config/README.md) is exactly what the writer emits."""
    from relcoord.writers.canonical import canonical_codebook
    from relcoord.writers.generic import generic_codebook
    from relcoord.writers.limesurvey import limesurvey_codebook
    from relcoord.writers.qualtrics import qualtrics_codebook
    make = {"qualtrics": qualtrics_codebook, "limesurvey": limesurvey_codebook, "generic": generic_codebook,
            "canonical": canonical_codebook}[fmt]
    units = pd.read_csv(ROOT / "config" / "units.tsv", sep="\t", dtype=str, keep_default_na=False)
    shipped = asdict(load_codebook(ROOT / "config" / "codebooks" / f"{fmt}.yaml")) | {"source": ""}
    made = asdict(codebook_from_dict(make(units, INSTRUMENT))) | {"source": ""}
    assert shipped == made
