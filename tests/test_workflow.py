"""End to end: the workflow on the demo data, from a copy of the project.

One demo run per test session (module fixture); error cases run Snakemake
only as far as the failing step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
pytestmark = pytest.mark.slow


def project_copy(dest: Path) -> Path:
    for name in ("config", "data"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "RELCOORD_SECRET": os.environ.get("RELCOORD_SECRET", "test-secret-0123456789abcdef")}
    return subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2",
                           "--configfile", str(workdir / "config" / "config.yaml"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    work = project_copy(tmp_path_factory.mktemp("demo"))
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


def test_validated_tables_and_failures_for_both_rounds(demo_run):
    truth = json.loads((demo_run / "data/raw/demo/truth.json").read_text(encoding="utf-8"))
    for rnd in ("2024", "2025"):
        res = demo_run / "results" / rnd
        responses = pd.read_parquet(res / "validated/responses.parquet")
        assert list(responses.columns)[:5] == ["respondent_id", "rater_unit", "target_unit", "item", "value"]
        assert responses["value"].dtype == float
        respondents = pd.read_parquet(res / "validated/respondents.parquet")
        assert {"respondent_id", "rater_unit", "networks"} <= set(respondents.columns)
        failures = pd.read_csv(res / "validation/failures.csv", dtype=str, keep_default_na=False)
        assert list(failures.columns) == ["source_file", "source_row", "column", "value", "rule", "message", "action"]
        summary = json.loads((res / "validation/summary.json").read_text(encoding="utf-8"))
        assert summary["records_in"] == summary["valid"] + summary["quarantined"]
        assert summary["valid"] == respondents.shape[0]
        assert all(len(f["sha256"]) == 64 for f in summary["files"])
        # every planted invalid row is listed at its source row with the expected rule
        rule = {"unknown_unit_code": "unknown_unit", "out_of_range_code": "code_out_of_range",
                "empty_id": "missing_respondent_id", "duplicate_id": "duplicate_respondent_id"}
        quarantined = failures[failures["action"] == "quarantined"]
        for p in truth["invalid_rows"][rnd]:
            for row in p["source_rows"]:
                hit = quarantined[(quarantined["source_row"] == str(row)) & (quarantined["rule"] == rule[p["kind"]])
                                  & (quarantined["column"] == p["column"])]
                assert len(hit) == 1, (rnd, p, quarantined)
                assert hit["source_file"].iat[0].endswith(p["file"])
        assert len(quarantined) == sum(len(p["source_rows"]) for p in truth["invalid_rows"][rnd])
        assert (res / "validation/report.html").stat().st_size > 500


def test_raw_ids_never_reach_results(demo_run):
    raw = pd.read_csv(demo_run / "data/raw/demo/2024/dataset.csv", sep=";", encoding="latin-1", dtype=str)
    ids = set(raw["id"].dropna()) - {""}
    text = b"".join(p.read_bytes() for p in (demo_run / "results").rglob("*") if p.is_file())
    found = [i for i in ids if i.encode() in text]
    assert not found, found[:5]


def test_rerun_is_a_noop(demo_run):
    proc = snakemake(demo_run, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_lint_is_clean():
    proc = subprocess.run([SNAKEMAKE, "--lint", "-s", str(ROOT / "Snakefile"), "-d", str(ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _error_run(tmp_path, edit) -> str:
    work = project_copy(tmp_path)
    edit(work)
    proc = snakemake(work)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-3000:]
    return out


def test_config_typo_stops_naming_the_key(tmp_path):
    def edit(work):
        p = work / "config/config.yaml"
        p.write_text(p.read_text(encoding="utf-8").replace("min_group_size:", "min_grup_size:"), encoding="utf-8")
    out = _error_run(tmp_path, edit)
    assert "min_grup_size" in out


def test_unknown_unit_kind_stops_naming_it(tmp_path):
    def edit(work):
        p = work / "config/units.tsv"
        lines = p.read_text(encoding="utf-8").splitlines()
        lines[1] = lines[1].replace("\tbase\t", "\tafdeling\t")
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _error_run(tmp_path, edit)
    assert "afdeling" in out and "units.tsv" in out and "row 2" in out


def test_comparison_naming_unknown_round_stops(tmp_path):
    def edit(work):
        p = work / "config/config.yaml"
        cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
        cfg["comparisons"] = [{"baseline": "2024", "followup": "2030"}]
        p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    out = _error_run(tmp_path, edit)
    assert "'2030' is not configured" in out


def test_export_missing_a_mapped_variable_stops_naming_it(tmp_path):
    def edit(work):
        p = work / "data/raw/demo/2024/dataset.csv"
        df = pd.read_csv(p, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
        df.drop(columns=["s_5_3"]).to_csv(p, sep=";", encoding="latin-1", index=False)
    out = _error_run(tmp_path, edit)
    assert "s_5_3" in out and "dataset.csv" in out


def test_scores_for_both_rounds_with_contract_columns(demo_run):
    contract = {
        "ties.csv": ["rater_unit", "target_unit", "rater_kind", "target_kind", "n", "rc_mean", "rc_sd", "ci_low",
                     "ci_high", "communication", "relationship", "frequent", "timely", "accurate",
                     "problem_solving", "shared_goals", "shared_knowledge", "mutual_respect", "band", "suppressed"],
        "reliability.csv": ["scope", "measure", "value", "ci_low", "ci_high", "n"],
        "agreement.csv": ["rater_unit", "target_unit", "n", "rwg_j"],
        "units.csv": ["unit_id"], "blocks.csv": ["block"], "organisation.csv": ["measure"],
    }
    for rnd in ("2024", "2025"):
        for name, cols in contract.items():
            df = pd.read_csv(demo_run / "results" / rnd / "scores" / name)
            assert set(cols) <= set(df.columns), (rnd, name)
        ties = pd.read_csv(demo_run / "results" / rnd / "scores" / "ties.csv")
        # the demo's small unit (BYG, < 5 respondents) is suppressed, never shown
        byg = ties[ties["rater_unit"] == "BYG"]
        assert len(byg) and byg["suppressed"].all() and byg["rc_mean"].isna().all() and byg["n"].isna().all()
        visible = ties[~ties["suppressed"]]
        assert (visible["n"] >= 5).all() and visible["rc_mean"].between(1, 5).all()
        assert set(ties["rater_kind"]) == {"base", "network"}


def test_comparison_recovers_the_planted_network_effect(demo_run):
    truth = json.loads((demo_run / "data/raw/demo/truth.json").read_text(encoding="utf-8"))
    out = demo_run / "results/comparisons/2024_vs_2025"
    changes = pd.read_csv(out / "changes.csv")
    assert ["level", "rater_unit", "target_unit", "measure", "n_a", "n_b", "mean_a", "mean_b", "diff", "hedges_g",
            "g_ci_low", "g_ci_high", "statistic", "p", "p_fdr", "test"] == list(changes.columns[:16])
    visible = changes[~changes["suppressed"]]
    assert (visible[["n_a", "n_b"]] >= 5).all().all()
    model = pd.read_csv(out / "model.csv")
    assert ["model", "term", "estimate", "se", "ci_low", "ci_high", "p"] == list(model.columns[:7])
    did = model[(model["model"] == "network_did") & (model["term"] == "round:shares_network")].iloc[0]
    assert did["ci_low"] <= truth["network_effect_rc"] <= did["ci_high"]


def test_reports_and_index_are_produced(demo_run):
    res = demo_run / "results"
    for page in ("2024/report.html", "2025/report.html", "comparisons/2024_vs_2025/report.html"):
        html = (res / page).read_text(encoding="utf-8")
        assert html.count("data:image/png;base64,") >= 3, page
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html, page
    index = (res / "index.html").read_text(encoding="utf-8")
    for href in ("2024/report.html", "2025/report.html", "comparisons/2024_vs_2025/report.html"):
        assert href in index
    for stem in ("rc_matrix", "rc_map", "dimension_profile", "item_distributions", "response_overview"):
        assert (res / "2024/figures" / f"{stem}.png").stat().st_size > 1000
        assert (res / "2024/figures" / f"{stem}.svg").stat().st_size > 1000
    for stem in ("forest_changes", "tie_dumbbell", "network_effect"):
        assert (res / "comparisons/2024_vs_2025/figures" / f"{stem}.png").stat().st_size > 1000


def test_snakemake_report_renders(demo_run):
    proc = snakemake(demo_run, "--report", str(demo_run / "snakemake_report.zip"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (demo_run / "snakemake_report.zip").stat().st_size > 10_000
