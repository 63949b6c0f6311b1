# On demand, not part of rule all: `snakemake diff` compares results/ with config["diff_baseline"]
# (a results directory of an earlier run, or git:REV to rebuild that revision's config/).


rule diff:
    input:
        summary="results/summary.json",
        costs="results/costs.parquet",
        catalog="results/catalog.parquet",
    output:
        md="results/diff.md",
        html="results/diff.html",
    log:
        "results/logs/diff.log",
    benchmark:
        "results/benchmarks/diff.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        baseline=config.get("diff_baseline"),
        repo=workflow.basedir,
        break_even_threshold=5.0,
    script:
        "../scripts/diff.py"
