# Scores, reliability, agreement and the factor analyses per round.


rule score_round:
    input:
        responses=rules.validate_round.output.responses,
        respondents=rules.validate_round.output.respondents,
        units=SETTINGS.units,
        instrument=SETTINGS.instrument,
        staff=staff_register,  # optional: figures weighted to the staff (config `staff:`)
        summary=staff_summary,
    output:
        ties="results/{round}/scores/ties.csv",
        units="results/{round}/scores/units.csv",
        blocks="results/{round}/scores/blocks.csv",
        edges="results/{round}/scores/edges.csv",
        organisation="results/{round}/scores/organisation.csv",
        reliability="results/{round}/scores/reliability.csv",
        agreement="results/{round}/scores/agreement.csv",
        respondent_ties="results/{round}/scores/respondent_ties.parquet",
        respondent_index="results/{round}/scores/respondent_index.parquet",
        cfa="results/{round}/scores/cfa.csv",
        cfa_loadings="results/{round}/scores/cfa_loadings.csv",
        weighted="results/{round}/scores/weighted.csv",
    log:
        "logs/{round}/score_round.log",
    benchmark:
        "benchmarks/{round}/score_round.tsv"
    conda:
        "../../environment.yml"
    params:
        values=values(score_values),
    script:
        "../scripts/score_round.py"
