# Each organisation's rounds: validation and scoring, one job per (organisation, round), with the
# single-study workflow's scripts. Paths in an organisation's config are relative to its study folder.


rule validate_round:
    input:
        export_root=org_export_root,
        export=org_export_files,
        codebook=org_codebook,
        units=org_register("units"),
        memberships=org_register("memberships"),
        instrument=org_register("instrument"),
        staff=org_staff,
    output:
        responses="results/orgs/{org}/{round}/validated/responses.parquet",
        respondents="results/orgs/{org}/{round}/validated/respondents.parquet",
        failures="results/orgs/{org}/{round}/validation/failures.csv",
        summary="results/orgs/{org}/{round}/validation/summary.json",
        report="results/orgs/{org}/{round}/validation/report.html",
        response_rates="results/orgs/{org}/{round}/validation/response_rates.csv",
    log:
        "logs/orgs/{org}/{round}/validate_round.log",
    benchmark:
        "benchmarks/orgs/{org}/{round}/validate_round.tsv"
    conda:
        "../../../environment.yml"
    params:
        values=org_values(validate_values),
    script:
        "../../scripts/validate_round.py"


rule score_round:
    input:
        responses=rules.validate_round.output.responses,
        respondents=rules.validate_round.output.respondents,
        units=org_register("units"),
        instrument=org_register("instrument"),
        staff=org_staff,
        summary=org_staff_summary,
    output:
        ties="results/orgs/{org}/{round}/scores/ties.csv",
        units="results/orgs/{org}/{round}/scores/units.csv",
        blocks="results/orgs/{org}/{round}/scores/blocks.csv",
        edges="results/orgs/{org}/{round}/scores/edges.csv",
        organisation="results/orgs/{org}/{round}/scores/organisation.csv",
        reliability="results/orgs/{org}/{round}/scores/reliability.csv",
        agreement="results/orgs/{org}/{round}/scores/agreement.csv",
        respondent_ties="results/orgs/{org}/{round}/scores/respondent_ties.parquet",
        respondent_index="results/orgs/{org}/{round}/scores/respondent_index.parquet",
        cfa="results/orgs/{org}/{round}/scores/cfa.csv",
        cfa_loadings="results/orgs/{org}/{round}/scores/cfa_loadings.csv",
        weighted="results/orgs/{org}/{round}/scores/weighted.csv",
    log:
        "logs/orgs/{org}/{round}/score_round.log",
    benchmark:
        "benchmarks/orgs/{org}/{round}/score_round.tsv"
    conda:
        "../../../environment.yml"
    params:
        values=org_values(score_values),
    script:
        "../../scripts/score_round.py"
