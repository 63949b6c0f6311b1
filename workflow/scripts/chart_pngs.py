from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.render_pngs(list(snakemake.input.specs), "results/charts")
