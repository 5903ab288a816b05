"""Tests for relcoord.workbook: tables.xlsx per round and per comparison, read back with openpyxl and held
against the CSVs it copies, cell for cell, in Danish and English.

The tables come from the library's demo (tests/test_figures.py builders: the same stages the workflow runs),
written with relcoord.tables.write_csv like the workflow writes them; the last test reads the workflow's own
demo run (slow).
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from relcoord import workbook as W
from relcoord.locales import languages, text
from relcoord.present import unit_names
from relcoord.stages import PUBLIC_NAMES, compare
from relcoord.tables import write_csv
from test_figures import K, instrument, scored, study
from test_locales import SRC, _reader_strings

LANGS = ("da", "en")
HIDDEN = {lang: text(lang)["workbook"]["hidden"] for lang in languages()}


# --------------------------------------------------------------------------- demo tables as CSVs


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo round 2024 and the comparison 2024 vs 2025 as CSVs laid out like results/."""
    root = tmp_path_factory.mktemp("results")
    st = study()
    (ia, pa), (ib, pb) = scored("2024"), scored("2025")
    rnd = {}
    for name, df in pa.items():
        rnd[name] = root / "2024" / "scores" / f"{name}.csv"
        rnd[name].parent.mkdir(parents=True, exist_ok=True)
        write_csv(df, rnd[name])
    out = compare(ia["respondent_ties"], st.rounds["2024"][1], ib["respondent_ties"], st.rounds["2025"][1],
                  st.units, st.memberships, baseline="2024", followup="2025", round_order=["2024", "2025"],
                  min_group_size=K, seed=0, public_a=pa, public_b=pb)
    cmp = {}
    for name in ("changes", "model"):
        cmp[name] = root / "comparisons" / "2024_vs_2025" / f"{name}.csv"
        cmp[name].parent.mkdir(parents=True, exist_ok=True)
        write_csv(out[name], cmp[name])
    return {"root": root, "units": st.units, "round": rnd, "comparison": cmp}


def round_book(demo, lang: str, name: str = "tables.xlsx") -> Path:
    return W.write_round_workbook(sorted(map(str, demo["round"].values())), demo["root"] / "2024" / lang / name,
                                  label="Baseline 2024", units=demo["units"], lang=lang, instrument=instrument())


def comparison_book(demo, lang: str, name: str = "tables.xlsx") -> Path:
    return W.write_comparison_workbook([demo["comparison"]["changes"], demo["comparison"]["model"]],
                                       demo["root"] / "comparisons" / "2024_vs_2025" / lang / name,
                                       label_a="Baseline 2024", label_b="Follow-up 2025", units=demo["units"],
                                       lang=lang, instrument=instrument())


# --------------------------------------------------------------------------- checking a sheet against its CSV


def _flag(v) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() == "true") or (not isinstance(v, str) and v == 1)


def _hider(col: str, columns) -> str | None:
    prefix = [c for c in columns if c.endswith("_suppressed") and col.startswith(c[: -len("suppressed")])]
    return prefix[0] if prefix else ("suppressed" if "suppressed" in columns else None)


