"""The report's chart names, in report order, without importing Altair.

The Snakefile needs them to spell out chart outputs while it builds the DAG; importing
servecost.charts there would load Altair (~0.3-0.7 s) on every `snakemake` start, no-op runs
included. servecost.charts imports this list; a test keeps it equal to the keys of charts.CHARTS.
"""

CHART_NAMES: list[str] = [
    "cost_vs_traffic",
    "cost_vs_throughput",
    "cost_per_mtok_by_offer",
    "roi_timeline",
    "decision_map",
    "throughput_vs_batch",
    "scaling_laws",
    "calibration",
]
