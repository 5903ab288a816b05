"""Rule report_comparison: changes + models -> figures + report.html + tables.xlsx."""

import json
from pathlib import Path

import pandas as pd

from relcoord.figures import comparison_figures
from relcoord.instrument import load_instrument
from relcoord.registry import load_memberships, load_units, units_in_language, shared_network_pairs
from relcoord.report import comparison_report
from relcoord.runner import decode_values, run_step, settings_sha256
from relcoord.stages import public_tables
from relcoord.workbook import write_comparison_workbook


def main(sm):
    v = decode_values(sm.params.values)
    cid, base, follow, order = v["comparison"], v["baseline"], v["followup"], v["round_order"]
    lang, k, bands = v["language"], v["min_group_size"], v["scoring"]["bands"]
    units = units_in_language(load_units(sm.input.units, order), v["language"])
    memberships = load_memberships(sm.input.memberships, units, order)
    instrument = load_instrument(sm.input.instrument)
    changes, model = pd.read_csv(sm.input.changes), pd.read_csv(sm.input.model)
    public_a, public_b = public_tables(sm.input.baseline_public), public_tables(sm.input.followup_public)
    label_a, label_b = v["rounds"][base]["label"], v["rounds"][follow]["label"]
    figures = comparison_figures(changes, model, units, instrument, sm.output.figures, lang=lang, k=k, bands=bands,
                                 shared_pairs=shared_network_pairs(memberships, follow, order, units),
                                 public_a=public_a, public_b=public_b, label_a=label_a, label_b=label_b)
    summaries = {base: json.loads(Path(sm.input.baseline_summary).read_text(encoding="utf-8")),
                 follow: json.loads(Path(sm.input.followup_summary).read_text(encoding="utf-8"))}
    html = comparison_report(cid, label_a, label_b, changes, model, figures, units, instrument,
                             provenance={"settings_sha256": settings_sha256(sm.params.values)}, lang=lang, k=k,
                             bands=bands, title=v["title"],
                             round_labels={r: x["label"] for r, x in v["rounds"].items()},
                             invited={r: x["invited"] for r, x in v["rounds"].items()},
                             summaries=summaries, public_a=public_a, public_b=public_b,
                             invariance=pd.read_csv(sm.input.invariance))
    Path(sm.output.report).write_text(html, encoding="utf-8")
    write_comparison_workbook([sm.input.changes, sm.input.model], sm.output.tables, label_a=label_a, label_b=label_b,
                              units=units, lang=lang, instrument=instrument)


run_step(lambda: main(snakemake), snakemake.log[0], f"report of comparison {snakemake.wildcards.comparison}")
