"""Rule index: results/index.html linking every round and comparison report."""

from pathlib import Path

from relcoord.report import index_page
from relcoord.runner import run_step


def main(sm):
    cfg = sm.config
    out = Path(sm.output[0])
    rounds = [{"id": r, "label": v.get("label", r), "date": v["date"],
               "href": str(Path(p).relative_to(out.parent))}
              for (r, v), p in zip(cfg["rounds"].items(), sm.input.rounds)]
    comparisons = [{"id": f"{c['baseline']}_vs_{c['followup']}",
                    "label": f"{cfg['rounds'][c['baseline']].get('label', c['baseline'])} → "
                             f"{cfg['rounds'][c['followup']].get('label', c['followup'])}",
                    "href": str(Path(p).relative_to(out.parent))}
                   for c, p in zip(cfg["comparisons"], sm.input.comparisons)]
    # provenance.json is written after the index (it fingerprints it): linked, not an input
    out.write_text(index_page(rounds, comparisons, lang=cfg["report"]["language"], title=cfg["report"]["title"],
                              provenance_href="provenance.json"), encoding="utf-8")


run_step(lambda: main(snakemake), snakemake.log[0], "index page")
