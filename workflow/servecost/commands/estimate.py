"""`servecost estimate`: argument parsing only; the work is in servecost.estimate."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    parser = subparsers.add_parser("estimate", help="tokens/s and memory fit of one offer")
    parser.add_argument("--provider", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--quant", required=True)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args) -> int:
    from servecost.config import load_config
    from servecost.estimate import estimate

    result = estimate(
        load_config(args.config),
        args.provider,
        args.instance,
        args.model,
        args.quant,
        args.concurrency,
    )
    if args.json:
        print(json.dumps(result, sort_keys=True, indent=2))
        return 0
    print(
        f"{result['provider']}/{result['instance_type']} {result['model']} {result['quant']} "
        f"at batch {result['concurrency']} ({result['basis']}):"
    )
    print(
        f"  decode  {result['decode_tps']:.1f} tok/s aggregate, "
        f"{result['decode_tps_per_stream']:.1f} tok/s per stream"
    )
    print(f"  prefill {result['prefill_tps']:.1f} tok/s")
    fits = "fits" if result["fits_memory"] else "does NOT fit"
    print(
        f"  memory  {fits}: needs {result['memory_needed_gib']:.1f} GiB, headroom "
        f"{result['memory_headroom_gib']:.1f} GiB; max usable batch {result['max_concurrency']}"
    )
    return 0
