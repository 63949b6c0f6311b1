from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.fetch_live(snakemake.wildcards.provider, snakemake.params.settings, snakemake.output.raw)
