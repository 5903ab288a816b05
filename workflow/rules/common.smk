# Config validation, round lists and helper functions shared by the rules.
import json
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from relcoord.config import check_config, normalise_keys, round_order
from relcoord.errors import RelcoordError
from relcoord.registry import load_memberships, load_units
from relcoord.figures import COMPARISON_FIGURES, ROUND_FIGURES
from relcoord.schema import validate as check_schema
from relcoord.stages import PUBLIC_NAMES as PUBLIC_TABLES

normalise_keys(config)
try:
    # The library's check first: one line per problem, naming the key path and
    # the allowed keys; then Snakemake's own validate (which also fills defaults).
    check_schema(config, "config.schema.yaml", "config/config.yaml")
    validate(config, schema="../schemas/config.schema.yaml")
    check_config(config)
    ROUND_ORDER = round_order(config)
    UNITS = load_units(config["units"], ROUND_ORDER)
    MEMBERSHIPS = load_memberships(config["memberships"], UNITS, ROUND_ORDER)
except RelcoordError as err:
    raise WorkflowError(str(err)) from None

ROUNDS = list(config["rounds"])
COMPARISONS = {f"{c['baseline']}_vs_{c['followup']}": c for c in config["comparisons"]}


wildcard_constraints:
    round="|".join(map(re.escape, ROUNDS)),
    comparison="|".join(map(re.escape, COMPARISONS)) or "NO_COMPARISON",


def round_export_files(round_id):
    """Every file of a round's export: the folder's files, or the workbook."""
    path = Path(config["rounds"][round_id]["export"])
    if path.is_dir():
        return sorted(str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return [str(path)]


def export_files(wildcards):
    return round_export_files(wildcards.round)


def config_files():
    """The config files this run read (the Snakefile's and any --configfile),
    once each, relative to the project folder when inside it."""
    here = Path.cwd().resolve()
    out = {}
    for f in workflow.configfiles:
        full = Path(f).resolve()
        out.setdefault(full, str(full.relative_to(here)) if full.is_relative_to(here) else str(full))
    return sorted(out.values())


def settings(*sections, entry=True):
    """Input function for `params: settings=...`: the config sections a rule's
    script reads, plus (``entry``) its round's or comparison's entry. Snakemake
    reruns a job when its params change, so a changed setting
    (privacy.min_group_size, scoring, seed, a round's label, report.language,
    ...) reruns exactly the jobs that use it, and no result is left computed
    under an old config."""

    def fn(wildcards):
        out = {}
        for s in sections:  # a section, or "section.key"
            top, _, key = s.partition(".")
            out[s] = config.get(top, {}).get(key) if key else config.get(top)
        rnd = getattr(wildcards, "round", None) if entry else None
        if rnd is not None:
            out["round"] = config["rounds"][rnd]
        cid = getattr(wildcards, "comparison", None) if entry else None
        if cid is not None:
            c = COMPARISONS[cid]
            out["comparison"] = c
            out["rounds"] = {r: config["rounds"][r] for r in (c["baseline"], c["followup"])}
        # canonical JSON: the same settings written in another key order are the same params
        return json.dumps(out, sort_keys=True, ensure_ascii=False, default=str)

    return fn


def codebook_file(wildcards):
    return config["rounds"][wildcards.round]["codebook"]


def comparison_input(side, table):
    """Input function: a table of the comparison's baseline or follow-up round."""
    outputs = {"respondent_ties": rules.score_round.output.respondent_ties,
               "respondents": rules.validate_round.output.respondents,
               "summary": rules.validate_round.output.summary}

    def path(wildcards):
        return outputs[table].format(round=COMPARISONS[wildcards.comparison][side])

    return path


FIGURE_CATEGORY = {"rc_matrix": "RC matrix", "rc_map": "RC map", "dimension_profile": "Dimensions",
                   "item_distributions": "Answers", "response_overview": "Response",
                   "forest_changes": "Changes", "tie_dumbbell": "Changes", "network_effect": "Network effect"}


def round_public_tables(wildcards):
    """A round's reader-facing score tables (CSV; the file stem names the table)."""
    return [rules.score_round.output[name].format(round=wildcards.round) for name in PUBLIC_TABLES]


def comparison_public(side):
    """Input function: the reader-facing score tables of a comparison's round."""

    def paths(wildcards):
        rnd = COMPARISONS[wildcards.comparison][side]
        return [rules.score_round.output[name].format(round=rnd) for name in PUBLIC_TABLES]

    return paths


def _figures(folder, stems, category):
    """Figure outputs (PNG and SVG), each marked for `snakemake --report`."""
    mark = report  # (a line may not start with `report`: Snakemake reads it as the keyword)
    return [
        mark(f"{folder}/figures/{stem}.{ext}", caption=f"../report/{stem}.rst", category=category,
             subcategory=FIGURE_CATEGORY[stem], labels={"figure": stem, "format": ext})
        for stem in stems for ext in ("png", "svg")
    ]


def round_figure_outputs():
    return _figures("results/{round}", ROUND_FIGURES, "Round {round}")


def comparison_figure_outputs():
    return _figures("results/comparisons/{comparison}", COMPARISON_FIGURES, "Comparison {comparison}")


def round_outputs(round_id):
    return [
        *expand(rules.validate_round.output, round=round_id),
        *expand(rules.score_round.output, round=round_id),
        *expand(rules.report_round.output, round=round_id),
    ]


def comparison_outputs(comparison_id):
    return [
        *expand(rules.compare_rounds.output, comparison=comparison_id),
        *expand(rules.report_comparison.output, comparison=comparison_id),
    ]


def result_files():
    """Every result the provenance record fingerprints (all outputs but itself)."""
    return [
        *[f for r in ROUNDS for f in round_outputs(r)],
        *[f for c in COMPARISONS for f in comparison_outputs(c)],
        rules.index.output[0],
    ]


def all_outputs():
    return [*result_files(), rules.provenance.output[0]]
