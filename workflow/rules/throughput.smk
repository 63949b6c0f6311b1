# Stage 2: throughput per instance type x model x quantisation x concurrency, then offers.


rule throughput:
    input:
        catalog="results/catalog.parquet",
        reference=reference_tables,
    output:
        throughput="results/throughput.parquet",
        calibration="results/calibration.parquet",
    log:
        "results/logs/throughput.log",
    benchmark:
        "results/benchmarks/throughput.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        settings=model_params,
    script:
        "../scripts/throughput.py"


rule offers:
    input:
        catalog="results/catalog.parquet",
        throughput="results/throughput.parquet",
    output:
        offers="results/offers.parquet",
    log:
        "results/logs/offers.log",
    benchmark:
        "results/benchmarks/offers.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        settings=model_params,
    script:
        "../scripts/offers.py"
