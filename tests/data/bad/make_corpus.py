"""Build the corpus of malformed and hostile exports (deterministic).

    python tests/data/bad/make_corpus.py [OUT_DIR]      (default: this folder)

Writes, under OUT_DIR:

- ``units.tsv``, ``memberships.tsv``: a small municipality (Danish letters in
  unit names on purpose);
- ``codebooks/<format>.yaml``: one codebook per format;
- ``files/...``: the bad files, each small and named after what is wrong;
- ``corpus.yaml``: one entry per file -- its format, codebook and reader
  options, what is wrong with it, and the expected outcome: ``stop`` (a
  RelcoordError naming the file -- and the row when ``row`` is given --
  whose text matches ``match``) or ``records`` (ingest goes on: the rules that
  must appear in failures, and the counts of valid and quarantined records);
  ``ceiling: true`` marks a file whose quarantined share stops the round at
  the validation ceiling; ``missing_units`` lists the base units left without
  a valid respondent, which stop the round (``validation.accept_missing_units``
  is empty in the corpus config);
- ``config.yaml``: a workflow config with one round per entry, so every file
  can be checked with ``relcoord check FILE --config config.yaml --base OUT_DIR
  --round ID``.

Files larger than 256 KB (``huge_*``) are generated but not committed (see
``.gitignore``); tests/test_bad_input.py regenerates the whole corpus and checks
that the committed files are byte-identical to a fresh build.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ITEMS = ["frequent", "timely", "accurate", "problem_solving", "shared_goals", "shared_knowledge", "mutual_respect"]
UNITS = [("HJP", "Hjemmeplejen", "base", "Social og Sundhed", "Hjemmepleje"),
         ("TRR", "Træning og Rehabilitering", "base", "Social og Sundhed", "Træning"),
         ("PPR", "Pædagogisk Psykologisk Rådgivning", "base", "Børn og Unge", "PPR"),
         ("AEB", "Ældre- og Bostøtte Øst", "base", "Social og Sundhed", "")]
NETWORKS = [("N-TI", "Netværk for tidlig indsats")]
TARGETS = [u[0] for u in UNITS] + [n[0] for n in NETWORKS]
NAMES = {u[0]: u[1] for u in UNITS} | {n[0]: n[1] for n in NETWORKS}
N = 8          # records in a base file
FIXED = (2024, 1, 1, 0, 0, 0)

CODEBOOKS = {
    "generic": {"respondent_id": "Respondent", "rater_unit": "Enhed",
                "networks": {"variable": "Netværk", "separator": ","},
                "items": {k: {"pattern": f"q{i + 1}_{{target}}"} for i, k in enumerate(ITEMS)},
                "background": {"Stilling": ["Leder", "Medarbejder", "Andet"]}},
    "qualtrics": {"respondent_id": "ResponseId", "rater_unit": "Q1", "networks": {"variable": "Q2", "separator": ","},
                  "items": {k: f"Q{i + 3}" for i, k in enumerate(ITEMS)}, "answers": "options"},
    "limesurvey": {"respondent_id": "id",
                   "rater_unit": {"variable": "enhed", "codes": {f"A{j + 1}": u[0] for j, u in enumerate(UNITS)}},
                   "networks": {"pattern": "netvaerk[SQ{n}]", "targets": {1: "N-TI"}, "selected": ["Y"]},
                   "items": {k: {"pattern": f"RC{i + 1}[SQ{{n}}]",
                                 "targets": {m + 1: t for m, t in enumerate(TARGETS)}} for i, k in enumerate(ITEMS)},
                   "answers": {"A1": 1, "A2": 2, "A3": 3, "A4": 4, "A5": 5, "A6": "missing"}},
    "spss": {"respondent_id": "id", "rater_unit": "s_1", "networks": "v_2",
             "items": {k: f"s_{i + 3}" for i, k in enumerate(ITEMS)}},
    "canonical": {"respondent_id": "respondent_id", "rater_unit": "rater_unit",
                  "networks": {"variable": "networks", "separator": ";"}, "items": {k: k for k in ITEMS},
                  "values": "scores"},
    "surveyxact": {"respondent_id": "id", "rater_unit": "s_1", "networks": "v_2",
                   "items": {k: f"s_{i + 3}" for i, k in enumerate(ITEMS)}},
}


# --------------------------------------------------------------------------- base tables

def generic_rows(n: int = N, cells: dict | None = None) -> list[list[str]]:
    """Header + n records of the generic layout; ``cells`` = {(record, column): value}."""
    head = ["Respondent", "Enhed", "Netværk"] + [f"q{i + 1}_{t}" for i in range(len(ITEMS)) for t in TARGETS]
    head += ["Stilling", "Bemærkning"]
    rows = [head]
    for r in range(n):
        unit = UNITS[r % len(UNITS)]
        row = {h: str(1 + (r + j) % 5) for j, h in enumerate(head)}
        row.update({"Respondent": f"{1001 + r}", "Enhed": unit[1],
                    "Netværk": NAMES["N-TI"] if unit[0] in ("HJP", "PPR") and r % 2 == 0 else "",
                    "Stilling": "Medarbejder", "Bemærkning": ""})
        for (rr, col), v in (cells or {}).items():
            if rr == r:
                row[col] = v
        rows.append([row[h] for h in head])
    return rows


def to_csv(rows, delim=";", eol="\r\n", quote_all=False) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, lineterminator=eol,
               quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue()


def qualtrics_text(n: int = N, cells: dict | None = None, header_rows: int = 3) -> str:
    names = ["StartDate", "ResponseId", "Q1", "Q2"] + [f"Q{i + 3}_{m + 1}" for i in range(len(ITEMS))
                                                       for m in range(len(TARGETS))]
    texts = ["Start Date", "Response ID", "Hvilken enhed?", "Netværk?"] + [
        f"Spørgsmål {i + 1} - {NAMES[t]}" for i in range(len(ITEMS)) for t in TARGETS]
    opts = {"frequent": ["Slet ikke nok", "Alt for ofte", "Ikke nok", "For ofte", "Tilpas"],
            "timely": ["Aldrig", "Sjældent", "Nogle gange", "Ofte", "Altid"],
            "accurate": ["Aldrig", "Sjældent", "Nogle gange", "Ofte", "Altid"],
            "problem_solving": ["Giver altid andre skylden", "Giver oftest andre skylden", "Hverken eller",
                                "Løser oftest sammen", "Løser altid sammen"],
            "shared_goals": ["Slet ikke", "Lidt", "Delvist", "For det meste", "Fuldstændigt"],
            "shared_knowledge": ["Intet", "Lidt", "Noget", "Meget", "Alt"],
            "mutual_respect": ["Slet ikke", "Lidt", "Delvist", "For det meste", "Fuldstændigt"]}
    rows = [names, texts]
    if header_rows == 3:
        rows.append([json.dumps({"ImportId": f"QID{x[1:]}" if x.startswith("Q") else x}, separators=(",", ":"))
                     for x in names])
    for r in range(n):
        unit = UNITS[r % len(UNITS)]
        row = {"StartDate": "2025-03-01 10:00:00", "ResponseId": f"R_{r:04d}", "Q1": unit[1], "Q2": ""}
        for i, k in enumerate(ITEMS):
            for m in range(len(TARGETS)):
                row[f"Q{i + 3}_{m + 1}"] = opts[k][(r + i + m) % 5]
        for (rr, col), v in (cells or {}).items():
            if rr == r:
                row[col] = v
        rows.append([row[x] for x in names])
    return to_csv(rows, delim=",", eol="\r\n")


def limesurvey_text(n: int = N, cells: dict | None = None) -> str:
    heads = ["id", "submitdate", "enhed", "netvaerk[SQ001]"] + [f"RC{i + 1}[SQ{m + 1:03d}]" for i in range(len(ITEMS))
                                                               for m in range(len(TARGETS))]
    rows = [heads]
    for r in range(n):
        row = {h: f"A{1 + (r + j) % 5}" for j, h in enumerate(heads)}
        row.update({"id": str(r + 1), "submitdate": "2025-03-02 10:00:00", "enhed": f"A{1 + r % len(UNITS)}",
                    "netvaerk[SQ001]": "Y" if r % 4 == 0 else ""})
        for (rr, col), v in (cells or {}).items():
            if rr == r:
                row[col] = v
        rows.append([row[h] for h in heads])
    return to_csv(rows, delim=";", eol="\r\n", quote_all=True)


def canonical_tables(n: int = N) -> tuple[str, str]:
    people = [["respondent_id", "rater_unit", "networks"]]
    answers = [["respondent_id", "rater_unit", "target_unit", "item", "value"]]
    for r in range(n):
        unit = UNITS[r % len(UNITS)][0]
        people.append([f"p{r + 1}", unit, "N-TI" if unit in ("HJP", "PPR") and r % 2 == 0 else ""])
        for m, t in enumerate(TARGETS):
            for i, k in enumerate(ITEMS):
                answers.append([f"p{r + 1}", unit, t, k, str(1 + (r + i + m) % 5)])
    return to_csv(answers, delim=",", eol="\n"), to_csv(people, delim=",", eol="\n")


def sav_frame(n: int = N) -> tuple[pd.DataFrame, dict, dict]:
    data = {"id": [f"{1001 + r}" for r in range(n)], "s_1": [float(1 + r % len(UNITS)) for r in range(n)],
            "v_2_1": [1.0 if r % 4 == 0 else 0.0 for r in range(n)]}
    labels = {"s_1": {float(j + 1): u[1] for j, u in enumerate(UNITS)}, "v_2_1": {0.0: "Ikke valgt", 1.0: "Valgt"}}
    col_labels = {"id": "Respondent", "s_1": "Enhed", "v_2_1": f"Netværk - {NAMES['N-TI']}"}
    for i in range(len(ITEMS)):
        for m, t in enumerate(TARGETS):
            var = f"s_{i + 3}_{m + 1}"
            data[var] = [float(1 + (r + i + m) % 5) for r in range(n)]
            labels[var] = {1.0: "1", 2.0: "2", 3.0: "3", 4.0: "4", 5.0: "5", 9.0: "Ved ikke"}
            col_labels[var] = f"Spørgsmål {i + 1} - {NAMES[t]}"
    return pd.DataFrame(data), labels, col_labels


def sav_bytes(df, labels, col_labels, tmp: Path) -> bytes:
    import pyreadstat
    pyreadstat.write_sav(df, str(tmp), column_labels=col_labels, variable_value_labels=labels)
    raw = bytearray(tmp.read_bytes())
    raw[92:109] = b"01 Jan 2400:00:00"      # the creation stamp: fixed, for byte-identical rebuilds
    tmp.unlink()
    return bytes(raw)


def xlsx_bytes(sheets: dict[str, list[list]], *, literal_strings: bool = True) -> bytes:
    """A workbook with fixed timestamps; strings starting with '=' stay text unless literal_strings=False."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    wb = Workbook(write_only=True)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            cells = []
            for v in row:
                c = WriteOnlyCell(ws, value=v)
                if literal_strings and isinstance(v, str) and v.startswith("="):
                    c.data_type = "s"
                cells.append(c)
            ws.append(cells)
    import datetime as dt
    wb.properties.created = wb.properties.modified = dt.datetime(*FIXED)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>2024-01-01T00:00:00Z\g<2>", content)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED)
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, content)
    return out.getvalue()


