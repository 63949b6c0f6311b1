"""HTTP for the provider fetchers: one session with timeouts, bounded retries, pagination guards
and token redaction.

Every failure becomes a FetchError naming the provider and the URL; the token (sent only in the
Authorization header) is scrubbed from every message this module produces.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from servecost import io
from servecost.errors import FetchError

RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_TIMEOUT = 30.0  # seconds, per connect and per read
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 0.5  # seconds; doubles on every retry, capped at BACKOFF_MAX
BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 60.0  # never sleep longer than this for one Retry-After header
DEFAULT_MAX_PAGES = 1000
DEFAULT_MAX_SECONDS = 1800.0  # the whole fetch (all pages, all retries)
USER_AGENT = "servecost (+https://github.com/servecost) python-requests"
CHUNK = 1 << 20


class _CappedRetry(Retry):
    """urllib3 Retry whose Retry-After sleep is bounded, so a hostile header cannot stall a job."""

    def get_retry_after(self, response):
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(float(value), RETRY_AFTER_MAX)


def redact(text: str, secrets) -> str:
    """Replace every non-empty secret in `text` with ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def replace_origin(url: str, base_url: str | None) -> str:
    """Swap the scheme, host and port of `url` for those of `base_url`; the path stays."""
    if not base_url:
        return url
    base = urlsplit(base_url)
    if not base.scheme or not base.netloc:
        raise FetchError(
            f"base URL {base_url!r} needs a scheme and a host, e.g. http://127.0.0.1:8080"
        )
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))


def make_session(
    *, retries: int = DEFAULT_RETRIES, backoff: float = DEFAULT_BACKOFF
) -> requests.Session:
    retry = _CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=5,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_max=BACKOFF_MAX,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session