def assert_sheet_matches(ws, csv: Path, lang: str, names: dict[str, str]) -> int:
    """Every cell of the sheet is the CSV's: numbers equal as numbers, booleans as booleans, text as text
    (never a formula), blank where the CSV is blank, or the hidden word (grey italic) where the CSV is blank
    in a row marked suppressed; a name column after each unit-id column; headers from the catalogue.
    Returns the number of hidden cells."""
    df = pd.read_csv(csv, **W.CSV_READ)
    cat = text(lang)["workbook"]["columns"]
    cols = W.sheet_columns(df)
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == [cat[c] for c in cols]
    assert all(c.font.b for c in rows[0])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(cols))}{len(df) + 1}"
    assert len(rows) == len(df) + 1
    hidden = 0
    for rec, cells in zip(df.to_dict("records"), rows[1:]):
        assert len(cells) == len(cols)
        for col, cell in zip(cols, cells):
            w = cell.value
            assert cell.data_type != "f", (csv.name, col, w)
            if col not in df.columns:                              # <unit id column>_name
                uid = rec[col[: -len("_name")]]
                assert w == (None if pd.isna(uid) else names.get(uid)), (csv.name, col)    # a block row: kinds
                continue
            v = rec[col]
            if isinstance(v, float) and math.isnan(v):
                if w is None:
                    continue
                hider = _hider(col, df.columns)
                assert w == HIDDEN[lang] and hider and _flag(rec[hider]), (csv.name, col, w)
                assert cell.font.i and cell.font.color.rgb == "FF808080"
                hidden += 1
            elif isinstance(v, bool):
                assert w is v, (csv.name, col)
            elif isinstance(v, str):
                assert w == v and cell.data_type == "s", (csv.name, col, v, w)
            else:
                assert isinstance(w, (int, float)) and not isinstance(w, bool) and w == v, (csv.name, col, v, w)
    return hidden


# --------------------------------------------------------------------------- tests


def test_header_catalogue_covers_every_column_of_the_demo_in_both_languages(demo):
    tables = {**demo["round"], **demo["comparison"]}
    assert set(demo["round"]) == set(PUBLIC_NAMES)
    for lang in languages():
        cat = text(lang)["workbook"]
        for name, csv in tables.items():
            missing = [c for c in W.sheet_columns(pd.read_csv(csv, **W.CSV_READ)) if c not in cat["columns"]]
            assert not missing, (lang, name, missing)
            assert name in cat["sheets"] and name in cat["descriptions"], (lang, name)
    # and nothing in the catalogue that no table has
    used = {c for csv in tables.values() for c in W.sheet_columns(pd.read_csv(csv, **W.CSV_READ))}
    assert set(text("da")["workbook"]["columns"]) == used


def test_sheet_names_are_valid_and_readable():
    for lang in languages():
        cat = text(lang)["workbook"]
        names = [cat["about_sheet"], *cat["sheets"].values()]
        assert len({n.lower() for n in names}) == len(names)
        for n in names:
            assert 0 < len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) and W.sheet_name(n) == n
    assert text("da")["workbook"]["sheets"]["ties"] == "Relationer"
    assert W.sheet_name("a/b:c[d]*e?f\\g" + "x" * 40) == ("a-b-c-d--e-f-g" + "x" * 40)[:31]
    assert W.sheet_name("Om", taken=["om"]) == "Om 2"


@pytest.mark.parametrize("lang", LANGS)
def test_round_workbook_matches_the_csvs_cell_for_cell(demo, lang):
    path = round_book(demo, lang)
    wb = openpyxl.load_workbook(path)
    cat = text(lang)["workbook"]
    order = [n for n in W.ROUND_SHEETS]
    assert wb.sheetnames == [cat["about_sheet"], *(cat["sheets"][n] for n in order)]
    names = unit_names(demo["units"])
    hidden = {n: assert_sheet_matches(wb[cat["sheets"][n]], demo["round"][n], lang, names) for n in order}
    # every blank value cell of a suppressed row says hidden; unsuppressed rows never do
    ties = pd.read_csv(demo["round"]["ties"], **W.CSV_READ)
    assert ties["suppressed"].any() and hidden["ties"] == int(ties.loc[ties["suppressed"]].isna().sum().sum())
    assert hidden["units"] > 0 and hidden["edges"] > 0
    # the About sheet: title with the round label, the contract, each sheet with its CSV file
    about = [[c for c in row if c is not None] for row in wb[cat["about_sheet"]].iter_rows(values_only=True)]
    assert about[0] == [cat["round_title"].format(label="Baseline 2024")]
    assert [cat["contract"]] in about
    for n in order:
        assert [cat["sheets"][n], f"../scores/{n}.csv", cat["descriptions"][n]] in about


