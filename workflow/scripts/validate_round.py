"""Rule validate_round: export -> validated canonical tables + failures."""

from relcoord.ingest import enforce_ceiling, ingest_round
from relcoord.outputs import write_csv, write_json, write_parquet
from relcoord.privacy import check_background, summary_for_readers
from relcoord.runner import log, run_step
from relcoord.validation_report import validation_report_html

CANONICAL = {"respondent_id", "rater_unit", "networks", "n_valid_answers", "source_row"}


def main(sm):
    round_id = sm.wildcards.round
    result, key_note = ingest_round(sm.config, round_id)
    log.info("pseudonymisation key: %s", key_note)
    s = result.summary
    log.info("records in %d, valid %d, quarantined %d, warned %d", s["records_in"], s["valid"], s["quarantined"],
             s["warned"])
    enforce_ceiling(result, sm.config, s["files"][0]["path"])
    # background fields the codebook carries: refused when they hold contact data (e-mail, IP, phone)
    check_background(result.respondents, [c for c in result.respondents.columns if c not in CANONICAL],
                     sm.config["rounds"][round_id].get("codebook"))
    write_parquet(result.responses, sm.output.responses)
    write_parquet(result.respondents, sm.output.respondents)
    write_csv(result.failures, sm.output.failures)
    # respondents per unit: a unit below privacy.min_group_size shows no count (secondary suppression too)
    s = summary_for_readers(s, sm.config["privacy"]["min_group_size"])
    write_json(s, sm.output.summary)
    label = sm.config["rounds"][round_id].get("label", round_id)
    with open(sm.output.report, "w", encoding="utf-8") as fh:
        fh.write(validation_report_html(s, result.failures, label, sm.config["report"]["language"]))


run_step(lambda: main(snakemake), snakemake.log[0], f"validation of round {snakemake.wildcards.round}")
