"""Helpers for the end-to-end workflow tests: project copies, Snakemake runs,
reading everything under results/ as a reader (or a script) could."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from conftest import ROOT

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TEST_SECRET = "test-secret-0123456789abcdef"


def _env() -> dict[str, str]:
    return {**os.environ, "RELCOORD_SECRET": os.environ.get("RELCOORD_SECRET", TEST_SECRET)}


def project_copy(dest: Path) -> Path:
    """A fresh project folder: the config and the data (the workflow itself stays in ROOT)."""
    for name in ("config", "data"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


# --------------------------------------------------------------------------- a study with small units
# Two rounds of 60 respondents (four base units below k = 5 in each), written as the demo is (2024 CSV
# trio, 2025 workbook), with text a spreadsheet would run as a formula in the unit register and the export.

FORMULA_NAME, FORMULA_AREA = "=SUM(1;2) Hjemmeplejen", "+45 Social og Sundhed"
FORMULA_ANSWERS = {"s_3_2": "@SUM(1+1)", "s_4_2": "-2+3", "s_5_2": "x;=cmd|' /C calc'!A0;"}
# a unit name that is harmless in a comma import but starts a formula after a split at ';' (Danish Excel)
SEMICOLON_NAME = "Sundhed;=HYPERLINK(\"http://x\")"
# every respondent of the small unit TRR (code 3) scores 5 on six items about every unit and 4 or 3
# (alternating between respondents) on the seventh: its hidden cells (about 4.8) lie where no visible
# cell of this study is, so a leak into a report would show as a number found nowhere else
PLANTED_UNIT_CODE, PLANTED_UNIT = 3, "TRR"


def _planted(col: str, i: int) -> int | None:
    if re.fullmatch(r"v_2_\d+", str(col)):
        return 0   # the small unit's respondents in no network: its values reach no network rater's tie either
    m = re.fullmatch(r"s_(\d+)_\d+", str(col))
    if not m or not 3 <= int(m.group(1)) <= 9:
        return None
    q = int(m.group(1))
    return (4 if i % 2 == 0 else 3) if q == 9 else {3: 3, 6: 1}.get(q, 5)   # the code of score 5 (instrument.yaml)


def _plant_csv(path: Path) -> None:
    df = pd.read_csv(path, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    rows = df.index[df["s_1"].str.strip() == str(PLANTED_UNIT_CODE)]
    for i, r in enumerate(rows):
        for c in df.columns:
            if _planted(c, i) is not None:
                df.loc[r, c] = str(_planted(c, i))
    for row, (col, value) in enumerate(FORMULA_ANSWERS.items(), start=1):   # two valid records (rows 3, 4)
        df.loc[row, col] = value
    df.to_csv(path, sep=";", encoding="latin-1", index=False)


def _plant_xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    head = {name: [c.value for c in wb[name][1]] for name in ("Dataset", "Dataset2")}
    s1 = head["Dataset"].index("s_1") + 1
    rows = [r for r in range(2, wb["Dataset"].max_row + 1)
            if str(wb["Dataset"].cell(r, s1).value).strip() == str(PLANTED_UNIT_CODE)]
    for name, cols in head.items():
        for j, col in enumerate(cols, start=1):
            for i, r in enumerate(rows):
                if _planted(col, i) is not None:
                    wb[name].cell(r, j).value = _planted(col, i)
    wb.save(path)


def small_study(work: Path) -> Path:
    """A project folder holding the study with small units (see above)."""
    from relcoord.simulate import make_demo

    shutil.copytree(ROOT / "config", work / "config")
    make_demo(work / "data/raw/demo", work / "config", seed=11, n_respondents=60, force=True)
    units = pd.read_csv(work / "config/units.tsv", sep="\t", dtype=str, keep_default_na=False)
    i = units.index[units["unit_id"] == "HJP"][0]
    units.loc[i, "aliases"] = "|".join(a for a in (units.loc[i, "aliases"], units.loc[i, "name"]) if a)
    units.loc[i, ["name", "area"]] = [FORMULA_NAME, FORMULA_AREA]
    j = units.index[units["unit_id"] == "SUC"][0]
    units.loc[j, "aliases"] = "|".join(a for a in (units.loc[j, "aliases"], units.loc[j, "name"]) if a)
    units.loc[j, "name"] = SEMICOLON_NAME
    units.to_csv(work / "config/units.tsv", sep="\t", index=False, lineterminator="\n")
    _plant_csv(work / "data/raw/demo/2024/dataset.csv")
    _plant_xlsx(work / "data/raw/demo/2025/export.xlsx")
    return work


def snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    return [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2",
            "--configfile", str(workdir / "config" / "config.yaml"), *args]


def run_concurrently(workdirs: list[Path], *args: str, timeout: int = 900,
                     commands: dict[Path, list[str]] | None = None) -> list[subprocess.CompletedProcess]:
    """Run the workflow in several project folders at once (output to files: no pipe can fill up);
    ``commands`` gives a folder's own command line instead (a study: `relcoord run STUDY`)."""
    procs = []
    for w in workdirs:
        out, err = open(w / "snakemake.stdout", "w"), open(w / "snakemake.stderr", "w")
        cmd = (commands or {}).get(w) or snakemake_cmd(w, *args)
        procs.append((subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=_env()),
                      out, err, w))
    done = []
    for p, out, err, w in procs:
        try:
            rc = p.wait(timeout=timeout)
        finally:
            out.close()
            err.close()
        done.append(subprocess.CompletedProcess(p.args, rc, (w / "snakemake.stdout").read_text(),
                                                (w / "snakemake.stderr").read_text()))
    return done