@pytest.mark.parametrize("lang", LANGS)
def test_comparison_workbook_matches_the_csvs_cell_for_cell(demo, lang):
    path = comparison_book(demo, lang)
    wb = openpyxl.load_workbook(path)
    cat = text(lang)["workbook"]
    assert wb.sheetnames == [cat["about_sheet"], cat["sheets"]["changes"], cat["sheets"]["model"]]
    names = unit_names(demo["units"])
    assert assert_sheet_matches(wb[cat["sheets"]["changes"]], demo["comparison"]["changes"], lang, names) > 0
    assert_sheet_matches(wb[cat["sheets"]["model"]], demo["comparison"]["model"], lang, names)
    about = [[c for c in row if c is not None] for row in wb[cat["about_sheet"]].iter_rows(values_only=True)]
    assert about[0] == [cat["comparison_title"].format(label_a="Baseline 2024", label_b="Follow-up 2025")]
    assert [cat["sheets"]["changes"], "../changes.csv", cat["descriptions"]["changes"]] in about


def test_hidden_word_and_headers_follow_the_language(demo):
    da = openpyxl.load_workbook(round_book(demo, "da", "da.xlsx"))
    en = openpyxl.load_workbook(round_book(demo, "en", "en.xlsx"))
    assert da.sheetnames[:2] == ["Om", "Organisation"] and en.sheetnames[:2] == ["About", "Organisation"]
    assert "Relationer" in da.sheetnames and "Ties" in en.sheetnames
    da_cells = {c.value for row in da["Relationer"].iter_rows() for c in row}
    en_cells = {c.value for row in en["Ties"].iter_rows() for c in row}
    assert "skjult" in da_cells and "hidden" not in da_cells
    assert "hidden" in en_cells and "skjult" not in en_cells
    assert da["Relationer"]["A1"].value == "Gruppen der svarer (id)"
    assert en["Ties"]["A1"].value == "Group answering (id)"


def test_number_formats(demo):
    wb = openpyxl.load_workbook(round_book(demo, "en", "formats.xlsx"))
    fmt = {}
    for ws in wb.worksheets[1:]:
        heads = [c.value for c in next(ws.iter_rows(max_row=1))]
        for row in ws.iter_rows(min_row=2):
            for h, c in zip(heads, row):
                if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                    fmt.setdefault((ws.title, h), set()).add(c.number_format)
    assert fmt[("Ties", "RC")] == {"0.00"} and fmt[("Ties", "n")] == {"0"}
    assert fmt[("Organisation", "Mean")] == {"0.00"} and fmt[("Organisation", "n")] == {"0"}
    assert fmt[("Units", "Within, n")] == {"0"}
    assert fmt[("Reliability", "Value")] == {"0.000", "0", "0.00E+00"}     # coefficients, k, p of the ANOVA
    cmp = openpyxl.load_workbook(comparison_book(demo, "en", "formats.xlsx"))["Changes"]
    heads = [c.value for c in next(cmp.iter_rows(max_row=1))]
    p = heads.index("p")
    for row in cmp.iter_rows(min_row=2):
        v = row[p].value
        if isinstance(v, float):
            assert row[p].number_format == ("0.000" if v == 0 or v >= 0.001 else "0.00E+00")
    counts = {type(row[heads.index("n before")].value) for row in cmp.iter_rows(min_row=2)}
    assert int in counts and counts <= {int, str}                        # integers, or the hidden word


