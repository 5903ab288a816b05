"""Rule compare_rounds: two rounds' respondent-level scores -> changes, models."""

import pandas as pd

from relcoord.config import round_order
from relcoord.outputs import write_csv
from relcoord.registry import load_memberships, load_units
from relcoord.runner import run_step
from relcoord.stages import compare, public_tables


def main(sm):
    order = round_order(sm.config)
    units = load_units(sm.input.units, order)
    tables = compare(pd.read_parquet(sm.input.baseline_ties), pd.read_parquet(sm.input.baseline_respondents),
                     pd.read_parquet(sm.input.followup_ties), pd.read_parquet(sm.input.followup_respondents),
                     units, load_memberships(sm.input.memberships, units, order), sm.config,
                     sm.wildcards.comparison, public_tables(sm.input.baseline_public),
                     public_tables(sm.input.followup_public))
    write_csv(tables["changes"], sm.output.changes)
    write_csv(tables["model"], sm.output.model)


run_step(lambda: main(snakemake), snakemake.log[0], f"comparison {snakemake.wildcards.comparison}")
