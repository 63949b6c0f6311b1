"""`servecost bench`: measure an OpenAI-compatible server and append the figures to the
measured-benchmarks CSV. Argument parsing only; the work is in servecost.bench."""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_OUT = "config/benchmarks_local.csv"


def _concurrency_list(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 1,2,4,8, got {text!r}"
        ) from None
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError(f"concurrency levels must be 1 or more, got {text!r}")
    return list(dict.fromkeys(levels))


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure a running OpenAI-compatible server and append measured benchmark rows",
        description=(
            "Drive an OpenAI-compatible server (llama.cpp server, Ollama, vLLM) with streaming "
            "chat completions at each concurrency level; measure time to first token, per-stream "
            "and aggregate decode tok/s and prefill tok/s; append the rows to a CSV the pipeline "
            "reads as measured benchmarks. OPENAI_API_KEY, if set, is sent as a Bearer token."
        ),
    )
    parser.add_argument("--endpoint", required=True, help="base URL, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--model", required=True, help="model name the server expects")
    parser.add_argument(
        "--concurrency",
        type=_concurrency_list,
        default=[1, 2, 4, 8],
        help="comma-separated concurrency levels (default: 1,2,4,8)",
    )
    parser.add_argument("--prompt-tokens", type=int, default=512, help="approximate prompt size")
    parser.add_argument(
        "--completion-tokens", type=int, default=128, help="max_tokens asked per request"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="requests per concurrency level, at least the highest level "
        "(default: twice the highest level)",
    )
    ident = parser.add_argument_group("what was measured (written to the CSV)")
    ident.add_argument("--hardware-id", help="hardware_id as in config/hardware.csv")
    ident.add_argument("--provider", help="provider of a rented instance (with --instance)")
    ident.add_argument("--instance", help="instance type of a rented instance (with --provider)")
    ident.add_argument("--model-id", help="model_id as in config/models.csv (default: --model)")
    ident.add_argument("--quant", help="quantisation, e.g. q4_k_m")
    ident.add_argument("--engine", help="serving engine, e.g. llama.cpp, ollama, vllm")
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"CSV to append to (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for a response or for the next bytes of a stream (default: 30)",
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="uncounted requests before measuring (default: 1)"
    )
    parser.add_argument(
        "--no-stream-options",
        action="store_true",
        help="do not send stream_options.include_usage (for servers that reject it)",
    )
    parser.add_argument(
        "--ignore-eos",
        action="store_true",
        help="ask the server to ignore end-of-sequence (llama.cpp, vLLM) so every request "
        "generates --completion-tokens",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from servecost import bench

    endpoint = bench.normalize_endpoint(args.endpoint)
    meta = bench.row_meta(
        endpoint,
        args.model,
        hardware_id=args.hardware_id,
        provider=args.provider,
        instance_type=args.instance,
        model_id=args.model_id,
        quant=args.quant,
        engine=args.engine,
    )
    requests = args.requests if args.requests is not None else 2 * max(args.concurrency)
    settings = bench.BenchSettings(
        endpoint=endpoint,
        model=args.model,
        concurrency=args.concurrency,
        prompt_tokens=args.prompt_tokens,
        completion_tokens=args.completion_tokens,
        requests=requests,
        timeout=args.timeout,
        warmup=args.warmup,
        api_key=os.environ.get("OPENAI_API_KEY") or None,
        stream_options=not args.no_stream_options,
        ignore_eos=args.ignore_eos,
    )
    outcome = bench.bench_and_record(settings, meta, args.out, progress=bench.stderr_progress)
    for level in outcome.failed_levels:
        bench.stderr_progress(f"concurrency {level}: every request failed; no row written")
    bench.stderr_progress(f"appended {outcome.rows_written} rows to {args.out}")
    if args.json:
        extra = {
            "endpoint": bench.safe_url(endpoint),
            "model": args.model,
            "out": str(args.out),
            "rows_written": outcome.rows_written,
        }
        sys.stdout.write(bench.summaries_json(outcome.summaries, extra))
    else:
        sys.stdout.write(bench.render_table(outcome.summaries))
    return 1 if outcome.failed_levels else 0
