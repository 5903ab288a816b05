"""Rule validate_round: export -> validated canonical tables + failures."""

from relcoord.ingest import enforce_ceiling, ingest_round
from relcoord.outputs import write_csv, write_json, write_parquet
from relcoord.runner import log, run_step
from relcoord.validation_report import validation_report_html


def main(sm):
    round_id = sm.wildcards.round
    result, key_note = ingest_round(sm.config, round_id)
    log.info("pseudonymisation key: %s", key_note)
    s = result.summary
    log.info("records in %d, valid %d, quarantined %d, warned %d", s["records_in"], s["valid"], s["quarantined"],
             s["warned"])
    enforce_ceiling(result, sm.config, s["files"][0]["path"])
    write_parquet(result.responses, sm.output.responses)
    write_parquet(result.respondents, sm.output.respondents)
    write_csv(result.failures, sm.output.failures)
    write_json(s, sm.output.summary)
    label = sm.config["rounds"][round_id].get("label", round_id)
    with open(sm.output.report, "w", encoding="utf-8") as fh:
        fh.write(validation_report_html(s, result.failures, label, sm.config["report"]["language"]))


run_step(lambda: main(snakemake), snakemake.log[0], f"validation of round {snakemake.wildcards.round}")
