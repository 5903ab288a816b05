"""Rule report_round: reader-facing tables -> figures + report.html + a page per unit (units/)."""

import json
from pathlib import Path

import pandas as pd

from relcoord.benchmark import benchmark_section, read_positions
from relcoord.figures import RESPONSE_COLUMNS, round_figures
from relcoord.instrument import load_instrument
from relcoord.outputs import read_parquet
from relcoord.registry import units_in_language, load_units
from relcoord.present import unit_names
from relcoord.report import round_report
from relcoord.runner import decode_values, run_step, settings_sha256
from relcoord.stages import public_tables
from relcoord.unit_pages import write_unit_pages
from relcoord.workbook import write_round_workbook


def _benchmark(paths, v, units, lang):
    """The report's benchmark section (relcoord.benchmark), when the config has `benchmark:`."""
    b = v.get("benchmark")
    if not b:
        return None
    pool = pd.read_csv(paths[1], keep_default_na=False, na_values=[""]) if b["has_pool"] else None
    return benchmark_section(read_positions(paths[0]), lang, pool_table=pool, period=b["period"],
                             min_organisations=b["min_organisations"], unit_names=unit_names(units))


def main(sm):
    v = decode_values(sm.params.values)
    round_id, label = v["round"], v["label"]
    lang, k, bands = v["language"], v["min_group_size"], v["scoring"]["bands"]
    units = units_in_language(load_units(sm.input.units, v["round_order"]), v["language"])
    instrument = load_instrument(sm.input.instrument)
    tables = public_tables(sm.input.tables)
    summary = json.loads(Path(sm.input.summary).read_text(encoding="utf-8"))
    responses = read_parquet(sm.input.responses, RESPONSE_COLUMNS, categorical=["respondent_id"])
    figures = round_figures(tables, summary, responses, units, instrument,
                            sm.output.figures, lang=lang, k=k, bands=bands, round_label=label)
    html = round_report(round_id, label, tables, summary, figures, units, instrument,
                        provenance={"settings_sha256": settings_sha256(sm.params.values)}, lang=lang, k=k,
                        bands=bands, title=v["title"], min_items=v["scoring"]["min_items"], invited=v["invited"],
                        cfa=pd.read_csv(sm.input.cfa), benchmark=_benchmark(sm.input.benchmark, v, units, lang),
                        weighted=pd.read_csv(sm.input.weighted[0]) if len(sm.input.weighted) else None)
    Path(sm.output.report).write_text(html, encoding="utf-8")
    changes = pd.read_csv(sm.input.changes[0]) if len(sm.input.changes) else None
    write_unit_pages(sm.output.units, tables, summary, units, instrument, round_label=label, lang=lang, k=k,
                     title=v["title"], changes=changes, changes_label=v["previous_label"])
    write_round_workbook(sm.input.tables, sm.output.tables, label=label, units=units, lang=lang, instrument=instrument)


run_step(lambda: main(snakemake), snakemake.log[0], f"report of round {snakemake.wildcards.round}")
