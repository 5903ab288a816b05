"""Rule score_round: validated tables -> scores, reliability, agreement."""

import pandas as pd

from relcoord.config import Scoring
from relcoord.instrument import load_instrument
from relcoord.outputs import write_csv, write_parquet
from relcoord.registry import load_units, units_in_round
from relcoord.runner import decode_values, log, run_step
from relcoord.stages import measurement, score_and_assess

PUBLIC = ("ties", "units", "blocks", "edges", "organisation", "reliability", "agreement")
INTERNAL = ("respondent_ties", "respondent_index")


def main(sm):
    v = decode_values(sm.params.values)
    order = v["round_order"]
    units = units_in_round(load_units(sm.input.units, order), v["round"], order)
    instrument = load_instrument(sm.input.instrument)
    internal, public = score_and_assess(pd.read_parquet(sm.input.responses), pd.read_parquet(sm.input.respondents),
                                        units, instrument,
                                        scoring=Scoring.from_values(v["scoring"]), k=v["min_group_size"],
                                        seed=v["seed"])
    for name in PUBLIC:
        write_csv(public[name], sm.output[name])
    for name in INTERNAL:
        write_parquet(internal[name], sm.output[name])
    for name, table in measurement(internal["respondent_ties"], instrument).items():
        write_csv(table, sm.output[name])
    t = public["ties"]
    log.info("%d ties, %d suppressed", len(t), int(t["suppressed"].sum()))


run_step(lambda: main(snakemake), snakemake.log[0], f"scoring of round {snakemake.wildcards.round}")
