"""Measure a real OpenAI-compatible server (llama.cpp server, Ollama, vLLM) and append the
figures to the CSV the pipeline reads as measured benchmarks.

The arithmetic is in pure functions so it can be tested without a server:

- `iter_sse_events` / `read_stream` turn the lines of a streaming chat completion into token
  counts and arrival times (given a clock);
- `request_result` turns one stream into a `RequestResult` (TTFT, decode tokens, decode time);
- `summarize_level` turns the results at one concurrency level into medians and an aggregate;
- `level_rows` / `append_rows` turn summaries into CSV rows and append them atomically.

`run_bench` is the driver: preflight, warm-up, one thread pool per concurrency level.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io as _io
import json
import re
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from servecost import io
from servecost.errors import ConfigError, DataError, ServecostError

# Same columns as config/benchmarks.csv, then the figures only a live measurement has.
BASE_COLUMNS = [
    "hardware_id",
    "provider",
    "instance_type",
    "model_id",
    "quant",
    "engine",
    "test",
    "concurrency",
    "threads",
    "tok_s",
    "model_size_bytes",
    "date",
    "source",
]
EXTRA_COLUMNS = ["decode_tps_per_stream", "ttft_ms_p50", "requests", "errors"]
COLUMNS = BASE_COLUMNS + EXTRA_COLUMNS

# Words that are one token each in the common tokenizers (with their leading space).
_PROMPT_TEXT = (
    "the of and to in is it that was for on are as with his they at be this from have or by one "
    "had not but what all were when we there can an your which their said if do will each about "
    "how up out them then she many some so these would other into has more her two like him see "
    "time could no make than first been its who now people my made over did down only way find use "
    "may water long little very after words called just where most know"
)
_PROMPT_WORDS = tuple(_PROMPT_TEXT.split())
# Rough allowance for the instruction sentence and the chat template around the user message.
_PROMPT_OVERHEAD_TOKENS = 30


class StreamError(Exception):
    """The server reported an error inside the stream, or the stream was malformed or cut."""


# --------------------------------------------------------------------------------------------
# Pure parts: SSE parsing, timing, aggregation


def iter_sse_events(lines: Iterable[str]) -> Iterator[dict]:
    """Yield the JSON objects of `data:` lines until `data: [DONE]`.

    Raises StreamError for an `event: error` event, a JSON object carrying an `error` key, a
    `data:` line that is not JSON, or a stream that ends before `[DONE]`.
    """
    event = ""
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            event = ""  # a blank line ends an SSE event
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value.strip()
            continue
        if name != "data":
            continue
        payload = value.strip()
        if payload == "[DONE]":
            return
        try:
            obj = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise StreamError(f"unparseable stream line: {payload[:80]!r}") from exc
        if event == "error" or (isinstance(obj, dict) and obj.get("error")):
            raise StreamError(f"server error event: {_error_text(obj)}")
        if isinstance(obj, dict):
            yield obj
    raise StreamError("stream ended before data: [DONE]")


def _error_text(obj) -> str:
    err = obj.get("error", obj) if isinstance(obj, dict) else obj
    if isinstance(err, dict):
        err = err.get("message") or err.get("type") or json.dumps(err, sort_keys=True)
    return str(err)[:200]


@dataclass
class StreamStats:
    """What one stream delivered: token chunks, their arrival times and the final usage."""

    chunks: int = 0  # SSE chunks with non-empty delta content
    first_at: float | None = None
    last_at: float | None = None
    usage_prompt_tokens: int | None = None
    usage_completion_tokens: int | None = None


def _delta_text(choice: dict) -> str:
    delta = choice.get("delta") or {}
    if not isinstance(delta, dict):
        return ""
    # Reasoning models stream their thinking separately; those are generated tokens too.
    for key in ("content", "reasoning_content", "reasoning"):
        text = delta.get(key)
        if isinstance(text, str) and text:
            return text
    return ""


def read_stream(lines: Iterable[str], clock: Callable[[], float]) -> StreamStats:
    """Count tokens and time their arrival; `clock()` is read once per token chunk."""
    stats = StreamStats()
    for obj in iter_sse_events(lines):
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict) and _delta_text(choice):
                now = clock()
                if stats.first_at is None:
                    stats.first_at = now
                stats.last_at = now
                stats.chunks += 1
        usage = obj.get("usage")
        if isinstance(usage, dict):
            if isinstance(usage.get("prompt_tokens"), int):
                stats.usage_prompt_tokens = usage["prompt_tokens"]
            if isinstance(usage.get("completion_tokens"), int):
                stats.usage_completion_tokens = usage["completion_tokens"]
    return stats


@dataclass
class RequestResult:
    """One request. Times are seconds on the driver's clock; ok=False carries `error`."""

    ok: bool
    error: str | None = None
    started_at: float = 0.0
    first_at: float | None = None
    last_at: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int = 0

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_at is None else self.first_at - self.started_at

    @property
    def decode_tokens(self) -> int:
        """Tokens after the first: the ones produced in the decode phase."""
        return max(self.completion_tokens - 1, 0)

    @property
    def decode_s(self) -> float:
        if self.first_at is None or self.last_at is None:
            return 0.0
        return self.last_at - self.first_at

    @property
    def decode_tps(self) -> float | None:
        if self.decode_tokens <= 0 or self.decode_s <= 0:
            return None
        return self.decode_tokens / self.decode_s

    @property
    def prefill_tps(self) -> float | None:
        ttft = self.ttft_s
        if not self.prompt_tokens or ttft is None or ttft <= 0:
            return None
        return self.prompt_tokens / ttft


