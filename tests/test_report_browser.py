"""The built report in headless Chromium, offline: every chart renders and nothing is fetched.

Chromium is driven over the DevTools protocol through --remote-debugging-pipe (fd 3 in, fd 4 out,
NUL-separated JSON), so no port is opened and no websocket library is needed. Skipped when
Chromium is absent unless SERVECOST_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from servecost.charts import CHART_NAMES

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path(os.environ.get("SERVECOST_CHROMIUM", "/usr/bin/chromium"))
RENDER_TIMEOUT = 60.0
ALLOWED_SCHEMES = ("data:", "blob:")

STATE_JS = """JSON.stringify({
  done: document.body.dataset.chartsDone || null,
  pending: document.body.dataset.chartsPending || null,
  charts: Array.from(document.querySelectorAll("div.chart")).map(function (el) {
    var svg = el.querySelector("svg, canvas"), box = svg ? svg.getBoundingClientRect() : null;
    return {name: el.dataset.chart, id: el.id, rendered: el.dataset.rendered || null,
            graphic: svg ? svg.tagName.toLowerCase() : null,
            width: box ? box.width : 0, height: box ? box.height : 0,
            marks: el.querySelectorAll("g[class*='mark-'] path, g[class*='mark-'] line").length,
            selects: el.querySelectorAll(".vega-bindings select").length,
            text: svg ? "" : el.textContent.slice(0, 300)};
  }),
  chartErrors: document.querySelectorAll(".chart-error").length,
  cheapestCells: document.querySelectorAll("#strategy-matrix td.cheapest").length,
  matrixColumns: document.querySelectorAll("#strategy-matrix thead th").length,
  headline: Array.from(document.querySelectorAll("#headline-list li")).map(function (li) {
    return li.textContent; }),
  answersHeading: !!document.getElementById("answers"),
  answers: Array.from(document.querySelectorAll(".answers .answer")).map(function (a) {
    return a.textContent.replace(/\\s+/g, " ").trim(); }),
  title: document.title,
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight
})"""


# Pick a provider in the cost-per-1M chart's drop-down, as a user would, then read the bars' labels.
FILTER_JS = """(function () {
  var chart = document.getElementById("chart-cost_per_mtok_by_offer");
  var selects = chart.querySelectorAll(".vega-bindings select");
  var provider = selects[1];
  var option = Array.from(provider.options).find(function (o) { return o.textContent === "%s"; });
  provider.value = option.value;
  provider.dispatchEvent(new Event("change"));
  provider.dispatchEvent(new Event("input"));
  return option.textContent;
})()"""
BAR_LABELS_JS = """JSON.stringify(Array.from(document.querySelectorAll(
  "#chart-cost_per_mtok_by_offer .role-axis-label text")).map(function (t) { return t.textContent; })
  .filter(function (text) { return text.indexOf("/") > 0; }))"""


class DevTools:
    """A minimal DevTools-protocol client over Chromium's --remote-debugging-pipe."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int):
        self.proc, self.out, self.inp = proc, to_browser, from_browser
        self.next_id, self.buffer, self.events = 0, b"", []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from Chromium")
            ready, _, _ = select.select([self.inp], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.inp, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe (exit {self.proc.poll()})")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:  # fmt: skip
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session)  # fmt: skip
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def event_params(self, method: str) -> list[dict]:
        return [e.get("params", {}) for e in self.events if e.get("method") == method]


def launch(profile: Path) -> tuple[subprocess.Popen, DevTools]:
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def wire_pipes():  # in the child: fd 3 = commands in, fd 4 = replies out
        high_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        high_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.dup2(high_in, 3)
        os.dup2(high_out, 4)

    args = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
        "--mute-audio", "--hide-scrollbars", f"--user-data-dir={profile}",
        # no network at all: nothing resolves, every proxied connection is refused
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>", "--remote-debugging-pipe",
        "--window-size=1200,900", "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, pass_fds=(3, 4),
                            preexec_fn=wire_pipes)  # fmt: skip
    os.close(to_browser_r)
    os.close(from_browser_w)
    return proc, DevTools(proc, to_browser_w, from_browser_r)


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def console(devtools: DevTools, kinds: tuple[str, ...]) -> list[str]:
    return [" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            for p in devtools.event_params("Runtime.consoleAPICalled")
            if p.get("type") in kinds]  # fmt: skip


