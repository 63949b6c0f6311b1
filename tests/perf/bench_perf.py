"""Performance benchmark: AWS offer-file ingest (streaming vs load-everything) and the cost grid.

    python -m tests.perf.bench_perf --size 500M --size 2G --repeat 3

Generates real-shaped offer files (tests/perf/offer_files.py) under --workdir, once per size and
format, then runs every case --repeat times, each run in a fresh subprocess so that its peak RSS
(os.wait4's ru_maxrss, the interpreter and imports included) is its own. Prints medians of wall
time, CPU time and peak RSS, the ingest rate in MB/s of input (MB = 10^6 bytes) and the
naive / streaming ratios; --json writes the same as data. Not part of the default pytest run
(tests/test_perf_harness.py runs it on tiny inputs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNITS = {"K": 10**3, "M": 10**6, "G": 10**9}
GRID_SLICE = {"offers": 200, "models": 2, "quants": 2}


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    if text and text[-1] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


def label(size: int) -> str:
    for unit in ("G", "M", "K"):
        if size >= UNITS[unit]:
            return f"{size / UNITS[unit]:g}{unit}"
    return str(size)


# -- one case, in this process ----------------------------------------------------------------
def run_case(case: str, path: str | None, grid_offers: int) -> dict:
    """Run one case and return its timings and a digest of its result (imports not timed)."""
    if case == "baseline":
        from servecost.providers import aws  # noqa: F401  (what every case imports)

        work = list
    elif case.startswith("ingest-"):
        _, method, fmt = case.split("-")
        work = _ingest(method, fmt, path)
    elif case.startswith("grid-"):
        work = _grid(case, grid_offers)
    else:
        raise SystemExit(f"unknown case {case!r}")
    started, cpu_started = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rows = result.to_dict("records") if hasattr(result, "to_dict") else result
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows": len(rows),
        "digest": digest(rows),
    }


def digest(rows: list[dict]) -> str:
    """Equal for equal rows; floats to 12 significant digits (array and scalar maths may differ
    in the last bit)."""

    def canonical(value):
        if isinstance(value, float):
            return "nan" if value != value else f"{value:.12g}"
        return value.item() if hasattr(value, "item") else value

    text = json.dumps(
        [{k: canonical(v) for k, v in row.items()} for row in rows], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _ingest(method: str, fmt: str, path: str):
    from servecost.providers import aws

    from tests.perf import naive

    module = aws if method == "stream" else naive
    normalise = module.normalise_csv if fmt == "csv" else module.normalise_json
    return lambda: normalise(path, origin="aws (benchmark)")


def _grid(case: str, offers: int):
    from tests.perf import grid

    inputs = grid.synthetic_inputs(offers=offers)
    if case == "grid-full":
        return lambda: grid.vectorised_grid(inputs)
    small = inputs.slice(
        min(offers, GRID_SLICE["offers"]), GRID_SLICE["models"], GRID_SLICE["quants"]
    )
    if case == "grid-slice-vectorised":
        return lambda: grid.vectorised_grid(small)
    return lambda: grid.reference_grid(small)


# -- the driver -------------------------------------------------------------------------------
def measure(case: str, path: Path | None, grid_offers: int) -> dict:
    """Run a case in a subprocess; its result plus that process's peak RSS in MiB."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    command = [
        sys.executable,
        "-m",
        "tests.perf.bench_perf",
        "--run-case",
        case,
        "--grid-offers",
        str(grid_offers),
        "--result",
        out_path,
    ]
    if path is not None:
        command += ["--input", str(path)]
    process = subprocess.Popen(command, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    try:
        if process.returncode != 0:
            raise SystemExit(f"case {case} failed with exit code {process.returncode}")
        result = json.loads(Path(out_path).read_text())
    finally:
        os.unlink(out_path)
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


def summarise(runs: list[dict]) -> dict:
    digests = {run["digest"] for run in runs}
    if len(digests) != 1:
        raise SystemExit(f"runs of one case disagree: {digests}")
    return {
        "runs": len(runs),
        "seconds": statistics.median(run["seconds"] for run in runs),
        "cpu_seconds": statistics.median(run["cpu_seconds"] for run in runs),
        "peak_rss_mib": statistics.median(run["peak_rss_mib"] for run in runs),
        "each_seconds": [round(run["seconds"], 3) for run in runs],
        "each_peak_rss_mib": [round(run["peak_rss_mib"]) for run in runs],
        "rows": runs[0]["rows"],
        "digest": runs[0]["digest"],
    }


def input_file(workdir: Path, fmt: str, size: int) -> Path:
    """The offer file of this format and size, generated once (in a subprocess: a child that
    starts from a big parent counts the parent's memory in its own peak RSS)."""
    path = workdir / f"aws-offers-{label(size)}.{fmt}"
    if not path.exists():
        partial = path.with_suffix(f".{fmt}.partial")
        started = time.perf_counter()
        command = [sys.executable, "-m", "tests.perf.bench_perf", "--generate", fmt, str(size)]
        subprocess.run([*command, "--result", str(partial)], cwd=REPO, check=True)
        partial.rename(path)
        print(
            f"generated {path} ({path.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return path


def benchmark(args) -> dict:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "repeat": args.repeat, "ingest": [], "grid": {}}

    def repeated(case, path=None):
        runs = [measure(case, path, args.grid_offers) for _ in range(args.repeat)]
        return summarise(runs)

    report["baseline"] = repeated("baseline")
    for size in sorted({parse_size(s) for s in args.size or []}):
        for fmt in args.formats:
            path = input_file(workdir, fmt, size)
            megabytes = path.stat().st_size / 1e6
            entry = {"format": fmt, "size": label(size), "megabytes": megabytes}
            entry["stream"] = repeated(f"ingest-stream-{fmt}", path)
            entry["stream"]["mb_per_s"] = megabytes / entry["stream"]["seconds"]
            if size <= parse_size(args.naive_max):
                entry["naive"] = repeated(f"ingest-naive-{fmt}", path)
                entry["naive"]["mb_per_s"] = megabytes / entry["naive"]["seconds"]
                entry["identical"] = entry["naive"]["digest"] == entry["stream"]["digest"]
                entry["time_ratio"] = entry["naive"]["seconds"] / entry["stream"]["seconds"]
                entry["rss_ratio"] = (
                    entry["naive"]["peak_rss_mib"] / entry["stream"]["peak_rss_mib"]
                )
                if not entry["identical"]:
                    raise SystemExit(f"{path}: streaming and naive catalogs differ")
            report["ingest"].append(entry)
            print(ingest_line(entry), flush=True)
    if not args.skip_grid:
        grid = report["grid"]
        grid["full"] = repeated("grid-full")
        grid["slice_vectorised"] = repeated("grid-slice-vectorised")
        grid["slice_reference"] = repeated("grid-slice-reference")
        grid["slice_identical"] = (
            grid["slice_vectorised"]["digest"] == grid["slice_reference"]["digest"]
        )
        grid["slice_speed_ratio"] = (
            grid["slice_reference"]["seconds"] / grid["slice_vectorised"]["seconds"]
        )
        grid["offers"] = args.grid_offers
        if not grid["slice_identical"]:
            raise SystemExit("vectorised and reference grids differ on the slice")
    return report


def machine() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def ingest_line(entry: dict) -> str:
    stream = entry["stream"]
    line = (
        f"ingest {entry['format']:4} {entry['megabytes']:7.1f} MB  stream "
        f"{stream['seconds']:6.2f} s ({stream['mb_per_s']:4.0f} MB/s; cpu {stream['cpu_seconds']:.2f} s,"
        f" {entry['megabytes'] / stream['cpu_seconds']:4.0f} MB/cpu-s) {stream['peak_rss_mib']:6.0f} MiB"
    )
    if "naive" in entry:
        naive = entry["naive"]
        line += (
            f" | naive {naive['seconds']:6.2f} s {naive['peak_rss_mib']:6.0f} MiB"
            f" | naive/stream time x{entry['time_ratio']:.1f}, RSS x{entry['rss_ratio']:.1f}"
            f", identical {entry['identical']}"
        )
    return line


def print_report(report: dict) -> None:
    m = report["machine"]
    print(
        f"\nmachine: {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['platform']}; medians of {report['repeat']} runs, each in its own process"
    )
    base = report["baseline"]
    print(f"baseline (interpreter + imports): {base['peak_rss_mib']:.0f} MiB peak RSS")
    for entry in report["ingest"]:
        print(ingest_line(entry))
    grid = report["grid"]
    if grid:
        full = grid["full"]
        print(
            f"grid {grid['offers']} offers x 12 models x 6 quants x 8 concurrencies x 50 traffic: "
            f"{full['seconds']:.2f} s (cpu {full['cpu_seconds']:.2f} s), "
            f"{full['peak_rss_mib']:.0f} MiB, {full['rows']} result rows"
        )
        print(
            f"grid slice {GRID_SLICE}: vectorised {grid['slice_vectorised']['seconds']:.4f} s, "
            f"row by row {grid['slice_reference']['seconds']:.2f} s, "
            f"x{grid['slice_speed_ratio']:.0f}, identical {grid['slice_identical']}"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", help="offer file size, e.g. 500M, 2G (repeat)")
    parser.add_argument("--formats", nargs="+", default=["csv", "json"], choices=["csv", "json"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--naive-max", default="1G", help="largest file the naive reader is run on (memory)"
    )
    parser.add_argument("--grid-offers", type=int, default=50_000)
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "servecost-perf"))
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--run-case", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        from tests.perf import offer_files

        fmt, size = args.generate
        (offer_files.write_csv if fmt == "csv" else offer_files.write_json)(
            Path(args.result), int(size)
        )
        return
    if args.run_case:
        result = run_case(args.run_case, args.input, args.grid_offers)
        Path(args.result).write_text(json.dumps(result))
        return
    report = benchmark(args)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(REPO))  # run as a script: make `tests.perf` importable
    main()