def failed(error: str, started_at: float = 0.0) -> RequestResult:
    return RequestResult(ok=False, error=error, started_at=started_at)


def request_result(
    stats: StreamStats, started_at: float, requested_prompt_tokens: int
) -> RequestResult:
    """Prefer the server's usage counts over counted chunks; zero tokens is a failure."""
    if stats.first_at is None:
        return failed("stream finished without any tokens", started_at)
    completion = stats.usage_completion_tokens or stats.chunks
    return RequestResult(
        ok=True,
        started_at=started_at,
        first_at=stats.first_at,
        last_at=stats.last_at,
        prompt_tokens=stats.usage_prompt_tokens or requested_prompt_tokens,
        completion_tokens=completion,
    )


def union_length(intervals: Iterable[tuple[float, float]]) -> float:
    """Total length covered by the intervals (overlaps counted once)."""
    total = 0.0
    cur_start = cur_end = None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start
    return total


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


@dataclass
class LevelSummary:
    """Medians across the requests at one concurrency level (None when not measurable)."""

    concurrency: int
    requests: int
    ok: int
    errors: int
    decode_tps_aggregate: float | None
    decode_tps_per_stream: float | None
    prefill_tps: float | None
    ttft_ms_p50: float | None
    prompt_tokens: float | None
    completion_tokens: float | None
    error_messages: dict[str, int] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.ok > 0 and self.decode_tps_aggregate is not None


def summarize_level(concurrency: int, results: list[RequestResult]) -> LevelSummary:
    """Aggregate decode tok/s = decode tokens of all successful streams / the wall time during
    which at least one stream was decoding (union of each stream's first..last token span)."""
    good = [r for r in results if r.ok]
    bad = [r for r in results if not r.ok]
    spans = [(r.first_at, r.last_at) for r in good if r.decode_s > 0]
    wall = union_length(spans)
    decode_tokens = sum(r.decode_tokens for r in good if r.decode_s > 0)
    aggregate = decode_tokens / wall if wall > 0 and decode_tokens > 0 else None
    ttft = _median(r.ttft_s for r in good)
    return LevelSummary(
        concurrency=concurrency,
        requests=len(results),
        ok=len(good),
        errors=len(bad),
        decode_tps_aggregate=aggregate,
        decode_tps_per_stream=_median(r.decode_tps for r in good),
        prefill_tps=_median(r.prefill_tps for r in good),
        ttft_ms_p50=None if ttft is None else ttft * 1000.0,
        prompt_tokens=_median(r.prompt_tokens for r in good),
        completion_tokens=_median(r.completion_tokens for r in good),
        error_messages=dict(Counter(r.error or "unknown error" for r in bad).most_common()),
    )


# --------------------------------------------------------------------------------------------
# CSV rows


@dataclass
class RowMeta:
    """Identity and provenance columns shared by every row of one run."""

    hardware_id: str = ""
    provider: str = ""
    instance_type: str = ""
    model_id: str = ""
    quant: str = ""
    engine: str = ""
    date: str = ""
    source: str = ""


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def level_rows(summary: LevelSummary, meta: RowMeta) -> list[dict[str, str]]:
    """Two rows (decode, prefill) for a measured level; none for a level where nothing worked."""
    if not summary.measured:
        return []
    common = {
        "hardware_id": meta.hardware_id,
        "provider": meta.provider,
        "instance_type": meta.instance_type,
        "model_id": meta.model_id,
        "quant": meta.quant,
        "engine": meta.engine,
        "concurrency": str(summary.concurrency),
        "threads": "",
        "model_size_bytes": "",
        "date": meta.date,
        "source": meta.source,
        "decode_tps_per_stream": _fmt(summary.decode_tps_per_stream, 2),
        "ttft_ms_p50": _fmt(summary.ttft_ms_p50, 1),
        "requests": str(summary.requests),
        "errors": str(summary.errors),
    }
    rows = [{**common, "test": "decode", "tok_s": _fmt(summary.decode_tps_aggregate, 2)}]
    if summary.prefill_tps is not None:
        rows.append({**common, "test": "prefill", "tok_s": _fmt(summary.prefill_tps, 2)})
    return [{c: row[c] for c in COLUMNS} for row in rows]


