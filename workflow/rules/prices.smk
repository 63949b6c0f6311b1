# Stage 1: prices per provider -> results/prices/<provider>.parquet (catalog schema), then the
# catalog in one report currency.

if config["prices"] == "live":

    # On a cluster the fetch runs on the submitting host: compute nodes often have no route to the
    # internet, and the API tokens stay in the one environment that already holds them.
    localrules:
        fetch_prices,

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
        # A cluster job's request (local runs ignore it). Ingest streams the offer file, so memory
        # stays under 1 GB whatever the size (issue 8); a whole-region AWS file takes minutes.
        resources:
            mem_mb=1500,
            runtime=30,
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
