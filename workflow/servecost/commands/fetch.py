"""`servecost fetch | normalise | snapshot`: doors onto servecost.providers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from servecost import io
from servecost.errors import DataError


def register(subparsers) -> None:
    from servecost.providers import PROVIDERS  # noqa: F401 - fail early if the library is broken

    names = sorted(PROVIDERS)

    fetch = subparsers.add_parser(
        "fetch",
        help="fetch live prices from a provider's API into a raw file (+ .meta.json sidecar)",
        description="Fetch a provider's live price list. Tokens come from HCLOUD_TOKEN, "
        "DIGITALOCEAN_TOKEN and LAMBDA_API_KEY; AWS and Azure need none.",
    )
    fetch.add_argument("--provider", required=True, choices=names)
    fetch.add_argument(
        "--region",
        action="append",
        default=None,
        help="region/location to keep (repeatable); default: provider's default",
    )
    fetch.add_argument(
        "--base-url",
        default=None,
        help="replace the API origin (scheme://host:port); paths stay the same",
    )
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    fetch.add_argument("--retries", type=int, default=4, help="retries per request (4)")
    fetch.add_argument(
        "--format",
        choices=["json", "csv"],
        default=None,
        help="AWS offer file format (default: from the -o suffix, else json)",
    )
    fetch.add_argument("-o", "--output", required=True, help="raw file to write (RAW.json)")
    fetch.add_argument("-q", "--quiet", action="store_true")
    fetch.set_defaults(func=run_fetch)

    normalise = subparsers.add_parser(
        "normalise",
        help="normalise a raw provider response into catalog rows (.parquet or .csv)",
    )
    normalise.add_argument("--provider", required=True, choices=names)
    normalise.add_argument("raw", help="raw file written by `servecost fetch` (or a saved body)")
    normalise.add_argument("-o", "--output", required=True, help="OUT.parquet or OUT.csv")
    normalise.set_defaults(func=run_normalise)

    snapshot = subparsers.add_parser(
        "snapshot",
        help="rewrite config/prices/<provider>.csv from a live fetch",
        description="Rewrite the committed snapshot from a raw fetch (normalised here) or an "
        "already normalised .parquet/.csv, sorted by key, so `git diff config/prices` shows "
        "the price changes.",
    )
    snapshot.add_argument("--provider", required=True, choices=names)
    snapshot.add_argument(
        "--from",
        dest="source",
        required=True,
        help="RAW.json/RAW.csv from `servecost fetch`, or a normalised .parquet",
    )
    snapshot.add_argument("--config-dir", default="config", help="config directory (config)")
    snapshot.set_defaults(func=run_snapshot)


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def run_fetch(args: argparse.Namespace) -> int:
    from servecost.providers import fetch_to_file

    fetch_to_file(
        args.provider,
        args.output,
        regions=args.region,
        base_url=args.base_url,
        timeout=args.timeout,
        retries=args.retries,
        fmt=args.format,
        log=None if args.quiet else _log,
    )
    return 0


def run_normalise(args: argparse.Namespace) -> int:
    from servecost.providers import normalise_file

    frame = normalise_file(args.provider, args.raw)
    io.write_table(frame, args.output)
    print(f"{args.provider}: {len(frame)} offers -> {args.output}", file=sys.stderr)
    return 0


def run_snapshot(args: argparse.Namespace) -> int:
    from servecost.providers import normalise_file, write_snapshot

    source = Path(args.source)
    if source.suffix == ".parquet":
        if not source.exists():
            raise DataError(f"{source}: not found")
        frame = io.read_parquet(source)
    else:
        frame = normalise_file(args.provider, source)
    result = write_snapshot(frame, args.provider, config_dir=args.config_dir)
    print(
        f"{args.provider}: {result['path']}: {result['added']} added, {result['changed']} changed, "
        f"{result['removed']} removed, {result['unchanged']} unchanged"
        + (f", {result['kept']} kept (billing not in the live API)" if result["kept"] else ""),
        file=sys.stderr,
    )
    return 0
