"""Rule report_round: reader-facing tables -> figures + report.html."""

import json
from pathlib import Path

import pandas as pd

from relcoord.config import round_order
from relcoord.figures import round_figures
from relcoord.instrument import load_instrument
from relcoord.registry import load_units
from relcoord.report import config_hash, round_report
from relcoord.runner import run_step
from relcoord.stages import public_tables


def main(sm):
    cfg, round_id = sm.config, sm.wildcards.round
    units = load_units(sm.input.units, round_order(cfg))
    instrument = load_instrument(sm.input.instrument)
    tables = public_tables(sm.input.tables)
    summary = json.loads(Path(sm.input.summary).read_text(encoding="utf-8"))
    label = cfg["rounds"][round_id].get("label", round_id)
    figures = round_figures(tables, summary, pd.read_parquet(sm.input.responses), units, instrument, cfg,
                            Path(sm.output.report).parent / "figures", round_label=label)
    html = round_report(round_id, label, tables, summary, figures, units, instrument, cfg,
                        provenance={"config_sha256": config_hash(cfg)})
    Path(sm.output.report).write_text(html, encoding="utf-8")


run_step(lambda: main(snakemake), snakemake.log[0], f"report of round {snakemake.wildcards.round}")
