"""Rule provenance: inputs, outputs, config and code -> results/provenance.json."""

from relcoord.outputs import write_json
from relcoord.provenance import build_provenance
from relcoord.runner import log, run_step


def main(sm):
    inputs = {"config": list(sm.input.config), "units": sm.input.units, "memberships": sm.input.memberships,
              "instrument": sm.input.instrument, "rounds": sm.params.rounds,
              "staff": sm.input.staff[0] if len(sm.input.staff) else None}
    record = build_provenance(inputs, sm.input.results, config_sha256=sm.params.config_sha256,
                              min_group_size=sm.params.min_group_size, seed=sm.params.seed,
                              report_settings=sm.params.reports, workflow_dir=sm.scriptdir)
    write_json(record, sm.output[0])
    w = record["workflow"]
    log.info("workflow commit %s (dirty: %s); %d result files fingerprinted", w.get("commit"), w.get("dirty"),
             len(record["outputs"]))


run_step(lambda: main(snakemake), snakemake.log[0], "provenance record")
