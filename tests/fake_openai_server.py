"""A local OpenAI-compatible streaming server for the bench tests.

Every request streams independently: a fixed time to first token, then one token per
1/rate seconds, on a schedule (no drift), with HTTP/1.1 chunked transfer like llama.cpp, Ollama
and vLLM. The behaviour is picked by the request's "model":

- "normal" (or anything else): `completion` tokens honouring max_tokens, usage if asked;
- "no-usage": as normal but never sends usage (the client must count chunks);
- "error-event": 3 tokens, then `data: {"error": ...}`;
- "drop": 3 tokens, then the connection is closed without finishing the chunked body;
- "flaky": every second request behaves like "error-event";
- "stall": 3 tokens, then silence for `hang_s` seconds;
- "hang": accepts the request, then sends nothing for `hang_s` seconds;
- "http-500": answers HTTP 500 with a JSON error body.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # clients hanging up (timeouts, keep-alive resets) are part of the tests


class FakeOpenAIServer:
    def __init__(self, ttft_s: float = 0.2, rate_tps: float = 50.0, hang_s: float = 3.0):
        self.ttft_s = ttft_s
        self.rate_tps = rate_tps
        self.hang_s = hang_s
        self.requests: list[dict] = []  # {"path", "headers", "body"} of each POST
        self.get_paths: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flaky = 0
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next_flaky_fails(self) -> bool:
        with self._lock:
            self._flaky += 1
            return self._flaky % 2 == 0

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep pytest output quiet
                pass

            def do_GET(self) -> None:
                server.get_paths.append(self.path)
                body = json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]})
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                mode = body.get("model", "normal")
                if mode == "flaky":
                    mode = "error-event" if server._next_flaky_fails() else "normal"
                if mode == "http-500":
                    data = b'{"error": {"message": "model crashed", "type": "server_error"}}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if mode == "hang":
                    server._stop.wait(server.hang_s)
                    self.close_connection = True
                    return
                self._stream(body, mode)

            def _chunk(self, text: str) -> None:
                data = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def _event(self, obj) -> None:
                self._chunk("data: " + json.dumps(obj) + "\n\n")

            def _stream(self, body: dict, mode: str) -> None:
                start = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": mode}
                self._event(
                    {
                        **base,
                        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
                    }
                )
                n_tokens = int(body.get("max_tokens", 16))
                content = body["messages"][-1]["content"]
                prompt_tokens = len(content.split()) + 10
                for i in range(n_tokens):
                    due = start + server.ttft_s + i / server.rate_tps
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    if mode == "stall" and i == 3:
                        server._stop.wait(server.hang_s)
                        self.close_connection = True
                        return
                    if mode in ("error-event", "drop") and i == 3:
                        if mode == "drop":
                            self.close_connection = True
                            return  # chunked body never terminated: the client sees a cut
                        self._event({"error": {"message": "CUDA out of memory", "code": 500}})
                        self._chunk("data: [DONE]\n\n")
                        self._chunk("")
                        return
                    delta = {"content": f" w{i}"}
                    self._event({**base, "choices": [{"index": 0, "delta": delta}]})
                self._event(
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
                )
                wants_usage = (body.get("stream_options") or {}).get("include_usage")
                if wants_usage and mode != "no-usage":
                    usage = {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": n_tokens,
                        "total_tokens": prompt_tokens + n_tokens,
                    }
                    self._event({**base, "choices": [], "usage": usage})
                self._chunk("data: [DONE]\n\n")
                self._chunk("")  # terminating zero-length chunk

        return Handler
