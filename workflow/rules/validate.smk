# Ingest and validation: a round's export -> validated canonical tables.


rule validate_round:
    input:
        export_root=export_root,
        export=export_files,
        codebook=codebook_file,
        units=SETTINGS.units,
        memberships=SETTINGS.memberships,
        instrument=SETTINGS.instrument,
        staff=staff_register,  # optional: response rates (config `staff:`)
    output:
        responses="results/{round}/validated/responses.parquet",
        respondents="results/{round}/validated/respondents.parquet",
        failures="results/{round}/validation/failures.csv",
        summary="results/{round}/validation/summary.json",
        report="results/{round}/validation/report.html",
        response_rates="results/{round}/validation/response_rates.csv",
    log:
        "logs/{round}/validate_round.log",
    benchmark:
        "benchmarks/{round}/validate_round.tsv"
    conda:
        "../../environment.yml"
    params:
        values=values(validate_values),
    script:
        "../scripts/validate_round.py"
