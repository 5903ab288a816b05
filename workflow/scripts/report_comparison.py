"""Rule report_comparison: changes + models -> figures + report.html."""

import json
from pathlib import Path

import pandas as pd

from relcoord.compare import shared_network_pairs
from relcoord.config import round_order
from relcoord.figures import comparison_figures
from relcoord.instrument import load_instrument
from relcoord.registry import load_memberships, load_units
from relcoord.report import comparison_report, config_hash
from relcoord.runner import run_step
from relcoord.stages import comparison_config, public_tables


def main(sm):
    cfg, cid = sm.config, sm.wildcards.comparison
    c = comparison_config(cfg, cid)
    order = round_order(cfg)
    units = load_units(sm.input.units, order)
    memberships = load_memberships(sm.input.memberships, units, order)
    instrument = load_instrument(sm.input.instrument)
    changes, model = pd.read_csv(sm.input.changes), pd.read_csv(sm.input.model)
    public_a, public_b = public_tables(sm.input.baseline_public), public_tables(sm.input.followup_public)
    label_a = cfg["rounds"][c["baseline"]].get("label", c["baseline"])
    label_b = cfg["rounds"][c["followup"]].get("label", c["followup"])
    figures = comparison_figures(changes, model, units, instrument, cfg, Path(sm.output.report).parent / "figures",
                                 shared_pairs=shared_network_pairs(memberships, c["followup"], order, units),
                                 public_a=public_a, public_b=public_b, label_a=label_a, label_b=label_b)
    summaries = {c["baseline"]: json.loads(Path(sm.input.baseline_summary).read_text(encoding="utf-8")),
                 c["followup"]: json.loads(Path(sm.input.followup_summary).read_text(encoding="utf-8"))}
    html = comparison_report(cid, label_a, label_b, changes, model, figures, units, instrument, cfg,
                             provenance={"config_sha256": config_hash(cfg)}, summaries=summaries,
                             public_a=public_a, public_b=public_b)
    Path(sm.output.report).write_text(html, encoding="utf-8")


run_step(lambda: main(snakemake), snakemake.log[0], f"report of comparison {snakemake.wildcards.comparison}")
