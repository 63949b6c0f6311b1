# Stage 3: costs for every offer, strategy and traffic point; ROI; break-even; scaling laws.


rule costs:
    input:
        offers="results/offers.parquet",
        managed_apis=config["reference"]["managed_apis"] or [],
    output:
        costs="results/costs.parquet",
        roi="results/roi.parquet",
        break_even="results/break_even.parquet",
        model_costs="results/model_costs.parquet",
    log:
        "results/logs/costs.log",
    benchmark:
        "results/benchmarks/costs.tsv"
    conda:
        "../envs/servecost.yaml"
    # The cost grid is the one large in-memory table: up to ~2 GB for a 50,000-offer catalog.
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        settings=model_params,
    script:
        "../scripts/costs.py"


rule scaling_laws:
    input:
        constants=config["reference"]["scaling_laws"],
        model_costs="results/model_costs.parquet",
        models=config["reference"]["models"],
    output:
        scaling_laws="results/scaling_laws.parquet",
        quality_cost="results/quality_cost.parquet",
    log:
        "results/logs/scaling_laws.log",
    benchmark:
        "results/benchmarks/scaling_laws.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        law=config["scaling_law"],
    script:
        "../scripts/scaling_laws.py"