class Client:
    """Reads one provider's API. Records every URL fetched and its HTTP status for the sidecar."""

    def __init__(
        self,
        provider: str,
        origin: str,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        session: requests.Session | None = None,
    ):
        self.provider = provider
        self.origin = replace_origin(origin, base_url)
        self.base_url = base_url
        self.token = token
        self.timeout = timeout
        self.max_pages = max_pages
        self.max_seconds = max_seconds
        self.session = session or make_session(retries=retries, backoff=backoff)
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.urls: list[str] = []
        self.statuses: list[int] = []
        self._started = time.monotonic()

    # -- helpers ---------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        """An absolute URL on the configured origin (provider links are re-pointed there too)."""
        if path_or_url.startswith(("http://", "https://")):
            return replace_origin(path_or_url, self.origin)
        return urljoin(self.origin.rstrip("/") + "/", path_or_url.lstrip("/"))

    def error(self, url: str, message: str) -> FetchError:
        return FetchError(redact(f"{self.provider}: {url}: {message}", [self.token]))

    def _check_budget(self, url: str) -> None:
        if time.monotonic() - self._started > self.max_seconds:
            raise self.error(url, f"gave up: the fetch took longer than {self.max_seconds:g} s")

    # -- requests --------------------------------------------------------------------------
    def get(
        self, url: str, *, params: dict | None = None, stream: bool = False
    ) -> requests.Response:
        self._check_budget(url)
        try:
            response = self.session.get(url, params=params, timeout=self.timeout, stream=stream)
        except requests.exceptions.Timeout as exc:
            raise self.error(
                url, f"timed out after {self.timeout:g} s ({type(exc).__name__})"
            ) from None
        except requests.exceptions.RetryError as exc:
            raise self.error(url, f"gave up after retries: {_reason(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            raise self.error(url, f"cannot connect: {_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise self.error(url, f"request failed: {_reason(exc)}") from None
        final_url = response.url or url
        self.urls.append(final_url)
        self.statuses.append(response.status_code)
        if response.status_code >= 400:
            detail = _short_body(response) if not stream else ""
            response.close()
            hint = ""
            if response.status_code in (401, 403):
                hint = " (check the API token)"
            raise self.error(
                final_url,
                f"HTTP {response.status_code} {response.reason or ''}{hint}{detail}".rstrip(),
            )
        return response

    def get_json(self, url: str, *, params: dict | None = None):
        response = self.get(url, params=params)
        final_url = response.url or url
        body = response.content
        return parse_json_body(
            body,
            provider=self.provider,
            url=final_url,
            token=self.token,
            content_type=response.headers.get("Content-Type", ""),
            status=response.status_code,
        )

    def paginate(
        self,
        first_url: str,
        *,
        params: dict | None = None,
        next_url: Callable[[dict, str], str | None],
    ) -> Iterator[dict]:
        """Yield each page's JSON; next_url(page, url) gives the following URL or None.

        A URL seen twice or more than max_pages pages is a FetchError (a pagination loop).
        """
        seen: set[str] = set()
        url: str | None = first_url
        page_params = params
        pages = 0
        while url:
            key = url + ("?" + json.dumps(page_params, sort_keys=True) if page_params else "")
            if key in seen:
                raise self.error(url, "pagination loop: this page was already fetched")
            seen.add(key)
            pages += 1
            if pages > self.max_pages:
                raise self.error(url, f"pagination did not end after {self.max_pages} pages")
            response_json = self.get_json(url, params=page_params)
            if not isinstance(response_json, dict):
                raise self.error(url, "expected a JSON object")
            yield response_json
            following = next_url(response_json, self.urls[-1])
            url = self.url(following) if following else None
            page_params = None

    def download(self, url: str, path: str | Path, *, expect: str = "json") -> dict:
        """Stream a (possibly huge) body to `path` atomically; never holds it in memory.

        Returns {"sha256", "bytes", "url", "status"}. HTML bodies and obviously truncated files
        are FetchErrors and leave nothing behind.
        """
        response = self.get(url, stream=True)
        final_url = response.url or url
        digest = hashlib.sha256()
        state = {"bytes": 0, "head": b"", "tail": b""}

        def write(tmp: Path) -> None:
            try:
                with tmp.open("wb") as handle:
                    for chunk in response.iter_content(CHUNK):
                        if not chunk:
                            continue
                        if len(state["head"]) < 4096:
                            state["head"] += chunk[: 4096 - len(state["head"])]
                        state["tail"] = (state["tail"] + chunk)[-64:]
                        digest.update(chunk)
                        state["bytes"] += len(chunk)
                        handle.write(chunk)
                        self._check_budget(final_url)
            except requests.exceptions.RequestException as exc:
                raise self.error(final_url, f"download broke off: {_reason(exc)}") from None
            finally:
                response.close()
            head = state["head"].lstrip()
            if not head:
                raise self.error(final_url, "empty body")
            if head[:1] == b"<" or b"<html" in head[:512].lower():
                raise self.error(
                    final_url,
                    f"got an HTML page instead of {expect.upper()} (HTTP {response.status_code})",
                )
            if expect == "json" and not state["tail"].rstrip().endswith(b"}"):
                raise self.error(final_url, "truncated JSON: the body does not end with '}'")

        io.atomic_write(path, write)
        return {
            "sha256": digest.hexdigest(),
            "bytes": state["bytes"],
            "url": final_url,
            "status": response.status_code,
        }


def parse_json_body(
    body: bytes,
    *,
    provider: str,
    url: str,
    token: str | None = None,
    content_type: str = "",
    status: int | None = None,
):
    def fail(message: str) -> FetchError:
        return FetchError(redact(f"{provider}: {url}: {message}", [token]))

    stripped = body.lstrip()
    if not stripped:
        raise fail(f"empty body (HTTP {status})")
    if "html" in content_type.lower() or stripped[:1] == b"<":
        raise fail(f"got an HTML page instead of JSON (HTTP {status})")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"truncated or invalid JSON ({len(body)} bytes): {exc}") from None


def _reason(exc: BaseException) -> str:
    """The innermost useful reason, without the long urllib3 pool description."""
    reason = exc
    for _ in range(5):
        inner = reason.args[0] if reason.args else None
        inner = getattr(inner, "reason", inner)
        if isinstance(inner, BaseException):
            reason = inner
        else:
            break
    text = str(reason) or type(reason).__name__
    if "Max retries exceeded" in text and "(Caused by" in text:
        text = text.split("(Caused by", 1)[1].rstrip(")")
    if "too many" in text and "responses" in text:
        return text
    return text[:300]


def _short_body(response: requests.Response) -> str:
    try:
        text = response.text.strip().replace("\n", " ")
    except Exception:  # noqa: BLE001 - the status line is enough
        return ""
    if not text or text.lstrip().startswith("<"):
        return ""
    return f": {text[:200]}"
