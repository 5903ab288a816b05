# relcoord: relational-coordination survey pipeline.
# Run `snakemake --cores all` (or `make run`); configure in config/config.yaml.
from snakemake.utils import min_version

from relcoord.schema import read_yaml

min_version("9.0")

# A bounded load first: Snakemake's own `configfile:` loader expands YAML
# aliases without limit, so a tiny "billion laughs" config could hang it.
read_yaml("config/config.yaml")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/trends.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/cleanup.smk"


rule all:
    default_target: True
    input:
        all_outputs(),


onsuccess:
    announce_results()


onerror:
    remove_stale_results()
