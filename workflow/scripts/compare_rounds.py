"""Rule compare_rounds: two rounds' respondent-level scores -> changes, models."""

import pandas as pd

from relcoord.outputs import write_csv
from relcoord.registry import load_memberships, load_units
from relcoord.runner import decode_values, run_step
from relcoord.stages import compare, public_tables


def main(sm):
    v = decode_values(sm.params.values)
    order = v["round_order"]
    units = load_units(sm.input.units, order)
    tables = compare(pd.read_parquet(sm.input.baseline_ties), pd.read_parquet(sm.input.baseline_respondents),
                     pd.read_parquet(sm.input.followup_ties), pd.read_parquet(sm.input.followup_respondents),
                     units, load_memberships(sm.input.memberships, units, order), baseline=v["baseline"],
                     followup=v["followup"], round_order=order, min_group_size=v["min_group_size"], seed=v["seed"],
                     panel_key=v["panel_key"], public_a=public_tables(sm.input.baseline_public),
                     public_b=public_tables(sm.input.followup_public))
    write_csv(tables["changes"], sm.output.changes)
    write_csv(tables["model"], sm.output.model)


run_step(lambda: main(snakemake), snakemake.log[0], f"comparison {snakemake.wildcards.comparison}")
