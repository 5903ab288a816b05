# Provenance of the results: inputs, outputs, config, code and software (results/provenance.json).


rule provenance:
    input:
        exports=[f for r in ROUNDS for f in round_export_files(r)],
        codebooks=sorted({config["rounds"][r]["codebook"] for r in ROUNDS}),
        config=config_files(),
        units=config["units"],
        memberships=config["memberships"],
        instrument=config["instrument"],
        results=result_files(),
    output:
        "results/provenance.json",
    params:
        config_sha256=config_hash(config),
        min_group_size=config["privacy"]["min_group_size"],
        seed=config["seed"],
        reports=report_settings_hashes(),
        rounds={
            r: {"export": round_export_files(r), "codebook": config["rounds"][r]["codebook"]}
            for r in ROUNDS
        },
    conda:
        "../../environment.yml"
    log:
        "logs/provenance.log",
    script:
        "../scripts/provenance.py"
