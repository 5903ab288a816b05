"""End to end: the workflow knows what it read, and never leaves results that
no longer match their inputs (issue 11: settings in as values, missing inputs
stop, a failed round leaves nothing stale, the report's settings hash agrees
with provenance.json, the console shows each round's validation counts,
config text cannot reach `snakemake --report` as markup)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from test_workflow import snakemake
from workflow_helpers import copy_run, dry_run_jobs

pytestmark = pytest.mark.slow

# a new 2025 export: that round, both comparisons with it, the 2026 report (its unit pages show the change
# since 2025), the trends over all rounds
ROUND_2025 = {("validate_round", "2025"), ("score_round", "2025"), ("report_round", "2025"), ("report_round", "2026"),
              ("compare_rounds", "2024_vs_2025"), ("report_comparison", "2024_vs_2025"),
              ("compare_rounds", "2025_vs_2026"), ("report_comparison", "2025_vs_2026"), ("trends", ""), ("index", ""),
              ("provenance", ""), ("all", "")}


@pytest.fixture(scope="module")
def demo(workflow_runs):
    work, proc = workflow_runs["demo"][0]
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work, proc


def _cfg(work: Path) -> dict:
    return yaml.safe_load((work / "config/config.yaml").read_text(encoding="utf-8"))


def _write_cfg(work: Path, cfg: dict) -> None:
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")


def _digests(results: Path) -> dict[str, str]:
    return {p.relative_to(results).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(results.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- static: values, not config


def test_scripts_never_read_the_config():
    for script in sorted((ROOT / "workflow/scripts").glob("*.py")):
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"\b(sm|snakemake)\.config\b", text), f"{script.name} reads snakemake.config"


def test_rule_params_hold_values_not_config_sections():
    allowed = {"values", "config_sha256", "min_group_size", "seed", "reports", "rounds"}
    for smk in sorted((ROOT / "workflow/rules").glob("*.smk")):
        text = smk.read_text(encoding="utf-8")
        for block in re.findall(r"^    params:\n((?:        .*\n)+)", text, re.M):
            names = set(re.findall(r"^        (\w+)=", block, re.M))
            assert names <= allowed, f"{smk.name}: params {sorted(names - allowed)}"
    validate = (ROOT / "workflow/rules/validate.smk").read_text(encoding="utf-8")
    for name in ("export_root=", "export=", "codebook=", "units=", "memberships=", "instrument="):
        assert name in validate


def test_encoded_values_cannot_close_a_script_element():
    from relcoord.runner import decode_values, encode_values

    values = {"label": "</script><script>alert(1)</script> & <b>", "n": 3, "x": None, "æ": "Før"}
    text = encode_values(values)
    assert "<" not in text and ">" not in text and "&" not in text
    assert decode_values(text) == values
    assert encode_values(dict(reversed(list(values.items())))) == text     # key order does not matter


# --------------------------------------------------------------------------- inputs that change or vanish


def test_missing_export_or_codebook_stops_and_changes_nothing(demo, tmp_path):
    work = copy_run(demo[0], tmp_path / "work")
    before = _digests(work / "results")
    for key, value in (("export", "data/raw/demo/2025/gone.xlsx"), ("codebook", "config/codebooks/gone.yaml")):
        cfg = _cfg(work)
        cfg["rounds"]["2025"][key] = value
        _write_cfg(work, cfg)
        proc = snakemake(work)
        assert proc.returncode != 0
        err = proc.stderr
        assert f"rounds/2025/{key}: '{value}' does not exist" in err, err[-2000:]
        assert "Traceback" not in err
        assert _digests(work / "results") == before
        shutil.copy(demo[0] / "config/config.yaml", work / "config/config.yaml")


def test_pointing_a_round_at_another_existing_export_reruns_it(demo, tmp_path):
    work = copy_run(demo[0], tmp_path / "work")
    old = work / "data/raw/demo/2025/export.xlsx"
    new = work / "data/raw/demo/2025/export_v2.xlsx"
    shutil.copy2(old, new)                         # an older file than every result: only the path changed
    cfg = _cfg(work)
    cfg["rounds"]["2025"]["export"] = "data/raw/demo/2025/export_v2.xlsx"
    _write_cfg(work, cfg)
    assert dry_run_jobs(snakemake(work, "-n")) == ROUND_2025
    assert snakemake(work).returncode == 0
    prov = json.loads((work / "results/provenance.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in prov["inputs"]["rounds"]["2025"]["export"]] == ["data/raw/demo/2025/export_v2.xlsx"]


# --------------------------------------------------------------------------- a failed round


def test_a_failed_round_leaves_no_stale_results(demo, tmp_path):
    work = copy_run(demo[0], tmp_path / "work")
    results = work / "results"
    book = (work / "config/codebooks/demo.yaml").read_text(encoding="utf-8")
    (work / "config/codebooks/broken.yaml").write_text(book.replace("s_9", "s_99"), encoding="utf-8")
    cfg = _cfg(work)
    cfg["rounds"]["2025"]["codebook"] = "config/codebooks/broken.yaml"
    _write_cfg(work, cfg)
    report_2024 = (results / "2024/report.html").read_bytes()
    before = _digests(results)
    proc = snakemake(work)
    assert proc.returncode != 0
    assert "question 's_99' is not in the export" in proc.stderr
    assert "Traceback" not in proc.stderr
    left = {p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()}
    assert not [p for p in left if p.startswith("2025/")], left
    assert not [p for p in left if p.startswith("comparisons/")], left
    assert not [p for p in left if p.startswith("trends/")], left                # the trends stand on every round
    # 2026's report shows the change since 2025 (its unit pages): it goes too; 2026's scores stay
    assert not [p for p in left if p.startswith(("2026/units/", "2026/report.html", "2026/tables.xlsx"))], left
    assert "2026/scores/ties.csv" in left
    assert "provenance.json" not in left
    assert (results / "2024/report.html").read_bytes() == report_2024          # the other round is intact
    index = (results / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"]+)"', index))
    assert "2024/report.html" in links
    assert not {h for h in links if h.startswith(("2025/", "2026/", "comparisons/", "trends/"))}, links
    assert "Efter 2025" in index and "logs/2025/validate_round.log" in index   # the demo's Danish label
    # fixed: everything is back, the index links every report again
    _write_cfg(work, {**cfg, "rounds": {**cfg["rounds"], "2025": {**cfg["rounds"]["2025"],
                                                                  "codebook": "config/codebooks/demo.yaml"}}})
    assert snakemake(work).returncode == 0
    after = _digests(results)
    before.pop("provenance.json"), after.pop("provenance.json")                 # it records the edited config file
    assert after == before
    assert 'id="failed"' not in (results / "index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the hash a report shows


def _shown_hash(report: Path) -> str:
    m = re.search(r'provenance\.json\)?: <code class="hash">([0-9a-f]{64})</code>', report.read_text(encoding="utf-8"))
    assert m, report
    return m.group(1)


def test_each_report_shows_the_settings_hash_provenance_records(demo, tmp_path):
    work = copy_run(demo[0], tmp_path / "work")
    results = work / "results"
    old_2024, old_2025 = _shown_hash(results / "2024/report.html"), _shown_hash(results / "2025/report.html")
    cfg = _cfg(work)
    cfg["rounds"]["2025"]["label"] = "Opfølgning 2025"
    _write_cfg(work, cfg)
    mtime_2024 = (results / "2024/report.html").stat().st_mtime_ns
    assert snakemake(work).returncode == 0
    assert (results / "2024/report.html").stat().st_mtime_ns == mtime_2024      # not recomputed ...
    prov = json.loads((results / "provenance.json").read_text(encoding="utf-8"))
    recorded = {o["path"]: o.get("settings_sha256") for o in prov["outputs"]}
    for path in ("results/2024/report.html", "results/2025/report.html",
                 "results/comparisons/2024_vs_2025/report.html"):
        assert recorded[path] == _shown_hash(work / path), path                  # ... and still in agreement
    assert _shown_hash(results / "2024/report.html") == old_2024
    assert _shown_hash(results / "2025/report.html") != old_2025


# --------------------------------------------------------------------------- what the analyst sees


def test_each_validation_job_prints_its_counts(demo):
    out = demo[1].stdout + demo[1].stderr
    for rnd in ("2024", "2025"):
        summary = json.loads((demo[0] / f"results/{rnd}/validation/summary.json").read_text(encoding="utf-8"))
        line = next(l for l in out.splitlines() if l.startswith(f"Round {rnd}: "))
        assert f"{summary['records_in']} records in, {summary['valid']} valid, {summary['quarantined']} " in line
        assert f"validation report: results/{rnd}/validation/report.html" in out
    # the run ends by saying where the report is
    assert f"Open the report: {(demo[0] / 'results/index.html').resolve()}" in out


PAYLOAD = "</script><script>document.documentElement.setAttribute('data-pwned','1')</script><img src=x " \
          "onerror=\"document.documentElement.setAttribute('data-pwned','2')\">"


def test_snakemake_report_runs_no_script_from_config_text(demo, tmp_path):
    work = copy_run(demo[0], tmp_path / "work")
    cfg = _cfg(work)
    cfg["rounds"]["2025"]["label"] = "Opfølgning " + PAYLOAD
    cfg["report"]["title"] = "Titel " + PAYLOAD
    _write_cfg(work, cfg)
    assert snakemake(work).returncode == 0
    zreport = work / "report.html"
    proc = snakemake(work, "--report", str(zreport))
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = zreport.read_text(encoding="utf-8")
    assert "</script><script>document" not in text
    assert "onerror=\"document" not in text
    for path in (work / "results").rglob("*.html"):
        assert "<script>document" not in path.read_text(encoding="utf-8"), path
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (the static checks above passed)")
    for page in (zreport, work / "results/index.html", work / "results/2025/report.html"):
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=5000",
                              "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
        assert dom.strip(), page
        assert not re.search(r"<html[^>]*data-pwned", dom), page     # the payload shows as text, never runs


# --------------------------------------------------------------------------- a unit that disappears


def test_a_base_unit_renamed_in_the_export_labels_stops_the_round(demo, tmp_path):
    """Only the label text changes (Hjemmeplejen -> Hjemmepleje Nord): every record of that unit would be
    quarantined as unknown_unit (about 10 %, under the 20 % ceiling). The round must not go on without the
    unit: it stops naming the unit, the label the export now uses and the aliases line that fixes it."""
    work = copy_run(demo[0], tmp_path / "work")
    labels = work / "data/raw/demo/2024/labels.csv"
    text = labels.read_text(encoding="latin-1")
    assert "s_1;1;Hjemmeplejen\n" in text.replace("\r\n", "\n")
    labels.write_text(text.replace("s_1;1;Hjemmeplejen", "s_1;1;Hjemmepleje Nord"), encoding="latin-1")
    proc = snakemake(work)
    assert proc.returncode != 0
    err = proc.stderr
    assert "Traceback" not in err
    assert "HJP" in err and "Hjemmepleje Nord" in err, err[-3000:]
    assert "aliases" in err
    left = {p.relative_to(work / "results").as_posix() for p in (work / "results").rglob("*") if p.is_file()}
    # nothing of 2024, of the comparison with it or of the trends over it; 2025's report shows the change
    # since 2024 (its unit pages): it goes too; 2025 → 2026 stands
    assert not [p for p in left if p.startswith(("2024/", "comparisons/2024_vs_2025/", "trends/", "2025/report",
                                                 "2025/units/"))], left
    assert "comparisons/2025_vs_2026/report.html" in left and "2025/scores/ties.csv" in left
    # accepted explicitly: the round runs and its report's headline names the missing unit
    cfg = _cfg(work)
    cfg.setdefault("validation", {})["accept_missing_units"] = ["HJP"]
    _write_cfg(work, cfg)
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from workflow_helpers import html_text

    head = html_text(work / "results/2024/report.html")
    assert "Hjemmeplejen" in head
    summary = json.loads((work / "results/2024/validation/summary.json").read_text(encoding="utf-8"))
    assert "HJP" in json.dumps(summary.get("missing_units"))
