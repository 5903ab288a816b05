"""End to end, privacy: a simulated municipality with several small units (two
rounds, 60 respondents each, four units below k in each round), run through
the whole workflow; then every reader-facing output is scanned.

The same run carries text that a spreadsheet would execute as a formula (a
unit name and area starting with = and +, answers starting with @ and -), to
show it neutralised in every CSV.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.utils import validate as snakemake_validate

from relcoord.config import normalise_keys, settings_from_config
from relcoord.figures import fmt_num
from relcoord.instrument import load_instrument
from relcoord.registry import load_units, units_in_round
from relcoord.schema import SCHEMA_DIR
from relcoord.stages import score_and_assess
from csv_safety import live_formulas
from relcoord.privacy import count_exposure, suppress_counts
from relcoord.tables import neutralise
from test_disclosure import leaks, rank_mod_p
from workflow_helpers import FORMULA_ANSWERS, FORMULA_AREA, FORMULA_NAME, PLANTED_UNIT, SEMICOLON_NAME, html_text

pytestmark = pytest.mark.slow

K = 5
ROUNDS = ("2024", "2025", "2026")
COMPARISONS = ("2024_vs_2025", "2025_vs_2026")


@pytest.fixture(scope="module")
def small_run(workflow_runs):
    """The study with small units (workflow_helpers.small_study), run with the demo (conftest.workflow_runs)."""
    work, proc = workflow_runs["small"]
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


def _config(work: Path) -> dict:
    cfg = yaml.safe_load((work / "config/config.yaml").read_text(encoding="utf-8"))
    normalise_keys(cfg)
    snakemake_validate(cfg, str(SCHEMA_DIR / "config.schema.yaml"))   # fills the defaults
    return cfg


def _internal(work: Path, rnd: str) -> tuple[dict, dict]:
    """The round's unsuppressed tables, recomputed from the validated data (as score_round does)."""
    s = settings_from_config(_config(work))
    order = list(s.round_order)
    units = units_in_round(load_units(work / s.units, order), rnd, order)
    res = work / "results" / rnd / "validated"
    return score_and_assess(pd.read_parquet(res / "responses.parquet"), pd.read_parquet(res / "respondents.parquet"),
                            units, load_instrument(work / s.instrument), scoring=s.scoring,
                            k=s.privacy.min_group_size, seed=s.seed)


# (count columns, statistic columns; None = every other numeric column) per reader-facing table
TABLES = {
    "scores/ties.csv": [(["n"], None)],
    "scores/blocks.csv": [(["n_respondents"], None)],
    "scores/edges.csv": [(["n_a_to_b", "n_b_to_a"], None)],
    "scores/organisation.csv": [(["n"], None)],
    "scores/reliability.csv": [(["n"], None)],
    "scores/agreement.csv": [(["n"], None)],
    "scores/units.csv": [([f"{p}_n"], [f"{p}_rc"]) for p in ("within", "between", "received")],
    "scores/weighted.csv": [(["n"], None)],                       # the staff register's weighted figures
}


def _check_table(df: pd.DataFrame, specs, name: str) -> int:
    shown_rows = 0
    for counts, stats in specs:
        if stats is None:
            stats = [c for c in df.columns if c not in counts and pd.api.types.is_numeric_dtype(df[c])
                     and not pd.api.types.is_bool_dtype(df[c])]
        shown = df[stats].notna().any(axis=1)
        if "band" in df.columns:
            shown |= df["band"].notna()
        for c in counts:
            n = pd.to_numeric(df[c], errors="coerce")
            assert (n[shown] >= K).all(), (name, c, df.loc[shown & ~(n >= K)].head())
            assert (n.dropna() >= K).all(), (name, c, "a count below k is shown")
        shown_rows += int(shown.sum())
    return shown_rows