def copy_run(src: Path, dest: Path) -> Path:
    """A copy of a project folder after a run: files with their times, and Snakemake's metadata."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def dry_run_jobs(proc: subprocess.CompletedProcess) -> set[tuple[str, str]]:
    """(rule, wildcard values) of every job a `snakemake -n` run lists."""
    out = proc.stdout + proc.stderr
    jobs = set()
    for m in re.finditer(r"^(?:local)?rule (\w+):\n((?:[ \t]+.*\n?)*)", out, re.M):
        wc = re.search(r"^\s+wildcards: (.*)$", m.group(2), re.M)
        jobs.add((m.group(1), ",".join(v.split("=", 1)[1] for v in wc.group(1).split(", ")) if wc else ""))
    return jobs


_DATA_URI = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")


def result_texts(results: Path) -> dict[str, str]:
    """Every file under results/ as the text it holds: CSV, JSON, SVG as text;
    HTML unescaped, without its embedded images; parquet as its column names
    and every cell; anything else (PNG) as Latin-1 bytes."""
    out = {}
    for p in sorted(results.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(results).as_posix()
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
            cells = [str(c) for c in df.columns]
            for c in df.columns:
                cells += df[c].astype(str).tolist()
            out[rel] = "\n".join(cells)
        elif p.suffix == ".html":
            out[rel] = html.unescape(_DATA_URI.sub("", p.read_text(encoding="utf-8")))
        elif p.suffix in (".csv", ".json", ".svg", ".txt", ".tsv"):
            out[rel] = p.read_text(encoding="utf-8")
        else:
            out[rel] = p.read_bytes().decode("latin-1")
    return out


def find_values(texts: dict[str, str], values: set[str]) -> list[tuple[str, str]]:
    """(value, file) for every value found in a text. Digit-only values (raw ids) are looked up
    among all same-length windows of the texts' digit runs (fast, and finds an id inside a longer
    number too); others by substring search."""
    found = []
    digits = {v for v in values if v.isdigit()}
    lengths = {len(v) for v in digits}
    for name, text in texts.items():
        if digits:
            for m in re.finditer(rf"\d{{{min(lengths)},}}", text):
                run = m.group()
                for n in lengths:
                    hits = {run[i:i + n] for i in range(len(run) - n + 1)} & digits
                    found += [(h, name) for h in sorted(hits)]
        found += [(v, name) for v in sorted(values - digits) if v in text]
    return found


def html_text(path: Path) -> str:
    """A report's visible text: tags, styles and embedded images removed, entities unescaped."""
    s = _DATA_URI.sub("", path.read_text(encoding="utf-8"))
    s = re.sub(r"<style.*?</style>|<script.*?</script>", " ", s, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", s))


def export_columns(path: Path, columns: list[str]) -> pd.DataFrame:
    """Columns of a SurveyXact export as text: the CSV trio's dataset.csv or
    every sheet of a workbook (a wide export may be split over sheets)."""
    if path.is_dir():
        df = pd.read_csv(path / "dataset.csv", sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
        return df[[c for c in columns if c in df.columns]]
    parts, taken = [], set()
    for sheet in pd.read_excel(path, sheet_name=None, dtype=str).values():
        cols = [c for c in columns if c in sheet.columns and c not in taken]
        if cols:
            parts.append(sheet[cols].fillna("").reset_index(drop=True))
            taken |= set(cols)
    return pd.concat(parts, axis=1)


# --------------------------------------------------------------------------- a study folder set up by init
RELCOORD = str(Path(sys.executable).with_name("relcoord"))


def relcoord(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RELCOORD, *args], capture_output=True, text=True, env=_env(), timeout=600)


def demo_study(parent: Path) -> Path:
    """A study folder outside the checkout, set up from the demo's exports (which stay where they are)
    by `relcoord init` and `relcoord add-round` alone, labels as the demo's config gives them."""
    study = parent / "albertslund"
    for args in (["init", str(study), "--export", str(ROOT / "data/raw/demo/2024"), "--round", "2024",
                  "--date", "2024-03-01", "--label", "Baseline 2024"],
                 ["add-round", str(study), "--export", str(ROOT / "data/raw/demo/2025/export.xlsx"), "--round",
                  "2025", "--date", "2025-03-01", "--label", "Follow-up 2025"],
                 ["add-round", str(study), "--export", str(ROOT / "data/raw/demo/2026/export.xlsx"), "--round",
                  "2026", "--date", "2026-03-01", "--label", "Second follow-up 2026"]):
        proc = relcoord(*args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return study


def study_run_cmd(study: Path) -> list[str]:
    return [RELCOORD, "run", str(study), "--cores", "2"]


_SCRATCH = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".snakemake",
            "results"}


def checkout_files() -> dict[str, tuple[int, int]]:
    """Every file of the code checkout (but version control, the venv, caches and the demo's own run
    folders .snakemake/ and results/): path -> (size, mtime_ns)."""
    out = {}
    for p in ROOT.rglob("*"):
        rel = p.relative_to(ROOT)
        if any(part in _SCRATCH or part.endswith(".egg-info") for part in rel.parts) or not p.is_file():
            continue
        st = p.stat()
        out[rel.as_posix()] = (st.st_size, st.st_mtime_ns)
    return out
