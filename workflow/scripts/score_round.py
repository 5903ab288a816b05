"""Rule score_round: validated tables -> scores, reliability, agreement."""

import json
from pathlib import Path

import pandas as pd

from relcoord.config import Scoring
from relcoord.instrument import load_instrument
from relcoord.outputs import write_csv, write_parquet
from relcoord.registry import load_units, units_in_round
from relcoord.runner import decode_values, log, run_step
from relcoord.stages import measurement, score_and_assess, weighted_figures
from relcoord.weights import empty_weighted, load_staff, staff_in_round

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
    weighted = empty_weighted()
    if len(sm.input.staff):  # the optional staff register: figures weighted to the staff, when the round allows
        summary = json.loads(Path(sm.input.summary[0]).read_text(encoding="utf-8"))
        if summary["response_rates"]["weighted"]:
            staff = load_staff(sm.input.staff[0], load_units(sm.input.units, order), order)
            weighted, info = weighted_figures(internal, public, pd.read_parquet(sm.input.respondents),
                                              staff_in_round(staff, v["round"]), instrument, k=v["min_group_size"],
                                              summary=summary)
            log.info("weighted: %d strata, pooled units %s", info["strata"], ", ".join(info["pooled_units"]) or "none")
        else:
            log.info("no weighted figures: %s", summary["response_rates"]["status"])
    write_csv(weighted, sm.output.weighted)
    t = public["ties"]
    log.info("%d ties, %d suppressed", len(t), int(t["suppressed"].sum()))


run_step(lambda: main(snakemake), snakemake.log[0], f"scoring of round {snakemake.wildcards.round}")