def _csv_text(rows: list[dict[str, str]], header: bool) -> str:
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def append_rows(path: str | Path, rows: list[dict[str, str]]) -> int:
    """Append rows to `path` (created with its header if absent or empty), atomically: the
    existing bytes are kept as they are and the whole file is replaced in one rename."""
    target = Path(path)
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    if existing.strip():
        first = existing.splitlines()[0]
        header = next(csv.reader([first]), [])
        if [h.strip().lstrip("\ufeff") for h in header] != COLUMNS:
            raise DataError(
                f"{target}: header does not match the benchmark columns; expected "
                f"{','.join(COLUMNS)} but found {first[:200]}; move the file aside or pass "
                "another --out"
            )
        if not existing.endswith("\n"):
            existing += "\n"
        text = existing + _csv_text(rows, header=False)
    else:
        text = _csv_text(rows, header=True)
    io.write_text(target, text)
    return len(rows)


# --------------------------------------------------------------------------------------------
# Driver


def safe_url(url: str) -> str:
    """The URL without user:password, query or fragment, fit to print and to store."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def normalize_endpoint(endpoint: str) -> str:
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "--endpoint must be an http(s) URL like http://127.0.0.1:8080/v1, "
            f"got {safe_url(endpoint)!r}"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        path = path[: -len("/chat/completions")]
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _join(endpoint: str, suffix: str) -> str:
    parts = urlsplit(endpoint)
    return urlunsplit((parts.scheme, parts.netloc, parts.path + suffix, parts.query, ""))


def build_prompt(prompt_tokens: int, nonce: str) -> str:
    """About `prompt_tokens` tokens once the chat template is applied. The nonce comes first so
    no two requests share a prefix: prompt caches (llama.cpp, vLLM) would otherwise skip the
    prefill and flatter TTFT."""
    n_words = max(prompt_tokens - _PROMPT_OVERHEAD_TOKENS, 1)
    words = (_PROMPT_WORDS[i % len(_PROMPT_WORDS)] for i in range(n_words))
    return (
        f"[{nonce}] Continue this list of words for as long as you can, without stopping: "
        + " ".join(words)
    )


@dataclass
class BenchSettings:
    endpoint: str
    model: str
    concurrency: list[int]
    prompt_tokens: int
    completion_tokens: int
    requests: int
    timeout: float = 30.0
    warmup: int = 1
    api_key: str | None = None
    stream_options: bool = True
    ignore_eos: bool = False


def validate(settings: BenchSettings) -> None:
    if not settings.concurrency or any(c < 1 for c in settings.concurrency):
        raise ConfigError(f"--concurrency must be positive integers, got {settings.concurrency}")
    if settings.requests < max(settings.concurrency):
        raise ConfigError(
            f"--requests {settings.requests} is below the highest --concurrency "
            f"{max(settings.concurrency)}: each level needs at least one request per stream"
        )
    if settings.prompt_tokens < 1:
        raise ConfigError(f"--prompt-tokens must be at least 1, got {settings.prompt_tokens}")
    if settings.completion_tokens < 2:
        raise ConfigError(
            f"--completion-tokens must be at least 2 (decode speed needs a second token), "
            f"got {settings.completion_tokens}"
        )
    if settings.timeout <= 0:
        raise ConfigError(f"--timeout must be positive, got {settings.timeout}")
    if settings.warmup < 0:
        raise ConfigError(f"--warmup must be 0 or more, got {settings.warmup}")


class _Client:
    """Issues streaming chat completions; one requests.Session per worker thread."""

    def __init__(self, settings: BenchSettings, clock: Callable[[], float]):
        import requests  # imported here so `servecost --help` stays fast

        self._requests = requests
        self.settings = settings
        self.clock = clock
        self.url = _join(settings.endpoint, "/chat/completions")
        self.headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if settings.api_key:
            self.headers["Authorization"] = f"Bearer {settings.api_key}"
        self._local = threading.local()
        self._sessions: list = []
        self._lock = threading.Lock()
        self._run = uuid.uuid4().hex[:8]
        self._counter = 0

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._requests.Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def _nonce(self) -> str:
        with self._lock:
            self._counter += 1
            return f"{self._run}-{self._counter}"

    def scrub(self, text: str) -> str:
        """Error text without the API key or the endpoint's credentials/query."""
        if self.settings.api_key:
            text = text.replace(self.settings.api_key, "***")
        for url in (self.url, self.settings.endpoint):
            text = text.replace(url, safe_url(url))
        return text

    def preflight(self) -> None:
        """Fail fast, naming the URL, when nothing listens at the endpoint."""
        requests = self._requests
        try:
            self._session().get(
                _join(self.settings.endpoint, "/models"),
                headers=self.headers,
                timeout=(self.settings.timeout, self.settings.timeout),
            ).close()
        except requests.exceptions.ConnectionError as exc:
            if isinstance(exc, requests.exceptions.ReadTimeout):
                return  # something is listening; a slow server is measured, not refused
            raise ServecostError(
                f"cannot reach {safe_url(self.settings.endpoint)}: {_reason(self.scrub(str(exc)))}"
            ) from None
        except requests.exceptions.Timeout:
            raise ServecostError(
                f"cannot reach {safe_url(self.settings.endpoint)}: no connection within "
                f"{self.settings.timeout:g} s"
            ) from None
        except requests.exceptions.RequestException:
            return

    def payload(self) -> dict:
        s = self.settings
        body = {
            "model": s.model,
            "messages": [{"role": "user", "content": build_prompt(s.prompt_tokens, self._nonce())}],
            "max_tokens": s.completion_tokens,
            "temperature": 0,
            "stream": True,
        }
        if s.stream_options:
            body["stream_options"] = {"include_usage": True}
        if s.ignore_eos:
            body["ignore_eos"] = True
        return body

    def run_one(self) -> RequestResult:
        requests = self._requests
        s = self.settings
        payload = self.payload()
        started = self.clock()
        try:
            resp = self._session().post(
                self.url,
                json=payload,
                headers=self.headers,
                stream=True,
                timeout=(s.timeout, s.timeout),
            )
        except requests.exceptions.Timeout:
            return failed(f"no response within --timeout {s.timeout:g} s", started)
        except requests.exceptions.RequestException as exc:
            return failed(f"request failed: {_short(self.scrub(str(exc)))}", started)
        with resp:
            if resp.status_code != 200:
                body = ""
                # The status is the message; the body is a bonus.
                with contextlib.suppress(Exception):
                    body = resp.raw.read(300, decode_content=True).decode("utf-8", "replace")
                detail = f": {_short(self.scrub(body))}" if body.strip() else ""
                return failed(f"HTTP {resp.status_code}{detail}", started)
            lines = (
                line.decode("utf-8", "replace")
                for line in resp.iter_lines(chunk_size=64, delimiter=b"\n")
            )
            try:
                stats = read_stream(lines, self.clock)
            except StreamError as exc:
                return failed(_short(self.scrub(str(exc))), started)
            except requests.exceptions.RequestException as exc:
                text = str(exc)
                if "timed out" in text.lower():
                    return failed(f"stream stalled longer than --timeout {s.timeout:g} s", started)
                return failed(f"stream broken: {_short(self.scrub(text))}", started)
        return request_result(stats, started, s.prompt_tokens)


