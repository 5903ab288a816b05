"""Rule compare_rounds: two rounds' respondent-level scores -> changes, models, measurement invariance."""

import pandas as pd

from relcoord.outputs import write_csv
from relcoord.registry import load_memberships, load_units
from relcoord.runner import decode_values, run_step
from relcoord.instrument import load_instrument
from relcoord.stages import compare, invariance, public_tables


def main(sm):
    v = decode_values(sm.params.values)
    order = v["round_order"]
    units = load_units(sm.input.units, order)
    rt_a, rt_b = pd.read_parquet(sm.input.baseline_ties), pd.read_parquet(sm.input.followup_ties)
    tables = compare(rt_a, pd.read_parquet(sm.input.baseline_respondents),
                     rt_b, pd.read_parquet(sm.input.followup_respondents),
                     units, load_memberships(sm.input.memberships, units, order), baseline=v["baseline"],
                     followup=v["followup"], round_order=order, min_group_size=v["min_group_size"], seed=v["seed"],
                     panel_key=v["panel_key"], public_a=public_tables(sm.input.baseline_public),
                     public_b=public_tables(sm.input.followup_public))
    write_csv(tables["changes"], sm.output.changes)
    write_csv(tables["model"], sm.output.model)
    write_csv(invariance(rt_a, rt_b, load_instrument(sm.input.instrument)), sm.output.invariance)


run_step(lambda: main(snakemake), snakemake.log[0], f"comparison {snakemake.wildcards.comparison}")