def test_the_study_has_several_small_groups(small_run):
    kinds = set()
    for rnd in ROUNDS:
        resp = pd.read_parquet(small_run / "results" / rnd / "validated/respondents.parquet")
        small = resp["rater_unit"].value_counts()
        assert ((small > 0) & (small < K)).sum() >= 3, (rnd, small)
        assert 1 <= small.get(PLANTED_UNIT, 0) < K, (rnd, small)     # the unit with the planted answers
        ties = pd.read_csv(small_run / "results" / rnd / "scores/ties.csv")
        assert (~ties["suppressed"]).sum() >= 20
        kinds |= set(ties["suppression"].dropna())
    # primary (< k) and complementary (the disclosure audit chooses every complement; the old set rules are off)
    assert kinds == {"primary", "complementary"}


def test_no_statistic_from_fewer_than_k_respondents_in_any_table(small_run):
    shown = 0
    for rnd in ROUNDS:
        for name, specs in TABLES.items():
            shown += _check_table(pd.read_csv(small_run / "results" / rnd / name), specs, f"{rnd}/{name}")
        failures = pd.read_csv(small_run / "results" / rnd / "validation/failures.csv", dtype=str)
        assert not {"n", "mean", "rc_mean"} & set(failures.columns)      # records and problems, no statistics
    for comparison in COMPARISONS:
        out = small_run / "results/comparisons" / comparison
        changes = pd.read_csv(out / "changes.csv")
        shown += _check_table(changes, [(["n_a", "n_b"], None)], f"{comparison}/changes.csv")
        assert changes["suppressed"].any() and (~changes["suppressed"]).any()
        model = pd.read_csv(out / "model.csv")
        shown += _check_table(model, [(["n_obs"], ["estimate", "se", "ci_low", "ci_high", "p"])],
                              f"{comparison}/model.csv")
    trend = pd.read_csv(small_run / "results/trends/trend.csv")
    shown += _check_table(trend, [(["n"], ["mean", "ci_low", "ci_high"])], "trends/trend.csv")
    assert shown > 100


def test_no_hidden_cell_or_count_can_be_worked_out_by_subtraction(small_run):
    for rnd in ROUNDS:
        res = small_run / "results" / rnd
        # respondents per unit next to the total: a hidden count is never alone
        summary = json.loads((res / "validation/summary.json").read_text(encoding="utf-8"))
        counts = pd.read_parquet(res / "validated/respondents.parquet")["rater_unit"].value_counts()
        shown = summary["respondents_per_unit"]
        assert set(shown) == set(counts.index) and summary["valid"] == counts.sum()
        hidden = [u for u, n in shown.items() if n is None]
        assert all(shown[u] == counts[u] >= K for u in shown if u not in hidden)
        assert all(counts[u] < K for u, why in summary["respondents_per_unit_hidden"].items() if why == "primary")
        assert {u for u in counts.index if counts[u] < K} <= set(hidden) and len(hidden) != 1
        # the count complement is the one validation and the audit agree on (privacy.count_exposure)
        internal, public = _internal(small_run, rnd)
        resp = pd.read_parquet(res / "validated/respondents.parquet")
        rt = internal["respondent_ties"]
        exposure = count_exposure(resp, rt.loc[rt["rc"].notna(), ["respondent_id", "target_unit"]])
        assert suppress_counts(counts.to_dict(), K, exposure)[0] == shown
        # the published tables (as read back): no figure of a small group (a primary cell's respondents, a unit
        # or network below k) lies in the span of everything published, checked independently of the audit
        tp = {name: pd.read_csv(res / f"scores/{name}.csv") for name in ("ties", "units", "blocks", "organisation")}
        ti = internal["ties"]
        pairs = ["rater_unit", "target_unit"]
        assert (ti[pairs].to_numpy() == tp["ties"][pairs].to_numpy()).all()
        for name in ("ties", "blocks"):
            assert set(tp[name]["suppression"].dropna()) <= {"primary", "complementary"}
        assert not leaks(internal, tp, resp, K, rank=rank_mod_p), rnd