def _reason(text: str) -> str:
    """'Connection refused' out of urllib3's nested retry message, when it is in there."""
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text) or re.search(
        r"(Name or service not known|nodename nor servname|timed out)", text
    )
    return match.group(1).strip() if match else _short(text)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_level(client: _Client, concurrency: int, n_requests: int) -> list[RequestResult]:
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench")
    try:
        futures = [pool.submit(client.run_one) for _ in range(n_requests)]
        results = [f.result() for f in futures]
    except BaseException:
        # Ctrl-C: do not start the queued requests; in-flight ones end at their timeout.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def run_bench(
    settings: BenchSettings,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[LevelSummary]:
    """Measure every concurrency level; returns one summary per level, in the order given."""
    validate(settings)
    say = progress or (lambda _msg: None)
    client = _Client(settings, clock)
    try:
        client.preflight()
        if settings.warmup:
            say(f"warm-up: {settings.warmup} request(s), not counted")
            warm = run_level(client, 1, settings.warmup)
            for r in warm:
                if not r.ok:
                    say(f"warm-up request failed: {r.error}")
        summaries = []
        for level in settings.concurrency:
            say(f"concurrency {level}: {settings.requests} requests ...")
            t0 = clock()
            results = run_level(client, level, settings.requests)
            summary = summarize_level(level, results)
            summaries.append(summary)
            say(_progress_line(summary, clock() - t0))
        return summaries
    finally:
        client.close()


