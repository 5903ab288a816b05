# Trends over three or more rounds (results/trends/): every round's published figures by round, a
# trend model, and a report. Built only when SETTINGS.trends names rounds (config `trends:`, or every
# round when three or more are configured and the config leaves `trends:` out); common.smk's
# result_files() then asks for these outputs.
from relcoord.figure_names import TREND_FIGURES


rule trends:
    input:
        public=expand([rules.score_round.output[name] for name in PUBLIC_TABLES], round=SETTINGS.trends),
        respondent_ties=expand(rules.score_round.output.respondent_ties, round=SETTINGS.trends),
        respondents=expand(rules.validate_round.output.respondents, round=SETTINGS.trends),
        units=SETTINGS.units,
        instrument=SETTINGS.instrument,
    output:
        trend="results/trends/trend.csv",
        model="results/trends/model.csv",
        figures=[f"results/trends/figures/{stem}.{ext}" for stem in TREND_FIGURES for ext in ("png", "svg")],
        report="results/trends/report.html",
    log:
        "logs/trends/trends.log",
    benchmark:
        "benchmarks/trends/trends.tsv"
    conda:
        "../../environment.yml"
    params:
        values=values(trends_values),
    script:
        "../scripts/trends.py"
