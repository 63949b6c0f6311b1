"""The report's charts, in report order: name -> caption (what to read from it). No Altair here.

The Snakefile needs the names to spell out chart outputs while it builds the DAG, and the report
needs the captions; importing servecost.charts for either would load Altair (~0.3-0.7 s) on every
`snakemake` start, no-op runs included, and in the report job. servecost.charts builds one chart
per name (a test keeps the two in step).
"""

CHARTS: dict[str, str] = {
    "cost_vs_traffic": "Monthly cost of each strategy as traffic grows (log-log); the dots mark "
    "1x, 2x, 10x and 100x. The lowest line at a given traffic is the cheapest way to serve it.",
    "cost_vs_throughput": "Every offer's decode tokens/s against its monthly price; the line is the "
    "Pareto frontier (nothing is both cheaper and faster), the ringed point is your current box.",
    "cost_per_mtok_by_offer": "Cost per million tokens of the cheapest offers at today's traffic, "
    "GPU and CPU coloured apart: shorter is cheaper.",
    "roi_timeline": "Cumulative cost over the months including one-off work at the configured "
    "engineering rate; where a line crosses below the baseline, that change has paid for itself "
    "(marked; a change with no one-off cost pays at once). The payback table shows other rates.",
    "decision_map": "Cheapest strategy for each traffic multiplier (x) and cache hit rate (y); the "
    "ringed cell is today.",
    "throughput_vs_batch": "Aggregate and per-stream decode tokens/s against batch size for the "
    "current box and the best CPU and GPU offers; below the dashed latency floor a stream is too slow.",
    "scaling_laws": "Left: predicted loss falls slowly with model size (Chinchilla, 20 tokens per "
    "parameter). Right: serving cost per million tokens on the best offer grows with size.",
    "calibration": "Measured against modelled decode tokens/s for every benchmark row; points on "
    "the diagonal are exact, the roofline is calibrated per hardware class.",
}
CHART_NAMES: list[str] = list(CHARTS)
