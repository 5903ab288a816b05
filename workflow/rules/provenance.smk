# Provenance of the results: inputs, outputs, config, code and software (results/provenance.json).


rule provenance:
    input:
        exports=[f for r in ROUNDS for f in round_export_files(r)],
        codebooks=sorted({SETTINGS.rounds[r].codebook for r in ROUNDS}),
        config=config_files(),
        units=SETTINGS.units,
        memberships=SETTINGS.memberships,
        instrument=SETTINGS.instrument,
        staff=staff_register,  # optional
        results=result_files(),
    output:
        "results/provenance.json",
    log:
        "logs/provenance.log",
    conda:
        "../../environment.yml"
    params:
        config_sha256=config_hash(config),
        min_group_size=SETTINGS.privacy.min_group_size,
        seed=SETTINGS.seed,
        reports=report_settings_hashes(),
        rounds={r: {"export": round_export_files(r), "codebook": SETTINGS.rounds[r].codebook} for r in ROUNDS},
    script:
        "../scripts/provenance.py"
