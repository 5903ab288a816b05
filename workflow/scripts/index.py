"""Rule index: results/index.html linking every round and comparison report."""

from pathlib import Path

from relcoord.report import index_page
from relcoord.runner import decode_values, run_step


def main(sm):
    v = decode_values(sm.params.values)
    out = Path(sm.output[0])
    rounds = [{"id": r["id"], "label": r["label"], "date": r["date"], "href": str(Path(p).relative_to(out.parent))}
              for r, p in zip(v["rounds"], sm.input.rounds)]
    comparisons = [{"id": c["id"], "label": f"{c['label_a']} → {c['label_b']}",
                    "href": str(Path(p).relative_to(out.parent))}
                   for c, p in zip(v["comparisons"], sm.input.comparisons)]
    # provenance.json is written after the index (it fingerprints it): linked, not an input
    trends = [str(Path(p).relative_to(out.parent)) for p in sm.input.trends]
    out.write_text(index_page(rounds, comparisons, lang=v["language"], title=v["title"],
                              provenance_href="provenance.json", root=out.parent,
                              trends_href=trends[0] if trends else None), encoding="utf-8")


run_step(lambda: main(snakemake), snakemake.log[0], "index page")
