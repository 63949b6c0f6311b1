# Stage 1: prices per provider -> results/prices/<provider>.parquet (catalog schema), then the
# catalog in one report currency.

if config["prices"] == "live":

    rule fetch_prices:
        output:
            raw=directory("results/raw/{provider}"),
        log:
            "results/logs/fetch/{provider}.log",
        benchmark:
            "results/benchmarks/fetch/{provider}.tsv"
        conda:
            "../envs/servecost.yaml"
        params:
            settings=provider_settings,
        script:
            "../scripts/fetch_prices.py"

    rule live_prices:
        input:
            raw="results/raw/{provider}",
            snapshot="config/prices/{provider}.csv",
        output:
            prices="results/prices/{provider}.parquet",
            provenance="results/prices/{provider}.provenance.json",
        log:
            "results/logs/prices/{provider}.log",
        benchmark:
            "results/benchmarks/prices/{provider}.tsv"
        conda:
            "../envs/servecost.yaml"
        params:
            settings=provider_settings,
        script:
            "../scripts/live_prices.py"

else:

    rule snapshot_prices:
        input:
            snapshot="config/prices/{provider}.csv",
        output:
            prices="results/prices/{provider}.parquet",
            provenance="results/prices/{provider}.provenance.json",
        log:
            "results/logs/prices/{provider}.log",
        benchmark:
            "results/benchmarks/prices/{provider}.tsv"
        conda:
            "../envs/servecost.yaml"
        params:
            settings=provider_settings,
        script:
            "../scripts/snapshot_prices.py"


rule catalog:
    input:
        prices=price_tables,
    output:
        catalog="results/catalog.parquet",
    log:
        "results/logs/catalog.log",
    benchmark:
        "results/benchmarks/catalog.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        report_currency=config["report_currency"],
        fx=config["fx"],
    script:
        "../scripts/catalog.py"
