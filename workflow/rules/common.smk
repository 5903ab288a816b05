# Config validation, round lists and helper functions shared by the rules.
import json
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from relcoord.config import check_round_files, normalise_keys, period_of, settings_from_config
from relcoord.errors import RelcoordError
from relcoord.registry import load_memberships, load_units
from relcoord.figure_names import COMPARISON_FIGURES, ROUND_FIGURES
from relcoord import rule_values  # the values of validate_round and score_round (shared with the consortium)
from relcoord.runner import config_hash, encode_values, settings_sha256
from relcoord.schema import SCHEMA_DIR, validate as check_schema
from relcoord.stages import PUBLIC_NAMES as PUBLIC_TABLES
from relcoord.weights import load_staff

normalise_keys(config)
try:
    # The library's check first: one line per problem, naming the key path and
    # the allowed keys; then Snakemake's own validate (which also fills defaults).
    check_schema(config, "config.schema.yaml", "config/config.yaml")
    validate(config, schema=str(SCHEMA_DIR / "config.schema.yaml"))
    # the config decoded once: every value below comes from SETTINGS (defaults from the schema only)
    SETTINGS = settings_from_config(config)
    ROUND_ORDER = list(SETTINGS.round_order)
    # the registers are checked once here, so a bad row stops the run before any job
    _units = load_units(SETTINGS.units, ROUND_ORDER)
    load_memberships(SETTINGS.memberships, _units, ROUND_ORDER)
    check_round_files(SETTINGS)
    if SETTINGS.staff:  # the optional staff register (relcoord.weights)
        load_staff(SETTINGS.staff, _units, ROUND_ORDER)
except RelcoordError as err:
    raise WorkflowError(str(err)) from None

ROUNDS = list(SETTINGS.rounds)
COMPARISONS = {c.id: c for c in SETTINGS.comparisons}


wildcard_constraints:
    round="|".join(map(re.escape, ROUNDS)),
    comparison="|".join(map(re.escape, COMPARISONS)) or "NO_COMPARISON",


