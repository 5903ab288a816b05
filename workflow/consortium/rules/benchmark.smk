# The pool: every organisation's published organisation, block and unit figures (never a
# respondent-level file) -> results/benchmark/pool.csv and one position file and page per organisation.


rule benchmark_pool:
    input:
        organisation=published("organisation"),
        blocks=published("blocks"),
        units=published("units"),
    output:
        pool="results/benchmark/pool.csv",
        positions=expand("results/benchmark/organisations/{org}.csv", org=ORGS),
        pages=expand("results/benchmark/organisations/{org}.html", org=ORGS),
    log:
        "logs/benchmark/benchmark_pool.log",
    benchmark:
        "benchmarks/benchmark/benchmark_pool.tsv"
    conda:
        "../../../environment.yml"
    params:
        values=encode_values(pool_values()),
    script:
        "../../scripts/benchmark_pool.py"