def _fmt(x) -> str:
    return fmt_num(x, "da", 2)


_NUM = re.compile(r"(?<![\d,.])[+−-]?\d+(?:,\d+)?(?![\d,])")   # a number as shown, sign included ("−1,14")


def _numbers(paths) -> set[str]:
    """Every number of the CSV tables ``paths`` (that exist), as the reports format them."""
    out: set[str] = set()
    for path in paths:
        if path.is_file():
            df = pd.read_csv(path)
            for c in df.select_dtypes("number").columns:
                out |= {_fmt(v) for v in df[c].dropna()}
    return out


def test_reports_never_show_a_value_of_a_hidden_cell(small_run):
    """Values of hidden cells (internal ties, unit cells, blocks), formatted as the reports format
    numbers, appear in no report, except where the same string is also a number the page may show
    (the visible figures of the rounds it reports on, its comparison's changes and models)."""
    results = small_run / "results"
    visible: dict[str, set[str]] = {}
    hidden: dict[str, set[str]] = {}
    planted: dict[str, set[str]] = {}
    for rnd in ROUNDS:
        internal, public = _internal(small_run, rnd)
        visible[rnd] = set()
        for _name, df in public.items():
            for c in df.columns:
                if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
                    visible[rnd] |= {_fmt(v) for v in df[c].dropna()}
        e = public["edges"].dropna(subset=["a_to_b", "b_to_a"])
        visible[rnd] |= {_fmt(v) for v in (e["a_to_b"] + e["b_to_a"]) / 2} | \
            {_fmt(v) for v in e["a_to_b"] - e["b_to_a"]}
        ti, tp = internal["ties"], public["ties"]
        cells = list(ti.loc[tp["suppressed"].to_numpy(), ["rc_mean", "communication", "relationship"]]
                     .to_numpy().ravel())
        ui, up = internal["units"].reset_index(drop=True), public["units"].reset_index(drop=True)
        for part in ("within", "between", "received"):
            cells += list(ui.loc[up[f"{part}_rc"].isna(), f"{part}_rc"])
        bi, bp = internal["blocks"].reset_index(drop=True), public["blocks"].reset_index(drop=True)
        cells += list(bi.loc[bp["rc_mean"].isna(), "rc_mean"])
        hidden[rnd] = {_fmt(v) for v in cells if pd.notna(v)}
        planted[rnd] = {_fmt(v) for v in ti.loc[ti["rater_unit"] == PLANTED_UNIT, "rc_mean"].dropna()}
        assert planted[rnd] <= hidden[rnd], rnd
    # the check has teeth: a planted hidden value is found nowhere among its round's visible numbers (in at
    # least one round: at two decimals a hidden value can coincide with some visible CI bound or item mean)
    assert any(planted[r] - visible[r] for r in ROUNDS), (planted, visible)
    assert all(hidden[r] - visible[r] for r in ROUNDS)
    # (page, rounds it reports on, numbers it may show besides those rounds' visible figures)
    pages = [(page, [rnd], set()) for rnd in ROUNDS
             for page in [results / rnd / "report.html", *sorted((results / rnd / "units").glob("*.html"))]]
    assert len(pages) > 3 * len(ROUNDS)     # the unit pages are read too
    for c in COMPARISONS:
        folder = results / "comparisons" / c
        pages.append((folder / "report.html", c.split("_vs_"), _numbers([folder / "changes.csv",
                                                                       folder / "model.csv"])))
    pages.append((results / "trends/report.html", list(ROUNDS), _numbers([results / "trends/model.csv"])))
    for page, rounds, extra in pages:
        allowed = set().union(*(visible[r] for r in rounds)) | extra
        secret = set().union(*(hidden[r] for r in rounds)) - allowed
        leaked = sorted(secret & set(_NUM.findall(html_text(page))))
        assert not leaked, (page.relative_to(results), leaked)
    # trend.csv holds the rounds' published figures only
    trend = pd.read_csv(results / "trends/trend.csv")
    for rnd in ROUNDS:
        t = trend[trend["round"].astype(str) == rnd]
        shown = {_fmt(v) for c in ("mean", "ci_low", "ci_high") for v in t[c].dropna()}
        assert not sorted((hidden[rnd] - visible[rnd]) & shown), rnd


