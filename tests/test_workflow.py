"""End to end: the workflow on the demo data, from a copy of the project.

The demo runs twice per test session, at the same time, in two fresh copies
(module fixture ``demo_runs``): the first is the run most tests read, the
pair proves that the results are byte-identical. Error cases run Snakemake
only as far as the failing step; rerun checks are dry runs on a copy.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from workflow_helpers import (copy_run, dry_run_jobs, export_columns, find_values, html_text, project_copy,
                              result_texts)

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "RELCOORD_SECRET": os.environ.get("RELCOORD_SECRET", "test-secret-0123456789abcdef")}
    return subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2",
                           "--configfile", str(workdir / "config" / "config.yaml"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def demo_runs(workflow_runs):
    """The demo, run twice at once in two fresh copies of the project (conftest.workflow_runs)."""
    for _, proc in workflow_runs["demo"]:
        assert proc.returncode == 0, proc.stderr[-4000:]
    return [work for work, _ in workflow_runs["demo"]]


@pytest.fixture(scope="module")
def demo_run(demo_runs):
    return demo_runs[0]


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


EXPORTS = {"2024": "data/raw/demo/2024", "2025": "data/raw/demo/2025/export.xlsx"}


def test_raw_ids_never_reach_results(demo_run):
    """No raw respondent id of either round (CSV trio and workbook) in any file under results/:
    CSV, JSON, HTML, SVG, PNG bytes, and the cells of every parquet table (compressed on disk)."""
    texts = result_texts(demo_run / "results")
    assert {p.rsplit(".", 1)[-1] for p in texts} >= {"csv", "json", "html", "parquet", "png", "svg"}
    texts |= {f"{p.relative_to(demo_run)} (bytes)": p.read_bytes().decode("latin-1")
              for p in (demo_run / "results").rglob("*") if p.is_file()}
    for rnd, export in EXPORTS.items():
        ids = set(export_columns(demo_run / export, ["id"])["id"].str.strip()) - {""}
        assert len(ids) > 400 and all(i.isdigit() for i in ids), rnd
        assert find_values({"probe": "x" + sorted(ids)[0] + "7"}, ids)          # the search finds what is there
        found = find_values(texts, ids)
        assert not found, (rnd, found[:5])


def test_personal_fields_and_free_text_never_reach_results(demo_run):
    """E-mail, name and free-text columns (not named in the codebook) are dropped, listed as
    counted (never named: a header can be personal data) in summary.json and the validation report, named
    only in the analyst's log, and none of their values is under results/."""
    texts = {f: t for f, t in result_texts(demo_run / "results").items() if not f.endswith(".png")}
    for rnd, export in EXPORTS.items():
        raw = export_columns(demo_run / export, ["email", "navn", "t_1"])
        values = {c: set(raw[c].str.strip()) - {""} for c in raw.columns}
        assert len(values["email"]) > 400 and len(values["navn"]) > 100 and len(values["t_1"]) >= 3, rnd
        found = find_values(texts, set().union(*values.values()))
        assert not found, (rnd, found[:5])
        summary = json.loads(texts[f"{rnd}/validation/summary.json"])
        assert summary["dropped_columns_count"] >= 3 and "dropped_columns" not in summary
        report = html_text(demo_run / "results" / rnd / "validation/report.html")
        assert f"{summary['dropped_columns_count']} kolonner i eksporten" in report
        assert "t_1" not in report and "email" not in report
        log = (demo_run / "logs" / rnd / "validate_round.log").read_text(encoding="utf-8")
        assert all(c in log for c in ("email", "navn", "t_1"))
        # the background column the codebook names is carried, nothing else beyond the contract
        respondents = pd.read_parquet(demo_run / "results" / rnd / "validated/respondents.parquet")
        assert set(respondents.columns) == {"respondent_id", "rater_unit", "networks", "b_1", "n_valid_answers",
                                            "source_row"}


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
    assert did["ci_low"] <= truth["per_round"]["2025"]["network_effect_rc"] <= did["ci_high"]


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


# --------------------------------------------------------------------------- reproducibility and provenance


def test_two_runs_give_byte_identical_results(demo_runs):
    """Same inputs and config, two fresh project copies: every file under results/ (tables, parquet,
    JSON, figures, reports, provenance) is byte for byte the same."""
    a, b = (w / "results" for w in demo_runs)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert len(files_a) > 50 and "provenance.json" in files_a
    differ = [f for f in files_a if (a / f).read_bytes() != (b / f).read_bytes()]
    assert not differ, differ


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_provenance_records_inputs_outputs_code_and_software(demo_run):
    text = (demo_run / "results/provenance.json").read_text(encoding="utf-8")
    prov = json.loads(text)
    ins = prov["inputs"]
    # every input file, relative to the project folder, with its sha256
    exports = {"2024": ["data/raw/demo/2024/dataset.csv", "data/raw/demo/2024/labels.csv",
                        "data/raw/demo/2024/structure.csv"], "2025": ["data/raw/demo/2025/export.xlsx"]}
    for rnd, files in exports.items():
        recs = ins["rounds"][rnd]["export"]
        assert [r["path"] for r in recs] == files
        assert all(r["sha256"] == _sha256(demo_run / r["path"]) for r in recs)
        assert ins["rounds"][rnd]["codebook"]["path"] == "config/codebooks/demo.yaml"
    assert [r["path"] for r in ins["config"]] == ["config/config.yaml"]
    for rec in [*ins["config"], ins["units"], ins["memberships"], ins["instrument"],
                *(ins["rounds"][r]["codebook"] for r in exports)]:
        assert rec["sha256"] == _sha256(demo_run / rec["path"]), rec
    # every other result file with its sha256
    results = demo_run / "results"
    expected = {p.relative_to(demo_run).as_posix() for p in results.rglob("*") if p.is_file()}
    assert {r["path"] for r in prov["outputs"]} == expected - {"results/provenance.json"}
    assert all(r["sha256"] == _sha256(demo_run / r["path"]) for r in prov["outputs"])
    # the config hash the reports show; code and software
    # each report shows the hash of the settings it was computed from, as provenance records it
    for rec in prov["outputs"]:
        if rec["path"].endswith("/report.html") and "/validation/" not in rec["path"]:
            assert rec["settings_sha256"] in (demo_run / rec["path"]).read_text(encoding="utf-8"), rec["path"]
    assert re.fullmatch(r"[0-9a-f]{64}", prov["config_sha256"])
    w = prov["workflow"]
    if (ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", w["commit"]) and isinstance(w["dirty"], bool)
    else:
        assert w["commit"] is None and "not a git checkout" in w["note"]
    assert prov["software"]["python"] == platform.python_version()
    assert prov["software"]["snakemake"] == importlib.metadata.version("snakemake")
    assert prov["software"]["pandas"] == pd.__version__
    # deterministic: no timestamps, no absolute paths of this machine
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text)
    assert str(demo_run) not in text and str(ROOT) not in text
    assert 'href="provenance.json"' in (results / "index.html").read_text(encoding="utf-8")


