# Figures and self-contained HTML reports: per round, per comparison, and an index.


rule report_round:
    input:
        tables=round_public_tables,
        summary=rules.validate_round.output.summary,
        responses=rules.validate_round.output.responses,
        units=SETTINGS.units,
        instrument=SETTINGS.instrument,
        changes=previous_changes,  # the unit pages' change since the previous round, when compared
        weighted=weighted_scores,  # with a staff register: "who answered"
        cfa=rules.score_round.output.cfa,
        benchmark=benchmark_files,  # with `benchmark:`: the organisation's place among the consortium's
    output:
        figures=round_figure_outputs(),
        report=report(
            "results/{round}/report.html",
            caption=report_caption("round_report"),
            category="Reports",
            labels={"report": "round {round}"},
        ),
        units=directory("results/{round}/units"),
        tables="results/{round}/tables.xlsx",
    log:
        "logs/{round}/report_round.log",
    benchmark:
        "benchmarks/{round}/report_round.tsv"
    conda:
        "../../environment.yml"
    params:
        values=values(report_round_values),
    script:
        "../scripts/report_round.py"


rule report_comparison:
    input:
        changes=rules.compare_rounds.output.changes,
        model=rules.compare_rounds.output.model,
        invariance=rules.compare_rounds.output.invariance,
        baseline_public=comparison_public("baseline"),
        followup_public=comparison_public("followup"),
        baseline_summary=comparison_input("baseline", "summary"),
        followup_summary=comparison_input("followup", "summary"),
        units=SETTINGS.units,
        memberships=SETTINGS.memberships,
        instrument=SETTINGS.instrument,
    output:
        figures=comparison_figure_outputs(),
        report=report(
            "results/comparisons/{comparison}/report.html",
            caption=report_caption("comparison_report"),
            category="Reports",
            labels={"report": "comparison {comparison}"},
        ),
        tables="results/comparisons/{comparison}/tables.xlsx",
    log:
        "logs/comparisons/{comparison}/report_comparison.log",
    benchmark:
        "benchmarks/comparisons/{comparison}/report_comparison.tsv"
    conda:
        "../../environment.yml"
    params:
        values=values(report_comparison_values),
    script:
        "../scripts/report_comparison.py"


rule index:
    input:
        rounds=expand(rules.report_round.output.report, round=ROUNDS),
        comparisons=expand(rules.report_comparison.output.report, comparison=COMPARISONS),
        # linked from the index: each round's validation report and unit pages
        validation=expand(rules.validate_round.output.report, round=ROUNDS),
        units=expand(rules.report_round.output.units, round=ROUNDS),
        trends=trend_report_if_any,
    output:
        "results/index.html",
    log:
        "logs/index.log",
    conda:
        "../../environment.yml"
    params:
        values=values(index_values),
    script:
        "../scripts/index.py"