def _progress_line(s: LevelSummary, elapsed: float) -> str:
    head = f"concurrency {s.concurrency}: {s.ok}/{s.requests} ok, {s.errors} errors"
    if s.measured:
        head += (
            f", aggregate {s.decode_tps_aggregate:.1f} tok/s, per-stream "
            f"{_fmt(s.decode_tps_per_stream, 1) or '-'} tok/s, TTFT p50 "
            f"{_fmt(s.ttft_ms_p50, 0) or '-'} ms"
        )
    head += f" ({elapsed:.1f} s)"
    if s.error_messages:
        head += "; " + "; ".join(f"{n}x {msg}" for msg, n in s.error_messages.items())
    return head


# --------------------------------------------------------------------------------------------
# Output


def render_table(summaries: list[LevelSummary]) -> str:
    headers = [
        "concurrency",
        "decode tok/s",
        "per-stream tok/s",
        "prefill tok/s",
        "TTFT p50 ms",
        "errors",
    ]
    rows = [
        [
            str(s.concurrency),
            _fmt(s.decode_tps_aggregate, 1) or "-",
            _fmt(s.decode_tps_per_stream, 1) or "-",
            _fmt(s.prefill_tps, 1) or "-",
            _fmt(s.ttft_ms_p50, 0) or "-",
            f"{s.errors}/{s.requests}",
        ]
        for s in summaries
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines) + "\n"


def summaries_json(summaries: list[LevelSummary], extra: dict) -> str:
    levels = []
    for s in summaries:
        d = asdict(s)
        d["measured"] = s.measured
        levels.append(d)
    return json.dumps({**extra, "levels": levels}, indent=2, sort_keys=True, allow_nan=False) + "\n"


@dataclass
class BenchOutcome:
    summaries: list[LevelSummary]
    rows_written: int
    failed_levels: list[int]


def bench_and_record(
    settings: BenchSettings,
    meta: RowMeta,
    out: str | Path,
    progress: Callable[[str], None] | None = None,
) -> BenchOutcome:
    """Check the output file first (so a bad header fails before minutes of measuring), run the
    benchmark, and append the rows of every level that produced a measurement."""
    validate(settings)
    append_rows_check(out)
    summaries = run_bench(settings, progress=progress)
    failed_levels = [s.concurrency for s in summaries if not s.measured]
    rows = [row for s in summaries for row in level_rows(s, meta)]
    if not rows:
        reasons = "; ".join(f"{n}x {msg}" for s in summaries for msg, n in s.error_messages.items())
        raise ServecostError(
            f"no request succeeded at any concurrency level against {safe_url(settings.endpoint)}"
            f"; nothing written to {out}" + (f" ({_short(reasons, 300)})" if reasons else "")
        )
    append_rows(out, rows)
    return BenchOutcome(summaries=summaries, rows_written=len(rows), failed_levels=failed_levels)


def append_rows_check(path: str | Path) -> None:
    """Raise the header error now rather than after the measurement."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"--out {target} is a directory; give a CSV file path")
    if target.exists():
        text = target.read_text(encoding="utf-8")
        if text.strip():
            header = next(csv.reader([text.splitlines()[0]]), [])
            if [h.strip().lstrip("\ufeff") for h in header] != COLUMNS:
                append_rows(target, [])  # raises the one header message


def default_source(endpoint: str, model: str) -> str:
    return f"measured locally: servecost bench against {safe_url(endpoint)} model {model}"


def today() -> str:
    return dt.date.today().isoformat()


def stderr_progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def row_meta(
    endpoint: str,
    model: str,
    hardware_id: str | None = None,
    provider: str | None = None,
    instance_type: str | None = None,
    model_id: str | None = None,
    quant: str | None = None,
    engine: str | None = None,
    date: str | None = None,
) -> RowMeta:
    """The identity columns; the pipeline matches measured rows by hardware, model and quant,
    so a row that names no hardware would be measured for nothing."""
    if bool(provider) != bool(instance_type):
        raise ConfigError(
            "--provider and --instance go together (e.g. --provider hetzner --instance GEX44)"
        )
    if not hardware_id and not provider:
        raise ConfigError(
            "name the hardware measured: --hardware-id ID, or --provider P --instance T; "
            "the pipeline matches measured rows by hardware, model and quant"
        )
    return RowMeta(
        hardware_id=hardware_id or "",
        provider=provider or "",
        instance_type=instance_type or "",
        model_id=model_id or model,
        quant=(quant or "").lower(),
        engine=engine or "",
        date=date or today(),
        source=default_source(endpoint, model),
    )
