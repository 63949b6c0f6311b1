"""`servecost diff OLD NEW`: what moved between two result sets. The work is in servecost.diff."""

from __future__ import annotations

import argparse
import sys

from servecost.diff import DEFAULT_BREAK_EVEN_THRESHOLD, parse_percent


def _percent(text: str) -> float:
    try:
        return parse_percent(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percentage like 5% or 5, got {text!r}"
        ) from None


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two result sets: price changes, cost consequences, recommendation flips",
        description=(
            "Compare two results directories (or git:REV, the results built from that "
            "revision's config/ with the current Snakefile and workflow/). Lists offers added, "
            "removed and repriced, the strategies whose costs changed, and recommendations or "
            "break-even volumes that moved; unchanged rows are only counted."
        ),
    )
    parser.add_argument("old", metavar="OLD", help="baseline results directory, or git:REV")
    parser.add_argument("new", metavar="NEW", help="new results directory, or git:REV")
    parser.add_argument(
        "--format", choices=["md", "html", "json"], default="md", help="output format (md)"
    )
    parser.add_argument("-o", "--output", help="write here (atomically) instead of stdout")
    parser.add_argument(
        "--break-even-threshold",
        type=_percent,
        default=DEFAULT_BREAK_EVEN_THRESHOLD,
        metavar="PCT",
        help=f"list break-even volumes that moved by more than PCT%% "
        f"(default {DEFAULT_BREAK_EVEN_THRESHOLD:g})",
    )
    parser.add_argument(
        "--fail-on-change", action="store_true", help="exit 1 when anything changed"
    )
    parser.add_argument(
        "--fail-above",
        type=_percent,
        default=None,
        metavar="PCT",
        help="exit 1 when the current setup's monthly cost or any traffic level's recommended "
        "monthly cost rose by more than PCT%% (e.g. 5%%)",
    )
    parser.add_argument(
        "--repo", default=".", help="git repository for git:REV (default: the current directory)"
    )
    parser.add_argument(
        "--cores", type=int, default=2, help="Snakemake cores when building git:REV (2)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from servecost import diff, io

    old = diff.resolve_results(args.old, repo=args.repo, cores=args.cores)
    new = diff.resolve_results(args.new, repo=args.repo, cores=args.cores)
    result = diff.build_diff(old, new, break_even_threshold=args.break_even_threshold)
    text = diff.render(result, args.format)
    if args.output:
        io.write_text(args.output, text)
        print(f"servecost diff: {result['summary']['line']} -> {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    status = 0
    if args.fail_on_change and result["summary"]["changed"]:
        print("servecost diff: changes found (--fail-on-change)", file=sys.stderr)
        status = 1
    for reason in diff.gate_failures(result, fail_above=args.fail_above):
        print(f"servecost diff: --fail-above: {reason}", file=sys.stderr)
        status = 1
    return status
