# servecost: is it cheaper to buy bigger hardware or to optimise the serving software?
# The one entry point: `snakemake --cores 4` writes results/report.html.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/prices.smk"
include: "workflow/rules/throughput.smk"
include: "workflow/rules/costs.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/diff.smk"


rule all:
    default_target: True
    input:
        "results/report.html",
        "results/summary.md",
        "results/summary.json",
        expand("results/charts/{chart}.png", chart=CHARTS),