def round_export_files(round_id):
    """Every file of a round's export: the folder's files, or the workbook."""
    path = Path(SETTINGS.rounds[round_id].export)
    if path.is_dir():
        return sorted(str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return [str(path)]


def export_files(wildcards):
    return round_export_files(wildcards.round)


def export_root(wildcards):
    """The export as configured: the workbook or file, or the folder of a CSV trio / canonical export."""
    return SETTINGS.rounds[wildcards.round].export


def config_files():
    """The config files this run read (the Snakefile's and any --configfile),
    once each, relative to the project folder when inside it."""
    here = Path.cwd().resolve()
    out = {}
    for f in workflow.configfiles:
        full = Path(f).resolve()
        out.setdefault(full, str(full.relative_to(here)) if full.is_relative_to(here) else str(full))
    return sorted(out.values())


# --------------------------------------------------------------------------- values for the scripts
# Settings in, values down: each rule hands its script exactly the values it
# uses, as one `params: values=...` string (relcoord.runner.encode_values:
# canonical JSON, `<`, `>`, `&` escaped so no config text can reach
# `snakemake --report`'s inline script as markup). Snakemake reruns a job when
# its params change, so a changed setting reruns exactly the jobs that use it.
# Scripts never read snakemake.config.


def _round_label(round_id):
    return SETTINGS.rounds[round_id].label


def staff_register(wildcards):
    """Input function: the staff register when the config names one (``staff:``), else nothing."""
    return [SETTINGS.staff] if SETTINGS.staff else []


def staff_summary(wildcards):
    """Input function: the round's validation summary (hidden counts, whether the round is weighted)
    when a staff register is configured, else nothing."""
    return [rules.validate_round.output.summary.format(round=wildcards.round)] if SETTINGS.staff else []


def benchmark_files(wildcards):
    """Input function: the organisation's benchmark position file and the consortium's pool (when
    given) when the config has `benchmark:`, else nothing."""
    b = SETTINGS.benchmark
    return [f for f in (b.positions, b.pool) if f] if b else []


def weighted_scores(wildcards):
    """Input function: the round's weighted.csv when a staff register is configured, else nothing."""
    return [rules.score_round.output.weighted.format(round=wildcards.round)] if SETTINGS.staff else []


def validate_values(round_id):
    return rule_values.validate_values(SETTINGS, round_id)


def score_values(round_id):
    return rule_values.score_values(SETTINGS, round_id)


def compare_values(comparison_id):
    c = COMPARISONS[comparison_id]
    return {
        "comparison": comparison_id,
        "baseline": c.baseline,
        "followup": c.followup,
        "panel_key": c.panel_key,
        "round_order": ROUND_ORDER,
        "min_group_size": SETTINGS.privacy.min_group_size,
        "seed": SETTINGS.seed,
    }


def previous_comparison(round_id):
    """The comparison whose follow-up is this round and whose baseline is the latest before it (its
    changes go on the round's unit pages), or None."""
    cands = [c for c in COMPARISONS.values() if c.followup == round_id]
    return max(cands, key=lambda c: ROUND_ORDER.index(c.baseline)) if cands else None


def previous_changes(wildcards):
    """Input function: the changes.csv of :func:`previous_comparison`, or nothing."""
    c = previous_comparison(wildcards.round)
    return [rules.compare_rounds.output.changes.format(comparison=c.id)] if c else []


def report_round_values(round_id):
    r = SETTINGS.rounds[round_id]
    prev = previous_comparison(round_id)
    return {
        "previous_label": _round_label(prev.baseline) if prev else None,
        "round": round_id,
        "round_order": ROUND_ORDER,
        "label": r.label,
        "invited": r.invited,
        "language": SETTINGS.report.language,
        "title": SETTINGS.report.title,
        "min_group_size": SETTINGS.privacy.min_group_size,
        "scoring": SETTINGS.scoring.as_values(),
        **(
            {
                "benchmark": {
                    "period": period_of(round_id, r.date, SETTINGS.benchmark.period),
                    "min_organisations": SETTINGS.benchmark.min_organisations,
                    "has_pool": bool(SETTINGS.benchmark.pool),
                }
            }
            if SETTINGS.benchmark
            else {}
        ),
    }


def report_comparison_values(comparison_id):
    c = COMPARISONS[comparison_id]
    rounds = {
        r: {"label": SETTINGS.rounds[r].label, "invited": SETTINGS.rounds[r].invited} for r in (c.baseline, c.followup)
    }
    return {
        "comparison": comparison_id,
        "baseline": c.baseline,
        "followup": c.followup,
        "round_order": ROUND_ORDER,
        "rounds": rounds,
        "language": SETTINGS.report.language,
        "title": SETTINGS.report.title,
        "min_group_size": SETTINGS.privacy.min_group_size,
        "scoring": SETTINGS.scoring.as_values(),
    }


def index_values():
    return {
        "language": SETTINGS.report.language,
        "title": SETTINGS.report.title,
        "rounds": [{"id": r, "label": _round_label(r), "date": SETTINGS.rounds[r].date} for r in ROUNDS],
        "comparisons": [
            {"id": cid, "label_a": _round_label(c.baseline), "label_b": _round_label(c.followup)}
            for cid, c in COMPARISONS.items()
        ],
    }


def values(of):
    """Input function for `params: values=values(validate_values)`: the rule's
    values for its round or comparison, encoded."""

    def fn(wildcards):
        if hasattr(wildcards, "round"):
            return encode_values(of(wildcards.round))
        if hasattr(wildcards, "comparison"):
            return encode_values(of(wildcards.comparison))
        return encode_values(of())

    return fn


def trends_values():
    """The trends rule's values (trends.smk); panel_key: the key the comparisons among the trend
    rounds name (the first by name), if any."""
    keys = sorted(
        {c.panel_key for c in SETTINGS.comparisons if c.panel_key and {c.baseline, c.followup} <= set(SETTINGS.trends)}
    )
    return {
        "rounds": list(SETTINGS.trends),
        "round_order": ROUND_ORDER,
        "labels": {r: SETTINGS.rounds[r].label for r in SETTINGS.trends},
        "panel_key": keys[0] if keys else None,
        "min_group_size": SETTINGS.privacy.min_group_size,
        "bands": dict(SETTINGS.scoring.bands),
        "language": SETTINGS.report.language,
        "title": SETTINGS.report.title,
    }


def report_settings_hashes():
    """report path -> the settings hash that report shows (relcoord.runner.settings_sha256
    of its rule's values), for provenance.json."""
    out = {}
    for r in ROUNDS:
        out[rules.report_round.output.report.format(round=r)] = settings_sha256(encode_values(report_round_values(r)))
    for cid in COMPARISONS:
        out[rules.report_comparison.output.report.format(comparison=cid)] = settings_sha256(
            encode_values(report_comparison_values(cid))
        )
    if SETTINGS.trends:
        out[str(rules.trends.output.report)] = settings_sha256(encode_values(trends_values()))
    return out


def codebook_file(wildcards):
    return SETTINGS.rounds[wildcards.round].codebook


def comparison_input(side, table):
    """Input function: a table of the comparison's baseline or follow-up round."""
    outputs = {
        "respondent_ties": rules.score_round.output.respondent_ties,
        "respondents": rules.validate_round.output.respondents,
        "summary": rules.validate_round.output.summary,
    }

    def path(wildcards):
        return outputs[table].format(round=getattr(COMPARISONS[wildcards.comparison], side))

    return path


FIGURE_CATEGORY = {
    "rc_matrix": "RC matrix",
    "rc_map": "RC map",
    "dimension_profile": "Dimensions",
    "item_distributions": "Answers",
    "response_overview": "Response",
    "forest_changes": "Changes",
    "tie_dumbbell": "Changes",
    "network_effect": "Network effect",
}


def round_public_tables(wildcards):
    """A round's reader-facing score tables (CSV; the file stem names the table)."""
    return [rules.score_round.output[name].format(round=wildcards.round) for name in PUBLIC_TABLES]


def comparison_public(side):
    """Input function: the reader-facing score tables of a comparison's round."""

    def paths(wildcards):
        rnd = getattr(COMPARISONS[wildcards.comparison], side)
        return [rules.score_round.output[name].format(round=rnd) for name in PUBLIC_TABLES]

    return paths


# `snakemake --report` texts in the report language: workflow/report/<lang>/*.rst, rendered from the
# catalogue relcoord/locales/<lang>.yaml (`python -m relcoord.locales workflow/report`; a test keeps them equal)
report: f"../report/{SETTINGS.report.language}/workflow.rst"


def report_caption(name):
    """The `snakemake --report` caption of a figure or report (file stem ``name``) in the report language."""
    return f"../report/{SETTINGS.report.language}/{name}.rst"


def _figures(folder, stems, category):
    """Figure outputs (PNG and SVG), each marked for `snakemake --report`."""
    mark = report  # (a line may not start with `report`: Snakemake reads it as the keyword)
    return [
        mark(
            f"{folder}/figures/{stem}.{ext}",
            caption=report_caption(stem),
            category=category,
            subcategory=FIGURE_CATEGORY[stem],
            labels={"figure": stem, "format": ext},
        )
        for stem in stems
        for ext in ("png", "svg")
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
        *(expand(rules.trends.output) if SETTINGS.trends else []),  # trends.smk: only when the config asks
        rules.index.output[0],
    ]


def trend_report_if_any(wildcards):
    """The index's link to the trend report (trends.smk), when the config asks for trends."""
    return ["results/trends/report.html"] if SETTINGS.trends else []


def all_outputs():
    return [*result_files(), rules.provenance.output[0]]