def numeric(rows):
    return [rows[0]] + [[int(v) if v.isdigit() and j > 2 else v for j, v in enumerate(r)] for r in rows[1:]]


# --------------------------------------------------------------------------- the corpus

def build(out: Path, instrument: str | Path | None = None) -> list[dict]:
    """Write the corpus into ``out``; ``instrument`` defaults to the repository's config/instrument.yaml
    (as a path relative to ``out``)."""
    import os
    out = Path(out)
    repo_instrument = Path(__file__).resolve().parents[3] / "config" / "instrument.yaml"
    instrument = str(instrument or os.path.relpath(repo_instrument, out.resolve()))
    files = out / "files"
    files.mkdir(parents=True, exist_ok=True)
    (out / "codebooks").mkdir(exist_ok=True)
    rng = np.random.default_rng(20250301)
    entries: list[dict] = []

    def add(name: str, content: bytes | str | dict, fmt: str, what: str, expect: str, *, match: str = "",
            row: int | None = None, rules=(), valid: int | None = None, quarantined: int | None = None,
            reader: dict | None = None, ceiling: bool = False, encoding: str = "utf-8", export: str | None = None,
            missing_units=()):
        path = files / name
        if isinstance(content, dict):        # a folder of files
            path.mkdir(exist_ok=True)
            for fname, data in content.items():
                (path / fname).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        e = {"id": Path(name).stem.replace(".", "_"), "file": f"files/{export or name}",
             "format": fmt, "codebook": f"codebooks/{fmt}.yaml", "what": what, "expect": expect}
        if reader:
            e["reader"] = reader
        if expect == "stop":
            e["match"] = match
            if row is not None:
                e["row"] = row
        else:
            e["rules"] = sorted(rules)
            if valid is not None:
                e["valid"] = valid
            if quarantined is not None:
                e["quarantined"] = quarantined
            if ceiling:
                e["ceiling"] = True
            if missing_units:
                e["missing_units"] = list(missing_units)
        entries.append(e)

    g = generic_rows()
    good = to_csv(g)

    # -- empty, truncated, cut off ------------------------------------------------------------------
    add("empty.csv", b"", "generic", "an empty file (0 bytes)", "stop", match="the file is empty")
    add("bom_only.csv", codecs.BOM_UTF8, "generic", "a UTF-8 byte-order mark and nothing else", "stop",
        match="the file is empty")
    add("blank_lines_only.csv", "\r\n\r\n   \r\n", "generic", "only blank lines", "stop", match="the file is empty")
    add("header_only.csv", to_csv(g[:1]), "generic", "the header row and no records", "stop",
        match="header but no respondent rows")
    last = good.rstrip("\r\n").split("\r\n")[-1]
    add("truncated_last_line.csv", good[:len(good) - len(last) // 2 - 2], "generic",
        "the last line is cut off half-way (a copy interrupted): kept with its missing cells blank, and warned",
        "records", rules={"truncated_row"}, valid=N, quarantined=0)
    add("truncated_inside_quotes.csv", to_csv(generic_rows(cells={(N - 1, "Bemærkning"): 'Vi mangler; "tid"'}))
        [:-12], "generic", "the file ends inside a quoted value", "stop", match="never closed", row=N + 1)

    # -- delimiters ---------------------------------------------------------------------------------------
    add("wrong_delimiter_declared.csv", good, "generic", "';'-separated, but the config declares ','", "stop",
        match="looks semicolon-separated", reader={"delimiter": ","})
    add("unquoted_delimiter_in_value.csv",
        good.replace("Medarbejder", "Medarbejder;vikar", 3), "generic",
        "a value holds the delimiter without quotes: the row has one field too many", "stop",
        match="fields but the header has", row=2)
    add("trailing_delimiters.csv", to_csv(g).replace("\r\n", ";\r\n"), "generic",
        "every line ends with an extra ';' (an empty last column)", "records", valid=N, quarantined=0)
    add("mac_classic_line_ends.csv", to_csv(g, eol="\r"), "generic", "old Mac line ends (CR only)", "records",
        valid=N, quarantined=0)
    add("tab_separated_as_txt.csv", to_csv(g, delim="\t"), "generic", "tab-separated, detected", "records",
        valid=N, quarantined=0)

    # -- encodings -----------------------------------------------------------------------------------------
    add("utf8_declared_latin1.csv", good, "generic", "UTF-8 with Danish letters, declared latin-1", "stop",
        match="but it is UTF-8", reader={"encoding": "latin-1"})
    add("latin1_declared_utf8.csv", good, "generic", "cp1252 with Danish letters, declared utf-8", "stop",
        match="cannot decode the file as utf-8", row=1, reader={"encoding": "utf-8"}, encoding="cp1252")
    add("danish_cp1252.csv", good, "generic", "Danish letters in unit names, cp1252 (detected)", "records",
        valid=N, quarantined=0, encoding="cp1252")
    add("danish_utf8_bom.csv", good, "generic", "Danish letters in unit names, UTF-8 with BOM", "records",
        valid=N, quarantined=0, encoding="utf-8-sig")
    add("danish_utf16le_bom.csv", good, "generic", "Danish letters in unit names, UTF-16 LE with BOM", "records",
        valid=N, quarantined=0, encoding="utf-16")
    add("danish_utf16le_no_bom.csv", good, "generic", "Danish letters in unit names, UTF-16 LE without BOM",
        "records", valid=N, quarantined=0, encoding="utf-16-le")
    add("danish_nfd.csv", unicodedata.normalize("NFD", good), "generic",
        "Danish letters decomposed (NFD: a + combining ring, as macOS writes)", "records", valid=N, quarantined=0)
    add("nul_bytes.csv", good.encode("utf-8")[:300] + b"\x00\x00\x00" + good.encode("utf-8")[300:], "generic",
        "NUL bytes inside the text", "stop", match="NUL characters")
    add("bom_in_the_middle.csv", good + "\ufeff" + good, "generic",
        "two exports concatenated: a BOM and a second header row in the middle", "records",
        rules={"unknown_unit", "not_a_code", "duplicate_respondent_id"}, valid=0, quarantined=2 * N + 1, ceiling=True,
        missing_units=[u[0] for u in UNITS])
    add("random_bytes.csv", rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), "generic",
        "3000 random bytes", "stop", match="NUL characters")

    # -- cells ---------------------------------------------------------------------------------------------
    add("mixed_decimal_separators.csv",
        to_csv(generic_rows(cells={(0, "q1_HJP"): "4,0", (0, "q2_TRR"): "4.0", (1, "q1_HJP"): "4 ",
                                   (1, "q3_PPR"): " 3,00 ", (2, "q1_HJP"): "4,5", (3, "q1_HJP"): "1.000,0"})),
        "generic", "4,0 / 4.0 / '4 ' / ' 3,00 ' read as codes; 4,5 and 1.000,0 are no codes", "records",
        rules={"not_a_code"}, valid=N - 2, quarantined=2)
    add("codes_as_text.csv", to_csv(generic_rows(cells={(2, "q2_HJP"): "Ofte", (4, "q5_TRR"): "Meget"})), "generic",
        "answer texts in a codes export", "records", rules={"not_a_code"}, valid=N - 2, quarantined=2)
    add("out_of_range_and_missing_codes.csv",
        to_csv(generic_rows(cells={(0, "q1_HJP"): "7", (1, "q1_HJP"): "0", (2, "q1_HJP"): "9", (3, "q1_HJP"): "6",
                                   (4, "q1_HJP"): "-1"})),
        "generic", "7, 0 and -1 are out of range; 6 and 9 are missing codes", "records",
        rules={"code_out_of_range"}, valid=N - 3, quarantined=3, missing_units=["HJP"])
    add("formula_cells.csv",
        to_csv(generic_rows(cells={(0, "q1_HJP"): "=1+1", (1, "q2_HJP"): "@SUM(A1:A9)", (2, "Bemærkning"):
                                   '=HYPERLINK("http://example.invalid","klik")', (3, "Respondent"): "=2+5",
                                   (4, "q3_HJP"): "+4", (5, "q4_HJP"): "-3"})),
        "generic", "cells starting with =, @, + and - (spreadsheet formulas / injection; '+4' is no plain code)",
        "records", rules={"not_a_code", "code_out_of_range"}, valid=N - 4, quarantined=4, missing_units=["HJP", "TRR"])
    add("unknown_unit_names.csv",
        to_csv(generic_rows(cells={(1, "Enhed"): "Ukendt afdeling", (2, "Enhed"): "Hjemmeplejen Nord"})),
        "generic", "base units that are not in the register", "records", rules={"unknown_unit"}, valid=N - 2,
        quarantined=2)
    add("alias_and_case_units.csv",
        to_csv(generic_rows(cells={(0, "Enhed"): "  HJEMMEPLEJEN ", (1, "Enhed"): "træning", (2, "Enhed"): "ppr"})),
        "generic", "unit names in other case, with blanks, and as aliases", "records", valid=N, quarantined=0)
    add("unknown_network_name.csv",
        to_csv(generic_rows(cells={(0, "Netværk"): "Netværk for tidlig indsats, Ukendt netværk"})), "generic",
        "a network that is not in the register", "records", rules={"unknown_network"}, valid=N, quarantined=0)
    add("duplicated_respondents.csv",
        to_csv(generic_rows(cells={(3, "Respondent"): "1001", (5, "Respondent"): " 1001 "})), "generic",
        "one respondent id on three rows (one with blanks)", "records", rules={"duplicate_respondent_id"},
        valid=N - 3, quarantined=3)
    add("blank_ids_and_units.csv",
        to_csv(generic_rows(cells={(0, "Respondent"): "", (1, "Enhed"): "   "})), "generic",
        "an empty respondent id and an empty base unit", "records",
        rules={"missing_respondent_id", "missing_rater_unit"}, valid=N - 2, quarantined=2)
    blank_mid = to_csv(g).split("\r\n")
    blank_mid.insert(4, "")
    add("blank_row_in_the_middle.csv", "\r\n".join(blank_mid), "generic",
        "an empty line between records: an empty record, set aside and listed", "records",
        rules={"missing_respondent_id"}, valid=N, quarantined=1)
    add("control_characters.csv",
        to_csv(generic_rows(cells={(0, "q1_HJP"): "\x0b4", (1, "Bemærkning"): "a\x07b"})) + "\x1a",
        "generic", "control characters: a vertical tab before a code, a bell in free text, a DOS end-of-file mark",
        "records", rules={"missing_rater_unit"}, valid=N, quarantined=1)
    add("all_units_unknown.csv",
        to_csv(generic_rows(cells={(r, "Enhed"): "Ukendt" if r else "Hjemmeplejen" for r in range(N)})), "generic",
        "every record but one names an unknown unit: above the quarantine ceiling", "records",
        rules={"unknown_unit"}, valid=1, quarantined=N - 1, ceiling=True, missing_units=["TRR", "PPR", "AEB"])

    # -- header --------------------------------------------------------------------------------------------
    dup = [list(r) for r in g]
    dup[0][5] = dup[0][4]
    add("duplicate_column_names.csv", to_csv(dup), "generic", "two columns with the same name", "stop",
        match="appears twice in the header", row=1)
    noname = [list(r) for r in g]
    noname[0][-1] = ""
    noname[1][-1] = "tekst"
    add("column_without_name.csv", to_csv(noname), "generic", "a column with values but no name", "stop",
        match="has no name in the header row", row=1)
    missing = [[v for j, v in enumerate(r) if j != 7] for r in g]
    add("mapped_column_missing.csv", to_csv(missing), "generic",
        "a column the codebook's pattern implies is missing (q1_N-TI: one unit of one item)", "stop",
        match=r"item frequent has no column for unit\(s\) N-TI")
    renamed = [list(r) for r in g]
    renamed[0][4] = "q1_XYZ"
    add("unknown_target_in_header.csv", to_csv(renamed), "generic",
        "a column stands for a unit that is not in the register", "stop", match="'XYZ', which is not a unit")
    wide = [r + [f"extra{j}" if i == 0 else "" for j in range(5000)] for i, r in enumerate(g)]
    add("very_wide_header.csv", to_csv(wide), "generic", "5000 extra empty columns", "records", valid=N,
        quarantined=0)
    add("huge_free_text_cell.csv", to_csv(generic_rows(cells={(2, "Bemærkning"): "ø" * 3_000_000})), "generic",
        "an enormous line: a 3-million-character free-text cell", "records", valid=N, quarantined=0)

    # -- not the declared format -----------------------------------------------------------------------------
    xlsx = xlsx_bytes({"Svar": numeric(g)})
    add("workbook_named_csv.csv", xlsx, "generic", "an .xlsx workbook named .csv", "stop", match="zip archive")
    add("csv_named_xlsx.xlsx", good, "generic", "CSV text named .xlsx", "stop", match="not an Excel .xlsx workbook")
    add("sav_declared_generic.csv", b"$FL2@(#) IBM SPSS STATISTICS" + b"\x00" * 100, "generic",
        "an SPSS file declared generic", "stop", match="SPSS")
    add("pdf_declared_qualtrics.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "qualtrics",
        "a PDF declared as a Qualtrics export", "stop", match="PDF document")
    add("csv_declared_spss.sav", good, "spss", "CSV text declared as SPSS .sav", "stop",
        match="not an SPSS .sav file")

    # -- Excel ------------------------------------------------------------------------------------------------
    add("workbook_missing_sheet.xlsx", xlsx_bytes({"Forside": [["Titel"]], "Data": numeric(g)}), "generic",
        "the configured sheet does not exist", "stop", match="no sheet named 'Svar'", reader={"sheet": "Svar"})
    add("workbook_empty_sheet.xlsx", xlsx_bytes({"Svar": []}), "generic", "the sheet is empty", "stop",
        match="sheet is empty", reader={"sheet": "Svar"})
    add("workbook_formula_text.xlsx",
        xlsx_bytes({"Svar": numeric(generic_rows(cells={(1, "q1_HJP"): "=1+1", (2, "q2_TRR"): "4,0"}))}),
        "generic", "text cells '=1+1' and '4,0' in a workbook", "records", rules={"not_a_code"}, valid=N - 1,
        quarantined=1)
    add("workbook_damaged.xlsx", xlsx[: len(xlsx) // 2], "generic", "a workbook cut in half", "stop",
        match="workbook")

    # -- Qualtrics ---------------------------------------------------------------------------------------------
    add("qualtrics_one_header_row.csv", "\r\n".join(qualtrics_text().split("\r\n")[0:1] +
                                                    qualtrics_text().split("\r\n")[3:]),
        "qualtrics", "the question-text and ImportId rows were deleted", "stop", match="header_rows")
    add("qualtrics_declared_two_rows.csv", qualtrics_text(), "qualtrics",
        "three header rows, declared header_rows: 2: the ImportId row becomes a record, set aside", "records",
        rules={"unknown_unit", "not_a_code"}, valid=N, quarantined=1, reader={"header_rows": 2})
    add("qualtrics_unknown_answers.csv", qualtrics_text(cells={(1, "Q3_2"): "Måske", (2, "Q5_1"): "Ved ikke"}),
        "qualtrics", "an answer text that is no option ('Måske'); 'Ved ikke' is missing", "records",
        rules={"not_a_code"}, valid=N - 1, quarantined=1)

    # -- LimeSurvey -------------------------------------------------------------------------------------------
    add("limesurvey_unknown_codes.csv",
        "\ufeff" + limesurvey_text(cells={(0, "RC1[SQ001]"): "A9", (1, "enhed"): "A8", (2, "netvaerk[SQ001]"): "N",
                                          (3, "RC2[SQ003]"): "A6"}),
        "limesurvey", "an unmapped answer code, an unknown unit code, a network flag neither Y nor empty", "records",
        rules={"not_a_code", "unknown_unit", "invalid_network_flag"}, valid=N - 2, quarantined=2)
    lime_bad_quote = "\ufeff" + limesurvey_text().replace('"A3";"A4"', '"A3";"A"4"', 1)
    add("limesurvey_stray_quote.csv", lime_bad_quote, "limesurvey",
        "a stray quote inside a quoted field", "records", rules={"not_a_code"}, valid=N - 1, quarantined=1)
    add("limesurvey_comma_not_semicolon.csv", "\ufeff" + limesurvey_text().replace('";"', '","'), "limesurvey",
        "',' instead of LimeSurvey's default ';' (detected)", "records", valid=N, quarantined=0)

    # -- SPSS ----------------------------------------------------------------------------------------------------
    df, labels, col_labels = sav_frame()
    tmp = out / "_tmp.sav"
    sav = sav_bytes(df, labels, col_labels, tmp)
    add("spss_truncated.sav", sav[: len(sav) // 3], "spss", "a .sav file cut to a third", "stop",
        match="cannot read the SPSS file")
    add("spss_header_only.sav", sav[:200], "spss", "only the first 200 bytes of a .sav file", "stop",
        match="cannot read the SPSS file")
    nolab = {k: v for k, v in labels.items() if k != "s_1"}
    add("spss_unlabelled_units.sav", sav_bytes(df, nolab, col_labels, tmp), "spss",
        "base-unit codes without value labels", "stop", match="no value labels")
    df2 = df.copy()
    df2.loc[1, "s_3_1"] = 9.0
    df2.loc[2, "s_4_2"] = 7.0
    df2.loc[3, "s_1"] = 99.0
    add("spss_codes.sav", sav_bytes(df2, labels, col_labels, tmp), "spss",
        "9 labelled 'Ved ikke' (missing), 7 out of range, unit code 99 unlabelled", "records",
        rules={"code_out_of_range", "unknown_unit"}, valid=N - 2, quarantined=2)

    # -- canonical --------------------------------------------------------------------------------------------------
    answers, people = canonical_tables()
    add("canonical_ok", {"responses.csv": answers, "respondents.csv": people}, "canonical",
        "the canonical tables, valid", "records", valid=N, quarantined=0)
    lines = answers.split("\n")
    per = len(TARGETS) * len(ITEMS)
    lines[5] = lines[5].rsplit(",", 1)[0] + ",9x"                       # p1: not a score
    extra = ["p99,HJP,HJP,timely,3",                                    # not in respondents.csv
             lines[1 + per].rsplit(",", 1)[0] + ",5"]                   # p2: its first answer again, differently
    add(
        "canonical_orphans_conflicts",
        {"responses.csv": "\n".join(lines[:-1] + extra) + "\n", "respondents.csv": people},
        "canonical",
        "answers for an unknown id, a cell answered twice differently, a bad value",
        "records",
        rules={"not_in_respondents", "conflicting_answers", "not_a_code"},
        valid=N - 2,
        quarantined=3,
    )
    add(
        "canonical_missing_value_column",
        {
            "responses.csv": "\n".join(",".join(l.split(",")[:4]) for l in answers.split("\n")),
            "respondents.csv": people,
        },
        "canonical",
        "responses.csv lacks the value column",
        "stop",
        match="required column.*value",
    )
    add(
        "canonical_no_respondents_file",
        {"responses.csv": answers},
        "canonical",
        "respondents.csv is missing",
        "stop",
        match="respondents.csv is missing",
    )
    add(
        "canonical_unknown_target",
        {"responses.csv": answers.replace("p3,PPR,TRR,", "p3,PPR,XYZ,", 1), "respondents.csv": people},
        "canonical",
        "an answer about a unit that is not in the register",
        "stop",
        match="'XYZ'.*responses.csv row",
    )

    # -- SurveyXact (the model reader) ---------------------------------------------------------------------------------
    add(
        "surveyxact_labels_missing",
        {
            "dataset.csv": "id;s_1\n1;1\n",
            "structure.csv": "questionName;variableName;questionType;subType;questionText;choiceValue;choiceText\n",
        },
        "surveyxact",
        "the CSV trio without labels.csv",
        "stop",
        match="labels.csv is missing",
    )
    tmp.unlink(missing_ok=True)
    for name, cb in CODEBOOKS.items():
        (out / "codebooks" / f"{name}.yaml").write_text(
            yaml.safe_dump(cb, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    units = pd.DataFrame(
        [
            dict(unit_id=u, name=n, kind=k, area=a, valid_from="", valid_to="", successor="", aliases=al)
            for u, n, k, a, al in UNITS
        ]
        + [
            dict(unit_id=u, name=n, kind="network", area="", valid_from="", valid_to="", successor="", aliases="")
            for u, n in NETWORKS
        ]
    )
    units.to_csv(out / "units.tsv", sep="\t", index=False, lineterminator="\n")
    pd.DataFrame({"network_id": ["N-TI", "N-TI"], "unit_id": ["HJP", "PPR"], "from_round": "", "to_round": ""}).to_csv(
        out / "memberships.tsv", sep="\t", index=False, lineterminator="\n"
    )
    (out / "corpus.yaml").write_text(
        "# Generated by make_corpus.py: every bad file, what is wrong with it, and the expected outcome.\n"
        + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=120),
        encoding="utf-8",
    )
    rounds = {}
    for k, e in enumerate(entries):
        r = {
            "date": f"{2000 + k // 12:04d}-{k % 12 + 1:02d}-01",
            "format": e["format"],
            "export": e["file"],
            "codebook": e["codebook"],
        }
        if e.get("reader"):
            r["reader"] = e["reader"]
        rounds[e["id"]] = r
    cfg = {
        "units": "units.tsv",
        "memberships": "memberships.tsv",
        "instrument": instrument,
        "rounds": rounds,
        "validation": {"max_quarantined_fraction": 0.5},
    }
    (out / "config.yaml").write_text(
        "# Generated by make_corpus.py: one round per bad file.\n"
        + yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return entries


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    made = build(target)
    print(f"wrote {len(made)} bad files to {target / 'files'}")
