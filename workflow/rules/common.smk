# Config validation, round lists and helper functions shared by the rules.
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from relcoord.config import check_config, normalise_keys, round_order
from relcoord.errors import RelcoordError
from relcoord.registry import load_memberships, load_units
from relcoord.schema import validate as check_schema

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


def export_files(wildcards):
    """Every file of a round's export: the folder's files, or the workbook."""
    path = Path(config["rounds"][wildcards.round]["export"])
    if path.is_dir():
        return sorted(str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return [str(path)]


def codebook_file(wildcards):
    return config["rounds"][wildcards.round]["codebook"]


def comparison_input(side, table):
    """Input function: a table of the comparison's baseline or follow-up round."""
    outputs = {"respondent_ties": rules.score_round.output.respondent_ties,
               "respondents": rules.validate_round.output.respondents}

    def path(wildcards):
        return outputs[table].format(round=COMPARISONS[wildcards.comparison][side])

    return path


def round_outputs(round_id):
    return [
        *expand(rules.validate_round.output, round=round_id),
        *expand(rules.score_round.output, round=round_id),
    ]


def comparison_outputs(comparison_id):
    return expand(rules.compare_rounds.output, comparison=comparison_id)


def all_outputs():
    return [f for r in ROUNDS for f in round_outputs(r)] + [f for c in COMPARISONS for f in comparison_outputs(c)]
