"""Rule trends: the trend rounds' published tables and respondent-level scores -> trend.csv, model.csv,
figures and report.html."""

from pathlib import Path

import pandas as pd

from relcoord.instrument import load_instrument
from relcoord.outputs import write_csv
from relcoord.registry import units_in_language, load_units, successor_map
from relcoord.runner import decode_values, log, run_step, settings_sha256
from relcoord.stages import public_tables
from relcoord.trend_report import trend_figures, trend_report
from relcoord.trends import trend_tables


def main(sm):
    v = decode_values(sm.params.values)
    rounds, k = v["rounds"], v["min_group_size"]
    units = units_in_language(load_units(sm.input.units, v["round_order"]), v["language"])
    # results/<round>/scores/<table>.csv: the round is the folder above scores/
    public = {r: public_tables([p for p in sm.input.public if Path(p).parent.parent.name == r]) for r in rounds}
    rows = {r: (pd.read_parquet(t), pd.read_parquet(p))
            for r, t, p in zip(rounds, sm.input.respondent_ties, sm.input.respondents)}
    tables = trend_tables(rounds, public, rows, units, k=k, panel_key=v["panel_key"])
    write_csv(tables["trend"], sm.output.trend)
    write_csv(tables["model"], sm.output.model)
    labels = v["labels"]
    figures = trend_figures(tables["trend"], units, sm.output.figures, rounds=rounds, round_labels=labels,
                            lang=v["language"], bands=v["bands"])
    merged = {}
    for old, new in successor_map(units).items():
        merged.setdefault(new, []).append(old)
    html = trend_report(tables["trend"], tables["model"], figures, units, load_instrument(sm.input.instrument),
                        provenance={"settings_sha256": settings_sha256(sm.params.values)}, rounds=rounds,
                        round_labels=labels, lang=v["language"], k=k, bands=v["bands"], title=v["title"],
                        merged={u: sorted(olds) for u, olds in merged.items()})
    Path(sm.output.report).write_text(html, encoding="utf-8")
    t = tables["trend"]
    log.info("%d trend points over %d rounds, %d hidden", len(t), len(rounds), int(t["suppressed"].sum()))


run_step(lambda: main(snakemake), snakemake.log[0], "trends")
