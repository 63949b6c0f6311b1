# Stage 4: charts (Vega-Lite JSON + PNG), summary and the self-contained HTML report.


rule summary:
    input:
        catalog="results/catalog.parquet",
        throughput="results/throughput.parquet",
        costs="results/costs.parquet",
        roi="results/roi.parquet",
        break_even="results/break_even.parquet",
    output:
        summary="results/summary.json",
    log:
        "results/logs/summary.log",
    benchmark:
        "results/benchmarks/summary.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        settings=model_params,
    script:
        "../scripts/summary.py"


rule charts:
    input:
        throughput="results/throughput.parquet",
        calibration="results/calibration.parquet",
        costs="results/costs.parquet",
        roi="results/roi.parquet",
        scaling_laws="results/scaling_laws.parquet",
        quality_cost="results/quality_cost.parquet",
    output:
        specs=expand("results/charts/{chart}.vl.json", chart=CHARTS),
    log:
        "results/logs/charts.log",
    benchmark:
        "results/benchmarks/charts.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        settings=model_params,
    script:
        "../scripts/charts.py"


# Drawn apart from the specs so the report (which needs only the specs) does not wait for them.
rule chart_pngs:
    input:
        specs=expand("results/charts/{chart}.vl.json", chart=CHARTS),
    output:
        pngs=expand("results/charts/{chart}.png", chart=CHARTS),
    log:
        "results/logs/chart_pngs.log",
    benchmark:
        "results/benchmarks/chart_pngs.tsv"
    conda:
        "../envs/servecost.yaml"
    script:
        "../scripts/chart_pngs.py"


# The same bytes for a given vl-convert; built once, at the start, beside the price jobs.
rule vega_bundle:
    output:
        bundle="results/vendor/vega-bundle.js",
    log:
        "results/logs/vega_bundle.log",
    benchmark:
        "results/benchmarks/vega_bundle.tsv"
    conda:
        "../envs/servecost.yaml"
    script:
        "../scripts/vega_bundle.py"


rule report:
    input:
        summary="results/summary.json",
        specs=expand("results/charts/{chart}.vl.json", chart=CHARTS),
        vega_bundle="results/vendor/vega-bundle.js",
        templates=REPORT_TEMPLATES,
        catalog="results/catalog.parquet",
        calibration="results/calibration.parquet",
        costs="results/costs.parquet",
        break_even="results/break_even.parquet",
        provenance=price_provenance,
        benchmarks=config["reference"]["benchmarks"],
    output:
        html="results/report.html",
        markdown="results/summary.md",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        "../envs/servecost.yaml"
    params:
        settings=model_params,
        prices=config["prices"],
    script:
        "../scripts/report.py"