def _csv_cells(path: Path):
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            yield from row


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def test_formula_like_text_is_neutralised_in_every_csv(small_run):
    results = small_run / "results"
    units = pd.read_csv(results / "2024/scores/units.csv", dtype=str, keep_default_na=False)
    row = units[units["unit_id"] == "HJP"].iloc[0]
    assert row["name"] == "'" + FORMULA_NAME and row["area"] == "'" + FORMULA_AREA
    failures = pd.read_csv(results / "2024/validation/failures.csv", dtype=str, keep_default_na=False)
    written = {neutralise(v) for v in FORMULA_ANSWERS.values()}      # "'@SUM(1+1)", "x;'=cmd|…"
    assert written <= set(failures["value"])
    assert set(failures.loc[failures["value"].isin(written), "rule"]) == {"not_a_code"}
    csvs = sorted(results.rglob("*.csv"))
    assert len(csvs) >= 18
    for path in csvs:
        bad = [c for c in _csv_cells(path) if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
        assert not bad, (path.relative_to(results), bad[:5])
        # imported with ',' ';' and tab, quote-aware and naive, with bare CRs as row breaks: nothing runs
        assert not live_formulas(path), (path.relative_to(results), live_formulas(path)[:5])
    assert SEMICOLON_NAME.split(";")[0] in (results / "2024/scores/units.csv").read_text(encoding="utf-8")
    books = sorted(results.rglob("*.xlsx"))          # tables.xlsx per round and comparison: text stays text
    assert len(books) >= 3
    import openpyxl

    for book in books:
        wb = openpyxl.load_workbook(book)
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"], book
        if book.parent.name == "2024":
            assert any(c.value == FORMULA_NAME and c.data_type == "s" for c in cells), book
    assert FORMULA_NAME in html_text(results / "2024/report.html")    # HTML escapes; the name reads as given


def test_response_rates_are_hidden_where_the_counts_are(small_run):
    """The staff register (config/staff.tsv, written by the simulation): a unit whose respondent count
    summary.json hides shows no count, no rate and no flag in response_rates.csv or summary.json (the
    rate times the staff would give the count back); no unit below k has a weight of its own."""
    hidden_seen = 0
    for rnd in ROUNDS:
        res = small_run / "results" / rnd
        summary = json.loads((res / "validation/summary.json").read_text(encoding="utf-8"))
        rates = pd.read_csv(res / "validation/response_rates.csv", dtype=str, keep_default_na=False)
        true = pd.read_parquet(res / "validated/respondents.parquet")["rater_unit"].value_counts()
        hidden = {u for u, n in summary["respondents_per_unit"].items() if n is None}
        assert {u for u, n in true.items() if n < K} <= hidden
        for _, r in rates.iterrows():
            if r["unit_id"] in hidden:
                hidden_seen += 1
                assert r["respondents"] == r["response_rate"] == r["low_response"] == "", r.to_dict()
                assert r["hidden"] in ("primary", "secondary"), r.to_dict()
            else:
                assert int(r["respondents"]) == true[r["unit_id"]]
        for e in summary["response_rates"]["units"]:
            if e["unit_id"] in hidden:
                assert e["respondents"] is None and e["response_rate"] is None and e["low_response"] is None
        weighted = pd.read_csv(res / "scores/weighted.csv")
        assert weighted.loc[~weighted["suppressed"], "n"].ge(K).all()
    assert hidden_seen >= 3
