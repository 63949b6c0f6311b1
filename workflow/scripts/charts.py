from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.build_charts(dict(snakemake.input.items()), snakemake.config, "results/charts")
