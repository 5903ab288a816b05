"""relcoord.consortium (simulated consortia), relcoord.benchmark_config (benchmark.yaml),
relcoord.rule_values (per-study rule values) and, slow, the consortium workflow end to end."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from relcoord.benchmark import POOL_COLUMNS, POSITION_COLUMNS
from relcoord.benchmark_config import benchmark_from_config, load_benchmark, organisation_settings
from relcoord.config import load_settings
from relcoord.consortium import make_consortium, organisation_plan
from relcoord.errors import RelcoordError
from relcoord.rule_values import score_values, validate_values

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def test_plan_is_deterministic_and_varied():
    a, b = organisation_plan(40, 5000, seed=7), organisation_plan(40, 5000, seed=7)
    assert a == b and a != organisation_plan(40, 5000, seed=8)
    sizes = [o["respondents"] for o in a]
    assert min(sizes) >= 2500 and max(sizes) <= 7500 and len(set(sizes)) > 30
    assert {o["base_units"] for o in a} <= set(range(6, 31)) and len({o["base_units"] for o in a}) > 10
    assert {o["networks"] for o in a} <= set(range(2, 7))
    assert len({o["effects"]["grand_mean"] for o in a}) == 40
    assert [o["id"] for o in a[:2]] == ["org001", "org002"]


def test_consortium_members_are_complete_studies(tmp_path):
    res = make_consortium(tmp_path / "c", 3, 200, seed=1, rounds=("2024", "2025"))
    bench = load_benchmark(res["benchmark"])
    assert list(bench.organisations) == ["org001", "org002", "org003"]
    assert bench.min_organisations == 5 and bench.period == "year"
    settings = organisation_settings(bench, tmp_path / "c")
    for org, s in settings.items():
        study = tmp_path / "c" / bench.organisations[org]
        for path in (s.units, s.memberships, s.instrument, *(r.codebook for r in s.rounds.values())):
            assert (study / path).is_file()
        assert list(s.rounds) == ["2024", "2025"] and s.comparisons[0].id == "2024_vs_2025"
        assert (study / "data" / "raw" / "2025" / "dataset.csv").is_file()
    with pytest.raises(RelcoordError, match="written nothing"):
        make_consortium(tmp_path / "c", 3, 200, seed=1)


@pytest.mark.parametrize("cfg,problem", [
    ({"organisations": {"a": "x"}, "min_organisations": 2}, "min_organisations"),
    ({"organisations": {"a": "x"}, "period": "month"}, "period"),
    ({"organisations": {"a": "x"}, "colour": 1}, "colour"),
    ({"organisations": {}}, "organisations"),
    ({"organisations": {"a/b": "x"}}, "organisations"),
    ({"organisations": {"a": "x", "b": "x/"}}, "same study folder"),
])
def test_benchmark_config_is_checked(cfg, problem):
    with pytest.raises(RelcoordError, match=problem):
        benchmark_from_config(cfg)


def test_benchmark_config_defaults():
    b = benchmark_from_config({"organisations": {"a": "orgs/a"}})
    assert (b.min_organisations, b.period) == (5, "year")


def test_the_single_study_workflow_takes_its_rule_values_from_the_library():
    """validate_round's and score_round's values come from relcoord.rule_values in both workflows."""
    text = (ROOT / "workflow" / "rules" / "common.smk").read_text(encoding="utf-8")
    assert "return rule_values.validate_values(SETTINGS, round_id)" in text
    assert "return rule_values.score_values(SETTINGS, round_id)" in text
    settings = load_settings(ROOT / "config" / "config.yaml")
    v = validate_values(settings, "2025")
    assert v["round_order"] == ["2024", "2025", "2026"] and v["weighting"] == {"low_response_ratio": 0.5}
    assert score_values(settings, "2025")["seed"] == settings.seed


# --------------------------------------------------------------------------- the workflow, end to end


def type7(values, p):
    xs = sorted(values)
    h = (len(xs) - 1) * p
    lo = int(np.floor(h))
    return xs[lo] if lo + 1 >= len(xs) else xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


@pytest.fixture(scope="module")
def consortium_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("consortium")
    make_consortium(work, 6, 250, seed=11)
    cmd = [SNAKEMAKE, "-s", str(ROOT / "workflow" / "consortium" / "Snakefile"), "--directory", str(work),
           "--cores", "2", "--profile", str(ROOT / "workflow" / "profiles" / "local")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work


@pytest.mark.slow
def test_the_pool_equals_an_independent_computation(consortium_run):
    work = consortium_run
    pool = pd.read_csv(work / "results" / "benchmark" / "pool.csv", dtype={"period": str, "block": str})
    assert list(pool.columns) == POOL_COLUMNS
    orgs = yaml.safe_load((work / "benchmark.yaml").read_text())["organisations"]
    assert not any(o in (work / "results" / "benchmark" / "pool.csv").read_text() for o in orgs)
    rc = []
    for org in orgs:   # independently: each organisation's published index, read as a reader would
        o = pd.read_csv(work / "results" / "orgs" / org / "2025" / "scores" / "organisation.csv")
        row = o[(o["measure"] == "rc") & ~o["suppressed"].astype(bool) & (o["n"] >= 5)]
        rc += row["mean"].tolist()
    got = pool[(pool["level"] == "organisation") & (pool["measure"] == "rc")].iloc[0]
    assert got["n_organisations"] == len(rc) == 6 and not got["suppressed"]
    for c, p in (("p10", .1), ("p25", .25), ("p50", .5), ("p75", .75), ("p90", .9)):
        assert got[c] == pytest.approx(type7(rc, p), abs=1e-9)
    for org in orgs:
        pos = pd.read_csv(work / "results" / "benchmark" / "organisations" / f"{org}.csv")
        assert list(pos.columns) == POSITION_COLUMNS and len(pos)
        assert (work / "results" / "benchmark" / "organisations" / f"{org}.html").is_file()


@pytest.mark.slow
def test_each_organisation_runs_as_its_own_jobs_and_the_pool_reads_no_respondent_file(consortium_run):
    cmd = [SNAKEMAKE, "-s", str(ROOT / "workflow" / "consortium" / "Snakefile"), "--directory", str(consortium_run),
           "-n", "--forceall", "--quiet", "rules"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M))
    assert counts.get("validate_round") == "6" and counts.get("score_round") == "6"
    assert counts.get("benchmark_pool") == "1"
    full = subprocess.run([*cmd[:-2]], capture_output=True, text=True, timeout=300)
    block = full.stdout.split("rule benchmark_pool:", 1)[1]
    inputs = re.search(r"^\s+input: (.*)$", block, flags=re.M).group(1).split(", ")
    assert len(inputs) == 18
    assert all(re.fullmatch(r"results/orgs/org\d{3}/2025/scores/(organisation|blocks|units)\.csv", i) for i in inputs)


def test_relcoord_simulate_consortium_command(tmp_path, capsys):
    from relcoord.cli import main

    assert main(["simulate", "--consortium", "5", "--respondents", "150", "--out", str(tmp_path / "c"),
                 "--seed", "3"]) == 0
    assert "5 organisations" in capsys.readouterr().out
    assert len(load_benchmark(tmp_path / "c" / "benchmark.yaml").organisations) == 5
    assert main(["simulate", "--consortium", "5", "--respondents", "150"]) != 0   # --out is required


def test_published_mode_pools_each_studys_own_tables_without_exports(tmp_path):
    """``scores: published``: every organisation ran its own study; only its three published tables
    exist (no export, no respondent file), and the pool is computed from them."""
    rc, orgs = [3.31, 3.52, 3.47, 3.9, 3.66, 3.58], {}
    for i, value in enumerate(rc):
        study = tmp_path / "studies" / f"k{i}"
        (study / "config").mkdir(parents=True)
        (study / "config" / "config.yaml").write_text(yaml.safe_dump({"rounds": {"r1": {
            "date": "2024-10-01", "format": "surveyxact", "export": "gone", "codebook": "gone.yaml"}},
            "report": {"language": "en"}}))
        scores = study / "results" / "r1" / "scores"
        scores.mkdir(parents=True)
        pd.DataFrame({"measure": ["rc", "communication", "relationship"], "mean": [value, value - .1, value + .1],
                      "n": 200, "suppressed": False}).to_csv(scores / "organisation.csv", index=False)
        pd.DataFrame({"block": ["within_base"], "rc_mean": [value + .3], "communication": [value + .2],
                      "relationship": [value + .4], "n_respondents": [150], "suppressed": [i == 0]}
                     ).to_csv(scores / "blocks.csv", index=False)
        pd.DataFrame({"unit_id": ["A", "B"], "kind": "base", "within_rc": [value, value + .2], "within_n": [40, 3],
                      "within_suppressed": False}).to_csv(scores / "units.csv", index=False)
        orgs[f"k{i}"] = f"studies/k{i}"
    (tmp_path / "benchmark.yaml").write_text(yaml.safe_dump({"organisations": orgs, "scores": "published"}))
    cmd = [SNAKEMAKE, "-s", str(ROOT / "workflow" / "consortium" / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pool = pd.read_csv(tmp_path / "results" / "benchmark" / "pool.csv", dtype={"period": str, "block": str})
    org = pool[(pool["level"] == "organisation") & (pool["measure"] == "rc")].iloc[0]
    assert org["period"] == "2024" and org["n_organisations"] == 6
    assert org["p50"] == pytest.approx(type7(rc, .5)) and org["p90"] == pytest.approx(type7(rc, .9))
    block = pool[(pool["level"] == "block") & (pool["measure"] == "rc")].iloc[0]
    assert block["n_organisations"] == 5                        # k0 hides its block: it stays out
    assert block["p25"] == pytest.approx(type7([v + .3 for v in rc[1:]], .25))
    unit = pool[pool["level"] == "unit_within"].iloc[0]
    assert unit["n_units"] == 6                                  # the units of 3 respondents stay out
    assert not (tmp_path / "results" / "orgs").exists()
    page = (tmp_path / "results" / "benchmark" / "organisations" / "k3.html").read_text()
    assert "Your RC index is at the 100th percentile among 6 organisations." in page


def _rule_outputs(path, rule):
    """The named outputs of ``rule`` in a .smk file (its `output:` block's `name=` keys)."""
    text = path.read_text(encoding="utf-8")
    block = re.search(rf"^rule {rule}:\n(.*?)(?=^rule |\Z)", text, flags=re.S | re.M).group(1)
    out = re.search(r"^    output:\n((?:        .*\n)+)", block, flags=re.M).group(1)
    return set(re.findall(r"^        (\w+)=", out, flags=re.M))


@pytest.mark.parametrize("rule, single", [("validate_round", "validate.smk"), ("score_round", "score.smk")])
def test_the_consortium_rules_write_what_the_single_study_rules_write(rule, single):
    """The consortium's copies of validate_round and score_round run the same scripts: they must name
    the same outputs (a script writes every output it is given)."""
    ours = _rule_outputs(ROOT / "workflow/consortium/rules/organisations.smk", rule)
    theirs = _rule_outputs(ROOT / "workflow/rules" / single, rule)
    assert ours == theirs and len(ours) >= 5
