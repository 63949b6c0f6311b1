from servecost import stages
from servecost.logs import rule_log

with rule_log(snakemake.log[0]):
    stages.build_scaling_laws(
        snakemake.input.constants,
        snakemake.input.model_costs,
        snakemake.input.models,
        snakemake.params.law,
        snakemake.output.scaling_laws,
        snakemake.output.quality_cost,
    )
