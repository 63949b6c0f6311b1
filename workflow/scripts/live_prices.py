from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.live_prices(
        snakemake.wildcards.provider,
        snakemake.input.raw,
        snakemake.input.snapshot,
        snakemake.params.settings,
        snakemake.output.prices,
        snakemake.output.provenance,
    )
