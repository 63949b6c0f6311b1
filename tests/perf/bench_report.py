"""The report at full-catalog scale: build the DAG on the snapshot replicated K times as synthetic
instance types (K x 137 offers; a real whole-region catalog holds a few thousand), then time the
cold run, weigh report.html and time its rendering in headless Chromium with no network.

    python -m tests.perf.bench_report --copies 1 20 40 --renders 5

Prints, per catalog size: offers, cold pipeline wall time and the largest job's peak RSS, the
report's size, and the median time from navigation until every chart has rendered.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def replicate_catalog(config_dir: Path, copies: int) -> None:
    """Every price row `copies` times as distinct instance types (name suffix -sNN) mapped to the
    same hardware, so the catalog grows the way a whole-region catalog does: in instance types."""
    hardware_path = config_dir / "offer_hardware.csv"
    hardware = pd.read_csv(hardware_path, dtype=str, keep_default_na=False)
    for path in sorted((config_dir / "prices").glob("*.csv")):
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        rows_out, hardware_out = [rows], []
        mapped = hardware[hardware["provider"] == path.stem]
        for k in range(1, copies):
            rows_out.append(rows.assign(instance_type=rows["instance_type"] + f"-s{k:02d}"))
            hardware_out.append(mapped.assign(instance_type=mapped["instance_type"] + f"-s{k:02d}"))
        pd.concat(rows_out, ignore_index=True).to_csv(path, index=False)
        hardware = pd.concat([hardware, *hardware_out], ignore_index=True)
    hardware.to_csv(hardware_path, index=False)


def cold_run(workdir: Path, cores: int) -> tuple[float, float]:
    """Wall seconds and the largest child's peak RSS (MB) of one cold `snakemake` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(workdir), "--cores", str(cores), "--quiet"],
        check=True, capture_output=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def render_seconds(report: Path, timeout: float = 120.0) -> float:
    """Seconds from navigation until the page says every chart has rendered (offline Chromium)."""
    from tests.test_report_browser import launch

    profile = Path(tempfile.mkdtemp(prefix="servecost-chromium-"))
    proc, devtools = launch(profile)
    try:
        target = next(
            t for t in devtools.send("Target.getTargets")["targetInfos"] if t["type"] == "page"
        )
        session = devtools.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        devtools.send("Page.enable", session=session)
        started = time.perf_counter()
        devtools.send("Page.navigate", {"url": report.as_uri()}, session)
        while time.perf_counter() - started < timeout:
            if devtools.evaluate(session, "document.body && document.body.dataset.chartsDone"):
                return time.perf_counter() - started
            time.sleep(0.02)
        raise TimeoutError(f"charts not rendered after {timeout} s")
    finally:
        devtools.send("Browser.close")
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def measure(copies: int, renders: int, cores: int, keep: bool = False) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"servecost-report-{copies}-"))
    try:
        shutil.copytree(REPO / "config", workdir / "config")
        replicate_catalog(workdir / "config", copies)
        wall, peak_mb = cold_run(workdir, cores)
        results = workdir / "results"
        report = results / "report.html"
        spec_rows = max(
            len(rows)
            for path in (results / "charts").glob("*.vl.json")
            for rows in json.loads(path.read_text()).get("datasets", {}).values()
        )
        times = [render_seconds(report) for _ in range(renders)]
        return {
            "copies": copies,
            "offers": len(pd.read_parquet(results / "catalog.parquet")),
            "cold_s": wall,
            "peak_rss_mb": peak_mb,
            "report_mb": report.stat().st_size / 1e6,
            "largest_chart_rows": spec_rows,
            "render_median_s": statistics.median(times),
            "render_max_s": max(times),
        }
    finally:
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 20, 40])
    parser.add_argument("--renders", type=int, default=5)
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    args = parser.parse_args(argv)
    header = (
        f"{'copies':>7} {'offers':>7} {'cold s':>7} {'peak MB':>8} {'report MB':>9} "
        f"{'chart rows':>10} {'render s (median/max)':>22}"
    )
    print(header)
    for copies in args.copies:
        r = measure(copies, args.renders, args.cores, args.keep)
        print(
            f"{r['copies']:>7} {r['offers']:>7} {r['cold_s']:>7.1f} {r['peak_rss_mb']:>8.0f} "
            f"{r['report_mb']:>9.2f} {r['largest_chart_rows']:>10} "
            f"{r['render_median_s']:>11.2f} / {r['render_max_s']:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
