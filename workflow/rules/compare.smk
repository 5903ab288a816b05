# Before/after comparisons between two rounds.


rule compare_rounds:
    input:
        baseline_ties=comparison_input("baseline", "respondent_ties"),
        baseline_respondents=comparison_input("baseline", "respondents"),
        followup_ties=comparison_input("followup", "respondent_ties"),
        followup_respondents=comparison_input("followup", "respondents"),
        baseline_public=comparison_public("baseline"),
        followup_public=comparison_public("followup"),
        units=SETTINGS.units,
        memberships=SETTINGS.memberships,
        instrument=SETTINGS.instrument,
    output:
        changes="results/comparisons/{comparison}/changes.csv",
        model="results/comparisons/{comparison}/model.csv",
        invariance="results/comparisons/{comparison}/invariance.csv",
    log:
        "logs/comparisons/{comparison}/compare_rounds.log",
    benchmark:
        "benchmarks/comparisons/{comparison}/compare_rounds.tsv"
    conda:
        "../../environment.yml"
    params:
        values=values(compare_values),
    script:
        "../scripts/compare_rounds.py"
