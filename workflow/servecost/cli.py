"""The `servecost` command: one door per subcommand, each delegating to a library module.

Every subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func(args) -> int`. A ServecostError becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from servecost.errors import ServecostError

# module name -> the subcommands it registers; imported lazily so one broken door cannot block
# the others and `servecost --help` stays fast.
COMMAND_MODULES = [
    "servecost.commands.fetch",
    "servecost.commands.estimate",
    "servecost.commands.bench",
    "servecost.commands.diff",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="servecost",
        description="Self-hosted LLM serving cost: bigger hardware or better software?",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ServecostError as exc:
        print(f"servecost {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"servecost {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
