from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.build_offers(
        snakemake.input.catalog,
        snakemake.input.throughput,
        snakemake.config,
        snakemake.output.offers,
    )
