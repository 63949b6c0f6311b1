from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.build_catalog(list(snakemake.input.prices), snakemake.config, snakemake.output.catalog)
