"""Snakemake door for rule `diff`: compare the baseline results with results/ (servecost.diff)."""

import logging
import sys
from pathlib import Path

from servecost import diff, io
from servecost.errors import ServecostError

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

log_path = Path(snakemake.log[0])
log_path.parent.mkdir(parents=True, exist_ok=True)
logging.basicConfig(
    filename=log_path,
    filemode="w",
    level=logging.INFO,
    format="%(levelname)s %(message)s",
    force=True,
)
log = logging.getLogger("servecost.diff")

try:
    baseline = snakemake.params.baseline
    if baseline is None or str(baseline).strip() == "":
        raise ServecostError(
            "diff_baseline is null: set it in config/config.yaml or on the command line, e.g. "
            "`snakemake diff --config diff_baseline=results-baseline` (a results directory) "
            "or `--config diff_baseline=git:main` (results built from that revision's config/)"
        )
    new_dir = Path(snakemake.input.summary).parent
    log.info("diff %s -> %s", baseline, new_dir)
    old = diff.resolve_results(str(baseline), repo=snakemake.params.repo)
    new = diff.load_results(new_dir)
    result = diff.build_diff(
        old, new, break_even_threshold=float(snakemake.params.break_even_threshold)
    )
    io.write_text(snakemake.output.md, diff.render_markdown(result))
    io.write_text(snakemake.output.html, diff.render_html(result))
    log.info("%s", result["summary"]["line"])
except ServecostError as exc:
    log.error("%s", exc)
    print(f"rule diff: {exc}", file=sys.stderr)
    raise