@pytest.fixture(scope="session")  # session: checked before the session-scoped DAG run
def chromium() -> Path:
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"{CHROMIUM} not found (Debian package 'chromium')"
    if os.environ.get("SERVECOST_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " and SERVECOST_REQUIRE_BROWSER=1")
    pytest.skip(message)


@pytest.fixture(scope="module")
def page(chromium, built_results, tmp_path_factory) -> dict:
    """Load results/report.html offline, wait for every chart; return what the page showed."""
    report = built_results / "results" / "report.html"
    out = tmp_path_factory.mktemp("browser")
    proc, devtools = launch(tmp_path_factory.mktemp("chromium-profile"))
    try:
        targets = devtools.send("Target.getTargets")["targetInfos"]
        target = next(t for t in targets if t["type"] == "page")
        session = devtools.send("Target.attachToTarget",
                                {"targetId": target["targetId"], "flatten": True})["sessionId"]  # fmt: skip
        for domain in ("Network", "Page", "Runtime", "Log"):
            devtools.send(f"{domain}.enable", session=session)
        devtools.send("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
        }, session)  # fmt: skip
        devtools.send("Network.setCacheDisabled", {"cacheDisabled": True}, session)
        devtools.send("Emulation.setDeviceMetricsOverride", {
            "width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)  # fmt: skip
        started = time.monotonic()
        devtools.send("Page.navigate", {"url": report.as_uri()}, session)
        state = None
        while time.monotonic() - started < RENDER_TIMEOUT:
            ready = devtools.evaluate(session, "document.readyState === 'complete' && "
                                      "document.body.dataset.chartsDone === 'yes'")  # fmt: skip
            if ready:
                break
            time.sleep(0.25)
        state = json.loads(devtools.evaluate(session, STATE_JS))
        state["seconds"] = time.monotonic() - started
        labels_before = json.loads(devtools.evaluate(session, BAR_LABELS_JS))
        devtools.evaluate(session, FILTER_JS % "aws")
        time.sleep(1.0)
        labels_after = json.loads(devtools.evaluate(session, BAR_LABELS_JS))
        shot = devtools.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1200, "height": state["height"], "scale": 1},
        }, session, timeout=60)  # fmt: skip
        screenshot = out / "report.png"
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        printed = devtools.send("Page.printToPDF", {"printBackground": False}, session, timeout=60)
        pdf = base64.b64decode(printed["data"])
        devtools.send("Browser.close")
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(devtools.out)
        os.close(devtools.inp)
    return {
        "state": state,
        "report": report,
        "screenshot": screenshot,
        "requests": [
            p["request"]["url"] for p in devtools.event_params("Network.requestWillBeSent")
        ],
        "failed": devtools.event_params("Network.loadingFailed"),
        "exceptions": devtools.event_params("Runtime.exceptionThrown"),
        "console_errors": console(devtools, ("error", "assert")),
        "console_warnings": console(devtools, ("warning",)),
        "log_errors": [
            p["entry"]
            for p in devtools.event_params("Log.entryAdded")
            if p["entry"].get("level") == "error"
        ],  # fmt: skip
        "dialogs": devtools.event_params("Page.javascriptDialogOpening"),
        "bar_labels": (labels_before, labels_after),
        "pdf": pdf,
    }


def test_charts_finish_within_timeout(page):
    state = page["state"]
    assert state["done"] == "yes", f"charts not done after {RENDER_TIMEOUT}s: {state}"
    assert state["pending"] == "0"


def test_every_chart_rendered_as_graphics(page):
    charts = page["state"]["charts"]
    assert [c["name"] for c in charts] == CHART_NAMES
    for chart in charts:
        assert chart["id"] == f"chart-{chart['name']}"
        assert chart["rendered"] == "yes", chart
        assert chart["graphic"] in ("svg", "canvas"), chart
        assert chart["width"] > 100 and chart["height"] > 100, chart
        assert chart["marks"] > 0, chart
    assert page["state"]["chartErrors"] == 0


def test_filter_controls_bound_on_cost_vs_throughput(page):
    selects = {c["name"]: c["selects"] for c in page["state"]["charts"]}
    assert selects["cost_vs_throughput"] == 2  # kind and provider


def test_prints_to_a_multi_page_pdf(page):
    pdf = page["pdf"]
    assert pdf.startswith(b"%PDF-")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 5 <= pages <= 40  # the whole report, paginated: not one clipped page, not blank pages


def test_provider_filter_redraws_the_per_token_chart(page):
    before, after = page["bar_labels"]
    assert len(before) == 25 and any(not label.startswith("aws/") for label in before)
    # The filter keeps only AWS offers and re-ranks them: the cheapest AWS offers now fill it.
    assert after and all(label.startswith("aws/") for label in after)


def test_strategy_matrix_marks_one_cheapest_cell_per_multiplier(page):
    state = page["state"]
    assert state["matrixColumns"] == 1 + 4  # strategy + 1x, 2x, 10x, 100x
    assert state["cheapestCells"] == 4


def test_headline_and_three_answers(page):
    state = page["state"]
    assert len(state["headline"]) >= 4
    assert any(line.startswith("At 1x") for line in state["headline"])
    assert "At 1x" in " ".join(state["headline"])
    assert state["answersHeading"]
    assert len(state["answers"]) == 3
    assert "tok/s" in state["answers"][0]
    assert state["title"].startswith("servecost report")


def test_no_request_leaves_the_page(page):
    own = page["report"].as_uri()
    others = [url for url in page["requests"]
              if url != own and not url.startswith(ALLOWED_SCHEMES)]  # fmt: skip
    assert own in page["requests"]
    assert others == []
    assert page["failed"] == []


def test_no_script_errors_or_dialogs(page):
    assert page["exceptions"] == []
    assert page["console_errors"] == []
    assert page["log_errors"] == []
    assert page["dialogs"] == []


def test_screenshot_is_a_real_picture(page):
    data = page["screenshot"].read_bytes()
    width, height, pixels = png_pixels(data)
    assert width == 1200 and height >= 2000
    assert len(data) > 50_000
    assert len(set(pixels)) > 64  # not a blank page


def test_no_vega_warnings(page):
    assert page["console_warnings"] == []
