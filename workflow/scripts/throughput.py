from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.build_throughput(
        snakemake.input.catalog,
        snakemake.config,
        snakemake.output.throughput,
        snakemake.output.calibration,
    )
