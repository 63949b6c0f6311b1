from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.write_vega_bundle(snakemake.output.bundle)
