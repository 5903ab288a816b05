"""Rule benchmark_pool: the organisations' published figures -> pool.csv, a position file and page each."""

from pathlib import Path

import pandas as pd

from relcoord.benchmark import (benchmark_page_html, benchmark_section, pool, positions, read_published_figures,
                                write_table)
from relcoord.runner import decode_values, log, run_step


def main(sm):
    v = decode_values(sm.params.values)
    orgs = v["organisations"]
    parts = []
    for (org, period, _round), o, b, u in zip(v["entries"], sm.input.organisation, sm.input.blocks, sm.input.units):
        f = read_published_figures(organisation=o, blocks=b, units=u, min_group_size=orgs[org]["min_group_size"])
        parts.append(f.assign(organisation=org, period=period))
    figures = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["organisation", "period", "level", "block", "unit_id", "measure", "value"])
    table = pool(figures, v["min_organisations"])
    write_table(table, sm.output.pool)
    log.info("%d organisations, %d pool rows, %d suppressed", len(orgs), len(table), int(table["suppressed"].sum()))
    for path_csv, path_html in zip(sm.output.positions, sm.output.pages):
        org = Path(path_csv).stem
        pos = positions(figures, table, org)
        write_table(pos, path_csv)
        lang = orgs[org]["language"]
        section = benchmark_section(pos, lang, pool_table=table, min_organisations=v["min_organisations"])
        Path(path_html).write_text(benchmark_page_html(section, lang, orgs[org]["title"]), encoding="utf-8")


run_step(lambda: main(snakemake), snakemake.log[0], "the benchmark pool")
