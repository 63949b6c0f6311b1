from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.snapshot_prices(
        snakemake.input.snapshot,
        snakemake.wildcards.provider,
        snakemake.params.settings,
        snakemake.output.prices,
        snakemake.output.provenance,
    )