def test_formula_looking_text_stays_text(tmp_path):
    evil = ["=1+1", "+45 12", "-Skole", "@SUM(A1)", "=HYPERLINK(\"http://x\")", "#N/A", "\t=tab"]
    units = pd.DataFrame({"unit_id": [f"U{i}" for i in range(len(evil))], "name": evil, "kind": "base",
                          "area": evil})
    df = pd.DataFrame({"rater_unit": units["unit_id"], "target_unit": units["unit_id"][::-1].to_numpy(),
                       "measure": evil, "n": range(len(evil)), "suppressed": False})
    csv = tmp_path / "ties.csv"
    write_csv(df, csv)                                     # the CSV neutralises: "'=1+1"
    direct = tmp_path / "direct.xlsx"
    W.write_round_workbook({"ties": csv, "units": units}, direct, label="=cmd|' /C calc'!A0", units=units,
                           lang="en")
    wb = openpyxl.load_workbook(direct)
    ties, unit_sheet = wb["Ties"], wb["Units"]
    assert [c.value for c in ties["B"][1:]] == evil                        # names from the register, verbatim
    assert [c.value for c in ties["E"][1:]] == pd.read_csv(csv, **W.CSV_READ)["measure"].tolist()
    assert [c.value for c in unit_sheet["B"][1:]] == evil                  # text of a frame, verbatim
    assert wb["About"]["A1"].value.endswith("=cmd|' /C calc'!A0")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type in ("s", "n", "b"), (ws.title, c.coordinate, c.value, c.data_type)
    with zipfile.ZipFile(direct) as z:
        xml = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>" not in xml and b"<f " not in xml and b't="e"' not in xml and b't="str"' not in xml


def test_same_input_gives_the_same_bytes(demo):
    a, b = round_book(demo, "da", "a.xlsx"), round_book(demo, "da", "b.xlsx")
    assert a.read_bytes() == b.read_bytes()
    c, d = comparison_book(demo, "en", "a.xlsx"), comparison_book(demo, "en", "b.xlsx")
    assert c.read_bytes() == d.read_bytes()
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {W.FIXED_TIME}
        core = z.read("docProps/core.xml").decode()
    assert "2024-01-01T00:00:00Z" in core and core.count("2024-01-01T00:00:00Z") == 2


def test_item_columns_without_a_catalogue_entry_take_the_instrument_label():
    inst = instrument()
    item = inst.items[0]
    assert W.header(item.key, "da", inst) == text("da")["workbook"]["columns"][item.key]

    class Custom:
        key = "trust"

        def label(self, lang):
            return {"da": "Tillid", "en": "Trust"}[lang]

    class Inst:
        items = (Custom(),)

    assert W.header("trust", "da", Inst()) == "Tillid"
    assert W.header("rwg_trust", "en", Inst()) == "Agreement rwg: Trust"
    assert W.header("unknown_column", "en") == "unknown_column"


def test_no_reader_facing_words_in_the_module():
    assert _reader_strings(SRC / "workbook.py") == []


@pytest.mark.slow
def test_the_workflow_writes_workbooks_that_match_its_csvs(workflow_runs):
    """The demo run: results/R/tables.xlsx and results/comparisons/C/tables.xlsx, every sheet its CSV."""
    work, proc = workflow_runs["demo"][0]
    assert proc.returncode == 0, proc.stderr[-4000:]
    from relcoord.registry import load_units

    res = work / "results"
    names = unit_names(load_units(work / "config" / "units.tsv", ["2024", "2025"]))
    lang = "da"                                                       # the demo's report.language
    cat = text(lang)["workbook"]
    for rnd in ("2024", "2025"):
        wb = openpyxl.load_workbook(res / rnd / "tables.xlsx")
        assert wb.sheetnames == [cat["about_sheet"], *(cat["sheets"][n] for n in W.ROUND_SHEETS)]
        for n in W.ROUND_SHEETS:
            assert_sheet_matches(wb[cat["sheets"][n]], res / rnd / "scores" / f"{n}.csv", lang, names)
    for book in sorted(res.glob("comparisons/*/tables.xlsx")):
        wb = openpyxl.load_workbook(book)
        for n in W.COMPARISON_SHEETS:
            assert_sheet_matches(wb[cat["sheets"][n]], book.parent / f"{n}.csv", lang, names)
