from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.build_costs(snakemake.input.offers, snakemake.config, **dict(snakemake.output.items()))
