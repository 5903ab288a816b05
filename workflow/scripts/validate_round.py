"""Rule validate_round: export -> validated canonical tables + failures."""

import pandas as pd

from relcoord.ingest import enforce_ceiling, ingest_export
from relcoord.outputs import write_csv, write_json, write_parquet
from relcoord.instrument import load_instrument
from relcoord.privacy import check_background
from relcoord.registry import load_units
from relcoord.runner import decode_values, log, run_step, say
from relcoord.stages import published_summary
from relcoord.validation_report import console_summary, validation_report_html
from relcoord.weights import empty_rates, load_staff, round_response

CANONICAL = {"respondent_id", "rater_unit", "networks", "n_valid_answers", "source_row"}


def main(sm):
    v = decode_values(sm.params.values)
    result, key_note = ingest_export(
        sm.input.export_root, fmt=v["format"], reader=v["reader"], codebook=sm.input.codebook, units=sm.input.units,
        memberships=sm.input.memberships, instrument=sm.input.instrument, round_id=v["round"],
        round_order=v["round_order"], secret_env=v["secret_env"], secret_file=v["secret_file"],
        straightlining_min_answers=v["straightlining_min_answers"], min_targets_fraction=v["min_targets_fraction"],
        accept_missing_units=tuple(v["accept_missing_units"]), min_group_size=v["min_group_size"])
    log.info("pseudonymisation key: %s", key_note)
    # analyst-only: the names of export columns not carried (a column name can itself be personal data)
    log.info("export columns not carried: %s", ", ".join(map(str, result.dropped_columns)) or "none")
    if result.background_merged:
        log.info("background categories merged into 'other' (fewer than k respondents): %s", result.background_merged)
    s = result.summary
    log.info("records in %d, valid %d, quarantined %d, warned %d", s["records_in"], s["valid"], s["quarantined"],
             s["warned"])
    enforce_ceiling(result, v["max_quarantined_fraction"], s["files"][0]["path"])
    # background fields the codebook carries: refused when they hold contact data (e-mail, IP, phone)
    check_background(result.respondents, [c for c in result.respondents.columns if c not in CANONICAL],
                     str(sm.input.codebook))
    write_parquet(result.responses, sm.output.responses)
    write_parquet(result.respondents, sm.output.respondents)
    s = published_summary(s, result.responses, result.respondents, load_instrument(sm.input.instrument),
                          k=v["min_group_size"], **v["scoring"])
    rates = empty_rates()
    if len(sm.input.staff):  # the optional staff register: response rates, and whether the round is weighted
        units = load_units(sm.input.units, v["round_order"])
        s, staff_rows, rates = round_response(
            s, result.respondents, load_staff(sm.input.staff[0], units, v["round_order"]), units,
            round_id=v["round"], round_order=v["round_order"], staff_file=str(sm.input.staff[0]),
            units_file=str(sm.input.units), low_response_ratio=v["weighting"]["low_response_ratio"])
        result.failures = pd.concat([result.failures, staff_rows], ignore_index=True) if len(staff_rows) \
            else result.failures
        log.info("response rates: %s", s["response_rates"]["status"])
    write_csv(result.failures, sm.output.failures)
    write_csv(rates, sm.output.response_rates)
    write_json(s, sm.output.summary)
    with open(sm.output.report, "w", encoding="utf-8") as fh:
        fh.write(validation_report_html(s, result.failures, v["label"], v["language"]))
    say(console_summary(s, sm.output.report))


run_step(lambda: main(snakemake), snakemake.log[0], f"validation of round {snakemake.wildcards.round}")