def test_reruns_are_limited_to_what_changed(demo_run, tmp_path):
    """After a full run: changing one round's export reruns that round, the comparison using it, the
    follow-up's report (its unit pages show the change), the index and the provenance record, nothing
    else of the other round; a report-only setting reruns
    the reports only; the privacy threshold reruns everything it touches."""
    work = copy_run(demo_run, tmp_path / "work")
    rounds, comparisons = ("2024", "2025", "2026"), ("2024_vs_2025", "2025_vs_2026")
    all_jobs = {(rule, r) for rule in ("validate_round", "score_round", "report_round") for r in rounds} \
        | {(rule, c) for rule in ("compare_rounds", "report_comparison") for c in comparisons} \
        | {("trends", ""), ("index", ""), ("provenance", ""), ("all", "")}

    export = work / "data/raw/demo/2024/dataset.csv"
    original = export.read_bytes()
    df = pd.read_csv(export, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    df.loc[0, "s_3_2"] = "1" if df.loc[0, "s_3_2"] != "1" else "2"       # one answer of one respondent
    df.to_csv(export, sep=";", encoding="latin-1", index=False)
    jobs = dry_run_jobs(snakemake(work, "-n"))
    # the 2025 report reruns too: its unit pages show the change since 2024 (the comparison's changes.csv);
    # the trends read every round; nothing of 2026 but the trends reruns
    assert jobs == all_jobs - {("validate_round", "2025"), ("score_round", "2025"), ("validate_round", "2026"),
                               ("score_round", "2026"), ("report_round", "2026"), ("compare_rounds", "2025_vs_2026"),
                               ("report_comparison", "2025_vs_2026")}, jobs

    export.write_bytes(original)
    shutil.copystat(demo_run / "data/raw/demo/2024/dataset.csv", export)    # as it was, time included

    cfg_path = work / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    cfg["report"]["title"] = "Koordinering i Demo Kommune"
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    jobs = dry_run_jobs(snakemake(work, "-n"))
    assert jobs == {*((r, x) for r, x in all_jobs if r.startswith("report_")), ("trends", ""), ("index", ""),
                    ("provenance", ""), ("all", "")}, jobs

    cfg["privacy"]["min_group_size"] = 6
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    assert dry_run_jobs(snakemake(work, "-n")) == all_jobs


def test_response_rates_and_weighted_figures_from_the_staff_register(demo_run):
    """The demo's staff register (config/staff.tsv): response rates per base unit (JOB far below the rest
    where its count is shown), the organisation's figures weighted to the staff next to the unweighted
    ones (equal to organisation.csv), and "who answered" in the round report."""
    from relcoord.weights import RATE_COLUMNS, WEIGHTED_COLUMNS

    for rnd in ("2024", "2025", "2026"):
        res = demo_run / "results" / rnd
        rates = pd.read_csv(res / "validation/response_rates.csv")
        assert list(rates.columns) == RATE_COLUMNS
        summary = json.loads((res / "validation/summary.json").read_text(encoding="utf-8"))
        rr = summary["response_rates"]
        assert rr["status"] == "ok" and rr["weighted"] and rr["organisation"]["respondents"] == summary["valid"]
        shown = rates[rates["hidden"].isna()].set_index("unit_id")
        assert (shown["response_rate"] == (shown["respondents"] / shown["staff"]).round(6)).all()
        if "JOB" in shown.index:
            assert shown.loc["JOB", "low_response"]
        weighted = pd.read_csv(res / "scores/weighted.csv")
        assert list(weighted.columns) == WEIGHTED_COLUMNS
        org = pd.read_csv(res / "scores/organisation.csv").set_index("measure")
        w = weighted[weighted["level"] == "organisation"].set_index("measure")
        assert (w["mean_unweighted"] - org.loc[w.index, "mean"]).abs().max() < 1e-5
        assert (w["n"] == org.loc[w.index, "n"]).all()
        assert (w["sum_weights"] == rr["organisation"]["staff"]).all()
        assert ((w["n_eff"] <= w["n"]) & (w["ci_low"] < w["mean_weighted"]) & (w["mean_weighted"] < w["ci_high"])).all()
        report = html_text(res / "report.html")
        assert "Hvem svarede" in report
        assert "langt under de øvrige" in report or "JOB" not in shown.index
